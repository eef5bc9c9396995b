//! Reads the live org — the users listing, every page, and single profiles — in the key's one
//! pace (`exec::pace`: the `--rate` ceiling and what the server's answers teach), retried after
//! 5xx answers and lost connections. The only part of `live` that touches the network.

use super::manage::{Domain, Permission, parse_domains_page, parse_email_set};
use super::page::{LiveAccount, Progress, next_url, parse_users_page};
use crate::api::{Client, Got, classify_get, path_segment, rate_info};
use mailshift_core::exec::pace::{Pacer, Signal};
use mailshift_core::exec::retry::{RetryPolicy, after_429, backoff, too_long};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

/// Why the live org could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The key was refused: nothing can be read or written with it.
    #[error(
        "{what}: the API key was refused (401): check ATLASSIAN_API_KEY or --api-key-file, and that the key has not expired; nothing was changed"
    )]
    Unauthorized { what: String },
    /// A read of the user management API (`/users/{id}/manage...`) answered 403. Any key
    /// without scopes may make these reads; an org API key created *with* scopes is answered
    /// 403 by that API on every call, so this is almost always such a key.
    #[error(
        "{what}: {message}: the user management API refuses this API key. It refuses an org API key created with scopes on every call: create the API key without scopes (admin.atlassian.com > Settings > API keys > Create API key) and use that one; nothing was changed"
    )]
    ScopedKey { what: String, message: String },
    /// The very first request found nothing answering at the API's address: a wrong
    /// `--api-url` or port, or no network, which waiting will not mend.
    #[error(
        "{what}: {detail}: nothing answers at {base}; check --api-url (or MAILSHIFT_API_URL) and the network; nothing was changed"
    )]
    CannotConnect {
        what: String,
        base: String,
        detail: String,
    },
    /// An error answer that asking again will not change (a wrong org ID, say).
    #[error("{what}: HTTP {status}: {message}")]
    Refused {
        what: String,
        status: u16,
        message: String,
    },
    /// No usable answer after every attempt.
    #[error("{what}: no answer after {attempts} attempts: {detail}")]
    GaveUp {
        what: String,
        attempts: u32,
        detail: String,
    },
    /// An answer that is not what the API documents.
    #[error("{what}: the answer cannot be read: {detail}")]
    BadAnswer { what: String, detail: String },
    /// The server asked to wait longer than the run will.
    #[error(
        "{what}: the API asked to wait {wait} ({told_by}), longer than --max-wait {bound}; nothing was changed. Run again later (or raise --max-wait)"
    )]
    WaitTooLong {
        what: String,
        wait: String,
        told_by: &'static str,
        bound: String,
    },
    /// The org listing needs the org's ID.
    #[error(
        "no org ID: give --org-id or set ATLASSIAN_ORG_ID (admin.atlassian.com shows it in the URL and under Settings > API keys)"
    )]
    NoOrgId,
}

/// One page of a listing: its items, the link to the next page, and the total it announces.
type Page<T> = (Vec<T>, Option<String>, Option<u64>);
/// Reads one page's body, or says what is wrong with it.
type ParsePage<T> = dyn Fn(&[u8]) -> Result<Page<T>, String>;

pub struct Reader {
    client: Client,
    policy: RetryPolicy,
    reads: AtomicU64,
    /// Of those, reads of the user management API (`{base}/users/...`): what pre-flight's
    /// permission reads count while the org's listing goes beside them.
    user_reads: AtomicU64,
    /// Some request has been answered: the URL is right, so a connection refused later is a
    /// passing fault worth retrying, where one before any answer is a wrong address.
    answered: AtomicBool,
    /// The key's pace, learnt from every answer, shared by the reads under way (a 429 pauses
    /// them all: a limiter that counts refused requests never refills under a herd) and handed
    /// to `apply`'s executor afterwards (`pace`), so that one process has one pace per key.
    pace: Mutex<Pacer>,
    /// Reads wait for their slot one after another, first come first served: a lone read (the
    /// next page of a listing) beside a herd of others (pre-flight's permission reads) would
    /// otherwise lose every slot to whichever of the herd the runtime wakes first.
    queue: tokio::sync::Mutex<()>,
    start: Instant,
}

impl Reader {
    /// `rate`: the most requests per second, as for `apply`.
    pub fn new(client: Client, rate: f64, policy: RetryPolicy) -> Reader {
        Reader {
            client,
            policy,
            reads: AtomicU64::new(0),
            user_reads: AtomicU64::new(0),
            answered: AtomicBool::new(false),
            pace: Mutex::new(Pacer::new(rate)),
            queue: tokio::sync::Mutex::new(()),
            start: Instant::now(),
        }
    }

    /// The pace as the reads have left it, with its clock starting now: for the executor.
    pub fn pace(&self) -> Pacer {
        self.pacer().clone().rebased(self.start.elapsed())
    }

