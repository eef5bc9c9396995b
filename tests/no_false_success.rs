//! `apply` against servers that misbehave as the docs allow and a plain simulator does not:
//! writes that land after their answer, answers slower than the timeout that still apply,
//! redirects, a second run of the same plan, uniqueness lagging behind a free, absurd waits,
//! cut-short bodies. Each ends in the planned state or in a failure that names the account;
//! never in exit 0 with an account elsewhere.

mod support;

use mailshift::journal::{self, StepState};
use mailshift::sim::faults::FaultConfig;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::*;

/// Plans `shapes` in a fresh directory; returns it with every account's address before.
fn org(shapes: Shapes) -> (tempfile::TempDir, BTreeMap<String, String>) {
    let dir = tempfile::tempdir().unwrap();
    let (accounts, targets) = generated_org(shapes);
    plan_in(dir.path(), &accounts, &targets);
    (dir, emails_in(&accounts))
}

fn plan_of(dir: &Path) -> mailshift::plan::Plan {
    read_plan(&dir.join("plan.json"))
}

/// How many writes the simulator saw for each step of the plan.
fn sends(dir: &Path, sim: &Sim) -> HashMap<u32, usize> {
    let by_write = steps_by_write(&plan_of(dir));
    let mut sent = HashMap::new();
    for w in sim.server.write_log() {
        if let Some(step) = step_of(&by_write, &w) {
            *sent.entry(step).or_default() += 1;
        }
    }
    sent
}

/// A short request timeout and settle margin, so that the quiet time after an uncertain write
/// is 2 s.
const QUIET_2S: [&str; 6] = [
    "--timeout",
    "1",
    "--settle",
    "1",
    "--no-permission-check",
    "--max-attempts=10",
];

const SWAPS_AND_CYCLES: Shapes = Shapes {
    renames: 10,
    frees: 3,
    chains: 2,
    swaps: 8,
    cycles: 4,
};

/// Runs the swaps-and-cycles org against `faults`, whose uncertain writes all land within the
/// quiet time: the run ends in the planned state, never with two writes on one account, and
/// with each step sent exactly once (every late write had landed when its account was read).
fn waits_out(faults: FaultConfig) -> mailshift::sim::server::Counters {
    let (dir, before) = org(SWAPS_AND_CYCLES);
    let sim = serve(
        dir.path(),
        SimSetup {
            faults,
            ..SimSetup::default()
        },
    );
    let url = sim.url();
    let out = mailshift(dir.path(), &fast(&url, &QUIET_2S));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan = plan_of(dir.path());
    let counters = sim.server.snapshot().counters;
    assert_eq!(sim.emails(), planned(&plan, &before));
    assert_eq!(counters.concurrent_writes, 0, "two writes on one account");
    let sent = sends(dir.path(), &sim);
    for step in &plan.steps {
        assert_eq!(
            sent.get(&step.id.0),
            Some(&1),
            "step {} was sent again while its first write was under way",
            step.id
        );
    }
    counters
}

#[test]
fn a_write_answered_504_at_once_and_applied_later_is_waited_for_not_sent_again() {
    let counters = waits_out(FaultConfig {
        late_share: 0.4,
        late: Duration::from_millis(1500),
        latency: Duration::from_millis(1),
        ..FaultConfig::default()
    });
    assert!(counters.late > 0, "no write landed late: {counters:?}");
}

#[test]
fn an_answer_slower_than_the_timeout_that_still_applies_is_waited_for() {
    let counters = waits_out(FaultConfig {
        slow_share: 0.3,
        slow: Duration::from_millis(1400),
        ..FaultConfig::default()
    });
    assert!(counters.slow > 0, "{counters:?}");
}

