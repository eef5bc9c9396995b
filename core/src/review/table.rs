//! The review as aligned columns for a terminal.

use super::{kind_text, origin_text, step_note, summary_rows, targets_path};
use crate::inert::terminal;
use crate::plan::{Origin, Plan, Step, StepId, StepKind};
use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Write};

/// `sha256`: the plan's content hash, which the review gives on its second line.
pub fn render(plan: &Plan, sha256: &str, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "{} from {}",
        super::title(plan),
        terminal(&sources(plan))
    )?;
    writeln!(
        out,
        "  {:<20} {sha256} (mailshift apply --expect-sha256 checks it)",
        "content sha256"
    )?;
    for (label, value) in summary_rows(plan) {
        writeln!(out, "  {label:<20} {value}")?;
    }
    write_decisions(plan, out)?;
    if !plan.steps.is_empty() {
        writeln!(out, "\nSteps, in execution order")?;
        write_steps(plan, out)?;
    }
    write_blocked_and_follow_ups(plan, out)?;
    if !plan.unchanged.is_empty() {
        writeln!(out, "\nUnchanged, already at their target")?;
        let header = ["WHERE", "ACCOUNT", "CURRENT", "TARGET", "NOTE"];
        let rows = plan.unchanged.iter().map(|u| {
            let note = super::unchanged_note(u);
            [
                origin_text(plan, &u.origin).into(),
                u.account_id.as_str().into(),
                u.current.as_str().into(),
                u.target.as_str().into(),
                note.into(),
            ]
        });
        write_table(out, header, rows)?;
    }
    Ok(())
}

/// The summary, what is blocked and why, and what is left to the IdP, without the steps: for
/// `rehearse`, whose steps the apply summary accounts for.
pub fn render_brief(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    for (label, value) in summary_rows(plan) {
        writeln!(out, "  {label:<20} {value}")?;
    }
    write_blocked_and_follow_ups(plan, out)
}

/// The front page: what needs a person's decision, named, then the rest in one line.
fn write_decisions(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    let sections = super::decisions::sections(plan);
    if sections.is_empty() {
        writeln!(out, "\nNeeds a decision: nothing")?;
    } else {
        writeln!(out, "\nNeeds a decision")?;
    }
    for s in &sections {
        writeln!(out, "  {} ({}): {}", s.title, s.total, s.ask)?;
        for item in &s.items {
            writeln!(out, "    {}", terminal(item))?;
        }
        if s.total > s.items.len() {
            writeln!(
                out,
                "    ... and {} more (all of them in --format csv)",
                s.total - s.items.len()
            )?;
        }
    }
    writeln!(out, "{}", super::decisions::tally(plan))
}

fn write_blocked_and_follow_ups(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    if !plan.blocked.is_empty() {
        writeln!(out, "\nBlocked, not planned")?;
        let header = ["WHERE", "ACCOUNT", "CURRENT", "TARGET", "REASON"];
        let rows = plan.blocked.iter().map(|b| {
            [
                origin_text(plan, &b.origin).into(),
                b.account_id.as_deref().unwrap_or("-").into(),
                b.current.as_deref().unwrap_or("-").into(),
                b.target.as_str().into(),
                b.reason.describe().into(),
            ]
        });
        write_table(out, header, rows)?;
    }
    if !plan.no_account.is_empty() {
        let n = plan.no_account.len();
        writeln!(
            out,
            "\nNo Atlassian account ({n} row{} of the target list; not planned, not blocked)",
            if n == 1 { "" } else { "s" }
        )?;
        let header = ["WHERE", "ACCOUNT", "CURRENT", "TARGET"];
        let rows = plan.no_account.iter().take(NO_ACCOUNT_SHOWN).map(|b| {
            [
                origin_text(plan, &b.origin).into(),
                b.account_id.as_deref().unwrap_or("-").into(),
                b.current.as_deref().unwrap_or("-").into(),
                b.target.as_str().into(),
            ]
        });
        write_table(out, header, rows)?;
        if n > NO_ACCOUNT_SHOWN {
            writeln!(
                out,
                "  ... and {} more (all of them in --format csv or json)",
                n - NO_ACCOUNT_SHOWN
            )?;
        }
    }
    let follow = super::follow_ups(plan);
    if !follow.is_empty() {
        writeln!(out, "\nIn the identity provider, after the plan is applied")?;
        for line in follow.iter().take(super::decisions::SHOWN) {
            writeln!(out, "  {}", terminal(line))?;
        }
        if let Some(more) = super::follow_ups_beyond(follow.len()) {
            writeln!(out, "  {more}")?;
        }
    }
    Ok(())
}

