//! What a rollback wants: every account a journal shows changed (or perhaps changed) back at
//! the address it had before the plan. Pure over the plan and the journal's states; the wishes
//! then go through the planner like any target list, so that old addresses taken since are
//! freed or blocked as `plan` would.

use crate::input::{Target, TargetRow};
use crate::journal::StepState;
use crate::plan::Plan;
use hashbrown::HashMap;

/// One wish per account with a done or in-flight step, in plan order; `line` is the account's
/// first step in the original plan, so the review's `PLAN:N` names the step that moved it.
pub fn rollback_rows(plan: &Plan, states: &[StepState]) -> Vec<TargetRow> {
    let mut first: HashMap<&str, usize> = HashMap::new();
    let mut touched = vec![false; plan.steps.len()];
    for (i, s) in plan.steps.iter().enumerate() {
        let first_step = *first.entry(&s.account_id).or_insert(i);
        if matches!(
            states.get(i),
            Some(StepState::Done { .. } | StepState::InFlight { .. })
        ) {
            touched[first_step] = true;
        }
    }
    (0..plan.steps.len())
        .filter(|&i| touched[i])
        .map(|i| {
            let s = &plan.steps[i];
            TargetRow {
                file: 0,
                line: u64::from(s.id.0),
                account_id: Some(s.account_id.to_string()),
                current_email: None,
                target: Target::parse(&s.from),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{plan_of, step_of as step};

    #[test]
    fn every_account_that_moved_goes_back_to_its_first_address() {
        let plan = plan_of(vec![
            step(1, "b", "b@x.example", "b_MOVING@x.example", &[]),
            step(2, "a", "a@x.example", "b@x.example", &[]),
            step(3, "b", "b_MOVING@x.example", "a@x.example", &[]),
            step(4, "c", "c@x.example", "c@y.example", &[]),
            step(5, "d", "d@x.example", "d@y.example", &[]),
        ]);
        let done = StepState::Done {
            status: Some(204),
            attempts: 1,
        };
        let failed = StepState::Failed {
            status: Some(400),
            key: None,
            message: "m".into(),
            attempts: 1,
        };
        // b parked and stopped there (its last step failed), a moved, c never ran, d in flight.
        let states = vec![
            done.clone(),
            done,
            failed,
            StepState::Pending,
            StepState::InFlight {
                attempt: 1,
                sent: None,
                retried: false,
            },
        ];
        let rows = rollback_rows(&plan, &states);
        let wishes: Vec<(u64, &str, &str)> = rows
            .iter()
            .map(|r| (r.line, r.account_id.as_deref().unwrap(), r.target.text()))
            .collect();
        assert_eq!(
            wishes,
            vec![
                (1, "b", "b@x.example"),
                (2, "a", "a@x.example"),
                (5, "d", "d@x.example")
            ]
        );
    }
}
