//! What to do after the API answers a write or a read: pure, with the jitter passed in, so that
//! every branch is tested without a network or a clock.

mod get;

pub use get::{AfterGet, FIRST_READS, Fetched, GetStop, GetTries, after_get, key_refused};

use crate::api::{Read, TAKEN, Write};
use crate::model::email_key;
use crate::plan::StepId;
use crate::plan::access::SCIM;
use std::time::Duration;

/// Bounds on retrying one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts that met a 5xx, a timeout or a lost connection, before the step fails.
    pub max_attempts: u32,
    /// 429 answers one step may receive before it fails (they are not the step's fault, so the
    /// bound is loose).
    pub max_rate_limited: u32,
    /// The first backoff; it doubles with each attempt up to `cap`.
    pub base: Duration,
    pub cap: Duration,
    /// How long after a write was sent whose outcome is uncertain (a 5xx, a timeout, a lost
    /// connection) it may still be under way at the server: the request timeout plus a settle
    /// margin. Its account is neither read nor written before then.
    pub quiet: Duration,
    /// How long after a group with an uncertain write is done its accounts are read again.
    pub settle: Duration,
    /// How far behind a change reads may lag (Atlassian: "up to 30 seconds"). A group's settle
    /// re-read is sent this much later again, so that a read showing the planned address cannot
    /// be one from before a late write landed.
    pub read_lag: Duration,
    /// The longest wait the server may ask for (`Retry-After`, `X-RateLimit-Reset`) before the
    /// run stops instead of waiting.
    pub max_wait: Duration,
    /// "Taken" answers for an address this run itself vacated, retried with backoff before the
    /// step fails: the API's uniqueness may lag behind the free.
    pub taken_retries: u32,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 6,
            max_rate_limited: 100,
            base: Duration::from_secs(1),
            cap: Duration::from_secs(30),
            quiet: Duration::from_secs(35),
            settle: Duration::from_secs(5),
            read_lag: Duration::from_secs(30),
            max_wait: Duration::from_secs(15 * 60),
            taken_retries: 5,
        }
    }
}

impl RetryPolicy {
    /// The defaults, with the quiet time of a client whose requests time out after
    /// `request_timeout`, plus `settle`.
    pub fn for_timeout(request_timeout: Duration, settle: Duration) -> RetryPolicy {
        RetryPolicy {
            quiet: request_timeout.saturating_add(settle),
            settle,
            ..RetryPolicy::default()
        }
    }
}

/// When the accounts of a group with an uncertain write are read again: once its steps are done
/// (`now`) and its writes cannot be under way (`quiet`), after `settle`, and after `read_lag`
/// more, so that a lagging read cannot show the address from before a late write. The one rule
/// for a run's settle reads and a resume's owed ones.
pub fn settle_due(now: Duration, quiet: Duration, policy: &RetryPolicy) -> Duration {
    now.max(quiet)
        .saturating_add(policy.settle)
        .saturating_add(policy.read_lag)
}

/// Until when a write sent at `sent_at` whose answer left its outcome uncertain may still be
/// under way: nothing is sent to its account, nor read of it, before then. The one rule for
/// when a step may be re-sent or checked.
pub fn under_way_until(sent_at: Duration, policy: &RetryPolicy) -> Duration {
    sent_at.saturating_add(policy.quiet)
}

/// The wait left, `elapsed` after an uncertain write was sent (a dead run's intent, say).
pub fn quiet_left(elapsed: Duration, policy: &RetryPolicy) -> Duration {
    policy.quiet.saturating_sub(elapsed)
}

/// Whether a wait the server asked for is longer than the run will wait.
pub fn too_long(wait: Option<Duration>, policy: &RetryPolicy) -> Option<Duration> {
    wait.filter(|w| *w > policy.max_wait)
}

/// How one step has fared so far in this run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tries {
    /// Writes sent.
    pub writes: u32,
    /// Writes and reads that met a transient failure.
    pub transient: u32,
    pub rate_limited: u32,
    /// The last transient failure, for the message if the step gives up.
    pub last_problem: Option<(Option<u16>, String)>,
    /// The API refused the write; the account is being read to tell why.
    pub refused: Option<Refusal>,
    /// Reads that met a transient failure (counted in `transient` too), for the message.
    pub failed_reads: u32,
    /// The step of this plan that vacates this step's target (a free, a chain's link, a
    /// cycle's temporary), if any: a "taken" answer may then be the API lagging behind it.
    pub vacated_by: Option<StepId>,
    /// The SCIM unlink of this step's account that this step waits for, if any: a refusal as
    /// IdP-owned (`externalDirectory.scim`) may then be the SCIM lock lingering after it.
    pub unlinked_by: Option<StepId>,
    /// "Taken" (or SCIM-locked) answers received while the account still had its precondition.
    pub taken: u32,
    /// An uncertain write of this step may be under way until then (`under_way_until`).
    pub under_way_until: Option<Duration>,
    /// Settle re-reads that found an earlier address of the group (perhaps a lagging read).
    pub stale_reads: u32,
}

