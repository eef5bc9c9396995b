//! `cargo bench --bench apply`: the executor against the simulator on loopback, through the
//! release binary. Prints figures; asserts only that every run succeeds.
//!
//! 1. Pacing: 5,000 steps against a server limit of 100 req/s (burst 100) with 100 ms latency,
//!    from a ceiling twice too high (`--rate 200`): throughput as a share of the limit, and the
//!    share of requests answered 429 after the first 10 s. With and without the journal's
//!    fsync, interleaved, for the journal's cost at that pace.
//! 2. The journal's cost where it can show: 20,000 steps, no server limit, no latency, with and
//!    without fsync, interleaved.
//! 3. Memory: 100,000 steps, no limit: peak RSS of the apply process (wait4), journal size.
//! 4. A tight bucket: 1,500 steps of an offline plan (so its first run reads every account's
//!    permissions first) against 100 req/s with a burst of only 10, reached through 50–150 ms
//!    of jittered latency (evenly sent requests arrive bunched), from `--rate 200`: requests/s
//!    ÷ the limit for the whole run and after the first 10 s; for the reads (first request to
//!    last read, and from 10 s to the last read) and the writes (first write to last) apart,
//!    with their 429 shares; and each second's answered requests and 429s, from the server's
//!    counters sampled every 50 ms.
//!
//! 5. Pre-flight's cost: the first run of a 5,000-step plan made from files (so `apply` checks
//!    who may be written before its first write), against 100 req/s, on an org whose API serves
//!    the v2 directory search and on one that has only the v1 listing, in turn: requests before
//!    the first write (from the server's counters, sampled every 50 ms), requests over the whole
//!    run per planned write, and the time to the first write, with what it would be for 50,000
//!    accounts at 10 req/s.
//!
//! Environment: MAILSHIFT_BENCH_RUNS (default 3), MAILSHIFT_BENCH_PARTS (default "123";
//! "4" adds the tight bucket, "5" pre-flight's cost), MAILSHIFT_BENCH_RATE_HEADERS=429 (part 1's
//! server sends its rate headers on 429s only, so that the pace learns the budget, whose burst
//! hides it, from its 429s alone), MAILSHIFT_BENCH_FORGIVING=1 (part 1's bucket charges nothing
//! for a refused request, as a plain token bucket).

#[path = "common/measure.rs"]
mod measure;
#[path = "../tests/support/mod.rs"]
mod support;

use mailshift::sim::faults::FaultConfig;
use mailshift::sim::server::Counters;
use measure::{measured, median};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use support::*;

/// A plan of about `wanted` steps (mostly renames, with frees, swaps and cycles) in its own dir.
fn org(wanted: usize) -> (PathBuf, usize) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(format!("bench-apply-{wanted}"));
    // An earlier bench's journal beside the plan would (rightly) refuse a new plan over it.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench dir");
    let hundredth = wanted / 100;
    let shapes = Shapes {
        renames: wanted - 2 * hundredth - 3 * hundredth - 4 * (wanted / 200),
        frees: hundredth,
        chains: 0,
        swaps: hundredth,
        cycles: wanted / 200,
    };
    let (accounts, targets) = generated_org(shapes);
    plan_in(&dir, &accounts, &targets);
    (dir, shapes.steps())
}

struct Run {
    wall: f64,
    peak_mib: f64,
    total: Counters,
    /// From the first sample after the warm-up to the end: that sample's time, the requests
    /// and the 429s; `None` if the run ended sooner.
    late: Option<(f64, u64, u64)>,
    journal_bytes: u64,
    /// The server's counters every `SAMPLE` from the process's start, on the wall's time base.
    series: Vec<(f64, Counters)>,
}

/// How often the server's counters are sampled during a run.
const SAMPLE: Duration = Duration::from_millis(50);
/// The figures "after warm-up" count from this second of a run.
const WARM_UP: f64 = 10.0;

/// The first sample at or after `t` seconds into the run.
fn sample_at(series: &[(f64, Counters)], t: f64) -> Option<&(f64, Counters)> {
    series.iter().find(|(at, _)| *at >= t)
}

