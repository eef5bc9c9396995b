//! The identity-provider checklist (`plan --idp-checklist FILE`): the accounts whose email the
//! IdP owns, in the order to change them there, each once the plan steps it waits for are
//! applied. Written as CSV, mode 0600, because it holds names and addresses; cells inert in a
//! spreadsheet.

use crate::inert::spreadsheet as cell;
use crate::plan::access::idp_attribute;
use crate::plan::{IdpMove, Plan, StepId, StepKind};
use std::io::{self, Write};

/// When one change may be made, in words: after which applied steps and earlier IdP changes.
pub fn wait_text(m: &IdpMove) -> String {
    let mut parts = Vec::new();
    if !m.after_steps.is_empty() {
        let steps: Vec<String> = m.after_steps.iter().map(StepId::to_string).collect();
        parts.push(format!("after plan step {} is applied", steps.join(", ")));
    }
    if !m.after_idp.is_empty() {
        let rows: Vec<String> = m.after_idp.iter().map(u32::to_string).collect();
        parts.push(format!("after IdP change {} has synced", rows.join(", ")));
    }
    if parts.is_empty() {
        "any time".into()
    } else {
        parts.join(" and ")
    }
}

pub fn render(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record([
        "order",
        "account_id",
        "name",
        "current_email",
        "new_email",
        "when",
        "change_in_idp",
        "groups",
    ])?;
    for m in &plan.idp {
        csv.write_record([
            m.order.to_string(),
            cell(&m.account_id),
            cell(&m.name),
            cell(&m.current),
            cell(&m.target),
            wait_text(m),
            idp_attribute(&m.source).to_owned(),
            String::new(),
        ])?;
    }
    // The accounts unlinked from SCIM: provisioned again afterwards, with their groups (losing
    // them is what admins meet most after the unlink).
    for s in plan.steps.iter().filter(|s| s.kind == StepKind::Unlink) {
        let what = match super::repushed_by(plan, s) {
            Some(m) => format!(
                "the duplicate of IdP change {}: re-push that change; do not reassign this user",
                m.order
            ),
            None => "unassign and reassign the user to the Atlassian app, so that it is provisioned again".to_owned(),
        };
        csv.write_record([
            String::new(),
            cell(&s.account_id),
            cell(&s.name),
            cell(&s.from),
            String::new(),
            format!(
                "after plan step {} (the unlink) and the steps after it are applied",
                s.id
            ),
            what,
            cell(&super::groups_text(plan, &s.account_id)),
        ])?;
    }
    csv.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Origin, plan_of};

    #[test]
    fn the_checklist_says_when_and_what_to_change() {
        let mut plan = plan_of(vec![]);
        plan.idp = vec![
            IdpMove {
                order: 1,
                origin: Origin::line(3),
                account_id: "p2".into(),
                name: "Pat".into(),
                current: "two@x.example".into(),
                target: "three@x.example".into(),
                source: "externalDirectory.scim".into(),
                after_steps: vec![StepId(4)],
                after_idp: vec![],
            },
            IdpMove {
                order: 2,
                origin: Origin::line(2),
                account_id: "p1".into(),
                name: String::new(),
                current: "one@x.example".into(),
                target: "two@x.example".into(),
                source: "externalDirectory.scim".into(),
                after_steps: vec![],
                after_idp: vec![1],
            },
        ];
        let mut out = Vec::new();
        render(&plan, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(
            lines[1].starts_with(
                "1,p2,Pat,two@x.example,three@x.example,after plan step 4 is applied,"
            )
        );
        assert!(
            lines[2]
                .starts_with("2,p1,,one@x.example,two@x.example,after IdP change 1 has synced,")
        );
        assert!(lines[2].contains("emails[type eq"));
    }
}
