//! The pace's learning: which rate to send at, from the answers. The start (low, doubling
//! until the first 429s, or at a rate an earlier run learnt; where headers show the budget
//! nearly spent before any cut, at what it refills; where none do, no higher than the first
//! contact with it measured, `contact`), the cut for a burst of 429s, the nudge for a lone one,
//! the climb back and the creep, with their constants. It knows nothing
//! of slots, pauses or probes (`slots`): it is told whether an answer was the probe's, and says
//! when a 429 calls for a pause.

use super::contact::Contact;
use std::collections::VecDeque;
use std::time::Duration;

/// Where a run with no limit learnt starts (the default `--rate`): safe for any budget worth
/// the name, and below it the start costs well under a second.
pub(super) const START: f64 = 10.0;
/// At the start, the rate doubles this often while answers come without a 429; where answers
/// come within 40 ms (a loopback, a LAN), every `LATENCIES` of them instead.
const DOUBLING: Duration = Duration::from_millis(250);
const LATENCIES: f64 = 2.5;
/// The shortest doubling.
const QUICKEST: Duration = Duration::from_millis(5);
/// How far back what went out is measured, for a cut and for the start's climb.
pub(super) const SENT_SPAN: Duration = Duration::from_millis(500);
/// A cut takes the rate to this share of what the server accepted of late.
pub(super) const UNDER: f64 = 0.97;
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
/// The rate at and above which the creep goes at its speed per second; below, it goes at the
/// same speed per request (slower per second), so that the touches of the limit it leads to
/// cost a like share of the requests at 10 a second. Below it, once a limit is learnt, a lone
/// 429's nudge goes deeper by the request too, up to twice `NUDGE`'s depth: creep and nudge
/// settle where 429s come at the creep's speed over the nudge's depth, 1.2% of the requests
/// at 10 a second with the nudge's depth fixed, 0.6% with it doubled (as at 100 a second).
const PER_REQUEST_AT: f64 = 50.0;
/// The climb back towards the limit last learnt, every `STEP` of calm.
const CLIMB: f64 = 1.02;
/// A 429 share (over `WINDOW` or the last `SHARE_OF` answers, whichever is longer) at or below
/// which a 429 is taken as a lone one.
const ISOLATED: f64 = 0.02;
/// 429s in the window below which their share says nothing: with 200 answers in the window,
/// 429s no header predicted at 0.5% come four at once one window in fifty.
const EVIDENCE: usize = 5;
/// A share of 429s at or above which a second 429 is a budget still spent, not a lone one. The
/// share is over the last `WINDOW` or `SHARE_OF` answers, which a cut empties, so only in the
/// first few answers after a cut (or at the start) can two 429s make it: at 10 a second, a cut
/// by a fifth from well above the limit leaves the rate above it, where one request in three to
/// five is refused, and each such 429 came with answers between.
const STILL_SPENT: f64 = 0.2;
/// The fewest answers a measure over `WINDOW` of what the server accepted rests on, however
/// long they took to come (and half as many over `RECENT`).
const MEASURE_OF: usize = 100;
/// The fewest answers the share of 429s is taken over, however long they took to come: at 10
/// requests a second, `WINDOW` holds 20, and one 429 a second (10% of them) came fewer than
/// `EVIDENCE` at a time, each taken as a lone one.
const SHARE_OF: usize = 200;
/// Answers (not 429) heard before which every 429 is taken as a budget spent.
const FEW: u64 = 10;
/// The calm a lone 429 takes away.
const LONE_COST: Duration = Duration::from_secs(1);
/// The cut for a lone 429 at `PER_REQUEST_AT` and above.
pub(super) const NUDGE: f64 = 0.995;
/// A first contact's measure on few answers under this share of the limit learnt before it
/// (most often the start's guess) is doubted (`contact_measured`). In the shapes' harness, the
/// stragglers of a charging budget measured 0.20–0.43 of it, and good measures on few answers
/// 0.30–0.50, where a burst hid the limit from the start (doubted, those pay one more cut).
const DOUBTED: f64 = 0.44;
const STEP: Duration = Duration::from_millis(100);
/// With rate headers, no creep while less than this share of the budget is left.
const LOW: f64 = 0.2;
/// The shortest fall of a budget's remaining that measures what it refills.
const FALLING_SPAN: Duration = Duration::from_millis(300);
/// The least share of what the server took, while the budget fell, that it must have refilled
/// for the measure to be taken as a refill rate.
const REFILLED: f64 = 0.25;

