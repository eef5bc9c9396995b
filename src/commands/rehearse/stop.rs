//! Ctrl-C during a rehearsal. `apply` stops itself cleanly at Ctrl-C (its journal says what was
//! under way); the rehearsal's other phases read the simulated org for minutes at 50,000
//! accounts and had no handler, so Ctrl-C ended the process with no word. This watcher says
//! where the rehearsal stopped and that nothing real was touched, except while `apply` runs,
//! which says so itself: there it hands each press on to `apply`, which may not be listening
//! yet (the system gives a press made while nobody listens to no one, and a rehearsal whose
//! Ctrl-C came as `apply` set out ran to the end).

use crate::terminal::say;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use tokio::sync::watch;

/// What the rehearsal is doing, for the words at Ctrl-C.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Phase {
    Planning = 0,
    Applying = 1,
    Verifying = 2,
}

impl Phase {
    fn of(n: u8) -> Phase {
        match n {
            0 => Phase::Planning,
            1 => Phase::Applying,
            _ => Phase::Verifying,
        }
    }

    fn doing(self) -> &'static str {
        match self {
            Phase::Planning => "planning against the simulated org",
            Phase::Applying => "applying",
            Phase::Verifying => "verifying",
        }
    }
}

/// Shared with the watcher: the phase the rehearsal is in, and the Ctrl-C presses it handed on
/// to `apply`.
#[derive(Clone)]
pub(super) struct Phases {
    phase: Arc<AtomicU8>,
    presses: Arc<watch::Sender<u32>>,
}

impl Phases {
    pub(super) fn set(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::SeqCst);
    }

    /// The presses handed on to `apply` from now on (`ApplyConfig::stops`).
    pub(super) fn presses(&self) -> watch::Receiver<u32> {
        self.presses.subscribe()
    }
}

/// Starts the watcher on `runtime` (the simulator's, which runs to the end of the rehearsal).
/// At Ctrl-C outside `apply` it says where the rehearsal stopped and exits 130.
pub(super) fn watch(runtime: &tokio::runtime::Runtime, dir: PathBuf) -> Phases {
    let phases = Phases {
        phase: Arc::new(AtomicU8::new(Phase::Planning as u8)),
        presses: Arc::new(watch::Sender::new(0)),
    };
    let seen = phases.clone();
    runtime.spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            let phase = Phase::of(seen.phase.load(Ordering::SeqCst));
            if phase == Phase::Applying {
                seen.presses.send_modify(|n| *n = n.wrapping_add(1));
                continue;
            }
            say!(
                "\nmailshift: rehearsal stopped at Ctrl-C while {}: nothing outside this machine was touched, and the files in {} are incomplete. Run it again to rehearse the whole migration (--seed repeats its faults).",
                phase.doing(),
                dir.display()
            );
            std::process::exit(130);
        }
    });
    phases
}
