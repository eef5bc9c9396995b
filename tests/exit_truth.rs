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
        let started = Instant::now();
        while sim.server.write_log().len() < writes_before + 10 {
            assert!(started.elapsed() < Duration::from_secs(60), "no write came");
            std::thread::sleep(Duration::from_millis(5));
        }
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
    // The journal as an older mailshift wrote it: runs without their API and org.
    let path = dir.path().join("plan.json.journal");
    let mut old = String::new();
    for line in std::fs::read_to_string(&path).unwrap().lines() {
        let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(o) = v.as_object_mut() {
            o.remove("api");
            o.remove("org");
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
    let started = Instant::now();
    while sim.server.write_log().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(60), "no write came");
        std::thread::sleep(Duration::from_millis(5));
    }
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
    let out = mailshift(
        dir.path(),
        &[
            "verify",
            "plan.json",
            "--api-url",
            &url,
            "--org-id",
            "org-1",
            "--all",
        ],
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
    let sim = serve(dir.path(), both_verified());
    let url = sim.url();
    // Permission reads at 40/s: about 4 s between the listing and the first write.
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
