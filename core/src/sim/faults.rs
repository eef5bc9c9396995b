//! Which requests the simulator spoils, and how: seeded, so that a run can be repeated.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeSet;
use std::time::Duration;

/// Shares are probabilities per request (0 to 1).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultConfig {
    /// Answer 500, 502, 503 or 504 without doing anything.
    pub error_share: f64,
    /// Cut the connection without answering.
    pub drop_share: f64,
    /// Answer after `slow`, which should exceed the client's timeout; the request is carried out.
    pub slow_share: f64,
    pub slow: Duration,
    /// For writes: carry out the change, then answer 5xx.
    pub ambiguous_share: f64,
    /// Added to every request, plus up to `jitter`.
    pub latency: Duration,
    pub jitter: Duration,
    /// Share of 429 answers that carry `Retry-After` (Atlassian does not promise it).
    pub retry_after_share: f64,
    /// For writes: answer 5xx at once, and carry out the change `late` afterwards, as a
    /// gateway that gives up before its backend does.
    pub late_share: f64,
    pub late: Duration,
    /// Answer every write with `307 Temporary Redirect` to this base URL (another host).
    pub redirect_to: Option<String>,
    /// An address a change vacated stays "taken" for this long (uniqueness lagging behind).
    pub taken_lag: Duration,
    /// Send this exact `Retry-After` text on every 429 (a huge or odd value, say).
    pub retry_after_text: Option<String>,
    /// The key was created with scopes: the user management API (`/users/...`) answers 403 to
    /// every call, as Atlassian's does; the Organizations API accepts it.
    pub scoped_key: bool,
    /// Share of reads answered 200 with a body cut short (not JSON).
    pub garble_share: f64,
    /// Latency before the rate limit (the way in), plus up to `arrival_jitter`: evenly sent
    /// requests then reach the limit bunched, as over a real network.
    pub arrival: Duration,
    pub arrival_jitter: Duration,
    /// The users listing never ends: past its last account it goes round again, each page with
    /// a new cursor and the true `meta.total`, as a server whose cursors are broken would.
    pub endless_listing: bool,
    /// Accounts whose reads and writes the user management API answers 403
    /// `forbidden.targetUnverified` (their email is unverified, AX-220).
    pub unverified: BTreeSet<String>,
    /// Of the other accounts, this share (by a hash of the ID, so the same accounts every
    /// time) is answered as unverified too.
    pub unverified_share: f64,
    /// Accounts answered 403 `forbidden` (this org does not manage them).
    pub unmanaged: BTreeSet<String>,
    /// Not a fault: each account's groups, which the v2 search gives when asked to expand
    /// them (`--group ACCOUNT=GROUP`).
    pub groups: std::collections::BTreeMap<String, Vec<String>>,
    /// Not a fault: SCIM records with these addresses and no Atlassian account (an IdP user
    /// provisioned from a second directory), found by `get-scim-links-for-email`
    /// (`--scim-record EMAIL`).
    pub scim_records: Vec<String>,
    /// Not a fault: accounts (IDs) synced from Google Workspace: `email.set` denied
    /// `externalDirectory.google`, set-email refused so, `managementSource` `synced`, and no
    /// SCIM record (`--google-synced`, Scenario 4 of the seed).
    pub google_synced: BTreeSet<String>,
    /// Accounts the org's users listings (v1, and v2 without an `emails` filter) leave out, as
    /// a member of another directory may be; the `emails` filter finds them (`--unlisted ID`).
    pub unlisted: BTreeSet<String>,
    /// Those 403s come Spring-style (`{"timestamp","path","status","error","message"}`), with
    /// no key at all, as some organization endpoints answer.
    pub spring_403: bool,
    /// "Taken" is answered with a key no client knows:
    /// `{"key":"fieldConstraintsViolated","violations":[{"field":"email","key":"unique"}]}`.
    pub taken_unknown_key: bool,
    /// `get-scim-links` answers 404, not `[]`, for an account with no link left.
    pub links_404_when_none: bool,
    /// The v2 directory search answers 404, as for an org on the original user management:
    /// clients read the v1 listing instead.
    pub refuse_v2: bool,
    /// A request refused while the rate limit's bucket is empty costs nothing: the plain token
    /// bucket of many gateways, not the debt Atlassian describes for retrying early.
    pub forgiving_bucket: bool,
    /// The rate headers (`X-RateLimit-Limit`, `-Remaining`) come only on 429s, not on the
    /// answers that pass (Atlassian documents the headers, not which answers carry them): the
    /// pace then learns the budget from its 429s alone.
    pub rate_headers_on_429_only: bool,
    /// `onlyDeleteUserInDB` answers 404 for an account without a SCIM record.
    pub unlink_404_when_none: bool,
    /// After an unlink, the account's email stays locked (set-email answers 403
    /// `externalDirectory.scim`) this long.
    pub scim_lock: Duration,
}