/// The share of its speed per second the creep goes at `rate`: all of it at `PER_REQUEST_AT`
/// and above, below as much per request as there. A lone 429's nudge goes as much deeper.
fn by_request(rate: f64) -> f64 {
    (rate / PER_REQUEST_AT).min(1.0)
}

/// What a 429 calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Heard {
    /// Nothing more: one of a burst already acted on, or a lone one (nudged).
    Nothing,
    /// A pause: the `strikes`-th burst in a row.
    Pause { strikes: u32 },
}

#[derive(Debug, Clone)]
pub(super) struct Learning {
    ceiling: f64,
    floor: f64,
    rate: f64,
    /// 429s to requests sent before this instant belong to a burst already acted on.
    last_cut: Duration,
    last_change: Duration,
    /// 429s in a row without a success, for the doubling pause.
    strikes: u32,
    /// When the requests of the last `WINDOW` (and at least the last `MEASURE_OF`) were
    /// answered (not 429), for the rate the server accepts.
    answered: VecDeque<Duration>,
    /// The last `X-RateLimit-Remaining` ÷ `X-RateLimit-Limit`, if answers carry them.
    left: Option<f64>,
    /// What the server accepted when the rate was last cut: the best guess of its limit, which
    /// the rate climbs back to quickly after a deeper cut.
    known: Option<f64>,
    /// `known` is the start's guess (three quarters of what went out when its first 429s came),
    /// not a measure, and no measure has come since: the limit may lie anywhere up to
    /// `touched`, so the creep there speeds up with the calm rather than stay at its slowest.
    guessed: bool,
    /// Recent answers, 429 or not, for the share of 429s.
    recent: VecDeque<(Duration, bool)>,
    /// Since when it has been calm: the creep speeds up the longer it is. A cut starts the calm
    /// afresh; a lone 429 takes a second off it (429s no header predicted must not hold the
    /// creep down for good).
    calm_since: Duration,
    /// When the rate reached `touched` since it was last set: past it, the creep speeds up with
    /// the calm since then (or since the last 429, if later), not with the calm spent climbing
    /// back to it. Counted from the cut, the climb back had used up the slow part, and the
    /// creep went past where the server had refused at up to 4.8% a second.
    past_since: Option<Duration>,
    /// Answers (not 429) heard so far.
    heard: u64,
    /// Since when requests have gone at the pace without a pause (the start, or a probe's
    /// answer): the rate accepted over a window is a measure of the limit only once a whole
    /// window has passed since.
    steady_since: Duration,
    /// The rate at the last cut: where the server last refused (or, once the first contact
    /// measured the limit, the rate that measure set, which is no refusal). Below it the creep
    /// stays at its slowest (the limit is known to be near); past it, it speeds up with the
    /// calm spent past it (`past_since`).
    touched: Option<f64>,
    /// Still finding the limit from a safe start: the rate doubles while answers come, until the
    /// first 429s, the ceiling, or a budget's headers saying it is nearly spent.
    pub(super) starting: bool,
    /// How long answers take, smoothed: the start doubles once per few of them, so that its
    /// overshoot before the first 429 comes back is the same at any latency.
    latency: Option<Duration>,
    /// What the server took over the last `WINDOW`, as of the last answer: a rate learnt is
    /// never kept above it (a cut's rate or its guess of the limit may be above the limit).
    took: Option<f64>,
    /// Until the first cut, the budget's `X-RateLimit-Remaining` where its fall began (when
    /// and how much) and where it is now: while it only falls, what the server took beyond its
    /// fall is what it refills.
    falling: Option<((Duration, u32), u32)>,
    /// Until the first cut's probe is answered, the first contact with the budget: where
    /// headers have not measured it, what the server accepted between the 429s measures it.
    contact: Option<Contact>,
}

