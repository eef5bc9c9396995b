//! Exit 0 tells the truth on every path: the real binary against the simulator on loopback,
//! where a run's record meets another API, a stop by signal, a lock taken from another session,
//! or a listing that never ends. Each ends with the org as planned, or with a non-zero exit that
//! says why.

mod support;

use mailshift::journal::{self, StepState};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::*;

const MIXED: Shapes = Shapes {
    renames: 10,
    frees: 3,
    chains: 2,
    swaps: 2,
    cycles: 2,
};

/// Plans `shapes` in a fresh directory; returns it with every account's address before.
fn org(shapes: Shapes) -> (tempfile::TempDir, BTreeMap<String, String>) {
    let dir = tempfile::tempdir().unwrap();
    let (accounts, targets) = generated_org(shapes);
    plan_in(dir.path(), &accounts, &targets);
    (dir, emails_in(&accounts))
}

/// Waits until the simulator has seen `n` writes (at most a minute).
fn wait_for_writes(sim: &Sim, n: usize) {
    let started = Instant::now();
    while sim.server.write_log().len() < n {
        assert!(started.elapsed() < Duration::from_secs(60), "no write came");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn states(dir: &Path) -> Vec<StepState> {
    let path = dir.join("plan.json.journal");
    let parsed = journal::read(&path).unwrap();
    let steps = read_plan(&dir.join("plan.json")).steps.len() as u32;
    journal::replay(&path, steps, &parsed.records, false).unwrap()
}

/// SIGTERM and SIGHUP stop a run as Ctrl-C does: the requests under way are answered and
/// journaled, the run says how to resume and exits 130, and the resume ends the plan.
#[test]
fn sigterm_and_sighup_stop_like_ctrl_c_and_say_how_to_resume() {
    let (dir, before) = org(Shapes::renames(150));
    let sim = serve(
        dir.path(),
        SimSetup {
            rate: Some((40.0, 4)),
            ..both_verified()
        },
    );
    let url = sim.url();
    for signal in [libc::SIGTERM, libc::SIGHUP] {
        let writes_before = sim.server.write_log().len();
        let child = command(
            dir.path(),
            &apply_args(&url, &["--rate", "40", "--no-permission-check"]),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        wait_for_writes(&sim, writes_before + 10);
        let pid = i32::try_from(child.id()).unwrap();
        // SAFETY: kill(2) on our own child's pid, with a valid signal number.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
        let out = child.wait_with_output().unwrap();
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(130), "signal {signal}: {stderr}");
        assert!(
            stdout.contains("again to resume") || stderr.contains("again to resume"),
            "signal {signal}: {stdout}{stderr}"
        );
        let states = states(dir.path());
        assert!(
            !states
                .iter()
                .any(|s| matches!(s, StepState::InFlight { .. })),
            "signal {signal}: a write was left in flight: {states:?}"
        );
        assert!(
            states.iter().any(|s| matches!(s, StepState::Pending)),
            "signal {signal}: the run was not stopped before its end"
        );
    }
    let out = mailshift(dir.path(), &apply_args(&url, &["--rate", "40"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan = read_plan(&dir.path().join("plan.json"));
    assert_eq!(sim.emails(), planned(&plan, &before));
}

/// A journal records where its runs wrote. The same command against another API (a rehearsal's
/// simulator, then the real org) is refused, naming both; a pilot there is refused too.
#[test]
fn a_journal_from_another_api_is_refused_and_names_both() {
    let (dir, before) = org(MIXED);
    let rehearsal = serve(dir.path(), both_verified());
    let real = serve(dir.path(), both_verified());
    let out = mailshift(dir.path(), &fast(&rehearsal.url(), &["--limit", "3"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for extra in [&["--limit", "3"][..], &[]] {
        let out = mailshift(dir.path(), &fast(&real.url(), extra));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(&format!("records a run against {}", rehearsal.url()))
                && stderr.contains(&real.url())
                && stderr.contains("--journal"),
            "{stderr}"
        );
    }
    assert!(real.server.write_log().is_empty());
    assert_eq!(real.emails(), before);
    // With a journal of its own, the real org gets the whole plan.
    let out = mailshift(
        dir.path(),
        &fast(&real.url(), &["--journal", "real.journal"]),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan = read_plan(&dir.path().join("plan.json"));
    assert_eq!(real.emails(), planned(&plan, &before));
}

/// A journal that records no API (written before it was recorded) still resumes; a run that has
/// nothing left to send reads the accounts before it reports success, and names those elsewhere.
#[test]
fn nothing_left_to_send_is_not_success_until_the_accounts_are_read() {
    let (dir, before) = org(MIXED);
    let rehearsal = serve(dir.path(), both_verified());
    let out = mailshift(dir.path(), &fast(&rehearsal.url(), &[]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Done where it ran: the same command reads the accounts and says success again.
    let reads_before = rehearsal.server.counters().requests;
    let out = mailshift(dir.path(), &fast(&rehearsal.url(), &[]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(rehearsal.server.counters().requests > reads_before);
    // The journal as an older mailshift wrote it: format version 1, runs without their API and
    // org. It still resumes.
    let path = dir.path().join("plan.json.journal");
    let mut old = String::new();
    for line in std::fs::read_to_string(&path).unwrap().lines() {
        let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(o) = v.as_object_mut() {
            o.remove("api");
            o.remove("org");
            if o.contains_key("format_version") {
                o.insert("format_version".into(), 1.into());
            }
        }
        old.push_str(&format!("{v}\n"));
    }
    std::fs::write(&path, old).unwrap();
    let real = serve(dir.path(), both_verified());
    let out = mailshift(dir.path(), &fast(&real.url(), &[]));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let plan = read_plan(&dir.path().join("plan.json"));
    for account in planned(&plan, &before)
        .iter()
        .filter(|(id, to)| before.get(*id) != Some(to))
        .map(|(id, _)| id)
    {
        assert!(
            stderr.contains(&format!("{account}: the journal says done")),
            "{account} not named: {stderr}"
        );
    }
    assert!(real.server.write_log().is_empty());
}

/// One lock for the user, wherever the session comes from: a login shell (XDG_RUNTIME_DIR set)
/// and a cron job or `sudo -u` (unset, another TMPDIR) meet the same lock, and the second run of
/// the plan is refused while the first holds it.
#[test]
fn sessions_with_and_without_a_runtime_dir_share_one_plan_lock() {
    // An org of its own, so that its lock in the user's real lock directory is this test's.
    let (dir, before) = org(Shapes::renames(137));
    let copy = dir.path().join("copy");
    std::fs::create_dir_all(copy.join("tmp")).unwrap();
    std::fs::create_dir_all(dir.path().join("run")).unwrap();
    std::fs::copy(dir.path().join("plan.json"), copy.join("plan.json")).unwrap();
    let sim = serve(
        dir.path(),
        SimSetup {
            rate: Some((40.0, 4)),
            ..both_verified()
        },
    );
    let url = sim.url();
    let login = command(
        dir.path(),
        &apply_args(&url, &["--rate", "40", "--no-permission-check"]),
    )
    .env_remove("MAILSHIFT_LOCK_DIR")
    .env("XDG_RUNTIME_DIR", dir.path().join("run"))
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    wait_for_writes(&sim, 1);
    let cron = command(
        &copy,
        &apply_args(&url, &["--rate", "40", "--no-permission-check"]),
    )
    .env_remove("MAILSHIFT_LOCK_DIR")
    .env_remove("XDG_RUNTIME_DIR")
    .env("TMPDIR", copy.join("tmp"))
    .output()
    .unwrap();
    let stderr = text(&cron.stderr);
    let first = login.wait_with_output().unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    assert_eq!(cron.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("another mailshift apply of this plan is running"),
        "{stderr}"
    );
    assert_eq!(sim.server.write_log().len(), 137, "a step was sent twice");
    let plan = read_plan(&dir.path().join("plan.json"));
    assert_eq!(sim.emails(), planned(&plan, &before));
}

/// A listing that never ends (new cursors, the same accounts, the true total) is stopped with a
/// message instead of being read for ever with the lock and the key's budget held.
#[test]
fn an_endless_listing_is_stopped_with_a_message() {
    let (dir, before) = org(Shapes::renames(250));
    let sim = serve(
        dir.path(),
        SimSetup {
            faults: mailshift::sim::faults::FaultConfig {
                endless_listing: true,
                ..Default::default()
            },
            ..both_verified()
        },
    );
    let url = sim.url();
    let started = Instant::now();
    let child = command(dir.path(), &fast(&url, &["--no-permission-check"]))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let watchdog = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(60));
        // SAFETY: kill(2) with a valid signal; the pid may be gone already, which is harmless.
        unsafe { libc::kill(i32::try_from(pid).unwrap(), libc::SIGKILL) };
    });
    let out = child.wait_with_output().unwrap();
    drop(watchdog);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the listing repeats itself") && stderr.contains("the org's users"),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    // Three pages of 100 and the first again: four reads, not thousands.
    assert!(
        sim.server.counters().requests < 20,
        "{:?}",
        sim.server.counters()
    );
    assert!(sim.server.write_log().is_empty());
    assert_eq!(sim.emails(), before);
}

/// One answer is not read into memory whatever its size: a listing page of 9 MiB (a server
/// gone wrong, or a hostile one) is refused, and the run says why.
#[test]
fn an_answer_larger_than_the_cap_is_not_read() {
    use std::io::{Read, Write};
    let (dir, _) = org(Shapes::renames(3));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let body = format!("{{\"data\":[],\"x\":\"{}\"}}", "a".repeat(9 << 20));
        // Bounded: a few connections (the first read and its retries), then done.
        for _ in 0..8 {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_bytes());
        }
    });
    // apply's drift check lists the org first; one attempt, so that no retry is waited for.
    let out = mailshift(
        dir.path(),
        &fast(&url, &["--no-permission-check", "--max-attempts", "1"]),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("larger than 8 MiB"), "{stderr}");
    drop(server);
}

/// The permission reads a rehearsal made say nothing of the real org: the real run reads again,
/// and finds the accounts it may not write before the first write.
#[test]
fn permission_reads_from_another_api_are_not_trusted() {
    let (dir, before) = org(Shapes::renames(12));
    let rehearsal = serve(dir.path(), both_verified());
    let real = serve(
        dir.path(),
        SimSetup {
            scim: vec!["acc-r3".into(), "acc-r7".into()],
            ..both_verified()
        },
    );
    let out = mailshift(
        dir.path(),
        &apply_args(&rehearsal.url(), &["--rate", "2000"]),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let cache = std::fs::read_to_string(dir.path().join("plan.json.permissions")).unwrap();
    assert!(cache.contains(&rehearsal.url()), "{cache}");
    let out = mailshift(
        dir.path(),
        &apply_args(
            &real.url(),
            &["--rate", "2000", "--journal", "real.journal"],
        ),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("acc-r3")
            && stderr.contains("acc-r7")
            && stderr.contains("identity provider"),
        "{stderr}"
    );
    assert!(
        real.server.write_log().is_empty(),
        "written before it was checked"
    );
    assert_eq!(real.emails(), before);
}

/// An account changed after the drift check's listing was read (while the permission reads ran,
/// or the prompt waited) is found by a second look right before the first write, not overwritten.
#[test]
fn an_account_changed_after_the_first_look_is_not_overwritten() {
    let (dir, before) = org(Shapes::renames(150));
    // An org whose API has no v2 search: its listing settles nothing, and the permission reads
    // at 40/s leave about 4 s between the listing and the first write.
    let sim = serve(
        dir.path(),
        SimSetup {
            faults: mailshift::sim::faults::FaultConfig {
                refuse_v2: true,
                ..Default::default()
            },
            ..both_verified()
        },
    );
    let url = sim.url();
    let child = command(dir.path(), &apply_args(&url, &["--rate", "40"]))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while sim.server.counters().requests < 20 {
        assert!(started.elapsed() < Duration::from_secs(60), "no reads came");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(sim.server.write_log().is_empty());
    // An admin renames one account in the UI meanwhile.
    sim.set_email("acc-r140", "someone.else@old.example");
    let writes_by_admin = sim.server.write_log().len();
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("acc-r140") && stderr.contains("someone.else@old.example"),
        "{stderr}"
    );
    assert_eq!(
        sim.server.write_log().len(),
        writes_by_admin,
        "a write was sent"
    );
    let mut expected = before;
    expected.insert("acc-r140".into(), "someone.else@old.example".into());
    assert_eq!(sim.emails(), expected);
}

/// A listing slow to read is read once when nothing comes between it and the first write: a
/// second look would be as old by its own end, and the whole run waits for it.
#[test]
fn a_slow_listing_with_nothing_after_it_is_read_once() {
    let (dir, before) = org(Shapes::renames(200));
    // 20 pages of 10 accounts, 120 ms each: the listing alone takes longer than the moment
    // after which a look is read again. An org whose API has no v2 search, so that the run reads
    // the listing (with one, it searches its accounts by address), and no permission reads after
    // it: nothing comes between the listing and the first write.
    let pages = 20;
    let sim = serve(
        dir.path(),
        SimSetup {
            page_size: 10,
            faults: mailshift::sim::faults::FaultConfig {
                latency: Duration::from_millis(120),
                refuse_v2: true,
                ..Default::default()
            },
            ..both_verified()
        },
    );
    let out = mailshift(
        dir.path(),
        &apply_args(
            &sim.url(),
            &[
                "--rate",
                "2000",
                "--concurrency",
                "32",
                "--no-permission-check",
            ],
        ),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let c = sim.server.counters();
    let reads = c.requests - c.write_requests;
    assert!(
        reads < 2 * pages,
        "{reads} reads for a listing of {pages} pages: {stderr}"
    );
    let plan = read_plan(&dir.path().join("plan.json"));
    assert_eq!(sim.emails(), planned(&plan, &before));
}

const SWAPS_AND_CYCLES: Shapes = Shapes {
    renames: 0,
    frees: 0,
    chains: 0,
    swaps: 12,
    cycles: 4,
};

/// Writes that land 3.75 s after their 5xx, after the 3 s the run waits for them (`--timeout
/// 2 --settle 1`), and reads that show a change 0.7 s late.
fn late_and_lagging(seed: u64) -> SimSetup {
    SimSetup {
        faults: mailshift::sim::faults::FaultConfig {
            late_share: 0.3,
            late: Duration::from_millis(3750),
            ..Default::default()
        },
        read_delay: Duration::from_millis(700),
        seed,
        ..both_verified()
    }
}

const LATE_ARGS: [&str; 9] = [
    "--rate",
    "2000",
    "--no-permission-check",
    "--timeout",
    "2",
    "--settle",
    "1",
    "--max-attempts",
    "10",
];

/// The settle re-read is not fooled by reads that lag: it waits out `--read-lag` after the
/// group's writes can have landed, so a late write is seen, not the address from before it.
#[test]
fn a_lagging_settle_read_cannot_pass_a_late_write_for_done() {
    // Whether a late write lands after its group's last step is the machine's timing: a loaded
    // CI host once ran seed 11 with none that did. Every run must be truthful; seeds go on until
    // two runs met a late write, so that a quiet run proves nothing and fails nothing.
    let mut met = 0;
    for seed in [3, 11, 17, 23, 29, 31] {
        if met == 2 {
            break;
        }
        let (dir, before) = org(Shapes {
            swaps: 40,
            cycles: 10,
            ..SWAPS_AND_CYCLES
        });
        let sim = serve(dir.path(), late_and_lagging(seed));
        let url = sim.url();
        let out = mailshift(
            dir.path(),
            &apply_args(&url, &[&LATE_ARGS[..], &["--read-lag", "1s"]].concat()),
        );
        let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
        // Late writes still under way land before the org is compared.
        std::thread::sleep(Duration::from_millis(1500));
        let off = assert_truthful(out.status.code(), &said, &sim, dir.path(), &before);
        assert!(sim.server.counters().late > 0, "seed {seed}: no late write");
        if off > 0 || said.contains("lateWrite") {
            met += 1;
        }
    }
    // The runs met what they are about: late writes that left accounts off plan.
    assert_eq!(
        met, 2,
        "fewer than two of six seeds had a write land after its group"
    );
}

/// A stop between a group's end and its settle re-read (SIGTERM, `kill -9`) leaves the re-read
/// owed in the journal; the resume makes it before anything counts as done.
#[test]
fn a_stop_inside_the_settle_window_leaves_the_re_read_owed() {
    for (seed, signal) in [(5, libc::SIGTERM), (6, libc::SIGKILL)] {
        let (dir, before) = org(Shapes {
            renames: 60,
            ..SWAPS_AND_CYCLES
        });
        let sim = serve(dir.path(), late_and_lagging(seed));
        let url = sim.url();
        let steps = read_plan(&dir.path().join("plan.json")).steps.len() as u32;
        let mut args = apply_args(&url, &[&LATE_ARGS[..], &["--read-lag", "1s"]].concat());
        // Slow enough that early groups end long before the last step.
        args.extend_from_slice(&["--rate", "25"]);
        let child = command(dir.path(), &args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let journal = dir.path().join("plan.json.journal");
        while confirmed_steps(&journal, steps).len() < 50 {
            assert!(started.elapsed() < Duration::from_secs(60), "too slow");
            std::thread::sleep(Duration::from_millis(5));
        }
        let pid = i32::try_from(child.id()).unwrap();
        // SAFETY: kill(2) on our own child, with a valid signal.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
        let _ = child.wait_with_output();
        // The dead run's late writes land; `status` says what is owed; the same command resumes.
        std::thread::sleep(Duration::from_secs(4));
        let status = text(&mailshift(dir.path(), &["status", "plan.json"]).stdout);
        let out = mailshift(dir.path(), &args);
        let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
        if said.contains("read again before the run ends") {
            assert!(status.contains("not been read again since"), "{status}");
        }
        std::thread::sleep(Duration::from_millis(1500));
        let off = assert_truthful(out.status.code(), &said, &sim, dir.path(), &before);
        assert!(
            off > 0 || said.contains("lateWrite") || said.contains("read again before"),
            "seed {seed}: the stop met no settle window: {said}"
        );
    }
}

/// The record an undo needs is never written over: `plan --out` over a plan with a journal, a
/// `--report` naming the journal or the plan, a rollback while a run holds the plan; and the
/// journal alone is enough for an undo when the plan file is gone.
#[test]
fn the_record_an_undo_needs_is_never_written_over() {
    let (dir, before) = org(Shapes::renames(30));
    let sim = serve(
        dir.path(),
        SimSetup {
            rate: Some((20.0, 2)),
            ..both_verified()
        },
    );
    let url = sim.url();
    // A run under way (20 requests a second): rollback refuses to make half a rollback.
    let child = command(
        dir.path(),
        &apply_args(&url, &["--rate", "20", "--no-permission-check"]),
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    wait_for_writes(&sim, 3);
    let during = mailshift(
        dir.path(),
        &[
            "rollback",
            "plan.json",
            "--out",
            "rollback.json",
            "--api-url",
            &url,
            "--org-id",
            "org-1",
        ],
    );
    let stderr = text(&during.stderr);
    assert_eq!(during.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("another mailshift apply is running"),
        "{stderr}"
    );
    assert!(!dir.path().join("rollback.json").exists());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan = read_plan(&dir.path().join("plan.json"));
    assert_eq!(sim.emails(), planned(&plan, &before));

    // Planning again over the applied plan, or over its journal, is refused; nothing changes.
    let plan_bytes = std::fs::read(dir.path().join("plan.json")).unwrap();
    let journal_bytes = std::fs::read(dir.path().join("plan.json.journal")).unwrap();
    for out in ["plan.json", "plan.json.journal", "plan.json.journal.plan"] {
        let again = mailshift(dir.path(), &[&PLAN[..], &["--out", out]].concat());
        let stderr = text(&again.stderr);
        assert_eq!(again.status.code(), Some(1), "{out}: {stderr}");
        assert!(
            stderr.contains("refusing to write a plan over it"),
            "{stderr}"
        );
    }
    // A report written over the journal or the plan is refused before anything is read.
    for report in ["plan.json.journal", "plan.json"] {
        let out = mailshift(dir.path(), &fast(&url, &["--report", report]));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{report}: {stderr}");
        assert!(stderr.contains("--report"), "{stderr}");
    }
    assert_eq!(
        std::fs::read(dir.path().join("plan.json")).unwrap(),
        plan_bytes
    );
    assert_eq!(
        std::fs::read(dir.path().join("plan.json.journal")).unwrap(),
        journal_bytes
    );

    // The plan file lost: the journal alone makes the rollback, which puts every account back.
    std::fs::remove_file(dir.path().join("plan.json")).unwrap();
    let rollback = mailshift(
        dir.path(),
        &[
            "rollback",
            "--journal",
            "plan.json.journal",
            "--out",
            "rollback.json",
            "--api-url",
            &url,
            "--org-id",
            "org-1",
        ],
    );
    assert_eq!(
        rollback.status.code(),
        Some(0),
        "{}",
        text(&rollback.stderr)
    );
    let mut args = fast(&url, &[]);
    args[1] = "rollback.json";
    let out = mailshift(dir.path(), &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(sim.emails(), before);
}
