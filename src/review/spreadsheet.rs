//! The review as CSV for a spreadsheet: one row per step, blocked item and unchanged wish.
//! Cells that a spreadsheet would run as a formula are neutralised.

use super::{after_text, kind_text, origin_text, step_note};
use crate::plan::Plan;
use std::io::{self, Write};

pub fn render(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "section",
        "step",
        "group",
        "kind",
        "account_id",
        "name",
        "status",
        "from",
        "to",
        "after",
        "where",
        "note",
    ])?;
    for s in &plan.steps {
        let origin = s
            .origin
            .as_ref()
            .map(|o| origin_text(plan, o))
            .unwrap_or_default();
        w.write_record([
            "step".to_owned(),
            s.id.to_string(),
            s.group.to_string(),
            kind_text(s.kind).to_owned(),
            safe(&s.account_id),
            safe(&s.name),
            s.status.to_string(),
            safe(&s.from),
            safe(&s.to),
            if s.after.is_empty() {
                String::new()
            } else {
                after_text(s)
            },
            safe(&origin),
            safe(&step_note(plan, s)),
        ])?;
    }
    // One shape for both lists: a row that is no step, with what the file asked and why not.
    let lists = [("blocked", &plan.blocked), ("no_account", &plan.no_account)];
    for (row_kind, list) in lists {
        for b in list {
            let (code, why) = if b.reason.is_no_account() {
                (
                    String::new(),
                    "no Atlassian account matches this row".to_owned(),
                )
            } else {
                (b.reason.code().to_owned(), b.reason.describe())
            };
            w.write_record([
                row_kind.to_owned(),
                String::new(),
                String::new(),
                code,
                safe(b.account_id.as_deref().unwrap_or_default()),
                String::new(),
                String::new(),
                safe(b.current.as_deref().unwrap_or_default()),
                safe(&b.target),
                String::new(),
                safe(&origin_text(plan, &b.origin)),
                safe(&why),
            ])?;
        }
    }
    for u in &plan.unchanged {
        w.write_record([
            "unchanged".to_owned(),
            String::new(),
            String::new(),
            String::new(),
            safe(&u.account_id),
            String::new(),
            String::new(),
            safe(&u.current),
            safe(&u.target),
            String::new(),
            safe(&origin_text(plan, &u.origin)),
            if u.case_only {
                "differs in letter case only".into()
            } else {
                String::new()
            },
        ])?;
    }
    w.flush()
}

/// Prefixes cells that start like a formula (`=`, `+`, `-`, `@`, tab, carriage return) with `'`,
/// so that opening the review in a spreadsheet never runs what an export row contained.
pub fn safe(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formula_cells_are_neutralised() {
        assert_eq!(super::safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(super::safe("+1"), "'+1");
        assert_eq!(super::safe("-2"), "'-2");
        assert_eq!(super::safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(super::safe("ann@x.example"), "ann@x.example");
    }
}
