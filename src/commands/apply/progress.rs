//! The one owner of the terminal during `apply`: it receives the executor's events and draws
//! the progress bar (hidden when standard error is not a terminal). Nothing else prints while
//! a run is under way.

use super::throughput::Throughput;
use crate::exec::run::Event;
use crate::plan::{Step, StepId};
use crate::terminal::{self, Verbosity};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashSet;
use std::io::IsTerminal;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedReceiver;

/// Starts the consumer on its own thread; it ends when the executor drops its sender. The bar
/// shows only on a terminal, and not with `--json` or `--quiet`; with `-v` every step's end and
/// every retry is also logged, one line each (never the key: events carry none).
pub(super) fn start(
    mut events: UnboundedReceiver<Event>,
    steps: Arc<[Step]>,
    json: bool,
) -> JoinHandle<()> {
    let level = terminal::level();
    let show_bar = !json && level > Verbosity::Quiet;
    let log = level == Verbosity::Verbose;
    std::thread::spawn(move || {
        let on_terminal = std::io::stderr().is_terminal();
        let target = if on_terminal && show_bar {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        if let Ok(style) =
            // Rate and time left are this run's own (`Throughput`), not indicatif's, which
            // would count the steps earlier runs finished as done in this run's time.
            ProgressStyle::with_template("{bar:30} {pos}/{len} steps  {msg}")
        {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(250));
        let mut view = View::default();
        let began = Instant::now();
        while let Some(event) = events.blocking_recv() {
            if log && let Some(line) = log_line(&event, &steps) {
                bar.suspend(|| crate::terminal::say!("{line}"));
            }
            match event {
                Event::Begin {
                    total,
                    finished_before,
                    to_check,
                    ..
                } => {
                    bar.set_length(total as u64);
                    bar.set_position(finished_before as u64);
                    view.throughput = Throughput::new(total, finished_before);
                    view.checking = to_check.into_iter().collect();
                }
                Event::Done { step } => {
                    view.retrying.remove(&step);
                    view.checking.remove(&step);
                    if view.ended.insert(step) {
                        bar.inc(1);
                        view.throughput.finished();
                    }
                }
                Event::Failed { step, ref message } => {
                    view.retrying.remove(&step);
                    view.checking.remove(&step);
                    view.failed += 1;
                    // A step found wrong by the re-read after its group was done has been
                    // counted once already.
                    if view.ended.insert(step) {
                        bar.inc(1);
                        view.throughput.finished();
                    } else if !log {
                        bar.suspend(|| {
                            crate::terminal::say!(
                                "step {step}: {}",
                                mailshift_core::inert::terminal(message)
                            );
                        });
                    }
                }
                Event::Skipped { .. } => {
                    view.skipped += 1;
                    bar.inc(1);
                    view.throughput.finished();
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
                        Some(wait) => {
                            let text = paused_until(wait, told_by);
                            // A long pause is said even without a bar, once.
                            if wait >= LONG_PAUSE
                                && !log
                                && level > Verbosity::Quiet
                                && view.said_pause != text
                            {
                                bar.suspend(|| {
                                    crate::terminal::say!(
                                        "{text}; Ctrl-C stops at once (the journal resumes)"
                                    );
                                });
                                view.said_pause = text.clone();
                            }
                            text
                        }
                        None => format!("pacing at {rate:.1}/s"),
                    };
                }
                Event::SafetyStop(trip) => {
                    view.stopping = true;
                    bar.suspend(|| {
                        crate::terminal::say!(
                            "Safety stop: {trip}. No new steps; finishing the requests under way."
                        );
                    });
                }
                Event::Stopping => {
                    view.stopping = true;
                    // Said even without a bar, so that the operator knows the key press counted.
                    bar.suspend(|| {
                        crate::terminal::say!(
                            "Stopping: no new steps; finishing the requests under way. Ctrl-C again quits at once (the journal still resumes)."
                        );
                    });
                }
            }
            bar.set_message(view.message(began.elapsed()));
        }
        bar.finish_and_clear();
    })
}

