//! The Atlassian admin API as mailshift uses it: `classify` turns an answer (status, headers,
//! body) into a plain value, with no I/O; `client` sends the requests.

mod classify;
mod client;

pub use classify::{RateInfo, Read, Write, classify_read, classify_write, rate_info};
pub use client::{ApiKey, Client, ClientConfig, ClientError};
