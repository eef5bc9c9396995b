//! The executor's state machine: every decision of a run, over plain data, with time passed in
//! as the time since the run started (the `quinn-proto` half of the executor; `run` is the
//! `quinn` half that does the I/O). What to send next and when (`poll_transmit`,
//! `poll_timeout`), what an answer means (`on_answer`), what to write to the journal before a
//! step counts (`poll_commit`, `on_committed`), when to stop (`interrupt`, the safety stop, a
//! refused key, a wait beyond `--max-wait`) and how the run ends (`end`). Only this changes a
//! step's tries.
//!
//! The call order, which the driver (`exec::run`) and the shape harness (`exec::shapes`) keep:
//!
//! 1. `Machine::new`, then `owe_settles` for the settle re-reads a resume owes;
//! 2. each turn, at one `now`: `poll_transmit(now)` until `None`, each request sent (its intent
//!    journaled first; `on_not_sent` if that fails); `poll_commit(now)` until `None`, each made
//!    durable; `poll_event()` until `None`, for the terminal; `is_over(now)` ends the loop;
//! 3. wait until the earliest of `poll_timeout(now)`, an answer, a commit made durable and
//!    Ctrl-C, then feed what came: `on_answer` (decided by what was asked, applied in one
//!    place), `on_committed` or `on_commit_failed`, `interrupt`;
//! 4. `poll_event()` for what is left, then `end()`.

use super::guard::{Guard, Limits, Trip};
use super::pace::{Holding, Pacer, Signal};
use super::retry::{
    Decision, RetryPolicy, Settled, Tries, after_check, after_settle, after_write,
    may_be_waited_out, quiet_left, settle_due, too_long, under_way_until,
};
use super::schedule::{Scheduler, Skip};
use crate::api::{DOCUMENTED_SUCCESS, RateInfo, Read, Write};
use crate::journal::{Record, StepState};
use crate::model::email_key;
use crate::plan::{Groups, Step, StepId, StepKind};
use hashbrown::HashMap;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

#[derive(Debug, Clone)]
pub struct Settings {
    pub concurrency: usize,
    /// The ceiling, in requests per second.
    pub rate: f64,
    pub policy: RetryPolicy,
    /// When failures stop the run by themselves.
    pub limits: Limits,
    /// The org, for SCIM unlinks; a plan with unlink steps needs it.
    pub org_id: String,
}

/// What the executor tells whoever owns the terminal.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Begin {
        total: usize,
        finished_before: usize,
        /// Steps a dead run left in flight, read before anything else.
        to_check: Vec<StepId>,
    },
    Done {
        step: StepId,
    },
    Failed {
        step: StepId,
        message: String,
    },
    Skipped {
        step: StepId,
        because: StepId,
    },
    /// The step will be sent (or its account read) again.
    Retrying {
        step: StepId,
        why: String,
    },
    /// The pace changed: the rate now, and whether and why everyone is paused.
    Pace {
        rate: f64,
        paused_for: Option<Duration>,
        told_by: Option<&'static str>,
    },
    /// Ctrl-C: no new steps are started.
    Stopping,
    /// Too many failures: no new steps are started.
    SafetyStop(Trip),
}

/// How the run ended.
#[derive(Debug)]
pub enum End {
    /// Every step was carried out or ended (failed or skipped).
    Finished,
    /// Ctrl-C: steps under way were finished or journaled, the rest are left.
    Interrupted,
    /// The API refused the key; nothing else could succeed.
    Refused(String),
    /// The journal could not be written; nothing more was sent.
    Journal(crate::journal::JournalError),
    /// Too many steps failed: steps under way were finished or journaled, the rest are left.
    SafetyStop(Trip),
    /// The server asked to wait longer than `--max-wait`: the run stopped instead (resumable).
    WaitTooLong {
        wait: Duration,
        told_by: Option<&'static str>,
    },
}

impl End {
    /// How the run ended, as the JSON summary names it.
    pub fn name(&self) -> &'static str {
        match self {
            End::Finished => "finished",
            End::Interrupted => "interrupted",
            End::SafetyStop(_) => "safety_stop",
            End::Refused(_) => "refused",
            End::Journal(_) => "journal_failed",
            End::WaitTooLong { .. } => "wait_too_long",
        }
    }
}

/// Figures of the run, for the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests that went out (whatever came back); not those a stop held back.
    pub writes: u64,
    pub reads: u64,
    pub rate_limited: u64,
    pub transient: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Write,
    Check,
    /// The re-read of an account once its group is done, after an uncertain write in it.
    Settle,
}

/// A request to send now. A write's intent goes to the journal first.
#[derive(Debug, Clone, PartialEq)]
pub struct Transmit {
    pub step: StepId,
    pub kind: Kind,
    /// For a write: the intent to make durable before the request leaves.
    pub intent: Option<Record>,
}

/// What came back for a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Write(Write, RateInfo),
    Read(Read, RateInfo),
}

