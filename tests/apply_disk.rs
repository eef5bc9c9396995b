//! The journal's disk fills up in the middle of a run: no write reaches the API without its
//! intent on disk, the run stops at once with a message that says what to do, and the same
//! command completes the plan once there is room again.
//!
//! "Full" is made with the kernel's file-size limit (`RLIMIT_FSIZE`, with `SIGXFSZ` ignored, as
//! `ulimit -f` does), which fails `write(2)` exactly as a full disk does, without root or a
//! special file system.
#![cfg(unix)]

mod support;

use mailshift::journal::{self, Record, StepState};
use std::collections::{HashMap, HashSet};
use std::os::unix::process::CommandExt;
use support::*;

#[test]
fn a_full_disk_stops_the_run_before_any_unjournaled_write_and_resuming_completes_it() {
    // Room for the header and a few dozen steps' records, then nothing. Several sizes, so that
    // the record that finds the disk full is sometimes an intent and sometimes an outcome.
    for room in (2_500..6_000).step_by(300) {
        fill_then_resume(room);
    }
}

fn fill_then_resume(room: u64) {
    let dir = tempfile::tempdir().unwrap();
    let (accounts, targets) = generated_org(Shapes {
        renames: 300,
        frees: 20,
        chains: 10,
        swaps: 10,
        cycles: 5,
    });
    let plan_path = plan_in(dir.path(), &accounts, &targets);
    let plan = read_plan(&plan_path);
    let steps = plan.steps.len() as u32;
    let before = emails_in(&accounts);
    let sim = serve(dir.path(), SimSetup::default());
    let url = sim.url();
    let args = fast(&url, &["--concurrency", "8", "--no-permission-check"]);
    let journal_path = dir.path().join("plan.json.journal");

    let mut full = command(dir.path(), &args);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        full.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit {
                rlim_cur: room,
                rlim_max: room,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = full.output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("plan.json.journal: cannot write the journal: File too large")
            && stderr.contains("no further changes are sent")
            && stderr.contains("run the same command again to resume"),
        "{stderr}"
    );

    // What the disk holds is all there is: every write the API saw has its intent there.
    let on_disk = journal::read(&journal_path).unwrap();
    assert!(std::fs::metadata(&journal_path).unwrap().len() <= room);
    let by_write: HashMap<(String, String), u32> = plan
        .steps
        .iter()
        .map(|s| ((s.account_id.to_string(), s.to.to_lowercase()), s.id))
        .collect();
    let mut intents: HashMap<u32, usize> = HashMap::new();
    for r in &on_disk.records {
        if let Record::Intent { step, .. } = r {
            *intents.entry(*step).or_default() += 1;
        }
    }
    let log = sim.server.write_log();
    assert!(
        !log.is_empty(),
        "the run wrote nothing before the disk filled"
    );
    assert!(
        log.len() < steps as usize,
        "the run went on after the journal failed: {} writes for {steps} steps",
        log.len()
    );
    let mut sent: HashMap<u32, usize> = HashMap::new();
    for w in &log {
        let step = by_write[&(w.account_id.clone(), w.email.to_lowercase())];
        *sent.entry(step).or_default() += 1;
    }
    for (step, n) in &sent {
        let recorded = intents.get(step).copied().unwrap_or(0);
        assert!(
            *n <= recorded,
            "step {step} was sent {n} times with {recorded} intents on disk"
        );
    }
    let confirmed = done_steps(&journal_path, steps, &on_disk.records);
    let seen = log.len();

    // Room again: the same command finishes the plan and sends nothing confirmed twice.
    let out = mailshift(dir.path(), &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(sim.emails(), planned(&plan, &before));
    for w in &sim.server.write_log()[seen..] {
        let step = by_write[&(w.account_id.clone(), w.email.to_lowercase())];
        assert!(
            !confirmed.contains(&step),
            "step {step} was confirmed before the disk filled and sent again"
        );
    }
    let after = journal::read(&journal_path).unwrap();
    assert_eq!(
        done_steps(&journal_path, steps, &after.records).len(),
        steps as usize
    );
}

fn done_steps(path: &std::path::Path, steps: u32, records: &[Record]) -> HashSet<u32> {
    journal::replay(path, steps, records, false)
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s, StepState::Done { .. }))
        .map(|(i, _)| i as u32 + 1)
        .collect()
}

#[test]
fn a_journal_that_cannot_be_created_stops_apply_before_any_write() {
    let dir = tempfile::tempdir().unwrap();
    let (accounts, targets) = generated_org(Shapes::renames(5));
    plan_in(dir.path(), &accounts, &targets);
    let sim = serve(dir.path(), both_verified());
    let url = sim.url();
    // A directory that cannot be made: its parent is a file (root ignores permission bits, so
    // a read-only directory would not stop it).
    std::fs::write(dir.path().join("not-a-dir"), "").unwrap();
    let out = mailshift(
        dir.path(),
        &fast(&url, &["--journal", "not-a-dir/plan.journal"]),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("not-a-dir/plan.journal: cannot open the journal: Not a directory"),
        "{stderr}"
    );
    assert!(sim.server.write_log().is_empty());
}
