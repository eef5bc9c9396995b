//! The command line as clap sees it. Nothing outside `config` reads these structs: they are
//! turned once into validated configs.

use crate::review::Format;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "mailshift",
    version,
    about = "Plan and execute bulk email-address changes for Atlassian Cloud managed accounts",
    after_help = "Exit codes: 0 success; 1 error (nothing written); 2 plan written but some wishes are blocked.\nDocumentation: docs/ in the source tree."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compute the plan from an accounts export and targets, write it, and print the review.
    Plan(PlanArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  mailshift plan --accounts export-users.csv --targets idp-targets.csv --out plan.json
  mailshift plan --accounts export-users.csv --rewrite-domain old.example=new.example \\
                 --verified-domains new.example --out plan.json --format markdown > change-request.md

Exit codes: 0 plan written, nothing blocked; 2 plan written, some wishes blocked (listed in the
review); 1 error, no plan written.")]
pub struct PlanArgs {
    /// Accounts export from admin.atlassian.com ("Export users" or the domains "Export accounts").
    #[arg(long, value_name = "FILE")]
    pub accounts: PathBuf,

    /// Target list from the identity provider (CSV: account_id or current_email, and target_email).
    #[arg(long, value_name = "FILE")]
    pub targets: Option<PathBuf>,

    /// Move every account on OLD to NEW with the same user part; a targets row wins over a rule.
    #[arg(long = "rewrite-domain", value_name = "OLD=NEW")]
    pub rewrite_domains: Vec<String>,

    /// The org's verified domains; a target on any other domain is blocked. Comma-separated or repeated.
    #[arg(
        long = "verified-domains",
        value_name = "DOMAIN,...",
        value_delimiter = ','
    )]
    pub verified_domains: Vec<String>,

    /// Where to write the plan (JSON, mode 0600). Without it only the review is printed.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// How to print the review on standard output.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}
