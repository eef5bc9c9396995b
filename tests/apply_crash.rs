//! `kill -9` at random moments of a 2,000-step apply, resuming each time: the org ends exactly
//! as planned, no step the journal had confirmed is ever sent again, and none is lost.

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
            pause: Duration::from_millis(30),
        },
    );
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
            pause: Duration::ZERO,
        },
    );
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
    eprintln!(
        "{kills} kills over {runs} runs ({} steps confirmed at the last); {} writes for {} steps; {} slow, {} late",
        killed.confirmed_at_last_kill(),
        log.len(),
        plan.steps.len(),
        counters.slow,
        counters.late
    );
}

/// What the kills left to check: how many landed, in how many runs, and at each kill how many
/// writes the server had seen and which steps the journal had confirmed.
struct Killed {
    kills: usize,
    runs: usize,
    checkpoints: Vec<(usize, HashSet<u32>)>,
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
    /// Waited after each kill before the next run starts.
    pause: Duration,
}

/// How long any run may take: the last, which nothing kills, to finish the plan; the others, to
/// reach their kill (a run that never writes is not killed mid-run).
const LAST_RUN: Duration = Duration::from_secs(180);

/// Runs `args` in `dir` again and again, `kill -9`-ing each of the first `kills.count` runs at a
/// random moment, until a run finishes by itself with exit 0. Panics if a run exits otherwise,
/// or goes on longer than `LAST_RUN`.
fn kill_until_done(
    dir: &std::path::Path,
    args: &[&str],
    sim: &Sim,
    steps: u32,
    kills: &Kills,
) -> Killed {
    let seed: u64 = rand::rng().random();
    eprintln!("kill moments seed: {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let journal_path = dir.join("plan.json.journal");
    let mut killed = Killed {
        kills: 0,
        runs: 0,
        checkpoints: Vec::new(),
    };
    loop {
        killed.runs += 1;
        let writes_before = sim.server.counters().write_requests;
        let started = Instant::now();
        let mut child = command(dir, args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let last = killed.kills >= kills.count;
        let moment = if last {
            None
        } else if rng.random_ratio(1, kills.start_every) {
            Some(Moment::AfterStart(rng.random_range(kills.start_ms.clone())))
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
            let mut err = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            assert_eq!(status.code(), Some(0), "{err}");
            return killed;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
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
