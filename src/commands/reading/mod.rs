//! The shell around `live::reader` for commands that read the org before or instead of writing:
//! one runtime, one reader, a listing that may start early (beside other reads, in the same
//! pace), and a spinner that says how far the listing has got (hidden when standard error is not
//! a terminal). What `apply`, `plan`, `verify` and `rollback` share before their first request:
//! the session, and `preflight` (who may be written, from the listing or one read each).

pub(super) mod preflight;

use crate::api::{Client, ClientConfig};
use crate::error::Error;
use crate::exec::retry::RetryPolicy;
use crate::live::page::{Directory, LiveAccount};
use crate::live::reader::{LiveError, Reader};
use crate::live::settle::{Settled, settle};
use futures_util::{StreamExt, stream};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mailshift_core::live::search::EMAILS_PER_SEARCH;
use std::cell::RefCell;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// The org's users and the pages read for them.
type Listed = Result<(Vec<LiveAccount>, u64), LiveError>;

/// A listing started early, which ends with when its last page came.
type EarlyListing = JoinHandle<(Listed, Instant)>;

/// A reader and the runtime it runs on.
pub(super) struct Session {
    pub reader: Arc<Reader>,
    pub runtime: tokio::runtime::Runtime,
    /// Tasks started early run here, whenever `block_on` runs anything.
    local: tokio::task::LocalSet,
    /// The users listing of an org, started early (`start_listing`): it runs whenever the
    /// runtime does, so beside the reads that come before it is wanted.
    early: RefCell<Option<(String, EarlyListing)>>,
    /// When the last listing (or search by address) had its last answer: how old what it
    /// says is, at best, when the first write is due (`listing_ended`).
    ended: std::cell::Cell<Option<Instant>>,
    /// The v1 fallback has been said (once per command).
    said_v1: std::cell::Cell<bool>,
    /// A listing read ahead for pre-flight (`settle_listing`), for the next `listed` to take.
    kept: RefCell<Option<(String, Vec<LiveAccount>, u64)>>,
    /// Searches by address under way at once: the client's connections (`--concurrency`).
    in_flight: usize,
    /// What the last v2 listing said of each account, by ID, for pre-flight (`directory`).
    directory: RefCell<hashbrown::HashMap<String, Directory>>,
}

impl Session {
    pub(super) fn new(
        client: &ClientConfig,
        rate: f64,
        policy: RetryPolicy,
    ) -> Result<Session, Error> {
        let in_flight = client.pool_size.max(1);
        let client = Client::new(client)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Error::Runtime)?;
        Ok(Session {
            in_flight,
            reader: Arc::new(Reader::new(client, rate, policy)),
            runtime,
            local: tokio::task::LocalSet::new(),
            early: RefCell::new(None),
            ended: std::cell::Cell::new(None),
            said_v1: std::cell::Cell::new(false),
            kept: RefCell::new(None),
            directory: RefCell::new(hashbrown::HashMap::new()),
        })
    }

    /// Runs `future` to its end, and with it whatever was started early.
    pub(super) fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.local.block_on(&self.runtime, future)
    }

    /// Starts reading the org's users now, for `listed` to take later: its pages are read one
    /// after another (each names the next), so beside other reads they cost no time of their own.
    pub(super) fn start_listing(&self, org_id: &str) {
        let reader = Arc::clone(&self.reader);
        let org = org_id.to_owned();
        let task = self.local.spawn_local(async move {
            let mut pages = 0u64;
            let listed = reader.list_users(&org, &mut |_| pages += 1).await;
            (listed.map(|accounts| (accounts, pages)), Instant::now())
        });
        if let Some((_, earlier)) = self.early.replace(Some((org_id.to_owned(), task))) {
            earlier.abort();
        }
    }

    /// Every managed account of the org, with a spinner while the pages come.
    pub(super) fn list_users(&self, org_id: &str) -> Result<Vec<LiveAccount>, LiveError> {
        self.listed(org_id).map(|(accounts, _)| accounts)
    }

    /// Every managed account of the org and the pages read for them: the listing started early
    /// for this org if there is one, else one read now.
    pub(super) fn listed(&self, org_id: &str) -> Listed {
        if let Some((org, accounts, pages)) = self.kept.take()
            && org == org_id
        {
            return Ok((accounts, pages));
        }
        let bar = spinner();
        bar.set_message("reading the org's users");
        let early = match self.early.take() {
            Some((org, task)) if org == org_id => Some(task),
            Some((_, task)) => {
                task.abort();
                None
            }
            None => None,
        };
        let (listed, ended) = if let Some(task) = early {
            self.block_on(task).unwrap_or_else(|e| {
                let stopped = Err(LiveError::BadAnswer {
                    what: "reading the org's users".into(),
                    detail: format!("the listing stopped: {e}"),
                });
                (stopped, Instant::now())
            })
        } else {
            let mut pages = 0u64;
            let listed = self
                .block_on(self.reader.list_users(org_id, &mut |n| {
                    pages += 1;
                    bar.set_message(format!("reading the org's users: {n}"));
                }))
                .map(|accounts| (accounts, pages));
            (listed, Instant::now())
        };
        bar.finish_and_clear();
        self.ended.set(Some(ended));
        if let Ok((accounts, _)) = &listed {
            *self.directory.borrow_mut() = accounts
                .iter()
                .filter_map(|a| Some((a.account_id.clone(), a.directory.clone()?)))
                .collect();
        }
        if let Some(why) = self.reader.v2_refused()
            && !self.said_v1.replace(true)
        {
            crate::terminal::note!(
                "The org's users were read through the v1 listing: the v2 directory search answered {}.",
                mailshift_core::inert::terminal(&why)
            );
        }
        listed
    }
}

