//! The first contact with a budget, measured: where answers carry no rate headers, a burst can
//! hide the limit until it is spent, and what the server accepted until then (the start's
//! doubling, a window of steady sending) says more of the burst than of the limit. Once it is
//! spent, the budget refuses a request only while it is empty, so between two 429s it accepted
//! exactly what it refilled: the answers (not 429) that came back between the contact's first
//! and last 429 measure its limit, whatever latency the requests met on their way.

use std::time::Duration;

/// A 429 that comes back this long after the contact's last one begins it afresh: the budget
/// may have refilled between (a lone 429 no header predicted, then a quiet spell), and what it
/// accepted then would measure the sending, not the limit.
const GAP: Duration = Duration::from_millis(250);
/// Fewer answers than this between the 429s measure nothing (a window spent refuses every
/// request until it starts afresh; a debt bucket refuses those that come early).
const FEWEST: u32 = 3;
/// The shortest span between the first and last 429 that measures anything.
const SHORTEST: Duration = Duration::from_millis(30);
/// Fewer answers than this between the 429s may be stragglers: a budget that charges for its
/// refusals (the simulator's) accepts only those that come once it has waited, and 4 of them
/// measured 0.2–0.4 of its limit. Good measures rested on 3–33 in the shapes' harness.
const FIRM: u32 = 8;

#[derive(Debug, Clone, Copy)]
pub(super) struct Contact {
    /// When the first and the last 429 of the contact came back.
    first: Duration,
    last: Duration,
    /// Answers (not 429) back since `first`, and as of `last`.
    since_first: u32,
    between: u32,
    /// When the pause began: 429s to requests sent from then on (the probe's) are not the
    /// contact's, and the contact ends when the probe is answered.
    cut: Option<Duration>,
}

impl Contact {
    /// The contact that a 429 back at `now` begins.
    pub(super) fn begin(now: Duration) -> Contact {
        Contact {
            first: now,
            last: now,
            since_first: 0,
            between: 0,
            cut: None,
        }
    }

    /// A 429 to a request sent at `sent_at`, back at `now`.
    pub(super) fn refused(&mut self, now: Duration, sent_at: Duration) {
        if self.cut.is_some_and(|cut| sent_at >= cut) {
            return;
        }
        if now.saturating_sub(self.last) > GAP {
            *self = Contact {
                cut: self.cut,
                ..Contact::begin(now)
            };
            return;
        }
        self.last = now;
        self.between = self.since_first;
    }

    /// An answer (not 429), back at or after `first`.
    pub(super) fn accepted(&mut self) {
        self.since_first = self.since_first.saturating_add(1);
    }

    /// The pause began at `now`: requests sent from then on are not the contact's.
    pub(super) fn cut(&mut self, now: Duration) {
        self.cut.get_or_insert(now);
    }

    /// The same contact on a clock that starts `by` later.
    pub(super) fn rebased(self, by: Duration) -> Contact {
        Contact {
            first: self.first.saturating_sub(by),
            last: self.last.saturating_sub(by),
            cut: self.cut.map(|t| t.saturating_sub(by)),
            ..self
        }
    }

    /// The measure rests on so few answers that they may be a charging budget's stragglers.
    pub(super) fn rests_on_few(&self) -> bool {
        self.between < FIRM
    }

    pub(super) fn is_cut(&self) -> bool {
        self.cut.is_some()
    }

    /// The limit the contact measured, in requests per second, if it measured one.
    pub(super) fn limit(&self) -> Option<f64> {
        let span = self.last.saturating_sub(self.first);
        (self.between >= FEWEST && span >= SHORTEST)
            .then(|| f64::from(self.between) / span.as_secs_f64())
    }
}

#[cfg(test)]
// The tests subtract constants from constants; the code above uses checked time arithmetic.
#[allow(clippy::unchecked_time_subtraction)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_answers_between_the_first_and_last_429_measure_the_limit() {
        // A budget of 100 a second, met by 200 a second: every other answer is a 429.
        let mut c = Contact::begin(Duration::from_secs(2));
        for i in 1..=20u32 {
            let now = Duration::from_secs(2) + 5 * MS * i;
            if i % 2 == 0 {
                c.refused(now, now - 100 * MS);
            } else {
                c.accepted();
            }
        }
        // Answers after the last 429 are not between.
        c.accepted();
        c.accepted();
        let limit = c.limit().unwrap_or_default();
        assert!((limit - 100.0).abs() < 1e-6, "{limit}");
    }

    #[test]
    fn too_few_answers_or_too_short_a_span_measure_nothing() {
        // A spent window: nothing accepted between its 429s.
        let mut spent = Contact::begin(Duration::ZERO);
        for i in 1..=20u32 {
            spent.refused(10 * MS * i, Duration::ZERO);
        }
        assert_eq!(spent.limit(), None);
        let mut short = Contact::begin(Duration::ZERO);
        for _ in 0..5 {
            short.accepted();
        }
        short.refused(20 * MS, Duration::ZERO);
        assert_eq!(short.limit(), None);
    }

    #[test]
    fn a_429_long_after_the_last_begins_afresh_and_the_probes_are_not_counted() {
        // A lone 429, a quiet second of answers, then the budget met: only the second counts.
        let mut c = Contact::begin(Duration::ZERO);
        for _ in 0..50 {
            c.accepted();
        }
        let met = Duration::from_secs(1);
        c.refused(met, met - 100 * MS);
        for i in 1..=10u32 {
            c.accepted();
            c.refused(met + 10 * MS * i, met);
        }
        let limit = c.limit().unwrap_or_default();
        assert!((limit - 100.0).abs() < 1e-6, "{limit}");
        // After the cut, the probe's 429 does not stretch the span.
        c.cut(met + 100 * MS);
        c.accepted();
        c.refused(met + 200 * MS, met + 150 * MS);
        assert!((c.limit().unwrap_or_default() - 100.0).abs() < 1e-6);
    }
}
