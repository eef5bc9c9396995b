//! A plan's progress as the journal tells it: the `status` text, the end-of-run summary, and
//! the `--report` file's rows. Pure over the plan and the replayed step states.

use super::kind_text;
use crate::inert::{spreadsheet as cell, terminal};
use crate::journal::StepState;
use crate::plan::{Plan, Step, StepKind};
use serde::Serialize;
use std::io::{self, Write};

/// How many steps stand where.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub total: usize,
    pub done: usize,
    pub failed: usize,
    pub skipped: usize,
    pub in_flight: usize,
    pub not_started: usize,
}

impl Counts {
    pub fn of(states: &[StepState]) -> Counts {
        let mut c = Counts {
            total: states.len(),
            ..Counts::default()
        };
        for s in states {
            match s {
                StepState::Done { .. } => c.done += 1,
                StepState::Failed { .. } => c.failed += 1,
                StepState::Skipped { .. } => c.skipped += 1,
                StepState::InFlight { .. } => c.in_flight += 1,
                StepState::Pending => c.not_started += 1,
            }
        }
        c
    }
}

fn outcome_text(state: &StepState) -> &'static str {
    match state {
        StepState::Done { .. } => "done",
        StepState::Failed { .. } => "failed",
        StepState::Skipped { .. } => "skipped",
        StepState::InFlight { .. } => "unknown",
        StepState::Pending => "not_started",
    }
}

/// One row of `--report`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub step: u32,
    pub kind: &'static str,
    pub account_id: String,
    pub name: String,
    pub from: String,
    pub to: String,
    pub outcome: &'static str,
    pub http_status: Option<u16>,
    /// The API's error key (`email.taken`, `ADMIN-429-1`, ...), not a credential.
    pub error_key: Option<String>,
    pub message: String,
    pub attempts: Option<u32>,
    /// The `apply` run (1, 2, ...) that ended the step; a pilot's steps carry its number.
    pub run: Option<u32>,
}

/// `ended_in` is each step's run (see `runs::ended_in`).
pub fn rows(plan: &Plan, states: &[StepState], ended_in: &[Option<u32>]) -> Vec<Row> {
    plan.steps
        .iter()
        .zip(states)
        .enumerate()
        .map(|(i, (s, state))| {
            let (http_status, error_key, message, attempts) = match state {
                StepState::Done { status, attempts } => (
                    *status,
                    None,
                    if status.is_none() {
                        "confirmed by reading the account".to_owned()
                    } else {
                        String::new()
                    },
                    Some(*attempts),
                ),
                StepState::Failed {
                    status,
                    key,
                    message,
                    attempts,
                } => (*status, key.clone(), message.clone(), Some(*attempts)),
                StepState::Skipped { because } => (
                    None,
                    None,
                    format!("not attempted: step {because} did not succeed"),
                    None,
                ),
                StepState::InFlight { attempt, .. } => (
                    None,
                    None,
                    "sent; the next apply reads the account to learn the outcome".to_owned(),
                    Some(*attempt),
                ),
                StepState::Pending => (None, None, String::new(), None),
            };
            Row {
                step: s.id.0,
                kind: kind_text(s.kind),
                account_id: s.account_id.to_string(),
                name: s.name.to_string(),
                from: s.from.to_string(),
                to: s.to.to_string(),
                outcome: outcome_text(state),
                http_status,
                error_key,
                message,
                attempts,
                run: ended_in.get(i).copied().flatten(),
            }
        })
        .collect()
}

/// The report as CSV, cells a spreadsheet would run as formulas neutralised.
pub fn write_csv(rows: &[Row], out: &mut dyn Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "step",
        "kind",
        "account_id",
        "name",
        "from",
        "to",
        "outcome",
        "http_status",
        "error_key",
        "message",
        "attempts",
        "run",
    ])?;
    let text = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_default();
    for r in rows {
        w.write_record([
            r.step.to_string(),
            r.kind.to_owned(),
            cell(&r.account_id),
            cell(&r.name),
            cell(&r.from),
            cell(&r.to),
            r.outcome.to_owned(),
            text(r.http_status.map(u32::from)),
            cell(r.error_key.as_deref().unwrap_or("")),
            cell(&r.message),
            text(r.attempts),
            text(r.run),
        ])?;
    }
    w.flush()
}

pub fn write_json(rows: &[Row], out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, rows)?;
    out.write_all(b"\n")
}

