//! The command line as clap sees it. Nothing outside `config` reads these structs: they are
//! turned once into validated configs.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

mod rehearse;
mod simulator;

pub use rehearse::RehearseArgs;
pub use simulator::{SimBehaviourArgs, SimulateArgs};

#[derive(Debug, Parser)]
#[command(
    name = "mailshift",
    version,
    about = "Plan and execute bulk email-address changes for Atlassian Cloud managed accounts",
    after_help = "Exit codes: 0 success; 1 error; 2 plan written but some wishes are blocked; 3 apply finished\nwith failed or skipped steps; 130 apply interrupted by Ctrl-C (resumable).\nDocumentation: docs/ in the source tree."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Say only results, warnings and errors (no progress notes).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Say more: with `apply`, every step's outcome and every retry as it happens.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compute the plan from an accounts export and targets, write it, and print the review.
    Plan(PlanArgs),
    /// Serve a local imitation of the Atlassian admin APIs, seeded from an accounts export.
    Simulate(SimulateArgs),
    /// Rehearse the whole migration against the built-in simulator: plan, apply, verify, and
    /// what the real run will take. Needs no account and no network.
    Rehearse(RehearseArgs),
    /// Carry out a reviewed plan through the admin API, journaled so that it can resume.
    Apply(ApplyArgs),
    /// Print the review of a written plan from the file alone, in any format: what `plan`
    /// printed, for the approver to render and check what they sign. No network.
    Review(ReviewArgs),
    /// Show how far a plan's apply has got, from its journal.
    Status(StatusArgs),
    /// Check the live org: is every account the plan moves at its planned address?
    Verify(VerifyArgs),
    /// From a journal, plan putting every changed account back at its old address.
    Rollback(RollbackArgs),
    /// Print a completion script for a shell (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  mailshift completions bash > ~/.local/share/bash-completion/completions/mailshift
  mailshift completions zsh > \"${fpath[1]}/_mailshift\"
  mailshift completions fish > ~/.config/fish/completions/mailshift.fish")]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Where the admin API is and how to reach it; shared by every command that talks to it.
#[derive(Debug, Args)]
pub struct ApiArgs {
    /// Base URL of the admin API (default: $MAILSHIFT_API_URL, else https://api.atlassian.com).
    #[arg(long = "api-url", value_name = "URL")]
    pub api_url: Option<String>,

    /// The organization's ID (default: $ATLASSIAN_ORG_ID).
    #[arg(long = "org-id", value_name = "ID")]
    pub org_id: Option<String>,

    /// Read the API key from this file instead of $ATLASSIAN_API_KEY.
    #[arg(long = "api-key-file", value_name = "FILE")]
    pub api_key_file: Option<PathBuf>,

    /// Seconds to wait for an answer before treating a request as lost.
    #[arg(long = "timeout", value_name = "SECS", default_value_t = 30)]
    pub timeout_secs: u64,

