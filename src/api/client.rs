//! Sends the requests `apply` makes, over one pooled, keep-alive HTTPS client, and returns
//! their classified answers. Transport failures are classified here, since only the client
//! can tell a request that never left from one whose answer was lost.

use mailshift_core::api::{
    RateInfo, Read, Write, classify_links, classify_read, classify_write, rate_info,
};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use std::fmt;
use std::time::{Duration, SystemTime};

/// The org API key. Never printed: its `Debug` hides it, and it is only ever put in a header
/// marked sensitive.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: String) -> ApiKey {
        ApiKey(key)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(hidden)")
    }
}

#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `https://api.atlassian.com`, or a loopback `http://` URL (the simulator).
    pub base_url: String,
    pub key: ApiKey,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub pool_size: usize,
}

/// Why the client cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The key cannot go in an HTTP header (control characters, say).
    #[error("the API key contains characters that cannot be sent in an HTTP header")]
    BadKey,
    /// The TLS or connection pool set-up failed.
    #[error("cannot set up the HTTP client: {0}")]
    Build(#[source] reqwest::Error),
    /// The https proxy the environment names cannot be used.
    #[error("{var}: cannot use the proxy {shown}: {source}")]
    Proxy {
        var: &'static str,
        shown: String,
        #[source]
        source: reqwest::Error,
    },
}

/// The proxy is said once per process, however many clients are made.
static PROXY_SAID: std::sync::Once = std::sync::Once::new();

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    auth: HeaderValue,
}