/// Why the user management API refuses one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountRefusal {
    Unverified,
    Unmanaged,
}

impl FaultConfig {
    /// Whether, and why, the API refuses this one account on every call.
    pub fn account_refusal(&self, account_id: &str) -> Option<AccountRefusal> {
        if self.unmanaged.contains(account_id) {
            return Some(AccountRefusal::Unmanaged);
        }
        let drawn = || {
            // FNV-1a: the same accounts whatever the seed or the run.
            let hash = account_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            });
            (hash % 1_000_000) as f64 / 1_000_000.0 < self.unverified_share
        };
        (self.unverified.contains(account_id) || (self.unverified_share > 0.0 && drawn()))
            .then_some(AccountRefusal::Unverified)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    Error(u16),
    Drop,
    Slow,
    /// Applied, then answered with this status.
    Ambiguous(u16),
    /// Answered with this status at once, applied later.
    Late(u16),
}

pub struct Dice {
    rng: StdRng,
}

const ERRORS: [u16; 4] = [500, 502, 503, 504];

impl Dice {
    pub fn new(seed: u64) -> Dice {
        Dice {
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// One roll per request decides its fault, so the same seed and the same sequence of requests
    /// spoil the same requests.
    pub fn fault(&mut self, config: &FaultConfig, write: bool) -> Fault {
        let roll: f64 = self.rng.random();
        let status = ERRORS[self.rng.random_range(0..ERRORS.len())];
        let mut edge = config.error_share;
        if roll < edge {
            return Fault::Error(status);
        }
        edge += config.drop_share;
        if roll < edge {
            return Fault::Drop;
        }
        edge += config.slow_share;
        if roll < edge {
            return Fault::Slow;
        }
        edge += config.ambiguous_share;
        if write && roll < edge {
            return Fault::Ambiguous(status);
        }
        edge += config.late_share;
        if write && roll < edge {
            return Fault::Late(status);
        }
        Fault::None
    }

    /// The way in, before the rate limit. No roll without jitter.
    pub fn arrival(&mut self, config: &FaultConfig) -> Duration {
        if config.arrival_jitter.is_zero() {
            return config.arrival;
        }
        let jitter = self
            .rng
            .random_range(0..=config.arrival_jitter.as_micros() as u64);
        config.arrival + Duration::from_micros(jitter)
    }

    /// Whether this read's body is to be cut short. No roll when the share is 0, so that
    /// seeds of runs without the fault spoil the same requests as before.
    pub fn garble(&mut self, config: &FaultConfig) -> bool {
        config.garble_share > 0.0 && self.rng.random::<f64>() < config.garble_share
    }

    pub fn latency(&mut self, config: &FaultConfig) -> Duration {
        if config.jitter.is_zero() {
            return config.latency;
        }
        let jitter = self.rng.random_range(0..=config.jitter.as_micros() as u64);
        config.latency + Duration::from_micros(jitter)
    }

    pub fn retry_after(&mut self, config: &FaultConfig) -> bool {
        self.rng.random::<f64>() < config.retry_after_share
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_honoured_and_repeatable() {
        let config = FaultConfig {
            error_share: 0.1,
            drop_share: 0.05,
            ambiguous_share: 0.05,
            ..FaultConfig::default()
        };
        let roll = |seed| {
            let mut d = Dice::new(seed);
            (0..20_000)
                .map(|_| d.fault(&config, true))
                .collect::<Vec<_>>()
        };
        let faults = roll(7);
        assert_eq!(faults, roll(7), "same seed, same faults");
        let share =
            |f: fn(&Fault) -> bool| faults.iter().filter(|x| f(x)).count() as f64 / 20_000.0;
        assert!((share(|f| matches!(f, Fault::Error(_))) - 0.1).abs() < 0.01);
        assert!((share(|f| matches!(f, Fault::Drop)) - 0.05).abs() < 0.01);
        assert!((share(|f| matches!(f, Fault::Ambiguous(_))) - 0.05).abs() < 0.01);
    }

    #[test]
    fn latency_stays_within_its_jitter() {
        let config = FaultConfig {
            latency: Duration::from_millis(100),
            jitter: Duration::from_millis(50),
            ..FaultConfig::default()
        };
        let mut d = Dice::new(3);
        let waits: Vec<Duration> = (0..1000).map(|_| d.latency(&config)).collect();
        assert!(
            waits
                .iter()
                .all(|w| (Duration::from_millis(100)..=Duration::from_millis(150)).contains(w))
        );
        assert!(
            waits.iter().any(|w| *w > Duration::from_millis(140)),
            "the jitter is used"
        );
    }

    #[test]
    fn reads_are_never_ambiguous_writes() {
        let config = FaultConfig {
            ambiguous_share: 1.0,
            ..FaultConfig::default()
        };
        let mut d = Dice::new(1);
        assert_eq!(d.fault(&config, false), Fault::None);
        assert!(matches!(d.fault(&config, true), Fault::Ambiguous(_)));
    }
}