/// Records to make durable, and what the machine does once they are.
#[derive(Debug, Clone, PartialEq)]
pub struct Commit {
    pub records: Vec<Record>,
    pub then: Then,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Then {
    Done(StepId),
    Failed(StepId, String, Vec<Skip>),
    Skipped(Vec<Skip>),
    Nothing,
}

/// Work waiting for its time: (due, step, kind), soonest first.
type Later = BinaryHeap<Reverse<(Duration, StepId, Kind)>>;

pub struct Machine {
    steps: Arc<[Step]>,
    settings: Settings,
    wall_start: SystemTime,
    scheduler: Scheduler,
    pacer: Pacer,
    guard: Guard,
    rng: StdRng,
    vacated: Vec<Option<StepId>>,
    /// For each step (by index), the SCIM unlink of its account it waits for, if any.
    unlinked: Vec<Option<StepId>>,
    groups: Arc<Groups>,
    tries: HashMap<StepId, Tries>,
    settle_tries: HashMap<StepId, Tries>,
    done: Vec<bool>,
    /// Groups with a write whose outcome was uncertain, and until when it may be under way.
    unsettled: HashMap<u32, Duration>,
    /// Steps whose last attempt is journaled as not applied: sending one again is no
    /// uncertainty.
    closed: hashbrown::HashSet<StepId>,
    /// Groups whose settle reads are under way, and how many have yet to find their account
    /// at its planned address; at none, the group's `settled` record is journaled.
    settling: HashMap<u32, usize>,
    later: Later,
    /// A new step taken from the scheduler, waiting for its pace slot.
    next_new: Option<StepId>,
    in_flight: usize,
    commits: VecDeque<Commit>,
    commits_pending: usize,
    events: VecDeque<Event>,
    stopping: bool,
    fatal: Option<End>,
    safety: Option<Trip>,
    /// Retries that were waiting when the run stopped: recorded as not applied.
    unsent: Vec<StepId>,
    unsent_recorded: bool,
    stats: Stats,
    last_rate: f64,
}

impl Machine {
    /// The machine for the steps the journal says are left (`states`; `chosen` by index, empty
    /// for all, is a pilot's selection). `groups` is the steps' group index, built once from the
    /// plan by whoever runs it (the pilot's selection reads the same one). `wall_start` is the
    /// wall-clock time of `now = 0`, to stamp records and to tell how old a dead run's intents
    /// are. `pacer` is the key's pace, as the reads before the run left it.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        steps: Arc<[Step]>,
        groups: Arc<Groups>,
        states: &[StepState],
        chosen: &[bool],
        settings: Settings,
        pacer: Pacer,
        wall_start: SystemTime,
        seed: u64,
    ) -> Machine {
        let (scheduler, in_flight, skips) = Scheduler::new(&steps, states, chosen);
        let mut done: Vec<bool> = states
            .iter()
            .map(|s| matches!(s, StepState::Done { .. }))
            .collect();
        done.resize(steps.len(), false);
        let mut m = Machine {
            vacated: vacated_by(&steps),
            unlinked: unlinked_by(&steps),
            groups,
            guard: Guard::new(settings.limits),
            last_rate: settings.rate,
            steps,
            wall_start,
            scheduler,
            pacer,
            rng: StdRng::seed_from_u64(seed),
            tries: HashMap::new(),
            settle_tries: HashMap::new(),
            done,
            unsettled: HashMap::new(),
            settling: HashMap::new(),
            closed: hashbrown::HashSet::new(),
            later: BinaryHeap::new(),
            next_new: None,
            in_flight: 0,
            commits: VecDeque::new(),
            commits_pending: 0,
            events: VecDeque::new(),
            stopping: false,
            fatal: None,
            safety: None,
            unsent: Vec::new(),
            unsent_recorded: false,
            stats: Stats::default(),
            settings,
        };
        let policy = m.settings.policy;
        for &id in &in_flight {
            let (attempt, sent) = match states.get(id.index()) {
                Some(StepState::InFlight { attempt, sent, .. }) => (*attempt, *sent),
                _ => (0, None),
            };
            // A dead run's write may still be under way: not read before it can have ended.
            let elapsed = sent.map_or(Duration::ZERO, |at| {
                wall_start.duration_since(at).unwrap_or(Duration::ZERO)
            });
            let quiet = quiet_left(elapsed, &policy);
            let group = m.step(id).group;
            let t = m.tries_mut(id);
            t.writes = attempt;
            t.under_way_until = Some(quiet);
            m.unsettled.insert(group, quiet);
            m.push(quiet, id, Kind::Check);
        }
        let finished_before = states.iter().filter(|s| s.is_final()).count();
        m.events.push_back(Event::Begin {
            total: finished_before + m.scheduler.unfinished() + skips.len(),
            finished_before,
            to_check: in_flight,
        });
        if !skips.is_empty() {
            let records = skips
                .iter()
                .map(|s| m.skip_record(s, Duration::ZERO))
                .collect();
            m.commit(records, Then::Skipped(skips));
        }
        m
    }

    /// The settle reads earlier runs owed (`journal::owed_settles`): made before anything
    /// counts as done, once the group's writes cannot be under way and reads cannot lag behind
    /// them; a group not yet done is read once it is.
    pub fn owe_settles(&mut self, owed: &[crate::journal::Owed]) {
        if owed.is_empty() {
            return;
        }
        let policy = self.settings.policy;
        for o in owed {
            let Some(&step) = self.groups.by_number(o.group).first() else {
                continue;
            };
            let elapsed = o.last_sent.map_or(Duration::ZERO, |at| {
                self.wall_start.duration_since(at).unwrap_or(Duration::ZERO)
            });
            let quiet = quiet_left(elapsed, &policy);
            let complete = self
                .groups
                .by_number(o.group)
                .iter()
                .all(|m| self.done.get(m.index()).copied().unwrap_or(false));
            if complete {
                self.settle(o.group, step, quiet, Duration::ZERO);
            } else {
                self.unsettle(o.group, quiet);
            }
        }
    }

    fn step(&self, id: StepId) -> &Step {
        &self.steps[id.index()]
    }

    fn tries_mut(&mut self, id: StepId) -> &mut Tries {
        let fresh = self.fresh_tries(id);
        self.tries.entry(id).or_insert(fresh)
    }

    /// A step's tries before its first answer: which steps of the plan it waits out.
    fn fresh_tries(&self, id: StepId) -> Tries {
        Tries {
            vacated_by: self.vacated.get(id.index()).copied().flatten(),
            unlinked_by: self.unlinked.get(id.index()).copied().flatten(),
            ..Tries::default()
        }
    }

    /// The wall-clock time `now` stands for, as the journal writes it.
    fn at(&self, now: Duration) -> String {
        let t = self.wall_start.checked_add(now).unwrap_or(self.wall_start);
        humantime::format_rfc3339_millis(t).to_string()
    }

    /// Queues work on a step, never before an uncertain write of it may have ended.
    fn push(&mut self, due: Duration, id: StepId, kind: Kind) {
        let quiet = self.tries.get(&id).and_then(|t| t.under_way_until);
        let due = quiet.map_or(due, |q| due.max(q));
        self.later.push(Reverse((due, id, kind)));
    }

    fn commit(&mut self, records: Vec<Record>, then: Then) {
        self.commits_pending += 1;
        self.commits.push_back(Commit { records, then });
    }

    fn skip_record(&self, s: &Skip, now: Duration) -> Record {
        Record::Skipped {
            step: s.step,
            because: s.because,
            at: self.at(now),
        }
    }

    /// The group of `id` had a write whose outcome was not known from its answer, which may be
    /// under way until `quiet`: it is read again once done. The same attempts the journal calls
    /// uncertain (`journal::owed_settles`), so that a run's settles and a resume's agree.
    fn uncertain(&mut self, id: StepId, quiet: Duration) {
        self.unsettle(self.step(id).group, quiet);
    }

    /// `group` is read again once done, not before its writes can no longer be under way
    /// (`quiet`, the latest of all its uncertain writes).
    fn unsettle(&mut self, group: u32, quiet: Duration) {
        let q = self.unsettled.entry(group).or_insert(quiet);
        *q = (*q).max(quiet);
    }

    fn not_applied(&mut self, id: StepId, now: Duration) {
        self.closed.insert(id);
        let record = Record::NotApplied {
            step: id,
            at: self.at(now),
        };
        self.commit(vec![record], Then::Nothing);
    }

