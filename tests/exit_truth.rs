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
