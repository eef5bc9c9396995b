//! What a person at a terminal sees, against what a pipe gets: on a pseudo-terminal `apply` asks
//! before the first change and draws a progress bar, and "error:" is coloured unless `NO_COLOR`
//! is set; piped, there is no prompt, no bar and no colour.

#![cfg(unix)]

mod support;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use support::*;

/// A pseudo-terminal pair: the side the test reads and types on, and the side the child gets.
fn pty() -> (File, OwnedFd) {
    let (mut leader, mut follower) = (0, 0);
    let size = libc::winsize {
        ws_row: 40,
        ws_col: 160,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two new descriptors into the given integers.
    let rc = unsafe {
        libc::openpty(
            &raw mut leader,
            &raw mut follower,
            std::ptr::null_mut(),
            std::ptr::null(),
            &raw const size,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and are owned by nobody else.
    unsafe { (File::from_raw_fd(leader), OwnedFd::from_raw_fd(follower)) }
}

/// Starts mailshift with standard input, output and error on the terminal.
fn on_terminal(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> (Child, File) {
    let (leader, follower) = pty();
    let mut command = command(dir, args);
    command.env_remove("NO_COLOR");
    for (k, v) in env {
        command.env(k, v);
    }
    let child = command
        .stdin(Stdio::from(follower.try_clone().unwrap()))
        .stdout(Stdio::from(follower.try_clone().unwrap()))
        .stderr(Stdio::from(follower))
        .spawn()
        .unwrap();
    (child, leader)
}

/// Reads what the terminal shows until `until` appears in it or the child ends.
fn read_until(terminal: &mut File, seen: &mut String, until: &str, deadline: Duration) {
    let started = Instant::now();
    // Non-blocking reads, so that a child that never prints cannot hang the test.
    // SAFETY: fcntl on a descriptor this test owns.
    unsafe {
        let fd = terminal.as_raw_fd();
        libc::fcntl(
            fd,
            libc::F_SETFL,
            libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK,
        );
    }
    let mut buf = [0u8; 4096];
    while !seen.contains(until) && started.elapsed() < deadline {
        match terminal.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
            }
            // EIO: the child closed its side.
            Err(_) => break,
        }
    }
}

/// What the terminal shows until `apply` asks for "yes".
fn until_the_prompt(terminal: &mut File) -> String {
    let mut seen = String::new();
    read_until(
        terminal,
        &mut seen,
        "Type yes to go on: ",
        Duration::from_secs(20),
    );
    seen
}

fn org(dir: &std::path::Path) -> Sim {
    let (accounts, targets) = generated_org(Shapes::renames(40));
    plan_in(dir, &accounts, &targets);
    serve(
        dir,
        SimSetup {
            verified: vec!["old.example".into(), "new.example".into()],
            ..SimSetup::default()
        },
    )
}

/// `apply` without `--yes`: 40 steps at 10 a second, long enough for the bar to be drawn a few
/// times.
fn apply(url: &str) -> [&str; 9] {
    [
        "apply",
        "plan.json",
        "--api-url",
        url,
        "--org-id",
        "org-1",
        "--rate",
        "10",
        "--no-permission-check",
    ]
}

/// `apply` started on a terminal against a fresh org, read up to its prompt: the org's
/// directory, its server, the child, the terminal and what it showed so far.
struct AtThePrompt {
    dir: tempfile::TempDir,
    sim: Sim,
    child: Child,
    terminal: File,
    seen: String,
}

fn at_the_prompt() -> AtThePrompt {
    let dir = tempfile::tempdir().unwrap();
    let sim = org(dir.path());
    let url = sim.url();
    let (child, mut terminal) = on_terminal(dir.path(), &apply(&url), &[]);
    let seen = until_the_prompt(&mut terminal);
    assert!(seen.contains("Type yes to go on: "), "no prompt: {seen}");
    AtThePrompt {
        dir,
        sim,
        child,
        terminal,
        seen,
    }
}

#[test]
fn on_a_terminal_apply_asks_first_and_draws_a_bar() {
    let AtThePrompt {
        dir: _dir,
        sim: _sim,
        mut child,
        mut terminal,
        mut seen,
    } = at_the_prompt();
    assert!(
        seen.contains("About to apply plan.json (40 steps"),
        "{seen}"
    );
    terminal.write_all(b"yes\n").unwrap();
    read_until(&mut terminal, &mut seen, "done  ", Duration::from_secs(30));
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{seen}");
    // The bar's own text: position, length and the word "steps", redrawn in place.
    assert!(
        seen.contains("/40 steps"),
        "no progress bar on the terminal: {seen}"
    );
}

/// Ctrl-C at the prompt is a "no", whatever listened for it before: the permission reads
/// before the prompt listen for Ctrl-C, and the system's handler they leave in place used to
/// swallow a press at the prompt, which then went on waiting for "yes".
#[test]
fn ctrl_c_at_the_prompt_ends_the_run_before_anything_is_sent() {
    for permission_reads in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let sim = org(dir.path());
        let url = sim.url();
        // Without `--no-permission-check`, the permission reads run and listen for Ctrl-C.
        let args = apply(&url);
        let args = if permission_reads {
            &args[..8]
        } else {
            &args[..]
        };
        let (mut child, mut terminal) = on_terminal(dir.path(), args, &[]);
        let mut seen = until_the_prompt(&mut terminal);
        assert!(seen.contains("Type yes to go on: "), "no prompt: {seen}");
        let pid = libc::pid_t::try_from(child.id()).unwrap();
        // SAFETY: a signal to the child this test started and has not yet waited for.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if started.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        read_until(
            &mut terminal,
            &mut seen,
            "nothing was changed",
            Duration::from_secs(2),
        );
        let status = status.unwrap_or_else(|| {
            panic!("still at the prompt 10 s after Ctrl-C ({permission_reads}): {seen}")
        });
        assert_eq!(status.code(), Some(130), "{seen}");
        assert!(seen.contains("Ctrl-C at the prompt"), "{seen}");
        assert!(seen.contains("nothing was changed"), "{seen}");
        assert!(sim.server.write_log().is_empty());
        assert!(!dir.path().join("plan.json.journal").exists());
    }
}

