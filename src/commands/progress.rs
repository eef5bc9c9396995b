//! The one owner of the terminal during `apply`: it receives the executor's events and draws
//! the progress bar (hidden when standard error is not a terminal). Nothing else prints while
//! a run is under way.

use crate::exec::run::Event;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashSet;
use std::io::IsTerminal;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;

/// Starts the consumer on its own thread; it ends when the executor drops its sender.
pub fn start(mut events: UnboundedReceiver<Event>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let on_terminal = std::io::stderr().is_terminal();
        let target = if on_terminal {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        if let Ok(style) =
            ProgressStyle::with_template("{bar:30} {pos}/{len} steps  {per_sec}  ETA {eta}  {msg}")
        {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(250));
        let mut view = View::default();
        while let Some(event) = events.blocking_recv() {
            match event {
                Event::Begin {
                    total,
                    finished_before,
                    to_check,
                    ..
                } => {
                    bar.set_length(total as u64);
                    bar.set_position(finished_before as u64);
                    bar.reset_eta();
                    view.checking = to_check.into_iter().collect();
                }
                Event::Done { step } => {
                    view.retrying.remove(&step);
                    view.checking.remove(&step);
                    bar.inc(1);
                }
                Event::Failed { step, .. } => {
                    view.retrying.remove(&step);
                    view.checking.remove(&step);
                    view.failed += 1;
                    bar.inc(1);
                }
                Event::Skipped { .. } => {
                    view.skipped += 1;
                    bar.inc(1);
                }
                Event::Retrying { step, .. } => {
                    view.retrying.insert(step);
                }
                Event::Pace {
                    rate,
                    paused_for,
                    told_by,
                } => {
                    view.pace = match paused_for {
                        Some(wait) => format!(
                            "paused {:.0}s after a 429 ({})",
                            wait.as_secs_f64().ceil(),
                            told_by.unwrap_or("backoff")
                        ),
                        None => format!("pacing at {rate:.1}/s"),
                    };
                }
                Event::SafetyStop(trip) => {
                    view.stopping = true;
                    bar.suspend(|| {
                        eprintln!(
                            "Safety stop: {trip}. No new steps; finishing the requests under way."
                        )
                    });
                }
                Event::Stopping => {
                    view.stopping = true;
                    // Said even without a bar, so that the operator knows the key press counted.
                    bar.suspend(|| {
                        eprintln!(
                            "Stopping: no new steps; finishing the requests under way. Ctrl-C again quits at once (the journal still resumes)."
                        )
                    });
                }
            }
            bar.set_message(view.message());
        }
        bar.finish_and_clear();
    })
}

#[derive(Default)]
struct View {
    failed: usize,
    skipped: usize,
    retrying: HashSet<u32>,
    checking: HashSet<u32>,
    pace: String,
    stopping: bool,
}

impl View {
    fn message(&self) -> String {
        let mut parts = Vec::new();
        if self.failed > 0 {
            parts.push(format!("failed {}", self.failed));
        }
        if self.skipped > 0 {
            parts.push(format!("skipped {}", self.skipped));
        }
        if !self.retrying.is_empty() {
            parts.push(format!("retrying {}", self.retrying.len()));
        }
        if !self.checking.is_empty() {
            parts.push(format!(
                "checking {} from the last run",
                self.checking.len()
            ));
        }
        if !self.pace.is_empty() {
            parts.push(self.pace.clone());
        }
        if self.stopping {
            parts.push("stopping".into());
        }
        parts.join(" · ")
    }
}