    /// Seconds to wait for a connection.
    #[arg(long = "connect-timeout", value_name = "SECS", default_value_t = 10)]
    pub connect_timeout_secs: u64,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  mailshift plan --accounts export-users.csv --targets idp-targets.csv --out plan.json
  mailshift plan --accounts export-users.csv --targets okta-users.csv --out plan.json
  mailshift plan --accounts export-users.csv --targets entra-users.csv --columns current=otherMails --out plan.json
  mailshift plan --accounts export-users.csv --rewrite-domain old.example=new.example \\
                 --verified-domains new.example --out plan.json --format markdown > change-request.md
  ATLASSIAN_API_KEY=... mailshift plan --accounts-from-api --org-id ORG --targets idp-targets.csv \\
                 --operator me@new.example --idp-checklist idp.csv --out plan.json

With an org ID (--org-id or $ATLASSIAN_ORG_ID) plan checks the live org first: the key works, the
target domains are verified, and which accounts the API may write (SCIM-provisioned ones go to
the IdP checklist).

Exit codes: 0 plan written, nothing blocked; 2 plan written, some wishes blocked (listed in the
review), or with --strict rows that match no account; 1 error, no plan written.")]
pub struct PlanArgs {
    /// Accounts export from admin.atlassian.com (any of its three layouts; the "Export managed
    /// accounts" one, which has no account IDs, needs the org's listing to resolve them).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "accounts_from_api",
        conflicts_with = "accounts_from_api"
    )]
    pub accounts: Option<PathBuf>,

    /// Read the managed accounts from the org's users listing instead of an export (needs the
    /// API key and the org ID).
    #[arg(long = "accounts-from-api")]
    pub accounts_from_api: bool,

    /// Target list: an Okta, Entra ID, Google Workspace, JumpCloud or OneLogin user export, or a
    /// CSV with account_id or current_email, and target_email (comma, semicolon or tab). Give it
    /// once per file (the IdP's list and a list of fixes, say): each is read with its own layout,
    /// and rows of different files that disagree are caught as within one.
    #[arg(long, value_name = "FILE")]
    pub targets: Vec<PathBuf>,

    /// Which header of --targets gives which role, where mailshift reads the header otherwise
    /// or cannot read it: roles id, current and target, e.g. current=login,target=email.
    #[arg(long, value_name = "ROLE=HEADER,...")]
    pub columns: Option<String>,

    /// Count rows that match no Atlassian account as blocked (exit 2); by default they are
    /// listed in the review and do not change the exit code.
    #[arg(long)]
    pub strict: bool,

    /// Move every account on OLD to NEW with the same user part; a targets row wins over a rule.
    #[arg(long = "rewrite-domain", value_name = "OLD=NEW")]
    pub rewrite_domains: Vec<String>,

    /// The target list's current column holds logins, not addresses (JumpCloud's `username`,
    /// say): each account's address is LOGIN@DOMAIN.
    #[arg(long = "login-domain", value_name = "DOMAIN")]
    pub login_domain: Option<String>,

    /// Limit the --rewrite-domain rules to accounts of these statuses (active, suspended,
    /// deactivated, closed, unknown), e.g. `active` to leave leavers where they are.
    #[arg(long = "rule-status", value_name = "STATUS,...", value_delimiter = ',')]
    pub rule_statuses: Vec<String>,

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

    /// Print the plan as JSON on standard output (the same as --format json).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,

    /// Also write the changes the identity provider must make (accounts whose email it owns),
    /// in a safe order, as CSV (mode 0600).
    #[arg(long = "idp-checklist", value_name = "FILE")]
    pub idp_checklist: Option<PathBuf>,

    /// Also write the people whose address changes, for the announcement and the help desk:
    /// name, current and new address, whether they are signed out (CSV, mode 0600).
    #[arg(long, value_name = "FILE")]
    pub people: Option<PathBuf>,

    /// Your own account (ID or address, default: $MAILSHIFT_OPERATOR): never renamed or freed
    /// without --allow-self, since the change signs you out mid-migration.
    #[arg(long, value_name = "ID|EMAIL")]
    pub operator: Option<String>,

    /// Allow the plan to change the --operator account.
    #[arg(long = "allow-self")]
    pub allow_self: bool,

    /// Unlink SCIM-linked holders of wanted addresses from the IdP, then free their addresses
    /// (their group memberships must be reprovisioned afterwards).
    #[arg(long = "allow-scim-unlink")]
    pub allow_scim_unlink: bool,

    /// Plan targets whose user part is not ASCII (`t.strasseë@...`); without it they are
    /// blocked, since the org's mail system is unlikely to have made such a mailbox.
    #[arg(long = "allow-non-ascii-local-part")]
    pub allow_non_ascii_local_part: bool,

    /// Where the admin API is: with an org ID (--org-id or $ATLASSIAN_ORG_ID), `plan` checks the
    /// live org first (domains, who may be written).
    #[command(flatten)]
    pub api: ApiArgs,

    /// Most requests per second for the pre-flight reads.
    #[arg(long, value_name = "N", default_value_t = 10.0)]
    pub rate: f64,

    /// Pre-flight reads in flight at once.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub concurrency: usize,
}

#[derive(Debug, Args)]
#[command(args_override_self = true)]
#[command(after_help = "Examples:
  export ATLASSIAN_API_KEY=...            # or --api-key-file FILE; never on the command line
  export ATLASSIAN_ORG_ID=...             # or --org-id ID
  mailshift apply plan.json               # shows the summary and asks before the first change
  mailshift apply plan.json --yes --rate 20 --report result.csv
  mailshift apply plan.json               # again after a crash or Ctrl-C: resumes from the journal
  mailshift apply plan.json --limit 1     # a pilot: one account (or one group that goes together)
  mailshift apply plan.json --only pilot.txt   # then a pilot group; a plain apply does the rest

The key comes from ATLASSIAN_API_KEY or --api-key-file; the org from ATLASSIAN_ORG_ID or --org-id;
the URL from --api-url or MAILSHIFT_API_URL (default https://api.atlassian.com; plain http only to
a loopback address, e.g. the simulator).

