//! Ctrl-C during a rehearsal. `apply` stops itself cleanly at Ctrl-C (its journal says what was
//! under way); the rehearsal's other phases read the simulated org for minutes at 50,000
//! accounts and had no handler, so Ctrl-C ended the process with no word. This watcher says
//! where the rehearsal stopped and that nothing real was touched, except while `apply` runs,
//! which says so itself.

use crate::terminal::say;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

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

/// Shared with the watcher: the phase the rehearsal is in.
#[derive(Clone)]
pub(super) struct Phases(Arc<AtomicU8>);

impl Phases {
    pub(super) fn set(&self, phase: Phase) {
        self.0.store(phase as u8, Ordering::SeqCst);
    }
}

/// Starts the watcher on `runtime` (the simulator's, which runs to the end of the rehearsal).
/// At Ctrl-C outside `apply` it says where the rehearsal stopped and exits 130.
pub(super) fn watch(runtime: &tokio::runtime::Runtime, dir: PathBuf) -> Phases {
    let phases = Phases(Arc::new(AtomicU8::new(Phase::Planning as u8)));
    let seen = phases.clone();
    runtime.spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            let phase = Phase::of(seen.0.load(Ordering::SeqCst));
            if phase == Phase::Applying {
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
