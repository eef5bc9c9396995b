//! How to reach the admin API (`--api-url`, the key, `--org-id`), shared by the commands that
//! send requests.

use super::{ConfigError, Sources, check_api_url, read_key_file};
use crate::api::{ApiKey, ClientConfig};
use crate::cli::ApiArgs;
use std::time::Duration;

pub const DEFAULT_API_URL: &str = "https://api.atlassian.com";

/// How to reach the admin API: the URL, the key and the org.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub client: ClientConfig,
    pub org_id: Option<String>,
}

impl ApiConfig {
    /// The key from `--api-key-file` or `ATLASSIAN_API_KEY` (never argv), the URL from
    /// `--api-url` or `MAILSHIFT_API_URL`, the org from `--org-id` or `ATLASSIAN_ORG_ID`.
    pub fn from_arguments(
        args: &ApiArgs,
        pool_size: usize,
        sources: Sources,
    ) -> Result<ApiConfig, ConfigError> {
        let env = sources.var;
        let key = match &args.api_key_file {
            Some(path) => {
                if let Some(warning) = crate::private_file::key_loose_warning(path) {
                    crate::terminal::caution!("{warning}");
                }
                read_key_file(path, sources.read)?
            }
            None => env("ATLASSIAN_API_KEY")
                .map(|k| k.trim().to_owned())
                .filter(|k| !k.is_empty())
                .ok_or(ConfigError::NoApiKey)?,
        };
        let url = args
            .api_url
            .clone()
            .or_else(|| env("MAILSHIFT_API_URL").filter(|u| !u.trim().is_empty()))
            .unwrap_or_else(|| DEFAULT_API_URL.to_owned());
        check_api_url(&url)?;
        Ok(ApiConfig {
            client: ClientConfig {
                base_url: url,
                key: ApiKey::new(key),
                connect_timeout: Duration::from_secs(args.connect_timeout_secs.max(1)),
                request_timeout: Duration::from_secs(args.timeout_secs.max(1)),
                pool_size,
            },
            org_id: args
                .org_id
                .clone()
                .or_else(|| env("ATLASSIAN_ORG_ID"))
                .map(|o| o.trim().to_owned())
                .filter(|o| !o.is_empty()),
        })
    }
}
