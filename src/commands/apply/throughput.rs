//! The rate and time left that `apply`'s progress bar shows, counting this run's work only: after
//! a resume the steps finished by earlier runs are on the bar but took none of this run's time.
//! Pure: the time since the run began is passed in.

use std::time::Duration;

/// Below this much of the run, a rate says more about the first answer's latency than about
/// the pace, so none is shown.
const WARM_UP: Duration = Duration::from_secs(2);

/// This run's progress: the steps finished before it began, and those finished since.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Throughput {
    total: usize,
    before: usize,
    this_run: usize,
}

impl Throughput {
    pub(super) fn new(total: usize, finished_before: usize) -> Throughput {
        Throughput {
            total,
            before: finished_before.min(total),
            this_run: 0,
        }
    }

    /// One more step finished (done, failed or skipped) by this run.
    pub(super) fn finished(&mut self) {
        self.this_run += 1;
    }

    /// Steps not finished yet, by any run.
    pub(super) fn unfinished(&self) -> usize {
        self.total.saturating_sub(self.before + self.this_run)
    }

    /// Steps per second this run has finished, `elapsed` into it; `None` while too early to say.
    pub(super) fn rate(&self, elapsed: Duration) -> Option<f64> {
        if elapsed < WARM_UP || self.this_run == 0 {
            return None;
        }
        Some(self.this_run as f64 / elapsed.as_secs_f64())
    }

    /// The time the steps left need at this run's rate.
    pub(super) fn left(&self, elapsed: Duration) -> Option<Duration> {
        let left = self.total.saturating_sub(self.before + self.this_run);
        let rate = self.rate(elapsed)?;
        Duration::try_from_secs_f64(left as f64 / rate).ok()
    }

    /// "9.4 steps/s · 7m 40s left", or nothing while too early to say.
    pub(super) fn text(&self, elapsed: Duration) -> String {
        match (self.rate(elapsed), self.left(elapsed)) {
            (Some(rate), Some(left)) => format!(
                "{rate:.1} steps/s · {} left",
                humantime::format_duration(Duration::from_secs(left.as_secs()))
            ),
            _ => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_a_resume_only_this_runs_steps_make_the_rate() {
        // The report that came with the issue: 625 of 4,982 steps finished, this run sends
        // 9.45 a second. Earlier runs' 550 steps must not count as this run's.
        let mut t = Throughput::new(4982, 550);
        for _ in 0..75 {
            t.finished();
        }
        let elapsed = Duration::from_secs_f64(75.0 / 9.45);
        let rate = t.rate(elapsed).unwrap();
        assert!((rate - 9.45).abs() < 1e-9, "{rate}");
        // (4982 - 625) / 9.45 s = 461 s, about 7.7 minutes.
        assert_eq!(t.left(elapsed).unwrap().as_secs(), 461);
        assert_eq!(t.text(elapsed), "9.4 steps/s · 7m 41s left");
    }

    #[test]
    fn nothing_is_claimed_before_the_run_has_a_rate() {
        let mut t = Throughput::new(10, 4);
        assert_eq!(t.text(Duration::from_secs(30)), "");
        t.finished();
        assert_eq!(t.rate(Duration::from_secs(1)), None);
        assert_eq!(t.rate(Duration::from_secs(5)), Some(0.2));
        for _ in 0..5 {
            t.finished();
        }
        assert_eq!(t.left(Duration::from_secs(5)), Some(Duration::ZERO));
    }
}
