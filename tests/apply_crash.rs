//! `kill -9`, SIGTERM and Ctrl-C at random moments of a 2,000-step apply, resuming each time: the
//! org ends exactly as planned (or the last run's non-zero exit names every account that is
//! not), no step the journal had confirmed is ever sent again, and none is lost. The kill
//! moments come from a seed printed at the start; `MAILSHIFT_KILL_SEED=N` replays them.

mod support;

use mailshift::sim::faults::FaultConfig;
use rand::{Rng, SeedableRng};
use std::collections::HashSet;
use std::time::{Duration, Instant};
use support::*;

#[test]
fn kill_9_at_random_moments_and_resume_until_done() {
    let shapes = Shapes {
        renames: 1460,
        frees: 100,
        chains: 50,
        swaps: 50,
        cycles: 12,
    };
    assert!(shapes.steps() >= 2000);
    let dir = tempfile::tempdir().unwrap();
    let (accounts, targets) = generated_org(shapes);
    let plan_path = plan_in(dir.path(), &accounts, &targets);
    let plan = read_plan(&plan_path);
    let before = emails_in(&accounts);
    // Faults too, so that kills also land while answers are being checked and retried.
    let sim = serve(
        dir.path(),
        SimSetup {
            faults: FaultConfig {
                error_share: 0.02,
                ambiguous_share: 0.02,
                latency: Duration::from_millis(2),
                ..FaultConfig::default()
            },
            ..SimSetup::default()
        },
    );
    let url = sim.url();
    let journal_path = dir.path().join("plan.json.journal");
    let args = apply_args(
        &url,
        &[
            "--rate",
            "5000",
            "--concurrency",
            "8",
            "--timeout",
            "1",
            "--no-permission-check",
        ],
    );
    // Most kills land mid-run; one in four during start-up (the drift check reads the org's
    // listing first) or the resume's checks. Requests the dead process had on the wire may
    // still be served: 30 ms lets them land.
    let killed = kill_until_done(
        dir.path(),
        &args,
        &sim,
        plan.steps.len() as u32,
        &Kills {
            count: 18,
            start_ms: 20..400,
            start_every: 4,
            mid_ms: 20..250,
            late_ms: 0..0,
            late_every: 0,
            pause: Duration::from_millis(30),
            signals: &[libc::SIGKILL],
        },
    );
    assert_eq!(killed.last.code, Some(0), "{}", killed.last.said);
    let (kills, runs) = (killed.kills, killed.runs);
    assert!(
        kills >= 3,
        "only {kills} kills landed; the run was too quick to test"
    );
    assert_eq!(
        sim.emails(),
        planned(&plan, &before),
        "the org is exactly as planned"
    );
    assert_eq!(sim.server.snapshot().counters.concurrent_writes, 0);
    let log = sim.server.write_log();
    assert_nothing_confirmed_sent_again(&plan, &sim, &killed);
    assert_every_write_journaled(&plan, &log, &journal_path);
    let final_states = confirmed_steps(&journal_path, plan.steps.len() as u32);
    assert_eq!(final_states.len(), plan.steps.len(), "no step is lost");
    eprintln!(
        "{kills} kills over {runs} runs ({} steps confirmed at the last); {} writes for {} steps",
        killed.confirmed_at_last_kill(),
        log.len(),
        plan.steps.len()
    );
}

