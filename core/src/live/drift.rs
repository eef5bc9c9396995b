//! Whether the world still matches the plan: for every account a run will touch, the live email
//! against the precondition of its next step. Pure over the plan, the journal's states and what
//! the org listing showed.

use crate::journal::StepState;
use crate::model::email_key;
use crate::plan::{Step, StepId};
use hashbrown::HashMap;
use std::fmt;

/// What the live org shows for an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Email(String),
    /// Not among the org's managed accounts (deleted, or moved to another org).
    Missing,
    /// Listed, but with its email hidden, and not read on its own.
    Hidden,
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Found::Email(e) => f.write_str(e),
            Found::Missing => f.write_str("no such account in the org"),
            Found::Hidden => f.write_str("an address the listing hides"),
        }
    }
}

/// An account whose live address is not the one its next step starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    pub step: StepId,
    pub account_id: String,
    pub expected: String,
    pub found: Found,
}

/// The live emails by account ID; `None` for an account whose email the listing hides.
pub type Live<'a> = HashMap<&'a str, Option<&'a str>>;

/// The drifted accounts, and the steps whose account hides its email in the listing (to be
/// read one by one, then checked again with the email filled in).
pub fn drifted(
    steps: &[Step],
    states: &[StepState],
    chosen: &[bool],
    live: &Live<'_>,
) -> (Vec<Drift>, Vec<StepId>) {
    let mut seen: HashMap<&str, ()> = HashMap::new();
    let mut drifts = Vec::new();
    let mut hidden = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        let state = states.get(i).unwrap_or(&StepState::Pending);
        if state.is_final() || seen.insert(&s.account_id, ()).is_some() {
            continue;
        }
        if !chosen.get(i).copied().unwrap_or(true) {
            continue;
        }
        let found = match live.get(&*s.account_id) {
            None => Found::Missing,
            Some(None) => {
                hidden.push(s.id);
                continue;
            }
            Some(Some(email)) => {
                let key = email_key(email);
                let at_from = key == email_key(&s.from);
                // A write sent before may have landed, whatever the journal could tell (a dead
                // run's write in flight, or one a lagging read called not applied): its target
                // is fine too, and setting it again changes nothing.
                let landed = key == email_key(&s.to);
                if at_from || landed {
                    continue;
                }
                Found::Email((*email).to_owned())
            }
        };
        drifts.push(Drift {
            step: s.id,
            account_id: s.account_id.to_string(),
            expected: s.from.to_string(),
            found,
        });
    }
    (drifts, hidden)
}

/// The drifts whose found address is one an earlier step of this plan moved the account away
/// from: a read lagging behind the plan's own change shows that, so they are read again once
/// the lag has passed before they count.
pub fn behind_plan(steps: &[Step], drifts: &[Drift]) -> Vec<StepId> {
    let wanted: HashMap<&str, (StepId, String)> = drifts
        .iter()
        .filter_map(|d| match &d.found {
            Found::Email(e) => Some((d.account_id.as_str(), (d.step, email_key(e)))),
            _ => None,
        })
        .collect();
    let mut behind: Vec<StepId> = steps
        .iter()
        .filter_map(|s| {
            let (step, found) = wanted.get(&*s.account_id)?;
            (s.id < *step && email_key(&s.from) == *found).then_some(*step)
        })
        .collect();
    behind.sort_unstable();
    behind.dedup();
    behind
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::step_of as step;

    #[test]
    fn each_account_is_checked_against_its_next_step() {
        // b parks (2), then takes its target (4); c's step is done; d hides its email; e is gone.
        let steps = vec![
            step(1, "a", "a@old", "a@new", &[]),
            step(2, "b", "b@new", "b_MOVING@new", &[]),
            step(3, "c", "c@old", "c@new", &[]),
            step(4, "b", "b_MOVING@new", "x@new", &[]),
            step(5, "d", "d@old", "d@new", &[]),
            step(6, "e", "e@old", "e@new", &[]),
            step(7, "f", "f@old", "f@new", &[]),
        ];
        let done = StepState::Done {
            status: Some(204),
            attempts: 1,
        };
        let mut states = vec![StepState::Pending; 7];
        states[1] = done.clone();
        states[2] = done;
        states[6] = StepState::InFlight {
            attempt: 1,
            sent: None,
            retried: false,
        };
        let live: Live = [
            ("a", Some("A@OLD")),        // same address, other case: fine
            ("b", Some("b_MOVING@new")), // after its done step 2: fine
            ("c", Some("someone@else")), // nothing left to do for c: not checked
            ("d", None),                 // hidden: read it
            ("f", Some("f@new")),        // in flight, and it landed: fine
        ]
        .into_iter()
        .collect();
        let (drifts, hidden) = drifted(&steps, &states, &[], &live);
        assert_eq!(hidden, vec![5]);
        assert_eq!(
            drifts,
            vec![Drift {
                step: StepId(6),
                account_id: "e".into(),
                expected: "e@old".into(),
                found: Found::Missing
            }]
        );
        let moved: Live = [("a", Some("a@elsewhere"))].into_iter().collect();
        let (drifts, _) = drifted(&steps[..1], &[], &[], &moved);
        assert_eq!(drifts[0].found, Found::Email("a@elsewhere".into()));
        // Steps a pilot does not take are not checked.
        let (drifts, _) = drifted(&steps[..1], &[], &[false], &moved);
        assert!(drifts.is_empty());
    }

    #[test]
    fn an_address_the_plan_moved_the_account_away_from_may_be_a_lagging_read() {
        // b parked (step 2 done); its next step 4 starts from b_MOVING@new.
        let steps = vec![
            step(2, "b", "b@new", "b_MOVING@new", &[]),
            step(4, "b", "b_MOVING@new", "x@new", &[]),
            step(5, "d", "d@old", "d@new", &[]),
        ];
        let drift = |step: u32, account: &str, found: &str| Drift {
            step: StepId(step),
            account_id: account.into(),
            expected: String::new(),
            found: Found::Email(found.into()),
        };
        let drifts = vec![
            drift(4, "b", "B@new"),        // before step 2: may lag
            drift(5, "d", "someone@else"), // never the account's: drifted
        ];
        assert_eq!(behind_plan(&steps, &drifts), vec![StepId(4)]);
    }
}
