//! Validated configurations, made once from the command line; business code sees only these.

use crate::api::{ApiKey, ClientConfig};
use crate::cli::Format;
use crate::cli::{ApiArgs, ApplyArgs, PlanArgs, RollbackArgs, StatusArgs, VerifyArgs};
use crate::model::{domain_key, is_domain};
use mailshift_core::exec::guard::Limits;
use mailshift_core::exec::retry::RetryPolicy;
use mailshift_core::input::{ColumnMap, DomainRule};
use mailshift_core::plan::select::{AccountList, Selection, parse_list};
use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod rehearse;
mod simulator;

pub use rehearse::RehearseConfig;
pub use simulator::{SimBehaviour, SimulateConfig};

/// What making a config may read besides the command line: environment variables and files (the
/// API key file, `--only`/`--exclude` lists). Passed in, so that tests read neither and a
/// rehearsal gives the simulator's URL and key without touching the process's environment.
#[derive(Clone, Copy)]
pub struct Sources<'a> {
    pub var: &'a dyn Fn(&str) -> Option<String>,
    pub read: &'a dyn Fn(&Path) -> io::Result<Vec<u8>>,
}

impl Sources<'static> {
    /// The process's environment and file system.
    pub fn process() -> Sources<'static> {
        fn var(name: &str) -> Option<String> {
            std::env::var(name).ok()
        }
        fn read(path: &Path) -> io::Result<Vec<u8>> {
            std::fs::read(path)
        }
        Sources {
            var: &var,
            read: &read,
        }
    }
}

