//! The simulator's validated settings: `simulate` serves them, `rehearse` runs against them.

use super::{ConfigError, Sources, domain_keys, read_key_file};
use crate::cli::{SimBehaviourArgs, SimulateArgs};
use mailshift_core::sim::faults::FaultConfig;
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// `mailshift simulate`.
#[derive(Debug, Clone)]
pub struct SimulateConfig {
    pub accounts: PathBuf,
    pub bind: SocketAddr,
    pub behaviour: SimBehaviour,
    pub org_id: String,
    /// Read from `--api-key-file`; `None` means make one up.
    pub api_key: Option<String>,
    pub dump_on_exit: Option<PathBuf>,
}

/// The simulated org beyond its accounts, and how its API misbehaves.
#[derive(Debug, Clone)]
pub struct SimBehaviour {
    /// Domain keys; empty means every domain the export uses.
    pub verified_domains: BTreeSet<String>,
    pub scim_linked: BTreeSet<String>,
    /// `--scim-linked-file`: read when the world is seeded.
    pub scim_linked_files: Vec<std::path::PathBuf>,
    /// `--google-synced`, as given (IDs or addresses), and `--google-synced-file`.
    pub google_synced: Vec<String>,
    pub google_synced_files: Vec<std::path::PathBuf>,
    pub external_holders: Vec<String>,
    pub taken_status: u16,
    pub rate: Option<(f64, u32)>,
    pub faults: FaultConfig,
    pub seed: Option<u64>,
    pub page_size: usize,
    pub read_delay: Duration,
    pub key_lifetime: Option<Duration>,
}

/// What an unset fault flag means: `simulate` starts clean, `rehearse` like production.
#[derive(Debug, Clone, Copy)]
pub struct Defaults {
    pub rate: Option<f64>,
    pub error_share: f64,
    pub drop_share: f64,
    pub ambiguous_share: f64,
    pub latency_ms: u64,
    pub jitter_ms: u64,
}

impl Defaults {
    pub const CLEAN: Defaults = Defaults {
        rate: None,
        error_share: 0.0,
        drop_share: 0.0,
        ambiguous_share: 0.0,
        latency_ms: 0,
        jitter_ms: 0,
    };
}

impl SimulateConfig {
    pub fn from_arguments(
        args: SimulateArgs,
        sources: Sources,
    ) -> Result<SimulateConfig, ConfigError> {
        let behaviour = SimBehaviour::from_arguments(&args.behaviour, Defaults::CLEAN)?;
        let api_key = args
            .api_key_file
            .as_deref()
            .map(|path| read_key_file(path, sources.read))
            .transpose()?;
        let ip = args.bind.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        Ok(SimulateConfig {
            accounts: args.accounts,
            bind: SocketAddr::new(ip, args.port),
            behaviour,
            org_id: args.org_id,
            api_key,
            dump_on_exit: args.dump_on_exit,
        })
    }
}

impl SimBehaviour {
    /// The longest a write to this simulator can be under way after it was sent: its latency,
    /// plus a slow answer's or a late write's delay where those faults are on. A rehearsal
    /// knows its server, so its quiet time after an uncertain write is this, not a guess.
    pub fn longest_under_way(&self) -> Duration {
        let f = &self.faults;
        let base = f.latency.saturating_add(f.jitter);
        let slow = if f.slow_share > 0.0 {
            f.slow
        } else {
            Duration::ZERO
        };
        let late = if f.late_share > 0.0 {
            f.late
        } else {
            Duration::ZERO
        };
        base.saturating_add(slow.max(late))
    }

