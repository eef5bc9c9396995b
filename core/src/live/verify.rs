//! What `verify` compares: every account the plan moves, against the address the plan leaves it
//! at. Pure over the plan and the live emails.

use super::drift::Found;
use crate::journal::StepState;
use crate::model::email_key;
use crate::plan::{Plan, StepId};
use hashbrown::{HashMap, HashSet};

/// An account the plan moves and where it must end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub account_id: String,
    pub name: String,
    pub address: String,
    /// The account's last step, whose journal state explains a mismatch.
    pub last_step: StepId,
}

/// The final address of every account the plan moves, in plan order of first appearance.
pub fn planned_addresses(plan: &Plan) -> Vec<Planned> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut out: Vec<Planned> = Vec::new();
    for s in &plan.steps {
        let i = *index.entry(&s.account_id).or_insert_with(|| {
            out.push(Planned {
                account_id: s.account_id.to_string(),
                name: s.name.to_string(),
                address: String::new(),
                last_step: s.id,
            });
            out.len() - 1
        });
        out[i].address = s.to.to_string();
        out[i].last_step = s.id;
    }
    out
}

/// The accounts of `planned` that some `apply` has started (a step of theirs is past pending in
/// the journal's `states`), and how many it has not. After a pilot the rest are untouched on
/// purpose, so `verify` checks what was done unless asked for the whole plan.
pub fn started_only(
    plan: &Plan,
    planned: Vec<Planned>,
    states: &[StepState],
) -> (Vec<Planned>, usize) {
    let started: HashSet<&str> = plan
        .steps
        .iter()
        .zip(states)
        .filter(|(_, state)| !matches!(state, StepState::Pending))
        .map(|(s, _)| &*s.account_id)
        .collect();
    let total = planned.len();
    let kept: Vec<Planned> = planned
        .into_iter()
        .filter(|p| started.contains(p.account_id.as_str()))
        .collect();
    let left = total - kept.len();
    (kept, left)
}

/// Indices into `planned` of the accounts not at their planned address, with what was found.
pub fn mismatches(
    planned: &[Planned],
    live: &HashMap<String, Option<String>>,
) -> Vec<(usize, Found)> {
    planned
        .iter()
        .enumerate()
        .filter_map(|(i, p)| match live.get(&p.account_id) {
            None => Some((i, Found::Missing)),
            Some(Some(e)) if email_key(e) == email_key(&p.address) => None,
            Some(Some(e)) => Some((i, Found::Email(e.clone()))),
            // Hidden in the listing and not read yet: not a verdict either way.
            Some(None) => Some((i, Found::Hidden)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::step_of as step;

    #[test]
    fn after_a_pilot_only_the_accounts_it_started_are_checked() {
        // A swap (steps 1-3) and two renames; a pilot did the swap's first step and step 4.
        let plan = crate::plan::plan_of(vec![
            step(1, "b", "b@x", "b_MOVING@x", &[]),
            step(2, "a", "a@x", "b@x", &[]),
            step(3, "b", "b_MOVING@x", "a@x", &[]),
            step(4, "c", "c@x", "c@y", &[]),
            step(5, "d", "d@x", "d@y", &[]),
        ]);
        let done = StepState::Done {
            status: Some(204),
            attempts: 1,
        };
        let states = [
            done.clone(),
            StepState::Pending,
            StepState::Pending,
            done,
            StepState::Pending,
        ];
        let (kept, left) = started_only(&plan, planned_addresses(&plan), &states);
        let ids: Vec<&str> = kept.iter().map(|p| p.account_id.as_str()).collect();
        // b is started (its temporary step is done), so it must end at a@x; a, though it
        // belongs to the same swap, was not touched yet, and d not at all.
        assert_eq!((ids, left), (vec!["b", "c"], 2));
    }

    #[test]
    fn an_account_must_end_at_its_last_steps_target_in_any_case() {
        // A swap: b parks, a takes b's address, b takes a's.
        let plan = crate::plan::plan_of(vec![
            step(1, "b", "b@x", "b_MOVING@x", &[]),
            step(2, "a", "a@x", "b@x", &[]),
            step(3, "b", "b_MOVING@x", "a@x", &[]),
            step(4, "c", "c@x", "c@y", &[]),
        ]);
        let planned = planned_addresses(&plan);
        let ends: Vec<(&str, &str, u32)> = planned
            .iter()
            .map(|p| (p.account_id.as_str(), p.address.as_str(), p.last_step.0))
            .collect();
        assert_eq!(
            ends,
            vec![("b", "a@x", 3), ("a", "b@x", 2), ("c", "c@y", 4)]
        );
        let live: HashMap<String, Option<String>> = [
            ("a".to_owned(), Some("B@X".to_owned())),
            ("b".to_owned(), Some("b_MOVING@x".to_owned())),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            mismatches(&planned, &live),
            vec![(0, Found::Email("b_MOVING@x".into())), (2, Found::Missing)]
        );
    }
}
