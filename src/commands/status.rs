//! `mailshift status`: how far a plan's apply has got, read from the journal without taking
//! its lock (so it works while a run is under way).

use crate::config::StatusConfig;
use crate::error::{Error, Outcome};
use crate::journal::{self, JournalError};
use crate::plan::file::read_hashed;
use crate::review::json;
use crate::review::outcome::{Counts, render_status, rows};
use crate::review::runs::{ended_in, render_runs, run_tallies};
use crate::terminal;

use std::io;

pub fn run(config: &StatusConfig) -> Result<Outcome, Error> {
    let (plan, sha) = read_hashed(&config.plan)?;
    super::warn_if_loose(&config.plan);
    super::warn_if_loose(&config.journal);
    let steps = plan.steps.len() as u32;
    let (records, runs, exists) = match journal::read_for(&config.journal, &sha) {
        Ok(parsed) => {
            let runs = parsed.runs();
            (parsed.records, runs, true)
        }
        Err(JournalError::Open { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            (Vec::new(), 0, false)
        }
        Err(e) => return Err(e.into()),
    };
    let running = exists && crate::journal::is_locked(&config.journal);
    let states = journal::replay(&config.journal, steps, &records, false)?;
    if let Some(path) = &config.people {
        let done_at = records
            .iter()
            .filter_map(|r| match r {
                journal::Record::Done { step, at, .. } => Some((step.0, at.clone())),
                _ => None,
            })
            .collect();
        crate::review::write_people(path, &plan, &done_at)?;
        crate::terminal::note!(
            "{}: the people whose address the plan changes written to {}, with when each change was done",
            config.plan.display(),
            path.display()
        );
    }
    let plan_path = config.plan.display().to_string();
    if config.json {
        let rows = rows(&plan, &states, &ended_in(&records, states.len()));
        let status = json::Status {
            version: json::VERSION,
            plan: plan_path,
            journal: config.journal.display().to_string(),
            journal_exists: exists,
            runs,
            running,
            counts: Counts::of(&states),
            steps: &rows,
        };
        terminal::print_data(|out| json::write(&status, out))?;
        return Ok(Outcome::Clean);
    }
    terminal::print(|out| {
        if exists {
            writeln!(
                out,
                "{plan_path}: journal {} ({runs} run{}){}",
                config.journal.display(),
                if runs == 1 { "" } else { "s" },
                if running {
                    "; an apply is running now"
                } else {
                    ""
                }
            )?;
        } else {
            writeln!(
                out,
                "{plan_path}: no journal at {}: nothing has been applied yet",
                config.journal.display()
            )?;
        }
        render_status(&plan, &states, out)?;
        let owed =
            journal::owed_settles(&records, &|id| plan.steps.get(id.index()).map(|s| s.group));
        if !owed.is_empty() {
            writeln!(
                out,
                "  {} had a write with an uncertain outcome and {} not been read again since: the next `mailshift apply {plan_path}` reads {}; until then their \"done\" is not confirmed.",
                crate::words::counted(owed.len() as u64, "group", "groups"),
                if owed.len() == 1 { "has" } else { "have" },
                if owed.len() == 1 { "it" } else { "them" },
            )?;
        }
        render_runs(
            &run_tallies(&records),
            &plan.steps,
            &crate::plan::Groups::of_steps(&plan.steps),
            &states,
            &plan_path,
            out,
        )
    })?;
    Ok(Outcome::Clean)
}
