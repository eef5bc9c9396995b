//! The key's one pace as the reads keep it: each read waits for its slot, first come first
//! served, and what every answer teaches goes to the pace that `apply` takes over.

use super::reader::Reader;
use mailshift_core::exec::pace::{Pacer, Signal};
use std::sync::MutexGuard;
use std::time::{Duration, Instant};

impl Reader {
    /// The pace as the reads have left it, with its clock starting now: for the executor.
    pub fn pace(&self) -> Pacer {
        self.pacer().clone().rebased(self.start.elapsed())
    }

    /// Starts the key's pace at a rate an earlier run learnt, under `ceiling`, before the first
    /// read.
    pub fn start_at(&self, ceiling: f64, learnt: f64) {
        *self.pacer() = Pacer::starting(ceiling, Some(learnt));
    }

    fn pacer(&self) -> MutexGuard<'_, Pacer> {
        self.pace
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits for this read's slot in the key's pace.
    pub(super) async fn turn(&self) {
        let _first_come = self.queue.lock().await;
        loop {
            let now = self.start.elapsed();
            let at = {
                let mut pacer = self.pacer();
                let at = pacer.ready_at(now);
                if at <= now {
                    pacer.book(now);
                    return;
                }
                at
            };
            // While a probe is out (`at` is then `MAX`) another read's answer decides: look
            // again soon.
            let at = if at == Duration::MAX {
                now + Duration::from_millis(20)
            } else {
                at
            };
            let until = self.start.checked_add(at).unwrap_or_else(Instant::now);
            tokio::time::sleep_until(until.into()).await;
        }
    }

    pub(super) fn hear(&self, sent_at: Duration, heard: Option<Signal>) {
        if let Some(signal) = heard {
            self.pacer().observe(self.start.elapsed(), sent_at, signal);
        }
    }
}