/// Rows with no account shown in the table: they ask nothing of the admin, so a sample says
/// what kind of rows they are, and the CSV lists them all.
const NO_ACCOUNT_SHOWN: usize = 10;

fn sources(plan: &Plan) -> String {
    let mut parts = vec![plan.inputs.accounts.path.clone()];
    for t in plan.inputs.all_targets() {
        parts.push(t.path.clone());
    }
    for r in &plan.inputs.rewrite_domains {
        parts.push(format!("--rewrite-domain {r}"));
    }
    parts.join(", ")
}

/// Two passes over the rows: one to size the columns, one to print them padded. Cells borrow
/// from the plan where they can, since a large plan has millions of them.
fn write_table<'a, const N: usize, I>(
    out: &mut dyn Write,
    header: [&str; N],
    rows: I,
) -> io::Result<()>
where
    I: Iterator<Item = [Cow<'a, str>; N]> + Clone,
{
    let mut widths = header.map(text_width);
    for row in rows.clone() {
        for (w, cell) in widths.iter_mut().zip(&row) {
            *w = (*w).max(text_width(&terminal(cell)));
        }
    }
    write_row(out, &widths, header.iter().copied())?;
    for row in rows {
        write_row(out, &widths, row.iter().map(std::convert::AsRef::as_ref))?;
    }
    Ok(())
}

fn write_row<'a>(
    out: &mut dyn Write,
    widths: &[usize],
    cells: impl Iterator<Item = &'a str>,
) -> io::Result<()> {
    let mut line = String::with_capacity(128);
    for (i, (cell, width)) in cells.map(terminal).zip(widths).enumerate() {
        if i > 0 {
            line.push_str("  ");
        }
        line.push_str(&cell);
        if i + 1 < widths.len() {
            pad(&mut line, width.saturating_sub(text_width(&cell)));
        }
    }
    writeln!(out, "{}", line.trim_end())
}

const STEP_HEADER: [&str; 9] = [
    "STEP", "GROUP", "KIND", "ACCOUNT", "NAME", "FROM", "TO", "AFTER", "NOTE",
];

/// Steps the table lists at most, the first in execution order. A terminal cannot show a
/// million lines: such a table was 210 MB, minutes of scrolling that push the front page out of
/// reach, and about a tenth of the time `plan` took. The CSV review, JSON and the plan file list
/// them all, as the line after the table says.
const STEPS_SHOWN: usize = 1000;

/// The steps table: column widths are worked out from lengths and cells are written straight to
/// the output, so no row allocates. The second pass pads each cell by the width of what it
/// pushed rather than sizing the row again.
fn write_steps(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    let shown = &plan.steps[..plan.steps.len().min(STEPS_SHOWN)];
    let mut widths = STEP_HEADER.map(str::len);
    for s in shown {
        for (w, len) in widths.iter_mut().zip(step_widths(plan, s)) {
            *w = (*w).max(len);
        }
    }
    let mut line = String::with_capacity(256);
    for (i, h) in STEP_HEADER.iter().enumerate() {
        pad_cell(&mut line, h, widths[i], i + 1 == widths.len());
    }
    end_line(out, &mut line)?;
    // Pads the cell that starts at `from` to its column's width, and the gap after it.
    let pad_from = |line: &mut String, from: usize, width: usize| {
        let used = text_width(&line[from..]);
        pad(line, width.saturating_sub(used) + 2);
    };
    let mut number = itoa::Buffer::new();
    for s in shown {
        line.clear();
        line.push_str(number.format(s.id.0));
        pad_from(&mut line, 0, widths[0]);
        let from = line.len();
        line.push_str(number.format(s.group));
        pad_from(&mut line, from, widths[1]);
        for (i, text) in [
            (2, kind_text(s.kind)),
            (3, &*s.account_id),
            (4, &*s.name),
            (5, &*s.from),
            (6, &*s.to),
        ] {
            let from = line.len();
            line.push_str(&terminal(text));
            pad_from(&mut line, from, widths[i]);
        }
        let from = line.len();
        write_after(&mut line, &s.after);
        pad_from(&mut line, from, widths[7]);
        write_note(&mut line, plan, s);
        end_line(out, &mut line)?;
    }
    if plan.steps.len() > shown.len() {
        writeln!(
            out,
            "  ... and {} more steps (all of them in --format csv or json, and in the plan file)",
            plan.steps.len() - shown.len()
        )?;
    }
    Ok(())
}