/// Why the command line cannot be run as given.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Where the plan's lock lives cannot be told.
    #[error(transparent)]
    LockDir(#[from] crate::journal::plan_lock::PlanLockError),
    /// Neither a target list nor a rule: there is nothing to plan.
    #[error("nothing to plan: give --targets FILE, --rewrite-domain OLD=NEW, or both")]
    NothingToPlan,
    /// A `--rewrite-domain` value that does not parse.
    #[error("--rewrite-domain {value:?}: {reason}")]
    BadRewrite { value: String, reason: String },
    /// `--login-domain` with no target list to read logins from.
    #[error(
        "--login-domain says what the target list's logins stand for, and no --targets is given"
    )]
    LoginDomainWithoutTargets,
    /// A `--login-domain` that is not a domain name.
    #[error("--login-domain: {value:?} is not a domain name")]
    BadLoginDomain { value: String },
    /// `--rule-status` with no rule to limit.
    #[error("--rule-status limits --rewrite-domain rules, and none is given")]
    RuleStatusWithoutRule,
    /// A `--rule-status` value that is no account status.
    #[error(
        "--rule-status: {value:?} is not an account status (active, suspended, deactivated, closed, unknown)"
    )]
    BadRuleStatus { value: String },
    /// Two rules for one source domain.
    #[error("--rewrite-domain is given twice for {domain}; keep one")]
    RepeatedRewrite { domain: String },
    /// A `--verified-domains` entry that is not a domain name.
    #[error("--verified-domains: {value:?} is not a domain name")]
    BadVerifiedDomain { value: String },
    /// A share that is not a probability, or shares that add up to more than 1.
    #[error(
        "{flag} {value}: a share is a number from 0 to 1, and the fault shares together at most 1"
    )]
    BadShare { flag: &'static str, value: f64 },
    /// A rate (`--rate`, `--apply-rate`, `--real-rate`) must be positive.
    #[error("{flag} {value}: give a positive number of requests per second")]
    BadRate { flag: &'static str, value: f64 },
    /// The API key file cannot be read or is empty.
    #[error("--api-key-file {}: {reason}", path.display())]
    BadKeyFile { path: PathBuf, reason: String },
    /// No API key: neither `ATLASSIAN_API_KEY` nor `--api-key-file`.
    #[error(
        "no API key: set ATLASSIAN_API_KEY or give --api-key-file FILE (keys are never taken from the command line)"
    )]
    NoApiKey,
    /// The API URL cannot be used.
    #[error("API URL {url:?}: {reason}")]
    BadUrl { url: String, reason: &'static str },
    /// `--concurrency` must be at least 1.
    #[error("--concurrency {value}: give at least 1")]
    BadConcurrency { value: usize },
    /// `rollback` with neither a plan nor `--journal`.
    #[error("rollback needs the applied plan or its journal: give PLAN, or --journal FILE")]
    RollbackNeedsJournal,
    /// `--report` names a file the run reads or keeps.
    #[error("--report {}: that is {what}; a report written there would replace it. Choose another path for the report", path.display())]
    ReportOverwrites { path: PathBuf, what: &'static str },
    /// `--journal` names the plan itself.
    #[error("--journal {}: that is the plan file; choose another path for the journal", path.display())]
    JournalIsPlan { path: PathBuf },
    /// `--recheck-delay` must be a number of seconds, 0 or more.
    #[error("--recheck-delay {value}: give a number of seconds, 0 or more")]
    BadDelay { value: f64 },
    /// `--limit 0` would run nothing.
    #[error("--limit 0: give at least 1 (or leave --limit out to run every step)")]
    ZeroLimit,
    /// An `--only`/`--exclude` file that cannot be read, or lists nobody.
    #[error("{flag} {}: {reason}", path.display())]
    BadAccountList {
        flag: &'static str,
        path: PathBuf,
        reason: String,
    },
    /// `--max-failure-rate` is not a percentage.
    #[error("--max-failure-rate {value:?}: give a percentage from 0 to 100, e.g. 10%")]
    BadFailureRate { value: String },
    /// `--max-failures 0` would stop before anything failed.
    #[error("--max-failures 0: give at least 1")]
    ZeroMaxFailures,
    /// `--accounts-from-api` without an org to read.
    #[error(
        "no org ID: give --org-id or set ATLASSIAN_ORG_ID (admin.atlassian.com shows it in the URL and under Settings > API keys)"
    )]
    NoOrgId,
    /// A flag that only means something when the live org is read.
    #[error(
        "{flag} needs the live org: give --org-id (or set ATLASSIAN_ORG_ID) and the API key, so that pre-flight can see which accounts are linked"
    )]
    NeedsLive { flag: &'static str },
    /// `--expect-sha256` that is not a SHA-256 in hex.
    #[error(
        "--expect-sha256 {value:?}: expected the 64 hex digits of the plan's content sha256, as `plan` prints it"
    )]
    BadSha256 { value: String },
    /// `--columns` that cannot be read.
    #[error("--columns {value:?}: {reason}")]
    BadColumns { value: String, reason: String },
    /// `--columns` says how to read a targets file, and none was given.
    #[error("--columns says how to read the --targets file; give --targets FILE too")]
    ColumnsWithoutTargets,
    /// A rehearsal's own command line for one of its phases did not parse: a bug in mailshift.
    #[error("the rehearsal's own command line is wrong (a bug in mailshift): {detail}")]
    RehearsalCommand { detail: String },
    /// `simulate --group` that is not ACCOUNT=GROUP.
    #[error("--group {value:?}: expected ACCOUNT=GROUP, for example acc-1=jira-users")]
    BadGroup { value: String },
    /// The same file given twice as `--targets`: its rows would be read twice.
    #[error("--targets {}: given twice; give each file once", path.display())]
    TargetsTwice { path: PathBuf },
    /// `--out` names an input file, which writing the plan would destroy.
    #[error("--out {}: that is one of the input files; choose another path for the plan", path.display())]
    OutIsInput { path: PathBuf },
}

