//! The pace's mechanism: when a request may go, given a rate. Slots `1/rate` apart, a pause
//! after a burst of 429s, and the probe that goes alone after it. It knows nothing of how the
//! rate is chosen (`learn`); the `Pacer` hands it the rate at each booking and the depth of
//! each pause.

use super::Holding;
use std::collections::VecDeque;
use std::time::Duration;

/// Slots a late caller may still use: about one timer tick.
const SLACK: Duration = Duration::from_millis(2);
/// The longest pause that no header asked for.
const LONGEST: Duration = Duration::from_secs(30);
/// How long what went out is remembered.
const KEPT: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
pub(super) struct Slots {
    /// The next send slot.
    next: Duration,
    paused_until: Duration,
    told_by: Option<&'static str>,
    probe: Probe,
    /// When the requests of the last `KEPT` were sent: what went out, which concurrency or a
    /// slow server may hold below the rate.
    sent: VecDeque<Duration>,
}

/// After a pause, one request goes alone.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Probe {
    Off,
    /// The next request is the probe.
    Due,
    /// The probe was sent at this instant and is not answered yet.
    Out(Duration),
}

impl Slots {
    pub(super) fn new() -> Slots {
        Slots {
            next: Duration::ZERO,
            paused_until: Duration::ZERO,
            told_by: None,
            probe: Probe::Off,
            sent: VecDeque::new(),
        }
    }

    pub(super) fn rebased(mut self, by: Duration) -> Slots {
        let back = |t: Duration| t.saturating_sub(by);
        self.next = back(self.next);
        self.paused_until = back(self.paused_until);
        self.sent = self.sent.iter().map(|&t| back(t)).collect();
        if let Probe::Out(at) = self.probe {
            self.probe = Probe::Out(back(at));
        }
        self
    }

    /// The first instant at or after `now` at which a request may go, without booking it;
    /// `Duration::MAX` while a probe is out (its answer decides).
    pub(super) fn ready_at(&self, now: Duration) -> Duration {
        if matches!(self.probe, Probe::Out(_)) {
            return Duration::MAX;
        }
        now.max(self.next).max(self.paused_until)
    }

    /// Books the slot of a request that goes at `now` (no sooner than `ready_at`) at `rate`. A
    /// caller that comes late (a timer's tick) keeps up to `SLACK` of the slots it missed, so
    /// that a fast ceiling is not lost to timer granularity; over any second the ceiling holds.
    pub(super) fn book(&mut self, now: Duration, rate: f64) {
        let at = now
            .saturating_sub(SLACK)
            .max(self.next)
            .max(self.paused_until);
        self.next = at.saturating_add(Duration::from_secs_f64(1.0 / rate));
        self.sent.push_back(at);
        while self
            .sent
            .front()
            .is_some_and(|&t| at.saturating_sub(t) > KEPT)
        {
            self.sent.pop_front();
        }
        if self.probe == Probe::Due {
            self.probe = Probe::Out(at);
        }
    }

    pub(super) fn holding(&self, now: Duration) -> Holding {
        if now < self.paused_until {
            Holding::Paused {
                told_by: self.told_by,
            }
        } else {
            Holding::Pacing
        }
    }

    pub(super) fn paused_until(&self) -> Duration {
        self.paused_until
    }

    /// Whether the answer to a request sent at `sent_at` is the probe's.
    pub(super) fn is_probe_answer(&self, sent_at: Duration) -> bool {
        matches!(self.probe, Probe::Out(at) if sent_at >= at)
    }

    /// Pauses everyone after a burst of 429s, the `strikes`-th in a row, at `rate`: the
    /// shortest pause that can help (two slots at the rate), eight times as long with each 429
    /// in a row (a budget still spent is believed sooner), never longer than the server asked
    /// (`wait`); then one request goes alone.
    pub(super) fn pause(
        &mut self,
        now: Duration,
        rate: f64,
        strikes: u32,
        wait: Option<Duration>,
        told_by: Option<&'static str>,
    ) {
        let base = Duration::from_secs_f64(2.0 / rate).max(Duration::from_millis(10));
        let growing = base
            .saturating_mul(8u32.saturating_pow(strikes.saturating_sub(1).min(10)))
            .min(LONGEST);
        let pause = match wait {
            Some(w) => growing.min(w),
            None => growing,
        };
        let until = now.saturating_add(pause);
        if until > self.paused_until {
            self.paused_until = until;
            self.told_by = told_by;
        }
        self.probe = Probe::Due;
    }

    /// A request got no usable answer: a probe that meets it is over.
    pub(super) fn lost(&mut self, probe_answer: bool) {
        if probe_answer {
            self.probe = Probe::Off;
        }
    }

    /// A request was answered (not 429): the probe's answer (or, with the probe still due, an
    /// answer to a request sent since the pause) opens up again. Whether it did.
    pub(super) fn answered(
        &mut self,
        sent_at: Duration,
        probe_answer: bool,
        paused_at: Duration,
    ) -> bool {
        let opens = probe_answer || self.probe == Probe::Due && sent_at >= paused_at;
        if opens {
            self.probe = Probe::Off;
        }
        opens
    }

    /// Requests per second sent over the last `span` (at most `KEPT`).
    pub(super) fn sent_since(&self, now: Duration, span: Duration) -> f64 {
        super::per_second(&self.sent, now, span)
    }
}
