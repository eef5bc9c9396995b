//! The people list (`plan --people FILE`, `status --people FILE`): one row per person whose
//! address the plan changes, for the announcement and the help desk, since Atlassian sends no
//! notice. Written as CSV, mode 0600, because it holds names and addresses.

use crate::inert::spreadsheet as cell;
use crate::plan::{Plan, StepKind};
use hashbrown::HashMap;
use std::io::{self, Write};

/// One person: where they start, where the plan leaves them, and what it means for them.
struct Person<'a> {
    account_id: &'a str,
    name: &'a str,
    current: &'a str,
    new: &'a str,
    signed_out: bool,
    freed: bool,
    unlinked: bool,
    last_step: u32,
}

/// `changed_at`: when each finished step was done (from the journal), keyed by step id; empty
/// for a list made before the apply.
pub fn render(
    plan: &Plan,
    changed_at: &HashMap<u32, String>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut people: Vec<Person> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for s in &plan.steps {
        let i = *index.entry(&s.account_id).or_insert_with(|| {
            people.push(Person {
                account_id: &s.account_id,
                name: &s.name,
                current: &s.from,
                new: &s.to,
                signed_out: s.status.may_have_sessions(),
                freed: false,
                unlinked: false,
                last_step: s.id.0,
            });
            people.len() - 1
        });
        let p = &mut people[i];
        p.new = &s.to;
        p.last_step = s.id.0;
        p.freed |= s.kind == StepKind::Free;
        p.unlinked |= s.kind == StepKind::Unlink;
    }
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record([
        "name",
        "account_id",
        "current_email",
        "new_email",
        "signed_out",
        "what_changes",
        "changed_at",
        "groups",
    ])?;
    for p in &people {
        let what = match (p.freed, p.unlinked) {
            (true, true) => {
                "unlinked from the identity provider, then gives up this address to another account"
            }
            (true, false) => "gives up this address to another account (did not ask to move)",
            (false, true) => "unlinked from the identity provider (groups to be reprovisioned)",
            (false, false) => "moves to the new address",
        };
        csv.write_record([
            cell(p.name),
            cell(p.account_id),
            cell(p.current),
            cell(p.new),
            if p.signed_out {
                "yes: every session ends at the change".to_owned()
            } else {
                "no (deactivated)".to_owned()
            },
            what.to_owned(),
            changed_at.get(&p.last_step).cloned().unwrap_or_default(),
            if p.unlinked {
                cell(&super::groups_text(plan, p.account_id))
            } else {
                String::new()
            },
        ])?;
    }
    csv.flush()
}

/// How many people the list has: the accounts the plan writes.
pub fn count(plan: &Plan) -> usize {
    let mut seen = hashbrown::HashSet::new();
    plan.steps
        .iter()
        .filter(|s| seen.insert(&*s.account_id))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::step_of as step;

    #[test]
    fn one_row_per_person_from_first_address_to_last_with_when_it_was_done() {
        // A swap: b parks, a takes b's address, b takes a's; c is freed.
        let mut steps = vec![
            step(1, "b", "b@x", "b_MOVING@x", &[]),
            step(2, "a", "a@x", "b@x", &[1]),
            step(3, "b", "b_MOVING@x", "a@x", &[2]),
            step(4, "c", "c@x", "c_FREE@x", &[]),
        ];
        steps[3].kind = StepKind::Free;
        steps[3].name = "=Cee".into();
        let plan = crate::plan::plan_of(steps);
        let done: HashMap<u32, String> = [(3, "2026-12-01T10:00:00Z".to_owned())]
            .into_iter()
            .collect();
        let mut out = Vec::new();
        render(&plan, &done, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "name,account_id,current_email,new_email,signed_out,what_changes,changed_at,groups\n\
             ,b,b@x,a@x,yes: every session ends at the change,moves to the new address,2026-12-01T10:00:00Z,\n\
             ,a,a@x,b@x,yes: every session ends at the change,moves to the new address,,\n\
             '=Cee,c,c@x,c_FREE@x,yes: every session ends at the change,gives up this address to another account (did not ask to move),,\n"
        );
    }
}
