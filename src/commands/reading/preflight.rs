//! Pre-flight: what `plan` (given an org) and `apply` (before its first write) ask the live org
//! before anything is written: which domains are verified, and whether the key may set each
//! account's email. Reads are paced by `--rate`, run `--concurrency` at once, and shown with a
//! progress bar (hidden when standard error is not a terminal).

use super::Session;
use crate::error::Error;
use crate::journal::permission_cache::CacheWriter;
use crate::live::manage::Permission;
use crate::live::reader::LiveError;
use crate::model::domain_key;
use futures_util::stream::{self, StreamExt};
use hashbrown::HashMap;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mailshift_core::exec::retry::{FIRST_READS, key_refused};
use mailshift_core::live::settle::Settled;
use mailshift_core::plan::access::SYNCED;
use std::collections::BTreeSet;
use std::io::IsTerminal;

/// The domain keys the org has verified.
pub(in crate::commands) fn verified_domains(
    session: &Session,
    org_id: &str,
) -> Result<BTreeSet<String>, LiveError> {
    let domains = session
        .runtime
        .block_on(session.reader.list_domains(org_id))?;
    Ok(domains
        .iter()
        .filter(|d| d.verified())
        .map(|d| domain_key(&d.name))
        .collect())
}

/// What `GET /users/{id}/manage` said of the accounts that are not allowed.
#[derive(Debug, Default)]
pub(in crate::commands) struct Permissions {
    /// Account ID → the API's reason key.
    pub denied: HashMap<String, String>,
    /// Accounts the API does not know (404).
    pub missing: Vec<String>,
    /// Accounts the API refuses on their own (a 403 about the account: its email unverified,
    /// not managed by this org, or a key nobody documented), with the answer in words.
    pub refused: std::collections::BTreeMap<String, String>,
}

/// How far pre-flight trusts the listing's word.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(in crate::commands) enum Trust {
    /// Only "writable" is taken from the listing; every other account is read, so that the
    /// plan holds the API's own answer (its reason key, or its 403 in words) whichever listing
    /// the org's API serves: a plan is the same from the v2 search as from the v1 listing.
    Writable,
    /// Also IdP-synced (denied, `SYNCED`) and refused accounts: `apply`'s first run, which
    /// refuses a run with denied accounts and lets a refused account's steps fail on their own.
    All,
}

/// What the session's last listing (the v2 directory search) settles of `ids`, and the
/// accounts it leaves to a permission read.
pub(in crate::commands) fn from_listing(
    session: &Session,
    ids: &[String],
    trust: Trust,
) -> (Permissions, Vec<String>) {
    let mut settled = Permissions::default();
    let mut unsettled = Vec::new();
    for id in ids {
        match (session.settled(id), trust) {
            (Settled::Writable, _) => {}
            (Settled::IdpOwned, Trust::All) => {
                settled.denied.insert(id.clone(), SYNCED.to_owned());
            }
            (Settled::Refused(why), Trust::All) => {
                settled.refused.insert(id.clone(), why);
            }
            _ => unsettled.push(id.clone()),
        }
    }
    // The user management API may refuse a key the Organizations API took (a key created with
    // scopes, AX-631): one read says so before any write, where none would leave it to the
    // first writes.
    if unsettled.is_empty()
        && let Some(first) = ids.first()
    {
        unsettled.push(first.clone());
    }
    (settled, unsettled)
}

impl Permissions {
    /// Adds what another source found (the listing, then the reads).
    pub(in crate::commands) fn merge(&mut self, other: Permissions) {
        self.denied.extend(other.denied);
        self.missing.extend(other.missing);
        self.refused.extend(other.refused);
    }
}

/// Says how many accounts the listing settled, and why the rest are read.
pub(in crate::commands) fn say_settled(total: usize, to_read: usize) {
    if to_read < total {
        crate::terminal::note!(
            "Pre-flight: the org's directory listing settled who may be written for {} of {}; {} read one by one (those it does not settle, and at least one, which checks the key).",
            total - to_read,
            total,
            crate::words::counted(to_read as u64, "account is", "accounts are"),
        );
    }
}

