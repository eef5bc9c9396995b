//! `mailshift apply`: run a reviewed plan through the executor, journaled. This is the shell:
//! it reads the plan, opens and replays the journal, asks for confirmation, starts the runtime,
//! the Ctrl-C handler and the progress consumer, and prints the outcome from the journal.

use super::reading::Session;
mod checks;
mod drift;
mod look_back;
mod progress;
mod throughput;

use crate::api::Client;
use crate::config::ApplyConfig;
use crate::error::{Error, Outcome};
use crate::exec::guard::Trip;
use crate::exec::pace::Pacer;
use crate::exec::run::{End, Event, Settings, Stats, execute, now_text};
use crate::journal::{self, Record, pace_file};
use crate::live::drift::Drift;
use crate::live::reader::LiveError;
use crate::plan::file::read_hashed;
use crate::plan::select::{Choice, choose, drop_groups};
use crate::plan::{Groups, Plan, StepId};
use crate::review::cause::{common_cause, failures_of_last_run};
use crate::review::json;
use crate::review::outcome::{Counts, render_status, rows, write_csv, write_json};
use crate::review::runs::{ended_in, render_runs, run_tallies};
use crate::terminal::{self, note};
use crate::words::counted;
use std::io::{self, BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::time::{Instant, SystemTime};
use tokio::sync::{mpsc, watch};

pub fn run(config: &ApplyConfig) -> Result<Outcome, Error> {
    let (plan, sha) = read_plan(config)?;
    let steps = plan.steps.len() as u32;
    if steps == 0 {
        say(
            config,
            &format!(
                "{}: the plan has no steps; nothing to apply",
                config.plan.display()
            ),
        )?;
        return Ok(Outcome::Clean);
    }
    // Everything that can refuse the run — a pilot list naming nobody, accounts that drifted,
    // a "no" at the prompt — comes before the journal is created, so that a refusal leaves no
    // file behind (a re-made plan.json would otherwise meet another plan's journal).
    if !config.yes && !interactive() {
        return Err(Error::NeedsYes {
            plan: config.plan.clone(),
        });
    }
    // One run per plan content on this machine, whatever journal it names: held until the end.
    let _plan_lock = match &config.lock_dir {
        Some(dir) => Some(journal::plan_lock::take(dir, &sha, &config.journal)?),
        None => None,
    };
    let earlier = Replayed::before_opening(config, &sha, steps)?;
    // The plan's group index, built once: the selection, a drift's dropped groups, the
    // executor's settle re-reads and the closing summary all read this one.
    let groups = Arc::new(Groups::of_steps(&plan.steps));
    let mut choice = choose(&plan.steps, &groups, &earlier.states, &config.selection)
        .map_err(|e| e.explained(&plan))?;
    let checked = check_live(config, &plan, &groups, &earlier.states, &mut choice, &sha)?;
    // From here every Ctrl-C is the run's: at the prompt a "no", after it a stop, counted
    // until the run listens (`listen`).
    let (runtime, presses) = listen(config)?;
    let prompted = !config.yes && choice.steps > 0;
    if prompted {
        let counts = Counts::of(&earlier.states);
        confirm(&plan, &counts, &choice, config, &runtime, &presses)?;
    }
    let (drifted, pace, off_plan) = checked.last_look(
        config,
        &plan,
        &groups,
        &earlier.states,
        &mut choice,
        prompted,
    )?;
    let opened = journal::open(&config.journal, &sha, steps, config.fsync, &now_text())?;
    super::warn_if_loose(&config.journal);
    // The journal alone is enough for an undo: a copy of its plan beside it.
    let plan_bytes =
        std::fs::read(&config.plan).map_err(|source| crate::plan::file::PlanFileError::Read {
            path: config.plan.clone(),
            source,
        })?;
    // Without it (a full disk, a file size limit) the plan file itself is still the record:
    // said, and the run goes on, since its own journal is what guards the writes.
    if let Err(e) = journal::keep_plan_copy(&config.journal, &plan_bytes) {
        crate::terminal::caution!(
            "{e}; keep {} beside its journal: `mailshift rollback` needs it",
            config.plan.display()
        );
    }
    // The locked open is what counts. Under the plan's lock nothing else appends to this
    // plan's journal, so it holds what the first read found and is not replayed again; if it
    // grew all the same, its new records decide.
    let (states, choice) = if opened.parsed.records.len() == earlier.records {
        (earlier.states, choice)
    } else {
        check_place(config, &opened.parsed.records)?;
        let states = journal::replay(
            &config.journal,
            steps,
            &opened.parsed.records,
            config.retry_failed,
        )?;
        let mut choice = choose(&plan.steps, &groups, &states, &config.selection)
            .map_err(|e| e.explained(&plan))?;
        let drifted_steps: Vec<StepId> = drifted.iter().map(|d| d.step).collect();
        drop_groups(&groups, &mut choice, &drifted_steps);
        (states, choice)
    };
    if !opened.created {
        let before = Counts::of(&states);
        note!(
            "Resuming from {}: {} done, {} failed, {} skipped, {} to check, {} not started.",
            config.journal.display(),
            before.done,
            before.failed,
            before.skipped,
            before.in_flight,
            before.not_started
        );
    }
    if !config.selection.is_all() {
        announce_pilot(config, &choice);
    }
    let started = Instant::now();
    let (end, stats) = execute_run(
        config, &plan, &groups, &states, &choice, opened, pace, runtime, presses,
    )?;
    // The outcome as the journal tells it. If the journal cannot be read back (the trouble
    // that stopped the run, say), the run's own error is the one to report.
    let after = journal::read(&config.journal).and_then(|p| {
        let states = journal::replay(&config.journal, steps, &p.records, false)?;
        Ok((p.records, states))
    });
    let (records, after) = match after {
        Ok(read) => read,
        Err(read_back) => {
            return Err(match end {
                End::Refused(message) => refused(config, message),
                End::Journal(e) => e.into(),
                End::WaitTooLong { wait, told_by } => too_long(config, wait, told_by),
                End::Finished | End::Interrupted | End::SafetyStop(_) => read_back.into(),
            });
        }
    };
    let summarised = summarise(
        config,
        &plan,
        &groups,
        &after,
        &records,
        &stats,
        started,
        end.name(),
    );
    // After SIGHUP standard output may be gone; the journal has the outcome either way.
    if !matches!(end, End::Interrupted) {
        summarised?;
    }
    if let Some(path) = &config.report {
        write_report(path, &plan, &after, &records, !config.selection.is_all())?;
    }
    outcome(
        config,
        &plan,
        end,
        &after,
        &records,
        drifted.is_empty() && off_plan.is_empty(),
    )
}

/// The plan, checked against `--expect-sha256`, and its content hash.
fn read_plan(config: &ApplyConfig) -> Result<(Plan, String), Error> {
    let (plan, sha) = read_hashed(&config.plan)?;
    super::warn_if_loose(&config.plan);
    if let Some(expected) = &config.expect_sha256
        && *expected != sha
    {
        return Err(Error::UnexpectedPlan {
            plan: config.plan.clone(),
            expected: expected.clone(),
            actual: sha,
        });
    }
    Ok((plan, sha))
}

/// What the journal says before the run opens it, and how many records that took.
struct Replayed {
    states: Vec<journal::StepState>,
    records: usize,
}

impl Replayed {
    /// The journal as it stands, read without creating it: what is shown and chosen before
    /// anything can refuse the run.
    fn before_opening(config: &ApplyConfig, sha: &str, steps: u32) -> Result<Replayed, Error> {
        match journal::read_for(&config.journal, sha) {
            Ok(parsed) => {
                check_place(config, &parsed.records)?;
                Ok(Replayed {
                    states: journal::replay(
                        &config.journal,
                        steps,
                        &parsed.records,
                        config.retry_failed,
                    )?,
                    records: parsed.records.len(),
                })
            }
            Err(journal::JournalError::Open { source, .. })
                if source.kind() == io::ErrorKind::NotFound =>
            {
                Ok(Replayed {
                    states: vec![journal::StepState::Pending; steps as usize],
                    records: 0,
                })
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Where this run writes: the API and the org.
fn place(config: &ApplyConfig) -> journal::Place {
    journal::Place::new(
        &config.client.base_url,
        config.org_id.as_deref().unwrap_or_default(),
    )
}

/// A journal whose runs wrote to another API or org is refused: what it calls done was done
/// there, and trusting it here would send nothing and report success.
fn check_place(config: &ApplyConfig, records: &[Record]) -> Result<(), Error> {
    match journal::ran_elsewhere(records, &place(config)) {
        Some(there) => Err(journal::JournalError::OtherPlace {
            path: config.journal.clone(),
            there,
            here: place(config),
        }
        .into()),
        None => Ok(()),
    }
}

/// What the checks before the first write found, and the session they read with.
struct Checked {
    drifted: Vec<Drift>,
    /// Accounts the journal calls done that the API shows elsewhere (`look_back`).
    off_plan: Vec<look_back::OffPlan>,
    /// The reader (and its pace) of the checks, which knows when their look ended; `None`
    /// when there is nothing to send.
    session: Option<Session>,
}

/// A listing that ended longer ago than this when the first write is due is read again.
const STALE_LISTING: std::time::Duration = std::time::Duration::from_secs(2);

impl Checked {
    /// The drift check again right before the first write, after the prompt, when the listing
    /// it read ended longer ago than a moment: an account changed while permissions were read
    /// or the prompt waited would otherwise be overwritten. A listing slow to read is not read
    /// again for its own length: the second would be as old by its end. Returns the drifted
    /// accounts, the pace the executor goes on with, and the accounts off plan.
    fn last_look(
        self,
        config: &ApplyConfig,
        plan: &Plan,
        groups: &Groups,
        earlier: &[journal::StepState],
        choice: &mut Choice,
        prompted: bool,
    ) -> Result<(Vec<Drift>, Pacer, Vec<look_back::OffPlan>), Error> {
        let Checked {
            mut drifted,
            off_plan,
            session,
        } = self;
        let Some(session) = session else {
            return Ok((
                drifted,
                Pacer::starting(config.rate, learnt_pace(config)),
                off_plan,
            ));
        };
        // The drift check has read the org by now; a session that never looked, looks.
        let since = session.listing_ended().map(|ended| ended.elapsed());
        if choice.steps > 0 && (prompted || since.is_none_or(|since| since > STALE_LISTING)) {
            let org_id = config.org_id.as_deref().ok_or(LiveError::NoOrgId)?;
            note!(
                "Reading the org again before the first write ({} since the first look ended).",
                crate::words::span(since.unwrap_or_default())
            );
            first_look(&session, plan, choice, org_id, false)?;
            drifted.extend(drift::check(
                config, plan, groups, earlier, choice, &session, org_id,
            )?);
        }
        Ok((drifted, session.reader.pace(), off_plan))
    }
}

/// The world may have changed since the plan was made: the pre-flight checks and the drift
/// check, before the first write, in the key's one pace, which the executor goes on with. A run
/// with nothing left to send reads instead what earlier runs did (`look_back`).
fn check_live(
    config: &ApplyConfig,
    plan: &Plan,
    groups: &Groups,
    earlier: &[journal::StepState],
    choice: &mut Choice,
    sha: &str,
) -> Result<Checked, Error> {
    if choice.steps == 0 {
        return Ok(Checked {
            drifted: Vec::new(),
            off_plan: look_back::look(config, plan, earlier)?,
            session: None,
        });
    }
    let org_id = config.org_id.as_deref().ok_or(LiveError::NoOrgId)?;
    let session = Session::new(&config.client, config.rate, config.policy)?;
    if let Some(rate) = learnt_pace(config) {
        session.reader.start_at(config.rate, rate);
    }
    let first_run = earlier.iter().all(|s| *s == journal::StepState::Pending);
    // The drift check's listing goes beside pre-flight's reads, in the same pace: its pages
    // are read one after another, and alone they would leave the key's budget idle.
    first_look(&session, plan, choice, org_id, true)?;
    checks::check(config, plan, choice, first_run, &session, org_id, sha)?;
    let drifted = drift::check(config, plan, groups, earlier, choice, &session, org_id)?;
    Ok(Checked {
        drifted,
        off_plan: Vec::new(),
        session: Some(session),
    })
}

/// How the drift check (and pre-flight) will see the org: where searching the run's accounts
/// by their expected addresses costs no more requests than the listing's pages (a pilot, or a
/// plan that moves the whole org), the v2 search, its requests at once; else the whole listing,
/// started now when `early` (it is read beside what comes before it).
fn first_look(
    session: &Session,
    plan: &Plan,
    choice: &Choice,
    org_id: &str,
    early: bool,
) -> Result<(), Error> {
    let mut seen = hashbrown::HashSet::new();
    let expected: Vec<&str> = plan
        .steps
        .iter()
        .zip(&choice.chosen)
        .filter(|(s, chosen)| **chosen && seen.insert(&*s.account_id))
        .map(|(s, _)| &*s.from)
        .collect();
    if super::reading::search_costs_no_more(expected.len(), plan.summary.accounts)
        && session.sized_listing(org_id, &expected)?
    {
        return Ok(());
    }
    if early {
        session.start_listing(org_id);
    }
    Ok(())
}

/// The run's runtime, and the Ctrl-C presses it is to stop at, counted from now (before the
/// prompt, where a press is a "no"): those a rehearsal hands on, or else those this process
/// hears from here on. Once a pre-flight read has listened for Ctrl-C, the system's handler
/// stays, and a press made while nobody listens goes to no one: made at the prompt, during the
/// last look at the org or while the journal was opened, it was lost (the prompt went on
/// waiting; the run went on to write).
fn listen(config: &ApplyConfig) -> Result<(tokio::runtime::Runtime, watch::Receiver<u32>), Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    if let Some(presses) = &config.stops {
        return Ok((runtime, presses.clone()));
    }
    let (count, presses) = watch::channel(0u32);
    #[cfg(unix)]
    {
        // Made here, the stream hears every press from now on, before its task first runs.
        let mut interrupts = {
            let _in_runtime = runtime.enter();
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
                .map_err(Error::Runtime)?
        };
        runtime.spawn(async move {
            while interrupts.recv().await.is_some() {
                count.send_modify(|n| *n = n.wrapping_add(1));
            }
        });
    }
    #[cfg(not(unix))]
    runtime.spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            count.send_modify(|n| *n = n.wrapping_add(1));
        }
    });
    Ok((runtime, presses))
}

/// Runs the chosen steps: the Ctrl-C handler, the progress consumer and the executor, until the
/// run ends.
#[allow(clippy::too_many_arguments)]
fn execute_run(
    config: &ApplyConfig,
    plan: &Plan,
    groups: &Arc<Groups>,
    states: &[journal::StepState],
    choice: &Choice,
    opened: journal::Opened,
    pace: Pacer,
    runtime: tokio::runtime::Runtime,
    presses: watch::Receiver<u32>,
) -> Result<(End, Stats), Error> {
    let learnt_at = learnt_pace_at(config);
    let runs = opened.parsed.runs();
    // Settle re-reads an earlier run owed (stopped between a group's end and its re-read):
    // made before anything counts as done.
    let owed = journal::owed_settles(&opened.parsed.records, &|id| {
        plan.steps.get(id.index()).map(|s| s.group)
    });
    if !owed.is_empty() {
        note!(
            "{} an earlier run left with an uncertain write {} read again before the run ends.",
            counted(owed.len() as u64, "group", "groups"),
            if owed.len() == 1 { "is" } else { "are" }
        );
    }
    let writer = Arc::new(opened.writer);
    let client = Client::new(&config.client)?;
    let (events, received) = mpsc::unbounded_channel::<Event>();
    let plan_steps: Arc<[crate::plan::Step]> = plan.steps.clone().into();
    let consumer = progress::start(received, Arc::clone(&plan_steps), config.json);
    let left = choice.steps;
    // A press made before the run listened stops it before its first request.
    let pressed = presses.has_changed().unwrap_or(false);
    let ended = runtime.block_on(async {
        let (interrupt, interrupted) = watch::channel(pressed);
        tokio::spawn(async move {
            // SIGTERM (systemd, `timeout`) and SIGHUP (a closed ssh session) stop the run as
            // Ctrl-C does: nothing new is sent, what is under way is waited for and journaled.
            let Ok(mut stops) = Stops::new(presses) else {
                return;
            };
            if let Some(first) = stops.next().await {
                let _ = interrupt.send(true);
                let _ = writeln!(
                    io::stderr(),
                    "\n{first}: stopping after the requests under way; a second {first} quits at once."
                );
                if let Some(second) = stops.next().await {
                    let _ = writeln!(
                        io::stderr(),
                        "\nSecond {second}: quitting now. Run the same command to resume."
                    );
                    std::process::exit(130);
                }
            }
        });
        let run = Record::Run {
            run: runs + 1,
            pid: std::process::id(),
            at: now_text(),
            scope: (!config.selection.is_all()).then(|| config.selection.describe()),
            api: Some(config.client.base_url.clone()),
            org: config.org_id.clone(),
        };
        if left == 0 && owed.is_empty() {
            return (End::Finished, Stats::default(), None);
        }
        if let Err(e) = writer.append(&run).await {
            return (End::Journal(e), Stats::default(), None);
        }
        let settings = Settings {
            concurrency: config.concurrency,
            rate: config.rate,
            policy: config.policy,
            limits: config.limits,
            org_id: config.org_id.clone().unwrap_or_default(),
        };
        let (end, stats, pace) = execute(
            plan_steps,
            Arc::clone(groups),
            states,
            &choice.chosen,
            &owed,
            client,
            Arc::clone(&writer),
            &settings,
            pace,
            events,
            interrupted,
        )
        .await;
        (end, stats, Some(pace))
    });
    let _ = consumer.join();
    drop(runtime);
    if let Ok(writer) = Arc::try_unwrap(writer) {
        writer.close();
    }
    let (end, stats, pace) = ended;
    if let (Some((path, org)), Some(rate)) = (learnt_at, pace.and_then(|p| p.learnt())) {
        // Losing it costs only the next run's start; say so and go on.
        if let Err(e) = pace_file::save(
            &path,
            &config.client.base_url,
            &org,
            rate,
            SystemTime::now(),
        ) {
            crate::terminal::caution!(
                "Could not keep the pace this run learnt in {}: {e}. The next run starts low.",
                path.display()
            );
        }
    }
    Ok((end, stats))
}

/// Where the pace a run learns is kept, and for which org; `None` without an org.
fn learnt_pace_at(config: &ApplyConfig) -> Option<(std::path::PathBuf, String)> {
    let org = config.org_id.clone()?;
    Some((pace_file::path_for(&config.plan), org))
}

/// The pace an earlier run against this API and org learnt, to start at.
fn learnt_pace(config: &ApplyConfig) -> Option<f64> {
    let (path, org) = learnt_pace_at(config)?;
    pace_file::load(&path, &config.client.base_url, &org, SystemTime::now())
}

/// The exit, from how the run ended and what the journal now says.
fn outcome(
    config: &ApplyConfig,
    plan: &Plan,
    end: End,
    after: &[journal::StepState],
    records: &[Record],
    nothing_drifted: bool,
) -> Result<Outcome, Error> {
    let counts = Counts::of(after);
    match end {
        End::Refused(message) => Err(refused(config, message)),
        End::Journal(e) => Err(e.into()),
        End::WaitTooLong { wait, told_by } => Err(too_long(config, wait, told_by)),
        End::Interrupted => {
            // After SIGHUP the terminal may be gone: the journal holds the outcome either way.
            let _ = say(
                config,
                &format!(
                    "Interrupted. Run `mailshift apply {}` again to resume: done steps are not sent again.",
                    config.plan.display()
                ),
            );
            Ok(Outcome::Interrupted)
        }
        End::SafetyStop(trip) => {
            say(config, &explain_stop(config, plan, records, trip))?;
            Ok(Outcome::Incomplete)
        }
        // A pilot that did all it took is a success; the rest is for a later run. Accounts
        // left out because they drifted are not.
        End::Finished
            if counts.failed + counts.skipped + counts.in_flight == 0
                && nothing_drifted
                && (counts.not_started == 0 || !config.selection.is_all()) =>
        {
            Ok(Outcome::Clean)
        }
        End::Finished => Ok(Outcome::Incomplete),
    }
}

/// What a pilot run takes and leaves, said before it starts.
fn announce_pilot(config: &ApplyConfig, choice: &Choice) {
    note!(
        "Pilot ({}): this run takes {} in {}; {} in {} are left for a later `mailshift apply {}`.",
        config.selection.describe(),
        counted(choice.steps as u64, "step", "steps"),
        counted(choice.groups as u64, "group", "groups"),
        counted(choice.left_steps as u64, "step", "steps"),
        counted(choice.left_groups as u64, "group", "groups"),
        config.plan.display()
    );
    if let Some(size) = choice.first_group_over_limit {
        note!(
            "  The first group has {size} steps that only work together (a free and the rename that needs it, a chain, or a cycle), so it is taken whole."
        );
    }
    if choice.settled_anyway > 0 {
        note!(
            "  {} groups an earlier run left with a write in flight are finished too, whatever the selection: the write may have landed.",
            choice.settled_anyway
        );
    }
}

/// Why the run stopped itself, what its failures share, and how to go on.
fn explain_stop(config: &ApplyConfig, plan: &Plan, records: &[Record], trip: Trip) -> String {
    let failures = failures_of_last_run(plan, records);
    let mut text = format!("Safety stop: {trip}. No new steps were started.\n");
    let cause = common_cause(&failures);
    if cause.is_empty() {
        text.push_str("The failures have no one answer, domain or kind in common; see the failed steps above.\n");
    } else {
        text.push_str("What the failures have in common:\n");
        for line in cause {
            text.push_str(&format!("  {line}\n"));
        }
    }
    text.push_str(&format!(
        "Fix the cause, then run `mailshift apply {} --retry-failed` to try the failed steps again and go on.",
        config.plan.display()
    ));
    text
}

/// What the run has to say besides its summary: on standard output, or on standard error when
/// standard output carries the JSON summary.
fn say(config: &ApplyConfig, text: &str) -> Result<(), Error> {
    if config.json {
        terminal::say!("{text}");
        Ok(())
    } else {
        Ok(terminal::line(text)?)
    }
}

fn too_long(
    config: &ApplyConfig,
    wait: std::time::Duration,
    told_by: Option<&'static str>,
) -> Error {
    Error::WaitTooLong {
        plan: config.plan.clone(),
        wait,
        told_by,
        bound: config.policy.max_wait,
    }
}

fn refused(config: &ApplyConfig, message: String) -> Error {
    Error::Refused {
        plan: config.plan.clone(),
        message,
    }
}

/// One row per step, CSV or JSON by the file's extension, written whole with mode 0600. After a
/// pilot (`pilot`), only the steps some run has started: a 5-account pilot of a 44,000-step plan
/// reports its own steps, not 44,000 `not_started` rows (the summary says how many are left out).
fn write_report(
    path: &std::path::Path,
    plan: &Plan,
    states: &[journal::StepState],
    records: &[Record],
    pilot: bool,
) -> Result<(), Error> {
    let mut rows = rows(plan, states, &ended_in(records, states.len()));
    if pilot {
        rows.retain(|r| r.outcome != "not_started");
    }
    let json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    crate::private_file::write(path, |out| {
        if json {
            write_json(&rows, out)
        } else {
            write_csv(&rows, out)
        }
    })
    .map_err(|source| Error::Report {
        path: path.to_owned(),
        source,
    })
}

/// The outcome as the journal now tells it, and what this run took.
#[allow(clippy::too_many_arguments)]
fn summarise(
    config: &ApplyConfig,
    plan: &Plan,
    groups: &Groups,
    states: &[journal::StepState],
    records: &[Record],
    stats: &Stats,
    started: Instant,
    ended: &'static str,
) -> Result<(), Error> {
    let secs = started.elapsed().as_secs_f64();
    if config.json {
        let rows = rows(plan, states, &ended_in(records, states.len()));
        let summary = json::Apply {
            version: json::VERSION,
            plan: config.plan.display().to_string(),
            journal: config.journal.display().to_string(),
            ended,
            sent: json::Sent {
                writes: stats.writes,
                reads: stats.reads,
                rate_limited: stats.rate_limited,
                transient_failures: stats.transient,
                seconds: (secs * 1000.0).round() / 1000.0,
            },
            counts: Counts::of(states),
            steps: &rows,
        };
        return Ok(terminal::print_data(|out| json::write(&summary, out))?);
    }
    terminal::print(|out| {
        writeln!(
            out,
            "{}: this run sent {} and {} in {secs:.1}s ({} answered 429, {} transient failures).",
            config.plan.display(),
            counted(stats.writes, "write", "writes"),
            counted(stats.reads, "read", "reads"),
            stats.rate_limited,
            stats.transient
        )?;
        render_status(plan, states, out)?;
        let plan_path = config.plan.display().to_string();
        render_runs(
            &run_tallies(records),
            &plan.steps,
            groups,
            states,
            &plan_path,
            out,
        )?;
        if let Some(report) = &config.report {
            let not_started = states
                .iter()
                .filter(|s| matches!(s, journal::StepState::Pending))
                .count();
            if config.selection.is_all() || not_started == 0 {
                writeln!(out, "Report: {}", report.display())?;
            } else {
                writeln!(
                    out,
                    "Report: {} (the steps runs have started; the {} not started are left out)",
                    report.display(),
                    counted(not_started as u64, "step", "steps")
                )?;
            }
        }
        Ok(())
    })?;
    Ok(())
}

/// Someone is there to answer the prompt.
fn interactive() -> bool {
    io::stdin().is_terminal() && io::stderr().is_terminal()
}

/// On a terminal (`run` has made sure there is one), shows what is about to happen and waits
/// for "yes" (`await_yes`), or a Ctrl-C among the presses the run counts.
fn confirm(
    plan: &Plan,
    counts: &Counts,
    choice: &Choice,
    config: &ApplyConfig,
    runtime: &tokio::runtime::Runtime,
    presses: &watch::Receiver<u32>,
) -> Result<(), Error> {
    let s = &plan.summary;
    let flagged = plan.steps.iter().filter(|s| s.flagged()).count();
    let left = counts.in_flight + counts.not_started;
    crate::terminal::say!(
        "About to apply {} ({}: {}, {}, {}) at {}.",
        config.plan.display(),
        counted(counts.total as u64, "step", "steps"),
        counted(s.renames, "rename", "renames"),
        counted(s.frees, "free", "frees"),
        counted(s.temporaries, "temporary address", "temporary addresses"),
        config.client.base_url
    );
    if flagged > 0 {
        crate::terminal::say!(
            "  {flagged} frees rename accounts that did not ask to move and may be signed in or use products."
        );
    }
    if left != counts.total {
        crate::terminal::say!(
            "  {} are done or ended already; {left} left.",
            counts.total - left
        );
    }
    if !config.selection.is_all() {
        crate::terminal::say!(
            "  Pilot ({}): this run takes {} of them ({} groups); {} stay for later.",
            config.selection.describe(),
            choice.steps,
            choice.groups,
            choice.left_steps
        );
    }
    eprint!("Type yes to go on: ");
    let _ = io::stderr().flush();
    await_yes(runtime, presses)
}

/// Waits for the answer to the prompt `confirm` showed: "yes" goes on; anything else, or a
/// Ctrl-C among `presses`, ends the run before anything is sent. The line is read on a thread
/// of its own, so that a press is heard while it waits (the handler a pre-flight read left in
/// place would otherwise swallow it, and the prompt go on waiting); the process ends soon
/// after a press, and that thread with it.
fn await_yes(
    runtime: &tokio::runtime::Runtime,
    presses: &watch::Receiver<u32>,
) -> Result<(), Error> {
    let (line, answered) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("prompt".into())
        .spawn(move || {
            let mut answer = String::new();
            let read = io::stdin().lock().read_line(&mut answer).map(|_| answer);
            let _ = line.send(read);
        })
        .map_err(|source| Error::Prompt {
            doing: "start the prompt",
            source,
        })?;
    let mut presses = presses.clone();
    let answer = runtime.block_on(async {
        tokio::select! {
            Ok(()) = presses.changed() => Err(Error::StoppedAtPrompt),
            read = answered => match read {
                Ok(Ok(line)) => Ok(line),
                Ok(Err(source)) => Err(Error::Prompt {
                    doing: "read the answer at the prompt",
                    source,
                }),
                // The prompt's thread ended without a word: it cannot have read a "yes".
                Err(_) => Err(Error::NotConfirmed),
            },
        }
    })?;
    if answer.trim().eq_ignore_ascii_case("yes") {
        Ok(())
    } else {
        Err(Error::NotConfirmed)
    }
}

/// The signals that stop a run: Ctrl-C (the presses `listen` counts), and on Unix SIGTERM and
/// SIGHUP.
struct Stops {
    presses: watch::Receiver<u32>,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hup: tokio::signal::unix::Signal,
}

impl Stops {
    fn new(presses: watch::Receiver<u32>) -> io::Result<Stops> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Stops {
                presses,
                term: signal(SignalKind::terminate())?,
                hup: signal(SignalKind::hangup())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Stops { presses })
    }

    /// The name of the next stop signal; `None` if none can arrive any more.
    async fn next(&mut self) -> Option<&'static str> {
        #[cfg(unix)]
        {
            tokio::select! {
                r = self.presses.changed() => r.ok().map(|()| "Ctrl-C"),
                Some(()) = self.term.recv() => Some("SIGTERM"),
                Some(()) = self.hup.recv() => Some("SIGHUP"),
            }
        }
        #[cfg(not(unix))]
        {
            self.presses.changed().await.ok().map(|()| "Ctrl-C")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rehearsal's Ctrl-C handed on before the run listened is the run's first stop: the
    /// system gives a press made while nobody listens to no one, so the run cannot wait for it.
    #[test]
    fn a_press_handed_on_before_the_run_listens_stops_it() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let presses = watch::Sender::new(0u32);
            let heard = presses.subscribe();
            presses.send_modify(|n| *n += 1);
            let mut stops = Stops::new(heard).unwrap();
            let first = tokio::time::timeout(std::time::Duration::from_secs(5), stops.next());
            assert_eq!(first.await, Ok(Some("Ctrl-C")));
            // Taken once: the next stop is the next press.
            let again = tokio::time::timeout(std::time::Duration::from_millis(50), stops.next());
            assert!(again.await.is_err(), "one press, one stop");
            presses.send_modify(|n| *n += 1);
            let second = tokio::time::timeout(std::time::Duration::from_secs(5), stops.next());
            assert_eq!(second.await, Ok(Some("Ctrl-C")));
        });
    }
}
