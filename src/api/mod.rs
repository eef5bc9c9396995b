//! The Atlassian admin API as mailshift uses it: `classify` turns an answer (status, headers,
//! body) into a plain value, with no I/O; `client` sends the requests.

mod classify;
mod client;

pub use classify::{
    DOCUMENTED_SUCCESS, Got, REDIRECT, RateInfo, Read, TAKEN, Write, api_error, classify_get,
    classify_links, classify_read, classify_write, rate_info, redirected, wait_hint,
};
pub use client::{Answer, ApiKey, Client, ClientConfig, ClientError, path_segment};