/// A 4xx answer to a write, kept while the account is read again.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub status: u16,
    pub key: Option<String>,
    pub message: String,
}

/// Whether a set-email refused so may be the API's uniqueness lagging behind a free: "taken"
/// by any name, or any 400 or 409. Atlassian documents no "taken" answer for a set-email
/// (neither its status nor its key), so a 400 or 409 with a key nobody knows counts too;
/// `explain` waits it out only if this run vacated the address and the account still has its
/// old one, and otherwise fails the step with the API's raw answer.
pub fn may_be_lag(status: u16, key: Option<&str>) -> bool {
    key == Some(TAKEN) || matches!(status, 400 | 409)
}

/// Whether a refused set-email counts towards `Tries::taken`: lagging uniqueness
/// ([`may_be_lag`]) or the SCIM lock an unlink may leave behind, the two refusals `explain`
/// may wait out.
pub fn may_be_waited_out(status: u16, key: Option<&str>) -> bool {
    may_be_lag(status, key) || key == Some(SCIM)
}

impl Refusal {
    fn fail(&self) -> Decision {
        Decision::Fail {
            status: Some(self.status),
            key: self.key.clone(),
            message: self.message.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// The account has its target address.
    Done { status: Option<u16> },
    /// Send the write again after this long.
    Send { after: Duration },
    /// The write may have been applied: read the account (after this long) before anything else.
    Check { after: Duration },
    Fail {
        status: Option<u16>,
        key: Option<String>,
        message: String,
    },
    /// Nothing more can succeed in this run (the key is refused).
    Stop { message: String },
    /// The API refused the write: read the account before failing the step, since a refusal
    /// may mean the world changed (drift, an address taken outside the org) or that the change
    /// is already there.
    Explain(Refusal),
}

/// The wait before attempt `n + 1` after `n` failures: doubling from `base` up to `cap`, times
/// `jitter` (drawn from 0.7..1.3, as Atlassian's reference retry code does).
pub fn backoff(policy: &RetryPolicy, failures: u32, jitter: f64) -> Duration {
    let doubling = 2f64.powi(failures.saturating_sub(1).min(30) as i32);
    let wait = (policy.base.as_secs_f64() * doubling).min(policy.cap.as_secs_f64());
    Duration::from_secs_f64(wait * jitter.clamp(0.5, 1.5))
}

/// How long a request answered 429 waits before it is queued again: the doubling backoff, but
/// never longer than the server asked (whole-second `Retry-After`s and minute-precision resets
/// overstate it). Only this step waits; how fast the key's requests go, and whether they all
/// pause, is the pace's one decision (`exec::pace`).
/// `rate_limited` counts this request's 429s so far, this one included.
pub fn after_429(
    wait: Option<Duration>,
    rate_limited: u32,
    policy: &RetryPolicy,
    jitter: f64,
) -> Duration {
    let backoff = backoff(policy, rate_limited.max(1), jitter);
    // A wait of next to nothing (a reset time already past at second precision) says nothing.
    wait.filter(|w| *w >= Duration::from_millis(50))
        .map_or(backoff, |w| w.min(backoff))
}

/// The wait before sending again a write answered "taken" for an address this run vacated: 1 s
/// doubling (about 30 s over 5 tries), whatever `--backoff-ms` says, since it waits for the
/// API's uniqueness to catch up, not for a fault to pass.
fn taken_backoff(taken: u32, jitter: f64) -> Duration {
    let policy = RetryPolicy {
        base: Duration::from_secs(1),
        cap: Duration::from_secs(16),
        ..RetryPolicy::default()
    };
    backoff(&policy, taken.max(1), jitter)
}

/// The wait before reading again an account that shows an earlier address of its group: a
/// fifth of `settle` (at least 0.1 s), doubling, so that `STALE_READS` tries span about six
/// times `settle` (31 s at the default 5 s, as long as Atlassian says its reads may lag).
fn stale_backoff(policy: &RetryPolicy, n: u32, jitter: f64) -> Duration {
    let base = (policy.settle / 5).max(Duration::from_millis(100));
    let stale = RetryPolicy {
        base,
        cap: base.saturating_mul(16),
        ..*policy
    };
    backoff(&stale, n, jitter)
}

/// The server's wait, if it gave one, stretched a little so that the steps it stopped do not all
/// come back at the same instant; else the backoff. A wait too large to stretch stays as given.
fn server_wait(given: Option<Duration>, fallback: Duration, jitter: f64) -> Duration {
    match given {
        Some(w) => {
            let stretch = 1.0 + (jitter.clamp(0.7, 1.3) - 0.7) / 2.0;
            Duration::try_from_secs_f64(w.as_secs_f64() * stretch).unwrap_or(w)
        }
        None => fallback,
    }
}

/// After the answer to a write. `tries` already counts this attempt and its failure.
/// `explain`: read the account after a refusal (not for SCIM unlinks, whose account keeps its
/// address either way).
pub fn after_write(
    answer: &Write,
    tries: &Tries,
    policy: &RetryPolicy,
    jitter: f64,
    explain: bool,
) -> Decision {
    match answer {
        Write::Applied { status } => Decision::Done {
            status: Some(*status),
        },
        // The server answered, so nothing is under way; a read tells whether it was applied.
        Write::Unconfirmed { .. } => Decision::Check {
            after: Duration::ZERO,
        },
        Write::RateLimited { wait, .. } => {
            if tries.rate_limited > policy.max_rate_limited {
                return Decision::Fail {
                    status: Some(429),
                    key: Some("rateLimited".into()),
                    message: format!("rate limited {} times in a row", tries.rate_limited),
                };
            }
            Decision::Send {
                after: after_429(*wait, tries.rate_limited, policy, jitter),
            }
        }
        Write::Transient {
            maybe_applied,
            wait,
            status,
            detail,
        } => {
            let after = server_wait(*wait, backoff(policy, tries.transient, jitter), jitter);
            if *maybe_applied {
                // Whatever the count, the truth comes first: a write that may have landed is
                // never sent again (nor given up on) before the account is read.
                Decision::Check {
                    after: Duration::ZERO,
                }
            } else if tries.transient >= policy.max_attempts {
                give_up(*status, detail, tries)
            } else {
                Decision::Send { after }
            }
        }
        Write::Rejected {
            status,
            key,
            message,
        } => {
            let refusal = Refusal {
                status: *status,
                key: key.clone(),
                message: message.clone(),
            };
            if explain {
                Decision::Explain(refusal)
            } else if *status == 404 {
                // An unlink answered 404: the SCIM record may be gone already (the IdP
                // unassigned the user, an earlier try landed). The links tell.
                Decision::Check {
                    after: Duration::ZERO,
                }
            } else {
                refusal.fail()
            }
        }
        Write::Unauthorized { message } => Decision::Stop {
            message: message.clone(),
        },
    }
}

/// After reading the account of a step whose write the API refused: the account at its target
/// means the change is there; at its precondition, the refusal stands (with what it means for
/// a taken address); anywhere else, the account drifted.
fn explain(
    from: &str,
    to: &str,
    read: &Read,
    refusal: &Refusal,
    tries: &Tries,
    policy: &RetryPolicy,
    jitter: f64,
) -> Decision {
    match read {
        Read::Email(found) if email_key(found) == email_key(to) => Decision::Done { status: None },
        Read::Email(found) if email_key(found) == email_key(from) => {
            let taken = refusal.key.as_deref() == Some(TAKEN) || refusal.status == 409;
            let lag = may_be_lag(refusal.status, refusal.key.as_deref());
            if let (true, Some(by)) = (lag, tries.vacated_by) {
                // This plan vacated the address (step `by` is done): the API's uniqueness may
                // lag behind the free, so wait it out for a while before blaming anyone.
                if tries.taken <= policy.taken_retries {
                    return Decision::Send {
                        after: taken_backoff(tries.taken, jitter),
                    };
                }
                Decision::Fail {
                    status: Some(refusal.status),
                    key: refusal.key.clone(),
                    message: format!(
                        "{to} is still refused after {} tries, although this plan vacated it (step {by}): the API's uniqueness may lag behind, or another account took the address meanwhile; the account itself still has {from}. Run `mailshift apply --retry-failed` later. The API's last answer: {}",
                        tries.taken, refusal.message
                    ),
                }
            } else if let (Some(SCIM), Some(by)) = (refusal.key.as_deref(), tries.unlinked_by) {
                // This plan unlinked the account (step `by` is done): the SCIM lock may linger
                // a while after the unlink (how long is not documented), so wait it out as a
                // lagging uniqueness is.
                if tries.taken <= policy.taken_retries {
                    return Decision::Send {
                        after: taken_backoff(tries.taken, jitter),
                    };
                }
                Decision::Fail {
                    status: Some(refusal.status),
                    key: refusal.key.clone(),
                    message: format!(
                        "the account is still locked by SCIM after {} tries, although this plan unlinked it (step {by}): the lock may outlast the unlink, or the IdP provisioned it again meanwhile; the account itself still has {from}. Run `mailshift apply --retry-failed` later. The API's last answer: {}",
                        tries.taken, refusal.message
                    ),
                }
            } else if taken {
                Decision::Fail {
                    status: Some(refusal.status),
                    key: refusal.key.clone(),
                    message: format!(
                        "{to} is held by an account outside this org, or one the org's listing did not show (the account itself still has {from}): free that address, then run `mailshift apply --retry-failed`"
                    ),
                }
            } else {
                refusal.fail()
            }
        }
        Read::Email(found) => Decision::Fail {
            status: Some(refusal.status),
            key: Some("drifted".into()),
            message: format!(
                "the account now has {found}, not {from}: it was changed outside this run (the API refused the write: {})",
                refusal.message
            ),
        },
        Read::NotFound => Decision::Fail {
            status: Some(404),
            key: Some("accountNotFound".into()),
            message: "the account no longer exists".into(),
        },
        Read::RateLimited { wait, .. } if tries.rate_limited <= policy.max_rate_limited => {
            Decision::Check {
                after: after_429(*wait, tries.rate_limited, policy, jitter),
            }
        }
        Read::Transient { .. } if tries.transient < policy.max_attempts => Decision::Check {
            after: backoff(policy, tries.transient.max(1), jitter),
        },
        Read::Unauthorized { message } => Decision::Stop {
            message: message.clone(),
        },
        _ => refusal.fail(),
    }
}

/// After reading the account of a step whose write may or may not have been applied.
/// `tries` counts the failures so far (including the one that made the read necessary).
pub fn after_check(
    from: &str,
    to: &str,
    read: &Read,
    tries: &Tries,
    policy: &RetryPolicy,
    jitter: f64,
) -> Decision {
    if let Some(refusal) = &tries.refused {
        return explain(from, to, read, refusal, tries, policy, jitter);
    }
    match read {
        Read::Linked(false) => Decision::Done { status: None },
        Read::Linked(true) => resend(tries, policy, jitter),
        Read::Email(found) => {
            let found_key = email_key(found);
            if found_key == email_key(to) {
                Decision::Done { status: None }
            } else if found_key == email_key(from) {
                resend(tries, policy, jitter)
            } else {
                Decision::Fail {
                    status: None,
                    key: Some("drifted".into()),
                    message: format!(
                        "the account now has {found}, neither {from} nor {to}: it was changed outside this run"
                    ),
                }
            }
        }
        Read::NotFound => Decision::Fail {
            status: Some(404),
            key: Some("accountNotFound".into()),
            message: "the account no longer exists".into(),
        },
        Read::RateLimited { wait, .. } => {
            if tries.rate_limited > policy.max_rate_limited {
                return Decision::Fail {
                    status: Some(429),
                    key: Some("outcomeUnknown".into()),
                    message: "could not read the account to learn whether the change was applied (rate limited); run `mailshift apply` again to check".into(),
                };
            }
            Decision::Check {
                after: after_429(*wait, tries.rate_limited, policy, jitter),
            }
        }
        Read::Transient { status, detail } => {
            if tries.transient >= policy.max_attempts + 2 {
                Decision::Fail {
                    status: *status,
                    key: Some("outcomeUnknown".into()),
                    message: format!(
                        "could not read the account to learn whether the change was applied ({detail}); run `mailshift apply --retry-failed` to check again"
                    ),
                }
            } else {
                Decision::Check {
                    after: backoff(policy, tries.transient, jitter),
                }
            }
        }
        Read::Unauthorized { message } => Decision::Stop {
            message: message.clone(),
        },
        Read::Other {
            status,
            key,
            message,
        } => Decision::Fail {
            status: Some(*status),
            key: key.clone(),
            message: format!("reading the account failed: {message}"),
        },
    }
}

/// Re-reads of an account that still shows an earlier address of its group, before that counts
/// as a late write rather than a read lagging behind.
pub const STALE_READS: u32 = 5;

/// What the re-read of an account, once its group is done, says.
#[derive(Debug, Clone, PartialEq)]
pub enum Settled {
    /// The account has the address the group leaves it at.
    Fine,
    /// Read again after this long.
    Again { after: Duration },
    /// The account is not where the group left it, or cannot be read: the step that put it
    /// there fails with this key and message.
    Wrong { key: &'static str, message: String },
    /// Nothing more can succeed in this run (the key is refused).
    Stop { message: String },
}

/// After re-reading, once its group was done, an account of a group that had a write with an
/// uncertain outcome: a write that landed late (after the steps that followed it) leaves the
/// account elsewhere, and the run must not call that done.
/// `earlier` are the addresses the group had the account at before (its steps' `from`): reads
/// that lag behind show those for a while (Atlassian documents "up to 30 seconds" for other
/// changes), so one of them is read again (`stale_backoff`, `STALE_READS` tries) before it
/// counts as a late write.
pub fn after_settle(
    expected: &str,
    earlier: &[&str],
    read: &Read,
    tries: &Tries,
    policy: &RetryPolicy,
    jitter: f64,
) -> Settled {
    match read {
        Read::Email(found) if email_key(found) == email_key(expected) => Settled::Fine,
        Read::Email(found)
            if tries.stale_reads < STALE_READS
                && earlier.iter().any(|e| email_key(e) == email_key(found)) =>
        {
            Settled::Again {
                after: stale_backoff(policy, tries.stale_reads + 1, jitter),
            }
        }
        Read::Email(found) => Settled::Wrong {
            key: "lateWrite",
            message: format!(
                "after its group was done, the account has {found}, not {expected}: a write whose answer was uncertain landed late, or the account was changed outside this run; run `mailshift apply --retry-failed` to put it right"
            ),
        },
        Read::NotFound => Settled::Wrong {
            key: "accountNotFound",
            message: "after its group was done, the account no longer exists".into(),
        },
        Read::RateLimited { wait, .. } if tries.rate_limited <= policy.max_rate_limited => {
            Settled::Again {
                after: after_429(*wait, tries.rate_limited, policy, jitter),
            }
        }
        Read::Transient { .. } | Read::Linked(_) if tries.failed_reads < policy.max_attempts => {
            Settled::Again {
                after: backoff(policy, tries.failed_reads.max(1), jitter),
            }
        }
        Read::Unauthorized { message } => Settled::Stop {
            message: message.clone(),
        },
        _ => Settled::Wrong {
            key: "outcomeUnknown",
            message: "after its group was done, the account could not be read again to confirm it (a write of the group had an uncertain answer); run `mailshift verify` or `mailshift apply --retry-failed` to check".into(),
        },
    }
}

/// The write did not land: send it again, unless it has failed too often.
fn resend(tries: &Tries, policy: &RetryPolicy, jitter: f64) -> Decision {
    if tries.transient >= policy.max_attempts {
        let (status, detail) = tries
            .last_problem
            .clone()
            .unwrap_or((None, "no answer".into()));
        give_up(status, &detail, tries)
    } else {
        // Nothing failed yet (a resume's check): no reason to wait.
        let after = if tries.transient == 0 {
            Duration::ZERO
        } else {
            backoff(policy, tries.transient, jitter)
        };
        Decision::Send { after }
    }
}

fn give_up(status: Option<u16>, detail: &str, tries: &Tries) -> Decision {
    let mut what = count(tries.writes, "write");
    if tries.failed_reads > 0 {
        what.push_str(&format!(
            " and {} of the account that failed",
            count(tries.failed_reads, "read")
        ));
    }
    Decision::Fail {
        status,
        key: Some("retriesExhausted".into()),
        message: format!("gave up after {what}: {detail}"),
    }
}

/// "1 write", "3 writes".
fn count(n: u32, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) const P: RetryPolicy = RetryPolicy {
        max_attempts: 3,
        max_rate_limited: 5,
        base: Duration::from_secs(1),
        cap: Duration::from_secs(10),
        quiet: Duration::from_secs(12),
        settle: Duration::from_secs(2),
        read_lag: Duration::from_secs(3),
        max_wait: Duration::from_secs(600),
        taken_retries: 2,
    };

    fn tries(transient: u32, rate_limited: u32) -> Tries {
        Tries {
            writes: transient.max(1),
            transient,
            rate_limited,
            last_problem: Some((Some(503), "503 Service Unavailable".into())),
            ..Tries::default()
        }
    }

    fn transient(maybe_applied: bool) -> Write {
        Write::Transient {
            status: Some(503),
            wait: None,
            maybe_applied,
            detail: "503".into(),
        }
    }

    #[test]
    fn backoff_doubles_to_the_cap_with_jitter() {
        let secs = |n, j| backoff(&P, n, j).as_secs_f64();
        assert_eq!(secs(1, 1.0), 1.0);
        assert_eq!(secs(2, 1.0), 2.0);
        assert_eq!(secs(3, 1.0), 4.0);
        assert_eq!(secs(9, 1.0), 10.0);
        assert!((secs(2, 0.7) - 1.4).abs() < 1e-9);
        assert!((secs(2, 1.3) - 2.6).abs() < 1e-9);
    }

    #[test]
    fn a_write_that_may_have_landed_is_read_before_anything_else() {
        for t in [tries(1, 0), tries(3, 0), tries(9, 0)] {
            assert_eq!(
                after_write(&transient(true), &t, &P, 1.0, true),
                Decision::Check {
                    after: Duration::ZERO
                }
            );
        }
    }

    #[test]
    fn a_write_that_never_left_is_resent_until_the_bound() {
        assert_eq!(
            after_write(&transient(false), &tries(2, 0), &P, 1.0, true),
            Decision::Send {
                after: Duration::from_secs(2)
            }
        );
        assert!(matches!(
            after_write(&transient(false), &tries(3, 0), &P, 1.0, true),
            Decision::Fail { key: Some(k), .. } if k == "retriesExhausted"
        ));
    }

    #[test]
    fn a_429_backs_off_but_never_longer_than_the_server_said() {
        let told = |secs| Write::RateLimited {
            wait: Some(Duration::from_millis(secs)),
            told_by: Some("Retry-After"),
        };
        // The backoff (1 s, then 2 s, ...) unless the server said less.
        assert_eq!(
            after_write(&told(4000), &tries(0, 1), &P, 1.0, true),
            Decision::Send {
                after: Duration::from_secs(1)
            }
        );
        assert_eq!(
            after_write(&told(300), &tries(0, 3), &P, 1.0, true),
            Decision::Send {
                after: Duration::from_millis(300)
            }
        );
        let untold = Write::RateLimited {
            wait: None,
            told_by: None,
        };
        assert_eq!(
            after_write(&untold, &tries(0, 3), &P, 1.0, true),
            Decision::Send {
                after: Duration::from_secs(4)
            }
        );
        // A reset already past says nothing: the backoff.
        assert_eq!(
            after_write(&told(0), &tries(0, 2), &P, 1.0, true),
            Decision::Send {
                after: Duration::from_secs(2)
            }
        );
        assert!(matches!(
            after_write(&untold, &tries(0, 6), &P, 1.0, true),
            Decision::Fail {
                status: Some(429),
                ..
            }
        ));
    }

    #[test]
    fn a_refusal_is_explained_by_a_read_and_a_refused_key_stops_the_run() {
        let taken = Write::Rejected {
            status: 400,
            key: Some("email.taken".into()),
            message: "held".into(),
        };
        let refusal = Refusal {
            status: 400,
            key: Some("email.taken".into()),
            message: "held".into(),
        };
        assert_eq!(
            after_write(&taken, &tries(0, 0), &P, 1.0, true),
            Decision::Explain(refusal.clone())
        );
        // An unlink's account keeps its address, so a read would explain nothing.
        assert_eq!(
            after_write(&taken, &tries(0, 0), &P, 1.0, false),
            Decision::Fail {
                status: Some(400),
                key: Some("email.taken".into()),
                message: "held".into()
            }
        );
        let refused = Write::Unauthorized {
            message: "401".into(),
        };
        assert!(matches!(
            after_write(&refused, &tries(0, 0), &P, 1.0, true),
            Decision::Stop { .. }
        ));
    }

    #[test]
    fn the_read_after_a_refusal_tells_done_taken_outside_and_drift_apart() {
        let t = Tries {
            refused: Some(Refusal {
                status: 400,
                key: Some("email.taken".into()),
                message: "held".into(),
            }),
            ..Tries::default()
        };
        let read = |found: &str| {
            after_check(
                "ann@old.example",
                "ann@new.example",
                &Read::Email(found.into()),
                &t,
                &P,
                1.0,
            )
        };
        assert_eq!(read("Ann@New.example"), Decision::Done { status: None });
        match read("ann@old.example") {
            Decision::Fail { key, message, .. } => {
                assert_eq!(key.as_deref(), Some("email.taken"));
                assert!(message.contains("outside this org"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        match read("eve@old.example") {
            Decision::Fail { key, message, .. } => {
                assert_eq!(key.as_deref(), Some("drifted"));
                assert!(
                    message.contains("now has eve@old.example, not ann@old.example"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
        // A read that fails for good leaves the refusal as it was.
        let other = Read::Other {
            status: 403,
            key: None,
            message: "no".into(),
        };
        assert_eq!(
            after_check("a@x.example", "b@x.example", &other, &t, &P, 1.0),
            Decision::Fail {
                status: Some(400),
                key: Some("email.taken".into()),
                message: "held".into()
            }
        );
    }

    #[test]
    fn an_unlink_is_done_once_no_scim_link_is_left() {
        let t = tries(1, 0);
        assert_eq!(
            after_check(
                "a@x.example",
                "a@x.example",
                &Read::Linked(false),
                &t,
                &P,
                1.0
            ),
            Decision::Done { status: None }
        );
        assert!(matches!(
            after_check(
                "a@x.example",
                "a@x.example",
                &Read::Linked(true),
                &t,
                &P,
                1.0
            ),
            Decision::Send { .. }
        ));
    }

    #[test]
    fn an_unlink_answered_404_is_checked_through_the_links_not_failed() {
        let gone = Write::Rejected {
            status: 404,
            key: Some("ADMIN-404-8".into()),
            message: "User not found".into(),
        };
        assert_eq!(
            after_write(&gone, &tries(0, 0), &P, 1.0, false),
            Decision::Check {
                after: Duration::ZERO
            }
        );
        // Any other refusal of an unlink stands.
        let other = Write::Rejected {
            status: 400,
            key: None,
            message: "bad".into(),
        };
        assert!(matches!(
            after_write(&other, &tries(0, 0), &P, 1.0, false),
            Decision::Fail { .. }
        ));
    }

    #[test]
    fn a_free_after_this_plans_unlink_waits_out_the_scim_lock_then_says_so() {
        let locked = Refusal {
            status: 403,
            key: Some(SCIM.into()),
            message: "HTTP 403 externalDirectory.scim".into(),
        };
        let t = |taken, unlinked_by| Tries {
            refused: Some(locked.clone()),
            unlinked_by,
            taken,
            ..Tries::default()
        };
        let read = |t: &Tries| {
            after_check(
                "h@new.example",
                "h_FREE@new.example",
                &Read::Email("h@new.example".into()),
                t,
                &P,
                1.0,
            )
        };
        assert_eq!(
            read(&t(1, Some(StepId(3)))),
            Decision::Send {
                after: Duration::from_secs(1)
            }
        );
        match read(&t(3, Some(StepId(3)))) {
            Decision::Fail { message, .. } => assert!(
                message.contains(
                    "still locked by SCIM after 3 tries, although this plan unlinked it (step 3)"
                ),
                "{message}"
            ),
            other => panic!("{other:?}"),
        }
        // Not unlinked by this plan: the IdP owns the email, at once.
        assert!(matches!(read(&t(1, None)), Decision::Fail { .. }));
    }

    #[test]
    fn a_check_compares_the_account_with_the_step() {
        let check = |found: &str, t: &Tries| {
            after_check(
                "ann@old.example",
                "ann@new.example",
                &Read::Email(found.into()),
                t,
                &P,
                1.0,
            )
        };
        assert_eq!(
            check("Ann@New.example", &tries(1, 0)),
            Decision::Done { status: None }
        );
        assert_eq!(
            check("ann@old.example", &tries(1, 0)),
            Decision::Send {
                after: Duration::from_secs(1)
            }
        );
        assert!(matches!(
            check("ann@old.example", &tries(3, 0)),
            Decision::Fail { key: Some(k), message, .. }
                if k == "retriesExhausted" && message.contains("503")
        ));
        assert!(matches!(
            check("someone@else.example", &tries(1, 0)),
            Decision::Fail { key: Some(k), .. } if k == "drifted"
        ));
        let unreadable = Read::Transient {
            status: Some(502),
            detail: "502".into(),
        };
        assert!(matches!(
            after_check("a", "b", &unreadable, &tries(1, 0), &P, 1.0),
            Decision::Check { .. }
        ));
        assert!(matches!(
            after_check("a", "b", &unreadable, &tries(5, 0), &P, 1.0),
            Decision::Fail { key: Some(k), .. } if k == "outcomeUnknown"
        ));
    }

    #[test]
    fn an_uncertain_write_keeps_its_account_quiet_until_it_cannot_be_under_way() {
        let sent = Duration::from_secs(100);
        assert_eq!(under_way_until(sent, &P), Duration::from_secs(112));
        assert_eq!(under_way_until(Duration::MAX, &P), Duration::MAX);
        // A dead run's write, 5 s old at the resume: 7 s left; 20 s old: none.
        assert_eq!(
            quiet_left(Duration::from_secs(5), &P),
            Duration::from_secs(7)
        );
        assert_eq!(quiet_left(Duration::from_secs(20), &P), Duration::ZERO);
        let q = RetryPolicy::for_timeout(Duration::from_secs(30), Duration::from_secs(5));
        assert_eq!(q.quiet, Duration::from_secs(35));
        assert_eq!(q.settle, Duration::from_secs(5));
    }

    #[test]
    fn a_2xx_that_is_not_the_documented_204_is_read_back() {
        assert_eq!(
            after_write(
                &Write::Unconfirmed { status: 200 },
                &tries(1, 0),
                &P,
                1.0,
                true
            ),
            Decision::Check {
                after: Duration::ZERO
            }
        );
    }

    #[test]
    fn waits_beyond_the_bound_are_named_and_absurd_ones_do_not_overflow() {
        assert_eq!(too_long(Some(Duration::from_secs(600)), &P), None);
        assert_eq!(
            too_long(Some(Duration::from_secs(601)), &P),
            Some(Duration::from_secs(601))
        );
        assert_eq!(too_long(None, &P), None);
        let absurd = Write::RateLimited {
            wait: Some(Duration::from_secs(u64::MAX)),
            told_by: Some("Retry-After"),
        };
        // The step waits its backoff; `too_long` is what stops the run.
        assert_eq!(
            after_write(&absurd, &tries(0, 1), &P, 1.0, true),
            Decision::Send {
                after: Duration::from_secs(1)
            }
        );
        assert!(too_long(Some(Duration::from_secs(u64::MAX)), &P).is_some());
    }

    #[test]
    fn any_400_or_409_for_an_address_this_plan_vacated_is_waited_out_whatever_its_key() {
        let tries = |status, key: &str| Tries {
            refused: Some(Refusal {
                status,
                key: Some(key.into()),
                message: format!("HTTP {status} {key}: {{\"key\":\"{key}\"}}"),
            }),
            vacated_by: Some(StepId(4)),
            taken: 1,
            ..Tries::default()
        };
        let read = |t: &Tries| {
            after_check(
                "f0@old.example",
                "f0@new.example",
                &Read::Email("f0@old.example".into()),
                t,
                &P,
                1.0,
            )
        };
        for (status, key) in [
            (400, "fieldConstraintsViolated"),
            (409, "conflict"),
            (400, "x"),
        ] {
            assert_eq!(
                read(&tries(status, key)),
                Decision::Send {
                    after: Duration::from_secs(1)
                },
                "{status} {key}"
            );
        }
        // A 403 is about the account, not the address: it stands, with the API's own words.
        match read(&tries(403, "forbidden.targetUnverified")) {
            Decision::Fail { key, message, .. } => {
                assert_eq!(key.as_deref(), Some("forbidden.targetUnverified"));
                assert!(
                    message.contains("HTTP 403 forbidden.targetUnverified"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(may_be_lag(400, Some("anything")) && may_be_lag(409, None));
        assert!(may_be_lag(403, Some(TAKEN)) && !may_be_lag(403, Some("forbidden")));
    }

    #[test]
    fn taken_for_an_address_this_plan_vacated_is_waited_out_then_blamed_on_the_lag() {
        let refusal = Refusal {
            status: 400,
            key: Some(TAKEN.into()),
            message: "held".into(),
        };
        let t = |taken| Tries {
            refused: Some(refusal.clone()),
            vacated_by: Some(StepId(4)),
            taken,
            ..Tries::default()
        };
        let read = |t: &Tries| {
            after_check(
                "f0@old.example",
                "f0@new.example",
                &Read::Email("f0@old.example".into()),
                t,
                &P,
                1.0,
            )
        };
        // 1 s doubling, whatever the policy's base, for taken_retries (2) tries.
        assert_eq!(
            read(&t(1)),
            Decision::Send {
                after: Duration::from_secs(1)
            }
        );
        assert_eq!(
            read(&t(2)),
            Decision::Send {
                after: Duration::from_secs(2)
            }
        );
        match read(&t(3)) {
            Decision::Fail { key, message, .. } => {
                assert_eq!(key.as_deref(), Some(TAKEN));
                assert!(
                    message.contains(
                        "still refused after 3 tries, although this plan vacated it (step 4)"
                    ) && message.ends_with("The API's last answer: held"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
        // Not vacated by the plan: held outside, at once.
        let outside = Tries {
            vacated_by: None,
            ..t(1)
        };
        assert!(matches!(
            read(&outside),
            Decision::Fail { message, .. } if message.contains("outside this org")
        ));
    }

    #[test]
    fn giving_up_counts_writes_and_failed_reads_apart() {
        let t = Tries {
            writes: 1,
            transient: 3,
            failed_reads: 2,
            last_problem: Some((Some(503), "HTTP 503".into())),
            ..Tries::default()
        };
        match after_check(
            "a@x.example",
            "b@x.example",
            &Read::Email("a@x.example".into()),
            &t,
            &P,
            1.0,
        ) {
            Decision::Fail { message, .. } => assert_eq!(
                message,
                "gave up after 1 write and 2 reads of the account that failed: HTTP 503"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_settle_read_passes_the_planned_address_and_names_any_other() {
        let t = Tries::default();
        let earlier = ["b_old@x.example", "a_MOVING@x.example"];
        let settle =
            |read: &Read, t: &Tries| after_settle("b@x.example", &earlier, read, t, &P, 1.0);
        assert_eq!(
            settle(&Read::Email("B@x.example".into()), &t),
            Settled::Fine
        );
        // An earlier address of the group: perhaps a read lagging behind; read again, from a
        // fifth of the settle time (2 s here) doubling, up to STALE_READS times.
        let moving = Read::Email("a_MOVING@x.example".into());
        assert_eq!(
            settle(&moving, &t),
            Settled::Again {
                after: Duration::from_millis(400)
            }
        );
        let lagged = |n| Tries {
            stale_reads: n,
            ..Tries::default()
        };
        assert_eq!(
            settle(&moving, &lagged(2)),
            Settled::Again {
                after: Duration::from_millis(1600)
            }
        );
        assert!(matches!(
            settle(&Read::Email("else@x.example".into()), &t),
            Settled::Wrong {
                key: "lateWrite",
                ..
            }
        ));
        match settle(&moving, &lagged(STALE_READS)) {
            Settled::Wrong { key, message } => {
                assert_eq!(key, "lateWrite");
                assert!(
                    message.contains("has a_MOVING@x.example, not b@x.example"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
        let lost = Read::Transient {
            status: Some(502),
            detail: "502".into(),
        };
        assert!(matches!(settle(&lost, &t), Settled::Again { .. }));
        let worn = Tries {
            failed_reads: 3,
            ..Tries::default()
        };
        assert!(matches!(
            settle(&lost, &worn),
            Settled::Wrong {
                key: "outcomeUnknown",
                ..
            }
        ));
    }
}