/// Writes `line` without its trailing spaces, and a line break.
fn end_line(out: &mut dyn Write, line: &mut String) -> io::Result<()> {
    line.truncate(line.trim_end().len());
    line.push('\n');
    out.write_all(line.as_bytes())
}

/// Appends `n` spaces, a slice at a time rather than a character at a time.
fn pad(line: &mut String, mut n: usize) {
    const SPACES: &str = "                                ";
    while n > 0 {
        let k = n.min(SPACES.len());
        line.push_str(&SPACES[..k]);
        n -= k;
    }
}

fn pad_cell(line: &mut String, text: &str, width: usize, last: bool) {
    line.push_str(text);
    if !last {
        pad(line, width - text_width(text) + 2);
    }
}

/// The printed width of each cell of a step's row, as [`write_steps`] writes them.
fn step_widths(plan: &Plan, s: &Step) -> [usize; 9] {
    let after = if s.after.is_empty() {
        1
    } else {
        s.after.iter().map(|&a| digits(a.0.into())).sum::<usize>() + s.after.len() - 1
    };
    let note = match (s.kind, &s.origin) {
        (StepKind::Rename, Some(Origin::Line { file, line })) => {
            text_width(targets_path(plan, *file)) + 1 + digits(*line)
        }
        (StepKind::Rename, Some(Origin::Rule(r))) => "--rewrite-domain ".len() + text_width(r),
        _ => text_width(&step_note(plan, s)),
    };
    [
        digits(s.id.0.into()),
        digits(s.group.into()),
        kind_text(s.kind).len(),
        text_width(&terminal(&s.account_id)),
        text_width(&terminal(&s.name)),
        text_width(&terminal(&s.from)),
        text_width(&terminal(&s.to)),
        after,
        note,
    ]
}

fn write_after(line: &mut String, after: &[StepId]) {
    if after.is_empty() {
        line.push('-');
    }
    for (i, a) in after.iter().enumerate() {
        if i > 0 {
            line.push(' ');
        }
        line.push_str(itoa::Buffer::new().format(a.0));
    }
}

fn write_note(line: &mut String, plan: &Plan, s: &Step) {
    match (s.kind, &s.origin) {
        (StepKind::Rename, Some(Origin::Line { file, line: l })) => {
            line.push_str(targets_path(plan, *file));
            line.push(':');
            line.push_str(itoa::Buffer::new().format(*l));
        }
        (StepKind::Rename, Some(Origin::Rule(r))) => {
            let _ = write!(line, "--rewrite-domain {r}");
        }
        _ => line.push_str(&step_note(plan, s)),
    }
}

/// The printed width of a cell: the columns a terminal gives it (two for a CJK character, none
/// for a combining mark, as Unicode's East Asian Width says). Nearly every cell is ASCII, whose
/// width is its length, checked a word at a time rather than counted a character at a time.
fn text_width(text: &str) -> usize {
    if text.is_ascii() {
        text.len()
    } else {
        unicode_width::UnicodeWidthStr::width(text)
    }
}

fn digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

#[cfg(test)]
mod tests {
    use super::text_width;

    /// A cell is padded by the columns a terminal gives it: two for a CJK character, none for
    /// a combining mark, one for other letters.
    #[test]
    fn a_cell_is_as_wide_as_the_columns_a_terminal_gives_it() {
        assert_eq!(text_width("Ann Lee"), 7);
        assert_eq!(text_width("Zoë Lee"), 7);
        assert_eq!(text_width("李小龍"), 6);
        assert_eq!(text_width("Zoe\u{308} Lee"), 7);
        assert_eq!(text_width("ｋｉｍ"), 6);
    }
}
