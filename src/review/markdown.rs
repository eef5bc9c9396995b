//! The review as Markdown, for pasting into a change request.

use super::{after_text, kind_text, origin_text, step_note, summary_rows};
use crate::plan::Plan;
use std::io::{self, Write};

pub fn render(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "## mailshift plan\n")?;
    writeln!(
        out,
        "Accounts: `{}` (sha256 `{}`)",
        cell(&plan.inputs.accounts.path),
        plan.inputs.accounts.sha256
    )?;
    if let Some(t) = &plan.inputs.targets {
        writeln!(out, "Targets: `{}` (sha256 `{}`)", cell(&t.path), t.sha256)?;
    }
    for r in &plan.inputs.rewrite_domains {
        writeln!(out, "Rule: `--rewrite-domain {}`", cell(r))?;
    }
    writeln!(out, "\n| | |\n|---|---|")?;
    for (label, value) in summary_rows(plan) {
        writeln!(out, "| {label} | {} |", cell(&value))?;
    }
    if !plan.steps.is_empty() {
        writeln!(out, "\n### Steps, in execution order\n")?;
        writeln!(
            out,
            "| step | group | kind | account | name | from | to | after | note |"
        )?;
        writeln!(out, "|---:|---:|---|---|---|---|---|---|---|")?;
        for s in &plan.steps {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                s.id,
                s.group,
                kind_text(s.kind),
                cell(&s.account_id),
                cell(&s.name),
                cell(&s.from),
                cell(&s.to),
                after_text(s),
                cell(&step_note(plan, s)),
            )?;
        }
    }
    if plan.steps.windows(2).any(|w| w[0].group == w[1].group) {
        writeln!(
            out,
            "\n### Steps that depend on each other\n\nBoxes are addresses; each arrow is a step moving an account (dotted: a free or a temporary address).\n"
        )?;
        super::diagram::render(plan, out)?;
    }
    if !plan.blocked.is_empty() {
        writeln!(out, "\n### Blocked, not planned\n")?;
        writeln!(
            out,
            "| where | account | current | target | reason |\n|---|---|---|---|---|"
        )?;
        for b in &plan.blocked {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                cell(&origin_text(plan, &b.origin)),
                cell(b.account_id.as_deref().unwrap_or("-")),
                cell(b.current.as_deref().unwrap_or("-")),
                cell(&b.target),
                cell(&b.reason.describe()),
            )?;
        }
    }
    if !plan.no_account.is_empty() {
        writeln!(
            out,
            "\n{} rows of the target list match no Atlassian account (not planned, not blocked); the CSV review lists them.",
            plan.no_account.len()
        )?;
    }
    let follow = super::follow_ups(plan);
    if !follow.is_empty() {
        writeln!(
            out,
            "\n### In the identity provider, after the plan is applied\n"
        )?;
        for line in follow {
            writeln!(out, "- {}", cell(&line))?;
        }
    }
    if !plan.unchanged.is_empty() {
        writeln!(out, "\n### Unchanged, already at their target\n")?;
        writeln!(
            out,
            "| where | account | current | target |\n|---|---|---|---|"
        )?;
        for u in &plan.unchanged {
            writeln!(
                out,
                "| {} | {} | {} | {} |",
                cell(&origin_text(plan, &u.origin)),
                cell(&u.account_id),
                cell(&u.current),
                cell(&u.target),
            )?;
        }
    }
    Ok(())
}

/// A table cell cannot hold a pipe or a line break.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}
