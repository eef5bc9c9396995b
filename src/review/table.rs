//! The review as aligned columns for a terminal.

use super::{after_text, kind_text, origin_text, step_note, summary_rows};
use crate::plan::Plan;
use std::io::{self, Write};

pub fn render(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "mailshift plan from {}", sources(plan))?;
    for (label, value) in summary_rows(plan) {
        writeln!(out, "  {label:<20} {value}")?;
    }
    if !plan.steps.is_empty() {
        writeln!(out, "\nSteps, in execution order")?;
        let header = [
            "STEP", "GROUP", "KIND", "ACCOUNT", "FROM", "TO", "AFTER", "NOTE",
        ];
        let rows = plan.steps.iter().map(|s| {
            [
                s.id.to_string(),
                s.group.to_string(),
                kind_text(s.kind).to_owned(),
                s.account_id.clone(),
                s.from.clone(),
                s.to.clone(),
                after_text(s),
                step_note(plan, s),
            ]
        });
        write_table(out, header, rows)?;
    }
    if !plan.blocked.is_empty() {
        writeln!(out, "\nBlocked, not planned")?;
        let header = ["WHERE", "ACCOUNT", "CURRENT", "TARGET", "REASON"];
        let rows = plan.blocked.iter().map(|b| {
            [
                origin_text(plan, &b.origin),
                b.account_id.clone().unwrap_or_else(|| "-".into()),
                b.current.clone().unwrap_or_else(|| "-".into()),
                b.target.clone(),
                b.reason.describe(),
            ]
        });
        write_table(out, header, rows)?;
    }
    if !plan.unchanged.is_empty() {
        writeln!(out, "\nUnchanged, already at their target")?;
        let header = ["WHERE", "ACCOUNT", "CURRENT", "TARGET", "NOTE"];
        let rows = plan.unchanged.iter().map(|u| {
            [
                origin_text(plan, &u.origin),
                u.account_id.clone(),
                u.current.clone(),
                u.target.clone(),
                if u.case_only {
                    "differs in letter case only".into()
                } else {
                    String::new()
                },
            ]
        });
        write_table(out, header, rows)?;
    }
    Ok(())
}

fn sources(plan: &Plan) -> String {
    let mut parts = vec![plan.inputs.accounts.path.clone()];
    if let Some(t) = &plan.inputs.targets {
        parts.push(t.path.clone());
    }
    for r in &plan.inputs.rewrite_domains {
        parts.push(format!("--rewrite-domain {r}"));
    }
    parts.join(", ")
}

/// Two passes over the rows: one to size the columns, one to print them padded.
fn write_table<const N: usize, I>(out: &mut dyn Write, header: [&str; N], rows: I) -> io::Result<()>
where
    I: Iterator<Item = [String; N]> + Clone,
{
    let mut widths = header.map(|h| h.chars().count());
    for row in rows.clone() {
        for (w, cell) in widths.iter_mut().zip(&row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    write_row(out, &widths, header.iter().copied())?;
    for row in rows {
        write_row(out, &widths, row.iter().map(String::as_str))?;
    }
    Ok(())
}

fn write_row<'a>(
    out: &mut dyn Write,
    widths: &[usize],
    cells: impl Iterator<Item = &'a str>,
) -> io::Result<()> {
    let mut line = String::with_capacity(128);
    for (i, (cell, width)) in cells.zip(widths).enumerate() {
        if i > 0 {
            line.push_str("  ");
        }
        line.push_str(cell);
        if i + 1 < widths.len() {
            line.extend(std::iter::repeat_n(
                ' ',
                width.saturating_sub(cell.chars().count()),
            ));
        }
    }
    writeln!(out, "{}", line.trim_end())
}
