//! The executor's loop: the only part of `exec` that touches the network, the clock and the
//! journal. It launches steps as the scheduler allows, up to `concurrency` at once, each behind
//! its journal intent and the pacer; it feeds answers to the pure retry decisions; it commits
//! outcomes to the journal before a step counts as done; and it reports `Event`s on a channel.

use super::guard::{Guard, Limits, Trip};
use super::pace::{Holding, Pacer, Signal};
use super::retry::{Decision, RetryPolicy, Tries, after_check, after_write};
use super::schedule::{Scheduler, Skip};
use crate::api::{Client, RateInfo, Read, Write};
use crate::journal::{JournalError, JournalWriter, Record, StepState};
use crate::plan::Step;
use crate::plan::StepKind;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use hashbrown::HashMap;
use rand::Rng;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
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
}

struct Ctx {
    steps: Arc<[Step]>,
    client: Client,
    journal: Arc<JournalWriter>,
    pacer: Mutex<Pacer>,
    ceiling: DefaultDirectRateLimiter,
    start: Instant,
    stopping: AtomicBool,
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
}

enum Answer {
    Write(Write, RateInfo),
    Read(Read, RateInfo),
    /// Ctrl-C came while the request waited for its turn: it was not sent.
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

pub fn now_text() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
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
        stopping: AtomicBool::new(false),
        org_id: settings.org_id.clone(),
    });
    let (mut scheduler, in_flight, skips) = Scheduler::new(&steps, states, chosen);
    let mut tries: HashMap<u32, Tries> = HashMap::new();
    let mut later: BinaryHeap<Reverse<(Duration, u32, Kind)>> = BinaryHeap::new();
    for &id in &in_flight {
        let attempt = match states.get(id as usize - 1) {
            Some(StepState::InFlight { attempt }) => *attempt,
            _ => 0,
        };
        tries.entry(id).or_default().writes = attempt;
        later.push(Reverse((Duration::ZERO, id, Kind::Check)));
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
    let stop = |ctx: &Ctx, stopping: &mut bool| {
        *stopping = true;
        ctx.stopping.store(true, Ordering::SeqCst);
    };

    loop {
        // Start what may start: due retries and checks first, then new steps in plan order.
        // While stopping, only checks start: they settle writes that may have landed.
        while running.len() < settings.concurrency {
            let now = ctx.now();
            let job = match later.peek() {
                Some(Reverse((due, id, kind)))
                    if *due <= now && (!stopping || *kind == Kind::Check) =>
                {
                    let (id, kind) = (*id, *kind);
                    later.pop();
                    Some((id, kind))
                }
                _ if stopping => None,
                _ => scheduler.next_step().map(|id| (id, Kind::Write)),
            };
            let Some((id, kind)) = job else { break };
            let t = tries.entry(id).or_default();
            let attempt = if kind == Kind::Write {
                t.writes += 1;
                t.writes
            } else {
                0
            };
            running.spawn(attempt_once(Arc::clone(&ctx), id, kind, attempt));
        }
        let idle = running.is_empty() && commits.is_empty();
        let nothing_due = later
            .iter()
            .all(|Reverse((_, _, k))| stopping && *k == Kind::Write);
        if idle && nothing_due {
            break;
        }
        let next_due = later
            .iter()
            .filter(|Reverse((_, _, k))| !stopping || *k == Kind::Check)
            .map(|Reverse((due, _, _))| *due)
            .min();
        tokio::select! {
            Some(joined) = running.join_next() => {
                let Ok(attempted) = joined else { continue };
                let id = attempted.step;
                let now = ctx.now();
                let t = tries.entry(id).or_default();
                let decision = match attempted.answer {
                    Answer::Journal(e) => {
                        fatal.get_or_insert(End::Journal(e));
                        stop(&ctx, &mut stopping);
                        continue;
                    }
                    Answer::NotSent => Decision::Send { after: Duration::ZERO },
                    Answer::Write(w, info) => {
                        stats.writes += 1;
                        take_in(&ctx, now, attempted.sent_at, info, heard_write(&w), t, &mut stats);
                        // Each write starts afresh; a refusal is kept only while it is explained.
                        t.refused = None;
                        let explain = ctx.step(id).kind != StepKind::Unlink;
                        after_write(&w, t, &settings.policy, rng.random_range(0.7..1.3), explain)
                    }
                    Answer::Read(r, info) => {
                        stats.reads += 1;
                        take_in(&ctx, now, attempted.sent_at, info, heard_read(&r), t, &mut stats);
                        let step = ctx.step(id);
                        after_check(&step.from, &step.to, &r, t, &settings.policy, rng.random_range(0.7..1.3))
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
                    stop(&ctx, &mut stopping);
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
                        later.push(Reverse((now + after, id, Kind::Write)));
                    }
                    Decision::Check { after } => {
                        if attempted.kind == Kind::Write {
                            send(Event::Retrying { step: id, why: "checking whether the change was applied".into() });
                        }
                        later.push(Reverse((now + after, id, Kind::Check)));
                    }
                    Decision::Explain(refusal) => {
                        send(Event::Retrying { step: id, why: format!("reading the account to explain a refusal: {}", refusal.message) });
                        t.refused = Some(refusal);
                        later.push(Reverse((now, id, Kind::Check)));
                    }
                    Decision::Stop { message } => {
                        if attempted.kind == Kind::Write {
                            commits.spawn(commit_not_applied(Arc::clone(&ctx), id));
                        }
                        fatal.get_or_insert(End::Refused(message));
                        stop(&ctx, &mut stopping);
                    }
                }
            }
            Some(joined) = commits.join_next() => {
                match joined {
                    Ok(Committed::Done(id)) => {
                        scheduler.done(id);
                        send(Event::Done { step: id });
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
                        stop(&ctx, &mut stopping);
                    }
                }
            }
            _ = sleep_until(&ctx, next_due), if next_due.is_some() => {}
            changed = interrupt.changed(), if !stopping => {
                if changed.is_err() || *interrupt.borrow() {
                    stop(&ctx, &mut stopping);
                    send(Event::Stopping);
                }
            }
            else => break,
        }
    }
    // Retries that were waiting when the run stopped were not applied: say so, so that a resume
    // needs no read to know it.
    if stopping && fatal.is_none() {
        let waiting: Vec<u32> = later
            .drain()
            .filter(|Reverse((_, _, k))| *k == Kind::Write)
            .map(|Reverse((_, id, _))| id)
            .collect();
        for id in waiting {
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

async fn sleep_until(ctx: &Ctx, due: Option<Duration>) {
    if let Some(due) = due {
        tokio::time::sleep_until((ctx.start + due).into()).await;
    }
}

/// One request: for a write, its intent goes to the journal first; then it waits its turn
/// (the learnt pace, then the `--rate` ceiling) and is sent.
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
    loop {
        let slot = ctx.pacer().reserve(ctx.now());
        tokio::time::sleep_until((ctx.start + slot).into()).await;
        if ctx.pacer().may_send(ctx.now()) {
            break;
        }
    }
    ctx.ceiling.until_ready().await;
    if kind == Kind::Write && ctx.stopping.load(Ordering::SeqCst) {
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
        Kind::Check => {
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
    /// A transient failure; a write's keeps its detail for the message if the step gives up.
    Lost(Option<(Option<u16>, String)>),
    /// A refused key: nothing to learn.
    Nothing,
}

fn heard_write(w: &Write) -> Heard {
    match w {
        Write::Applied { .. } | Write::Rejected { .. } => Heard::Answered,
        Write::RateLimited { wait, told_by } => Heard::Limited {
            wait: *wait,
            told_by: *told_by,
        },
        Write::Transient { status, detail, .. } => Heard::Lost(Some((*status, detail.clone()))),
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
        Read::Transient { .. } => Heard::Lost(None),
        Read::Unauthorized { .. } => Heard::Nothing,
    }
}

/// Feeds an answer to the pacer and counts it against the step and the run.
fn take_in(
    ctx: &Ctx,
    now: Duration,
    sent_at: Duration,
    info: RateInfo,
    heard: Heard,
    t: &mut Tries,
    stats: &mut Stats,
) {
    let signal = match heard {
        Heard::Answered => Signal::Answered {
            remaining: info.remaining,
            limit: info.limit,
        },
        Heard::Limited { wait, told_by } => {
            t.rate_limited += 1;
            stats.rate_limited += 1;
            Signal::Limited { wait, told_by }
        }
        Heard::Lost(problem) => {
            t.transient += 1;
            stats.transient += 1;
            if problem.is_some() {
                t.last_problem = problem;
            }
            return;
        }
        Heard::Nothing => return,
    };
    ctx.pacer().observe(now, sent_at, signal);
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
