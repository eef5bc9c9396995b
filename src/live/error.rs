//! Why the live org could not be read, in words an admin acts on.

use mailshift_core::exec::retry::GetStop;
use std::time::Duration;

/// Why the live org could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The key was refused: nothing can be read or written with it.
    #[error(
        "{what}: the API key was refused (401): check ATLASSIAN_API_KEY or --api-key-file, and that the key has not expired; nothing was changed"
    )]
    Unauthorized { what: String },
    /// The user management API refuses the key: it said the key's scopes are insufficient
    /// (AX-631), or it refused every one of the first accounts read alike. Any key without
    /// scopes may make these reads; an org API key created *with* scopes is refused on every
    /// call.
    #[error(
        "{what}: {message}: the user management API refuses this API key. It refuses an org API key created with scopes on every call: create the API key without scopes (admin.atlassian.com > Settings > API keys > Create API key) and use that one; nothing was changed"
    )]
    ScopedKey { what: String, message: String },
    /// The API refuses this one account (a 403 about it: unverified, not managed by this org,
    /// or a key nobody documented, given raw): the command goes on with the others.
    #[error("{what}: {message}")]
    AccountRefused {
        what: String,
        account_id: String,
        key: Option<String>,
        message: String,
    },
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

impl LiveError {
    /// The error a read's stop makes, naming the read.
    pub(super) fn of_stop(
        stop: GetStop,
        what: String,
        base: &str,
        max_wait: Duration,
    ) -> LiveError {
        match stop {
            GetStop::Unauthorized => LiveError::Unauthorized { what },
            GetStop::ScopedKey { message } => LiveError::ScopedKey { what, message },
            GetStop::CannotConnect { detail } => LiveError::CannotConnect {
                what,
                base: base.to_owned(),
                detail,
            },
            GetStop::Refused { status, message } => LiveError::Refused {
                what,
                status,
                message,
            },
            GetStop::GaveUp { attempts, detail } => LiveError::GaveUp {
                what,
                attempts,
                detail,
            },
            GetStop::WaitTooLong { wait, told_by } => LiveError::WaitTooLong {
                what,
                wait: crate::words::span(wait),
                told_by,
                bound: crate::words::span(max_wait),
            },
        }
    }
}