/// The same, against a server whose writes outlive the process that sent them: some answer
/// only after the timeout and are carried out then, some answer 504 at once and land later.
/// Each `kill -9` is followed at once by the next run, while those writes are still under way.
#[test]
fn kill_9_while_slow_and_late_writes_outlive_the_process_and_resume_at_once() {
    let shapes = Shapes {
        renames: 1400,
        frees: 100,
        chains: 50,
        swaps: 100,
        cycles: 40,
    };
    assert!(shapes.steps() >= 2000);
    let dir = tempfile::tempdir().unwrap();
    let (accounts, targets) = generated_org(shapes);
    let plan_path = plan_in(dir.path(), &accounts, &targets);
    let plan = read_plan(&plan_path);
    let before = emails_in(&accounts);
    let sim = serve(
        dir.path(),
        SimSetup {
            faults: FaultConfig {
                slow_share: 0.02,
                slow: Duration::from_millis(1200),
                late_share: 0.02,
                late: Duration::from_millis(1200),
                error_share: 0.01,
                latency: Duration::from_millis(2),
                ..FaultConfig::default()
            },
            ..SimSetup::default()
        },
    );
    let url = sim.url();
    let journal_path = dir.path().join("plan.json.journal");
    let args = apply_args(
        &url,
        &[
            "--rate",
            "600",
            "--concurrency",
            "8",
            "--timeout",
            "1",
            "--settle",
            "1",
            "--max-attempts",
            "20",
            "--no-permission-check",
        ],
    );
    let killed = kill_until_done(
        dir.path(),
        &args,
        &sim,
        plan.steps.len() as u32,
        &Kills {
            count: 45,
            start_ms: 20..400,
            start_every: 4,
            mid_ms: 0..200,
            late_ms: 0..0,
            late_every: 0,
            pause: Duration::ZERO,
            signals: &[libc::SIGKILL],
        },
    );
    assert_eq!(killed.last.code, Some(0), "{}", killed.last.said);
    let (kills, runs) = (killed.kills, killed.runs);
    // The last writes of the dead runs, if any were still under way, land before looking.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(kills >= 20, "only {kills} kills landed");
    let emails = sim.emails();
    assert_eq!(
        emails,
        planned(&plan, &before),
        "the org is exactly as planned"
    );
    let parked: Vec<_> = emails.values().filter(|e| e.contains("_MOVING@")).collect();
    assert!(
        parked.is_empty(),
        "accounts on a temporary address: {parked:?}"
    );
    let counters = sim.server.snapshot().counters;
    assert!(counters.slow > 0 && counters.late > 0, "{counters:?}");
    assert_eq!(
        counters.concurrent_writes, 0,
        "two writes on one account at once"
    );
    let log = sim.server.write_log();
    assert_nothing_confirmed_sent_again(&plan, &sim, &killed);
    assert_every_write_journaled(&plan, &log, &journal_path);
    let final_states = confirmed_steps(&journal_path, plan.steps.len() as u32);
    assert_eq!(final_states.len(), plan.steps.len(), "no step is lost");
    eprintln!(
        "{kills} kills over {runs} runs ({} steps confirmed at the last); {} writes for {} steps; {} slow, {} late",
        killed.confirmed_at_last_kill(),
        log.len(),
        plan.steps.len(),
        counters.slow,
        counters.late
    );
}

