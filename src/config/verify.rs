//! `mailshift verify`.

use super::{ApiConfig, ConfigError, Sources, check_rate};
use crate::cli::VerifyArgs;
use std::path::PathBuf;
use std::time::Duration;

/// `mailshift verify`.
#[derive(Debug, Clone)]
pub struct VerifyConfig {
    pub plan: PathBuf,
    pub journal: PathBuf,
    pub api: ApiConfig,
    pub rate: f64,
    pub rechecks: u32,
    pub recheck_delay: Duration,
    /// The outcome as JSON on standard output.
    pub json: bool,
    /// `--all`: check accounts no apply has started too.
    pub all: bool,
}

impl VerifyConfig {
    pub fn from_arguments(args: VerifyArgs, sources: Sources) -> Result<VerifyConfig, ConfigError> {
        check_rate("--rate", args.rate)?;
        if !(args.recheck_delay.is_finite() && args.recheck_delay >= 0.0) {
            return Err(ConfigError::BadDelay {
                value: args.recheck_delay,
            });
        }
        Ok(VerifyConfig {
            journal: args
                .journal
                .unwrap_or_else(|| crate::journal::default_path(&args.plan)),
            plan: args.plan,
            api: ApiConfig::from_arguments(&args.api, 4, sources)?,
            rate: args.rate,
            rechecks: args.rechecks,
            recheck_delay: Duration::from_secs_f64(args.recheck_delay),
            json: args.json,
            all: args.all,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::table::{check, command, with_sources};

    #[test]
    fn a_verify_command_line_is_checked_and_the_journal_found_beside_the_plan() {
        let env = [("ATLASSIAN_API_KEY", "k-1"), ("ATLASSIAN_ORG_ID", "org-1")];
        check(
            &[
                (
                    "verify p.json",
                    "ok journal=p.json.journal rate=10 all=false",
                ),
                (
                    "verify p.json --journal j --all",
                    "ok journal=j rate=10 all=true",
                ),
                ("verify p.json --rate 0", "--rate"),
                ("verify p.json --rate 2.5", "rate=2.5"),
                ("verify p.json --recheck-delay=-1", "-1"),
                (
                    "verify p.json --api-url http://example.com",
                    "http://example.com",
                ),
            ],
            |line| {
                let crate::cli::Command::Verify(args) = command(line) else {
                    panic!("not verify: {line}")
                };
                match with_sources(&env, &[], |s| VerifyConfig::from_arguments(args, s)) {
                    Ok(c) => format!(
                        "ok journal={} rate={} all={}",
                        c.journal.display(),
                        c.rate,
                        c.all
                    ),
                    Err(e) => e.to_string(),
                }
            },
        );
    }
}