#[derive(Debug, Clone)]
pub struct PlanConfig {
    /// `None`: read the org's users listing (`--accounts-from-api`).
    pub accounts: Option<PathBuf>,
    /// The `--targets` files, in the order given (`Origin::Line`'s `file` counts them).
    pub targets: Vec<PathBuf>,
    /// `--columns`: which header gives which role in the targets files.
    pub columns: ColumnMap,
    /// `--login-domain`: the targets file's current column holds logins; the address is
    /// LOGIN@DOMAIN.
    pub login_domain: Option<String>,
    /// `--strict`: rows matching no account count as blocked in the exit code.
    pub strict: bool,
    pub rules: Vec<DomainRule>,
    /// Domain keys; `None` when the flag was not given.
    pub verified_domains: Option<BTreeSet<String>>,
    pub out: Option<PathBuf>,
    pub format: Format,
    pub idp_checklist: Option<PathBuf>,
    /// `--people`: where to write the people list.
    pub people: Option<PathBuf>,
    /// Set when an org ID is known: the live org is read and checked.
    pub live: Option<LiveConfig>,
    pub operator: Option<String>,
    pub allow_self: bool,
    pub allow_scim_unlink: bool,
    /// `--allow-non-ascii-local-part`.
    pub allow_non_ascii_local_part: bool,
}

/// How `plan` reads the live org.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    pub client: ClientConfig,
    pub org_id: String,
    pub rate: f64,
    pub concurrency: usize,
}

impl PlanConfig {
    /// `env` looks up an environment variable; passed in so that tests need not set any.
    pub fn from_arguments(args: PlanArgs, sources: Sources) -> Result<PlanConfig, ConfigError> {
        let env = sources.var;
        let rules = wishes(&args.targets, &args.rewrite_domains, &args.rule_statuses)?;
        for (i, a) in args.targets.iter().enumerate() {
            if args.targets[..i].iter().any(|b| same_file(a, b)) {
                return Err(ConfigError::TargetsTwice { path: a.clone() });
            }
        }
        let columns = match &args.columns {
            None => ColumnMap::default(),
            Some(_) if args.targets.is_empty() => {
                return Err(ConfigError::ColumnsWithoutTargets);
            }
            Some(text) => ColumnMap::parse(text).map_err(|reason| ConfigError::BadColumns {
                value: text.clone(),
                reason,
            })?,
        };
        let login_domain = match &args.login_domain {
            None => None,
            Some(_) if args.targets.is_empty() => {
                return Err(ConfigError::LoginDomainWithoutTargets);
            }
            Some(value) => {
                let domain = value.trim().trim_start_matches('@');
                if !is_domain(domain) {
                    return Err(ConfigError::BadLoginDomain {
                        value: value.clone(),
                    });
                }
                Some(domain.to_owned())
            }
        };
        let verified_domains = if args.verified_domains.is_empty() {
            None
        } else {
            Some(domain_keys(&args.verified_domains)?)
        };
        let outputs = args
            .out
            .iter()
            .chain(args.idp_checklist.iter())
            .chain(args.people.iter());
        for out in outputs {
            let inputs = args.accounts.iter().chain(args.targets.iter());
            for input in inputs {
                if same_file(out, input) {
                    return Err(ConfigError::OutIsInput { path: out.clone() });
                }
            }
        }
        let org_known = args.api.org_id.is_some()
            || env("ATLASSIAN_ORG_ID").is_some_and(|o| !o.trim().is_empty());
        let live = if org_known || args.accounts_from_api {
            check_rate("--rate", args.rate)?;
            if args.concurrency == 0 {
                return Err(ConfigError::BadConcurrency { value: 0 });
            }
            let api = ApiConfig::from_arguments(&args.api, args.concurrency, sources)?;
            Some(LiveConfig {
                client: api.client,
                org_id: api.org_id.ok_or(ConfigError::NoOrgId)?,
                rate: args.rate,
                concurrency: args.concurrency,
            })
        } else {
            None
        };
        let operator = args
            .operator
            .or_else(|| env("MAILSHIFT_OPERATOR"))
            .map(|o| o.trim().to_owned())
            .filter(|o| !o.is_empty());
        if args.allow_scim_unlink && live.is_none() {
            return Err(ConfigError::NeedsLive {
                flag: "--allow-scim-unlink",
            });
        }
        Ok(PlanConfig {
            accounts: args.accounts,
            targets: args.targets,
            columns,
            login_domain,
            strict: args.strict,
            rules,
            verified_domains,
            out: args.out,
            format: if args.json { Format::Json } else { args.format },
            idp_checklist: args.idp_checklist,
            people: args.people,
            live,
            operator,
            allow_self: args.allow_self,
            allow_scim_unlink: args.allow_scim_unlink,
            allow_non_ascii_local_part: args.allow_non_ascii_local_part,
        })
    }
}