/// Kills of every kind (`kill -9`, SIGTERM, Ctrl-C), many inside settle windows (between a
/// group's end and its re-read), against writes that land after any wait and reads that lag.
/// A late write can leave an account off plan; the run may then not exit 0, and must name it.
#[test]
fn kills_of_every_kind_inside_settle_windows_with_late_writes_and_lagging_reads() {
    // Enough steps that 20 kills cannot see the plan done: one kill in three comes 1-4 s into
    // a run's writes (80-320 steps), and with 2,060 steps, seed 13482383463029477187 drew so
    // many of those that after 18 or 19 kills the next run found nothing left to write and
    // ended by itself.
    let shapes = Shapes {
        renames: 1900,
        frees: 60,
        chains: 40,
        swaps: 120,
        cycles: 40,
    };
    assert!(shapes.steps() >= 2600);
    let dir = tempfile::tempdir().unwrap();
    let (accounts, targets) = generated_org(shapes);
    let plan_path = plan_in(dir.path(), &accounts, &targets);
    let plan = read_plan(&plan_path);
    let before = emails_in(&accounts);
    let sim = serve(
        dir.path(),
        SimSetup {
            faults: FaultConfig {
                // Writes that land 2.5 s after their 504: after the 2 s the run waits.
                late_share: 0.02,
                late: Duration::from_millis(2500),
                error_share: 0.01,
                latency: Duration::from_millis(2),
                ..FaultConfig::default()
            },
            read_delay: Duration::from_millis(400),
            ..SimSetup::default()
        },
    );
    let url = sim.url();
    let journal_path = dir.path().join("plan.json.journal");
    let args = apply_args(
        &url,
        &[
            "--rate",
            "80",
            "--concurrency",
            "8",
            "--timeout",
            "1",
            "--settle",
            "1",
            "--read-lag",
            "500ms",
            "--max-attempts",
            "20",
            "--no-permission-check",
        ],
    );
    // Settle reads are due 3.5 s after a group's uncertain write (2 s while it may be under
    // way, 1 s of settle, 0.5 s of read lag): one kill in three lands 1-4 s after the run's
    // first write, in those windows; the others early, among the writes, so that the plan
    // moves on a little with each run.
    let killed = kill_until_done(
        dir.path(),
        &args,
        &sim,
        plan.steps.len() as u32,
        &Kills {
            count: 24,
            start_ms: 20..400,
            start_every: 6,
            mid_ms: 0..300,
            late_ms: 1000..4000,
            late_every: 3,
            pause: Duration::ZERO,
            signals: &[libc::SIGKILL, libc::SIGTERM, libc::SIGINT],
        },
    );
    let (kills, runs) = (killed.kills, killed.runs);
    assert!(
        kills >= 20,
        "only {kills} kills landed; run {runs} ended by itself: {:?} {}",
        killed.last.code,
        killed.last.said
    );
    // The dead runs' late writes land before the org is compared.
    std::thread::sleep(Duration::from_secs(3));
    let Ended { code, said } = &killed.last;
    assert!(matches!(code, Some(0 | 3)), "{said}");
    let off = assert_truthful(*code, said, &sim, dir.path(), &before);
    // No check of two writes at once here: a write that lands 2.5 s after its answer outlives
    // every wait by design (one overlap per late write, about 40), so the simulator sees the
    // re-sent write beside it. The second test, whose late writes land within the wait, holds
    // that promise.
    let counters = sim.server.snapshot().counters;
    assert!(counters.late > 0, "{counters:?}");
    let log = sim.server.write_log();
    assert_nothing_confirmed_sent_again(&plan, &sim, &killed);
    assert_every_write_journaled(&plan, &log, &journal_path);
    eprintln!(
        "{kills} kills over {runs} runs ({} steps confirmed at the last); exit {code:?}; {off} off plan, all named; {} late writes",
        killed.confirmed_at_last_kill(),
        counters.late
    );
}

/// What the kills left to check: how many landed, in how many runs, at each kill how many
/// writes the server had seen and which steps the journal had confirmed, and how the run that
/// ended by itself ended.
struct Killed {
    kills: usize,
    runs: usize,
    checkpoints: Vec<(usize, HashSet<u32>)>,
    last: Ended,
}

/// A run that ended by itself: its exit code and all it printed.
struct Ended {
    code: Option<i32>,
    said: String,
}

impl Killed {
    /// How many steps the journal had confirmed when the last kill landed.
    fn confirmed_at_last_kill(&self) -> usize {
        self.checkpoints.last().map_or(0, |(_, c)| c.len())
    }
}

/// When the runs are killed. A kill's moment is drawn from the run's own progress, not from the
/// clock alone: on a slow or busy machine a run's start-up (journal replay, lock, the drift
/// check's listing) can take longer than any fixed window, and kills that all land there test
/// little and never let the plan finish.
struct Kills {
    /// How many runs are killed; the run after them goes on until it ends by itself.
    count: usize,
    /// One run in `start_every` is killed this long after it was started, mostly during its
    /// start-up (milliseconds, drawn at random).
    start_ms: std::ops::Range<u64>,
    start_every: u32,
    /// The others this long after the server received their first write (milliseconds, drawn
    /// at random): mid-run, with requests on the wire and answers being journaled.
    mid_ms: std::ops::Range<u64>,
    /// One of those in `late_every` (never when 0) is drawn from `late_ms` instead: late
    /// enough to land between groups' ends and their settle re-reads.
    late_ms: std::ops::Range<u64>,
    late_every: u32,
    /// Waited after each kill before the next run starts.
    pause: Duration,
    /// The signal of each kill, drawn among these: SIGKILL ends the run at once; SIGTERM and
    /// SIGINT (Ctrl-C) stop it, and it journals what was under way before it exits.
    signals: &'static [i32],
}

/// How long any run may take: the last, which nothing kills, to finish the plan; the others, to
/// reach their kill (a run that never writes is not killed mid-run).
const LAST_RUN: Duration = Duration::from_secs(180);