/// One `apply` of the plan in `dir` against a fresh simulator.
fn apply(dir: &Path, setup: impl Fn() -> SimSetup, extra: &[&str]) -> Run {
    // Every run is a first run of the plan: no journal, and no permission reads kept from the
    // run before.
    let _ = std::fs::remove_file(dir.join("plan.json.journal"));
    let _ = std::fs::remove_file(dir.join("plan.json.permissions"));
    // Nor a pace learnt by the run before: each starts as a plan's first run does.
    let _ = std::fs::remove_file(dir.join("plan.json.pace"));
    let sim = serve(dir, setup());
    let url = sim.url();
    let (ended, end_seen) = std::sync::mpsc::channel::<()>();
    let start = std::time::Instant::now();
    let (run, mut series) = std::thread::scope(|s| {
        let sim = &sim;
        let sampler = s.spawn(move || {
            let mut series = Vec::new();
            loop {
                series.push((start.elapsed().as_secs_f64(), sim.server.counters()));
                match end_seen.recv_timeout(SAMPLE) {
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                    _ => return series,
                }
            }
        });
        let run = measured(command(dir, &apply_args(&url, extra)).stdout(Stdio::null()));
        assert_eq!(run.code, Some(0), "apply did not finish cleanly");
        let _ = ended.send(());
        (run, sampler.join().unwrap_or_default())
    });
    let total = sim.server.snapshot().counters;
    series.push((run.wall, total.clone()));
    let late = sample_at(&series, WARM_UP)
        .filter(|_| run.wall > WARM_UP)
        .map(|(t, c)| {
            (
                *t,
                total.requests - c.requests,
                total.rate_limited - c.rate_limited,
            )
        });
    Run {
        wall: run.wall,
        peak_mib: run.peak_mib,
        total,
        late,
        journal_bytes: std::fs::metadata(dir.join("plan.json.journal")).map_or(0, |m| m.len()),
        series,
    }
}

/// Where a run's time went, from its counters' series: until the first request reached the
/// server, the reads (from the first request to the last read), the writes (from the first write
/// to the last), and after the last request.
struct Phases {
    first_request: f64,
    last_read: f64,
    first_write: f64,
    last_write: f64,
}

impl Phases {
    fn of(series: &[(f64, Counters)]) -> Phases {
        let reads = |c: &Counters| c.requests - c.write_requests;
        let first = |f: &dyn Fn(&Counters) -> u64| {
            series
                .iter()
                .find(|(_, c)| f(c) > 0)
                .map_or(0.0, |(t, _)| *t)
        };
        // The sample at which the figure reached its final value.
        let last = |f: &dyn Fn(&Counters) -> u64| {
            let end = series.last().map_or(0, |(_, c)| f(c));
            series
                .iter()
                .find(|(_, c)| f(c) == end)
                .map_or(0.0, |(t, _)| *t)
        };
        Phases {
            first_request: first(&|c| c.requests),
            last_read: last(&reads),
            first_write: first(&|c| c.write_requests),
            last_write: last(&|c| c.write_requests),
        }
    }
}

/// Runs the plan in `dir` `runs` times with the journal's fsync and without, interleaved so that
/// the host's noise falls on both alike; prints each run and returns the two median wall times.
fn interleaved(
    label: &str,
    dir: &Path,
    steps: usize,
    setup: impl Fn() -> SimSetup + Copy,
    args: &[&str],
    runs: usize,
) -> (f64, f64) {
    let no_fsync: Vec<&str> = args.iter().copied().chain(["--no-fsync"]).collect();
    let (mut synced, mut unsynced) = (Vec::new(), Vec::new());
    for i in 0..runs {
        for (fsync, extra) in [(true, args), (false, &no_fsync[..])] {
            let r = apply(dir, setup, extra);
            let (late_req, late_429) = r.late.map_or((0, 0), |(_, req, lim)| (req, lim));
            println!(
                "{label} run {i} fsync={fsync}: {steps} steps in {:.2} s = {:.1}/s; 429s: {} of {} requests, {} of {} after 10 s ({:.2}%)",
                r.wall,
                steps as f64 / r.wall,
                r.total.rate_limited,
                r.total.requests,
                late_429,
                late_req,
                100.0 * late_429 as f64 / late_req.max(1) as f64
            );
            if fsync { &mut synced } else { &mut unsynced }.push(r.wall);
        }
    }
    (median(synced), median(unsynced))
}