/// Accounts a cycle parked on a temporary address whose move to the target has not happened.
pub fn parked<'a>(plan: &'a Plan, states: &[StepState]) -> Vec<&'a Step> {
    let done = |i: usize| matches!(states.get(i), Some(StepState::Done { .. }));
    // The step that moves each account on from an address, by (account, address).
    let onward: hashbrown::HashMap<(&str, &str), usize> = plan
        .steps
        .iter()
        .enumerate()
        .map(|(j, s)| ((&*s.account_id, &*s.from), j))
        .collect();
    plan.steps
        .iter()
        .enumerate()
        .filter(|&(i, s)| s.kind == StepKind::Temporary && done(i))
        .filter(|(_, t)| {
            !onward
                .get(&(&*t.account_id, &*t.to))
                .is_some_and(|&j| done(j))
        })
        .map(|(_, s)| s)
        .collect()
}

/// The counts, then every step that did not succeed, with its reason.
pub fn render_status(plan: &Plan, states: &[StepState], out: &mut dyn Write) -> io::Result<()> {
    let c = Counts::of(states);
    let lines = [
        ("done", c.done),
        ("failed", c.failed),
        ("skipped", c.skipped),
        ("unknown (sent, outcome not yet read)", c.in_flight),
        ("not started", c.not_started),
    ];
    writeln!(
        out,
        "{}:",
        crate::words::counted(c.total as u64, "step", "steps")
    )?;
    for (label, n) in lines {
        if n > 0 || label == "done" {
            writeln!(out, "  {label:<38} {n:>7}")?;
        }
    }
    let mut failed = Vec::new();
    let mut skipped = Vec::new();
    for (s, state) in plan.steps.iter().zip(states) {
        match state {
            StepState::Failed {
                status,
                key,
                message,
                ..
            } => {
                let status = status.map(|s| format!("HTTP {s} ")).unwrap_or_default();
                let key = key.as_deref().map(|k| format!("{k}: ")).unwrap_or_default();
                failed.push(format!(
                    "  step {}  {}  {} -> {}  {}",
                    s.id,
                    who(s),
                    terminal(&s.from),
                    terminal(&s.to),
                    terminal(&format!("{status}{key}{message}"))
                ));
            }
            StepState::Skipped { because } => skipped.push(format!(
                "  step {}  {}  {} -> {}  not attempted: step {because} did not succeed",
                s.id,
                who(s),
                terminal(&s.from),
                terminal(&s.to)
            )),
            _ => {}
        }
    }
    if !failed.is_empty() {
        writeln!(out, "Failed:")?;
        for l in failed {
            writeln!(out, "{l}")?;
        }
    }
    if !skipped.is_empty() {
        writeln!(out, "Skipped:")?;
        for l in skipped {
            writeln!(out, "{l}")?;
        }
    }
    let parked = parked(plan, states);
    if !parked.is_empty() {
        writeln!(
            out,
            "Left on a temporary address (their cycle did not finish):"
        )?;
        for s in parked {
            writeln!(out, "  {}  now {}", who(s), terminal(&s.to))?;
        }
    }
    Ok(())
}

/// The account and its name as a terminal shows them.
fn who(s: &Step) -> String {
    let shown = if s.name.is_empty() {
        s.account_id.to_string()
    } else {
        format!("{} ({})", s.account_id, s.name)
    };
    terminal(&shown).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{StepId, plan_of, step_of};

    #[test]
    fn status_shows_names_and_server_messages_inert() {
        let mut steps = vec![
            step_of(1, "acc-1", "a@old.example", "a@new.example", &[]),
            step_of(2, "acc-2", "b@old.example", "b@new.example", &[1]),
        ];
        steps[0].name = "Ann\u{1b}[2J\nstep 9  done".into();
        steps[1].name = "Eve\u{202e}exe.txt".into();
        let plan = plan_of(steps);
        let states = [
            StepState::Failed {
                status: Some(400),
                key: Some("bad\u{1b}]8;;http://t.example\u{7}".into()),
                message: "taken\r\nstep 2 done".into(),
                attempts: 1,
            },
            StepState::Skipped { because: StepId(1) },
        ];
        let mut out = Vec::new();
        render_status(&plan, &states, &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(
            !out.chars()
                .any(|c| (c.is_control() && c != '\n') || c == '\u{202e}'),
            "{out}"
        );
        assert_eq!(
            out.lines().filter(|l| l.contains("step 9")).count(),
            1,
            "{out}"
        );
        assert!(
            out.contains("acc-1 (Ann\\u{1b}[2J\\nstep 9  done)"),
            "{out}"
        );
        assert!(
            out.contains("HTTP 400 bad\\u{1b}]8;;http://t.example\\u{7}: taken\\r\\nstep 2 done"),
            "{out}"
        );
        assert!(out.contains("acc-2 (Eve\\u{202e}exe.txt)"), "{out}");
    }
}
