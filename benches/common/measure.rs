//! Running one command as a benchmark step: its wall time and its peak memory, which only
//! wait4 reports (`Child::wait` does not), and the median of several such figures.
#![allow(dead_code)]

use std::process::Command;
use std::time::Instant;

pub(crate) struct Measured {
    pub wall: f64,
    /// Seconds the kernel worked on the process's behalf: for `plan`, most of it goes to the
    /// memory it touches for the first time.
    pub sys: f64,
    pub peak_mib: f64,
    /// The exit code; `None` if a signal ended the process.
    pub code: Option<i32>,
}

/// Runs `command` (its standard streams as the caller set them) to its end.
pub(crate) fn measured(command: &mut Command) -> Measured {
    let start = Instant::now();
    // Reaped by wait4 below rather than Child::wait.
    #[allow(clippy::zombie_processes)]
    let child = command.spawn().expect("mailshift runs");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills in; pid is our child's.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &raw mut status, 0, &raw mut usage) };
    let wall = start.elapsed().as_secs_f64();
    assert_eq!(waited, pid, "wait4 failed");
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Measured {
        wall,
        sys: seconds(usage.ru_stime),
        peak_mib: usage.ru_maxrss as f64 / 1024.0,
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
    }
}

pub(crate) fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}
