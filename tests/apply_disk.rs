//! The journal's disk fills up in the middle of a run: no write reaches the API without its
//! intent on disk, the run stops at once with a message that says what to do, and the same
//! command completes the plan once there is room again.
//!
//! "Full" is made with the kernel's file-size limit (`RLIMIT_FSIZE`, with `SIGXFSZ` ignored, as
//! `ulimit -f` does), which fails `write(2)` exactly as a full disk does, without root or a
//! special file system.
#![cfg(unix)]

mod support;

use std::os::unix::process::CommandExt;
use support::*;

#[test]
fn a_full_disk_stops_the_run_before_any_unjournaled_write_and_resuming_completes_it() {
    // Room for the header and a few dozen steps' records, then nothing. Several sizes, so that
    // the record that finds the disk full is sometimes an intent and sometimes an outcome.
    for room in (2_500..6_000).step_by(300) {
        fill_then_resume(room, true);
    }
}

/// Without the caller ignoring `SIGXFSZ` (a plain `ulimit -f` in a script), the signal would
/// kill the run without a word; mailshift ignores it, so the journal's error speaks.
#[test]
fn a_file_size_limit_kills_nothing_and_the_journal_error_speaks() {
    fill_then_resume(3_100, false);
}

fn fill_then_resume(room: u64, ignore_signal: bool) {
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
    let args = fast(
        &url,
        &[
            "--concurrency",
            "8",
            "--timeout",
            "2",
            "--no-permission-check",
        ],
    );
    let journal_path = dir.path().join("plan.json.journal");

    let mut full = command(dir.path(), &args);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        full.pre_exec(move || {
            let disposition = if ignore_signal {
                libc::SIG_IGN
            } else {
                libc::SIG_DFL
            };
            libc::signal(libc::SIGXFSZ, disposition);
            let limit = libc::rlimit {
                rlim_cur: room,
                rlim_max: room,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &raw const limit) != 0 {
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
    assert!(std::fs::metadata(&journal_path).unwrap().len() <= room);
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
    assert_every_write_journaled(&plan, &log, &journal_path);
    let confirmed = confirmed_steps(&journal_path, steps);
    let seen = log.len();

    // Room again: the same command finishes the plan and sends nothing confirmed twice.
    let out = mailshift(dir.path(), &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(sim.emails(), planned(&plan, &before));
    let by_write = steps_by_write(&plan);
    for w in &sim.server.write_log()[seen..] {
        let step = step_of(&by_write, w);
        assert!(
            step.is_some_and(|s| !confirmed.contains(&s)),
            "{w:?} was confirmed before the disk filled and sent again"
        );
    }
    assert_eq!(confirmed_steps(&journal_path, steps).len(), steps as usize);
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