/// Reads the `email.set` privilege of each account, `concurrency` at a time; accounts in
/// `known` (read on an earlier try) are not read again, and each new read goes to `cache` as it
/// comes. Ctrl-C ends the reads at once: nothing has been written, and the reads made are kept.
pub(in crate::commands) fn permissions(
    session: &Session,
    ids: &[String],
    concurrency: usize,
    known: &HashMap<String, Permission>,
    mut cache: Option<&mut CacheWriter>,
) -> Result<Permissions, Error> {
    let to_read: Vec<&String> = ids.iter().filter(|id| !known.contains_key(*id)).collect();
    let bar = bar(to_read.len() as u64);
    let reader = &session.reader;
    let mut done = 0usize;
    let mut cache_failed = None;
    // The first reads alone, then the rest: if the first all refuse alike, the key is refused,
    // and thousands more reads would only say so again.
    let (head, tail) = to_read.split_at(to_read.len().min(FIRST_READS));
    let answers = session.block_on(async {
        let work = async {
            let mut all: Vec<(&String, Result<Permission, LiveError>)> = Vec::new();
            for part in [head, tail] {
                let answers: Vec<_> = stream::iter(part)
                    .map(|id| async move { (*id, reader.email_set(id).await) })
                    .buffer_unordered(concurrency.max(1))
                    .inspect(|(id, answer)| {
                        bar.inc(1);
                        done += 1;
                        if let (Some(cache), Ok(p)) = (cache.as_deref_mut(), answer)
                            && let Err(e) = cache.add(id, p, std::time::SystemTime::now())
                        {
                            cache_failed.get_or_insert(e);
                        }
                    })
                    .collect()
                    .await;
                all.extend(answers);
                if let Some(refusal) = key_refusal(&all) {
                    return Err(refusal);
                }
                // A read that ended the command (the key refused, the API gone) ends the reads.
                if all.iter().any(|(_, answer)| answer.is_err()) {
                    break;
                }
            }
            Ok(all)
        };
        tokio::select! {
            answers = work => Some(answers),
            _ = tokio::signal::ctrl_c() => None,
        }
    });
    bar.finish_and_clear();
    if let Some(e) = cache_failed {
        crate::terminal::caution!(
            "the permission reads could not all be kept for the next try: {e}"
        );
    }
    let Some(answers) = answers else {
        return Err(Error::PreflightInterrupted {
            read: done,
            total: to_read.len(),
            kept: cache.is_some(),
        });
    };
    let answers = answers?;
    let mut found = Permissions::default();
    let remembered = ids
        .iter()
        .filter_map(|id| known.get(id).map(|p| (id, Ok(p.clone()))));
    for (id, answer) in answers.into_iter().chain(remembered) {
        match answer? {
            Permission::Allowed => {}
            Permission::Denied(key) => {
                found.denied.insert(id.clone(), key);
            }
            Permission::NoAccount => found.missing.push(id.clone()),
            Permission::Refused { message, .. } => {
                found.refused.insert(id.clone(), message);
            }
        }
    }
    found.missing.sort();
    Ok(found)
}

/// The key's refusal, if the first reads all refused alike (`retry::key_refused`).
fn key_refusal(answers: &[(&String, Result<Permission, LiveError>)]) -> Option<LiveError> {
    if answers.len() > FIRST_READS {
        return None;
    }
    let keys: Vec<Option<Option<&str>>> = answers
        .iter()
        .map(|(_, a)| match a {
            Ok(Permission::Refused { key, .. }) => Some(key.as_deref()),
            _ => None,
        })
        .collect();
    if !key_refused(&keys) {
        return None;
    }
    let message = match &answers.first()?.1 {
        Ok(Permission::Refused { message, .. }) => message.clone(),
        _ => return None,
    };
    Some(LiveError::ScopedKey {
        what: format!(
            "reading the permissions on the first {} accounts",
            answers.len()
        ),
        message: format!("every one was refused alike ({message})"),
    })
}

fn bar(len: u64) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(len), target);
    if let Ok(style) = ProgressStyle::with_template(
        "checking who may be written {bar:30} {pos}/{len} accounts, {per_sec}, {eta} left",
    ) {
        bar.set_style(style);
    }
    bar
}

/// The emails of accounts the listing hides, read from their profiles, `concurrency` at a time;
/// `None` for an account that no longer exists. An account the API refuses on its own is left
/// out (its email stays unknown) and named on standard error.
pub(in crate::commands) fn read_emails(
    session: &Session,
    ids: &[String],
    concurrency: usize,
) -> Result<Vec<(String, Option<String>)>, LiveError> {
    let reader = &session.reader;
    let answers: Vec<Result<(String, Option<String>), LiveError>> = session.block_on(async {
        stream::iter(ids)
            .map(|id| async move { reader.read_email(id).await.map(|e| (id.clone(), e)) })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await
    });
    let mut read = Vec::with_capacity(answers.len());
    for answer in answers {
        match answer {
            Ok(found) => read.push(found),
            Err(refused @ LiveError::AccountRefused { .. }) => {
                crate::terminal::caution!("{refused}; its email stays unknown");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(read)
}

/// Lines of a list printed before "... and N more".
pub(in crate::commands) const SHOWN: usize = 20;

/// Says how many of `n` lines were not printed.
pub(in crate::commands) fn more(n: usize) {
    if n > SHOWN {
        crate::terminal::say!("  ... and {} more", n - SHOWN);
    }
}