impl Client {
    pub fn new(config: &ClientConfig) -> Result<Client, ClientError> {
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", config.key.0))
            .map_err(|_| ClientError::BadKey)?;
        auth.set_sensitive(true);
        // The environment's proxies are not taken as they are (reqwest would send a loopback
        // or plain-http URL, key and all, through HTTP_PROXY): only an https proxy for an https
        // API, chosen here.
        let mut builder = reqwest::Client::builder().no_proxy();
        if let Some((var, url)) =
            super::proxy::for_base(&config.base_url, &|n| std::env::var(n).ok())
        {
            let shown = super::proxy::shown(&url);
            let proxy = reqwest::Proxy::https(&url)
                .map_err(|source| ClientError::Proxy {
                    var,
                    shown: shown.clone(),
                    source,
                })?
                .no_proxy(reqwest::NoProxy::from_env());
            builder = builder.proxy(proxy);
            PROXY_SAID.call_once(|| {
                crate::terminal::say!(
                    "mailshift: requests to {} go through the proxy {shown} ({var})",
                    config.base_url
                );
            });
        }
        let http = builder
            .user_agent(concat!("mailshift/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .pool_max_idle_per_host(config.pool_size)
            // A redirect would carry the key and the account to wherever `Location` points,
            // over plain http too; a 3xx is answered as an error instead (`classify`).
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(ClientError::Build)?;
        Ok(Client {
            http,
            base: config.base_url.trim_end_matches('/').to_owned(),
            auth,
        })
    }

    /// The base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET` of a URL the caller built from `base()` (or checked to be under it, since the key
    /// goes with it). The error is why no answer came.
    pub async fn get(&self, url: &str) -> Result<Answer, Unanswered> {
        let sent = self
            .http
            .get(url)
            .header(AUTHORIZATION, self.auth.clone())
            .send()
            .await;
        answer(sent).await.map_err(|lost| Unanswered {
            never_sent: lost.never_sent,
            detail: lost.detail,
        })
    }

    /// `POST` of a JSON body that reads (a search), to a URL the caller built from `base()`.
    /// The error is why no answer came.
    pub async fn post_read(
        &self,
        url: &str,
        body: &serde_json::Value,
    ) -> Result<Answer, Unanswered> {
        let sent = self
            .http
            .post(url)
            .header(AUTHORIZATION, self.auth.clone())
            .json(body)
            .send()
            .await;
        answer(sent).await.map_err(|lost| Unanswered {
            never_sent: lost.never_sent,
            detail: lost.detail,
        })
    }

    /// `PUT /users/{account_id}/manage/email`.
    pub async fn set_email(&self, account_id: &str, email: &str) -> (Write, RateInfo) {
        let url = format!(
            "{}/users/{}/manage/email",
            self.base,
            path_segment(account_id)
        );
        let request = self
            .http
            .put(url)
            .json(&serde_json::json!({ "email": email }));
        self.write(request).await
    }

    /// `DELETE /admin/user-provisioning/v1/org/{org}/user/{account_id}/onlyDeleteUserInDB`:
    /// unlinks the account from every SCIM directory of the org; its email stays.
    pub async fn unlink_scim(&self, org_id: &str, account_id: &str) -> (Write, RateInfo) {
        let url = format!(
            "{}/admin/user-provisioning/v1/org/{}/user/{}/onlyDeleteUserInDB",
            self.base,
            path_segment(org_id),
            path_segment(account_id)
        );
        self.write(self.http.delete(url)).await
    }

    /// `GET .../user/{account_id}/get-scim-links`: whether an unlink has taken effect.
    pub async fn scim_linked(&self, org_id: &str, account_id: &str) -> (Read, RateInfo) {
        let url = format!(
            "{}/admin/user-provisioning/v1/org/{}/user/{}/get-scim-links",
            self.base,
            path_segment(org_id),
            path_segment(account_id)
        );
        self.read(&url, classify_links).await
    }

    async fn write(&self, request: reqwest::RequestBuilder) -> (Write, RateInfo) {
        let sent = request
            .header(AUTHORIZATION, self.auth.clone())
            .send()
            .await;
        match answer(sent).await {
            Ok((status, headers, body)) => (
                classify_write(status, &headers, &body, SystemTime::now()),
                rate_info(&headers),
            ),
            Err(lost) => (
                Write::Transient {
                    status: None,
                    wait: None,
                    maybe_applied: !lost.never_sent,
                    detail: lost.detail,
                },
                RateInfo::default(),
            ),
        }
    }

    /// `GET /users/{account_id}/manage/profile`, for the account's current email.
    pub async fn read_email(&self, account_id: &str) -> (Read, RateInfo) {
        let url = format!(
            "{}/users/{}/manage/profile",
            self.base,
            path_segment(account_id)
        );
        self.read(&url, classify_read).await
    }

    /// A GET whose answer `classify` reads; no answer at all is transient.
    async fn read(
        &self,
        url: &str,
        classify: fn(u16, &reqwest::header::HeaderMap, &[u8], SystemTime) -> Read,
    ) -> (Read, RateInfo) {
        match self.get(url).await {
            Ok((status, headers, body)) => (
                classify(status, &headers, &body, SystemTime::now()),
                rate_info(&headers),
            ),
            Err(lost) => (
                Read::Transient {
                    status: None,
                    detail: lost.detail,
                },
                RateInfo::default(),
            ),
        }
    }
}

/// A whole answer: status, headers and body.
pub type Answer = (u16, reqwest::header::HeaderMap, bytes::Bytes);

/// Why a read has no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unanswered {
    /// The connection could not be made (nothing listens there, or it is unreachable).
    pub never_sent: bool,
    pub detail: String,
}

struct Lost {
    /// The connection could not be made, so the request cannot have reached the server.
    never_sent: bool,
    detail: String,
}

/// The whole answer, or why there is none. A body that breaks off counts as no answer: the
/// status line alone does not prove the server finished the request.
async fn answer(
    sent: Result<reqwest::Response, reqwest::Error>,
) -> Result<(u16, reqwest::header::HeaderMap, bytes::Bytes), Lost> {
    let lost = |e: reqwest::Error| Lost {
        never_sent: e.is_connect(),
        detail: if e.is_timeout() {
            "no answer before the timeout".to_owned()
        } else if e.is_connect() {
            format!("cannot connect: {}", e.without_url())
        } else {
            format!("the connection was lost: {}", e.without_url())
        },
    };
    let mut response = sent.map_err(lost)?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let too_big = || Lost {
        never_sent: false,
        detail: format!(
            "the answer's body is larger than {} MiB; not read",
            MAX_BODY >> 20
        ),
    };
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BODY as u64)
    {
        return Err(too_big());
    }
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(lost)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, headers, body.freeze()))
}

/// The largest answer read: a page of 100 accounts is about 30 KB, an error a few hundred
/// bytes. A server that sends more is not read into memory whole.
const MAX_BODY: usize = 8 << 20;

/// An account ID as one path segment: the API's IDs are `[a-zA-Z0-9_|:-]`, and anything else is
/// percent-encoded so that no ID can reach another path.
pub fn path_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'-') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_cannot_escape_their_segment() {
        assert_eq!(path_segment("712020:5b10a284-4c20"), "712020:5b10a284-4c20");
        assert_eq!(path_segment("../admin"), "%2E%2E%2Fadmin");
        assert_eq!(path_segment("a|b c"), "a%7Cb%20c");
    }

    #[test]
    fn the_key_never_shows_in_debug_output() {
        let config = ClientConfig {
            base_url: "http://127.0.0.1:1".into(),
            key: ApiKey::new("secret-123".into()),
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(1),
            pool_size: 1,
        };
        assert!(!format!("{config:?}").contains("secret-123"));
    }
}