    fn pacer(&self) -> MutexGuard<'_, Pacer> {
        self.pace
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits for this read's slot in the key's pace.
    async fn turn(&self) {
        let _first_come = self.queue.lock().await;
        loop {
            let now = self.start.elapsed();
            let at = {
                let mut pacer = self.pacer();
                let at = pacer.ready_at(now);
                if at <= now {
                    pacer.book(now);
                    return;
                }
                at
            };
            // While a probe is out (`at` is then `MAX`) another read's answer decides: look
            // again soon.
            let at = if at == Duration::MAX {
                now + Duration::from_millis(20)
            } else {
                at
            };
            let until = self.start.checked_add(at).unwrap_or_else(Instant::now);
            tokio::time::sleep_until(until.into()).await;
        }
    }

    fn observe(&self, sent_at: Duration, signal: Signal) {
        let now = self.start.elapsed();
        self.pacer().observe(now, sent_at, signal);
    }

    /// Requests sent so far, retries included.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// Of those, the user management API's (permissions, profiles, SCIM links).
    pub fn user_reads(&self) -> u64 {
        self.user_reads.load(Ordering::Relaxed)
    }

    /// Every managed account of the org, page after page; `on_page` hears the running count.
    pub async fn list_users(
        &self,
        org_id: &str,
        on_page: &mut dyn FnMut(usize),
    ) -> Result<Vec<LiveAccount>, LiveError> {
        let parse = |body: &[u8]| parse_users_page(body).map(|p| (p.accounts, p.next, p.total));
        let key = |a: &LiveAccount| a.account_id.clone();
        self.pages(org_id, "users", "the org's users", &parse, &key, on_page)
            .await
    }

    /// Every domain the org has claimed, with its claim status.
    pub async fn list_domains(&self, org_id: &str) -> Result<Vec<Domain>, LiveError> {
        let parse = |body: &[u8]| parse_domains_page(body).map(|(d, next)| (d, next, None));
        let key = |d: &Domain| d.name.clone();
        self.pages(
            org_id,
            "domains",
            "the org's domains",
            &parse,
            &key,
            &mut |_| {},
        )
        .await
    }

    /// Whether the key may set this account's email (`GET /users/{id}/manage`).
    pub async fn email_set(&self, account_id: &str) -> Result<Permission, LiveError> {
        let url = format!(
            "{}/users/{}/manage",
            self.client.base(),
            path_segment(account_id)
        );
        let what = || format!("reading the permissions on account {account_id}");
        Ok(self
            .get(&url, &what, &parse_email_set)
            .await?
            .unwrap_or(Permission::NoAccount))
    }

    /// `GET /admin/v1/orgs/{org}/{listing}`, every page, each parsed by `parse`.
    async fn pages<T>(
        &self,
        org_id: &str,
        listing: &str,
        title: &str,
        parse: &ParsePage<T>,
        key: &dyn Fn(&T) -> String,
        on_page: &mut dyn FnMut(usize),
    ) -> Result<Vec<T>, LiveError> {
        let first = format!(
            "{}/admin/v1/orgs/{}/{listing}",
            self.client.base(),
            path_segment(org_id)
        );
        let mut url = first.clone();
        let mut seen = std::collections::HashSet::new();
        let mut progress = Progress::default();
        let mut items = Vec::new();
        for page_number in 1.. {
            let what = || format!("reading {title} (page {page_number})");
            let (page, next, total) =
                self.get(&url, &what, parse)
                    .await?
                    .ok_or_else(|| LiveError::Refused {
                        what: what(),
                        status: 404,
                        message: format!("no organization {org_id:?} for this key; check --org-id"),
                    })?;
            let empty = page.is_empty();
            let keys: Vec<String> = page.iter().map(key).collect();
            progress
                .page(keys.iter().map(String::as_str), total)
                .map_err(|detail| LiveError::BadAnswer {
                    what: what(),
                    detail,
                })?;
            items.extend(page);
            on_page(items.len());
            match next {
                // A next link on an empty page would loop for ever.
                Some(next) if !empty => {
                    seen.insert(url);
                    url = next_url(self.client.base(), &first, &next).map_err(|detail| {
                        LiveError::BadAnswer {
                            what: what(),
                            detail,
                        }
                    })?;
                    // A listing whose links go round would otherwise be read for ever.
                    if seen.contains(&url) {
                        return Err(LiveError::BadAnswer {
                            what: what(),
                            detail: "the next-page link leads back to a page already read".into(),
                        });
                    }
                }
                _ => break,
            }
        }
        Ok(items)
    }

    /// One account's email from its profile; `None` when the account does not exist (404).
    pub async fn read_email(&self, account_id: &str) -> Result<Option<String>, LiveError> {
        let url = format!(
            "{}/users/{}/manage/profile",
            self.client.base(),
            path_segment(account_id)
        );
        let what = || format!("reading account {account_id}");
        let parse = |body: &[u8]| {
            let value: serde_json::Value =
                serde_json::from_slice(body).map_err(|e| e.to_string())?;
            match value.pointer("/account/email").and_then(|e| e.as_str()) {
                Some(email) => Ok(email.to_owned()),
                None => Err("the profile has no email".to_owned()),
            }
        };
        self.get(&url, &what, &parse).await
    }

