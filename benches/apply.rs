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
//!    ÷ the limit for the whole run and after the first 10 s, for reads and for writes apart,
//!    and the 429 shares.
//!
//! Environment: MAILSHIFT_BENCH_RUNS (default 3), MAILSHIFT_BENCH_PARTS (default "123";
//! "4" adds the tight bucket).

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
    /// From the tenth second to the end; `None` if the run ended sooner.
    late: Option<(u64, u64)>,
    journal_bytes: u64,
}

/// One `apply` of the plan in `dir` against a fresh simulator.
fn apply(dir: &Path, setup: impl Fn() -> SimSetup, extra: &[&str]) -> Run {
    // Every run is a first run of the plan: no journal, and no permission reads kept from the
    // run before.
    let _ = std::fs::remove_file(dir.join("plan.json.journal"));
    let _ = std::fs::remove_file(dir.join("plan.json.permissions"));
    let sim = serve(dir, setup());
    let url = sim.url();
    let (ended, end_seen) = std::sync::mpsc::channel::<()>();
    let (run, at_ten) = std::thread::scope(|s| {
        let sim = &sim;
        let sampler = s.spawn(
            move || match end_seen.recv_timeout(Duration::from_secs(10)) {
                Ok(()) => None,
                Err(_) => Some(sim.server.snapshot().counters),
            },
        );
        let run = measured(command(dir, &apply_args(&url, extra)).stdout(Stdio::null()));
        assert_eq!(run.code, Some(0), "apply did not finish cleanly");
        let _ = ended.send(());
        (run, sampler.join().unwrap_or(None))
    });
    let total = sim.server.snapshot().counters;
    let late = at_ten.map(|t| {
        (
            total.requests - t.requests,
            total.rate_limited - t.rate_limited,
        )
    });
    Run {
        wall: run.wall,
        peak_mib: run.peak_mib,
        total,
        late,
        journal_bytes: std::fs::metadata(dir.join("plan.json.journal")).map_or(0, |m| m.len()),
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
            let (late_req, late_429) = r.late.unwrap_or((0, 0));
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
    let setup = || SimSetup {
        rate: Some((100.0, 100)),
        faults: FaultConfig {
            latency: Duration::from_millis(100),
            // As `mailshift simulate` does by default: half the 429s carry Retry-After.
            retry_after_share: 0.5,
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
    let mut walls = Vec::new();
    for i in 0..runs {
        let r = apply(&dir, setup, &["--rate", "200", "--concurrency", "32"]);
        let c = &r.total;
        let reads = c.requests - c.write_requests;
        let read_429 = c.rate_limited - c.writes_rate_limited;
        let served = (c.requests - c.rate_limited) as f64;
        println!(
            "tight run {i}: {steps} steps in {:.2} s; {:.1} req/s answered = {:.3} of the limit ({:.3} after 10 s); reads {} ({:.2}% 429), writes {} ({:.2}% 429); {:.2}% of requests 429 after 10 s",
            r.wall,
            served / r.wall,
            served / r.wall / 100.0,
            r.late.map_or(0.0, |(req, lim)| (req - lim) as f64
                / (r.wall - 10.0).max(1.0)
                / 100.0),
            reads,
            100.0 * read_429 as f64 / reads.max(1) as f64,
            c.write_requests,
            100.0 * c.writes_rate_limited as f64 / c.write_requests.max(1) as f64,
            r.late
                .map_or(0.0, |(req, lim)| 100.0 * lim as f64 / req.max(1) as f64)
        );
        walls.push(r.wall);
    }
    println!("tight: median {:.2} s for {steps} steps", median(walls));
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
}
