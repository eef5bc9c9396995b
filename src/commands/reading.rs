//! The shell around `live::reader` for commands that read the org before or instead of writing:
//! one runtime, one reader, and a spinner that says how far the listing has got (hidden when
//! standard error is not a terminal).

use crate::api::{Client, ClientConfig};
use crate::error::Error;
use crate::exec::retry::RetryPolicy;
use crate::live::page::LiveAccount;
use crate::live::reader::{LiveError, Reader};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// A reader and the runtime it runs on.
pub struct Session {
    pub reader: Reader,
    pub runtime: tokio::runtime::Runtime,
}

impl Session {
    pub fn new(client: &ClientConfig, rate: f64, policy: RetryPolicy) -> Result<Session, Error> {
        let client = Client::new(client)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Error::Runtime)?;
        Ok(Session {
            reader: Reader::new(client, rate, policy),
            runtime,
        })
    }

    /// Every managed account of the org, with a spinner while the pages come.
    pub fn list_users(&self, org_id: &str) -> Result<Vec<LiveAccount>, LiveError> {
        let bar = spinner();
        let listed = self
            .runtime
            .block_on(self.reader.list_users(org_id, &mut |n| {
                bar.set_message(format!("reading the org's users: {n}"));
            }));
        bar.finish_and_clear();
        listed
    }
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
pub fn listing(
    session: &Session,
    org_id: &str,
) -> Result<hashbrown::HashMap<String, Option<String>>, LiveError> {
    Ok(crate::live::org::emails_by_id(session.list_users(org_id)?))
}
