//! When a read of the live org (a listing page, a permission, a profile) is sent again, given
//! up, or ends the command; and which refusals concern one account only. Pure: the live reader
//! sends, classifies, asks here, and sleeps.

use super::{RetryPolicy, after_429, backoff, too_long};
use crate::api::{Got, INSUFFICIENT_SCOPE};

/// The documented key of a 403 for an account whose email is unverified (AX-220).
const UNVERIFIED: &str = "forbidden.targetUnverified";
use std::time::Duration;

/// What came of one GET that did not give the caller its value.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched<'a> {
    /// The server answered; a 2xx is for the caller to read first (`AfterGet::Read`).
    Answered(Got<'a>),
    /// A 2xx whose body the caller could not read (cut short, not JSON): a proxy or a dropped
    /// connection can spoil one answer without the next being spoilt.
    Unreadable(String),
    /// No answer. `nothing_answers`: the request never reached the server and nothing has
    /// answered at this address yet, so the address is wrong, not the network passing.
    Lost {
        detail: String,
        nothing_answers: bool,
    },
}

/// The tries a read has made so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GetTries {
    /// Answers that were no answer (5xx, unreadable, lost).
    pub failures: u32,
    /// 429s.
    pub limited: u32,
}

/// What one read does next.
#[derive(Debug, Clone, PartialEq)]
pub enum AfterGet {
    /// A 2xx: read its body.
    Read,
    /// 404: the account (or org) is not there.
    NotFound,
    /// Ask again after this long.
    Again(Duration),
    /// The API refuses this one account (a 403 about it, not about the key): final for this
    /// read; the command goes on with the other accounts.
    AccountRefused {
        status: u16,
        key: Option<String>,
        message: String,
    },
    /// Final, and for the whole command.
    Stop(GetStop),
}

/// Why a read ends the command.
#[derive(Debug, Clone, PartialEq)]
pub enum GetStop {
    /// 401.
    Unauthorized,
    /// The key was created with scopes; the user management API refuses such keys.
    ScopedKey { message: String },
    /// Nothing answers at the API's address.
    CannotConnect { detail: String },
    /// An answer asking again will not change, not about one account (a wrong org ID, say).
    Refused { status: u16, message: String },
    /// No usable answer after every attempt.
    GaveUp { attempts: u32, detail: String },
    /// The server asked to wait longer than `--max-wait`.
    WaitTooLong {
        wait: Duration,
        told_by: &'static str,
    },
}

/// The one rule for reads. `one_account`: the read is about one account (`/users/{id}/...`),
/// so that a 403 other than a scope refusal is that account's, not the key's. `jitter` in
/// 0.7..1.3 spreads the waits of reads that failed together.
pub fn after_get(
    fetched: &Fetched<'_>,
    one_account: bool,
    tries: &mut GetTries,
    policy: &RetryPolicy,
    jitter: f64,
) -> AfterGet {
    let (wait, detail) = match fetched {
        Fetched::Answered(got) => match got {
            Got::Body(_) => return AfterGet::Read,
            Got::NotFound => return AfterGet::NotFound,
            Got::Unauthorized { .. } => return AfterGet::Stop(GetStop::Unauthorized),
            Got::RateLimited { wait, told_by } => {
                tries.limited += 1;
                if tries.limited > policy.max_rate_limited {
                    return AfterGet::Stop(GetStop::GaveUp {
                        attempts: tries.failures + tries.limited,
                        detail: "rate limited (429) every time".into(),
                    });
                }
                if let Some(stop) = bounded(*wait, *told_by, policy) {
                    return stop;
                }
                return AfterGet::Again(after_429(*wait, tries.limited, policy, jitter));
            }
            Got::Transient {
                status,
                wait,
                told_by,
            } => {
                if let Some(stop) = bounded(*wait, *told_by, policy) {
                    return stop;
                }
                (*wait, format!("HTTP {status}"))
            }
            Got::Other {
                status,
                key,
                message,
            } => return refused(*status, key.as_deref(), message, one_account),
        },
        Fetched::Unreadable(detail) => (None, format!("the answer cannot be read: {detail}")),
        Fetched::Lost {
            detail,
            nothing_answers: true,
        } => {
            return AfterGet::Stop(GetStop::CannotConnect {
                detail: detail.clone(),
            });
        }
        Fetched::Lost { detail, .. } => (None, detail.clone()),
    };
    tries.failures += 1;
    if tries.failures >= policy.max_attempts {
        return AfterGet::Stop(GetStop::GaveUp {
            attempts: tries.failures + tries.limited,
            detail,
        });
    }
    AfterGet::Again(wait.unwrap_or_else(|| backoff(policy, tries.failures, jitter)))
}

/// A final answer: a scope refusal stops the command, any other 403 about one account is that
/// account's, the rest (a redirect, a 400, a 403 of the Organizations API) stops the command.
fn refused(status: u16, key: Option<&str>, message: &str, one_account: bool) -> AfterGet {
    if key == Some(INSUFFICIENT_SCOPE) {
        return AfterGet::Stop(GetStop::ScopedKey {
            message: message.to_owned(),
        });
    }
    if status == 403 && one_account {
        return AfterGet::AccountRefused {
            status,
            key: key.map(str::to_owned),
            message: message.to_owned(),
        };
    }
    AfterGet::Stop(GetStop::Refused {
        status,
        message: message.to_owned(),
    })
}