/// The `--rewrite-domain` rules, checked; with no target list either, there is nothing to plan.
fn wishes(
    targets: &[PathBuf],
    rewrites: &[String],
    statuses: &[String],
) -> Result<Vec<DomainRule>, ConfigError> {
    if targets.is_empty() && rewrites.is_empty() {
        return Err(ConfigError::NothingToPlan);
    }
    if !statuses.is_empty() && rewrites.is_empty() {
        return Err(ConfigError::RuleStatusWithoutRule);
    }
    let mut only = Vec::new();
    for value in statuses {
        let status = crate::model::Status::from_name(value.trim()).ok_or_else(|| {
            ConfigError::BadRuleStatus {
                value: value.clone(),
            }
        })?;
        if !only.contains(&status) {
            only.push(status);
        }
    }
    let mut rules: Vec<DomainRule> = Vec::new();
    for value in rewrites {
        let mut rule = DomainRule::parse(value).map_err(|reason| ConfigError::BadRewrite {
            value: value.clone(),
            reason,
        })?;
        rule.statuses.clone_from(&only);
        if rules.iter().any(|r| r.from == rule.from) {
            return Err(ConfigError::RepeatedRewrite { domain: rule.from });
        }
        rules.push(rule);
    }
    Ok(rules)
}

/// `--verified-domains` values as domain keys, each checked to be a domain name.
fn domain_keys(values: &[String]) -> Result<BTreeSet<String>, ConfigError> {
    let mut keys = BTreeSet::new();
    for value in values {
        let domain = value.trim().trim_start_matches('@');
        if !is_domain(domain) {
            return Err(ConfigError::BadVerifiedDomain {
                value: value.clone(),
            });
        }
        keys.insert(domain_key(domain));
    }
    Ok(keys)
}

fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The key in a file: trimmed, and refused if empty.
fn read_key_file(
    path: &Path,
    read: &dyn Fn(&Path) -> io::Result<Vec<u8>>,
) -> Result<String, ConfigError> {
    let bad = |reason: String| ConfigError::BadKeyFile {
        path: path.to_owned(),
        reason,
    };
    let bytes = read(path).map_err(|e| bad(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|_| bad("not UTF-8 text".into()))?;
    let key = text.trim();
    if key.is_empty() {
        return Err(bad("the file is empty".into()));
    }
    Ok(key.to_owned())
}

pub const DEFAULT_API_URL: &str = "https://api.atlassian.com";

#[derive(Debug, Clone)]
pub struct ApplyConfig {
    pub plan: PathBuf,
    pub journal: PathBuf,
    pub client: ClientConfig,
    pub org_id: Option<String>,
    pub rate: f64,
    pub concurrency: usize,
    pub policy: RetryPolicy,
    pub yes: bool,
    pub report: Option<PathBuf>,
    pub retry_failed: bool,
    pub fsync: bool,
    /// `--expect-sha256`: the content hash the plan must have, lower-case hex.
    pub expect_sha256: Option<String>,
    /// A pilot's `--limit`/`--only`/`--exclude`; all steps when empty.
    pub selection: Selection,
    pub limits: Limits,
    pub skip_drifted: bool,
    /// The operator's own account (ID or address), unless `--allow-self`.
    pub protected: Option<String>,
    pub permission_check: bool,
    /// The outcome as JSON on standard output.
    pub json: bool,
    /// Where the plan's machine-wide lock lives (`journal::plan_lock`); `None` for a rehearsal,
    /// whose simulator no other run can reach.
    pub lock_dir: Option<PathBuf>,
}

impl ApplyConfig {
    /// `env` looks up an environment variable; passed in so that tests need not set any.
    pub fn from_arguments(args: ApplyArgs, sources: Sources) -> Result<ApplyConfig, ConfigError> {
        let env = sources.var;
        check_rate("--rate", args.rate)?;
        if args.concurrency == 0 {
            return Err(ConfigError::BadConcurrency { value: 0 });
        }
        let api = ApiConfig::from_arguments(&args.api, args.concurrency, sources)?;
        let journal = args
            .journal
            .unwrap_or_else(|| crate::journal::default_path(&args.plan));
        if same_file(&journal, &args.plan) {
            return Err(ConfigError::JournalIsPlan { path: journal });
        }
        if let Some(report) = &args.report {
            let kept = [
                (&args.plan, "the plan"),
                (&journal, "the run's journal"),
                (
                    &crate::journal::plan_copy_path(&journal),
                    "the journal's copy of the plan",
                ),
            ];
            if let Some((_, what)) = kept.iter().find(|(p, _)| same_file(report, p)) {
                return Err(ConfigError::ReportOverwrites {
                    path: report.clone(),
                    what,
                });
            }
        }
        if args.limit == Some(0) {
            return Err(ConfigError::ZeroLimit);
        }
        if args.max_failures == Some(0) {
            return Err(ConfigError::ZeroMaxFailures);
        }
        let max_rate =
            parse_percent(&args.max_failure_rate).ok_or_else(|| ConfigError::BadFailureRate {
                value: args.max_failure_rate.clone(),
            })?;
        let selection = Selection {
            limit: args.limit,
            only: args
                .only
                .map(|p| account_list("--only", p, sources.read))
                .transpose()?,
            exclude: args
                .exclude
                .map(|p| account_list("--exclude", p, sources.read))
                .transpose()?,
        };
        let request_timeout = api.client.request_timeout;
        Ok(ApplyConfig {
            plan: args.plan,
            journal,
            client: api.client,
            org_id: api.org_id,
            rate: args.rate,
            concurrency: args.concurrency,
            policy: RetryPolicy {
                max_attempts: args.max_attempts.max(1),
                base: Duration::from_millis(args.backoff_ms.max(1)),
                max_wait: args.max_wait,
                read_lag: args.read_lag,
                ..RetryPolicy::for_timeout(request_timeout, Duration::from_secs(args.settle_secs))
            },
            yes: args.yes,
            report: args.report,
            retry_failed: args.retry_failed,
            fsync: !args.no_fsync,
            expect_sha256: match args.expect_sha256 {
                None => None,
                Some(hash) => {
                    let hash = hash.trim().to_ascii_lowercase();
                    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(ConfigError::BadSha256 { value: hash });
                    }
                    Some(hash)
                }
            },
            selection,
            limits: Limits {
                max_failures: args.max_failures,
                max_rate,
                ..Limits::default()
            },
            skip_drifted: args.skip_drifted,
            protected: args
                .operator
                .or_else(|| env("MAILSHIFT_OPERATOR"))
                .map(|o| o.trim().to_owned())
                .filter(|o| !o.is_empty() && !args.allow_self),
            permission_check: !args.no_permission_check,
            json: args.json,
            lock_dir: Some(crate::journal::plan_lock::lock_dir(env)?),
        })
    }
}

