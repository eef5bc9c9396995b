//! Validated configurations, made once from the command line; business code sees only these.

use crate::cli::PlanArgs;
use crate::input::DomainRule;
use crate::model::{domain_key, is_domain};
use crate::review::Format;
use std::collections::BTreeSet;
use std::path::PathBuf;

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
            let mut set = BTreeSet::new();
            for value in &args.verified_domains {
                let domain = value.trim().trim_start_matches('@');
                if !is_domain(domain) {
                    return Err(ConfigError::BadVerifiedDomain {
                        value: value.clone(),
                    });
                }
                set.insert(domain_key(domain));
            }
            Some(set)
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

fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