fn pacing(runs: usize) {
    let (dir, steps) = org(5_000);
    let on_429_only = std::env::var("MAILSHIFT_BENCH_RATE_HEADERS").is_ok_and(|v| v == "429");
    let forgiving = std::env::var("MAILSHIFT_BENCH_FORGIVING").is_ok_and(|v| v == "1");
    if on_429_only || forgiving {
        println!("pacing: rate headers on 429s only: {on_429_only}; forgiving bucket: {forgiving}");
    }
    let setup = || SimSetup {
        rate: Some((100.0, 100)),
        faults: FaultConfig {
            latency: Duration::from_millis(100),
            // As `mailshift simulate` does by default: half the 429s carry Retry-After.
            retry_after_share: 0.5,
            rate_headers_on_429_only: on_429_only,
            forgiving_bucket: forgiving,
            ..FaultConfig::default()
        },
        ..SimSetup::default()
    };
    let args = ["--rate", "200", "--concurrency", "32"];
    let (a, b) = interleaved("pacing", &dir, steps, setup, &args, runs);
    println!(
        "pacing: median {a:.2} s with fsync, {b:.2} s without: {:.1}% of the 100/s limit; the journal costs {:+.1}%",
        steps as f64 / a,
        100.0 * (a / b - 1.0)
    );
}

fn journal_cost(runs: usize) {
    let (dir, steps) = org(20_000);
    let args = ["--rate", "1000000", "--concurrency", "32"];
    let (a, b) = interleaved("unthrottled", &dir, steps, SimSetup::default, &args, runs);
    println!(
        "unthrottled: median {:.0}/s with fsync, {:.0}/s without; fsync costs {:+.1}%",
        steps as f64 / a,
        steps as f64 / b,
        100.0 * (a / b - 1.0)
    );
}

fn memory() {
    let (dir, steps) = org(100_000);
    let r = apply(
        &dir,
        SimSetup::default,
        &["--rate", "1000000", "--concurrency", "32"],
    );
    println!(
        "memory: {steps} steps in {:.2} s = {:.0}/s; peak RSS {:.1} MiB; journal {} bytes = {:.0} bytes per step",
        r.wall,
        steps as f64 / r.wall,
        r.peak_mib,
        r.journal_bytes,
        r.journal_bytes as f64 / steps as f64
    );
}

/// The requests answered (not 429) and answered 429 in each second of a run, from its series:
/// where the whole run's budget went.
fn per_second(series: &[(f64, Counters)]) -> String {
    let mut line = String::new();
    let (mut at, mut served, mut limited) = (0.0, 0, 0);
    for (i, (t, c)) in series.iter().enumerate() {
        if *t - at >= 1.0 || i + 1 == series.len() {
            let now = (c.requests - c.rate_limited, c.rate_limited);
            line.push_str(&format!(" {t:.0}s {}/{}", now.0 - served, now.1 - limited));
            (at, served, limited) = (*t, now.0, now.1);
        }
    }
    line
}