/// One `-v` line: when, which step, what happened.
fn log_line(event: &Event, steps: &[Step]) -> Option<String> {
    let step = |id: StepId| {
        steps
            .get(id.index())
            .map(|s| format!("step {id} {} {} -> {}", s.account_id, s.from, s.to))
    };
    let text = match event {
        Event::Done { step: id } => format!("{}: done", step(*id)?),
        Event::Failed { step: id, message } => format!("{}: failed: {message}", step(*id)?),
        Event::Skipped { step: id, because } => {
            format!("{}: skipped, step {because} did not succeed", step(*id)?)
        }
        Event::Retrying { step: id, why } => format!("{}: again: {why}", step(*id)?),
        Event::Pace {
            rate,
            paused_for: Some(wait),
            told_by,
        } => format!(
            "pace: {} for {:.1}s, then {rate:.1}/s",
            paused_until(*wait, *told_by),
            wait.as_secs_f64()
        ),
        Event::Pace { rate, .. } => format!("pace: {rate:.1}/s"),
        Event::Begin { .. } | Event::SafetyStop(_) | Event::Stopping => return None,
    };
    Some(format!("{} {text}", crate::exec::run::now_text()))
}

/// A pause this long is announced on its own line, bar or no bar.
const LONG_PAUSE: Duration = Duration::from_secs(5);

/// "paused until 10:01:05 UTC (Retry-After)".
fn paused_until(wait: Duration, told_by: Option<&'static str>) -> String {
    let clock = std::time::SystemTime::now()
        .checked_add(wait)
        .map(|t| humantime::format_rfc3339_seconds(t).to_string())
        .and_then(|t| t.get(11..19).map(str::to_owned))
        .unwrap_or_else(|| "much later".into());
    format!(
        "paused until {clock} UTC ({})",
        told_by.unwrap_or("backoff")
    )
}

#[derive(Default)]
struct View {
    /// Steps already counted on the bar.
    ended: HashSet<StepId>,
    /// The last long pause announced.
    said_pause: String,
    failed: usize,
    skipped: usize,
    retrying: HashSet<StepId>,
    checking: HashSet<StepId>,
    pace: String,
    stopping: bool,
    throughput: Throughput,
}

impl View {
    fn message(&self, elapsed: Duration) -> String {
        let mut parts = Vec::new();
        // Every step left is one being sent or read again: what is left is the wait for writes
        // whose outcome is uncertain to be read once they can no longer land, not "0s".
        let settling =
            !self.retrying.is_empty() && self.throughput.unfinished() <= self.retrying.len();
        let rate = self.throughput.text(elapsed);
        if settling {
            parts.push(format!(
                "settling {}: reading again, once they can no longer land, the writes whose outcome is uncertain",
                self.retrying.len()
            ));
        } else if !rate.is_empty() {
            parts.push(rate);
        }
        if self.failed > 0 {
            parts.push(format!("failed {}", self.failed));
        }
        if self.skipped > 0 {
            parts.push(format!("skipped {}", self.skipped));
        }
        if !self.retrying.is_empty() && !settling {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_of_a_run_says_settling_not_zero_seconds_left() {
        let mut view = View {
            throughput: Throughput::new(50, 0),
            ..View::default()
        };
        for _ in 0..47 {
            view.throughput.finished();
        }
        view.retrying.extend([StepId(1), StepId(2)]);
        let busy = view.message(Duration::from_secs(30));
        assert!(
            busy.contains("left") && busy.contains("retrying 2"),
            "{busy}"
        );
        view.retrying.insert(StepId(3));
        let settling = view.message(Duration::from_secs(30));
        assert!(settling.starts_with("settling 3: "), "{settling}");
        assert!(
            !settling.contains("left") && !settling.contains("retrying"),
            "{settling}"
        );
    }
}
