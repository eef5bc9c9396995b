//! `mailshift verify`: is every account the plan moves at its planned address? Reads the org's
//! listing once, then re-reads only the accounts that differ, a bounded number of times, since
//! the API may show a change late.

use super::reading::{Session, listing};
use crate::config::VerifyConfig;
use crate::error::{Error, Outcome};
use crate::exec::retry::RetryPolicy;
use crate::journal::{self, StepState};
use crate::live::drift::Found;
use crate::live::reader::LiveError;
use crate::live::verify::{Planned, mismatches, planned_addresses, started_only};
use crate::plan::file::read_hashed;
use crate::review::machine;
use crate::terminal;
use crate::terminal::note;
use hashbrown::HashMap;
use mailshift_core::inert;

pub fn run(config: &VerifyConfig) -> Result<Outcome, Error> {
    let (plan, sha) = read_hashed(&config.plan)?;
    super::warn_if_loose(&config.plan);
    super::warn_if_loose(&config.journal);
    let org_id = config.api.org_id.as_deref().ok_or(LiveError::NoOrgId)?;
    // The journal says which accounts were started and explains mismatches; verify works
    // without one, and then checks the whole plan.
    let states = journal::read(&config.journal)
        .ok()
        .filter(|p| p.header.plan_sha256 == sha)
        .and_then(|p| {
            journal::replay(&config.journal, plan.steps.len() as u32, &p.records, false).ok()
        });
    let (planned, not_started) = match (&states, config.all) {
        (Some(states), false) => started_only(&plan, planned_addresses(&plan), states),
        _ => (planned_addresses(&plan), 0),
    };
    let session = Session::new(&config.api.client, config.rate, RetryPolicy::default())?;
    let (mut live, pages) = listing(&session, org_id)?;
    read_hidden(&session, &planned, &mut live)?;
    let mut wrong = mismatches(&planned, &live);
    for round in 1..=config.rechecks {
        if wrong.is_empty() {
            break;
        }
        note!(
            "{} accounts are not at their planned address yet; reading them again in {}s ({round} of {})",
            wrong.len(),
            config.recheck_delay.as_secs_f64(),
            config.rechecks
        );
        std::thread::sleep(config.recheck_delay);
        // Whichever costs fewer reads: the accounts one by one, or the whole listing again.
        if wrong.len() as u64 > pages {
            live = listing(&session, org_id)?.0;
            read_hidden(&session, &planned, &mut live)?;
        } else {
            let again: Vec<usize> = wrong.iter().map(|(i, _)| *i).collect();
            reread(&session, &planned, &again, &mut live)?;
        }
        wrong = mismatches(&planned, &live);
    }
    let reads = session.reader.reads();
    let counts = Counts {
        pages,
        reads,
        not_started,
    };
    report(config, &planned, &wrong, states.as_deref(), &counts)?;
    Ok(if wrong.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Incomplete
    })
}

/// Emails the listing hides are read one by one before anything is judged.
pub(super) fn read_hidden(
    session: &Session,
    planned: &[Planned],
    live: &mut HashMap<String, Option<String>>,
) -> Result<(), LiveError> {
    let hidden: Vec<usize> = (0..planned.len())
        .filter(|&i| matches!(live.get(&planned[i].account_id), Some(None)))
        .collect();
    reread(session, planned, &hidden, live)
}

/// Reads these accounts' profiles into `live`; an account that no longer exists leaves it.
pub(super) fn reread(
    session: &Session,
    planned: &[Planned],
    which: &[usize],
    live: &mut HashMap<String, Option<String>>,
) -> Result<(), LiveError> {
    for &i in which {
        let id = &planned[i].account_id;
        match session.block_on(session.reader.read_email(id)) {
            Ok(Some(email)) => live.insert(id.clone(), Some(email)),
            Ok(None) => live.remove(id),
            // Not a verdict either way: the account stays unchecked, and so reported.
            Err(refused @ LiveError::AccountRefused { .. }) => {
                crate::terminal::caution!("{refused}; it cannot be checked");
                live.insert(id.clone(), None)
            }
            Err(e) => return Err(e),
        };
    }
    Ok(())
}

/// What `verify` read, and how many accounts it left out because no apply started them.
struct Counts {
    pages: u64,
    reads: u64,
    not_started: usize,
}

fn report(
    config: &VerifyConfig,
    planned: &[Planned],
    wrong: &[(usize, Found)],
    states: Option<&[StepState]>,
    counts: &Counts,
) -> Result<(), Error> {
    let Counts {
        pages,
        reads,
        not_started,
    } = *counts;
    let journal = |p: &Planned| {
        states
            .and_then(|s| s.get(p.last_step.index()))
            .map(|s| format!("step {} {}", p.last_step, state_text(s)))
    };
    if config.json {
        let wrong = wrong
            .iter()
            .map(|(i, found)| {
                let p = &planned[*i];
                let (found, why) = match found {
                    Found::Email(e) => (Some(e.as_str()), "other_address"),
                    Found::Missing => (None, "missing"),
                    Found::Hidden => (None, "hidden"),
                };
                machine::Wrong {
                    account_id: &p.account_id,
                    name: &p.name,
                    expected: &p.address,
                    found,
                    why,
                    journal: journal(p),
                }
            })
            .collect::<Vec<_>>();
        let verify = machine::Verify {
            version: machine::VERSION,
            plan: config.plan.display().to_string(),
            checked: planned.len(),
            at_planned_address: planned.len() - wrong.len(),
            not_started,
            reads,
            listing_reads: pages,
            wrong,
        };
        return Ok(terminal::print_data(|out| machine::write(&verify, out))?);
    }
    terminal::print(|out| {
        writeln!(
            out,
            "{}: {} checked with {} ({pages} for the listing); {} at their planned address, {} not.",
            config.plan.display(),
            crate::words::counted(planned.len() as u64, "account", "accounts"),
            crate::words::counted(reads, "read", "reads"),
            planned.len() - wrong.len(),
            wrong.len()
        )?;
        if not_started > 0 {
            writeln!(
                out,
                "  {not_started} accounts the plan moves have no step started by any apply (a pilot leaves them); not checked, --all checks them too."
            )?;
        }
        for (i, found) in wrong {
            let p = &planned[*i];
            let who = if p.name.is_empty() {
                p.account_id.clone()
            } else {
                format!("{} ({})", p.account_id, p.name)
            };
            let why = journal(p)
                .map(|j| format!("  [journal: {j}]"))
                .unwrap_or_default();
            writeln!(
                out,
                "  {}  expected {}, found {}{why}",
                inert::terminal(&who),
                inert::terminal(&p.address),
                inert::terminal(&found.to_string())
            )?;
        }
        Ok(())
    })?;
    Ok(())
}

fn state_text(s: &StepState) -> String {
    match s {
        StepState::Pending => "not started".into(),
        StepState::InFlight { .. } => "sent, outcome unknown".into(),
        StepState::Done { .. } => "done".into(),
        StepState::Failed { message, .. } => format!("failed: {message}"),
        StepState::Skipped { because } => format!("skipped because step {because} did not succeed"),
    }
}
