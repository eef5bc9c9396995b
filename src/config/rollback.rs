//! `mailshift rollback`.

use super::{ApiConfig, ConfigError, Sources, check_rate, same_file};
use crate::cli::Format;
use crate::cli::RollbackArgs;
use std::path::PathBuf;

/// `mailshift rollback`.
#[derive(Debug, Clone)]
pub struct RollbackConfig {
    /// The applied plan as given; `None` to use the copy the journal keeps.
    pub plan: Option<PathBuf>,
    pub journal: PathBuf,
    pub out: PathBuf,
    /// A fresh export; `None` to read the org's listing.
    pub accounts: Option<PathBuf>,
    /// Needed only without `accounts`.
    pub api: Option<ApiConfig>,
    pub rate: f64,
    pub format: Format,
}

impl RollbackConfig {
    pub fn from_arguments(
        args: RollbackArgs,
        sources: Sources,
    ) -> Result<RollbackConfig, ConfigError> {
        check_rate("--rate", args.rate)?;
        let journal = match (args.journal, &args.plan) {
            (Some(j), _) => j,
            (None, Some(plan)) => crate::journal::default_path(plan),
            (None, None) => return Err(ConfigError::RollbackNeedsJournal),
        };
        let copy = crate::journal::plan_copy_path(&journal);
        for input in args.plan.iter().chain([&journal, &copy]) {
            if same_file(&args.out, input) {
                return Err(ConfigError::OutIsInput {
                    path: args.out.clone(),
                });
            }
        }
        let api = match &args.accounts {
            Some(_) => None,
            None => Some(ApiConfig::from_arguments(&args.api, 4, sources)?),
        };
        Ok(RollbackConfig {
            plan: args.plan,
            journal,
            out: args.out,
            accounts: args.accounts,
            api,
            rate: args.rate,
            format: args.format,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::table::{check, command, with_sources};

    #[test]
    fn a_rollback_command_line_needs_a_journal_and_never_writes_over_its_inputs() {
        let env = [("ATLASSIAN_API_KEY", "k-1"), ("ATLASSIAN_ORG_ID", "org-1")];
        check(
            &[
                (
                    "rollback p.json --out back.json",
                    "ok journal=p.json.journal api=true",
                ),
                (
                    "rollback p.json --out back.json --accounts now.csv",
                    "ok journal=p.json.journal api=false",
                ),
                (
                    "rollback --journal j --out back.json",
                    "ok journal=j api=true",
                ),
                ("rollback p.json --out p.json", "one of the input files"),
                (
                    "rollback p.json --out p.json.journal",
                    "one of the input files",
                ),
                ("rollback p.json --out back.json --rate=-1", "--rate"),
            ],
            |line| {
                let crate::cli::Command::Rollback(args) = command(line) else {
                    panic!("not rollback: {line}")
                };
                match with_sources(&env, &[], |s| RollbackConfig::from_arguments(args, s)) {
                    Ok(c) => format!("ok journal={} api={}", c.journal.display(), c.api.is_some()),
                    Err(e) => e.to_string(),
                }
            },
        );
    }
}