    /// A GET whose 2xx body `parse` reads, retried as `apply` retries reads; `None` for a 404.
    /// A body that cannot be read (cut short, not JSON) is a transient failure like a 5xx: a
    /// proxy or a dropped connection can spoil one answer without the next being spoilt.
    async fn get<T>(
        &self,
        url: &str,
        what: &dyn Fn() -> String,
        parse: &dyn Fn(&[u8]) -> Result<T, String>,
    ) -> Result<Option<T>, LiveError> {
        let mut failures = 0u32;
        let mut limited = 0u32;
        loop {
            self.turn().await;
            self.reads.fetch_add(1, Ordering::Relaxed);
            if self.is_user_management(url) {
                self.user_reads.fetch_add(1, Ordering::Relaxed);
            }
            let sent_at = self.start.elapsed();
            let got = self.client.get(url).await;
            let (wait, detail) = match got {
                Err(lost) if lost.never_sent && !self.answered.load(Ordering::Relaxed) => {
                    return Err(LiveError::CannotConnect {
                        what: what(),
                        base: self.client.base().to_owned(),
                        detail: lost.detail,
                    });
                }
                Err(lost) => {
                    self.observe(sent_at, Signal::Lost);
                    (None, lost.detail)
                }
                Ok((status, headers, body)) => {
                    self.answered.store(true, Ordering::Relaxed);
                    let got = classify_get(status, &headers, &body, SystemTime::now());
                    // What the pace learns: a 429 below (with its wait), a 5xx nothing, any
                    // other answer that the server took the request.
                    match got {
                        Got::RateLimited { .. } => {}
                        Got::Transient { .. } => self.observe(sent_at, Signal::Lost),
                        _ => {
                            let info = rate_info(&headers);
                            let remaining = info.remaining;
                            let limit = info.limit;
                            self.observe(sent_at, Signal::Answered { remaining, limit });
                        }
                    }
                    match got {
                        Got::Body(body) => match parse(body) {
                            Ok(value) => return Ok(Some(value)),
                            Err(detail) => (None, format!("the answer cannot be read: {detail}")),
                        },
                        Got::NotFound => return Ok(None),
                        Got::Unauthorized { .. } => {
                            return Err(LiveError::Unauthorized { what: what() });
                        }
                        Got::RateLimited { wait, told_by } => {
                            limited += 1;
                            if limited > self.policy.max_rate_limited {
                                return Err(LiveError::GaveUp {
                                    what: what(),
                                    attempts: failures + limited,
                                    detail: "rate limited (429) every time".into(),
                                });
                            }
                            self.bound(wait, told_by, what)?;
                            // The pace pauses every request of the key, and learns from it;
                            // this read backs off as a step's request would (`after_429`).
                            self.observe(sent_at, Signal::Limited { wait, told_by });
                            let jitter = rand::random_range(0.7..1.3);
                            let pause = after_429(wait, limited, &self.policy, jitter);
                            tokio::time::sleep(pause).await;
                            continue;
                        }
                        Got::Transient {
                            status,
                            wait,
                            told_by,
                        } => {
                            self.bound(wait, told_by, what)?;
                            (wait, format!("HTTP {status}"))
                        }
                        Got::Other {
                            status, message, ..
                        } => {
                            return Err(if status == 403 && self.is_user_management(url) {
                                LiveError::ScopedKey {
                                    what: what(),
                                    message,
                                }
                            } else {
                                LiveError::Refused {
                                    what: what(),
                                    status,
                                    message,
                                }
                            });
                        }
                    }
                }
            };
            failures += 1;
            if failures >= self.policy.max_attempts {
                return Err(LiveError::GaveUp {
                    what: what(),
                    attempts: failures + limited,
                    detail,
                });
            }
            let jitter = rand::random_range(0.7..1.3);
            tokio::time::sleep(wait.unwrap_or_else(|| backoff(&self.policy, failures, jitter)))
                .await;
        }
    }

    /// A URL of the user management API (`{base}/users/...`), as opposed to the Organizations
    /// API (`{base}/admin/...`), which accepts scoped keys.
    fn is_user_management(&self, url: &str) -> bool {
        url.strip_prefix(self.client.base())
            .is_some_and(|path| path.starts_with("/users/"))
    }

    /// A wait the server asks for beyond `--max-wait` ends the read instead.
    fn bound(
        &self,
        wait: Option<Duration>,
        told_by: Option<&'static str>,
        what: &dyn Fn() -> String,
    ) -> Result<(), LiveError> {
        match too_long(wait, &self.policy) {
            Some(wait) => Err(LiveError::WaitTooLong {
                what: what(),
                wait: crate::words::span(wait),
                told_by: told_by.unwrap_or("Retry-After"),
                bound: crate::words::span(self.policy.max_wait),
            }),
            None => Ok(()),
        }
    }
}
