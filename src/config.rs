//! Validated configurations, made once from the command line; business code sees only these.

use crate::cli::{PlanArgs, SimulateArgs};
use crate::input::DomainRule;
use crate::model::{domain_key, is_domain};
use crate::review::Format;
use crate::sim::faults::FaultConfig;
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Why the command line cannot be run as given.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Neither a target list nor a rule: there is nothing to plan.
    #[error("nothing to plan: give --targets FILE, --rewrite-domain OLD=NEW, or both")]
    NothingToPlan,
    /// A `--rewrite-domain` value that does not parse.
    #[error("--rewrite-domain {value:?}: {reason}")]
    BadRewrite { value: String, reason: String },
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
    /// `--rate` must be positive.
    #[error("--rate {value}: give a positive number of requests per second")]
    BadRate { value: f64 },
    /// The API key file cannot be read or is empty.
    #[error("--api-key-file {}: {reason}", path.display())]
    BadKeyFile { path: PathBuf, reason: String },
    /// `--out` names an input file, which writing the plan would destroy.
    #[error("--out {}: that is one of the input files; choose another path for the plan", path.display())]
    OutIsInput { path: PathBuf },
}

#[derive(Debug, Clone)]
pub struct PlanConfig {
    pub accounts: PathBuf,
    pub targets: Option<PathBuf>,
    pub rules: Vec<DomainRule>,
    /// Domain keys; `None` when the flag was not given.
    pub verified_domains: Option<BTreeSet<String>>,
    pub out: Option<PathBuf>,
    pub format: Format,
}

impl PlanConfig {
    pub fn from_arguments(args: PlanArgs) -> Result<PlanConfig, ConfigError> {
        if args.targets.is_none() && args.rewrite_domains.is_empty() {
            return Err(ConfigError::NothingToPlan);
        }
        let mut rules: Vec<DomainRule> = Vec::new();
        for value in &args.rewrite_domains {
            let rule = DomainRule::parse(value).map_err(|reason| ConfigError::BadRewrite {
                value: value.clone(),
                reason,
            })?;
            if rules.iter().any(|r| r.from == rule.from) {
                return Err(ConfigError::RepeatedRewrite { domain: rule.from });
            }
            rules.push(rule);
        }
        let verified_domains = if args.verified_domains.is_empty() {
            None
        } else {
            Some(domain_keys(&args.verified_domains)?)
        };
        if let Some(out) = &args.out {
            let inputs = std::iter::once(&args.accounts).chain(args.targets.as_ref());
            for input in inputs {
                if same_file(out, input) {
                    return Err(ConfigError::OutIsInput { path: out.clone() });
                }
            }
        }
        Ok(PlanConfig {
            accounts: args.accounts,
            targets: args.targets,
            rules,
            verified_domains,
            out: args.out,
            format: args.format,
        })
    }
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

#[derive(Debug, Clone)]
pub struct SimulateConfig {
    pub accounts: PathBuf,
    pub bind: SocketAddr,
    pub verified_domains: BTreeSet<String>,
    pub scim_linked: BTreeSet<String>,
    pub external_holders: Vec<String>,
    pub taken_status: u16,
    pub rate: Option<(f64, u32)>,
    pub faults: FaultConfig,
    pub seed: Option<u64>,
    pub page_size: usize,
    pub read_delay: Duration,
    pub key_lifetime: Option<Duration>,
    pub org_id: String,
    /// Read from `--api-key-file`; `None` means make one up.
    pub api_key: Option<String>,
    pub dump_on_exit: Option<PathBuf>,
}

impl SimulateConfig {
    pub fn from_arguments(args: SimulateArgs) -> Result<SimulateConfig, ConfigError> {
        let shares = [
            ("--retry-after-share", args.retry_after_share),
            ("--error-share", args.error_share),
            ("--drop-share", args.drop_share),
            ("--slow-share", args.slow_share),
            ("--ambiguous-share", args.ambiguous_share),
        ];
        for (flag, value) in shares {
            if !(0.0..=1.0).contains(&value) {
                return Err(ConfigError::BadShare { flag, value });
            }
        }
        let total = args.error_share + args.drop_share + args.slow_share + args.ambiguous_share;
        if total > 1.0 {
            return Err(ConfigError::BadShare {
                flag: "the fault shares together",
                value: total,
            });
        }
        let rate = match args.rate {
            None => None,
            Some(r) if r.is_finite() && r > 0.0 => {
                Some((r, args.burst.unwrap_or(r.ceil().max(1.0) as u32)))
            }
            Some(value) => return Err(ConfigError::BadRate { value }),
        };
        let verified_domains = domain_keys(&args.verified_domains)?;
        let api_key = match &args.api_key_file {
            None => None,
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| ConfigError::BadKeyFile {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
                let key = text.trim();
                if key.is_empty() {
                    return Err(ConfigError::BadKeyFile {
                        path: path.clone(),
                        reason: "the file is empty".into(),
                    });
                }
                Some(key.to_owned())
            }
        };
        let ip = args.bind.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        Ok(SimulateConfig {
            accounts: args.accounts,
            bind: SocketAddr::new(ip, args.port),
            verified_domains,
            scim_linked: args
                .scim_linked
                .iter()
                .map(|s| crate::model::email_key(s))
                .chain(args.scim_linked.iter().map(|s| s.trim().to_owned()))
                .collect(),
            external_holders: args.external_holders,
            taken_status: args.taken_status,
            rate,
            faults: FaultConfig {
                error_share: args.error_share,
                drop_share: args.drop_share,
                slow_share: args.slow_share,
                slow: Duration::from_millis(args.slow_ms),
                ambiguous_share: args.ambiguous_share,
                latency: Duration::from_millis(args.latency_ms),
                jitter: Duration::from_millis(args.jitter_ms),
                retry_after_share: args.retry_after_share,
            },
            seed: args.seed,
            page_size: args.page_size.max(1),
            read_delay: Duration::from_millis(args.read_delay_ms),
            key_lifetime: args.key_expires_after_secs.map(Duration::from_secs),
            org_id: args.org_id,
            api_key,
            dump_on_exit: args.dump_on_exit,
        })
    }
}
