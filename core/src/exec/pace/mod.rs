//! The pace of requests for one API key, learnt from the server: pure, with time passed in as
//! the time since the run started. Every request of the key in a process goes through one
//! `Pacer` (pre-flight's reads hand theirs to the run), so two pacers never fight over one
//! budget. It never sends faster than the ceiling (`--rate`), and does not start there: it
//! starts at a rate an earlier run learnt, or low (`START`), doubling while answers come until
//! the first 429s halve what went out; then
//! - on a lone 429 (fewer than five in 2 s, or under 2% of the answers, and not right after
//!   another 429) nudges the rate down half a percent, with no pause;
//! - on the first 429 of a burst cuts the rate once: to just under what the server accepted over
//!   the last 2 s if requests went at the pace, unpaused, for all of them (a measure of its
//!   limit), else by a fifth (at the start or just after a pause nothing was measured); and
//!   pauses everyone briefly: the shortest wait that can help, growing while 429s go on, never
//!   longer than the server's `Retry-After` or `X-RateLimit-Reset` (whole seconds and
//!   minute-precision resets are often far longer than the budget needs);
//! - after a pause sends one request alone, a probe, and opens up again only once it is
//!   answered without a 429, so that a budget still spent costs one 429, not a herd of them;
//! - while 429s stay away, climbs back quickly to just under the limit learnt (halfway to where
//!   an unmeasured cut began), then creeps (0.3% a second; past the rate of the last cut, faster
//!   the longer the calm, for a limit that has risen), and where
//!   answers carry `X-RateLimit-Remaining`, only while that is not near zero.
//!
//! `exec::shapes` holds it to the server's limit on token buckets of every burst and on fixed
//! windows, with and without headers.

use crate::api::{Got, RateInfo};
use std::collections::VecDeque;
use std::time::Duration;

/// Why requests are being held back, for the progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holding {
    /// Sending at the learnt rate.
    Pacing,
    /// Paused after a 429, as the named header asked (or by backoff).
    Paused { told_by: Option<&'static str> },
}

#[derive(Debug, Clone)]
pub struct Pacer {
    ceiling: f64,
    floor: f64,
    rate: f64,
    /// The next send slot.
    next: Duration,
    paused_until: Duration,
    told_by: Option<&'static str>,
    /// 429s to requests sent before this instant belong to a burst already acted on.
    last_cut: Duration,
    last_change: Duration,
    /// 429s in a row without a success, for the doubling pause.
    strikes: u32,
    /// When the requests of the last `WINDOW` were answered (not 429), for the rate the server
    /// accepts.
    answered: VecDeque<Duration>,
    probe: Probe,
    /// The last `X-RateLimit-Remaining` ÷ `X-RateLimit-Limit`, if answers carry them.
    left: Option<f64>,
    /// What the server accepted when the rate was last cut: the best guess of its limit, which
    /// the rate climbs back to quickly after a deeper cut.
    known: Option<f64>,
    /// Recent answers, 429 or not, for the share of 429s.
    recent: VecDeque<(Duration, bool)>,
    /// Since when it has been calm: the creep speeds up the longer it is. A cut starts the calm
    /// afresh; a lone 429 takes a second off it (429s no header predicted must not hold the
    /// creep down for good).
    calm_since: Duration,
    /// Answers (not 429) heard so far.
    heard: u64,
    /// Since when requests have gone at the pace without a pause (the start, or a probe's
    /// answer): the rate accepted over a window is a measure of the limit only once a whole
    /// window has passed since.
    steady_since: Duration,
    /// The rate at the last cut: where the server last refused. Below it the creep stays at its
    /// slowest (the limit is known to be near); past it, it speeds up with the calm.
    touched: Option<f64>,
    /// When the requests of the last `WINDOW` were sent: what went out, which concurrency or a
    /// slow server may hold below the rate.
    sent: VecDeque<Duration>,
    /// Still finding the limit from a safe start: the rate doubles while answers come, until the
    /// first 429s, the ceiling, or a budget's headers saying it is nearly spent.
    starting: bool,
    /// How long answers take, smoothed: the start doubles once per few of them, so that its
    /// overshoot before the first 429 comes back is the same at any latency.
    latency: Option<Duration>,
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

/// The answer to one request, as far as pacing is concerned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Signal {
    Answered {
        remaining: Option<u32>,
        limit: Option<u32>,
    },
    Limited {
        wait: Option<Duration>,
        told_by: Option<&'static str>,
    },
    /// No usable answer (a 5xx, a timeout, a lost connection): nothing to learn about the
    /// budget, but a probe that meets it is over.
    Lost,
}

