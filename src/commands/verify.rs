//! `mailshift verify`: is every account the plan moves at its planned address? Reads the org's
//! listing once, or, for fewer accounts than it has pages, searches them by address (or reads
//! their profiles); then re-reads only the accounts that differ, a bounded number of times, since
//! the API may show a change late.

use super::reading::{Session, listing, listing_pages, search_is_cheaper};
use crate::config::VerifyConfig;
use crate::error::{Error, Outcome};
use crate::exec::retry::RetryPolicy;
use crate::journal::{self, StepState};
use crate::live::drift::Found;
use crate::live::reader::LiveError;
use crate::live::verify::{Planned, mismatches, planned_addresses, started_only};
use crate::plan::file::read_hashed;
use crate::review::json;
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
    let (mut live, look) = first_look(&session, org_id, plan.summary.accounts, &planned)?;
    // What a whole listing costs: its pages if read, else as many as the plan's org would have.
    let pages = match look {
        Look::Listing(pages) | Look::SearchThenListing(_, pages) => pages,
        _ => listing_pages(plan.summary.accounts),
    };
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
        look,
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

/// How `verify` first read the accounts it checks.
#[derive(Clone, Copy)]
enum Look {
    /// The whole listing: this many pages.
    Listing(u64),
    /// The v2 search by the planned addresses (this many requests), then a profile read for
    /// each account not found at its address.
    Search(u64),
    /// The v2 search (this many requests), then, since it found too few for a profile read
    /// each of the rest to cost less, the whole listing (this many pages).
    SearchThenListing(u64, u64),
    /// A profile read per account: the org's API has no v2 search, and the accounts are fewer
    /// than the listing's pages.
    Profiles,
}

/// The live address of each planned account, read whichever way costs fewer requests: the
/// whole listing (a read per 100 accounts of the org), or, for fewer accounts than that, the v2
/// search by their planned addresses (100 a read) with a profile read for each account not found
/// at its address (the listing after all, where more are not found than it has pages);
/// profile reads alone where the org has no v2 search. After a 5-account pilot of a
/// 50,000-account plan that is 1 request, not 500.
fn first_look(
    session: &Session,
    org_id: &str,
    org_accounts: u64,
    planned: &[Planned],
) -> Result<(HashMap<String, Option<String>>, Look), LiveError> {
    let pages = listing_pages(org_accounts);
    let whole_listing = |session: &Session| -> Result<_, LiveError> {
        let (mut live, pages) = listing(session, org_id)?;
        read_hidden(session, planned, &mut live)?;
        Ok((live, pages))
    };
    if !search_is_cheaper(planned.len(), org_accounts) {
        let (live, pages) = whole_listing(session)?;
        return Ok((live, Look::Listing(pages)));
    }
    let emails: Vec<&str> = planned.iter().map(|p| p.address.as_str()).collect();
    let (mut live, look): (HashMap<String, Option<String>>, Look) = match session
        .search_by_address(org_id, &emails)?
    {
        Some((found, requests)) => (
            found.into_iter().map(|a| (a.account_id, a.email)).collect(),
            Look::Search(requests),
        ),
        // (The listing says so itself when it is read in the search's place.)
        None if planned.len() as u64 >= pages => {
            let (live, pages) = whole_listing(session)?;
            return Ok((live, Look::Listing(pages)));
        }
        None => {
            if let Some(why) = session.reader.v2_refused() {
                crate::terminal::note!(
                    "The v2 directory search answered {}: reading the accounts' profiles instead.",
                    mailshift_core::inert::terminal(&why)
                );
            }
            (HashMap::new(), Look::Profiles)
        }
    };
    // Not found at its planned address (elsewhere, gone, or hidden): its profile says, unless
    // there are more of those than the listing has pages (a plan not applied yet).
    let unread: Vec<usize> = (0..planned.len())
        .filter(|&i| !matches!(live.get(&planned[i].account_id), Some(Some(_))))
        .collect();
    if let Look::Search(searches) = look
        && unread.len() as u64 > pages
    {
        let (live, pages) = whole_listing(session)?;
        return Ok((live, Look::SearchThenListing(searches, pages)));
    }
    reread(session, planned, &unread, &mut live)?;
    Ok((live, look))
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
    look: Look,
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
        look,
        reads,
        not_started,
    } = *counts;
    let (pages, how) = match look {
        Look::Listing(pages) => (pages, format!("{pages} for the listing")),
        Look::Search(n) => (
            0,
            format!(
                "{} by address with the v2 search, the rest reading profiles, fewer than the listing",
                crate::words::counted(n, "search", "searches")
            ),
        ),
        Look::Profiles => (0, "reading profiles, fewer than the listing".to_owned()),
        Look::SearchThenListing(n, pages) => (
            pages,
            format!(
                "{} by address with the v2 search, then {pages} for the listing: most were not at their planned address",
                crate::words::counted(n, "search", "searches")
            ),
        ),
    };
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
                json::Wrong {
                    account_id: &p.account_id,
                    name: &p.name,
                    expected: &p.address,
                    found,
                    why,
                    journal: journal(p),
                }
            })
            .collect::<Vec<_>>();
        let verify = json::Verify {
            version: json::VERSION,
            plan: config.plan.display().to_string(),
            checked: planned.len(),
            at_planned_address: planned.len() - wrong.len(),
            not_started,
            reads,
            listing_reads: pages,
            wrong,
        };
        return Ok(terminal::print_data(|out| json::write(&verify, out))?);
    }
    terminal::print(|out| {
        writeln!(
            out,
            "{}: {} checked with {} ({how}); {} at their planned address, {} not.",
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
