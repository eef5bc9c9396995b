//! `mailshift rehearse`: the whole migration, end to end, against the built-in simulator.

use super::SimBehaviourArgs;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  mailshift rehearse --accounts fixtures/accounts.csv --targets fixtures/targets.csv \\
                     --verified-domains companya.example,companyb.example
  mailshift rehearse --accounts export-users.csv --rewrite-domain old.example=new.example \\
                     --verified-domains new.example --scim-linked jo@old.example --real-rate 5
  mailshift rehearse --accounts export-users.csv --targets idp.csv --verified-domains new.example \\
                     --rate 1000 --apply-rate 1000 --error-share 0 --drop-share 0 --ambiguous-share 0 \\
                     --latency-ms 0 --jitter-ms 0          # as fast as the machine goes

Plans against a simulator seeded with the export (the live pre-flight included), applies the plan
through the real executor while the simulator limits the rate and spoils some requests as the real
API can, verifies, and prints what the real run will take. Nothing leaves the machine; no key or
account is needed. The plan, journal, report and the accounts afterwards are kept in --dir.

Exit codes: 0 the rehearsal ended with every planned account at its address and nothing blocked;
2 it did, but some wishes are blocked (listed); 3 some steps failed or accounts are not where the
plan puts them; 1 error.")]
pub struct RehearseArgs {
    /// Accounts export from admin.atlassian.com, to seed the simulated org and to plan from.
    #[arg(long, value_name = "FILE")]
    pub accounts: PathBuf,

    /// Target list from the identity provider (as for `plan`; once per file).
    #[arg(long, value_name = "FILE")]
    pub targets: Vec<PathBuf>,

    /// Move every account on OLD to NEW with the same user part (as for `plan`).
    #[arg(long = "rewrite-domain", value_name = "OLD=NEW")]
    pub rewrite_domains: Vec<String>,

    /// Plan an unlink for SCIM-linked holders of wanted addresses (as for `plan`).
    #[arg(long = "allow-scim-unlink")]
    pub allow_scim_unlink: bool,

    /// Plan targets whose user part is not ASCII (as for `plan`).
    #[arg(long = "allow-non-ascii-local-part")]
    pub allow_non_ascii_local_part: bool,

    #[command(flatten)]
    pub behaviour: SimBehaviourArgs,

    /// Most requests per second `apply` sends (as `apply --rate`).
    #[arg(long = "apply-rate", value_name = "N", default_value_t = 10.0)]
    pub apply_rate: f64,

    /// Most requests under way at once (as `apply --concurrency`).
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub concurrency: usize,

    /// The rate the real run will get, for the estimate of how long it takes (default: the
    /// lower of --apply-rate and the simulated --rate).
    #[arg(long = "real-rate", value_name = "N")]
    pub real_rate: Option<f64>,

    /// Where the rehearsal keeps its plan, journal, report and the accounts afterwards.
    #[arg(long, value_name = "DIR", default_value = "rehearsal")]
    pub dir: PathBuf,

    /// First backoff after a failed attempt, in milliseconds (as `apply`'s).
    #[arg(
        long = "backoff-ms",
        value_name = "MS",
        default_value_t = 1000,
        hide = true
    )]
    pub backoff_ms: u64,
}