/// Runs `args` in `dir` again and again, killing each of the first `kills.count` runs at a
/// random moment with one of `kills.signals`, until a run ends by itself; returns how it ended.
/// Panics if a run goes on longer than `LAST_RUN`.
fn kill_until_done(
    dir: &std::path::Path,
    args: &[&str],
    sim: &Sim,
    steps: u32,
    kills: &Kills,
) -> Killed {
    let seed: u64 = std::env::var("MAILSHIFT_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    eprintln!("kill moments seed: {seed} (MAILSHIFT_KILL_SEED={seed} replays them)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let journal_path = dir.join("plan.json.journal");
    let mut killed = Killed {
        kills: 0,
        runs: 0,
        checkpoints: Vec::new(),
        last: Ended {
            code: None,
            said: String::new(),
        },
    };
    loop {
        killed.runs += 1;
        let writes_before = sim.server.counters().write_requests;
        let started = Instant::now();
        // Both streams go to files: a run that prints more than a pipe holds must not block.
        let out_path = dir.join(format!("run-{}.out", killed.runs));
        let mut child = command(dir, args)
            .stdout(std::fs::File::create(&out_path).unwrap())
            .stderr(
                std::fs::OpenOptions::new()
                    .append(true)
                    .open(&out_path)
                    .unwrap(),
            )
            .spawn()
            .unwrap();
        let last = killed.kills >= kills.count;
        let signal = kills.signals[rng.random_range(0..kills.signals.len())];
        let moment = if last {
            None
        } else if rng.random_ratio(1, kills.start_every) {
            Some(Moment::AfterStart(rng.random_range(kills.start_ms.clone())))
        } else if kills.late_every > 0 && rng.random_ratio(1, kills.late_every) {
            Some(Moment::AfterFirstWrite(
                rng.random_range(kills.late_ms.clone()),
            ))
        } else {
            Some(Moment::AfterFirstWrite(
                rng.random_range(kills.mid_ms.clone()),
            ))
        };
        let mut first_write: Option<Instant> = None;
        let exited = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if first_write.is_none() && sim.server.counters().write_requests > writes_before {
                first_write = Some(Instant::now());
            }
            if started.elapsed() >= LAST_RUN {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the plan never finished: run {} (after {} kills) was still going after {LAST_RUN:?}",
                    killed.runs, killed.kills
                );
            }
            let due = match moment {
                None => false,
                Some(Moment::AfterStart(ms)) => started.elapsed() >= Duration::from_millis(ms),
                Some(Moment::AfterFirstWrite(ms)) => {
                    first_write.is_some_and(|at| at.elapsed() >= Duration::from_millis(ms))
                }
            };
            if due {
                break None;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        if let Some(status) = exited {
            killed.last = Ended {
                code: status.code(),
                said: std::fs::read_to_string(&out_path).unwrap_or_default(),
            };
            return killed;
        }
        let pid = i32::try_from(child.id()).unwrap();
        // SAFETY: kill(2) on our own child, not yet reaped, with a valid signal.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
        // SIGTERM and SIGINT let the run journal what was under way: bounded all the same.
        let stopped = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if stopped.elapsed() > LAST_RUN {
                let _ = child.kill();
                panic!("run {} did not stop after signal {signal}", killed.runs);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        killed.kills += 1;
        std::thread::sleep(kills.pause);
        let confirmed = confirmed_steps(&journal_path, steps);
        // From here on, nothing confirmed may be sent again.
        killed
            .checkpoints
            .push((sim.server.write_log().len(), confirmed));
    }
}

/// When a run is killed, in milliseconds after its start or after its first write.
#[derive(Clone, Copy)]
enum Moment {
    AfterStart(u64),
    AfterFirstWrite(u64),
}

/// No step the journal had confirmed at a kill was sent after it.
fn assert_nothing_confirmed_sent_again(plan: &mailshift::plan::Plan, sim: &Sim, killed: &Killed) {
    let by_write = steps_by_write(plan);
    let log = sim.server.write_log();
    for (seen, confirmed) in &killed.checkpoints {
        for w in &log[*seen..] {
            if let Some(step) = step_of(&by_write, w) {
                assert!(
                    !confirmed.contains(&step),
                    "step {step} was confirmed in the journal and sent again"
                );
            }
        }
    }
}