fn bounded(
    wait: Option<Duration>,
    told_by: Option<&'static str>,
    policy: &RetryPolicy,
) -> Option<AfterGet> {
    too_long(wait, policy).map(|wait| {
        AfterGet::Stop(GetStop::WaitTooLong {
            wait,
            told_by: told_by.unwrap_or("Retry-After"),
        })
    })
}

/// How many of the first reads of a pre-flight decide whether refusals are the key's.
pub const FIRST_READS: usize = 10;

/// Whether the first reads' refusals blame the key: every one of the first [`FIRST_READS`]
/// answers (at least three of them) is a 403 with the same key or the same lack of one, as no
/// org's accounts would be alike. `first`: each answer's refusal key (`None` for an answer
/// that was no refusal). An unverified email is the one refusal documented as the account's
/// own that many accounts of one org may share, so it never blames the key.
pub fn key_refused(first: &[Option<Option<&str>>]) -> bool {
    let Some(Some(key)) = first.first() else {
        return false;
    };
    first.len() >= 3 && *key != Some(UNVERIFIED) && first.iter().all(|k| k.as_ref() == Some(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Got;

    const P: RetryPolicy = RetryPolicy {
        max_attempts: 3,
        ..super::super::tests::P
    };

    fn other(status: u16, key: Option<&str>) -> Fetched<'static> {
        Fetched::Answered(Got::Other {
            status,
            key: key.map(str::to_owned),
            message: "m".into(),
        })
    }

    #[test]
    fn a_403_about_one_account_is_that_accounts_and_a_scope_refusal_the_keys() {
        let mut t = GetTries::default();
        for key in [Some("forbidden.targetUnverified"), Some("forbidden"), None] {
            assert!(
                matches!(
                    after_get(&other(403, key), true, &mut t, &P, 1.0),
                    AfterGet::AccountRefused { status: 403, .. }
                ),
                "{key:?}"
            );
        }
        assert!(matches!(
            after_get(&other(403, Some(INSUFFICIENT_SCOPE)), true, &mut t, &P, 1.0),
            AfterGet::Stop(GetStop::ScopedKey { .. })
        ));
        // The org's listing refused is no account's refusal.
        assert!(matches!(
            after_get(&other(403, Some("forbidden")), false, &mut t, &P, 1.0),
            AfterGet::Stop(GetStop::Refused { status: 403, .. })
        ));
        assert!(matches!(
            after_get(&other(400, None), true, &mut t, &P, 1.0),
            AfterGet::Stop(GetStop::Refused { status: 400, .. })
        ));
        assert_eq!(t, GetTries::default(), "final answers are no tries");
    }

    #[test]
    fn failures_are_asked_again_until_the_attempts_run_out() {
        let mut t = GetTries::default();
        let lost = Fetched::Lost {
            detail: "reset".into(),
            nothing_answers: false,
        };
        let five = Fetched::Answered(Got::Transient {
            status: 503,
            wait: Some(Duration::from_secs(2)),
            told_by: Some("Retry-After"),
        });
        assert_eq!(
            after_get(&lost, false, &mut t, &P, 1.0),
            AfterGet::Again(backoff(&P, 1, 1.0))
        );
        assert_eq!(
            after_get(&five, false, &mut t, &P, 1.0),
            AfterGet::Again(Duration::from_secs(2))
        );
        assert_eq!(
            after_get(&Fetched::Unreadable("eof".into()), false, &mut t, &P, 1.0),
            AfterGet::Stop(GetStop::GaveUp {
                attempts: 3,
                detail: "the answer cannot be read: eof".into()
            })
        );
        // Before anything has answered, a connection that fails is a wrong address.
        let never = Fetched::Lost {
            detail: "refused".into(),
            nothing_answers: true,
        };
        assert!(matches!(
            after_get(&never, false, &mut GetTries::default(), &P, 1.0),
            AfterGet::Stop(GetStop::CannotConnect { .. })
        ));
    }

    #[test]
    fn a_429_waits_as_a_steps_would_and_a_long_wait_stops() {
        let mut t = GetTries::default();
        let limited = |secs| {
            Fetched::Answered(Got::RateLimited {
                wait: Some(Duration::from_secs(secs)),
                told_by: Some("Retry-After"),
            })
        };
        assert_eq!(
            after_get(&limited(3), false, &mut t, &P, 1.0),
            AfterGet::Again(after_429(Some(Duration::from_secs(3)), 1, &P, 1.0))
        );
        assert_eq!(t.limited, 1);
        assert_eq!(
            after_get(&limited(86_400), false, &mut t, &P, 1.0),
            AfterGet::Stop(GetStop::WaitTooLong {
                wait: Duration::from_secs(86_400),
                told_by: "Retry-After"
            })
        );
        let mut t = GetTries {
            failures: 0,
            limited: P.max_rate_limited,
        };
        assert!(matches!(
            after_get(&limited(1), false, &mut t, &P, 1.0),
            AfterGet::Stop(GetStop::GaveUp { .. })
        ));
    }

    #[test]
    fn the_key_is_blamed_only_when_the_first_reads_are_all_refused_alike() {
        let f = Some(Some("forbidden"));
        assert!(key_refused(&[f, f, f]));
        assert!(
            key_refused(&[Some(None), Some(None), Some(None)]),
            "Spring-style, no key"
        );
        assert!(!key_refused(&[f, f]), "two accounts may be alike");
        assert!(!key_refused(&[f, f, None]), "one account was read");
        assert!(!key_refused(&[f, Some(Some("other"))]));
        let unverified = Some(Some("forbidden.targetUnverified"));
        assert!(!key_refused(&[unverified, unverified, unverified]));
        assert!(!key_refused(&[]));
    }
}