impl ApplyConfig {
    /// The config as a rehearsal runs it: the simulator says how long its writes can be under
    /// way (`quiet`) and how far its reads lag (`read_lag`), and no other run can reach its
    /// simulator, so no plan lock.
    pub fn in_rehearsal(self, quiet: Duration, read_lag: Duration) -> ApplyConfig {
        ApplyConfig {
            policy: RetryPolicy {
                quiet,
                read_lag,
                ..self.policy
            },
            lock_dir: None,
            ..self
        }
    }
}

/// `10%`, `10` or `2.5%` as a share from 0 to 1.
fn parse_percent(value: &str) -> Option<f64> {
    let number = value.trim().trim_end_matches('%').trim();
    let p: f64 = number.parse().ok()?;
    (p.is_finite() && (0.0..=100.0).contains(&p)).then_some(p / 100.0)
}

/// Reads an `--only`/`--exclude` file; a file that lists nobody is a mistake, not "everyone".
fn account_list(
    flag: &'static str,
    path: PathBuf,
    read: &dyn Fn(&Path) -> io::Result<Vec<u8>>,
) -> Result<AccountList, ConfigError> {
    let bad = |reason: String| ConfigError::BadAccountList {
        flag,
        path: path.clone(),
        reason,
    };
    let bytes = read(&path).map_err(|e| bad(e.to_string()))?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        bad(format!(
            "not UTF-8 text (bad byte at offset {}); save it as UTF-8",
            e.valid_up_to()
        ))
    })?;
    let entries = parse_list(text);
    if entries.is_empty() {
        return Err(bad("it lists no account".into()));
    }
    Ok(AccountList { path, entries })
}

/// How to reach the admin API: the URL, the key and the org.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub client: ClientConfig,
    pub org_id: Option<String>,
}

impl ApiConfig {
    /// The key from `--api-key-file` or `ATLASSIAN_API_KEY` (never argv), the URL from
    /// `--api-url` or `MAILSHIFT_API_URL`, the org from `--org-id` or `ATLASSIAN_ORG_ID`.
    pub fn from_arguments(
        args: &ApiArgs,
        pool_size: usize,
        sources: Sources,
    ) -> Result<ApiConfig, ConfigError> {
        let env = sources.var;
        let key = match &args.api_key_file {
            Some(path) => {
                if let Some(warning) = crate::private_file::key_loose_warning(path) {
                    crate::terminal::caution!("{warning}");
                }
                read_key_file(path, sources.read)?
            }
            None => env("ATLASSIAN_API_KEY")
                .map(|k| k.trim().to_owned())
                .filter(|k| !k.is_empty())
                .ok_or(ConfigError::NoApiKey)?,
        };
        let url = args
            .api_url
            .clone()
            .or_else(|| env("MAILSHIFT_API_URL").filter(|u| !u.trim().is_empty()))
            .unwrap_or_else(|| DEFAULT_API_URL.to_owned());
        check_api_url(&url)?;
        Ok(ApiConfig {
            client: ClientConfig {
                base_url: url,
                key: ApiKey::new(key),
                connect_timeout: Duration::from_secs(args.connect_timeout_secs.max(1)),
                request_timeout: Duration::from_secs(args.timeout_secs.max(1)),
                pool_size,
            },
            org_id: args
                .org_id
                .clone()
                .or_else(|| env("ATLASSIAN_ORG_ID"))
                .map(|o| o.trim().to_owned())
                .filter(|o| !o.is_empty()),
        })
    }
}

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

fn check_rate(flag: &'static str, rate: f64) -> Result<(), ConfigError> {
    if rate.is_finite() && rate > 0.0 {
        Ok(())
    } else {
        Err(ConfigError::BadRate { flag, value: rate })
    }
}