impl Learning {
    /// See `Pacer::starting`.
    pub(super) fn starting(ceiling: f64, safe: Option<f64>) -> Learning {
        let ceiling = ceiling.max(0.01);
        let safe = safe.filter(|r| r.is_finite() && *r > 0.0);
        let rate = safe.map_or(START, |r| r.max(0.2)).min(ceiling);
        Learning {
            ceiling,
            floor: ceiling.min(0.2),
            rate,
            last_cut: Duration::ZERO,
            last_change: Duration::ZERO,
            strikes: 0,
            answered: VecDeque::new(),
            left: None,
            known: safe.map(|_| rate),
            guessed: false,
            recent: VecDeque::new(),
            calm_since: Duration::ZERO,
            past_since: None,
            heard: 0,
            steady_since: Duration::ZERO,
            touched: safe.map(|_| rate),
            starting: safe.is_none() && rate < ceiling,
            latency: None,
            took: safe.map(|_| rate),
            falling: None,
            contact: None,
        }
    }

    /// At the ceiling from the start (the tests of how it learns once sending at a rate).
    #[cfg(test)]
    pub(super) fn at_ceiling(ceiling: f64) -> Learning {
        let mut r = Learning::starting(ceiling, None);
        r.rate = r.ceiling;
        r.starting = false;
        r
    }

    pub(super) fn rate(&self) -> f64 {
        self.rate
    }

    /// When the last burst was acted on: answers to requests sent since open the pace again.
    pub(super) fn last_cut(&self) -> Duration {
        self.last_cut
    }

    /// See `Pacer::learnt`.
    pub(super) fn learnt(&self) -> Option<f64> {
        if self.starting {
            return None;
        }
        let took = self.took?;
        // The rate, never above what the last cut measured nor above what the server took.
        let rate = self.known.map_or(self.rate, |k| self.rate.min(k)).min(took);
        (rate > 0.0).then_some(rate)
    }

    pub(super) fn rebased(mut self, by: Duration) -> Learning {
        let back = |t: Duration| t.saturating_sub(by);
        self.last_cut = back(self.last_cut);
        self.last_change = back(self.last_change);
        self.calm_since = back(self.calm_since);
        self.past_since = self.past_since.map(back);
        self.steady_since = back(self.steady_since);
        self.answered = self.answered.iter().map(|&t| back(t)).collect();
        self.recent = self.recent.iter().map(|&(t, l)| (back(t), l)).collect();
        self.contact = self.contact.map(|c| c.rebased(by));
        self
    }

    /// A 429 to a request sent at `sent_at`, received at `now`; `went` measures what went
    /// out over `SENT_SPAN`, where a cut needs it.
    pub(super) fn limited(
        &mut self,
        now: Duration,
        sent_at: Duration,
        probe_answer: bool,
        went: impl FnOnce() -> f64,
    ) -> Heard {
        // Before the first cut, every 429 is part of the first contact with the budget.
        match &mut self.contact {
            Some(contact) => contact.refused(now, sent_at),
            None if self.touched.is_none() => self.contact = Some(Contact::begin(now)),
            None => {}
        }
        // The 429s of one burst (requests sent before the first of them was answered) count
        // once: one cut, one step of the pause, one in the share of 429s. A probe's 429 is a
        // new step.
        if sent_at < self.last_cut && !probe_answer {
            return Heard::Nothing;
        }
        // A 429 right after another, with no answer between, is a budget spent: a budget that
        // refuses once refuses the requests behind (a debt bucket refuses every one until it
        // has waited), where a 429 no header predicted comes alone.
        let after_429 = self.recent.back().is_some_and(|&(_, l)| l);
        self.note(now, true);
        let (share, count) = self.limited_share();
        let measured = now.saturating_sub(self.steady_since) >= WINDOW;
        // Lone: fewer than `EVIDENCE` 429s in the window (too few to tell a share by), or a
        // small share of many answers, unless two already make `STILL_SPENT` of the few answers
        // since a cut; but before the server has answered a few, nothing tells it from a spent
        // budget. At the start, a budget met answers 429 to the requests behind the first one
        // (they go faster than it refills), so a 429 alone is not the start's end.
        let still_spent = count >= 2 && share >= STILL_SPENT;
        let lone = (self.heard >= FEW || self.starting)
            && !after_429
            && !still_spent
            && (count < EVIDENCE || share <= ISOLATED);
        if lone && !probe_answer && self.strikes == 0 {
            // One 429 among many answers (a budget just touched, or a limit no header
            // predicted): a nudge, no pause, and a second off the calm; its own request goes
            // again in turn.
            // Only once a limit is learnt: the start's lone 429s are its search, not touches
            // (nudged by the request there too, part 4 of the apply bench sat at 0.41 of the
            // limit in two of six runs).
            let deeper = if self.touched.is_some() && self.contact.is_none() {
                (1.0 / by_request(self.rate)).min(2.0)
            } else {
                1.0
            };
            self.rate = (self.rate * (1.0 - (1.0 - NUDGE) * deeper)).max(self.floor);
            self.calm_since = self.calm_since.saturating_add(LONE_COST).min(now);
            return Heard::Nothing;
        }
        self.calm_since = now;
        // The 429s acted on are not counted again towards the next cut.
        self.recent.clear();
        self.strikes += 1;
        if !probe_answer {
            self.cut(now, measured, went());
        }
        if let Some(contact) = &mut self.contact {
            contact.cut(now);
        }
        self.last_cut = now;
        Heard::Pause {
            strikes: self.strikes,
        }
    }

