//! The simulator's flags: `simulate` serves it, `rehearse` runs a migration against it, and both
//! describe its org and its misbehaviour with the same flags.

use clap::Args;
use clap::builder::TypedValueParser as _;
use std::path::PathBuf;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  mailshift simulate --accounts export-users.csv
  mailshift simulate --accounts export-users.csv --verified-domains new.example --rate 10 --burst 20 \\
                     --error-share 0.05 --ambiguous-share 0.02 --latency-ms 100 --seed 7 --dump-on-exit after.csv

Serves on 127.0.0.1 until Ctrl-C; prints the URL, the API key and the org ID to use.
docs/simulator.md describes every behaviour and which are Atlassian's documented ones.")]
pub struct SimulateArgs {
    /// Accounts export to seed the simulated org with (any of the layouts `plan` reads).
    #[arg(long, value_name = "FILE")]
    pub accounts: PathBuf,

    /// Port on the bind address; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    pub port: u16,

    /// Address to serve on. Without it the simulator serves on loopback only.
    #[arg(long, value_name = "IP")]
    pub bind: Option<std::net::IpAddr>,

    #[command(flatten)]
    pub behaviour: SimBehaviourArgs,

    #[arg(long = "org-id", value_name = "ID", default_value = "sim-org")]
    pub org_id: String,

    /// Take the API key from this file instead of making one up.
    #[arg(long = "api-key-file", value_name = "FILE")]
    pub api_key_file: Option<PathBuf>,

    /// On exit, write the final accounts as an "Export users" CSV (mode 0600).
    #[arg(long = "dump-on-exit", value_name = "FILE")]
    pub dump_on_exit: Option<PathBuf>,
}

