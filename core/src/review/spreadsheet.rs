//! The review as CSV for a spreadsheet: one row per blocked item, step, row with no account,
//! account left behind and unchanged wish, blocked ones first; the `decision` column marks what needs a person.
//! Cells that a spreadsheet would run as a formula are neutralised.

use super::{after_text, kind_text, origin_text, step_note};
use crate::inert::spreadsheet as cell;
use crate::plan::{Blocked, Plan};
use std::io::{self, Write};

/// `sha256`: the plan's content hash, which the first row (section `plan`) gives, so that the
/// sheet says which plan it reviews.
pub fn render(plan: &Plan, sha256: &str, out: &mut dyn Write) -> io::Result<()> {
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
        "decision",
    ])?;
    let sha = format!("content sha256 {sha256}: mailshift apply --expect-sha256 {sha256}");
    w.write_record(["plan", "", "", "", "", "", "", "", "", "", "", &sha, ""])?;
    // Blocked wishes first: they are decisions, as the `decision` column marks the steps that
    // are; the steps follow in execution order.
    write_unplanned(plan, &mut w, "blocked", &plan.blocked)?;
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
            cell(&s.account_id),
            cell(&s.name),
            s.status.to_string(),
            cell(&s.from),
            cell(&s.to),
            if s.after.is_empty() {
                String::new()
            } else {
                after_text(s)
            },
            cell(&origin),
            cell(&step_note(plan, s)),
            super::decisions::of_step(s).unwrap_or_default().to_owned(),
        ])?;
    }
    write_unplanned(plan, &mut w, "no_account", &plan.no_account)?;
    for l in &plan.left_behind {
        w.write_record([
            "left_behind".to_owned(),
            String::new(),
            String::new(),
            String::new(),
            cell(&l.account_id),
            cell(&l.name),
            l.status.name().to_owned(),
            cell(&l.email),
            String::new(),
            String::new(),
            String::new(),
            "stays on a domain the plan moves others away from".to_owned(),
            String::new(),
        ])?;
    }
    for u in &plan.unchanged {
        w.write_record([
            "unchanged".to_owned(),
            String::new(),
            String::new(),
            String::new(),
            cell(&u.account_id),
            String::new(),
            String::new(),
            cell(&u.current),
            cell(&u.target),
            String::new(),
            cell(&origin_text(plan, &u.origin)),
            cell(&super::unchanged_note(u)),
            if u.row_current.is_some() {
                "found by the new address".into()
            } else {
                String::new()
            },
        ])?;
    }
    w.flush()
}

/// One shape for blocked wishes and rows with no account: a row that is no step, with what the
/// file asked and why not.
fn write_unplanned<W: Write>(
    plan: &Plan,
    w: &mut csv::Writer<W>,
    row_kind: &str,
    list: &[Blocked],
) -> io::Result<()> {
    for b in list {
        let (code, why, decision) = if b.reason.is_no_account() {
            (
                String::new(),
                "no Atlassian account matches this row".to_owned(),
                "",
            )
        } else {
            (b.reason.code().to_owned(), b.reason.describe(), "blocked")
        };
        w.write_record([
            row_kind.to_owned(),
            String::new(),
            String::new(),
            code,
            cell(b.account_id.as_deref().unwrap_or_default()),
            cell(&b.name),
            String::new(),
            cell(b.current.as_deref().unwrap_or_default()),
            cell(&b.target),
            String::new(),
            cell(&origin_text(plan, &b.origin)),
            cell(&why),
            decision.to_owned(),
        ])?;
    }
    Ok(())
}