A run stops itself (exit 3) when more than 10% of the last 50 finished steps fail, and says
what the failures have in common; see --max-failure-rate and --max-failures.

Exit codes: 0 every step applied (or every step a pilot took); 3 finished with failed or skipped
steps, or stopped by the failure limits (see the summary or --report); 130 interrupted by Ctrl-C (run the same command to resume); 1 error before or during
the run (nothing is sent without its journal record).")]
pub struct ApplyArgs {
    /// The plan written by `mailshift plan --out`.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,

    /// The journal (default: the plan's path with .journal added). Created 0600; resumes if it exists.
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,

    #[command(flatten)]
    pub api: ApiArgs,

    /// Most requests per second; mailshift slows below this when the API answers 429.
    #[arg(long, value_name = "N", default_value_t = 10.0)]
    pub rate: f64,

    /// Most requests under way at once.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub concurrency: usize,

    /// Apply without asking (needed when standard input is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Write one row per step (CSV, or JSON if FILE ends in .json), mode 0600.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// Print the outcome as one JSON object on standard output (no progress bar).
    #[arg(long)]
    pub json: bool,

    /// Try failed and skipped steps of earlier runs again (after fixing their cause).
    #[arg(long = "retry-failed")]
    pub retry_failed: bool,

    /// Attempts per step that meet a 5xx, a timeout or a lost connection.
    #[arg(long = "max-attempts", value_name = "N", default_value_t = 6)]
    pub max_attempts: u32,

    /// After a write whose outcome is uncertain (a 5xx, a timeout, a lost connection), its
    /// account is left alone for --timeout plus this many seconds, since the write may still be
    /// under way; a group that had one is read again this long after it is done.
    #[arg(long = "settle", value_name = "SECS", default_value_t = 5)]
    pub settle_secs: u64,

    /// How far behind a change the API's reads may lag (Atlassian documents up to 30 seconds):
    /// a group's re-read after an uncertain write waits this much longer, so that a read from
    /// before a late write cannot pass for the planned address, e.g. 30s, 1m.
    #[arg(long = "read-lag", value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    pub read_lag: std::time::Duration,

    /// The longest pause the API may ask for (Retry-After, X-RateLimit-Reset) before the run
    /// stops instead of waiting (resumable), e.g. 90s, 15m, 1h.
    #[arg(long = "max-wait", value_name = "DURATION", default_value = "15m", value_parser = humantime::parse_duration)]
    pub max_wait: std::time::Duration,

    /// First backoff after a failed attempt, in milliseconds; it doubles up to 30 s.
    #[arg(
        long = "backoff-ms",
        value_name = "MS",
        default_value_t = 1000,
        hide = true
    )]
    pub backoff_ms: u64,

    /// Pilot: take at most N of the steps left, in plan order, as whole groups (a free with the
    /// rename that needs it, a cycle's steps); at least the first group.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,

    /// Pilot: only the groups of these accounts (one account ID or address per line; # comments).
    #[arg(long, value_name = "FILE")]
    pub only: Option<PathBuf>,

    /// Leave out the groups of these accounts (one account ID or address per line; # comments).
    #[arg(long, value_name = "FILE")]
    pub exclude: Option<PathBuf>,

    /// When accounts no longer have the address the plan expects, apply the rest and leave
    /// those (and the steps that go with them) out, instead of refusing the whole run.
    #[arg(long = "skip-drifted")]
    pub skip_drifted: bool,

    /// Your own account (ID or address, default: $MAILSHIFT_OPERATOR): the run refuses to write
    /// it without --allow-self.
    #[arg(long, value_name = "ID|EMAIL")]
    pub operator: Option<String>,

    /// Allow the run to write the --operator account.
    #[arg(long = "allow-self")]
    pub allow_self: bool,

    /// Skip reading each account's email.set permission before the first run of a plan made
    /// without --org-id (a refused write still fails its step, and the safety stop catches a
    /// pattern). Plans made with --org-id were checked already and skip it anyway.
    #[arg(long = "no-permission-check")]
    pub no_permission_check: bool,

    /// Stop taking new steps once N steps have failed in this run.
    #[arg(long = "max-failures", value_name = "N")]
    pub max_failures: Option<u32>,

    /// Stop taking new steps once more than P percent of the last 50 finished steps failed
    /// (100 never stops).
    #[arg(long = "max-failure-rate", value_name = "P", default_value = "10%")]
    pub max_failure_rate: String,

    /// Apply only if the plan's content SHA-256 is this one (the hash `plan` printed and a
    /// reviewer approved), so that the run executes exactly the approved plan.
    #[arg(long = "expect-sha256", value_name = "HASH")]
    pub expect_sha256: Option<String>,

    /// For benchmarks only: do not fsync the journal (a power cut may lose records).
    #[arg(long = "no-fsync", hide = true)]
    pub no_fsync: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  mailshift status plan.json
  mailshift status plan.json --journal /secure/plan.journal