    fn stop(&mut self) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        self.next_new = None;
        let (writes, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.later)
            .into_iter()
            .partition(|Reverse((_, _, k))| *k == Kind::Write);
        // Those journaled as not applied already need no second record.
        let closed = &self.closed;
        self.unsent.extend(
            writes
                .into_iter()
                .map(|Reverse((_, id, _))| id)
                .filter(|id| !closed.contains(id)),
        );
        self.later.extend(rest);
    }

    fn fail_run(&mut self, end: End) {
        self.fatal.get_or_insert(end);
        self.stop();
    }

    /// Ctrl-C: no new steps, nothing waiting for its turn is sent; reads that are due settle
    /// what they can, the rest stays in the journal to check.
    pub fn interrupt(&mut self) {
        if !self.stopping {
            self.events.push_back(Event::Stopping);
        }
        self.stop();
    }

    /// A commit's records could not be written: nothing more is sent.
    pub fn on_commit_failed(&mut self, e: crate::journal::JournalError) {
        self.commits_pending = self.commits_pending.saturating_sub(1);
        self.fail_run(End::Journal(e));
    }

    /// The next request to send at `now`, if the pace, the concurrency and the plan allow one.
    /// While stopping, only reads that are due.
    pub fn poll_transmit(&mut self, now: Duration) -> Option<Transmit> {
        // The next new step is taken from the scheduler at once (it is then running, its
        // account busy), so that whether any is left is known without sending.
        if !self.stopping && self.next_new.is_none() {
            self.next_new = self.scheduler.next_step();
        }
        if self.in_flight >= self.settings.concurrency
            || self.pacer.ready_at(now) > now
            || matches!(self.fatal, Some(End::Journal(_)))
        {
            return None;
        }
        let due = self
            .later
            .peek()
            .is_some_and(|Reverse((due, _, _))| *due <= now);
        let (id, kind) = if due {
            let Reverse((_, id, kind)) = self.later.pop()?;
            (id, kind)
        } else if self.stopping {
            return None;
        } else {
            (self.next_new.take()?, Kind::Write)
        };
        self.pacer.book(now);
        self.in_flight += 1;
        if kind == Kind::Write && !self.closed.remove(&id) {
            // Sent again, and its last attempt not known to have failed to land.
            let sent_before = self.tries.get(&id).filter(|t| t.writes > 0);
            if let Some(quiet) = sent_before.map(|t| t.under_way_until.unwrap_or(now)) {
                self.uncertain(id, quiet);
            }
        }
        let intent = (kind == Kind::Write).then(|| {
            let at = self.at(now);
            let t = self.tries_mut(id);
            t.writes += 1;
            Record::Intent {
                step: id,
                attempt: t.writes,
                at,
            }
        });
        Some(Transmit {
            step: id,
            kind,
            intent,
        })
    }

    /// When to call `poll_transmit` again (`None`: only an answer or a commit can help). While
    /// stopping, nothing is waited for but the answers under way.
    pub fn poll_timeout(&self, now: Duration) -> Option<Duration> {
        if self.in_flight >= self.settings.concurrency || self.stopping {
            return None;
        }
        let job = self.later.peek().map(|Reverse((due, _, _))| *due);
        let new = self.next_new.map(|_| now);
        let soonest = match (job, new) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        Some(self.pacer.ready_at(soonest))
    }

    /// Records to make durable next, at `now`.
    pub fn poll_commit(&mut self, now: Duration) -> Option<Commit> {
        if let Some(c) = self.commits.pop_front() {
            return Some(c);
        }
        // Once everything else has ended, the retries a stop held back are recorded.
        if self.stopping
            && !self.unsent_recorded
            && self.in_flight == 0
            && self.commits_pending == 0
            && !matches!(self.fatal, Some(End::Journal(_)))
        {
            self.unsent_recorded = true;
            let unsent = std::mem::take(&mut self.unsent);
            if !unsent.is_empty() {
                let records = unsent
                    .iter()
                    .map(|&step| Record::NotApplied {
                        step,
                        at: self.at(now),
                    })
                    .collect();
                self.commits_pending += 1;
                return Some(Commit {
                    records,
                    then: Then::Nothing,
                });
            }
        }
        None
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Whether the run is over at `now` (call after `poll_transmit`): nothing in flight, nothing
    /// to commit, and nothing left that may run. Stopping, reads that are not due (or that a
    /// pause holds back) are left: the journal keeps their steps to check.
    pub fn is_over(&self, now: Duration) -> bool {
        // `commits_pending` counts the queued commits too.
        let idle = self.in_flight == 0 && self.commits_pending == 0;
        if !idle {
            return false;
        }
        if self.stopping {
            let sendable = self
                .later
                .peek()
                .is_some_and(|Reverse((due, _, _))| *due <= now)
                && self.pacer.ready_at(now) <= now;
            let recorded = self.unsent_recorded || matches!(self.fatal, Some(End::Journal(_)));
            return recorded && !sendable;
        }
        // Nothing queued and no new step ready: a step still waiting needs one that will not
        // finish in this run.
        self.later.is_empty() && self.next_new.is_none()
    }

    /// A commit's records are durable.
    pub fn on_committed(&mut self, then: Then, now: Duration) {
        self.commits_pending = self.commits_pending.saturating_sub(1);
        match then {
            Then::Done(id) => {
                self.scheduler.done(id);
                self.events.push_back(Event::Done { step: id });
                if let Some(slot) = self.done.get_mut(id.index()) {
                    *slot = true;
                }
                // Its tally is needed no more, unless its group is still to be read back (a
                // late write found then fails this step with its attempts).
                let group = self.step(id).group;
                if !self.unsettled.contains_key(&group) {
                    self.tries.remove(&id);
                }
                // A group that had an uncertain write is read again once done, after the writes
                // can have ended and a settle delay. A group of one step is complete with it.
                let complete = self
                    .groups
                    .by_number(group)
                    .iter()
                    .all(|&m| self.done.get(m.index()).copied().unwrap_or(false));
                if let Some(quiet) = complete.then(|| self.unsettled.remove(&group)).flatten() {
                    self.settle(group, id, quiet, now);
                }
            }
            Then::Failed(id, message, skips) => {
                self.events.push_back(Event::Failed { step: id, message });
                for s in skips {
                    self.events.push_back(Event::Skipped {
                        step: s.step,
                        because: s.because,
                    });
                }
            }
            Then::Skipped(skips) => {
                for s in skips {
                    self.events.push_back(Event::Skipped {
                        step: s.step,
                        because: s.because,
                    });
                }
            }
            Then::Nothing => {}
        }
    }

    /// Schedules the settle reads of `group` (`step` is one of its steps), whose steps are done
    /// and whose writes may be under way until `quiet`: one read of each of its accounts, after
    /// its last step.
    fn settle(&mut self, group: u32, step: StepId, quiet: Duration, now: Duration) {
        let due = settle_due(now, quiet, &self.settings.policy);
        let mut last = self.groups.last_of_accounts(group).to_vec();
        if last.is_empty() {
            last.push(step);
        }
        self.settling.insert(group, last.len());
        for account_step in last {
            self.later.push(Reverse((due, account_step, Kind::Settle)));
        }
    }

    /// A settle read found its account at its planned address; once every account of the group
    /// has been, the group's `settled` record is journaled and a resume owes it nothing.
    fn settled_one(&mut self, id: StepId, now: Duration) {
        let group = self.step(id).group;
        let Some(left) = self.settling.get_mut(&group) else {
            return;
        };
        *left = left.saturating_sub(1);
        if *left == 0 {
            self.settling.remove(&group);
            let record = Record::Settled {
                group,
                at: self.at(now),
            };
            self.commit(vec![record], Then::Nothing);
        }
    }

    /// A request could not be sent because its intent could not be journaled.
    pub fn on_not_sent(&mut self, e: crate::journal::JournalError) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.fail_run(End::Journal(e));
    }

    /// The answer to a request sent at `sent_at`, received at `now`: decided by what was
    /// asked (`settle_answer`, `write_answer`, `check_answer`, each returning a `Verdict`),
    /// then applied in one place (`apply`).
    pub fn on_answer(
        &mut self,
        now: Duration,
        step: StepId,
        kind: Kind,
        sent_at: Duration,
        answer: Answer,
    ) {
        self.in_flight = self.in_flight.saturating_sub(1);
        // One draw per answer, whatever it is, so that a run's retries are the same for a seed.
        let jitter = self.rng.random_range(0.7..1.3);
        let verdict = match (kind, answer) {
            (Kind::Settle, Answer::Read(read, info)) => {
                self.settle_answer(now, step, sent_at, &read, info, jitter)
            }
            (Kind::Settle, Answer::Write(..)) => return,
            (_, Answer::Write(w, info)) => self.write_answer(now, step, sent_at, &w, info, jitter),
            (_, Answer::Read(r, info)) => self.check_answer(now, step, sent_at, &r, info, jitter),
        };
        self.apply(now, step, kind, verdict);
    }

    /// A settle re-read's answer: is the group's account where the plan put it?
    fn settle_answer(
        &mut self,
        now: Duration,
        id: StepId,
        sent_at: Duration,
        read: &Read,
        info: RateInfo,
        jitter: f64,
    ) -> Verdict {
        let policy = self.settings.policy;
        self.stats.reads += 1;
        let mut t = self.settle_tries.remove(&id).unwrap_or_default();
        let told = self.take_in(now, sent_at, info, heard_read(read), &mut t);
        if let Some((wait, told_by)) = told {
            self.settle_tries.insert(id, t);
            return Verdict::TooLong {
                wait,
                told_by,
                not_applied: false,
            };
        }
        if matches!(read, Read::Transient { .. }) {
            t.failed_reads += 1;
        }
        let s = &self.steps[id.index()];
        let earlier: Vec<&str> = self
            .groups
            .by_number(s.group)
            .iter()
            .map(|&m| &self.steps[m.index()])
            .filter(|m| m.account_id == s.account_id)
            .map(|m| &*m.from)
            .collect();
        let settled = after_settle(&s.to, &earlier, read, &t, &policy, jitter);
        drop(earlier);
        if matches!(settled, Settled::Again { .. }) && matches!(read, Read::Email(_)) {
            t.stale_reads += 1;
        }
        self.settle_tries.insert(id, t);
        Verdict::Settle(settled)
    }

    /// A write's answer: what it means for its step.
    fn write_answer(
        &mut self,
        now: Duration,
        id: StepId,
        sent_at: Duration,
        w: &Write,
        info: RateInfo,
        jitter: f64,
    ) -> Verdict {
        let policy = self.settings.policy;
        let limited = matches!(w, Write::RateLimited { .. });
        self.stats.writes += 1;
        // A 429 is certainly not applied; a 5xx that asks for the wait may have been, and stays
        // to check.
        let mut t = match self.take_step_answer(now, id, sent_at, info, heard_write(w), limited) {
            Ok(t) => t,
            Err(too_long) => return too_long,
        };
        if matches!(
            w,
            Write::Transient {
                maybe_applied: true,
                ..
            }
        ) {
            // It may still be under way at the server: nothing more on this account until it
            // cannot be, and its group is read again once done.
            let quiet = under_way_until(sent_at, &policy);
            t.under_way_until = Some(t.under_way_until.map_or(quiet, |q| q.max(quiet)));
            let group = self
                .unsettled
                .entry(self.steps[id.index()].group)
                .or_insert(quiet);
            *group = (*group).max(quiet);
        }
        if let Write::Rejected { status, key, .. } = w
            && may_be_waited_out(*status, key.as_deref())
        {
            t.taken += 1;
        }
        // Each write starts afresh; a refusal is kept only while it is explained.
        t.refused = None;
        let explain = self.step(id).kind != StepKind::Unlink;
        let decision = after_write(w, &t, &policy, jitter, explain);
        self.tries.insert(id, t);
        Verdict::Step { decision, limited }
    }

    /// Takes a step's tries out to be updated by its answer, with the answer taken in (`take_in`);
    /// a wait beyond `--max-wait` puts them back and is the verdict (`not_applied`: the write
    /// was certainly not applied).
    fn take_step_answer(
        &mut self,
        now: Duration,
        id: StepId,
        sent_at: Duration,
        info: RateInfo,
        heard: Heard,
        not_applied: bool,
    ) -> Result<Tries, Verdict> {
        let fresh = self.fresh_tries(id);
        let mut t = self.tries.remove(&id).unwrap_or(fresh);
        match self.take_in(now, sent_at, info, heard, &mut t) {
            None => Ok(t),
            Some((wait, told_by)) => {
                self.tries.insert(id, t);
                Err(Verdict::TooLong {
                    wait,
                    told_by,
                    not_applied,
                })
            }
        }
    }

    /// A check's answer (the account read after an uncertain write, or to explain a refusal).
    fn check_answer(
        &mut self,
        now: Duration,
        id: StepId,
        sent_at: Duration,
        r: &Read,
        info: RateInfo,
        jitter: f64,
    ) -> Verdict {
        let policy = self.settings.policy;
        self.stats.reads += 1;
        let mut t = match self.take_step_answer(now, id, sent_at, info, heard_read(r), false) {
            Ok(t) => t,
            Err(too_long) => return too_long,
        };
        if matches!(r, Read::Transient { .. }) {
            t.failed_reads += 1;
        }
        let s = self.step(id);
        let decision = after_check(&s.from, &s.to, r, &t, &policy, jitter);
        self.tries.insert(id, t);
        Verdict::Step {
            decision,
            limited: false,
        }
    }

    /// Carries out what an answer decided: the one place a step's outcome, its retry or the
    /// run's stop is acted on.
    fn apply(&mut self, now: Duration, id: StepId, kind: Kind, verdict: Verdict) {
        match verdict {
            Verdict::TooLong {
                wait,
                told_by,
                not_applied,
            } => {
                if not_applied {
                    self.not_applied(id, now);
                }
                self.fail_run(End::WaitTooLong { wait, told_by });
            }
            Verdict::Settle(settled) => self.apply_settle(now, id, settled),
            Verdict::Step { decision, limited } => {
                self.tell_pace(now);
                self.apply_step(now, id, kind, decision, limited);
            }
        }
    }

    fn apply_settle(&mut self, now: Duration, id: StepId, settled: Settled) {
        match settled {
            Settled::Fine => self.settled_one(id, now),
            Settled::Again { after } => {
                self.later
                    .push(Reverse((now.saturating_add(after), id, Kind::Settle)));
            }
            Settled::Wrong { key, message } => {
                self.guard.record(true);
                let writes = self.tries.get(&id).map_or(0, |t| t.writes);
                self.fail_step(now, id, None, Some(key.into()), message, writes, Vec::new());
            }
            Settled::Stop { message } => self.fail_run(End::Refused(message)),
        }
    }

    fn apply_step(
        &mut self,
        now: Duration,
        id: StepId,
        kind: Kind,
        decision: Decision,
        limited: bool,
    ) {
        let ended = match &decision {
            Decision::Done { .. } => self.guard.record(false),
            Decision::Fail { .. } => self.guard.record(true),
            _ => None,
        };
        if let Some(trip) = ended.filter(|_| !self.stopping) {
            self.safety = Some(trip);
            self.stop();
            self.events.push_back(Event::SafetyStop(trip));
        }
        let (writes, under_way_until) = self
            .tries
            .get(&id)
            .map_or((0, None), |t| (t.writes, t.under_way_until));
        match decision {
            Decision::Done { status } => {
                if status.is_none() {
                    // Learnt by reading the account: no answer said the write landed.
                    self.uncertain(id, under_way_until.unwrap_or(now));
                }
                let record = Record::Done {
                    step: id,
                    status,
                    attempts: writes,
                    at: self.at(now),
                };
                self.commit(vec![record], Then::Done(id));
            }
            Decision::Fail {
                status,
                key,
                message,
            } => {
                let skips = self.scheduler.failed(id);
                self.fail_step(now, id, status, key, message, writes, skips);
            }
            Decision::Send { .. } if self.stopping => self.not_applied(id, now),
            Decision::Send { after } => {
                let why = self
                    .tries
                    .get(&id)
                    .map_or_else(String::new, |t| retry_reason(kind, limited, t));
                // No attempt of it can be under way (a 429, a refusal, a connection never
                // made): the journal says so, and sending it again is no uncertainty.
                if under_way_until.is_none() {
                    self.not_applied(id, now);
                }
                self.events.push_back(Event::Retrying { step: id, why });
                self.push(now.saturating_add(after), id, Kind::Write);
            }
            Decision::Check { after } => {
                if kind == Kind::Write {
                    self.events.push_back(Event::Retrying {
                        step: id,
                        why: "checking whether the change was applied".into(),
                    });
                }
                self.push(now.saturating_add(after), id, Kind::Check);
            }
            Decision::Explain(refusal) => {
                self.events.push_back(Event::Retrying {
                    step: id,
                    why: format!(
                        "reading the account to explain a refusal: {}",
                        refusal.message
                    ),
                });
                if let Some(t) = self.tries.get_mut(&id) {
                    t.refused = Some(refusal);
                }
                self.push(now, id, Kind::Check);
            }
            Decision::Stop { message } => {
                if kind == Kind::Write {
                    self.not_applied(id, now);
                }
                self.fail_run(End::Refused(message));
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn fail_step(
        &mut self,
        now: Duration,
        id: StepId,
        status: Option<u16>,
        key: Option<String>,
        message: String,
        attempts: u32,
        skips: Vec<Skip>,
    ) {
        let mut records = vec![Record::Failed {
            step: id,
            status,
            key,
            message: message.clone(),
            attempts,
            at: self.at(now),
        }];
        records.extend(skips.iter().map(|s| self.skip_record(s, now)));
        self.commit(records, Then::Failed(id, message, skips));
    }

    /// The key's pace: what it has learnt is worth keeping for the next run.
    pub fn pacer(&self) -> &Pacer {
        &self.pacer
    }

    /// Tells the terminal when the pace changed or a pause began.
    fn tell_pace(&mut self, now: Duration) {
        let rate = self.pacer.rate();
        let holding = self.pacer.holding(now);
        if (rate - self.last_rate).abs() > self.last_rate * 0.04 || holding != Holding::Pacing {
            self.last_rate = rate;
            let (paused_for, told_by) = match holding {
                Holding::Paused { told_by } => {
                    (Some(self.pacer.paused_until().saturating_sub(now)), told_by)
                }
                Holding::Pacing => (None, None),
            };
            self.events.push_back(Event::Pace {
                rate,
                paused_for,
                told_by,
            });
        }
    }

    /// Feeds an answer to the pacer and counts it against the step and the run. A wait the
    /// server asks for beyond `--max-wait` is not taken in but returned: the run stops instead.
    fn take_in(
        &mut self,
        now: Duration,
        sent_at: Duration,
        info: RateInfo,
        heard: Heard,
        t: &mut Tries,
    ) -> Option<(Duration, Option<&'static str>)> {
        let policy = self.settings.policy;
        let signal = match heard {
            Heard::Answered => Signal::Answered {
                remaining: info.remaining,
                limit: info.limit,
            },
            Heard::Limited { wait, told_by } => {
                t.rate_limited += 1;
                self.stats.rate_limited += 1;
                if let Some(wait) = too_long(wait, &policy) {
                    return Some((wait, told_by));
                }
                Signal::Limited { wait, told_by }
            }
            Heard::Lost(problem, wait) => {
                t.transient += 1;
                self.stats.transient += 1;
                if problem.is_some() {
                    t.last_problem = problem;
                }
                self.pacer.observe(now, sent_at, Signal::Lost);
                return too_long(wait, &policy).map(|w| (w, Some("Retry-After")));
            }
            Heard::Unconfirmed(problem) => {
                t.transient += 1;
                self.stats.transient += 1;
                t.last_problem = Some(problem);
                Signal::Answered {
                    remaining: info.remaining,
                    limit: info.limit,
                }
            }
            Heard::Nothing => {
                self.pacer.observe(now, sent_at, Signal::Lost);
                return None;
            }
        };
        self.pacer.observe(now, sent_at, signal);
        None
    }

    /// How the run ended, with its figures, and the pace as it stands (for whoever reads next).
    pub fn end(self) -> (End, Stats, Pacer) {
        let end = match (self.fatal, self.safety) {
            (Some(end), _) => end,
            (None, Some(trip)) => End::SafetyStop(trip),
            (None, None) if self.stopping => End::Interrupted,
            (None, None) => End::Finished,
        };
        (end, self.stats, self.pacer)
    }
}

/// What an answer tells the pacer and the step's tally.
/// What an answer decided, before it is carried out (`Machine::apply`).
enum Verdict {
    /// A settle re-read's outcome.
    Settle(Settled),
    /// A write's or a check's decision for its step; `limited`: the write was answered 429.
    Step { decision: Decision, limited: bool },
    /// The server asked to wait beyond `--max-wait`: the run stops (`not_applied`: the
    /// write was certainly not applied, a 429).
    TooLong {
        wait: Duration,
        told_by: Option<&'static str>,
        not_applied: bool,
    },
}

enum Heard {
    Answered,
    Limited {
        wait: Option<Duration>,
        told_by: Option<&'static str>,
    },
    /// A transient failure; a write's keeps its detail for the message if the step gives up,
    /// with the wait the server asked for, if any.
    Lost(Option<(Option<u16>, String)>, Option<Duration>),
    /// A write answered with a success other than the documented one: the step counts it as a
    /// try to check, but the server took the request, and the pace counts it as accepted.
    Unconfirmed((Option<u16>, String)),
    /// A refused key: nothing to learn.
    Nothing,
}

fn heard_write(w: &Write) -> Heard {
    match w {
        Write::Applied { .. } | Write::Rejected { .. } => Heard::Answered,
        Write::Unconfirmed { status } => Heard::Unconfirmed((
            Some(*status),
            format!("HTTP {status}, not the documented {DOCUMENTED_SUCCESS}"),
        )),
        Write::RateLimited { wait, told_by } => Heard::Limited {
            wait: *wait,
            told_by: *told_by,
        },
        Write::Transient {
            status,
            detail,
            wait,
            ..
        } => Heard::Lost(Some((*status, detail.clone())), *wait),
        Write::Unauthorized { .. } => Heard::Nothing,
    }
}

fn heard_read(r: &Read) -> Heard {
    match r {
        Read::Email(_) | Read::Linked(_) | Read::NotFound | Read::Other { .. } => Heard::Answered,
        Read::RateLimited { wait, told_by } => Heard::Limited {
            wait: *wait,
            told_by: *told_by,
        },
        Read::Transient { .. } => Heard::Lost(None, None),
        Read::Unauthorized { .. } => Heard::Nothing,
    }
}

/// Why a step is sent again, for the progress line: what the answer to `kind` said (`limited`:
/// it was a 429).
fn retry_reason(kind: Kind, limited: bool, t: &Tries) -> String {
    match (kind, &t.last_problem) {
        (Kind::Write, _) if limited => "rate limited (429)".into(),
        (Kind::Write, Some((_, detail))) => detail.clone(),
        // A read that explained a refusal: the address is taken, by the API's lagging uniqueness.
        (Kind::Check, _) if t.refused.is_some() => {
            "the address is still taken, although this plan vacated it: waiting for the API to catch up".into()
        }
        _ => "the change was not applied: sending it again".into(),
    }
}

/// For each step (by index), the step of the plan it needs that vacates its target: a free, a
/// chain's link or a cycle's temporary whose `from` is this step's `to`.
fn vacated_by(steps: &[Step]) -> Vec<Option<StepId>> {
    steps
        .iter()
        .map(|s| {
            let to = email_key(&s.to);
            s.after.iter().copied().find(|&d| {
                steps
                    .get(d.index())
                    .is_some_and(|n| email_key(&n.from) == to)
            })
        })
        .collect()
}

/// For each step (by index), the unlink of the same account among the steps it needs: the
/// free that follows an unlink may meet the SCIM lock for a while after it.
fn unlinked_by(steps: &[Step]) -> Vec<Option<StepId>> {
    steps
        .iter()
        .map(|s| {
            s.after.iter().copied().find(|&d| {
                steps
                    .get(d.index())
                    .is_some_and(|n| n.kind == StepKind::Unlink && n.account_id == s.account_id)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::TAKEN;
    use crate::plan::step_of as step;

    #[test]
    fn a_step_knows_which_step_of_the_plan_vacates_its_target() {
        // A swap: 1 parks a, 2 takes a's address, 3 takes b's; 4 is a plain rename.
        let mut steps = vec![
            step(1, "a", "a@x", "a_MOVING@x", &[]),
            step(2, "b", "b@x", "a@x", &[1]),
            step(3, "a", "a_MOVING@x", "b@x", &[2]),
            step(4, "c", "c@old", "c@x", &[]),
        ];
        for s in &mut steps[..3] {
            s.group = 1;
        }
        steps[3].group = 2;
        assert_eq!(
            vacated_by(&steps),
            vec![None, Some(StepId(1)), Some(StepId(2)), None]
        );
        let groups = Groups::of_steps(&steps);
        // The swap's accounts end on their last steps: a on 3, b on 2.
        assert_eq!(groups.by_number(1), [StepId(1), StepId(2), StepId(3)]);
        assert_eq!(groups.last_of_accounts(1), [StepId(2), StepId(3)]);
        assert_eq!(
            groups.last_of_accounts(2),
            [StepId(4)],
            "a group of one step is its own"
        );
    }

    fn machine(n: u32, concurrency: usize) -> Machine {
        let steps: Vec<Step> = (1..=n)
            .map(|i| {
                step(
                    i,
                    &format!("a{i}"),
                    &format!("a{i}@old"),
                    &format!("a{i}@new"),
                    &[],
                )
            })
            .collect();
        let states = vec![StepState::Pending; n as usize];
        machine_of(
            steps,
            &states,
            settings(concurrency),
            SystemTime::UNIX_EPOCH,
        )
    }

    /// A machine for `steps` in `states`, paced from `settings.rate`, whose run started at
    /// `started`.
    fn machine_of(
        steps: Vec<Step>,
        states: &[StepState],
        settings: Settings,
        started: SystemTime,
    ) -> Machine {
        let pacer = Pacer::at_ceiling(settings.rate);
        let groups = Arc::new(Groups::of_steps(&steps));
        Machine::new(
            steps.into(),
            groups,
            states,
            &[],
            settings,
            pacer,
            started,
            1,
        )
    }

    /// Why each step the machine has said it sends again goes again, in order.
    fn retry_reasons(m: &mut Machine) -> Vec<String> {
        std::iter::from_fn(|| m.poll_event())
            .filter_map(|e| match e {
                Event::Retrying { why, .. } => Some(why),
                _ => None,
            })
            .collect()
    }

    /// The tests' settings: 10 requests a second, the default policy and limits.
    fn settings(concurrency: usize) -> Settings {
        Settings {
            concurrency,
            rate: 10.0,
            policy: RetryPolicy::default(),
            limits: Limits::default(),
            org_id: "org".into(),
        }
    }

    fn limited() -> Answer {
        Answer::Write(
            Write::RateLimited {
                wait: Some(Duration::from_secs(600)),
                told_by: Some("Retry-After"),
            },
            RateInfo::default(),
        )
    }

    /// Drains commits as if the journal wrote them at once; returns their records.
    fn commit_all(m: &mut Machine, now: Duration) -> Vec<Record> {
        let mut records = Vec::new();
        while let Some(c) = m.poll_commit(now) {
            records.extend(c.records.clone());
            m.on_committed(c.then, now);
        }
        records
    }

    #[test]
    fn a_write_goes_only_with_its_intent_and_within_the_concurrency() {
        let mut m = machine(5, 2);
        let now = Duration::ZERO;
        let first = m.poll_transmit(now).unwrap();
        assert!(matches!(
            first.intent,
            Some(Record::Intent {
                step: StepId(1),
                attempt: 1,
                ..
            })
        ));
        // The ceiling spaces them: the next slot is 100 ms later, and then the concurrency is
        // full.
        assert_eq!(m.poll_transmit(now), None);
        assert_eq!(m.poll_timeout(now), Some(Duration::from_millis(100)));
        let second = m.poll_transmit(Duration::from_millis(100)).unwrap();
        assert_eq!(second.step, 2);
        assert_eq!(m.poll_transmit(Duration::from_secs(1)), None);
        assert_eq!(m.poll_timeout(Duration::from_secs(1)), None);
    }

    #[test]
    fn ctrl_c_during_a_429_pause_sends_nothing_more_and_records_the_waiting_as_not_applied() {
        let mut m = machine(3, 4);
        let t = m.poll_transmit(Duration::ZERO).unwrap();
        m.on_answer(
            Duration::from_millis(50),
            t.step,
            t.kind,
            Duration::ZERO,
            limited(),
        );
        // Paused: the step waits its turn, journaled as not applied at once (a 429 is certain),
        // so that sending it again is no uncertainty for a resume either.
        let records = commit_all(&mut m, Duration::from_millis(50));
        assert!(
            matches!(
                records[..],
                [Record::NotApplied {
                    step: StepId(1),
                    ..
                }]
            ),
            "{records:?}"
        );
        m.interrupt();
        let events: Vec<Event> = std::iter::from_fn(|| m.poll_event()).collect();
        assert!(events.contains(&Event::Stopping), "{events:?}");
        // Nothing is sent while stopping, however long one waits, nor recorded twice.
        assert_eq!(m.poll_transmit(Duration::from_secs(3600)), None);
        assert!(commit_all(&mut m, Duration::from_secs(1)).is_empty());
        assert!(m.is_over(Duration::from_secs(1)));
        assert!(matches!(m.end().0, End::Interrupted));
    }

    #[test]
    fn a_refused_key_stops_every_request() {
        let mut m = machine(4, 4);
        let t = m.poll_transmit(Duration::ZERO).unwrap();
        let refused = Answer::Write(
            Write::Unauthorized {
                message: "401".into(),
            },
            RateInfo::default(),
        );
        m.on_answer(
            Duration::from_millis(20),
            t.step,
            t.kind,
            Duration::ZERO,
            refused,
        );
        assert_eq!(m.poll_transmit(Duration::from_secs(10)), None);
        let records = commit_all(&mut m, Duration::from_secs(1));
        assert!(matches!(
            records[..],
            [Record::NotApplied {
                step: StepId(1),
                ..
            }]
        ));
        assert!(m.is_over(Duration::from_secs(10)));
        assert!(matches!(m.end().0, End::Refused(_)));
    }

    #[test]
    fn a_write_found_not_applied_goes_again_saying_so_not_blaming_a_429() {
        // A dead run's write, sent long ago: read at once, it was not applied.
        let steps: Vec<Step> = vec![step(1, "a1", "a1@old", "a1@new", &[])];
        let states = vec![StepState::InFlight {
            attempt: 1,
            sent: Some(SystemTime::UNIX_EPOCH),
            retried: false,
        }];
        let started = SystemTime::UNIX_EPOCH + Duration::from_secs(3600);
        let mut m = machine_of(steps, &states, settings(4), started);
        let check = m.poll_transmit(Duration::ZERO).unwrap();
        assert_eq!((check.step, check.kind), (StepId(1), Kind::Check));
        let read = Answer::Read(Read::Email("a1@old".into()), RateInfo::default());
        m.on_answer(
            Duration::from_millis(20),
            check.step,
            check.kind,
            Duration::ZERO,
            read,
        );
        let why = retry_reasons(&mut m);
        assert_eq!(why, ["the change was not applied: sending it again"]);
        // And it goes again at once.
        let again = m.poll_transmit(Duration::from_millis(120)).unwrap();
        assert_eq!((again.step, again.kind), (StepId(1), Kind::Write));
    }

    #[test]
    fn an_address_this_plan_vacated_still_taken_goes_again_saying_so() {
        // 1 frees x@new; 2 takes it, and the API's uniqueness has not caught up yet.
        let mut steps = vec![
            step(1, "h", "x@new", "x_FREE@new", &[]),
            step(2, "a", "a@old", "x@new", &[1]),
        ];
        for s in &mut steps {
            s.group = 1;
        }
        let mut m = machine_of(
            steps,
            &vec![StepState::Pending; 2],
            Settings {
                rate: 1000.0,
                ..settings(4)
            },
            SystemTime::UNIX_EPOCH,
        );
        let mut now = Duration::ZERO;
        let answer = |m: &mut Machine, now: Duration, answer: Answer| {
            let t = m.poll_transmit(now).expect("a request is due");
            m.on_answer(now, t.step, t.kind, now, answer);
            commit_all(m, now);
            (t.step, t.kind)
        };
        let applied = Answer::Write(Write::Applied { status: 204 }, RateInfo::default());
        assert_eq!(answer(&mut m, now, applied), (StepId(1), Kind::Write));
        now += Duration::from_millis(10);
        let taken = Answer::Write(
            Write::Rejected {
                status: 400,
                key: Some(TAKEN.into()),
                message: "x@new is taken".into(),
            },
            RateInfo::default(),
        );
        assert_eq!(answer(&mut m, now, taken), (StepId(2), Kind::Write));
        while m.poll_event().is_some() {}
        now += Duration::from_millis(10);
        let still_old = Answer::Read(Read::Email("a@old".into()), RateInfo::default());
        assert_eq!(answer(&mut m, now, still_old), (StepId(2), Kind::Check));
        let why = retry_reasons(&mut m);
        assert_eq!(
            why,
            [
                "the address is still taken, although this plan vacated it: waiting for the API to catch up"
            ]
        );
    }

    #[test]
    fn an_uncertain_write_is_not_read_before_it_can_have_ended() {
        let mut m = machine(1, 4);
        let t = m.poll_transmit(Duration::ZERO).unwrap();
        let lost = maybe_landed_504();
        m.on_answer(
            Duration::from_millis(30),
            t.step,
            t.kind,
            Duration::ZERO,
            lost,
        );
        // The default quiet time: 30 s of timeout and 5 s of settle after it was sent.
        assert_eq!(m.poll_transmit(Duration::from_secs(34)), None);
        assert_eq!(
            m.poll_timeout(Duration::from_secs(1)),
            Some(Duration::from_secs(35))
        );
        let check = m.poll_transmit(Duration::from_secs(35)).unwrap();
        assert_eq!(
            (check.step, check.kind, check.intent),
            (StepId(1), Kind::Check, None)
        );
    }

    /// A swap of accounts a and b (1 parks a, 2 moves b to a's address, 3 moves a to b's) in
    /// one group.
    fn swap() -> Vec<Step> {
        let mut steps = vec![
            step(1, "a", "a@x", "a_MOVING@x", &[]),
            step(2, "b", "b@x", "a@x", &[1]),
            step(3, "a", "a_MOVING@x", "b@x", &[2]),
        ];
        for s in &mut steps {
            s.group = 1;
        }
        steps
    }

    /// A gateway's 504: the write may have landed.
    fn maybe_landed_504() -> Answer {
        Answer::Write(
            Write::Transient {
                status: Some(504),
                wait: None,
                maybe_applied: true,
                detail: "HTTP 504".into(),
            },
            RateInfo::default(),
        )
    }

    fn email(address: &str) -> Answer {
        Answer::Read(Read::Email(address.into()), RateInfo::default())
    }

    fn answered_204() -> Answer {
        Answer::Write(Write::Applied { status: 204 }, RateInfo::default())
    }

    #[test]
    fn the_settle_read_waits_out_the_read_lag_and_the_group_is_journaled_settled() {
        let mut m = machine_of(
            swap(),
            &vec![StepState::Pending; 3],
            settings(4),
            SystemTime::UNIX_EPOCH,
        );
        let policy = RetryPolicy::default();
        // Step 1's first write meets a 504 that may have landed.
        let t = m.poll_transmit(Duration::ZERO).unwrap();
        let mut intents: Vec<Record> = t.intent.clone().into_iter().collect();
        let lost = maybe_landed_504();
        m.on_answer(
            Duration::from_millis(30),
            t.step,
            t.kind,
            Duration::ZERO,
            lost,
        );
        // Its check finds it landed; then steps 2 and 3 go.
        let check = m.poll_transmit(policy.quiet).unwrap();
        assert_eq!(check.kind, Kind::Check);
        m.on_answer(
            policy.quiet,
            check.step,
            check.kind,
            policy.quiet,
            email("a_MOVING@x"),
        );
        let mut now = policy.quiet;
        let mut records = intents.clone();
        records.extend(commit_all(&mut m, now));
        for _ in 0..2 {
            now += Duration::from_secs(1);
            let t = m.poll_transmit(now).unwrap();
            intents.extend(t.intent.clone());
            records.extend(t.intent.clone());
            assert_eq!(t.kind, Kind::Write);
            m.on_answer(now, t.step, t.kind, now, answered_204());
            records.extend(commit_all(&mut m, now));
        }
        // The group is done: its two accounts are read again, not before the writes cannot be
        // under way, plus the settle margin, plus the read lag.
        let due = settle_due(now, policy.quiet, &policy);
        assert_eq!(due, now + policy.settle + policy.read_lag);
        assert_eq!(
            m.poll_transmit(due.saturating_sub(Duration::from_millis(1))),
            None
        );
        let first = m.poll_transmit(due).unwrap();
        let second = m.poll_transmit(due + Duration::from_secs(1)).unwrap();
        assert_eq!((first.kind, second.kind), (Kind::Settle, Kind::Settle));
        let at_target = |id: StepId| email(if id == StepId(2) { "a@x" } else { "b@x" });
        m.on_answer(due, first.step, first.kind, due, at_target(first.step));
        assert!(
            !commit_all(&mut m, due)
                .iter()
                .any(|r| matches!(r, Record::Settled { .. })),
            "settled before every account was read"
        );
        m.on_answer(due, second.step, second.kind, due, at_target(second.step));
        records.extend(commit_all(&mut m, due));
        assert!(records.contains(&Record::Settled {
            group: 1,
            at: m.at(due),
        }));
        assert!(m.is_over(due));
        // The journal agrees: nothing is owed after these records.
        let group_of = |_: StepId| Some(1);
        assert!(crate::journal::owed_settles(&records, &group_of).is_empty());
        records.retain(|r| !matches!(r, Record::Settled { .. }));
        assert_eq!(crate::journal::owed_settles(&records, &group_of).len(), 1);
    }

    #[test]
    fn a_settle_an_earlier_run_owed_is_read_before_the_run_ends() {
        let done = StepState::Done {
            status: Some(204),
            attempts: 1,
        };
        let started = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let mut m = machine_of(
            swap(),
            &[done.clone(), done.clone(), done],
            settings(4),
            started,
        );
        assert!(m.is_over(Duration::ZERO), "nothing to do without the debt");
        // The group's last write went 10 s before this run started.
        let owed = crate::journal::Owed {
            group: 1,
            last_sent: Some(started - Duration::from_secs(10)),
        };
        m.owe_settles(&[owed]);
        assert!(!m.is_over(Duration::ZERO));
        let policy = RetryPolicy::default();
        let due = settle_due(
            Duration::ZERO,
            policy.quiet.saturating_sub(Duration::from_secs(10)),
            &policy,
        );
        assert_eq!(
            m.poll_transmit(due.saturating_sub(Duration::from_millis(1))),
            None
        );
        let read = m.poll_transmit(due).unwrap();
        assert_eq!(read.kind, Kind::Settle);
        // A late write left the account on its temporary address: the step fails, named.
        m.on_answer(due, read.step, read.kind, due, email("a_MOVING@x"));
        let records = commit_all(&mut m, due);
        assert!(
            records
                .iter()
                .any(|r| matches!(r, Record::Failed { key: Some(k), .. } if k == "lateWrite")),
            "{records:?}"
        );
    }
}
