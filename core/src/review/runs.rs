//! The journal's runs: which `apply` (a pilot or the whole plan) ended which steps, and what is
//! left for the next one. Pure over the journal's records; `status`, the end-of-run summary and
//! `--report` show it.

use crate::journal::{Record, StepState};
use crate::plan::Step;
use std::io::{self, Write};

/// One `apply` run: the selection it was given and the steps it ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunTally {
    pub run: u32,
    /// The pilot's flags; `None` for a run of the whole plan.
    pub scope: Option<String>,
    pub done: usize,
    pub failed: usize,
    pub skipped: usize,
}

/// Every run in journal order, each with the outcomes recorded while it was the latest run.
pub fn run_tallies(records: &[Record]) -> Vec<RunTally> {
    let mut runs: Vec<RunTally> = Vec::new();
    for r in records {
        if let Record::Run { run, scope, .. } = r {
            runs.push(RunTally {
                run: *run,
                scope: scope.clone(),
                ..RunTally::default()
            });
            continue;
        }
        let Some(t) = runs.last_mut() else { continue };
        match r {
            Record::Done { .. } => t.done += 1,
            Record::Failed { .. } => t.failed += 1,
            Record::Skipped { .. } => t.skipped += 1,
            _ => {}
        }
    }
    runs
}

/// By step index: the run whose record ended the step last (done, failed or skipped).
pub fn ended_in(records: &[Record], steps: usize) -> Vec<Option<u32>> {
    let mut ended = vec![None; steps];
    let mut current = None;
    for r in records {
        match r {
            Record::Run { run, .. } => current = Some(*run),
            Record::Done { step, .. }
            | Record::Failed { step, .. }
            | Record::Skipped { step, .. } => {
                if let Some(slot) = ended.get_mut(step.index()) {
                    *slot = current;
                }
            }
            _ => {}
        }
    }
    ended
}

/// The runs, one line each — unless there was just one run of the whole plan, which the counts
/// already tell — then what a plain `apply` would still do (in whole groups, as `groups`, the
/// steps' group index, has them).
pub fn render_runs(
    tallies: &[RunTally],
    steps: &[Step],
    groups: &crate::plan::Groups,
    states: &[StepState],
    plan_path: &str,
    out: &mut dyn Write,
) -> io::Result<()> {
    if tallies.is_empty() {
        return Ok(());
    }
    let worth_listing = tallies.len() > 1 || tallies.iter().any(|t| t.scope.is_some());
    if worth_listing {
        writeln!(out, "Runs:")?;
    }
    for t in tallies.iter().filter(|_| worth_listing) {
        let mut ended = vec![format!("{} done", t.done)];
        if t.failed > 0 {
            ended.push(format!("{} failed", t.failed));
        }
        if t.skipped > 0 {
            ended.push(format!("{} skipped", t.skipped));
        }
        let scope = t.scope.as_deref().unwrap_or("whole plan");
        writeln!(out, "  {:>3}  {scope:<32} {}", t.run, ended.join(", "))?;
    }
    let everything = crate::plan::select::Selection::default();
    if let Ok(left) = crate::plan::select::choose(steps, groups, states, &everything)
        && left.steps > 0
    {
        writeln!(
            out,
            "Left: {} in {}; `mailshift apply {plan_path}` continues with them.",
            crate::words::counted(left.steps as u64, "step", "steps"),
            crate::words::counted(left.groups as u64, "group", "groups")
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::StepId;

    fn run(run: u32, scope: Option<&str>) -> Record {
        Record::Run {
            run,
            pid: 1,
            at: String::new(),
            scope: scope.map(str::to_owned),
            api: None,
            org: None,
        }
    }

    fn done(step: u32) -> Record {
        Record::Done {
            step: StepId(step),
            status: Some(204),
            attempts: 1,
            at: String::new(),
        }
    }

    #[test]
    fn outcomes_belong_to_the_run_that_recorded_them() {
        let failed = Record::Failed {
            step: StepId(3),
            status: Some(400),
            key: None,
            message: "m".into(),
            attempts: 1,
            at: String::new(),
        };
        let skipped = Record::Skipped {
            step: StepId(4),
            because: StepId(3),
            at: String::new(),
        };
        let records = vec![
            run(1, Some("--limit 1")),
            done(1),
            done(2),
            run(2, Some("--only pilot.txt")),
            failed,
            skipped,
            run(3, None),
            done(3),
            done(4),
        ];
        let tallies = run_tallies(&records);
        assert_eq!(
            tallies,
            vec![
                RunTally {
                    run: 1,
                    scope: Some("--limit 1".into()),
                    done: 2,
                    ..RunTally::default()
                },
                RunTally {
                    run: 2,
                    scope: Some("--only pilot.txt".into()),
                    failed: 1,
                    skipped: 1,
                    ..RunTally::default()
                },
                RunTally {
                    run: 3,
                    scope: None,
                    done: 2,
                    ..RunTally::default()
                },
            ]
        );
        // A step retried later is credited to the run that ended it last.
        assert_eq!(
            ended_in(&records, 5),
            vec![Some(1), Some(1), Some(3), Some(3), None]
        );
    }
}
