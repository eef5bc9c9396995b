//! `mailshift rehearse`, validated: what to plan, the simulated org, and how `apply` runs.

use super::simulator::{Defaults, SimBehaviour};
use super::{ConfigError, check_rate, wishes};
use crate::cli::RehearseArgs;
use mailshift_core::input::DomainRule;
use std::path::PathBuf;
use std::time::Duration;

/// Atlassian publishes no numeric limits; these are a cautious guess at production's manners
/// (one request in a hundred answered 5xx, one write in two hundred landing but answered 5xx),
/// so that a rehearsal exercises every retry path at a pace like the real one.
const PRODUCTION: Defaults = Defaults {
    rate: Some(10.0),
    error_share: 0.01,
    drop_share: 0.002,
    ambiguous_share: 0.005,
    latency_ms: 80,
    jitter_ms: 80,
};

#[derive(Debug, Clone)]
pub struct RehearseConfig {
    pub accounts: PathBuf,
    pub targets: Vec<PathBuf>,
    pub rules: Vec<DomainRule>,
    pub allow_scim_unlink: bool,
    pub allow_non_ascii_local_part: bool,
    pub sim: SimBehaviour,
    pub apply_rate: f64,
    pub concurrency: usize,
    /// Requests per second the estimate of the real run assumes.
    pub real_rate: f64,
    pub dir: PathBuf,
    /// First backoff after a failed attempt (as `apply`'s hidden `--backoff-ms`).
    pub backoff: Duration,
}

impl RehearseConfig {
    pub fn from_arguments(args: RehearseArgs) -> Result<RehearseConfig, ConfigError> {
        let rules = wishes(&args.targets, &args.rewrite_domains, &[])?;
        let sim = SimBehaviour::from_arguments(&args.behaviour, PRODUCTION)?;
        check_rate("--apply-rate", args.apply_rate)?;
        if args.concurrency == 0 {
            return Err(ConfigError::BadConcurrency { value: 0 });
        }
        let allowed = sim.rate.map_or(f64::INFINITY, |(rate, _)| rate);
        let real_rate = args.real_rate.unwrap_or(args.apply_rate.min(allowed));
        check_rate("--real-rate", real_rate)?;
        Ok(RehearseConfig {
            accounts: args.accounts,
            targets: args.targets,
            rules,
            allow_scim_unlink: args.allow_scim_unlink,
            allow_non_ascii_local_part: args.allow_non_ascii_local_part,
            sim,
            apply_rate: args.apply_rate,
            concurrency: args.concurrency,
            real_rate,
            dir: args.dir,
            backoff: Duration::from_millis(args.backoff_ms.max(1)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn rehearse(line: &str) -> Result<RehearseConfig, ConfigError> {
        let argv = std::iter::once("mailshift").chain(line.split_whitespace());
        let cli = crate::cli::Cli::try_parse_from(argv).unwrap();
        let crate::cli::Command::Rehearse(args) = cli.command else {
            panic!("not rehearse")
        };
        RehearseConfig::from_arguments(args)
    }

    #[test]
    fn a_rehearsal_misbehaves_like_production_unless_told_otherwise() {
        let c = rehearse("rehearse --accounts a.csv --targets t.csv").unwrap();
        assert_eq!(c.sim.rate, Some((10.0, 10)));
        assert!(c.sim.faults.error_share > 0.0 && c.sim.faults.ambiguous_share > 0.0);
        assert_eq!(c.real_rate, 10.0);
        let c = rehearse(
            "rehearse --accounts a.csv --targets t.csv --rate 500 --apply-rate 50 --error-share 0",
        )
        .unwrap();
        assert_eq!(c.sim.faults.error_share, 0.0);
        assert_eq!(c.real_rate, 50.0, "the estimate uses the slower of the two");
        let c = rehearse("rehearse --accounts a.csv --targets t.csv --real-rate 2").unwrap();
        assert_eq!(c.real_rate, 2.0);
    }

    #[test]
    fn the_rate_limits_faults_are_off_unless_named() {
        let c = rehearse("rehearse --accounts a.csv --targets t.csv").unwrap();
        assert!(!c.sim.faults.forgiving_bucket && !c.sim.faults.rate_headers_on_429_only);
        let c = rehearse(
            "rehearse --accounts a.csv --targets t.csv --forgiving-bucket --rate-headers-on-429-only",
        )
        .unwrap();
        assert!(c.sim.faults.forgiving_bucket && c.sim.faults.rate_headers_on_429_only);
    }

    #[test]
    fn a_rehearsal_knows_how_long_its_writes_can_be_under_way() {
        let c = rehearse("rehearse --accounts a.csv --targets t.csv").unwrap();
        assert_eq!(c.sim.longest_under_way(), Duration::from_millis(160));
        let c = rehearse(
            "rehearse --accounts a.csv --targets t.csv --late-share 0.1 --late-ms 2000 --slow-ms 9000",
        )
        .unwrap();
        // Slow answers are off (their share is 0), late writes are on.
        assert_eq!(c.sim.longest_under_way(), Duration::from_millis(2160));
    }

    #[test]
    fn a_rehearsal_needs_something_to_plan_and_sane_numbers() {
        assert!(matches!(
            rehearse("rehearse --accounts a.csv"),
            Err(ConfigError::NothingToPlan)
        ));
        assert!(matches!(
            rehearse("rehearse --accounts a.csv --targets t.csv --real-rate 0"),
            Err(ConfigError::BadRate {
                flag: "--real-rate",
                ..
            })
        ));
        assert!(matches!(
            rehearse(
                "rehearse --accounts a.csv --targets t.csv --error-share 0.7 --drop-share 0.5"
            ),
            Err(ConfigError::BadShare { .. })
        ));
    }
}
