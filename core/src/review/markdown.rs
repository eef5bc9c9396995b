//! The review as Markdown, for pasting into a change request: a ticket that leads with what
//! needs a decision and stays a few KB whatever the org size (a large plan's steps go in the
//! attached CSV review).

use super::{after_text, kind_text, origin_text, step_note, summary_rows};
use crate::plan::Plan;
use std::io::{self, Write};

/// Plans with at most this many steps list them in the ticket; a larger plan's ticket stays a
/// few KB whatever the org size, and the CSV review (attached) lists every step.
pub const STEPS_LISTED: usize = 50;
/// Rows of the blocked and unchanged tables a ticket lists at most.
const ROWS_LISTED: usize = 50;

/// `sha256`: the plan's content hash, which the ticket gives first: what the approver approves.
pub fn render(plan: &Plan, sha256: &str, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "## {}\n", super::title(plan))?;
    writeln!(
        out,
        "Plan content sha256: `{sha256}` (`mailshift apply PLAN --expect-sha256 {sha256}` applies exactly this plan)\n"
    )?;
    writeln!(
        out,
        "Accounts: {} (sha256 `{}`)",
        cell(&plan.inputs.accounts.path),
        plan.inputs.accounts.sha256
    )?;
    for t in plan.inputs.all_targets() {
        writeln!(out, "Targets: {} (sha256 `{}`)", cell(&t.path), t.sha256)?;
    }
    for r in &plan.inputs.rewrite_domains {
        writeln!(out, "Rule: {}", cell(&format!("--rewrite-domain {r}")))?;
    }
    writeln!(out, "\n| | |\n|---|---|")?;
    for (label, value) in summary_rows(plan) {
        writeln!(out, "| {label} | {} |", cell(&value))?;
    }
    let sections = super::decisions::sections(plan);
    writeln!(out, "\n### Needs a decision\n")?;
    if sections.is_empty() {
        writeln!(out, "Nothing.")?;
    }
    for s in &sections {
        writeln!(out, "**{}** ({}): {}\n", s.title, s.total, s.ask)?;
        for item in &s.items {
            writeln!(out, "- {}", cell(item))?;
        }
        if s.total > s.items.len() {
            writeln!(
                out,
                "- ... and {} more (all of them in the CSV review)",
                s.total - s.items.len()
            )?;
        }
        writeln!(out)?;
    }
    writeln!(out, "{}", super::decisions::tally(plan))?;
    if plan.steps.len() <= STEPS_LISTED {
        write_steps(plan, out)?;
    } else {
        writeln!(
            out,
            "\nThe {} steps are not listed here: attach the CSV review (`mailshift review PLAN --format csv > steps.csv`), one row per step in execution order, with a `decision` column.",
            plan.steps.len()
        )?;
    }
    if !plan.blocked.is_empty() {
        writeln!(out, "\n### Blocked, not planned\n")?;
        writeln!(
            out,
            "| where | account | name | current | target | reason |\n|---|---|---|---|---|---|"
        )?;
        for b in plan.blocked.iter().take(ROWS_LISTED) {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                cell(&origin_text(plan, &b.origin)),
                cell(b.account_id.as_deref().unwrap_or("-")),
                cell(&b.name),
                cell(b.current.as_deref().unwrap_or("-")),
                cell(&b.target),
                cell(&b.reason.describe()),
            )?;
        }
        more(out, plan.blocked.len())?;
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
        for line in follow.iter().take(super::decisions::SHOWN) {
            writeln!(out, "- {}", cell(line))?;
        }
        if let Some(more) = super::follow_ups_beyond(follow.len()) {
            writeln!(out, "- {more}")?;
        }
    }
    if !plan.unchanged.is_empty() {
        writeln!(out, "\n### Unchanged, already at their target\n")?;
        writeln!(
            out,
            "| where | account | current | target | note |\n|---|---|---|---|---|"
        )?;
        for u in plan.unchanged.iter().take(ROWS_LISTED) {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                cell(&origin_text(plan, &u.origin)),
                cell(&u.account_id),
                cell(&u.current),
                cell(&u.target),
                cell(&super::unchanged_note(u)),
            )?;
        }
        more(out, plan.unchanged.len())?;
    }
    Ok(())
}

/// The line under a table cut at [`ROWS_LISTED`].
fn more(out: &mut dyn Write, total: usize) -> io::Result<()> {
    if total > ROWS_LISTED {
        writeln!(
            out,
            "\n... and {} more (all of them in the CSV review).",
            total - ROWS_LISTED
        )?;
    }
    Ok(())
}

/// The step table and, when steps depend on each other, the diagram of their groups.
fn write_steps(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
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
    Ok(())
}

/// Every value in the ticket, ours or not, is inert text: no link, image, HTML or line break.
fn cell(text: &str) -> String {
    crate::inert::markdown(text)
}
