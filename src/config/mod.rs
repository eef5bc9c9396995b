//! Validated configurations, made once from the command line; business code sees only these.
//! One file per command (`plan`, `apply`, `verify`, `rollback`, `status`, `review`, `rehearse`,
//! `simulate`), each with its table test; here what they share: the `Sources` a config may read
//! besides the command line, the one error, the API's reach (`api`) and the checks of a rate, a
//! URL and a key file.

use crate::model::{domain_key, is_domain};
use mailshift_core::input::DomainRule;
use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

mod api;
mod apply;
mod plan;
mod rehearse;
mod review;
mod rollback;
mod simulator;
mod status;
mod verify;

pub use api::{ApiConfig, DEFAULT_API_URL};
pub use apply::ApplyConfig;
pub use plan::{LiveConfig, PlanConfig};
pub use rehearse::RehearseConfig;
pub use review::ReviewConfig;
pub use rollback::RollbackConfig;
pub use simulator::{SimBehaviour, SimulateConfig};
pub use status::StatusConfig;
pub use verify::VerifyConfig;

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

/// What the configs' table tests share: a command line parsed as clap would, and sources that
/// hold only the environment and files a row gives.
#[cfg(test)]
pub(super) mod table {
    use super::Sources;
    use clap::Parser;
    use std::io;
    use std::path::Path;

    /// `mailshift LINE`, parsed.
    pub(crate) fn command(line: &str) -> crate::cli::Command {
        let argv = std::iter::once("mailshift").chain(line.split_whitespace());
        crate::cli::Cli::try_parse_from(argv)
            .unwrap_or_else(|e| panic!("{line}: {e}"))
            .command
    }

    /// Runs `make` with sources holding `env` and no file but `files`.
    pub(crate) fn with_sources<T>(
        env: &[(&str, &str)],
        files: &[(&str, &[u8])],
        make: impl FnOnce(Sources) -> T,
    ) -> T {
        let var = |name: &str| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        let read = |path: &Path| {
            files
                .iter()
                .find(|(name, _)| Path::new(name) == path)
                .map(|(_, bytes)| bytes.to_vec())
                .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
        };
        make(Sources {
            var: &var,
            read: &read,
        })
    }

    /// Each row's outcome: `Ok(what)` if the config was made and `what` says what it holds,
    /// or the error's text; a row fails when it does not hold `expected` (a substring).
    pub(crate) fn check(rows: &[(&str, &str)], outcome: impl Fn(&str) -> String) {
        let mut wrong = Vec::new();
        for (line, expected) in rows {
            let got = outcome(line);
            if !got.contains(expected) {
                wrong.push(format!(
                    "{line}\n  expected {expected:?}\n  got      {got:?}"
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