    pub fn from_arguments(
        args: &SimBehaviourArgs,
        defaults: Defaults,
    ) -> Result<SimBehaviour, ConfigError> {
        let error_share = args.error_share.unwrap_or(defaults.error_share);
        let drop_share = args.drop_share.unwrap_or(defaults.drop_share);
        let slow_share = args.slow_share.unwrap_or(0.0);
        let ambiguous_share = args.ambiguous_share.unwrap_or(defaults.ambiguous_share);
        let retry_after_share = args.retry_after_share.unwrap_or(0.5);
        let late_share = args.late_share.unwrap_or(0.0);
        let garble_share = args.garble_share.unwrap_or(0.0);
        let shares = [
            ("--late-share", late_share),
            ("--garble-share", garble_share),
            ("--retry-after-share", retry_after_share),
            ("--error-share", error_share),
            ("--drop-share", drop_share),
            ("--slow-share", slow_share),
            ("--ambiguous-share", ambiguous_share),
            ("--unverified-share", args.unverified_share),
        ];
        for (flag, value) in shares {
            if !(0.0..=1.0).contains(&value) {
                return Err(ConfigError::BadShare { flag, value });
            }
        }
        let total = error_share + drop_share + slow_share + ambiguous_share + late_share;
        if total > 1.0 {
            return Err(ConfigError::BadShare {
                flag: "the fault shares together",
                value: total,
            });
        }
        let rate = match args.rate.or(defaults.rate) {
            None => None,
            Some(r) if r.is_finite() && r > 0.0 => {
                Some((r, args.burst.unwrap_or(r.ceil().max(1.0) as u32)))
            }
            Some(value) => {
                return Err(ConfigError::BadRate {
                    flag: "--rate",
                    value,
                });
            }
        };
        Ok(SimBehaviour {
            verified_domains: domain_keys(&args.verified_domains)?,
            scim_linked: args
                .scim_linked
                .iter()
                .map(|s| crate::model::email_key(s))
                .chain(args.scim_linked.iter().map(|s| s.trim().to_owned()))
                .collect(),
            scim_linked_files: args.scim_linked_files.clone(),
            google_synced: args.google_synced.clone(),
            google_synced_files: args.google_synced_files.clone(),
            external_holders: args.external_holders.clone(),
            taken_status: args.taken_status,
            rate,
            faults: FaultConfig {
                error_share,
                drop_share,
                slow_share,
                slow: Duration::from_millis(args.slow_ms),
                ambiguous_share,
                latency: Duration::from_millis(args.latency_ms.unwrap_or(defaults.latency_ms)),
                jitter: Duration::from_millis(args.jitter_ms.unwrap_or(defaults.jitter_ms)),
                retry_after_share,
                late_share,
                late: Duration::from_millis(args.late_ms),
                redirect_to: args
                    .redirect_writes_to
                    .as_ref()
                    .map(|u| u.trim_end_matches('/').to_owned()),
                taken_lag: Duration::from_millis(args.taken_lag_ms),
                retry_after_text: args.retry_after.clone(),
                scoped_key: args.scoped_key,
                garble_share,
                endless_listing: args.endless_listing,
                unverified: args.unverified_accounts.iter().cloned().collect(),
                unverified_share: args.unverified_share,
                unmanaged: args.unmanaged_accounts.iter().cloned().collect(),
                groups: groups_of(&args.groups)?,
                scim_records: args.scim_records.clone(),
                unlisted: args.unlisted.iter().cloned().collect(),
                spring_403: args.spring_403,
                taken_unknown_key: args.taken_unknown_key,
                links_404_when_none: args.links_404_when_none,
                refuse_v2: args.refuse_v2,
                rate_headers_on_429_only: args.rate_headers_on_429_only,
                forgiving_bucket: args.forgiving_bucket,
                unlink_404_when_none: args.unlink_404_when_none,
                scim_lock: Duration::from_millis(args.scim_lock_ms),
                ..FaultConfig::default()
            },
            seed: args.seed,
            page_size: args.page_size.max(1),
            read_delay: Duration::from_millis(args.read_delay_ms),
            key_lifetime: args.key_expires_after_secs.map(Duration::from_secs),
        })
    }
}

/// `--group ACCOUNT=GROUP`, each account's groups in the order given.
fn groups_of(
    pairs: &[String],
) -> Result<std::collections::BTreeMap<String, Vec<String>>, ConfigError> {
    let mut groups: std::collections::BTreeMap<String, Vec<String>> =
        std::collections::BTreeMap::new();
    for pair in pairs {
        let (account, group) = pair
            .split_once('=')
            .filter(|(a, g)| !a.trim().is_empty() && !g.trim().is_empty())
            .ok_or_else(|| ConfigError::BadGroup {
                value: pair.clone(),
            })?;
        groups
            .entry(account.trim().to_owned())
            .or_default()
            .push(group.trim().to_owned());
    }
    Ok(groups)
}