/// Writes that land even later than the quiet time: nothing can wait for those, but the re-read
/// of each group after it is done catches the accounts they moved, so exit 0 still means the
/// org is as planned, and every account left elsewhere is named.
#[test]
fn writes_later_than_any_wait_never_end_in_a_false_success() {
    // Enough groups that in every run some late write lands after its group's last step: with
    // 48 groups, 1 to 6 accounts were left off plan per run, and one run under the full suite's
    // load met none, so it proved nothing; with 72, 3 to 11 in 8 runs.
    let (dir, before) = org(Shapes {
        renames: 0,
        frees: 0,
        chains: 0,
        swaps: 54,
        cycles: 18,
    });
    let sim = serve(
        dir.path(),
        SimSetup {
            faults: FaultConfig {
                late_share: 0.3,
                late: Duration::from_millis(2600),
                latency: Duration::from_millis(2),
                ..FaultConfig::default()
            },
            seed: 11,
            ..SimSetup::default()
        },
    );
    let url = sim.url();
    let out = mailshift(dir.path(), &fast(&url, &QUIET_2S));
    // Let the last late writes land before looking.
    std::thread::sleep(Duration::from_millis(2800));
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    let plan = plan_of(dir.path());
    let want = planned(&plan, &before);
    let have = sim.emails();
    let wrong: Vec<&String> = want.keys().filter(|id| want[*id] != have[*id]).collect();
    assert!(sim.server.snapshot().counters.late > 0);
    eprintln!(
        "exit {:?}, {} accounts off plan, {} steps failed as lateWrite",
        out.status.code(),
        wrong.len(),
        said.matches("lateWrite").count()
    );
    assert_eq!(
        out.status.code() == Some(0),
        wrong.is_empty(),
        "exit {:?} with {} accounts off plan: {said}",
        out.status.code(),
        wrong.len()
    );
    for id in &wrong {
        assert!(said.contains(id.as_str()), "{id} is not named: {said}");
    }
    // The run met what the test is about: a late write that left an account off plan (caught
    // by the settle re-read, or not). A run that met none proves nothing either way.
    assert!(
        !wrong.is_empty() || said.contains("lateWrite"),
        "no late write left an account off plan: {said}"
    );
    // Following the advice puts them right.
    let sim = sim.restart(SimSetup::default());
    let url = sim.url();
    let mut args = fast(&url, &QUIET_2S);
    args.push("--retry-failed");
    let out = mailshift(dir.path(), &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(sim.emails(), want);
}

#[test]
fn a_redirect_is_not_followed_and_names_where_it_pointed() {
    let (dir, before) = org(Shapes::renames(8));
    // The "other host": another listener on loopback that would answer 204 to anything.
    let elsewhere = serve(dir.path(), both_verified());
    let sim = serve(
        dir.path(),
        SimSetup {
            faults: FaultConfig {
                redirect_to: Some(elsewhere.url()),
                ..FaultConfig::default()
            },
            ..both_verified()
        },
    );
    let url = sim.url();
    let out = mailshift(
        dir.path(),
        &fast(
            &url,
            &["--no-permission-check", "--max-failure-rate", "100%"],
        ),
    );
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(3), "{said}");
    assert!(
        said.contains(&format!("a redirect to {}/users/", elsewhere.url())),
        "{said}"
    );
    assert_eq!(
        elsewhere.server.counters().requests,
        0,
        "the redirect was followed"
    );
    assert_eq!(sim.emails(), before, "nothing changed");
    let journal_path = dir.path().join("plan.json.journal");
    assert!(
        confirmed_steps(&journal_path, 8).is_empty(),
        "a step was journaled done"
    );
}