    /// The cut for a burst of 429s.
    fn cut(&mut self, now: Duration, measured: bool, went: f64) {
        let accepted = self.accepted(now);
        // Cut from what went out: concurrency or a slow server may have held it below the
        // rate, and a cut from a rate never reached cuts nothing.
        let before = if went > 0.0 {
            self.rate.min(went)
        } else {
            self.rate
        };
        self.touch(before);
        if self.starting {
            // The first 429s of the start: the rate doubled since one the server took. Half of
            // what went out is below the limit; climb back quickly towards three quarters of
            // it, and learn the rest by measure.
            self.starting = false;
            self.rate = before * 0.5;
            self.known = Some(before * 0.75);
            self.guessed = true;
        } else if measured && accepted > 0.0 {
            // A window of steady sending: what the server accepted is its limit. The cut goes
            // to just under the higher of that and the last second's figure (a climb makes the
            // window's lag); the climb back after a deeper cut, only to the window's (a
            // second's figure may hold a burst).
            let limit = accepted.max(self.accepted_since(now, RECENT));
            self.known = Some(accepted);
            self.guessed = false;
            self.rate = (limit * UNDER).clamp(before * DEEPEST, before * UNDER);
        } else {
            // Too soon after the start or a pause to have measured anything: cut by a fifth,
            // and climb back quickly halfway to where this began, until a measure says where
            // the limit is.
            self.rate = before * UNMEASURED;
            let between = f64::midpoint(self.rate, before);
            self.known = Some(self.known.map_or(between, |k| k.min(between)));
        }
        self.rate = self.rate.max(self.floor);
        self.last_change = now;
    }