/// `https://` anywhere; `http://` only to a loopback address, where nothing crosses a network.
fn check_api_url(url: &str) -> Result<(), ConfigError> {
    let bad = |reason| ConfigError::BadUrl {
        url: url.to_owned(),
        reason,
    };
    let parsed = reqwest::Url::parse(url).map_err(|_| bad("not a URL"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("credentials do not belong in the URL"));
    }
    match parsed.scheme() {
        "https" => Ok(()),
        "http" => {
            let loopback = match parsed.host() {
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            };
            if loopback {
                Ok(())
            } else {
                Err(bad(
                    "plain http is only allowed to a loopback address; use https",
                ))
            }
        }
        _ => Err(bad("use https://")),
    }
}

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

/// `mailshift review`: which plan file, in which format.
#[derive(Debug, Clone)]
pub struct ReviewConfig {
    pub plan: PathBuf,
    pub format: crate::cli::Format,
}

impl ReviewConfig {
    pub fn from_arguments(args: crate::cli::ReviewArgs) -> ReviewConfig {
        ReviewConfig {
            plan: args.plan,
            format: args.format,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn apply(line: &str, env: &[(&str, &str)]) -> Result<ApplyConfig, ConfigError> {
        let argv = std::iter::once("mailshift").chain(line.split_whitespace());
        let cli = crate::cli::Cli::try_parse_from(argv).unwrap();
        let crate::cli::Command::Apply(args) = cli.command else {
            panic!("not apply")
        };
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let var = move |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        ApplyConfig::from_arguments(
            args,
            Sources {
                var: &var,
                ..Sources::process()
            },
        )
    }

    /// `mailshift LINE` as `apply` would take it, with `files` as the only files there are and
    /// no environment.
    fn apply_with_files(line: &str, files: &[(&str, &[u8])]) -> Result<ApplyConfig, ConfigError> {
        let argv = std::iter::once("mailshift").chain(line.split_whitespace());
        let cli = crate::cli::Cli::try_parse_from(argv).unwrap();
        let crate::cli::Command::Apply(args) = cli.command else {
            panic!("not apply")
        };
        let read = |path: &Path| {
            files
                .iter()
                .find(|(name, _)| Path::new(name) == path)
                .map(|(_, bytes)| bytes.to_vec())
                .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
        };
        ApplyConfig::from_arguments(
            args,
            Sources {
                var: &|_| None,
                read: &read,
            },
        )
    }

    #[test]
    fn the_key_file_and_the_lists_are_read_through_the_sources_given() {
        let files: &[(&str, &[u8])] = &[
            ("key", b"  k-1\n"),
            ("blank", b" \n"),
            ("latin1", b"k\xe9"),
            ("pilot.txt", b"ann@old.example\n"),
        ];
        // (command line, the error's text, or "" when the config is made)
        let table = [
            ("apply p --api-key-file key --only pilot.txt", ""),
            ("apply p --api-key-file blank", "the file is empty"),
            ("apply p --api-key-file latin1", "not UTF-8"),
            ("apply p --api-key-file nowhere", "--api-key-file nowhere"),
            (
                "apply p --api-key-file key --only nowhere",
                "--only nowhere",
            ),
            ("apply p", "no API key"),
        ];
        for (line, expect) in table {
            match apply_with_files(line, files) {
                Ok(c) => {
                    assert_eq!(expect, "", "{line}: made a config");
                    assert_eq!(c.selection.only.map(|l| l.entries.len()), Some(1), "{line}");
                    assert!(!format!("{:?}", c.client).contains("k-1"), "{line}");
                }
                Err(e) => assert!(
                    !expect.is_empty() && e.to_string().contains(expect),
                    "{line}: {e}"
                ),
            }
        }
    }

    #[test]
    fn the_key_comes_from_the_environment_or_a_file_and_never_shows() {
        let err = apply("apply plan.json", &[]).unwrap_err();
        assert!(matches!(err, ConfigError::NoApiKey), "{err}");
        let c = apply("apply plan.json", &[("ATLASSIAN_API_KEY", "k-123")]).unwrap();
        assert!(!format!("{c:?}").contains("k-123"));
        assert_eq!(c.client.base_url, DEFAULT_API_URL);
        assert_eq!(c.journal, PathBuf::from("plan.json.journal"));
        // There is no flag that takes the key itself.
        let argv = ["mailshift", "apply", "plan.json", "--api-key", "k"];
        assert!(crate::cli::Cli::try_parse_from(argv).is_err());
    }

    #[test]
    fn plain_http_goes_only_to_loopback() {
        let key = [("ATLASSIAN_API_KEY", "k")];
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://[::1]:9",
            "https://api.example",
        ] {
            assert!(
                apply(&format!("apply p --api-url {ok}"), &key).is_ok(),
                "{ok}"
            );
        }
        for bad in [
            "http://api.atlassian.com",
            "http://10.0.0.1",
            "ftp://x",
            "https://u:p@x",
            "nonsense",
        ] {
            let err = apply(&format!("apply p --api-url {bad}"), &key).unwrap_err();
            assert!(matches!(err, ConfigError::BadUrl { .. }), "{bad}: {err}");
        }
        let env = [
            ("ATLASSIAN_API_KEY", "k"),
            ("MAILSHIFT_API_URL", "http://evil.example"),
        ];
        assert!(apply("apply p", &env).is_err());
    }

    #[test]
    fn the_journal_cannot_be_the_plan() {
        let err = apply(
            "apply p.json --journal p.json",
            &[("ATLASSIAN_API_KEY", "k")],
        );
        assert!(matches!(err, Err(ConfigError::JournalIsPlan { .. })));
    }

    #[test]
    fn failure_rates_are_percentages() {
        let key = [("ATLASSIAN_API_KEY", "k")];
        let c = apply("apply p", &key).unwrap();
        assert_eq!(c.limits.max_rate, 0.10);
        assert!(c.selection.is_all());
        for (given, share) in [("25%", 0.25), ("2.5", 0.025), ("100%", 1.0), ("0", 0.0)] {
            let c = apply(&format!("apply p --max-failure-rate {given}"), &key).unwrap();
            assert_eq!(c.limits.max_rate, share, "{given}");
        }
        for bad in ["101%", "-1", "ten", "%"] {
            let err = apply(&format!("apply p --max-failure-rate={bad}"), &key).unwrap_err();
            assert!(matches!(err, ConfigError::BadFailureRate { .. }), "{bad}");
        }
        assert!(matches!(
            apply("apply p --limit 0", &key),
            Err(ConfigError::ZeroLimit)
        ));
        assert!(matches!(
            apply("apply p --max-failures 0", &key),
            Err(ConfigError::ZeroMaxFailures)
        ));
    }

    #[test]
    fn an_account_list_must_be_readable_text_that_lists_someone() {
        let dir = tempfile::tempdir().unwrap();
        let key = [("ATLASSIAN_API_KEY", "k")];
        let path = |name: &str| dir.path().join(name).display().to_string();
        std::fs::write(dir.path().join("empty.txt"), "# nobody yet\n\n").unwrap();
        std::fs::write(dir.path().join("latin1.txt"), b"ren\xe9@old.example\n").unwrap();
        std::fs::write(dir.path().join("ok.txt"), "a\nb@old.example\n").unwrap();
        for (name, expect) in [
            ("empty.txt", "lists no account"),
            ("latin1.txt", "not UTF-8"),
            ("missing.txt", "No such file"),
        ] {
            let err = apply(&format!("apply p --only {}", path(name)), &key).unwrap_err();
            assert!(
                matches!(err, ConfigError::BadAccountList { .. })
                    && err.to_string().contains(expect),
                "{name}: {err}"
            );
        }
        let c = apply(&format!("apply p --exclude {}", path("ok.txt")), &key).unwrap();
        let list = c.selection.exclude.unwrap();
        assert_eq!(list.entries.len(), 2);
        assert_eq!(list.entries[1].line, 2);
    }
}
