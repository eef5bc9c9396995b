//! Reads the live org — listings (`listing`, `search`), permissions and profiles — in the key's one pace
//! (`exec::pace`: the `--rate` ceiling and what the server's answers teach). When a read is
//! asked again, given up or ends the command is `exec::retry::after_get`'s to say; this is the
//! only part of `live` that touches the network.

pub use super::error::LiveError;
use crate::api::{Client, classify_get, rate_info};
use mailshift_core::exec::pace::{Pacer, heard_get};
use mailshift_core::exec::retry::{AfterGet, Fetched, GetTries, RetryPolicy, after_get};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

/// What one read found.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer<T> {
    Value(T),
    /// 404.
    NotFound,
    /// A 403 about this one account (the request was for `/users/{id}/...`).
    Refused {
        key: Option<String>,
        message: String,
    },
}

pub struct Reader {
    pub(super) client: Client,
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
    pub(super) pace: Mutex<Pacer>,
    /// Reads wait for their slot one after another, first come first served: a lone read (the
    /// next page of a listing) beside a herd of others (pre-flight's permission reads) would
    /// otherwise lose every slot to whichever of the herd the runtime wakes first.
    pub(super) queue: tokio::sync::Mutex<()>,
    pub(super) start: Instant,
    /// Why the v2 directory search is not used (its first answer), once refused: the v1
    /// listing is read instead, and v2 is not asked again.
    pub(super) v2_refused: Mutex<Option<String>>,
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
            v2_refused: Mutex::new(None),
        }
    }

    /// Requests sent so far, retries included.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// Of those, the user management API's (permissions, profiles, SCIM links).
    pub fn user_reads(&self) -> u64 {
        self.user_reads.load(Ordering::Relaxed)
    }

    /// A GET whose 2xx body `parse` reads: turn, send, classify, decide, sleep.
    pub(super) async fn get<T>(
        &self,
        url: &str,
        what: &dyn Fn() -> String,
        parse: &dyn Fn(&[u8]) -> Result<T, String>,
    ) -> Result<Answer<T>, LiveError> {
        self.fetch(url, None, what, parse).await
    }

    /// A read sent as a POST of `body` (a search), under the same rule as a GET.
    pub(super) async fn post_read<T>(
        &self,
        url: &str,
        body: &serde_json::Value,
        what: &dyn Fn() -> String,
        parse: &dyn Fn(&[u8]) -> Result<T, String>,
    ) -> Result<Answer<T>, LiveError> {
        self.fetch(url, Some(body), what, parse).await
    }

    async fn fetch<T>(
        &self,
        url: &str,
        body: Option<&serde_json::Value>,
        what: &dyn Fn() -> String,
        parse: &dyn Fn(&[u8]) -> Result<T, String>,
    ) -> Result<Answer<T>, LiveError> {
        let one_account = url
            .strip_prefix(self.client.base())
            .is_some_and(|path| path.starts_with("/users/"));
        let mut tries = GetTries::default();
        loop {
            self.turn().await;
            self.reads.fetch_add(1, Ordering::Relaxed);
            if one_account {
                self.user_reads.fetch_add(1, Ordering::Relaxed);
            }
            let sent_at = self.start.elapsed();
            let got = match body {
                None => self.client.get(url).await,
                Some(body) => self.client.post_read(url, body).await,
            };
            let answered = got.is_ok();
            let nothing_answers = !self.answered.fetch_or(answered, Ordering::Relaxed);
            let (body, after) = match &got {
                Err(lost) => {
                    self.hear(sent_at, heard_get(None));
                    let fetched = Fetched::Lost {
                        detail: lost.detail.clone(),
                        nothing_answers: nothing_answers && lost.never_sent,
                    };
                    (None, self.decide(&fetched, one_account, &mut tries))
                }
                Ok((status, headers, body)) => {
                    let answer = classify_get(*status, headers, body, SystemTime::now());
                    self.hear(sent_at, heard_get(Some((&answer, rate_info(headers)))));
                    let fetched = Fetched::Answered(answer);
                    (Some(body), self.decide(&fetched, one_account, &mut tries))
                }
            };
            let wait = match after {
                AfterGet::Read => match parse(body.map_or(&[][..], |b| &b[..])) {
                    Ok(value) => return Ok(Answer::Value(value)),
                    Err(detail) => {
                        match self.decide(&Fetched::Unreadable(detail), one_account, &mut tries) {
                            AfterGet::Again(wait) => wait,
                            other => return self.end(other, what),
                        }
                    }
                },
                AfterGet::Again(wait) => wait,
                other => return self.end(other, what),
            };
            tokio::time::sleep(wait).await;
        }
    }

    fn decide(&self, fetched: &Fetched<'_>, one_account: bool, tries: &mut GetTries) -> AfterGet {
        after_get(
            fetched,
            one_account,
            tries,
            &self.policy,
            rand::random_range(0.7..1.3),
        )
    }

    /// A read's last answer, as the caller takes it.
    fn end<T>(&self, after: AfterGet, what: &dyn Fn() -> String) -> Result<Answer<T>, LiveError> {
        match after {
            AfterGet::NotFound => Ok(Answer::NotFound),
            AfterGet::AccountRefused { key, message, .. } => Ok(Answer::Refused { key, message }),
            AfterGet::Stop(stop) => Err(LiveError::of_stop(
                stop,
                what(),
                self.client.base(),
                self.policy.max_wait,
            )),
            // `get` handles these before it ends.
            AfterGet::Read | AfterGet::Again(_) => Err(LiveError::BadAnswer {
                what: what(),
                detail: "the read ended without an answer".into(),
            }),
        }
    }
}
