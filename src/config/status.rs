//! `mailshift status`.

use crate::cli::StatusArgs;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct StatusConfig {
    pub plan: PathBuf,
    pub journal: PathBuf,
    pub json: bool,
    /// `--people`: where to write the people list, with when each change was done.
    pub people: Option<PathBuf>,
}

impl StatusConfig {
    pub fn from_arguments(args: StatusArgs) -> StatusConfig {
        StatusConfig {
            journal: args
                .journal
                .unwrap_or_else(|| crate::journal::default_path(&args.plan)),
            plan: args.plan,
            json: args.json,
            people: args.people,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::table::{check, command};

    #[test]
    fn status_finds_the_journal_beside_the_plan_unless_told() {
        check(
            &[
                (
                    "status p.json",
                    "journal=p.json.journal json=false people=None",
                ),
                ("status p.json --journal j --json", "journal=j json=true"),
                ("status p.json --people who.csv", "people=Some(\"who.csv\")"),
            ],
            |line| {
                let crate::cli::Command::Status(args) = command(line) else {
                    panic!("not status: {line}")
                };
                let c = StatusConfig::from_arguments(args);
                format!(
                    "journal={} json={} people={:?}",
                    c.journal.display(),
                    c.json,
                    c.people
                )
            },
        );
    }
}