/// The simulated org beyond its accounts, and how the simulated API misbehaves. The fault shares
/// have no default here: `simulate` starts clean, `rehearse` starts like production.
#[derive(Debug, Args)]
pub struct SimBehaviourArgs {
    /// The org's verified domains (default: every domain the export uses). Comma-separated or repeated.
    #[arg(
        long = "verified-domains",
        value_name = "DOMAIN,...",
        value_delimiter = ','
    )]
    pub verified_domains: Vec<String>,

    /// An account (ID or address) linked to the IdP by SCIM, whose email only the IdP can change. Repeatable.
    #[arg(long = "scim-linked", value_name = "ID|EMAIL")]
    pub scim_linked: Vec<String>,

    /// A file of accounts linked by SCIM, one ID or address a line (blank lines and `#` comments
    /// skipped), for seeding thousands. Repeatable.
    #[arg(long = "scim-linked-file", value_name = "FILE")]
    pub scim_linked_files: Vec<std::path::PathBuf>,

    /// An account (ID or address) synced from Google Workspace, whose email only Google can
    /// change (`externalDirectory.google`). Repeatable.
    #[arg(long = "google-synced", value_name = "ID|EMAIL")]
    pub google_synced: Vec<String>,

    /// A file of accounts synced from Google Workspace, as for --scim-linked-file. Repeatable.
    #[arg(long = "google-synced-file", value_name = "FILE")]
    pub google_synced_files: Vec<std::path::PathBuf>,

    /// An address held by an account the org cannot see or free. Repeatable.
    #[arg(long = "external-holder", value_name = "EMAIL")]
    pub external_holders: Vec<String>,

    /// An account whose every user-management call answers 403 forbidden.targetUnverified (its
    /// email is unverified). Repeatable.
    #[arg(long = "unverified-account", value_name = "ID")]
    pub unverified_accounts: Vec<String>,

    /// This share of the accounts (the same ones every time) answers as --unverified-account.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0)]
    pub unverified_share: f64,

    /// An account whose every user-management call answers 403 forbidden (this org does not
    /// manage it). Repeatable.
    #[arg(long = "unmanaged-account", value_name = "ID")]
    pub unmanaged_accounts: Vec<String>,

    /// Put an account in a group, which the v2 search shows when asked to expand groups
    /// (repeatable).
    #[arg(long = "group", value_name = "ACCOUNT=GROUP")]
    pub groups: Vec<String>,

    /// A SCIM record with this address and no Atlassian account (a user of a second IdP
    /// directory), which get-scim-links-for-email finds (repeatable).
    #[arg(long = "scim-record", value_name = "EMAIL")]
    pub scim_records: Vec<String>,

    /// An account the users listings leave out (a member of another directory, say), which
    /// only the v2 search's emails filter finds (repeatable).
    #[arg(long = "unlisted", value_name = "ID")]
    pub unlisted: Vec<String>,

    /// Answer those 403s Spring-style ({"timestamp","path","status","error","message"}), with no key.
    #[arg(long)]
    pub spring_403: bool,

    /// Answer "taken" with a key no client knows:
    /// {"key":"fieldConstraintsViolated","violations":[{"field":"email","key":"unique"}]}.
    #[arg(long)]
    pub taken_unknown_key: bool,

    /// get-scim-links answers 404, not an empty list, once no link is left.
    #[arg(long)]
    pub links_404_when_none: bool,

    /// A request refused while the bucket is empty costs nothing (no debt, no longer wait).
    #[arg(long = "forgiving-bucket")]
    pub forgiving_bucket: bool,

    /// Send the rate headers (X-RateLimit-Limit, -Remaining) only on 429s, not on the answers
    /// that pass.
    #[arg(long = "rate-headers-on-429-only")]
    pub rate_headers_on_429_only: bool,

    /// The v2 directory search answers 404 (an org on the original user management), so
    /// clients read the v1 listing instead.
    #[arg(long = "refuse-v2")]
    pub refuse_v2: bool,

    /// onlyDeleteUserInDB answers 404 for an account without a SCIM record.
    #[arg(long)]
    pub unlink_404_when_none: bool,

    /// After an unlink, the account's email stays locked by SCIM this long.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub scim_lock_ms: u64,

    /// Status of a set-email call whose address is taken (the real one is not documented).
    #[arg(long = "taken-status", default_value_t = 400, value_parser = clap::builder::PossibleValuesParser::new(["400", "409"]).map(|s| s.parse::<u16>().unwrap_or(400)))]
    pub taken_status: u16,

    /// Requests per second the simulated API allows per key (simulate: no limit; rehearse: 10).
    #[arg(long, value_name = "N")]
    pub rate: Option<f64>,

    /// Requests allowed at once before the rate applies (default: the rate, at least 1).
    #[arg(long, value_name = "N")]
    pub burst: Option<u32>,

    /// Share of 429 answers that carry Retry-After (default 0.5).
    #[arg(long = "retry-after-share", value_name = "P")]
    pub retry_after_share: Option<f64>,

    /// Share of requests answered 500, 502, 503 or 504 without being carried out (simulate: 0; rehearse: 0.01).
    #[arg(long = "error-share", value_name = "P")]
    pub error_share: Option<f64>,

    /// Share of requests whose connection is dropped without an answer (simulate: 0; rehearse: 0.002).
    #[arg(long = "drop-share", value_name = "P")]
    pub drop_share: Option<f64>,

    /// Share of requests answered only after --slow-ms (carried out all the same; default 0).
    #[arg(long = "slow-share", value_name = "P")]
    pub slow_share: Option<f64>,

    #[arg(long = "slow-ms", value_name = "MS", default_value_t = 30_000)]
    pub slow_ms: u64,

    /// Share of email writes carried out and then answered with a 5xx (simulate: 0; rehearse: 0.005).
    #[arg(long = "ambiguous-share", value_name = "P")]
    pub ambiguous_share: Option<f64>,

    /// Share of email writes answered 5xx at once and carried out --late-ms later, as a gateway
    /// that gives up before its backend (default 0).
    #[arg(long = "late-share", value_name = "P")]
    pub late_share: Option<f64>,

    #[arg(long = "late-ms", value_name = "MS", default_value_t = 3000)]
    pub late_ms: u64,

    /// Answer every email write with 307 to this base URL (another host), to see that the client
    /// does not follow it.
    #[arg(long = "redirect-writes-to", value_name = "URL")]
    pub redirect_writes_to: Option<String>,

    /// An address a change vacated is still answered "taken" for this long.
    #[arg(long = "taken-lag-ms", value_name = "MS", default_value_t = 0)]
    pub taken_lag_ms: u64,

    /// Behave as for an API key created with scopes: every user management call (`/users/...`)
    /// is answered 403.
    #[arg(long = "scoped-key")]
    pub scoped_key: bool,

    /// Send exactly this Retry-After on every 429 (say 3600, or an absurd number).
    #[arg(long = "retry-after", value_name = "TEXT")]
    pub retry_after: Option<String>,

    /// The users listing never ends: past its last account it goes round again with new cursors.
    #[arg(long = "endless-listing")]
    pub endless_listing: bool,

    /// Share of reads answered 200 with a body cut short (default 0).
    #[arg(long = "garble-share", value_name = "P")]
    pub garble_share: Option<f64>,

    /// Latency added to every request (simulate: 0; rehearse: 80).
    #[arg(long = "latency-ms", value_name = "MS")]
    pub latency_ms: Option<u64>,

    /// Up to this much more latency, at random (simulate: 0; rehearse: 80).
    #[arg(long = "jitter-ms", value_name = "MS")]
    pub jitter_ms: Option<u64>,

    /// Seed of the faults and jitter; the same seed and requests give the same run (default: random, printed).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// Accounts per page of the org users listing.
    #[arg(long = "page-size", value_name = "N", default_value_t = 100)]
    pub page_size: usize,

    /// For this long after a change, reads still show the old address (eventual consistency).
    #[arg(long = "read-delay-ms", value_name = "MS", default_value_t = 0)]
    pub read_delay_ms: u64,

    /// The API key stops working (401) this many seconds after the start, as an expiring key would.
    #[arg(long = "key-expires-after-secs", value_name = "S")]
    pub key_expires_after_secs: Option<u64>,
}