/// An answer that cannot be read is said as such, not as a "no": bytes that are not UTF-8 make
/// reading the line fail, and the run used to end with "not confirmed", as if someone had
/// typed "no".
#[test]
fn an_answer_that_cannot_be_read_is_said_and_nothing_is_sent() {
    let AtThePrompt {
        dir,
        sim,
        mut child,
        mut terminal,
        mut seen,
    } = at_the_prompt();
    terminal.write_all(b"y\xffes\n").unwrap();
    read_until(
        &mut terminal,
        &mut seen,
        "nothing was changed",
        Duration::from_secs(10),
    );
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{seen}");
    assert!(
        seen.contains("cannot read the answer at the prompt"),
        "{seen}"
    );
    assert!(!seen.contains("not confirmed"), "{seen}");
    assert!(sim.server.write_log().is_empty());
    assert!(!dir.path().join("plan.json.journal").exists());
}

#[test]
fn piped_apply_neither_asks_nor_draws() {
    let dir = tempfile::tempdir().unwrap();
    let sim = org(dir.path());
    let url = sim.url();
    let args = apply(&url);
    // Without --yes, nobody can answer: refused before anything is sent.
    let refused = mailshift(dir.path(), &args);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("standard input is not a terminal"),
        "{stderr}"
    );
    assert!(!stderr.contains("Type yes"), "{stderr}");
    assert!(!dir.path().join("plan.json.journal").exists());

    let out = mailshift(dir.path(), &[&args[..], &["--yes"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let all = text(&out.stderr) + &text(&out.stdout);
    assert!(!all.contains("/40 steps"), "a bar in a pipe: {all}");
    assert!(!all.contains("Type yes"), "{all}");
    assert!(!all.contains('\u{1b}'), "escape codes in a pipe: {all:?}");
}

#[test]
fn errors_are_coloured_on_a_terminal_unless_no_color() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "plan",
        "--accounts",
        "missing.csv",
        "--targets",
        "missing.csv",
    ];
    let (mut child, mut terminal) = on_terminal(dir.path(), &args, &[]);
    let mut coloured = String::new();
    read_until(
        &mut terminal,
        &mut coloured,
        "No such file",
        Duration::from_secs(10),
    );
    assert_eq!(child.wait().unwrap().code(), Some(1));
    assert!(
        coloured.contains("\u{1b}[") && coloured.contains("error:"),
        "{coloured:?}"
    );

    let (mut child, mut terminal) = on_terminal(dir.path(), &args, &[("NO_COLOR", "1")]);
    let mut plain = String::new();
    read_until(
        &mut terminal,
        &mut plain,
        "No such file",
        Duration::from_secs(10),
    );
    assert_eq!(child.wait().unwrap().code(), Some(1));
    assert!(plain.contains("mailshift: error: missing.csv"), "{plain:?}");
    assert!(!plain.contains('\u{1b}'), "NO_COLOR, yet: {plain:?}");
}
