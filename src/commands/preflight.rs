//! Pre-flight: what `plan` (given an org) and `apply` (before its first write) ask the live org
//! before anything is written: which domains are verified, and whether the key may set each
//! account's email. Reads are paced by `--rate`, run `--concurrency` at once, and shown with a
//! progress bar (hidden when standard error is not a terminal).

use super::reading::Session;
use crate::error::Error;
use crate::journal::permission_cache::CacheWriter;
use crate::live::manage::Permission;
use crate::live::reader::LiveError;
use crate::model::domain_key;
use futures_util::stream::{self, StreamExt};
use hashbrown::HashMap;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeSet;
use std::io::IsTerminal;

/// The domain keys the org has verified.
pub(super) fn verified_domains(
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
pub(super) struct Permissions {
    /// Account ID → the API's reason key.
    pub denied: HashMap<String, String>,
    /// Accounts the API does not know (404).
    pub missing: Vec<String>,
}

/// Reads the `email.set` privilege of each account, `concurrency` at a time; accounts in
/// `known` (read on an earlier try) are not read again, and each new read goes to `cache` as it
/// comes. Ctrl-C ends the reads at once: nothing has been written, and the reads made are kept.
pub(super) fn permissions(
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
    let answers = session.block_on(async {
        let reads = stream::iter(&to_read)
            .map(|id| async move {
                let answer = reader.email_set(id).await;
                (*id, answer)
            })
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
            .collect::<Vec<(&String, Result<Permission, LiveError>)>>();
        tokio::select! {
            answers = reads => Some(answers),
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
        }
    }
    found.missing.sort();
    Ok(found)
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
/// `None` for an account that no longer exists.
pub(super) fn read_emails(
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
    answers.into_iter().collect()
}

/// Lines of a list printed before "... and N more".
pub(super) const SHOWN: usize = 20;

/// Says how many of `n` lines were not printed.
pub(super) fn more(n: usize) {
    if n > SHOWN {
        crate::terminal::say!("  ... and {} more", n - SHOWN);
    }
}
