//! The safety stop: pure bookkeeping of how a run's steps end, which says when failures are too
//! many to go on (`--max-failures`, `--max-failure-rate`). Something systematically wrong — a key
//! without the right to change emails, a domain not verified — should stop a run after a handful
//! of failures, not after 50,000.

use std::collections::VecDeque;
use std::fmt;

/// The failure rate is measured over this many of the latest finished steps.
pub const WINDOW: u32 = 50;
/// Stop when more than this share of the window fails (so, by default, the 6th failure among
/// the first 50 steps, or among any 50 in a row).
pub const DEFAULT_MAX_RATE: f64 = 0.10;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Stop once this many steps have failed in the run.
    pub max_failures: Option<u32>,
    /// Stop once more than this share (0 to 1) of the last `window` finished steps failed;
    /// 1 never stops.
    pub max_rate: f64,
    pub window: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_failures: None,
            max_rate: DEFAULT_MAX_RATE,
            window: WINDOW,
        }
    }
}

/// Why the run stopped itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trip {
    /// `max` steps failed.
    Count { failed: u32, max: u32 },
    /// `failed` of the latest `finished` steps failed, more than `max_rate` of `window`.
    Rate {
        failed: u32,
        finished: u32,
        max_rate: f64,
        window: u32,
    },
}

impl fmt::Display for Trip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Trip::Count { failed, max } => {
                write!(f, "{failed} steps failed (--max-failures {max})")
            }
            Trip::Rate {
                failed,
                finished,
                max_rate,
                window,
            } => write!(
                f,
                "{failed} of the last {finished} finished steps failed, more than {}% of {window} (--max-failure-rate)",
                percent(max_rate)
            ),
        }
    }
}

fn percent(rate: f64) -> String {
    let p = rate * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{p:.0}")
    } else {
        format!("{p}")
    }
}

#[derive(Debug, Clone)]
pub struct Guard {
    limits: Limits,
    /// The latest finished steps, oldest first: true for a failure.
    recent: VecDeque<bool>,
    failed_recently: u32,
    failed: u32,
    tripped: bool,
}

impl Guard {
    pub fn new(limits: Limits) -> Guard {
        Guard {
            limits,
            recent: VecDeque::with_capacity(limits.window as usize + 1),
            failed_recently: 0,
            failed: 0,
            tripped: false,
        }
    }

    /// Takes in how one step ended; says the first time the limits are passed.
    pub fn record(&mut self, failed: bool) -> Option<Trip> {
        self.recent.push_back(failed);
        if failed {
            self.failed += 1;
            self.failed_recently += 1;
        }
        if self.recent.len() > self.limits.window as usize && self.recent.pop_front() == Some(true)
        {
            self.failed_recently -= 1;
        }
        if self.tripped || !failed {
            return None;
        }
        let trip = match self.limits.max_failures {
            Some(max) if self.failed >= max => Some(Trip::Count {
                failed: self.failed,
                max,
            }),
            _ if f64::from(self.failed_recently)
                > self.limits.max_rate * f64::from(self.limits.window) =>
            {
                Some(Trip::Rate {
                    failed: self.failed_recently,
                    finished: self.recent.len() as u32,
                    max_rate: self.limits.max_rate,
                    window: self.limits.window,
                })
            }
            _ => None,
        };
        self.tripped = trip.is_some();
        trip
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds outcomes ('x' failed, '.' done); returns the position (1-based) of the trip.
    fn trips_at(limits: Limits, outcomes: &str) -> Option<(usize, Trip)> {
        let mut g = Guard::new(limits);
        let mut first = None;
        for (i, c) in outcomes.chars().enumerate() {
            if let Some(t) = g.record(c == 'x') {
                assert!(first.is_none(), "a guard trips once");
                first = Some((i + 1, t));
            }
        }
        first
    }

    #[test]
    fn by_default_the_sixth_failure_among_fifty_stops_the_run() {
        let (at, trip) = trips_at(Limits::default(), "xxxxxx").unwrap();
        assert_eq!(at, 6);
        assert_eq!(
            trip.to_string(),
            "6 of the last 6 finished steps failed, more than 10% of 50 (--max-failure-rate)"
        );
        // Five failures spread among successes are tolerated.
        let mixed = ".x.........x.........x.........x.........x........";
        assert_eq!(trips_at(Limits::default(), mixed), None);
    }

    #[test]
    fn old_failures_leave_the_window() {
        // Five failures, fifty successes, five more failures: never six in any fifty.
        let outcomes = format!("xxxxx{}xxxxx", ".".repeat(50));
        assert_eq!(trips_at(Limits::default(), &outcomes), None);
        let outcomes = format!("xxxxx{}x", ".".repeat(44));
        let (at, _) = trips_at(Limits::default(), &outcomes).unwrap();
        assert_eq!(at, 50, "the new failure makes six in fifty");
    }

    #[test]
    fn a_count_limit_stops_at_that_many_failures() {
        let limits = Limits {
            max_failures: Some(3),
            max_rate: 1.0,
            ..Limits::default()
        };
        let (at, trip) = trips_at(limits, "..x..x....x").unwrap();
        assert_eq!(at, 11);
        assert_eq!(trip, Trip::Count { failed: 3, max: 3 });
    }

    #[test]
    fn a_rate_of_one_never_stops_and_zero_stops_at_the_first_failure() {
        let never = Limits {
            max_rate: 1.0,
            ..Limits::default()
        };
        assert_eq!(trips_at(never, &"x".repeat(200)), None);
        let zero = Limits {
            max_rate: 0.0,
            ..Limits::default()
        };
        assert_eq!(trips_at(zero, "...x").map(|(at, _)| at), Some(4));
    }
}