fn tight(runs: usize) {
    let (dir, steps) = org(1_500);
    let setup = || SimSetup {
        rate: Some((100.0, 10)),
        faults: FaultConfig {
            arrival: Duration::from_millis(50),
            arrival_jitter: Duration::from_millis(100),
            retry_after_share: 0.5,
            ..FaultConfig::default()
        },
        ..SimSetup::default()
    };
    let limit = 100.0;
    let (mut walls, mut wholes, mut lates) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..runs {
        let r = apply(&dir, setup, &["--rate", "200", "--concurrency", "32"]);
        let c = &r.total;
        let reads = c.requests - c.write_requests;
        let read_429 = c.rate_limited - c.writes_rate_limited;
        let served = (c.requests - c.rate_limited) as f64;
        let whole = served / r.wall / limit;
        // Served per second from the sample at 10 s to the end.
        let late = r.late.map(|(from, req, lim)| {
            (
                (req - lim) as f64 / (r.wall - from).max(SAMPLE.as_secs_f64()) / limit,
                100.0 * lim as f64 / req.max(1) as f64,
            )
        });
        let p = Phases::of(&r.series);
        let rate =
            |n: u64, from: f64, to: f64| n as f64 / (to - from).max(SAMPLE.as_secs_f64()) / limit;
        println!(
            "tight run {i}: {steps} steps in {:.2} s; {:.1} req/s answered = {whole:.3} of the limit; after 10 s: {}",
            r.wall,
            served / r.wall,
            late.map_or("n/a (the run was shorter)".into(), |(t, share)| format!(
                "{t:.3} of the limit, {share:.2}% of requests 429"
            )),
        );
        println!(
            "  start-up {:.2} s to the first request; reads {reads} ({:.2}% 429) {:.2}–{:.2} s = {:.3} of the limit; writes {} ({:.2}% 429) {:.2}–{:.2} s = {:.3} of the limit; {:.2} s after the last write",
            p.first_request,
            100.0 * read_429 as f64 / reads.max(1) as f64,
            p.first_request,
            p.last_read,
            rate(reads - read_429, p.first_request, p.last_read),
            c.write_requests,
            100.0 * c.writes_rate_limited as f64 / c.write_requests.max(1) as f64,
            p.first_write,
            p.last_write,
            rate(
                c.write_requests - c.writes_rate_limited,
                p.first_write,
                p.last_write
            ),
            r.wall - p.last_write,
        );
        // The reads after the first 10 s: the figure the bars hold, for the reads alone.
        let reads_of = |c: &Counters| {
            let limited = c.rate_limited - c.writes_rate_limited;
            (c.requests - c.write_requests - limited, limited)
        };
        let ten = sample_at(&r.series, WARM_UP);
        let end = sample_at(&r.series, p.last_read);
        if let (Some((from, before)), Some((to, after)), true) = (ten, end, p.last_read > WARM_UP) {
            let (served_from, limited_from) = reads_of(before);
            let (served_to, limited_to) = reads_of(after);
            let (answered, refused) = (served_to - served_from, limited_to - limited_from);
            println!(
                "  reads after 10 s: {:.3} of the limit, {:.2}% 429 ({refused} of {})",
                rate(answered, *from, *to),
                100.0 * refused as f64 / (answered + refused).max(1) as f64,
                answered + refused
            );
        }
        println!("  each second, answered/429:{}", per_second(&r.series));
        walls.push(r.wall);
        wholes.push(whole);
        if let Some((t, _)) = late {
            lates.push(t);
        }
    }
    println!(
        "tight: median {:.2} s for {steps} steps; {:.3} of the limit over the whole run{}",
        median(walls),
        median(wholes),
        if lates.is_empty() {
            String::new()
        } else {
            format!(", {:.3} after 10 s", median(lates))
        }
    );
}

fn preflight_cost(runs: usize) {
    let (dir, steps) = org(5_000);
    println!("pre-flight: {steps} planned writes, first run of a plan made from files, 100 req/s");
    for i in 0..runs {
        for (label, refuse_v2) in [("v1 listing", true), ("v2 search", false)] {
            let setup = || SimSetup {
                rate: Some((100.0, 100)),
                faults: FaultConfig {
                    refuse_v2,
                    ..FaultConfig::default()
                },
                ..both_verified()
            };
            let r = apply(&dir, setup, &["--rate", "100", "--concurrency", "16"]);
            let first_write = r
                .series
                .iter()
                .find(|(_, c)| c.write_requests > 0)
                .map(|(t, c)| (*t, c.requests - c.write_requests));
            let (t, before) = first_write.unwrap_or((r.wall, r.total.requests));
            // Requests before the first write grow with the org; at 10 req/s, 50,000 accounts.
            let at_scale = before as f64 * (50_000.0 / steps as f64) / 10.0;
            println!(
                "  run {i} {label}: {before} requests before the first write ({t:.1} s; 50,000 accounts at 10 req/s: {}); {} requests in all = {:.3} per planned write; {:.1} s",
                mailshift::words::span(Duration::from_secs_f64(at_scale)),
                r.total.requests,
                r.total.requests as f64 / steps as f64,
                r.wall,
            );
        }
    }
}

fn main() {
    let runs: usize = std::env::var("MAILSHIFT_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let parts = std::env::var("MAILSHIFT_BENCH_PARTS").unwrap_or_else(|_| "123".into());
    if parts.contains('1') {
        pacing(runs);
    }
    if parts.contains('2') {
        journal_cost(runs);
    }
    if parts.contains('3') {
        memory();
    }
    if parts.contains('4') {
        tight(runs);
    }
    if parts.contains('5') {
        preflight_cost(runs);
    }
}