    /// An answer (not 429) to a request sent at `sent_at`, received at `now`; `opened`: it
    /// ended a pause (the probe's answer).
    pub(super) fn answered(
        &mut self,
        now: Duration,
        sent_at: Duration,
        opened: bool,
        budget: (Option<u32>, Option<u32>),
        went: impl FnOnce() -> f64,
    ) {
        self.note(now, false);
        if let Some(contact) = &mut self.contact {
            contact.accepted();
        }
        if opened {
            self.contact_measured();
        }
        let took = now.saturating_sub(sent_at);
        self.latency = Some(
            self.latency
                .map_or(took, |l| l.mul_f64(0.8) + took.mul_f64(0.2)),
        );
        if opened {
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
        // Accepted beyond the limit learnt at the last cut: the limit is higher (until a cut
        // has measured one, the climb is quick anyway).
        let accepted = self.accepted(now);
        if self.heard >= FEW {
            self.took = Some(accepted);
        }
        if now.saturating_sub(self.steady_since) >= WINDOW && self.answered.len() >= 10 {
            self.known = self.known.map(|k| k.max(accepted));
        }
        self.left = match budget {
            (Some(r), Some(l)) if l > 0 => Some(f64::from(r) / f64::from(l)),
            _ => self.left,
        };
        let roomy = self.left.is_none_or(|left| left >= LOW);
        // Until the first cut, a budget's headers may say where its limit is before a 429 does.
        let finding = self.touched.is_none();
        if let (true, Some(remaining), Some(_)) = (finding, budget.0, budget.1) {
            self.fall(now, remaining);
        }
        if finding && !roomy && self.spend_at_refill(now) {
            return;
        }
        if self.starting {
            self.start_climb(now, roomy, went);
        } else {
            self.climb(now, roomy);
        }
    }

    /// The first cut's probe is answered, and with it the requests sent before the cut: where
    /// the contact measured the limit, the rate goes to just under it, and the limit learnt
    /// stays no higher. Down, where a burst that hid the limit made the start's doubling, or a
    /// window's measure, say more; up, from the start's cut, which halved what went out as a
    /// guess: waiting out the calm there and climbing back kept a burst of 0.1× from a 10×
    /// ceiling at 77% of the limit for a second, and its whole run under 0.95. The measure
    /// rests on the few answers between one burst's 429s and may be some percent low, so it is
    /// not taken for a refusal: the creep from the rate it sets is the one past `touched`,
    /// faster the longer the calm lasts. Held at its slowest up to a low measure,
    /// the rate stayed 10% under the limit for 15 s in the shapes' harness (burst 0.1×, jitter).
    /// A measure on a handful of answers far under the limit learnt before it may be a
    /// charging budget's stragglers: the rate goes down to it, but the limit learnt stays where
    /// it was, so that the climb back is the quick one and the next 429s measure again.
    fn contact_measured(&mut self) {
        let Some(contact) = self.contact.take_if(|c| c.is_cut()) else {
            return;
        };
        let Some(limit) = contact.limit() else {
            return;
        };
        self.rate = (limit * UNDER).clamp(self.floor, self.ceiling);
        self.touch(self.rate);
        if contact.rests_on_few() && self.known.is_some_and(|k| limit < k * DOUBTED) {
            return;
        }
        self.known = Some(self.known.map_or(limit, |k| k.min(limit)));
        self.guessed = false;
    }

    /// `rate` is where the server last refused (or where a measure set the pace): the creep
    /// past it counts its calm afresh from when the rate gets back there.
    fn touch(&mut self, rate: f64) {
        self.touched = Some(rate);
        self.past_since = None;
    }

    /// While 429s stay away: back quickly towards the limit last learnt, then creep.
    fn climb(&mut self, now: Duration, roomy: bool) {
        let calm = now.saturating_sub(self.last_cut) >= CALM;
        let since = now.saturating_sub(self.last_change);
        if !(calm && roomy && since >= STEP) {
            return;
        }
        let steps = (since.as_secs_f64() / STEP.as_secs_f64()).min(50.0);
        // Far below the limit last learnt, or with none learnt yet: climb quickly; near it,
        // creep, the faster the longer 429s stay away (the limit may be higher than learnt).
        let below = self.known.is_none_or(|k| self.rate < k * UNDER * 0.99);
        let below_touched = self.touched.is_some_and(|t| self.rate < t);
        if self.past_since.is_none() && !below_touched {
            self.past_since = Some(now);
        }
        let since = self
            .past_since
            .map_or(self.calm_since, |p| p.max(self.calm_since));
        let calm_for = now.saturating_sub(since).as_secs_f64();
        let speed = if below_touched && !self.guessed {
            1.0
        } else {
            (calm_for / 5.0).max(1.0).powi(2).min(16.0)
        };
        let creep = 1.0 + (CREEP - 1.0) * speed * by_request(self.rate);
        let factor = if below { CLIMB } else { creep };
        let mut rate = self.rate * factor.powf(steps);
        if let (true, Some(k)) = (below, self.known) {
            rate = rate.min(k * UNDER);
        }
        self.rate = rate.clamp(self.floor, self.ceiling);
        self.last_change = now;
    }

    /// The start's climb: double every `DOUBLING` (sooner where answers come sooner), never far
    /// past what goes out (a rate that concurrency holds back is not one the server has seen),
    /// until the ceiling; held while a budget's headers say it is nearly spent.
    fn start_climb(&mut self, now: Duration, roomy: bool, went: impl FnOnce() -> f64) {
        if !roomy {
            self.last_change = now;
            return;
        }
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
        let cap = (3.0 * went()).max(START);
        self.rate = (self.rate * factor)
            .min(cap.max(self.rate))
            .clamp(self.floor, self.ceiling);
        self.last_change = now;
        // At the ceiling, the learning takes over as from a ceiling start.
        self.starting = self.rate < self.ceiling;
    }

    /// Notes a budget's remaining. The fall begins where it last stood at its top (a full
    /// budget wastes what refills it); a rise (a refill outran the sending, or a window began)
    /// begins it afresh, and so does a fall older than `WINDOW`, past which the answers it is
    /// measured against are no longer kept.
    fn fall(&mut self, now: Duration, remaining: u32) {
        self.falling = match self.falling {
            Some((start @ (from, top), last))
                if remaining < top && remaining <= last && now.saturating_sub(from) <= WINDOW =>
            {
                Some((start, remaining))
            }
            _ => Some(((now, remaining), remaining)),
        };
    }

    /// The start's end where headers show the budget nearly spent: the rate goes to just under
    /// what the budget refills, measured as what the server took while it fell, less its fall,
    /// so that the requests behind are not refused. False, and the start goes on, where that
    /// measure is too short to trust or says the budget refills little of what it took (a
    /// window that empties and starts afresh, which the 429s will teach).
    fn spend_at_refill(&mut self, now: Duration) -> bool {
        let Some(((from, first), last)) = self.falling else {
            return false;
        };
        let span = now.saturating_sub(from);
        if span < FALLING_SPAN {
            return false;
        }
        let took = self.answered.iter().filter(|&&t| t > from).count() as f64;
        let refill = (took - f64::from(first.saturating_sub(last))) / span.as_secs_f64();
        if refill < took / span.as_secs_f64() * REFILLED || refill * UNDER >= self.rate {
            return false;
        }
        self.starting = false;
        // The headers measured the budget: a contact begun before them measures nothing more.
        self.contact = None;
        self.touch(refill);
        self.known = Some(refill);
        self.guessed = false;
        self.rate = (refill * UNDER)
            .clamp(self.floor, self.ceiling)
            .min(self.rate);
        self.calm_since = now;
        self.last_change = now;
        // The requests already on their way spend what is left and more: their 429s were
        // foreseen here, not a limit found lower.
        self.last_cut = now;
        true
    }

    /// Keeps the outcomes of the last `WINDOW`, and at least the last `SHARE_OF`.
    fn note(&mut self, now: Duration, limited: bool) {
        self.recent.push_back((now, limited));
        while self.recent.len() > SHARE_OF
            && self
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

    /// Requests per second answered (not 429) over the last `span` (at most `WINDOW`), or over
    /// the last `MEASURE_OF` × `span` ÷ `WINDOW` answers where those took longer: at 10 a
    /// second, a second holds 10 answers, and one more or less at its edges moved the measure
    /// by 10%.
    fn accepted_since(&mut self, now: Duration, span: Duration) -> f64 {
        while self.answered.len() > MEASURE_OF
            && self
                .answered
                .front()
                .is_some_and(|&t| now.saturating_sub(t) > WINDOW)
        {
            self.answered.pop_front();
        }
        let least = (MEASURE_OF as f64 * span.as_secs_f64() / WINDOW.as_secs_f64()) as usize;
        let span = self
            .answered
            .len()
            .checked_sub(least)
            .and_then(|i| self.answered.get(i))
            .or(self.answered.front())
            .map_or(span, |&t| span.max(now.saturating_sub(t)));
        super::per_second(&self.answered, now, span)
    }
}
