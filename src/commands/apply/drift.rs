//! The drift check `apply` makes before its first write: the org's listing (one read per page,
//! not one per account) against each touched account's next precondition. Accounts the listing
//! hides or shows drifted are read once more on their own, since a listing may lag behind.

use crate::commands::reading::{Session, listing};
use crate::config::ApplyConfig;
use crate::error::Error;
use crate::journal::StepState;
use crate::live::drift::{Drift, Live, behind_plan, drifted};
use crate::live::reader::LiveError;
use crate::plan::select::{Choice, drop_groups};
use crate::plan::{Groups, Plan, StepId};
use crate::terminal::note;
use hashbrown::HashMap;

/// Refuses the run when accounts drifted, or with `--skip-drifted` drops their groups from
/// `choice`; returns the drifted accounts left out.
#[allow(clippy::too_many_arguments)]
pub(super) fn check(
    config: &ApplyConfig,
    plan: &Plan,
    groups: &Groups,
    states: &[StepState],
    choice: &mut Choice,
    session: &Session,
    org_id: &str,
) -> Result<Vec<Drift>, Error> {
    let (mut emails, pages) = listing(session, org_id)?;
    let find = |emails: &HashMap<String, Option<String>>| {
        let live: Live = emails
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_deref()))
            .collect();
        drifted(&plan.steps, states, &choice.chosen, &live)
    };
    let (drifts, hidden) = find(&emails);
    let mut reads = pages;
    // A second look, since a listing may lag: the whole listing again when many drifted (a
    // plan applied already, say), else those accounts one by one, with the hidden ones.
    let second_look: Vec<StepId> = if drifts.len() as u64 > pages {
        let (again, pages) = listing(session, org_id)?;
        emails.extend(again);
        reads += pages;
        hidden
    } else {
        hidden
            .into_iter()
            .chain(drifts.iter().map(|d| d.step))
            .collect()
    };
    let before = session.reader.reads();
    read_again(session, plan, &second_look, &mut emails)?;
    let (mut drifts, _) = find(&emails);
    // An account found at an address this plan's own done step moved it away from may be a
    // read lagging behind that change (a resume right after a stop): read again once the lag
    // has passed, before it counts as drift.
    let behind = behind_plan(&plan.steps, &drifts);
    if !behind.is_empty() {
        note!(
            "{} show an address from before a step this plan did; reads may lag: reading them again in {}.",
            crate::words::counted(behind.len() as u64, "account", "accounts"),
            crate::words::span(config.policy.read_lag)
        );
        std::thread::sleep(config.policy.read_lag);
        read_again(session, plan, &behind, &mut emails)?;
        drifts = find(&emails).0;
    }
    reads += session.reader.reads() - before;
    note!(
        "Checked the org against the plan with {}: {} of the accounts this run touches drifted.",
        crate::words::counted(reads, "read", "reads"),
        drifts.len()
    );
    if drifts.is_empty() {
        return Ok(drifts);
    }
    for d in &drifts {
        crate::terminal::say!(
            "  step {}  {}  expected {}, found {}",
            d.step,
            d.account_id,
            mailshift_core::inert::terminal(&d.expected),
            mailshift_core::inert::terminal(&d.found.to_string())
        );
    }
    if !config.skip_drifted {
        return Err(Error::Drifted {
            plan: config.plan.clone(),
            count: drifts.len(),
        });
    }
    let steps: Vec<StepId> = drifts.iter().map(|d| d.step).collect();
    let groups = drop_groups(groups, choice, &steps);
    note!(
        "--skip-drifted: {groups} groups left out; the other {} steps go ahead.",
        choice.steps
    );
    Ok(drifts)
}

/// Reads the accounts of `steps` one by one into `emails`; an account that no longer exists
/// leaves it.
fn read_again(
    session: &Session,
    plan: &Plan,
    steps: &[StepId],
    emails: &mut HashMap<String, Option<String>>,
) -> Result<(), Error> {
    for step in steps {
        let id = &plan.steps[step.index()].account_id;
        match session.block_on(session.reader.read_email(id)) {
            Ok(Some(email)) => emails.insert(id.to_string(), Some(email)),
            Ok(None) => emails.remove(&**id),
            // What the listing showed stands; the write will meet the same refusal, and fail
            // that account's steps alone.
            Err(refused @ LiveError::AccountRefused { .. }) => {
                crate::terminal::caution!("{refused}");
                None
            }
            Err(e) => return Err(e.into()),
        };
    }
    Ok(())
}