Exit codes: 0 the journal was read (whatever it says); 1 the plan or journal cannot be used.")]
pub struct StatusArgs {
    /// The plan whose apply to show (its journal is PLAN.journal unless --journal says).
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,

    /// The journal (default: the plan's path with .journal added).
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,

    /// Write the people whose address the plan changes, with when each change was done (CSV,
    /// mode 0600): for the help desk once the plan is applied.
    #[arg(long, value_name = "FILE")]
    pub people: Option<PathBuf>,

    /// Print the outcome as one JSON object on standard output (no progress bar).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  mailshift review plan.json
  mailshift review plan.json --format markdown > change-request.md")]
pub struct ReviewArgs {
    /// The plan file (as `plan --out` wrote it; refused if edited).
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,

    /// How to print the review on standard output.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  mailshift verify plan.json
  mailshift verify plan.json --rechecks 5 --recheck-delay 10

Reads the org's users listing (one read per page) and compares every account an apply has started
(per the journal; after a pilot, the pilot's accounts) with the address the plan leaves it at;
--all, or no journal, checks every account the plan moves. The API may show a change late, so
accounts that differ are read again, up to --rechecks times, --recheck-delay seconds apart.

Exit codes: 0 every account checked is at its planned address; 3 some are not (listed); 1 error.")]
pub struct VerifyArgs {
    /// The plan to check the live org against.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,

    /// The journal, which says which accounts were started and what happened to accounts that
    /// differ (default: PLAN.journal).
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,

    /// Check every account the plan moves, also those no apply has started yet.
    #[arg(long)]
    pub all: bool,

    #[command(flatten)]
    pub api: ApiArgs,

    /// Most requests per second.
    #[arg(long, value_name = "N", default_value_t = 10.0)]
    pub rate: f64,

    /// How many times accounts that differ are read again before they count as wrong.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub rechecks: u32,

    /// Seconds between re-checks.
    #[arg(long = "recheck-delay", value_name = "SECS", default_value_t = 5.0)]
    pub recheck_delay: f64,

    /// Print the outcome as one JSON object on standard output (no progress bar).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  export ATLASSIAN_API_KEY=... ATLASSIAN_ORG_ID=...        # or --api-key-file, --org-id
  mailshift rollback plan.json --out rollback.json        # reads the live org for holders
  mailshift rollback plan.json --accounts fresh-export.csv --out rollback.json
  mailshift apply rollback.json                           # reviewed and applied like any plan

Every account the journal shows changed goes back to the address it had before the plan. The
old addresses may have been taken since: the rollback plan frees, orders and blocks exactly as
`plan` does.

Exit codes: 0 rollback plan written, nothing blocked; 2 written, some accounts blocked; 1 error.")]
pub struct RollbackArgs {
    /// The plan that was applied; without it, or if it is gone, the copy its journal keeps.
    #[arg(value_name = "PLAN", required_unless_present = "journal")]
    pub plan: Option<PathBuf>,

    /// Its journal (default: PLAN.journal).
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,

    /// Where to write the rollback plan (JSON, mode 0600).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,

    /// A fresh accounts export, instead of reading the org's users listing.
    #[arg(long, value_name = "FILE")]
    pub accounts: Option<PathBuf>,

    #[command(flatten)]
    pub api: ApiArgs,

    /// Most requests per second when reading the org.
    #[arg(long, value_name = "N", default_value_t = 10.0)]
    pub rate: f64,

    /// How to print the review on standard output.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// How `plan` shows the plan it made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for a terminal: the decisions first, then the first 1,000 steps.
    Table,
    /// A change ticket in Markdown: the decisions first, a few KB whatever the org size.
    Markdown,
    /// One row per blocked item, step, row with no account and unchanged wish, for a
    /// spreadsheet; a `decision` column marks what needs a person.
    Csv,
    /// The plan itself, for scripts.
    Json,
}
