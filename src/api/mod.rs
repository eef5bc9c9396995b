//! The Atlassian admin API: `classify` (pure, in `mailshift-core`) reads an answer; `client`
//! sends the requests (reqwest, no redirects).

mod client;
mod proxy;

pub use client::{Answer, ApiKey, Client, ClientConfig, ClientError, path_segment};
pub use mailshift_core::api::*;
