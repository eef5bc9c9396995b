//! `mailshift apply` as an admin runs it: the real binary against the real simulator on
//! loopback. Each test ends by comparing every account's address with what the plan says.

mod support;

use mailshift::sim::faults::FaultConfig;
use std::collections::BTreeMap;
use std::path::Path;
use support::*;

const MIXED: Shapes = Shapes {
    renames: 20,
    frees: 5,
    chains: 3,
    swaps: 3,
    cycles: 3,
};

fn setup(shapes: Shapes) -> (tempfile::TempDir, BTreeMap<String, String>) {
    let dir = tempfile::tempdir().unwrap();
    let (accounts, targets) = generated_org(shapes);
    let plan = read_plan(&plan_in(dir.path(), &accounts, &targets));
    assert_eq!(
        plan.steps.len(),
        shapes.steps(),
        "the generated org plans as intended"
    );
    assert!(plan.blocked.is_empty());
    let before = emails_in(&accounts);
    (dir, before)
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_mixed_plan_ends_in_exactly_the_planned_state() {
    let (dir, before) = setup(MIXED);
    let sim = serve(dir.path(), SimSetup::default());
    let url = sim.url();
    let out = mailshift(dir.path(), &apply_args(&url, &["--report", "report.csv"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan = read_plan(&dir.path().join("plan.json"));
    assert_eq!(sim.emails(), planned(&plan, &before));
    let counters = sim.server.snapshot().counters;
    assert_eq!(counters.concurrent_writes, 0);
    // Without faults, each step is one request and no more.
    assert_eq!(sim.server.write_log().len(), plan.steps.len());
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("{} steps:", plan.steps.len())),
        "{stdout}"
    );
    let report = std::fs::read_to_string(dir.path().join("report.csv")).unwrap();
    assert_eq!(report.lines().count(), plan.steps.len() + 1);
    assert!(
        report.lines().skip(1).all(|l| l.contains(",done,204,")),
        "{report}"
    );
    assert_eq!(mode(&dir.path().join("report.csv")), 0o600);
    assert_eq!(mode(&dir.path().join("plan.json.journal")), 0o600);

    // Again: nothing left, nothing sent.
    let again = mailshift(dir.path(), &apply_args(&url, &[]));
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(sim.server.write_log().len(), plan.steps.len());
    let status = mailshift(dir.path(), &["status", "plan.json"]);
    assert_eq!(status.status.code(), Some(0));
    let status = text(&status.stdout);
    let done_line = format!(" {}", plan.steps.len());
    assert!(
        status
            .lines()
            .any(|l| l.trim_start().starts_with("done") && l.ends_with(&done_line)),
        "{status}"
    );
}

/// Runs the mixed org of 290 steps through `faults` and checks the end state.
fn survives(
    faults: FaultConfig,
    rate: Option<(f64, u32)>,
    extra: &[&str],
) -> mailshift::sim::server::Counters {
    let shapes = Shapes {
        renames: 150,
        frees: 20,
        chains: 10,
        swaps: 10,
        cycles: 10,
    };
    let (dir, before) = setup(shapes);
    let sim = serve(
        dir.path(),
        SimSetup {
            rate,
            faults,
            ..SimSetup::default()
        },
    );
    let url = sim.url();
    let mut args = apply_args(
        &url,
        // The executor is what is under test here, not pre-flight's reads.
        &[
            "--timeout",
            "2",
            "--max-attempts",
            "10",
            "--rate",
            "300",
            "--no-permission-check",
        ],
    );
    args.extend_from_slice(extra);
    let out = mailshift(dir.path(), &args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let plan = read_plan(&dir.path().join("plan.json"));
    assert_eq!(sim.emails(), planned(&plan, &before));
    let counters = sim.server.snapshot().counters;
    assert_eq!(
        counters.concurrent_writes, 0,
        "two writes on one account at once"
    );
    counters
}

#[test]
fn errors_ambiguous_writes_and_dropped_connections_end_in_the_planned_state() {
    let counters = survives(
        FaultConfig {
            error_share: 0.10,
            ambiguous_share: 0.05,
            drop_share: 0.03,
            ..FaultConfig::default()
        },
        None,
        &[],
    );
    assert!(
        counters.errors > 0 && counters.ambiguous > 0 && counters.drops > 0,
        "{counters:?}"
    );
}

#[test]
fn a_429_storm_with_retry_after_ends_in_the_planned_state() {
    let faults = FaultConfig {
        retry_after_share: 1.0,
        ..FaultConfig::default()
    };
    let counters = survives(faults, Some((60.0, 5)), &["--concurrency", "16"]);
    assert!(counters.rate_limited > 0, "{counters:?}");
}

#[test]
fn a_429_storm_without_retry_after_ends_in_the_planned_state() {
    let faults = FaultConfig {
        retry_after_share: 0.0,
        error_share: 0.05,
        ..FaultConfig::default()
    };
    let counters = survives(faults, Some((60.0, 5)), &["--concurrency", "16"]);
    assert!(counters.rate_limited > 0, "{counters:?}");
}

#[test]
fn an_external_holder_fails_one_step_and_its_dependants_and_nothing_else() {
    let (dir, before) = setup(MIXED);
    // Chain 0: k0a takes k0b's address, k0b takes k0c's, k0c takes k0d@new.example, which an
    // account outside the org holds.
    let sim = serve(
        dir.path(),
        SimSetup {
            external: vec!["k0d@new.example".into()],
            ..SimSetup::default()
        },
    );
    let url = sim.url();
    let out = mailshift(dir.path(), &apply_args(&url, &["--report", "report.json"]));
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let plan = read_plan(&dir.path().join("plan.json"));
    let mut expected = planned(&plan, &before);
    for id in ["acc-k0a", "acc-k0b", "acc-k0c"] {
        expected.insert(id.into(), before[id].clone());
    }
    assert_eq!(sim.emails(), expected);

    let report: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    let outcome = |account: &str| {
        report
            .iter()
            .find(|r| r["account_id"] == account)
            .map(|r| (r["outcome"].as_str().unwrap().to_owned(), r.clone()))
            .unwrap()
    };
    let (failed, row) = outcome("acc-k0c");
    assert_eq!(failed, "failed");
    assert_eq!(row["error_key"], "email.taken");
    assert_eq!(row["http_status"], 400);
    assert_eq!(outcome("acc-k0b").0, "skipped");
    assert_eq!(outcome("acc-k0a").0, "skipped");
    let ended_otherwise = report.iter().filter(|r| r["outcome"] != "done").count();
    assert_eq!(ended_otherwise, 3);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("k0d@new.example is held by an account outside this org"),
        "{stdout}"
    );
    assert!(stdout.contains("not attempted: step"), "{stdout}");
}

#[test]
fn without_yes_and_without_a_terminal_nothing_is_sent_or_written() {
    let (dir, _) = setup(MIXED);
    let sim = serve(dir.path(), SimSetup::default());
    let url = sim.url();
    let out = mailshift(dir.path(), &["apply", "plan.json", "--api-url", &url]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--yes"), "{}", text(&out.stderr));
    assert!(sim.server.write_log().is_empty());
    assert!(!dir.path().join("plan.json.journal").exists());
}

#[test]
fn a_refused_key_stops_the_run_and_a_journal_of_another_plan_is_refused() {
    let (dir, before) = setup(MIXED);
    let sim = serve(dir.path(), SimSetup::default());
    let url = sim.url();
    let out = command(dir.path(), &apply_args(&url, &[]))
        .env("ATLASSIAN_API_KEY", "not-the-key")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("the API key was refused (401)"), "{stderr}");
    assert!(!stderr.contains("not-the-key") && !text(&out.stdout).contains("not-the-key"));
    assert_eq!(sim.emails(), before);
    // The stopped run resumes once the key works.
    let out = mailshift(dir.path(), &apply_args(&url, &[]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // Another plan with this journal: refused before anything is sent.
    std::fs::write(
        dir.path().join("targets.csv"),
        "account_id,target_email\nacc-r1,r1.other@new.example\n",
    )
    .unwrap();
    let replan = mailshift(
        dir.path(),
        &[
            "plan",
            "--accounts",
            "accounts.csv",
            "--targets",
            "targets.csv",
            "--out",
            "plan2.json",
        ],
    );
    assert!(replan.status.success(), "{}", text(&replan.stderr));
    let sent = sim.server.write_log().len();
    let out = mailshift(
        dir.path(),
        &[
            "apply",
            "plan2.json",
            "--journal",
            "plan.json.journal",
            "--api-url",
            &url,
            "--yes",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("belongs to another plan"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(sim.server.write_log().len(), sent);
}

/// `args` run in `dir` with standard error read as it comes: each line is sent on the channel as
/// it arrives, and the reader thread gives back all of it.
fn spawn_heard(
    dir: &Path,
    args: &[&str],
) -> (
    std::process::Child,
    std::sync::mpsc::Receiver<String>,
    std::thread::JoinHandle<Vec<u8>>,
) {
    let mut child = command(dir, args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (lines, heard) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut all = Vec::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = lines.send(line.clone());
            all.extend_from_slice(line.as_bytes());
            all.push(b'\n');
        }
        all
    });
    (child, heard, reader)
}

/// A simulator slow enough (40 ms a request) that a run is surely under way 800 ms after it
/// starts, and Ctrl-C pressed `presses` times then; returns what the run printed.
fn interrupted_run(dir: &Path, extra: &[&str], presses: usize) -> (Sim, std::process::Output) {
    // With a second press, answers are slow, so that requests are still under way when it
    // comes.
    let latency = if presses > 1 { 400 } else { 40 };
    let sim = serve(
        dir,
        SimSetup {
            faults: FaultConfig {
                latency: std::time::Duration::from_millis(latency),
                ..FaultConfig::default()
            },
            ..SimSetup::default()
        },
    );
    let url = sim.url();
    let mut args = apply_args(&url, &["--no-permission-check"]);
    args.extend_from_slice(extra);
    // Standard error is read as it comes, so that each press after the first waits until the
    // run has said it heard the one before: two signals close together are one to the OS.
    let (child, heard, reader) = spawn_heard(dir, &args);
    // Presses come once writes are under way: after the drift check, and a little more.
    let wait_for = |prefix: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while let Ok(line) = heard.recv_timeout(deadline - std::time::Instant::now()) {
            if line.starts_with(prefix) {
                break;
            }
        }
    };
    wait_for("Checked the org against the plan");
    std::thread::sleep(std::time::Duration::from_millis(600));
    for press in 0..presses {
        // SAFETY: sends SIGINT to our own child.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGINT);
        }
        if press + 1 < presses {
            wait_for("Stopping:");
        }
    }
    let mut out = child.wait_with_output().unwrap();
    out.stderr = reader.join().unwrap();
    (sim, out)
}

#[test]
fn ctrl_c_stops_taking_steps_and_the_same_command_resumes() {
    let (dir, before) = setup(MIXED);
    let (sim, out) = interrupted_run(dir.path(), &["--rate", "20", "--concurrency", "2"], 1);
    let url = sim.url();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("Stopping: no new steps"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("again to resume"),
        "{}",
        text(&out.stdout)
    );
    let plan = read_plan(&dir.path().join("plan.json"));
    let sent_before = sim.server.write_log().len();
    assert!(
        sent_before > 0 && sent_before < plan.steps.len(),
        "{sent_before}"
    );
    // The interrupted run left no step in doubt.
    let status = text(&mailshift(dir.path(), &["status", "plan.json"]).stdout);
    assert!(!status.contains("unknown"), "{status}");

    let out = mailshift(
        dir.path(),
        &apply_args(&url, &["--rate", "100", "--concurrency", "8"]),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(sim.emails(), planned(&plan, &before));
    assert_eq!(
        sim.server.write_log().len(),
        plan.steps.len(),
        "no step was sent twice"
    );
}

/// Ctrl-C the moment the last look at the org is said, after the permission reads have listened
/// for Ctrl-C themselves: the run has not begun to listen, and the press must not be lost. The
/// run stops before its first write, and the same command then carries out the plan.
#[test]
fn ctrl_c_before_the_run_listens_stops_it_before_its_first_write() {
    let (dir, before) = setup(MIXED);
    let sim = serve(dir.path(), SimSetup::default());
    let url = sim.url();
    let (child, heard, reader) = spawn_heard(dir.path(), &apply_args(&url, &["--rate", "20"]));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut said = String::new();
    while let Ok(line) = heard.recv_timeout(deadline - std::time::Instant::now()) {
        said.push_str(&line);
        if line.starts_with("Checked the org against the plan") {
            break;
        }
    }
    assert!(said.contains("Checked who may be written"), "{said}");
    // SAFETY: sends SIGINT to our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&reader.join().unwrap()).into_owned();
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert_eq!(sim.server.write_log().len(), 0, "{stderr}");
    let out = mailshift(dir.path(), &apply_args(&url, &["--rate", "100"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan = read_plan(&dir.path().join("plan.json"));
    assert_eq!(sim.emails(), planned(&plan, &before));
}

#[test]
fn a_second_ctrl_c_quits_at_once_and_the_journal_still_resumes() {
    let (dir, before) = setup(MIXED);
    let (sim, out) = interrupted_run(dir.path(), &["--rate", "20"], 2);
    let url = sim.url();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("Second Ctrl-C: quitting now"),
        "{}",
        text(&out.stderr)
    );
    // Writes the quit left in flight may still be landing; then resume.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let out = mailshift(dir.path(), &apply_args(&url, &["--rate", "100"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan = read_plan(&dir.path().join("plan.json"));
    assert_eq!(sim.emails(), planned(&plan, &before));
}

#[test]
fn a_run_keeps_the_pace_it_learnt_and_the_next_run_starts_there() {
    // 400 renames against 100 a second with a burst of 10, from a ceiling ten times that: the
    // pilot learns the limit (from a low start, with a few 429s where it meets it) and keeps it
    // beside the plan; the rest of the plan starts at it.
    let (dir, before) = setup(Shapes {
        renames: 400,
        frees: 0,
        chains: 0,
        swaps: 0,
        cycles: 0,
    });
    let sim = serve(
        dir.path(),
        SimSetup {
            rate: Some((100.0, 10)),
            ..both_verified()
        },
    );
    let url = sim.url();
    let run = |extra: &[&str]| {
        let mut args = apply_args(&url, &["--rate", "1000", "--no-permission-check"]);
        args.extend_from_slice(extra);
        let out = mailshift(dir.path(), &args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        sim.server.snapshot().counters.rate_limited
    };
    let pace = dir.path().join("plan.json.pace");
    assert!(!pace.exists());
    let first = run(&["--limit", "200"]);
    assert_eq!(mode(&pace), 0o600);
    let kept: serde_json::Value = serde_json::from_slice(&std::fs::read(&pace).unwrap()).unwrap();
    // Never above what the server took (its limit, and the burst's 10 spread over 2 s).
    let rate = kept["rate"].as_f64().unwrap();
    assert!(rate > 0.0 && rate <= 105.0, "{kept}");
    assert_eq!(kept["org"], "org-1", "{kept}");
    assert!(!String::from_utf8_lossy(&std::fs::read(&pace).unwrap()).contains(KEY));
    // No burst of 429s at its start: at most a lone one or two where it creeps up to the limit.
    let second = run(&[]) - first;
    assert!(
        second <= 2,
        "the second run started at the pace learnt: {second} 429s after {first}"
    );
    let plan = read_plan(&dir.path().join("plan.json"));
    assert_eq!(sim.emails(), planned(&plan, &before));
}
