//! `mailshift status`: how far a plan's apply has got, read from the journal without taking
//! its lock (so it works while a run is under way).

use crate::config::StatusConfig;
use crate::error::{Error, Outcome};
use crate::journal::{self, JournalError};
use crate::plan::file::read_hashed;
use crate::review::outcome::render_status;
use crate::review::runs::{render_runs, run_tallies};
use std::fs::{File, TryLockError};
use std::io::{self, Write};

pub fn run(config: &StatusConfig) -> Result<Outcome, Error> {
    let (plan, sha) = read_hashed(&config.plan)?;
    let steps = plan.steps.len() as u32;
    let mut out = io::stdout().lock();
    let records = match journal::read_for(&config.journal, &sha) {
        Ok(parsed) => {
            let runs = parsed.runs();
            let running = if is_locked(&config.journal) {
                "; an apply is running now"
            } else {
                ""
            };
            print(
                &mut out,
                format_args!(
                    "{}: journal {} ({runs} run{}){running}",
                    config.plan.display(),
                    config.journal.display(),
                    if runs == 1 { "" } else { "s" }
                ),
            )?;
            parsed.records
        }
        Err(JournalError::Open { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            print(
                &mut out,
                format_args!(
                    "{}: no journal at {}: nothing has been applied yet",
                    config.plan.display(),
                    config.journal.display()
                ),
            )?;
            Vec::new()
        }
        Err(e) => return Err(e.into()),
    };
    let states = journal::replay(&config.journal, steps, &records, false)?;
    let plan_path = config.plan.display().to_string();
    let shown = render_status(&plan, &states, &mut out).and_then(|()| {
        render_runs(
            &run_tallies(&records),
            &plan.steps,
            &states,
            &plan_path,
            &mut out,
        )
    });
    match shown {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(Error::Output(e)),
        _ => Ok(Outcome::Clean),
    }
}

fn print(out: &mut dyn Write, line: std::fmt::Arguments<'_>) -> Result<(), Error> {
    match writeln!(out, "{line}") {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(Error::Output(e)),
        _ => Ok(()),
    }
}

/// Whether an `apply` holds the journal's lock right now.
fn is_locked(path: &std::path::Path) -> bool {
    File::open(path).is_ok_and(|f| matches!(f.try_lock_shared(), Err(TryLockError::WouldBlock)))
}
