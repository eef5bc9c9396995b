//! The executor's driver: the only part of `exec` that touches the network, the clock and the
//! journal. It asks the machine (`machine`) what to send and when, journals each write's intent
//! before sending it, sends the requests (several at once), feeds the answers back, makes the
//! machine's records durable, and passes its events to whoever owns the terminal. It decides
//! nothing itself.

use super::machine::{Answer, Commit, Kind, Machine, Then, Transmit};
pub use super::machine::{End, Event, Settings, Stats};
use super::pace::Pacer;
use crate::api::Client;
use crate::journal::{JournalError, JournalWriter, StepState};
use mailshift_core::plan::{Groups, Step, StepId, StepKind};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

pub fn now_text() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// What a request task reports.
struct Sent {
    step: StepId,
    kind: Kind,
    /// When the request was sent.
    at: Duration,
    /// The answer, or why the request did not leave (its intent could not be journaled).
    answer: Result<Answer, JournalError>,
}

/// Runs the steps the journal says are left. `states` come from the journal's replay;
/// `chosen` (by index; empty for all) is a pilot's selection; `pacer` is the key's pace as the
/// reads before the run left it.
#[allow(clippy::too_many_arguments)]
pub async fn execute(
    steps: Arc<[Step]>,
    groups: Arc<Groups>,
    states: &[StepState],
    chosen: &[bool],
    owed: &[crate::journal::Owed],
    client: Client,
    journal: Arc<JournalWriter>,
    settings: &Settings,
    pacer: Pacer,
    events: mpsc::UnboundedSender<Event>,
    mut interrupt: watch::Receiver<bool>,
) -> (End, Stats, Pacer) {
    let start = Instant::now();
    let clock = || start.elapsed();
    let mut machine = Machine::new(
        Arc::clone(&steps),
        groups,
        states,
        chosen,
        settings.clone(),
        pacer,
        SystemTime::now(),
        rand::random(),
    );
    machine.owe_settles(owed);
    let client = Arc::new(client);
    let org_id: Arc<str> = settings.org_id.as_str().into();
    let mut running: JoinSet<Sent> = JoinSet::new();
    let mut commits: JoinSet<(Then, Result<(), JournalError>)> = JoinSet::new();
    let mut interrupted = false;
    loop {
        let now = clock();
        while let Some(t) = machine.poll_transmit(now) {
            running.spawn(send(
                Arc::clone(&client),
                Arc::clone(&journal),
                Arc::clone(&org_id),
                Arc::clone(&steps),
                t,
                start,
            ));
        }
        while let Some(c) = machine.poll_commit(now) {
            commits.spawn(commit(Arc::clone(&journal), c));
        }
        while let Some(e) = machine.poll_event() {
            let _ = events.send(e);
        }
        if machine.is_over(clock()) {
            break;
        }
        let wake = machine.poll_timeout(now);
        tokio::select! {
            Some(joined) = running.join_next() => {
                let Ok(sent) = joined else { continue };
                match sent.answer {
                    Ok(answer) => machine.on_answer(clock(), sent.step, sent.kind, sent.at, answer),
                    Err(e) => machine.on_not_sent(e),
                }
            }
            Some(joined) = commits.join_next() => {
                let Ok((then, written)) = joined else { continue };
                match written {
                    Ok(()) => machine.on_committed(then, clock()),
                    Err(e) => machine.on_commit_failed(e),
                }
            }
            () = tokio::time::sleep_until(instant(start, wake.unwrap_or_default())), if wake.is_some() => {}
            changed = interrupt.changed(), if !interrupted => {
                if changed.is_err() || *interrupt.borrow() {
                    interrupted = true;
                    machine.interrupt();
                }
            }
        }
    }
    while let Some(e) = machine.poll_event() {
        let _ = events.send(e);
    }
    machine.end()
}

/// The instant `at` after `start`; far in the future if that cannot be told (a server's absurd
/// wait), so that only an answer or a stop ends the sleep.
fn instant(start: Instant, at: Duration) -> tokio::time::Instant {
    let far = Duration::from_secs(100 * 365 * 24 * 3600);
    start
        .checked_add(at)
        .or_else(|| Instant::now().checked_add(far))
        .unwrap_or_else(Instant::now)
        .into()
}

/// One request: a write's intent goes to the journal first, then the request is sent.
async fn send(
    client: Arc<Client>,
    journal: Arc<JournalWriter>,
    org_id: Arc<str>,
    steps: Arc<[Step]>,
    t: Transmit,
    start: Instant,
) -> Sent {
    let step = &steps[t.step.index()];
    let done = |answer, sent_at| Sent {
        step: t.step,
        kind: t.kind,
        at: sent_at,
        answer,
    };
    if let Some(intent) = &t.intent
        && let Err(e) = journal.append(intent).await
    {
        return done(Err(e), start.elapsed());
    }
    let sent_at = start.elapsed();
    let unlink = step.kind == StepKind::Unlink;
    let answer = match t.kind {
        Kind::Write if unlink => {
            let (w, info) = client.unlink_scim(&org_id, &step.account_id).await;
            Answer::Write(w, info)
        }
        Kind::Write => {
            let (w, info) = client.set_email(&step.account_id, &step.to).await;
            Answer::Write(w, info)
        }
        Kind::Check if unlink => {
            let (r, info) = client.scim_linked(&org_id, &step.account_id).await;
            Answer::Read(r, info)
        }
        Kind::Check | Kind::Settle => {
            let (r, info) = client.read_email(&step.account_id).await;
            Answer::Read(r, info)
        }
    };
    done(Ok(answer), sent_at)
}

/// Makes a commit's records durable, in order.
async fn commit(journal: Arc<JournalWriter>, c: Commit) -> (Then, Result<(), JournalError>) {
    for r in &c.records {
        if let Err(e) = journal.append(r).await {
            return (c.then, Err(e));
        }
    }
    (c.then, Ok(()))
}