#[test]
fn retrying_a_step_whose_outcome_was_unknown_finds_it_done() {
    let (dir, before) = org(Shapes::renames(3));
    let plan = plan_of(dir.path());
    // The first run's write landed, but every read of the account failed: the step failed
    // with outcomeUnknown and the advice to run --retry-failed.
    let (_, sha) = mailshift::plan::file::read_hashed(&dir.path().join("plan.json")).unwrap();
    let journal = [
        format!(
            r#"{{"format":"mailshift-journal","format_version":1,"tool_version":"0.1.0","plan_sha256":"{sha}","steps":3,"at":"2026-12-01T10:00:00Z"}}"#
        ),
        r#"{"t":"run","run":1,"pid":1,"at":"2026-12-01T10:00:00Z"}"#.into(),
        r#"{"t":"intent","step":1,"attempt":1,"at":"2026-12-01T10:00:01Z"}"#.into(),
        r#"{"t":"failed","step":1,"status":502,"key":"outcomeUnknown","message":"could not read the account to learn whether the change was applied (HTTP 502); run `mailshift apply --retry-failed` to check again","attempts":1,"at":"2026-12-01T10:00:09Z"}"#.into(),
    ];
    std::fs::write(
        dir.path().join("plan.json.journal"),
        journal.join("\n") + "\n",
    )
    .unwrap();
    let sim = serve(dir.path(), both_verified());
    let first = &plan.steps[0];
    sim.set_email(&first.account_id, &first.to);
    let url = sim.url();
    let before_run = sim.server.write_log().len();
    let out = mailshift(dir.path(), &fast(&url, &["--retry-failed"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(sim.emails(), planned(&plan, &before));
    let log = sim.server.write_log();
    assert_eq!(log.len() - before_run, 2, "step 1 was not sent again");
    assert!(
        log[before_run..]
            .iter()
            .all(|w| w.account_id != *first.account_id)
    );
}

#[test]
fn an_absurd_retry_after_stops_the_run_with_a_message_not_a_panic() {
    // Before the first write: the drift check's listing meets it.
    let (dir, before) = org(Shapes::renames(10));
    let sim = serve(
        dir.path(),
        SimSetup {
            rate: Some((0.5, 1)),
            faults: FaultConfig {
                retry_after_text: Some("18446744073709551615".into()),
                ..FaultConfig::default()
            },
            ..both_verified()
        },
    );
    let url = sim.url();
    let out = mailshift(dir.path(), &fast(&url, &["--no-permission-check"]));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "the API asked to wait more than a year (Retry-After), longer than --max-wait 15m 0s"
        ),
        "{stderr}"
    );
    assert_eq!(sim.emails(), before);

    // Mid-run: the bucket lets pre-flight and a first write through, then asks for an hour.
    let sim = sim.restart(SimSetup {
        rate: Some((0.2, 4)),
        faults: FaultConfig {
            retry_after_text: Some("3600".into()),
            ..FaultConfig::default()
        },
        ..SimSetup::default()
    });
    let url = sim.url();
    let started = Instant::now();
    let out = mailshift(
        dir.path(),
        &fast(&url, &["--no-permission-check", "--concurrency", "2"]),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(20), "it waited");
    assert!(
        stderr.contains("asked to wait 1h 0m (Retry-After), longer than --max-wait 15m 0s")
            && stderr.contains("again later to resume"),
        "{stderr}"
    );
    let journal_path = dir.path().join("plan.json.journal");
    let parsed = journal::read(&journal_path).unwrap();
    let states = journal::replay(&journal_path, 10, &parsed.records, false).unwrap();
    assert!(
        states
            .iter()
            .all(|s| !matches!(s, StepState::InFlight { .. })),
        "a 429'd write is known not applied: {states:?}"
    );
    // Later, the same command finishes the plan.
    let sim = sim.restart(both_verified());
    let url = sim.url();
    let out = mailshift(dir.path(), &fast(&url, &["--no-permission-check"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan = plan_of(dir.path());
    assert_eq!(sim.emails(), planned(&plan, &before));
}

#[test]
fn ctrl_c_ends_a_long_pause_at_once_and_records_the_waiting_steps_as_not_sent() {
    let (dir, before) = org(Shapes::renames(10));
    let sim = serve(
        dir.path(),
        SimSetup {
            rate: Some((0.2, 4)),
            faults: FaultConfig {
                retry_after_text: Some("600".into()),
                ..FaultConfig::default()
            },
            ..both_verified()
        },
    );
    let url = sim.url();
    let args = fast(
        &url,
        &[
            "--no-permission-check",
            "--concurrency",
            "2",
            "--max-wait",
            "1h",
        ],
    );
    let mut child = command(dir.path(), &args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Ctrl-C once the run says it is paused (the pause grows with each refused probe).
    let (lines, seen) = std::sync::mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = lines.send(line);
        }
    });
    let mut said = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !said.contains("paused until") && Instant::now() < deadline {
        if let Ok(line) = seen.recv_timeout(Duration::from_millis(100)) {
            said.push_str(&line);
            said.push('\n');
        }
    }
    assert!(
        said.contains("paused until") && said.contains("UTC (Retry-After)"),
        "the pause was not said: {said}"
    );
    // SAFETY: signalling a child this test started and has not reaped.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let interrupted = Instant::now();
    let status = child.wait().unwrap();
    assert!(
        interrupted.elapsed() < Duration::from_secs(5),
        "Ctrl-C waited for the pause"
    );
    reader.join().unwrap();
    for line in seen.try_iter() {
        said.push_str(&line);
        said.push('\n');
    }
    assert_eq!(status.code(), Some(130), "{said}");
    let journal_path = dir.path().join("plan.json.journal");
    let parsed = journal::read(&journal_path).unwrap();
    let states = journal::replay(&journal_path, 10, &parsed.records, false).unwrap();
    assert!(
        states
            .iter()
            .all(|s| !matches!(s, StepState::InFlight { .. })),
        "{states:?}"
    );
    let sim = sim.restart(both_verified());
    let url = sim.url();
    let out = mailshift(dir.path(), &fast(&url, &["--no-permission-check"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(sim.emails(), planned(&plan_of(dir.path()), &before));
}

#[test]
fn a_second_run_of_the_same_plan_is_refused_whatever_journal_or_copy_it_uses() {
    let (dir, before) = org(Shapes::renames(200));
    let copy = dir.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    std::fs::copy(dir.path().join("plan.json"), copy.join("plan.json")).unwrap();
    let sim = serve(
        dir.path(),
        SimSetup {
            faults: FaultConfig {
                latency: Duration::from_millis(5),
                ..FaultConfig::default()
            },
            ..both_verified()
        },
    );
    let url = sim.url();
    // Both at once, as a second terminal or a cron job would: the plan here with another
    // journal, and a copy of it in another folder. Both would pass the drift check.
    let start = |cwd: &Path, journal: &str| {
        command(
            cwd,
            &fast(
                &url,
                &[
                    "--journal",
                    journal,
                    "--rate",
                    "150",
                    "--no-permission-check",
                ],
            ),
        )
        .env("MAILSHIFT_LOCK_DIR", dir.path().join(".plan-locks"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
    };
    let runs = [
        (start(dir.path(), "j1"), dir.path().join("j1")),
        (
            start(&copy, "plan.json.journal"),
            copy.join("plan.json.journal"),
        ),
    ];
    let ended: Vec<(Option<i32>, String, std::path::PathBuf)> = runs
        .into_iter()
        .map(|(child, journal)| {
            let out = child.wait_with_output().unwrap();
            (out.status.code(), text(&out.stderr), journal)
        })
        .collect();
    let winners: Vec<_> = ended
        .iter()
        .filter(|(code, _, _)| *code == Some(0))
        .collect();
    assert_eq!(winners.len(), 1, "{ended:?}");
    let winner_journal = winners[0].2.display().to_string();
    let (code, stderr, _) = ended.iter().find(|(c, _, _)| *c != Some(0)).unwrap();
    assert_eq!(*code, Some(1), "{stderr}");
    assert!(
        stderr.contains("another mailshift apply of this plan is running")
            && stderr.contains(&winner_journal),
        "{stderr}"
    );
    assert_eq!(sim.server.write_log().len(), 200, "a step was sent twice");
    assert_eq!(sim.emails(), planned(&plan_of(dir.path()), &before));
    assert_eq!(sim.server.snapshot().counters.concurrent_writes, 0);
}

#[test]
fn an_address_this_run_freed_that_the_api_still_calls_taken_is_waited_for() {
    // "Taken" as the simulator answers it (400) and as SCIM does (409).
    for taken_status in [400, 409] {
        let (dir, before) = org(Shapes {
            renames: 4,
            frees: 5,
            chains: 3,
            swaps: 5,
            cycles: 2,
        });
        let sim = serve(
            dir.path(),
            SimSetup {
                faults: FaultConfig {
                    taken_lag: Duration::from_millis(900),
                    latency: Duration::from_millis(2),
                    ..FaultConfig::default()
                },
                taken_status,
                ..both_verified()
            },
        );
        let url = sim.url();
        let out = mailshift(dir.path(), &fast(&url, &["--no-permission-check"]));
        assert_eq!(
            out.status.code(),
            Some(0),
            "{taken_status}: {}",
            text(&out.stderr)
        );
        assert_eq!(sim.emails(), planned(&plan_of(dir.path()), &before));
        assert_eq!(sim.server.snapshot().counters.concurrent_writes, 0);
    }
}

#[test]
fn answers_cut_short_are_retried_like_any_transient_failure() {
    let (dir, before) = org(Shapes {
        renames: 250,
        frees: 5,
        chains: 2,
        swaps: 2,
        cycles: 1,
    });
    let sim = serve(
        dir.path(),
        SimSetup {
            faults: FaultConfig {
                garble_share: 0.2,
                ambiguous_share: 0.1,
                ..FaultConfig::default()
            },
            ..both_verified()
        },
    );
    let url = sim.url();
    // With the permission reads: one per account, each may come back cut short.
    let out = mailshift(
        dir.path(),
        &fast(&url, &["--timeout", "2", "--max-attempts", "10"]),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(sim.server.snapshot().counters.garbled > 0);
    assert_eq!(sim.emails(), planned(&plan_of(dir.path()), &before));
}

#[test]
fn a_plan_checked_against_one_org_is_refused_for_another() {
    let dir = tempfile::tempdir().unwrap();
    let (accounts, targets) = generated_org(Shapes::renames(5));
    std::fs::write(dir.path().join("accounts.csv"), &accounts).unwrap();
    std::fs::write(dir.path().join("targets.csv"), &targets).unwrap();
    let sim = serve(dir.path(), both_verified());
    let url = sim.url();
    let out = mailshift(
        dir.path(),
        &[
            "plan",
            "--accounts",
            "accounts.csv",
            "--api-url",
            &url,
            "--org-id",
            "org-1",
            "--targets",
            "targets.csv",
            "--out",
            "plan.json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut args = fast(&url, &[]);
    let org = args.iter().position(|a| *a == "org-1").unwrap();
    args[org] = "org-2";
    let out = mailshift(dir.path(), &args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the plan was checked against org org-1, but --org-id is org-2"),
        "{stderr}"
    );
    assert!(sim.server.write_log().is_empty());
}
