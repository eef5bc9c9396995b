//! The executor's loop: the only part of `exec` that touches the network, the clock and the
//! journal. It launches steps as the scheduler allows, up to `concurrency` at once, each behind
//! its journal intent and the pacer; it feeds answers to the pure retry decisions; it commits
//! outcomes to the journal before a step counts as done; and it reports `Event`s on a channel.

use super::guard::{Guard, Limits, Trip};
use super::pace::{Holding, Pacer, Signal};
use super::retry::{
    Decision, RetryPolicy, Settled, Tries, after_check, after_settle, after_write, quiet_left,
    too_long, under_way_until,
};
use super::schedule::{Scheduler, Skip};
use crate::api::{Client, DOCUMENTED_SUCCESS, RateInfo, Read, TAKEN, Write};
use crate::journal::{JournalError, JournalWriter, Record, StepState};
use crate::model::email_key;
use crate::plan::Step;
use crate::plan::StepKind;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use hashbrown::HashMap;
use rand::Rng;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

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
        to_check: Vec<u32>,
    },
    Done {
        step: u32,
    },
    Failed {
        step: u32,
        message: String,
    },
    Skipped {
        step: u32,
        because: u32,
    },
    /// The step will be sent (or its account read) again.
    Retrying {
        step: u32,
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
    Journal(JournalError),
    /// Too many steps failed: steps under way were finished or journaled, the rest are left.
    SafetyStop(Trip),
    /// The server asked to wait longer than `--max-wait`: the run stopped instead (resumable).
    WaitTooLong {
        wait: Duration,
        told_by: Option<&'static str>,
    },
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
enum Kind {
    Write,
    Check,
    /// The re-read of an account once its group is done, after an uncertain write in it.
    Settle,
}

struct Ctx {
    steps: Arc<[Step]>,
    client: Client,
    journal: Arc<JournalWriter>,
    pacer: Mutex<Pacer>,
    ceiling: DefaultDirectRateLimiter,
    start: Instant,
    /// Set once the run stops taking steps (Ctrl-C, a safety stop, a fatal error): requests
    /// still waiting for their turn are not sent.
    halt: watch::Sender<bool>,
    org_id: String,
}

impl Ctx {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    fn pacer(&self) -> MutexGuard<'_, Pacer> {
        self.pacer.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn step(&self, id: u32) -> &Step {
        &self.steps[id as usize - 1]
    }

    fn stopping(&self) -> bool {
        *self.halt.borrow()
    }

    /// The instant `at` after the start; far in the future if that cannot be told (a server's
    /// absurd wait), so that only a stop ends the sleep.
    fn instant(&self, at: Duration) -> tokio::time::Instant {
        let far = Duration::from_secs(100 * 365 * 24 * 3600);
        self.start
            .checked_add(at)
            .or_else(|| Instant::now().checked_add(far))
            .unwrap_or_else(Instant::now)
            .into()
    }
}

enum Answer {
    Write(Write, RateInfo),
    Read(Read, RateInfo),
    /// The run stopped while the request waited for its turn: it was not sent.
    NotSent,
    /// The intent could not be journaled: the request was not sent.
    Journal(JournalError),
}

struct Attempted {
    step: u32,
    kind: Kind,
    sent_at: Duration,
    answer: Answer,
}

/// What a commit task reports once its records are on disk.
enum Committed {
    Done(u32),
    Failed(u32, String, Vec<Skip>),
    Skipped(Vec<Skip>),
    NotApplied,
    Error(JournalError),
}

/// A wait as people read it: `45s`, `1h 0m`, or "more than a year".
pub fn span(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 366 * 24 * 3600 {
        "more than a year".into()
    } else if secs >= 3600 {
        format!("{}h {}m", secs / 3600, secs % 3600 / 60)
    } else if secs >= 60 {
        format!("{}m {}s", secs / 60, secs % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

pub fn now_text() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// Work waiting for its time: (due, step, kind), soonest first.
type Later = BinaryHeap<Reverse<(Duration, u32, Kind)>>;

/// Queues work on a step, never before an uncertain write of it may have ended.
fn push(later: &mut Later, t: &Tries, due: Duration, id: u32, kind: Kind) {
    let due = t.under_way_until.map_or(due, |quiet| due.max(quiet));
    later.push(Reverse((due, id, kind)));
}

/// Which steps form each group, and the last step of each account in it (the one whose `to` the
/// account ends the group with).
fn groups(steps: &[Step]) -> HashMap<u32, (Vec<u32>, Vec<u32>)> {
    let mut groups: HashMap<u32, (Vec<u32>, Vec<u32>)> = HashMap::new();
    for s in steps {
        groups.entry(s.group).or_default().0.push(s.id);
    }
    for (members, last) in groups.values_mut() {
        let mut seen: HashMap<&str, u32> = HashMap::new();
        for &id in members.iter() {
            seen.insert(&steps[id as usize - 1].account_id, id);
        }
        last.extend(seen.into_values());
        last.sort_unstable();
    }
    groups
}

/// Runs the steps the journal says are left. `states` come from the journal's replay;
/// `chosen` (by index; empty for all) is a pilot's selection.
#[allow(clippy::too_many_arguments)]
pub async fn execute(
    steps: Arc<[Step]>,
    states: &[StepState],
    chosen: &[bool],
    client: Client,
    journal: Arc<JournalWriter>,
    settings: &Settings,
    events: mpsc::UnboundedSender<Event>,
    mut interrupt: watch::Receiver<bool>,
) -> (End, Stats) {
    let send = |e: Event| {
        let _ = events.send(e);
    };
    let policy = settings.policy;
    let period = Duration::from_secs_f64(1.0 / settings.rate.max(0.001));
    let quota = Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::MIN);
    let ctx = Arc::new(Ctx {
        steps: Arc::clone(&steps),
        client,
        journal,
        pacer: Mutex::new(Pacer::new(settings.rate)),
        ceiling: RateLimiter::direct(quota),
        start: Instant::now(),
        halt: watch::Sender::new(false),
        org_id: settings.org_id.clone(),
    });
    let wall_start = SystemTime::now();
    let (mut scheduler, in_flight, skips) = Scheduler::new(&steps, states, chosen);
    let vacated = vacated_by(&steps);
    let mut tries: HashMap<u32, Tries> = HashMap::new();
    let mut settle_tries: HashMap<u32, Tries> = HashMap::new();
    let tries_of = |id: u32| -> Tries {
        Tries {
            vacated_by: vacated.get(id as usize - 1).copied().flatten(),
            ..Tries::default()
        }
    };
    let groups = groups(&steps);
    let mut done: Vec<bool> = states
        .iter()
        .map(|s| matches!(s, StepState::Done { .. }))
        .collect();
    done.resize(steps.len(), false);
    // Groups with a write whose outcome was uncertain, and until when it may be under way:
    // once done, their accounts are read again.
    let mut unsettled: HashMap<u32, Duration> = HashMap::new();
    let mut later: Later = BinaryHeap::new();
    for &id in &in_flight {
        let (attempt, sent) = match states.get(id as usize - 1) {
            Some(StepState::InFlight { attempt, sent, .. }) => (*attempt, *sent),
            _ => (0, None),
        };
        let fresh = tries_of(id);
        let t = tries.entry(id).or_insert(fresh);
        t.writes = attempt;
        // A dead run's write may still be under way: not read before it can have ended.
        let elapsed = sent.map_or(Duration::ZERO, |at| {
            wall_start.duration_since(at).unwrap_or(Duration::ZERO)
        });
        let quiet = quiet_left(elapsed, &policy);
        t.under_way_until = Some(quiet);
        unsettled.insert(ctx.step(id).group, quiet);
        push(&mut later, t, quiet, id, Kind::Check);
    }
    let finished_before = states.iter().filter(|s| s.is_final()).count();
    send(Event::Begin {
        total: finished_before + scheduler.unfinished() + skips.len(),
        finished_before,
        to_check: in_flight.clone(),
    });
    let mut running: JoinSet<Attempted> = JoinSet::new();
    let mut commits: JoinSet<Committed> = JoinSet::new();
    if !skips.is_empty() {
        commits.spawn(commit_skips(Arc::clone(&ctx), skips));
    }
    let mut stats = Stats::default();
    let mut stopping = false;
    let mut fatal: Option<End> = None;
    let mut guard = Guard::new(settings.limits);
    let mut safety: Option<Trip> = None;
    let mut rng = rand::rng();
    let mut last_rate = settings.rate;
    // Retries that were waiting when the run stopped: recorded as not applied at the end.
    let mut unsent: Vec<u32> = Vec::new();
    let stop = |ctx: &Ctx, stopping: &mut bool, later: &mut Later, unsent: &mut Vec<u32>| {
        *stopping = true;
        ctx.halt.send_replace(true);
        let (writes, rest): (Vec<_>, Vec<_>) = std::mem::take(later)
            .into_iter()
            .partition(|Reverse((_, _, k))| *k == Kind::Write);
        unsent.extend(writes.into_iter().map(|Reverse((_, id, _))| id));
        later.extend(rest);
    };

    loop {
        // Start what may start: due retries and checks first, then new steps in plan order.
        // While stopping, only reads that are due start: they settle writes that may have
        // landed. Reads due later are left: the journal keeps their steps to check.
        while running.len() < settings.concurrency {
            let now = ctx.now();
            let job = match later.peek() {
                Some(Reverse((due, id, kind))) if *due <= now => {
                    let (id, kind) = (*id, *kind);
                    later.pop();
                    Some((id, kind))
                }
                _ if stopping => None,
                _ => scheduler.next_step().map(|id| (id, Kind::Write)),
            };
            let Some((id, kind)) = job else { break };
            let fresh = tries_of(id);
            let t = tries.entry(id).or_insert(fresh);
            let attempt = if kind == Kind::Write {
                t.writes += 1;
                t.writes
            } else {
                0
            };
            running.spawn(attempt_once(Arc::clone(&ctx), id, kind, attempt));
        }
        if running.is_empty() && commits.is_empty() && (stopping || later.is_empty()) {
            break;
        }
        let next_due = if stopping {
            None
        } else {
            later.peek().map(|Reverse((due, _, _))| *due)
        };
        tokio::select! {
            Some(joined) = running.join_next() => {
                let Ok(attempted) = joined else { continue };
                let id = attempted.step;
                let now = ctx.now();
                if attempted.kind == Kind::Settle {
                    let answer = match attempted.answer {
                        Answer::Read(r, info) => (r, info),
                        _ => continue,
                    };
                    stats.reads += 1;
                    let t = settle_tries.entry(id).or_default();
                    let heard = heard_read(&answer.0);
                    if let Some((wait, told_by)) = take_in(&ctx, now, attempted.sent_at, answer.1, heard, t, &mut stats, &policy) {
                        fatal.get_or_insert(End::WaitTooLong { wait, told_by });
                        stop(&ctx, &mut stopping, &mut later, &mut unsent);
                        continue;
                    }
                    if matches!(answer.0, Read::Transient { .. }) {
                        t.failed_reads += 1;
                    }
                    let step = ctx.step(id);
                    let earlier: Vec<&str> = groups
                        .get(&step.group)
                        .map(|(members, _)| {
                            members
                                .iter()
                                .map(|&m| ctx.step(m))
                                .filter(|m| m.account_id == step.account_id)
                                .map(|m| &*m.from)
                                .collect()
                        })
                        .unwrap_or_default();
                    let settled = after_settle(&step.to, &earlier, &answer.0, t, &policy, rng.random_range(0.7..1.3));
                    if matches!(settled, Settled::Again { .. }) && matches!(answer.0, Read::Email(_)) {
                        t.stale_reads += 1;
                    }
                    match settled {
                        Settled::Fine => {}
                        Settled::Again { after } => {
                            later.push(Reverse((now.saturating_add(after), id, Kind::Settle)));
                        }
                        Settled::Wrong { key, message } => {
                            guard.record(true);
                            let writes = tries.get(&id).map_or(0, |t| t.writes);
                            commits.spawn(commit_failed(Arc::clone(&ctx), id, None, Some(key.into()), message, writes, Vec::new()));
                        }
                        Settled::Stop { message } => {
                            fatal.get_or_insert(End::Refused(message));
                            stop(&ctx, &mut stopping, &mut later, &mut unsent);
                        }
                    }
                    continue;
                }
                let fresh = tries_of(id);
                let t = tries.entry(id).or_insert(fresh);
                let decision = match attempted.answer {
                    Answer::Journal(e) => {
                        fatal.get_or_insert(End::Journal(e));
                        stop(&ctx, &mut stopping, &mut later, &mut unsent);
                        continue;
                    }
                    // A read that never left settles nothing: its step stays to check.
                    Answer::NotSent if attempted.kind != Kind::Write => continue,
                    Answer::NotSent => Decision::Send { after: Duration::ZERO },
                    Answer::Write(w, info) => {
                        stats.writes += 1;
                        if let Some((wait, told_by)) = take_in(&ctx, now, attempted.sent_at, info, heard_write(&w), t, &mut stats, &policy) {
                            // A 429 is certainly not applied; a 5xx that asks for the wait may
                            // have been, and stays to check.
                            if matches!(w, Write::RateLimited { .. }) {
                                commits.spawn(commit_not_applied(Arc::clone(&ctx), id));
                            }
                            fatal.get_or_insert(End::WaitTooLong { wait, told_by });
                            stop(&ctx, &mut stopping, &mut later, &mut unsent);
                            continue;
                        }
                        if matches!(w, Write::Transient { maybe_applied: true, .. }) {
                            // It may still be under way at the server: nothing more on this
                            // account until it cannot be, and its group is read again once done.
                            let quiet = under_way_until(attempted.sent_at, &policy);
                            t.under_way_until = Some(t.under_way_until.map_or(quiet, |q| q.max(quiet)));
                            let group = unsettled.entry(ctx.step(id).group).or_insert(quiet);
                            *group = (*group).max(quiet);
                        }
                        if matches!(w, Write::Rejected { key: Some(ref k), .. } if k == TAKEN) {
                            t.taken += 1;
                        }
                        // Each write starts afresh; a refusal is kept only while it is explained.
                        t.refused = None;
                        let explain = ctx.step(id).kind != StepKind::Unlink;
                        after_write(&w, t, &policy, rng.random_range(0.7..1.3), explain)
                    }
                    Answer::Read(r, info) => {
                        stats.reads += 1;
                        if let Some((wait, told_by)) = take_in(&ctx, now, attempted.sent_at, info, heard_read(&r), t, &mut stats, &policy) {
                            fatal.get_or_insert(End::WaitTooLong { wait, told_by });
                            stop(&ctx, &mut stopping, &mut later, &mut unsent);
                            continue;
                        }
                        if matches!(r, Read::Transient { .. }) {
                            t.failed_reads += 1;
                        }
                        let step = ctx.step(id);
                        after_check(&step.from, &step.to, &r, t, &policy, rng.random_range(0.7..1.3))
                    }
                };
                let rate = ctx.pacer().rate();
                let holding = ctx.pacer().holding(now);
                if (rate - last_rate).abs() > last_rate * 0.04 || holding != Holding::Pacing {
                    last_rate = rate;
                    let (paused_for, told_by) = match holding {
                        Holding::Paused { told_by } => (Some(ctx.pacer().paused_until().saturating_sub(now)), told_by),
                        Holding::Pacing => (None, None),
                    };
                    send(Event::Pace { rate, paused_for, told_by });
                }
                let ended = match &decision {
                    Decision::Done { .. } => guard.record(false),
                    Decision::Fail { .. } => guard.record(true),
                    _ => None,
                };
                if let Some(trip) = ended.filter(|_| !stopping) {
                    safety = Some(trip);
                    stop(&ctx, &mut stopping, &mut later, &mut unsent);
                    send(Event::SafetyStop(trip));
                }
                match decision {
                    Decision::Done { status } => {
                        commits.spawn(commit_done(Arc::clone(&ctx), id, status, t.writes));
                    }
                    Decision::Fail { status, key, message } => {
                        let skips = scheduler.failed(id);
                        commits.spawn(commit_failed(Arc::clone(&ctx), id, status, key, message, t.writes, skips));
                    }
                    Decision::Send { .. } if stopping => {
                        commits.spawn(commit_not_applied(Arc::clone(&ctx), id));
                    }
                    Decision::Send { after } => {
                        send(Event::Retrying { step: id, why: retry_reason(t) });
                        push(&mut later, t, now.saturating_add(after), id, Kind::Write);
                    }
                    Decision::Check { after } => {
                        if attempted.kind == Kind::Write {
                            send(Event::Retrying { step: id, why: "checking whether the change was applied".into() });
                        }
                        push(&mut later, t, now.saturating_add(after), id, Kind::Check);
                    }
                    Decision::Explain(refusal) => {
                        send(Event::Retrying { step: id, why: format!("reading the account to explain a refusal: {}", refusal.message) });
                        t.refused = Some(refusal);
                        push(&mut later, t, now, id, Kind::Check);
                    }
                    Decision::Stop { message } => {
                        if attempted.kind == Kind::Write {
                            commits.spawn(commit_not_applied(Arc::clone(&ctx), id));
                        }
                        fatal.get_or_insert(End::Refused(message));
                        stop(&ctx, &mut stopping, &mut later, &mut unsent);
                    }
                }
            }
            Some(joined) = commits.join_next() => {
                match joined {
                    Ok(Committed::Done(id)) => {
                        scheduler.done(id);
                        send(Event::Done { step: id });
                        if let Some(slot) = done.get_mut(id as usize - 1) {
                            *slot = true;
                        }
                        // A group that had an uncertain write is read again once done, after
                        // the writes can have ended and a settle delay.
                        let group = ctx.step(id).group;
                        if let (Some(&quiet), Some((members, last))) = (unsettled.get(&group), groups.get(&group))
                            && members.iter().all(|&m| done[m as usize - 1])
                        {
                            unsettled.remove(&group);
                            let due = ctx.now().max(quiet).saturating_add(policy.settle);
                            for &account_step in last {
                                later.push(Reverse((due, account_step, Kind::Settle)));
                            }
                        }
                    }
                    Ok(Committed::Failed(id, message, skips)) => {
                        send(Event::Failed { step: id, message });
                        for s in skips {
                            send(Event::Skipped { step: s.step, because: s.because });
                        }
                    }
                    Ok(Committed::Skipped(skips)) => {
                        for s in skips {
                            send(Event::Skipped { step: s.step, because: s.because });
                        }
                    }
                    Ok(Committed::NotApplied) | Err(_) => {}
                    Ok(Committed::Error(e)) => {
                        fatal.get_or_insert(End::Journal(e));
                        stop(&ctx, &mut stopping, &mut later, &mut unsent);
                    }
                }
            }
            _ = tokio::time::sleep_until(ctx.instant(next_due.unwrap_or_default())), if next_due.is_some() => {}
            changed = interrupt.changed(), if !stopping => {
                if changed.is_err() || *interrupt.borrow() {
                    stop(&ctx, &mut stopping, &mut later, &mut unsent);
                    send(Event::Stopping);
                }
            }
            else => break,
        }
    }
    // Retries that were waiting when the run stopped were not applied: say so, so that a resume
    // needs no read to know it.
    if stopping && !matches!(fatal, Some(End::Journal(_))) {
        for id in unsent {
            if let Err(e) = ctx.journal.append(&not_applied(id)).await {
                fatal = Some(End::Journal(e));
                break;
            }
        }
    }
    let end = match (fatal, safety) {
        (Some(end), _) => end,
        (None, Some(trip)) => End::SafetyStop(trip),
        (None, None) if stopping => End::Interrupted,
        (None, None) => End::Finished,
    };
    (end, stats)
}

/// For each step (by index), the step of the plan it needs that vacates its target: a free, a
/// chain's link or a cycle's temporary whose `from` is this step's `to`.
fn vacated_by(steps: &[Step]) -> Vec<Option<u32>> {
    steps
        .iter()
        .map(|s| {
            let to = email_key(&s.to);
            s.after.iter().copied().find(|&d| {
                d as usize >= 1
                    && steps
                        .get(d as usize - 1)
                        .is_some_and(|n| email_key(&n.from) == to)
            })
        })
        .collect()
}

/// One request: for a write, its intent goes to the journal first; then it waits its turn
/// (the learnt pace, then the `--rate` ceiling) and is sent. A stop ends the wait at once.
async fn attempt_once(ctx: Arc<Ctx>, id: u32, kind: Kind, attempt: u32) -> Attempted {
    let done = |answer, sent_at| Attempted {
        step: id,
        kind,
        sent_at,
        answer,
    };
    if kind == Kind::Write {
        let intent = Record::Intent {
            step: id,
            attempt,
            at: now_text(),
        };
        if let Err(e) = ctx.journal.append(&intent).await {
            return done(Answer::Journal(e), ctx.now());
        }
    }
    let mut halt = ctx.halt.subscribe();
    loop {
        let slot = ctx.pacer().reserve(ctx.now());
        tokio::select! {
            _ = tokio::time::sleep_until(ctx.instant(slot)) => {}
            _ = halt.wait_for(|stop| *stop) => return done(Answer::NotSent, ctx.now()),
        }
        if ctx.pacer().may_send(ctx.now()) {
            break;
        }
    }
    tokio::select! {
        _ = ctx.ceiling.until_ready() => {}
        _ = halt.wait_for(|stop| *stop) => return done(Answer::NotSent, ctx.now()),
    }
    if kind == Kind::Write && ctx.stopping() {
        return done(Answer::NotSent, ctx.now());
    }
    let sent_at = ctx.now();
    let step = ctx.step(id);
    let unlink = step.kind == StepKind::Unlink;
    let answer = match kind {
        Kind::Write if unlink => {
            let (w, info) = ctx.client.unlink_scim(&ctx.org_id, &step.account_id).await;
            Answer::Write(w, info)
        }
        Kind::Write => {
            let (w, info) = ctx.client.set_email(&step.account_id, &step.to).await;
            Answer::Write(w, info)
        }
        Kind::Check if unlink => {
            let (r, info) = ctx.client.scim_linked(&ctx.org_id, &step.account_id).await;
            Answer::Read(r, info)
        }
        Kind::Check | Kind::Settle => {
            let (r, info) = ctx.client.read_email(&step.account_id).await;
            Answer::Read(r, info)
        }
    };
    done(answer, sent_at)
}

/// What an answer tells the pacer and the step's tally.
enum Heard {
    Answered,
    Limited {
        wait: Option<Duration>,
        told_by: Option<&'static str>,
    },
    /// A transient failure; a write's keeps its detail for the message if the step gives up,
    /// with the wait the server asked for, if any.
    Lost(Option<(Option<u16>, String)>, Option<Duration>),
    /// A refused key: nothing to learn.
    Nothing,
}

fn heard_write(w: &Write) -> Heard {
    match w {
        Write::Applied { .. } | Write::Rejected { .. } => Heard::Answered,
        Write::Unconfirmed { status } => Heard::Lost(
            Some((
                Some(*status),
                format!("HTTP {status}, not the documented {DOCUMENTED_SUCCESS}"),
            )),
            None,
        ),
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

/// Feeds an answer to the pacer and counts it against the step and the run. A wait the server
/// asks for beyond `--max-wait` is not taken in but returned: the run stops instead.
#[allow(clippy::too_many_arguments)]
fn take_in(
    ctx: &Ctx,
    now: Duration,
    sent_at: Duration,
    info: RateInfo,
    heard: Heard,
    t: &mut Tries,
    stats: &mut Stats,
    policy: &RetryPolicy,
) -> Option<(Duration, Option<&'static str>)> {
    let signal = match heard {
        Heard::Answered => Signal::Answered {
            remaining: info.remaining,
            limit: info.limit,
        },
        Heard::Limited { wait, told_by } => {
            t.rate_limited += 1;
            stats.rate_limited += 1;
            if let Some(wait) = too_long(wait, policy) {
                return Some((wait, told_by));
            }
            Signal::Limited { wait, told_by }
        }
        Heard::Lost(problem, wait) => {
            t.transient += 1;
            stats.transient += 1;
            if problem.is_some() {
                t.last_problem = problem;
            }
            return too_long(wait, policy).map(|w| (w, Some("Retry-After")));
        }
        Heard::Nothing => return None,
    };
    ctx.pacer().observe(now, sent_at, signal);
    None
}

fn retry_reason(t: &Tries) -> String {
    match &t.last_problem {
        Some((_, detail)) if t.transient > 0 => detail.clone(),
        _ => "rate limited (429)".into(),
    }
}

fn not_applied(step: u32) -> Record {
    Record::NotApplied {
        step,
        at: now_text(),
    }
}

fn skip_records(skips: &[Skip]) -> impl Iterator<Item = Record> + '_ {
    skips.iter().map(|s| Record::Skipped {
        step: s.step,
        because: s.because,
        at: now_text(),
    })
}

async fn commit_done(ctx: Arc<Ctx>, id: u32, status: Option<u16>, attempts: u32) -> Committed {
    let record = Record::Done {
        step: id,
        status,
        attempts,
        at: now_text(),
    };
    match ctx.journal.append(&record).await {
        Ok(()) => Committed::Done(id),
        Err(e) => Committed::Error(e),
    }
}

async fn commit_failed(
    ctx: Arc<Ctx>,
    id: u32,
    status: Option<u16>,
    key: Option<String>,
    message: String,
    attempts: u32,
    skips: Vec<Skip>,
) -> Committed {
    let record = Record::Failed {
        step: id,
        status,
        key,
        message: message.clone(),
        attempts,
        at: now_text(),
    };
    for r in std::iter::once(record).chain(skip_records(&skips)) {
        if let Err(e) = ctx.journal.append(&r).await {
            return Committed::Error(e);
        }
    }
    Committed::Failed(id, message, skips)
}

async fn commit_skips(ctx: Arc<Ctx>, skips: Vec<Skip>) -> Committed {
    for r in skip_records(&skips) {
        if let Err(e) = ctx.journal.append(&r).await {
            return Committed::Error(e);
        }
    }
    Committed::Skipped(skips)
}

async fn commit_not_applied(ctx: Arc<Ctx>, id: u32) -> Committed {
    match ctx.journal.append(&not_applied(id)).await {
        Ok(()) => Committed::NotApplied,
        Err(e) => Committed::Error(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        assert_eq!(vacated_by(&steps), vec![None, Some(1), Some(2), None]);
        let groups = groups(&steps);
        // The swap's accounts end on their last steps: a on 3, b on 2.
        assert_eq!(groups[&1], (vec![1, 2, 3], vec![2, 3]));
        assert_eq!(groups[&2], (vec![4], vec![4]));
    }

    #[test]
    fn waits_read_as_people_say_them() {
        assert_eq!(span(Duration::from_millis(1500)), "1.5s");
        assert_eq!(span(Duration::from_secs(900)), "15m 0s");
        assert_eq!(span(Duration::from_secs(3600)), "1h 0m");
        assert_eq!(span(Duration::from_secs(u64::MAX)), "more than a year");
    }
}
