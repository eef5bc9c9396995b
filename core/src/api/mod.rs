//! The Atlassian admin API as mailshift uses it: `classify` turns an answer (status, headers,
//! body) into a plain value, with no I/O; the binary's `mailshift::api` client sends the requests.

mod classify;

pub use classify::{
    DOCUMENTED_SUCCESS, Got, INSUFFICIENT_SCOPE, REDIRECT, RateInfo, Read, TAKEN, Write,
    account_refusal, api_error, classify_get, classify_links, classify_read, classify_write,
    rate_info, redirected, wait_hint,
};
