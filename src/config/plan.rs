//! `mailshift plan`: the inputs, the rules and how the live org is read, checked.

use super::{ApiConfig, ConfigError, Sources, check_rate, domain_keys, same_file, wishes};
use crate::api::ClientConfig;
use crate::cli::Format;
use crate::cli::PlanArgs;
use crate::model::is_domain;
use mailshift_core::input::{ColumnMap, DomainRule};
use std::collections::BTreeSet;
use std::path::PathBuf;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::table::{check, command, with_sources};

    fn made(line: &str, env: &[(&str, &str)]) -> String {
        let crate::cli::Command::Plan(args) = command(line) else {
            panic!("not plan: {line}")
        };
        match with_sources(env, &[], |s| PlanConfig::from_arguments(args, s)) {
            Ok(c) => format!(
                "ok targets={:?} rules={} verified={:?} live={:?} strict={}",
                c.targets,
                c.rules.len(),
                c.verified_domains,
                c.live.map(|l| l.org_id),
                c.strict
            ),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_plan_command_line_is_checked_before_anything_is_read() {
        let key = [("ATLASSIAN_API_KEY", "k-1")];
        check(
            &[
                (
                    "plan --accounts a.csv --targets t.csv",
                    "ok targets=[\"t.csv\"] rules=0",
                ),
                (
                    "plan --accounts a.csv --targets t.csv --strict",
                    "strict=true",
                ),
                ("plan --accounts a.csv", "nothing to plan"),
                (
                    "plan --accounts a.csv --rewrite-domain old.example=new.example",
                    "rules=1",
                ),
                (
                    "plan --accounts a.csv --rewrite-domain old.example",
                    "--rewrite-domain",
                ),
                (
                    "plan --accounts a.csv --targets t.csv --targets t.csv",
                    "given twice",
                ),
                (
                    "plan --accounts a.csv --targets t.csv --targets u.csv",
                    "targets=[\"t.csv\", \"u.csv\"]",
                ),
                (
                    "plan --accounts a.csv --rewrite-domain a.example=b.example --columns current=email",
                    "--columns says how to read",
                ),
                (
                    "plan --accounts a.csv --targets t.csv --out t.csv",
                    "one of the input files",
                ),
                (
                    "plan --accounts a.csv --targets t.csv --out a.csv",
                    "one of the input files",
                ),
                (
                    "plan --accounts a.csv --targets t.csv --verified-domains Old.Example,new.example",
                    "verified=Some({\"new.example\", \"old.example\"})",
                ),
                (
                    "plan --accounts a.csv --targets t.csv --verified-domains not_a_domain",
                    "not_a_domain",
                ),
                (
                    "plan --accounts a.csv --targets t.csv --org-id org-1",
                    "live=Some(\"org-1\")",
                ),
                ("plan --accounts a.csv --targets t.csv", "live=None"),
            ],
            |line| made(line, &key),
        );
    }
}
