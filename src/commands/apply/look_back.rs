//! No success without a live look. A run with nothing left to send (every step it would take was
//! done by earlier runs) would otherwise report success on the journal's word alone; it reads
//! the accounts those runs moved and compares them with where the plan leaves them. An account
//! elsewhere (the journal's runs went to another API, or the account was changed since) is
//! named, and the run does not exit 0.

use crate::commands::reading::{Session, listing};
use crate::commands::verify::{read_hidden, reread};
use crate::config::ApplyConfig;
use crate::error::Error;
use crate::journal::StepState;
use crate::live::drift::Found;
use crate::live::reader::LiveError;
use crate::live::verify::{Planned, mismatches, planned_addresses};
use crate::plan::Plan;
use crate::terminal::note;
use hashbrown::HashMap;

/// Above this many accounts the listing's pages cost fewer reads than one read per account.
const ONE_BY_ONE: usize = 50;
/// A read may lag behind a change: an account found elsewhere is read this many times more.
const SECOND_LOOKS: u32 = 2;

/// An account the journal calls done that the API shows elsewhere.
pub(super) struct OffPlan {
    pub planned: Planned,
    pub found: Found,
}

/// Reads every account whose last step the journal calls done; returns those not at their
/// planned address, each also said on standard error.
pub(super) fn look(
    config: &ApplyConfig,
    plan: &Plan,
    states: &[StepState],
) -> Result<Vec<OffPlan>, Error> {
    let done: Vec<Planned> = planned_addresses(plan)
        .into_iter()
        .filter(|p| {
            matches!(
                states.get(p.last_step.index()),
                Some(StepState::Done { .. })
            )
        })
        .collect();
    if done.is_empty() {
        return Ok(Vec::new());
    }
    let org_id = config.org_id.as_deref().ok_or(LiveError::NoOrgId)?;
    let session = Session::new(&config.client, config.rate, config.policy)?;
    let mut live: HashMap<String, Option<String>> = HashMap::new();
    if done.len() > ONE_BY_ONE {
        live = listing(&session, org_id)?.0;
        read_hidden(&session, &done, &mut live)?;
    } else {
        let all: Vec<usize> = (0..done.len()).collect();
        reread(&session, &done, &all, &mut live)?;
    }
    let mut wrong = mismatches(&done, &live);
    for _ in 0..SECOND_LOOKS {
        if wrong.is_empty() {
            break;
        }
        std::thread::sleep(config.policy.settle);
        let again: Vec<usize> = wrong.iter().map(|(i, _)| *i).collect();
        reread(&session, &done, &again, &mut live)?;
        wrong = mismatches(&done, &live);
    }
    note!(
        "Nothing left to send: read the {} the journal calls done with {}; {} at their planned address.",
        crate::words::counted(done.len() as u64, "account", "accounts"),
        crate::words::counted(session.reader.reads(), "read", "reads"),
        done.len() - wrong.len()
    );
    let off: Vec<OffPlan> = wrong
        .into_iter()
        .map(|(i, found)| OffPlan {
            planned: done[i].clone(),
            found,
        })
        .collect();
    for o in &off {
        crate::terminal::say!(
            "  {}: the journal says done, but the API shows {}, not {}",
            o.planned.account_id,
            mailshift_core::inert::terminal(&o.found.to_string()),
            mailshift_core::inert::terminal(&o.planned.address)
        );
    }
    if !off.is_empty() {
        note!(
            "{} the journal calls done {} not at the planned address: its runs may have gone to another API, or the accounts were changed since. Check with `mailshift verify {}`; `mailshift apply {} --journal NEW` applies the plan afresh.",
            crate::words::counted(off.len() as u64, "account", "accounts"),
            if off.len() == 1 { "is" } else { "are" },
            config.plan.display(),
            config.plan.display()
        );
    }
    Ok(off)
}