impl Session {
    /// Reads the org's users now (or takes the listing started early) so that pre-flight can
    /// settle accounts from it (`settled`); the next `listed` takes this same listing.
    pub(super) fn settle_listing(&self, org_id: &str) -> Result<(), LiveError> {
        let (accounts, pages) = self.listed(org_id)?;
        self.kept
            .replace(Some((org_id.to_owned(), accounts, pages)));
        Ok(())
    }

    /// For a run that touches few accounts: the accounts holding `emails` (their expected
    /// addresses), by the v2 search, 100 a request, kept as the listing the next `listed` takes,
    /// where the whole listing would cost more pages. Accounts not found there are read one by
    /// one by whoever compares (the drift check). `false`: the org has no v2 search; nothing
    /// is kept, and the whole listing is read as before.
    pub(super) fn sized_listing(&self, org_id: &str, emails: &[&str]) -> Result<bool, LiveError> {
        let Some((accounts, requests)) = self.search_by_address(org_id, emails)? else {
            return Ok(false);
        };
        self.ended.set(Some(Instant::now()));
        *self.directory.borrow_mut() = accounts
            .iter()
            .filter_map(|a| Some((a.account_id.clone(), a.directory.clone()?)))
            .collect();
        self.kept
            .replace(Some((org_id.to_owned(), accounts, requests)));
        Ok(true)
    }

    /// The accounts holding `emails`, by the v2 search's `emails` filter, 100 addresses a
    /// request, with the requests made; `None` where the org has no v2 search. Unlike the
    /// listing's pages, each search stands alone: after the first (which finds out whether the
    /// org has the search at all), they go as many at once as the client's connections, in the
    /// reader's one pace, so that their time is the pace's, not one latency each.
    pub(super) fn search_by_address(
        &self,
        org_id: &str,
        emails: &[&str],
    ) -> Result<Option<(Vec<LiveAccount>, u64)>, LiveError> {
        let chunks: Vec<&[&str]> = emails.chunks(EMAILS_PER_SEARCH).collect();
        let Some((first, rest)) = chunks.split_first() else {
            return Ok(Some((Vec::new(), 0)));
        };
        let reader = &*self.reader;
        let Some(mut accounts) = self.block_on(search(reader, org_id, first))? else {
            return Ok(None);
        };
        let complete = self.block_on(async {
            // In order, so that what is kept reads as the searches were asked; the first
            // error or refusal ends them, and the searches still under way are dropped.
            let mut found = stream::iter(rest)
                .map(|chunk| search(reader, org_id, chunk))
                .buffered(self.in_flight);
            while let Some(answer) = found.next().await {
                match answer? {
                    Some(more) => accounts.extend(more),
                    None => return Ok::<bool, LiveError>(false),
                }
            }
            Ok(true)
        })?;
        Ok(complete.then_some((accounts, chunks.len() as u64)))
    }

    /// When the last listing, or search by address, had its last answer; `None` before one.
    /// A look read again at once is as old by its end as this one was at its end: only the time
    /// since, not the time the listing took, makes a second look worth its pages.
    pub(super) fn listing_ended(&self) -> Option<Instant> {
        self.ended.get()
    }

    /// The account's groups as the last listing showed them (`None` after a v1 listing).
    pub(super) fn groups(&self, account_id: &str) -> Option<Vec<String>> {
        self.directory.borrow().get(account_id)?.groups.clone()
    }

    /// What the last listing settles of writing this account (`Unsettled` after a v1 listing).
    pub(super) fn settled(&self, account_id: &str) -> Settled {
        settle(self.directory.borrow().get(account_id))
    }
}

/// One search by address, as `Session::search_by_address` sends them.
async fn search(
    reader: &Reader,
    org_id: &str,
    emails: &[&str],
) -> Result<Option<Vec<LiveAccount>>, LiveError> {
    reader.search_users(org_id, emails, &mut |_| {}).await
}

/// The pages of the listing of an org of `accounts` accounts, 100 a page.
pub(super) fn listing_pages(accounts: u64) -> u64 {
    accounts.div_ceil(100).max(1)
}

/// Whether searching `addresses` by address (100 a request) costs fewer requests than the
/// listing of an org of `org_accounts` accounts. For addresses that may not be held (`verify`'s
/// planned addresses, before the plan is applied), each one missed costs a read of its own, so
/// a tie goes to the listing.
pub(super) fn search_is_cheaper(addresses: usize, org_accounts: u64) -> bool {
    searches(addresses) < listing_pages(org_accounts)
}

/// Whether searching `addresses` by address costs no more requests than the listing: for
/// addresses the accounts hold now (`apply`'s drift check), where a search misses only what
/// drifted. A tie goes to the search, whose requests go at once where the listing's pages go
/// one after another (`search_by_address`).
pub(super) fn search_costs_no_more(addresses: usize, org_accounts: u64) -> bool {
    searches(addresses) <= listing_pages(org_accounts)
}

/// The searches by address `addresses` addresses take, 100 a request.
fn searches(addresses: usize) -> u64 {
    (addresses as u64).div_ceil(EMAILS_PER_SEARCH as u64)
}

fn spinner() -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(None, target);
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Every account's email by ID, from the listing; `None` where the listing hides it.
pub(super) fn listing(
    session: &Session,
    org_id: &str,
) -> Result<(hashbrown::HashMap<String, Option<String>>, u64), LiveError> {
    let (accounts, pages) = session.listed(org_id)?;
    Ok((crate::live::org::emails_by_id(accounts), pages))
}