/// What the pace learns from the answer to a read (`None`: no answer came): the one mapping
/// for the live reader's GETs. A 429 is a limit; a 5xx or no answer teaches nothing of the
/// budget; a 401 nothing at all (the command stops), as in the executor; any other answer is
/// a request the server took, with the budget its headers say is left.
pub fn heard_get(answer: Option<(&Got<'_>, RateInfo)>) -> Option<Signal> {
    Some(match answer {
        Some((Got::Unauthorized { .. }, _)) => return None,
        None | Some((Got::Transient { .. }, _)) => Signal::Lost,
        Some((Got::RateLimited { wait, told_by }, _)) => Signal::Limited {
            wait: *wait,
            told_by: *told_by,
        },
        Some((Got::Body(_) | Got::NotFound | Got::Other { .. }, info)) => Signal::Answered {
            remaining: info.remaining,
            limit: info.limit,
        },
    })
}

/// Where a run with no limit learnt starts (the default `--rate`): safe for any budget worth
/// the name, and below it the start costs well under a second.
const START: f64 = 10.0;
/// At the start, the rate doubles this often while answers come without a 429; where answers
/// come within 40 ms (a loopback, a LAN), every `LATENCIES` of them instead.
const DOUBLING: Duration = Duration::from_millis(250);
const LATENCIES: f64 = 2.5;
/// The shortest doubling.
const QUICKEST: Duration = Duration::from_millis(5);
/// How far back what went out is measured, for a cut at the start.
const SENT_SPAN: Duration = Duration::from_millis(500);
/// A cut takes the rate to this share of what the server accepted of late.
const UNDER: f64 = 0.97;
/// The deepest one cut goes, however little the server accepted (a pause lowers the measure).
const DEEPEST: f64 = 0.1;
/// The cut before a window of steady sending has measured the limit (what was accepted since
/// the start or a pause says little: answers come a latency after their requests).
const UNMEASURED: f64 = 0.8;
/// How far back the accepted rate is measured.
const WINDOW: Duration = Duration::from_secs(2);
/// The recent part of the window, whose rate a climb does not leave behind.
const RECENT: Duration = Duration::from_secs(1);
/// Calm this long after a cut before the rate creeps up again.
const CALM: Duration = Duration::from_secs(1);
/// The creep: this factor every `STEP` of calm.
const CREEP: f64 = 1.0003;
/// The climb back towards the limit last learnt, every `STEP` of calm.
const CLIMB: f64 = 1.02;
/// A 429 share (over `WINDOW`) at or below which a 429 is taken as a lone one.
const ISOLATED: f64 = 0.02;
/// 429s in the window below which their share says nothing: with 200 answers in the window,
/// 429s no header predicted at 0.5% come four at once one window in fifty.
const EVIDENCE: usize = 5;
/// Answers (not 429) heard before which every 429 is taken as a budget spent.
const FEW: u64 = 10;
/// The calm a lone 429 takes away.
const LONE_COST: Duration = Duration::from_secs(1);
/// The cut for a lone 429.
const NUDGE: f64 = 0.995;
const STEP: Duration = Duration::from_millis(100);
/// With rate headers, no creep while less than this share of the budget is left.
const LOW: f64 = 0.2;
/// Slots a late caller may still use: about one timer tick.
const SLACK: Duration = Duration::from_millis(2);
/// The longest pause that no header asked for.
const LONGEST: Duration = Duration::from_secs(30);

impl Pacer {
    /// Starts at `ceiling` requests per second.
    pub fn new(ceiling: f64) -> Pacer {
        Pacer::starting(ceiling, None)
    }

    /// Starts at `ceiling` and learns down from it: the pace before runs started low, kept for
    /// the tests of how it learns once sending at a rate (a ceiling at or below `START` starts
    /// there anyway).
    #[cfg(test)]
    pub(crate) fn at_ceiling(ceiling: f64) -> Pacer {
        let mut p = Pacer::starting(ceiling, None);
        p.rate = p.ceiling;
        p.starting = false;
        p
    }

    /// Starts below `ceiling`: at `safe`, a rate an earlier run against the same API and key
    /// learnt (clamped to the ceiling), creeping from there; without one, at `START` (or the
    /// ceiling, if lower), doubling every `DOUBLING` while answers come without a 429.
    pub fn starting(ceiling: f64, safe: Option<f64>) -> Pacer {
        let ceiling = ceiling.max(0.01);
        let safe = safe.filter(|r| r.is_finite() && *r > 0.0);
        let rate = safe.map_or(START, |r| r.max(0.2)).min(ceiling);
        Pacer {
            ceiling,
            floor: ceiling.min(0.2),
            rate,
            next: Duration::ZERO,
            paused_until: Duration::ZERO,
            told_by: None,
            last_cut: Duration::ZERO,
            last_change: Duration::ZERO,
            strikes: 0,
            answered: VecDeque::new(),
            probe: Probe::Off,
            left: None,
            known: safe.map(|_| rate),
            recent: VecDeque::new(),
            calm_since: Duration::ZERO,
            heard: 0,
            steady_since: Duration::ZERO,
            touched: safe.map(|_| rate),
            sent: VecDeque::new(),
            starting: safe.is_none() && rate < ceiling,
            latency: None,
        }
    }

    /// The limit learnt so far, to start the next run against the same API and key at: the
    /// rate once the start is over, never above what the last cut measured.
    pub fn learnt(&self) -> Option<f64> {
        if self.starting {
            return None;
        }
        if self.touched.is_none() {
            // The ceiling, taken without a burst of 429s: safe at this ceiling.
            return (self.heard >= FEW).then_some(self.rate);
        }
        Some(self.known.map_or(self.rate, |k| self.rate.min(k)))
    }

    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// The same pace on a clock that starts `by` later (for a run that takes over the pace of
    /// the reads before it).
    pub fn rebased(mut self, by: Duration) -> Pacer {
        let back = |t: Duration| t.saturating_sub(by);
        self.next = back(self.next);
        self.paused_until = back(self.paused_until);
        self.last_cut = back(self.last_cut);
        self.last_change = back(self.last_change);
        self.calm_since = back(self.calm_since);
        self.steady_since = back(self.steady_since);
        self.answered = self.answered.iter().map(|&t| back(t)).collect();
        self.sent = self.sent.iter().map(|&t| back(t)).collect();
        self.recent = self.recent.iter().map(|&(t, l)| (back(t), l)).collect();
        if let Probe::Out(at) = self.probe {
            self.probe = Probe::Out(back(at));
        }
        self
    }

    /// The first instant at or after `now` at which a request may go, without booking it;
    /// `Duration::MAX` while a probe is out (its answer decides).
    pub fn ready_at(&self, now: Duration) -> Duration {
        if matches!(self.probe, Probe::Out(_)) {
            return Duration::MAX;
        }
        now.max(self.next).max(self.paused_until)
    }

    /// Books the slot of a request that goes at `now` (no sooner than `ready_at`). A caller
    /// that comes late (a timer's tick) keeps up to `SLACK` of the slots it missed, so that a
    /// fast ceiling is not lost to timer granularity; over any second the ceiling holds.
    pub fn book(&mut self, now: Duration) {
        let at = now
            .saturating_sub(SLACK)
            .max(self.next)
            .max(self.paused_until);
        self.next = at.saturating_add(Duration::from_secs_f64(1.0 / self.rate));
        self.sent.push_back(at);
        while self
            .sent
            .front()
            .is_some_and(|&t| at.saturating_sub(t) > WINDOW)
        {
            self.sent.pop_front();
        }
        if self.probe == Probe::Due {
            self.probe = Probe::Out(at);
        }
    }

    pub fn holding(&self, now: Duration) -> Holding {
        if now < self.paused_until {
            Holding::Paused {
                told_by: self.told_by,
            }
        } else {
            Holding::Pacing
        }
    }

    pub fn paused_until(&self) -> Duration {
        self.paused_until
    }

    /// Learns from the answer to a request sent at `sent_at`, received at `now`.
    pub fn observe(&mut self, now: Duration, sent_at: Duration, signal: Signal) {
        let probe_answer = matches!(self.probe, Probe::Out(at) if sent_at >= at);
        match signal {
            Signal::Limited { wait, told_by } => {
                // The 429s of one burst (requests sent before the first of them was answered)
                // count once: one cut, one step of the pause, one in the share of 429s. A
                // probe's 429 is a new step.
                if sent_at < self.last_cut && !probe_answer {
                    return;
                }
                // A 429 right after another, with no answer between, is a budget spent: a
                // budget that refuses once refuses the requests behind (a debt bucket refuses
                // every one until it has waited), where a 429 no header predicted comes alone.
                let after_429 = self.recent.back().is_some_and(|&(_, l)| l);
                self.note(now, true);
                let (share, count) = self.limited_share();
                // Lone: fewer than `EVIDENCE` 429s in the window (too few to tell a share by), or
                // a small share of many answers; but before the server has answered a few,
                // nothing tells it from a spent budget.
                let measured = now.saturating_sub(self.steady_since) >= WINDOW;
                // At the start, a budget met answers 429 to the requests behind the first one
                // (they go faster than it refills), so a 429 alone is not the start's end.
                let lone = (self.heard >= FEW || self.starting)
                    && !after_429
                    && (count < EVIDENCE || share <= ISOLATED);
                if lone && !probe_answer && self.strikes == 0 {
                    // One 429 among many answers (a budget just touched, or a limit no header
                    // predicted): a nudge, no pause, and a second off the calm; its own request
                    // goes again in turn.
                    self.rate = (self.rate * NUDGE).max(self.floor);
                    self.calm_since = self.calm_since.saturating_add(LONE_COST).min(now);
                    return;
                }
                self.calm_since = now;
                // The 429s acted on are not counted again towards the next cut.
                self.recent.clear();
                self.strikes += 1;
                if !probe_answer {
                    let accepted = self.accepted(now);
                    // Cut from what went out: concurrency or a slow server may have held it
                    // below the rate, and a cut from a rate never reached cuts nothing.
                    let went = self.sent_since(now, SENT_SPAN);
                    let before = if went > 0.0 {
                        self.rate.min(went)
                    } else {
                        self.rate
                    };
                    self.touched = Some(before);
                    if self.starting {
                        // The first 429s of the start: the rate doubled since one the server
                        // took. Half of what went out is below the limit; climb back quickly
                        // towards three quarters of it, and learn the rest by measure.
                        self.starting = false;
                        self.rate = before * 0.5;
                        self.known = Some(before * 0.75);
                    } else if measured && accepted > 0.0 {
                        // A window of steady sending: what the server accepted is its limit.
                        // The cut goes to just under the higher of that and the last second's
                        // figure (a climb makes the window's lag); the climb back after a
                        // deeper cut, only to the window's (a second's figure may hold a burst).
                        let limit = accepted.max(self.accepted_since(now, RECENT));
                        self.known = Some(accepted);
                        self.rate = (limit * UNDER).clamp(before * DEEPEST, before * UNDER);
                    } else {
                        // Too soon after the start or a pause to have measured anything: cut by
                        // a fifth, and climb back quickly halfway to where this began, until a
                        // measure says where the limit is.
                        self.rate = before * UNMEASURED;
                        let between = f64::midpoint(self.rate, before);
                        self.known = Some(self.known.map_or(between, |k| k.min(between)));
                    }
                    self.rate = self.rate.max(self.floor);
                    self.last_change = now;
                }
                self.last_cut = now;
                // The shortest pause that can help (two slots at the new rate); eight times as
                // long with each 429 in a row (a budget still spent is believed sooner); never
                // longer than the server asked.
                let base = Duration::from_secs_f64(2.0 / self.rate).max(Duration::from_millis(10));
                let growing = base
                    .saturating_mul(8u32.saturating_pow(self.strikes.saturating_sub(1).min(10)))
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
            Signal::Lost => {
                if probe_answer {
                    self.probe = Probe::Off;
                }
            }
            Signal::Answered { remaining, limit } => {
                self.note(now, false);
                let took = now.saturating_sub(sent_at);
                self.latency = Some(
                    self.latency
                        .map_or(took, |l| l.mul_f64(0.8) + took.mul_f64(0.2)),
                );
                if probe_answer || self.probe == Probe::Due && sent_at >= self.last_cut {
                    self.probe = Probe::Off;
                    self.steady_since = now;
                    // The climb counts from here: time spent paused is not time at the pace.
                    self.last_change = now;
                    // What was accepted before the pause measures the pause, not the limit.
                    self.answered.clear();
                }
                if sent_at >= self.last_cut {
                    self.strikes = 0;
                }
                self.answered.push_back(now);
                self.heard = self.heard.saturating_add(1);
                // Accepted beyond the limit learnt at the last cut: the limit is higher (until a
                // cut has measured one, the climb is quick anyway).
                let accepted = self.accepted(now);
                if now.saturating_sub(self.steady_since) >= WINDOW && self.answered.len() >= 10 {
                    self.known = self.known.map(|k| k.max(accepted));
                }
                self.left = match (remaining, limit) {
                    (Some(r), Some(l)) if l > 0 => Some(f64::from(r) / f64::from(l)),
                    _ => self.left,
                };
                let calm = now.saturating_sub(self.last_cut) >= CALM;
                let roomy = self.left.is_none_or(|left| left >= LOW);
                let since = now.saturating_sub(self.last_change);
                if self.starting {
                    self.start_climb(now, roomy);
                } else if calm && roomy && since >= STEP {
                    let steps = (since.as_secs_f64() / STEP.as_secs_f64()).min(50.0);
                    // Far below the limit last learnt, or with none learnt yet: climb quickly;
                    // near it, creep, the faster the longer 429s stay away (the limit may be
                    // higher than learnt).
                    let below = self.known.is_none_or(|k| self.rate < k * UNDER * 0.99);
                    let calm_for = now.saturating_sub(self.calm_since).as_secs_f64();
                    let creep = if self.touched.is_some_and(|t| self.rate < t) {
                        CREEP
                    } else {
                        1.0 + (CREEP - 1.0) * (calm_for / 5.0).max(1.0).powi(2).min(16.0)
                    };
                    let factor = if below { CLIMB } else { creep };
                    let mut rate = self.rate * factor.powf(steps);
                    if let (true, Some(k)) = (below, self.known) {
                        rate = rate.min(k * UNDER);
                    }
                    self.rate = rate.clamp(self.floor, self.ceiling);
                    self.last_change = now;
                }
            }
        }
    }

    /// The start's climb: double every `DOUBLING` (sooner where answers come sooner), never far
    /// past what goes out (a rate that concurrency holds back is not one the server has seen),
    /// until the ceiling; held while a budget's headers say it is nearly spent.
    fn start_climb(&mut self, now: Duration, roomy: bool) {
        if !roomy {
            self.last_change = now;
            return;
        }
        let went = self.sent_since(now, SENT_SPAN);
        // Quicker only where answers come far quicker than over the internet (a loopback or a
        // LAN): at the API's latencies, `DOUBLING` is what the shapes are held to.
        let doubling = self
            .latency
            .map(|l| l.mul_f64(LATENCIES).max(QUICKEST))
            .filter(|&d| d <= STEP)
            .unwrap_or(DOUBLING);
        let since = now.saturating_sub(self.last_change);
        if since < doubling.min(STEP) {
            return;
        }
        let factor = 2f64.powf((since.as_secs_f64() / doubling.as_secs_f64()).min(4.0));
        let cap = (3.0 * went).max(START);
        self.rate = (self.rate * factor)
            .min(cap.max(self.rate))
            .clamp(self.floor, self.ceiling);
        self.last_change = now;
        // At the ceiling, the learning takes over as from a ceiling start.
        self.starting = self.rate < self.ceiling;
    }

    /// Requests per second sent over the last `span` (at most `WINDOW`), or since the first
    /// of them when that is sooner; at least 0.1 s.
    fn sent_since(&self, now: Duration, span: Duration) -> f64 {
        let within = self
            .sent
            .iter()
            .rev()
            .take_while(|&&t| now.saturating_sub(t) <= span);
        let (count, first) = within.fold((0usize, now), |(n, _), &t| (n + 1, t));
        let span = now
            .saturating_sub(first)
            .min(span)
            .max(Duration::from_millis(100))
            .as_secs_f64();
        count as f64 / span
    }

    /// Keeps the outcomes of the last `WINDOW`.
    fn note(&mut self, now: Duration, limited: bool) {
        self.recent.push_back((now, limited));
        while self
            .recent
            .front()
            .is_some_and(|&(t, _)| now.saturating_sub(t) > WINDOW)
        {
            self.recent.pop_front();
        }
    }

    /// The share of the last `WINDOW`'s answers that were 429, and their count.
    fn limited_share(&self) -> (f64, usize) {
        let limited = self.recent.iter().filter(|(_, l)| *l).count();
        (limited as f64 / self.recent.len().max(1) as f64, limited)
    }

    /// Requests per second answered (not 429) over the last `WINDOW`.
    fn accepted(&mut self, now: Duration) -> f64 {
        self.accepted_since(now, WINDOW)
    }

    /// Requests per second answered (not 429) over the last `span` (at most `WINDOW`).
    fn accepted_since(&mut self, now: Duration, span: Duration) -> f64 {
        while self
            .answered
            .front()
            .is_some_and(|&t| now.saturating_sub(t) > WINDOW)
        {
            self.answered.pop_front();
        }
        // Over the whole span, or since the first answer when there has not been one yet
        // (answers come a latency after their requests, so the time since the start would
        // understate it); at least 0.1 s.
        let within = self
            .answered
            .iter()
            .rev()
            .take_while(|&&t| now.saturating_sub(t) <= span);
        let (count, first) = within.fold((0usize, now), |(n, _), &t| (n + 1, t));
        let span = now
            .saturating_sub(first)
            .min(span)
            .max(Duration::from_millis(100))
            .as_secs_f64();
        count as f64 / span
    }
}

#[cfg(test)]
// The tests subtract constants from constants; the code above uses checked time arithmetic.
#[allow(clippy::unchecked_time_subtraction)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);
    const S: Duration = Duration::from_secs(1);

    fn answered(p: &mut Pacer, now: Duration) {
        p.observe(
            now,
            now.saturating_sub(100 * MS),
            Signal::Answered {
                remaining: None,
                limit: None,
            },
        );
    }

    fn limited(p: &mut Pacer, now: Duration, sent_at: Duration, wait: Option<Duration>) {
        p.observe(
            now,
            sent_at,
            Signal::Limited {
                wait,
                told_by: wait.map(|_| "Retry-After"),
            },
        );
    }

    #[test]
    fn slots_are_spaced_by_the_rate_and_never_closer_than_the_ceiling() {
        let mut p = Pacer::at_ceiling(10.0);
        assert_eq!(p.ready_at(Duration::ZERO), Duration::ZERO);
        p.book(Duration::ZERO);
        assert_eq!(p.ready_at(Duration::ZERO), 100 * MS);
        p.book(100 * MS);
        // A late caller goes at once, and keeps 2 ms of the slots it missed (a timer's tick).
        assert_eq!(p.ready_at(S), S);
        p.book(S);
        assert_eq!(p.ready_at(S), S + 98 * MS);
        // However late, no more than that: the ceiling holds over time.
        p.book(10 * S);
        assert_eq!(p.ready_at(10 * S), 10 * S + 98 * MS);
    }

    #[test]
    fn a_lone_429_nudges_and_a_burst_cuts_once_to_just_under_what_was_accepted() {
        let mut p = Pacer::at_ceiling(200.0);
        // The server accepted 100 a second for the last two seconds.
        for i in 0..200 {
            answered(&mut p, 10 * MS * i);
        }
        let now = 2 * S;
        // One 429 among 200 answers: half a percent off, no pause.
        limited(&mut p, now, now - 100 * MS, None);
        assert!((p.rate() - 199.0).abs() < 0.01, "{}", p.rate());
        assert!(p.ready_at(now) < now + 10 * MS, "no pause for a lone 429");
        assert_eq!(p.holding(now), Holding::Pacing);
        // More of them, right after it: a cut to 97% of what was accepted.
        for k in 1..5 {
            limited(&mut p, now + k * MS, now - 90 * MS, None);
        }
        assert!((p.rate() - 97.0).abs() < 1.5, "{}", p.rate());
        let cut = p.rate();
        // Another 429 to a request sent before the cut: the same burst, no second cut.
        limited(&mut p, now + 10 * MS, now - 50 * MS, None);
        assert_eq!(p.rate(), cut);
    }

    #[test]
    fn the_pause_is_short_grows_while_429s_go_on_and_never_outlasts_the_servers_word() {
        let mut p = Pacer::at_ceiling(100.0);
        limited(&mut p, S, S - 100 * MS, Some(3 * S));
        // Two slots at the cut rate (85/s: nothing was accepted yet), not the 3 s said.
        let first = p.paused_until() - S;
        assert!(first < 30 * MS && first > 20 * MS, "{first:?}");
        assert_eq!(
            p.holding(S + MS),
            Holding::Paused {
                told_by: Some("Retry-After")
            }
        );
        // The probe goes, and is refused: eight times as long.
        let at = p.ready_at(S);
        p.book(at);
        limited(&mut p, at + 100 * MS, at, Some(3 * S));
        let second = p.paused_until() - (at + 100 * MS);
        assert_eq!(second, first * 8);
        // However many 429s, never longer than the server said.
        for _ in 0..20 {
            let now = p.paused_until();
            let at = p.ready_at(now);
            p.book(at);
            limited(&mut p, at + 100 * MS, at, Some(3 * S));
            let pause = p.paused_until() - (at + 100 * MS);
            assert!(pause <= 3 * S, "{pause:?}");
        }
        let at = p.ready_at(p.paused_until());
        p.book(at);
        limited(&mut p, at + 100 * MS, at, Some(3 * S));
        assert_eq!(
            p.paused_until() - (at + 100 * MS),
            3 * S,
            "grown to the server's word"
        );
        let mut q = Pacer::at_ceiling(100.0);
        limited(&mut q, S, S, Some(MS));
        assert_eq!(q.paused_until(), S + MS, "a shorter wait said is kept");
    }

    #[test]
    fn after_a_pause_one_probe_goes_alone_until_it_is_answered() {
        let mut p = Pacer::at_ceiling(100.0);
        limited(&mut p, S, S - 100 * MS, None);
        let at = p.ready_at(S);
        assert!(at > S);
        p.book(at);
        // Nothing else goes while the probe is out.
        assert_eq!(p.ready_at(at + 500 * MS), Duration::MAX);
        // An answer to a request sent before the pause does not open up.
        answered(&mut p, at + 50 * MS);
        assert_eq!(p.ready_at(at + 60 * MS), Duration::MAX);
        // The probe's answer does.
        p.observe(
            at + 100 * MS,
            at,
            Signal::Answered {
                remaining: None,
                limit: None,
            },
        );
        assert!(p.ready_at(at + 100 * MS) < Duration::MAX);
    }

    #[test]
    fn the_rate_creeps_back_up_while_calm_unless_the_budget_is_nearly_spent() {
        let mut p = Pacer::at_ceiling(100.0);
        limited(&mut p, S, S - 100 * MS, None);
        let cut = p.rate();
        probe_answered(&mut p, S);
        for t in 0..600 {
            answered(&mut p, 2 * S + 100 * MS * t);
        }
        // A minute of calm: 0.3% a second, up to the ceiling.
        assert!(p.rate() > cut * 1.15, "{} after {cut}", p.rate());
        assert!(p.rate() <= 100.0);
        let mut q = Pacer::at_ceiling(100.0);
        limited(&mut q, S, S - 100 * MS, None);
        let cut = q.rate();
        let at = q.ready_at(S);
        q.book(at);
        for t in 0..600 {
            let now = 2 * S + 100 * MS * t;
            q.observe(
                now,
                now - 100 * MS,
                Signal::Answered {
                    remaining: Some(1),
                    limit: Some(100),
                },
            );
        }
        assert_eq!(q.rate(), cut, "no creep while 1% of the budget is left");
    }

    /// Answers every 10 ms from `from` until `to`, each to a request sent 100 ms before.
    fn steady(p: &mut Pacer, from: Duration, to: Duration) {
        let mut t = from;
        while t < to {
            answered(p, t);
            t += 10 * MS;
        }
    }

    /// Sends the probe after a pause and has it answered.
    fn probe_answered(p: &mut Pacer, now: Duration) -> Duration {
        let at = p.ready_at(now);
        p.book(at);
        p.observe(
            at + 100 * MS,
            at,
            Signal::Answered {
                remaining: None,
                limit: None,
            },
        );
        at + 100 * MS
    }

    #[test]
    fn before_a_window_of_steady_sending_a_cut_takes_a_fifth_and_climbs_back_quickly() {
        let mut p = Pacer::at_ceiling(200.0);
        // The first answers of the run, then 429s: nothing measured the limit yet (what was
        // accepted in 0.2 s says little), so no cut to it.
        steady(&mut p, 100 * MS, 300 * MS);
        for k in 0..5 {
            limited(&mut p, 300 * MS + k * MS, 200 * MS, None);
        }
        // The first was a lone 429 among 20 answers (a nudge); the second made a storm.
        let began = 200.0 * NUDGE;
        assert!((p.rate() - began * 0.8).abs() < 0.01, "{}", p.rate());
        // Back quickly (2% every 100 ms), to just under halfway between the cut and where it
        // began...
        let halfway = f64::midpoint(began * 0.8, began);
        let open = probe_answered(&mut p, 400 * MS);
        steady(&mut p, open, open + S);
        let target = halfway * UNDER;
        assert!(
            p.rate() >= target && p.rate() < target * 1.005,
            "{}",
            p.rate()
        );
        // ... and from there only the creep (0.3% a second).
        steady(&mut p, open + S, open + 3 * S);
        assert!(p.rate() < target * 1.01, "{}", p.rate());
    }

    #[test]
    fn the_429s_a_cut_acted_on_do_not_count_towards_the_next() {
        let mut p = Pacer::at_ceiling(200.0);
        steady(&mut p, Duration::ZERO, 2 * S);
        // A storm: four 429s within 10 ms, over 2% of the answers.
        for k in 0..5 {
            limited(&mut p, 2 * S + k * MS, 2 * S - 50 * MS + k * MS, None);
        }
        let cut = p.rate();
        assert!(cut < 100.0, "{cut}");
        let open = probe_answered(&mut p, 2 * S);
        steady(&mut p, open, open + 500 * MS);
        // One more 429 within the window of the first five: a lone one, a nudge, no pause.
        let now = open + 500 * MS;
        limited(&mut p, now, now - 100 * MS, None);
        assert_eq!(p.holding(now), Holding::Pacing);
        assert!(p.rate() > cut * 0.99, "{} after {cut}", p.rate());
    }

    /// Answers every `gap` from `from` until `to`, each to a request sent 100 ms before.
    fn steady_every(p: &mut Pacer, from: Duration, to: Duration, gap: Duration) {
        let mut t = from;
        while t < to {
            answered(p, t);
            t += gap;
        }
    }

    #[test]
    fn a_429_right_after_a_429_is_a_spent_budget_not_a_lone_one() {
        let mut p = Pacer::at_ceiling(200.0);
        steady(&mut p, Duration::ZERO, 2 * S);
        let now = 2 * S;
        limited(&mut p, now, now - 100 * MS, None);
        assert_eq!(
            p.holding(now),
            Holding::Pacing,
            "the first is lone: a nudge"
        );
        // The next answer is a 429 too: two of 200 answers, but in a row: a cut and a pause.
        limited(&mut p, now + MS, now - 99 * MS, None);
        assert!(p.paused_until() > now + MS, "a pause");
        assert!(p.rate() < 100.0, "cut to what was accepted: {}", p.rate());
        // The same two 429s with answers between them: both lone.
        let mut q = Pacer::at_ceiling(200.0);
        steady(&mut q, Duration::ZERO, 2 * S);
        limited(&mut q, now, now - 100 * MS, None);
        answered(&mut q, now + MS);
        limited(&mut q, now + 2 * MS, now - 98 * MS, None);
        assert_eq!(q.holding(now + 2 * MS), Holding::Pacing);
        assert!(q.rate() > 197.0, "nudged, not cut: {}", q.rate());
    }

    #[test]
    fn fewer_than_five_429s_in_the_window_are_too_few_to_cut_for() {
        // 35 answers a second: four 429s spread over 2 s are 5.7% of the answers, but four
        // 429s no header predicted (or of a tiny bucket's bunched arrivals) come that way too.
        let mut p = Pacer::at_ceiling(100.0);
        let gap = Duration::from_micros(28_571);
        steady_every(&mut p, Duration::ZERO, 2 * S, gap);
        let mut t = 2 * S;
        for _ in 0..4 {
            limited(&mut p, t, t - 100 * MS, None);
            steady_every(&mut p, t + MS, t + 300 * MS, gap);
            t += 300 * MS;
        }
        assert_eq!(p.holding(t), Holding::Pacing, "four nudges, no pause");
        assert!(p.rate() > 100.0 * 0.98, "{}", p.rate());
        // The fifth within the window is a share of 429s worth a cut.
        limited(&mut p, t, t - 100 * MS, None);
        assert!(p.paused_until() > t, "a pause");
        assert!(p.rate() < 40.0, "cut to what was accepted: {}", p.rate());
    }

    #[test]
    fn below_the_rate_of_the_last_cut_the_creep_stays_slow() {
        let mut p = Pacer::at_ceiling(200.0);
        steady(&mut p, Duration::ZERO, 2 * S);
        for k in 0..2 {
            limited(&mut p, 2 * S + k * MS, 2 * S - 50 * MS + k * MS, None);
        }
        let cut = p.rate();
        let open = probe_answered(&mut p, 2 * S);
        // A minute of calm, at 100 answers a second, all of it below the 199/s of the cut.
        steady(&mut p, open, open + 60 * S);
        // 0.3% a second for the minute: under 1.003^60 ≈ 1.2 (sped up by the calm, it would
        // have reached the ceiling).
        assert!(p.rate() > cut * 1.1, "it creeps: {} after {cut}", p.rate());
        assert!(p.rate() < cut * 1.2, "slowly: {} after {cut}", p.rate());
    }

    #[test]
    fn an_absurd_wait_pauses_without_overflowing() {
        let mut p = Pacer::at_ceiling(10.0);
        limited(&mut p, 5 * S, 4 * S, Some(Duration::from_secs(u64::MAX)));
        assert!(p.paused_until() > 5 * S);
        p.book(Duration::MAX);
        assert_eq!(p.ready_at(Duration::MAX), Duration::MAX);
        let mut q = Pacer::at_ceiling(10.0);
        for _ in 0..64 {
            let at = q.ready_at(Duration::ZERO).min(Duration::from_secs(1 << 40));
            q.book(at);
            limited(&mut q, at, at, None);
        }
        assert!(q.paused_until() < Duration::from_secs(1 << 41));
    }

    /// Sends at the pace from `from` to `to`, each request answered 100 ms after it went.
    fn send_answered(p: &mut Pacer, from: Duration, to: Duration) -> Duration {
        let mut now = from;
        let mut out: VecDeque<Duration> = VecDeque::new();
        while now < to {
            while out.front().is_some_and(|&at| at + 100 * MS <= now) {
                let at = out.pop_front().unwrap_or(now);
                p.observe(
                    at + 100 * MS,
                    at,
                    Signal::Answered {
                        remaining: None,
                        limit: None,
                    },
                );
            }
            let at = p.ready_at(now);
            if at <= now {
                p.book(now);
                out.push_back(now);
            }
            now = (now + MS).max(at.min(now + 10 * MS));
        }
        now
    }

    #[test]
    fn with_nothing_learnt_a_run_starts_low_and_doubles_until_its_first_429s() {
        let mut p = Pacer::new(1000.0);
        assert_eq!(p.rate(), START, "not at the ceiling");
        assert_eq!(p.learnt(), None);
        // A second of answers: about four doublings.
        let now = send_answered(&mut p, Duration::ZERO, S);
        assert!(
            p.rate() > START * 8.0 && p.rate() < START * 24.0,
            "{}",
            p.rate()
        );
        // Two 429s in a row: half of what went out, and the climb back aims at three quarters.
        let went = p.sent_since(now, SENT_SPAN).min(p.rate());
        limited(&mut p, now, now - 100 * MS, None);
        assert!(p.rate() > went * 0.9, "a lone 429 at the start is a nudge");
        limited(&mut p, now + MS, now - 99 * MS, None);
        assert!(
            (p.rate() - went * 0.5).abs() < went * 0.05,
            "{} of {went}",
            p.rate()
        );
        assert!(p.paused_until() > now, "and a pause");
        assert!(p.learnt().is_some());
        // A ceiling at or below the start is where it starts, as before.
        assert_eq!(Pacer::new(5.0).rate(), 5.0);
    }

    #[test]
    fn the_start_stops_doubling_when_the_budget_headers_run_low() {
        let mut p = Pacer::new(1000.0);
        let now = send_answered(&mut p, Duration::ZERO, 500 * MS);
        let before = p.rate();
        p.observe(
            now,
            now - 100 * MS,
            Signal::Answered {
                remaining: Some(1),
                limit: Some(100),
            },
        );
        assert!(p.rate() <= before, "{} after {before}", p.rate());
        let held = p.rate();
        send_answered(&mut p, now, now + 200 * MS);
        assert!(
            p.rate() <= held * 1.01,
            "no doubling: {} after {held}",
            p.rate()
        );
    }

    #[test]
    fn a_rate_learnt_before_is_where_the_next_run_starts_under_the_ceiling() {
        let p = Pacer::starting(1000.0, Some(97.0));
        assert_eq!(p.rate(), 97.0);
        assert_eq!(p.learnt(), Some(97.0));
        assert_eq!(Pacer::starting(50.0, Some(97.0)).rate(), 50.0);
        // Nonsense on disk is no start.
        assert_eq!(Pacer::starting(1000.0, Some(f64::NAN)).rate(), START);
        assert_eq!(Pacer::starting(1000.0, Some(-3.0)).rate(), START);
        // From there it creeps, it does not double: a second of answers moves it well under 1%.
        let mut q = Pacer::starting(1000.0, Some(97.0));
        send_answered(&mut q, Duration::ZERO, 2 * S);
        assert!(q.rate() < 97.0 * 1.01, "{}", q.rate());
    }
}
