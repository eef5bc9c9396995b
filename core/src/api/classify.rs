//! What an answer from the admin API means, decided from its status, headers and body alone.
//! Pure: `now` is passed in for the headers that give a point in time.

use http::header::{HeaderMap, RETRY_AFTER};
use serde_json::Value;
use std::time::{Duration, SystemTime};

/// The answer to `PUT /users/{id}/manage/email`.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// The documented success status (204): the change is made.
    Applied { status: u16 },
    /// A 2xx the API does not document for this call (a proxy's 200, say): the server answered,
    /// so nothing is under way, but only a read of the account can tell whether it was applied.
    Unconfirmed { status: u16 },
    /// 429: not applied; wait as told, if told.
    RateLimited {
        wait: Option<Duration>,
        told_by: Option<&'static str>,
    },
    /// A 5xx, a timeout or a lost connection. `maybe_applied` is false only when the request
    /// certainly never reached the server.
    Transient {
        status: Option<u16>,
        wait: Option<Duration>,
        maybe_applied: bool,
        detail: String,
    },
    /// A 4xx other than 401 and 429: final for the step.
    Rejected {
        status: u16,
        key: Option<String>,
        message: String,
    },
    /// 401: the key is refused, so every other request will be too.
    Unauthorized { message: String },
}

/// The answer to `GET /users/{id}/manage/profile` (or, for an unlink, to `get-scim-links`).
#[derive(Debug, Clone, PartialEq)]
pub enum Read {
    Email(String),
    /// Whether the account still has SCIM links.
    Linked(bool),
    NotFound,
    RateLimited {
        wait: Option<Duration>,
        told_by: Option<&'static str>,
    },
    Transient {
        status: Option<u16>,
        detail: String,
    },
    Unauthorized {
        message: String,
    },
    Other {
        status: u16,
        key: Option<String>,
        message: String,
    },
}

/// What the rate-limit headers of any answer say about the budget left.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateInfo {
    pub remaining: Option<u32>,
    pub limit: Option<u32>,
}

pub fn rate_info(headers: &HeaderMap) -> RateInfo {
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u32>().ok())
    };
    RateInfo {
        remaining: number("x-ratelimit-remaining"),
        limit: number("x-ratelimit-limit"),
    }
}

/// The error key of a 3xx answer: mailshift follows no redirect, since the key and the account
/// would go wherever the `Location` points.
pub const REDIRECT: &str = "redirect";

/// What a 3xx answer says, naming where it pointed.
pub fn redirected(status: u16, headers: &HeaderMap) -> String {
    let location = headers
        .get(http::header::LOCATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    format!(
        "the API answered HTTP {status}, a redirect to {}; mailshift follows no redirects (the key and the account would go to another server): check --api-url",
        location.as_deref().unwrap_or("(no Location)")
    )
}

const UNAUTHORIZED: &str = "the API key was refused (401): check ATLASSIAN_API_KEY or --api-key-file, and that the key has not expired";

/// The only status the admin API documents as success for its writes (set email, unlink).
pub const DOCUMENTED_SUCCESS: u16 = 204;

pub fn classify_write(status: u16, headers: &HeaderMap, body: &[u8], now: SystemTime) -> Write {
    match status {
        DOCUMENTED_SUCCESS => Write::Applied { status },
        200..=299 => Write::Unconfirmed { status },
        300..=399 => Write::Rejected {
            status,
            key: Some(REDIRECT.into()),
            message: redirected(status, headers),
        },
        401 => Write::Unauthorized {
            message: UNAUTHORIZED.into(),
        },
        429 => {
            let (wait, told_by) = wait_hint(headers, now);
            Write::RateLimited { wait, told_by }
        }
        500..=599 => Write::Transient {
            status: Some(status),
            wait: wait_hint(headers, now).0,
            maybe_applied: true,
            detail: format!("HTTP {status}"),
        },
        _ => {
            let (key, message) = api_error(status, body);
            Write::Rejected {
                status,
                key,
                message,
            }
        }
    }
}

/// What the answer to any GET means before its body is read: the one reading of a status for
/// the executor's reads (`classify_read`, `classify_links`) and the live reader's listings,
/// permissions and profiles (`live::reader`).
#[derive(Debug, Clone, PartialEq)]
pub enum Got<'a> {
    /// A 2xx: the body is for the caller to read.
    Body(&'a [u8]),
    NotFound,
    Unauthorized {
        message: String,
    },
    RateLimited {
        wait: Option<Duration>,
        told_by: Option<&'static str>,
    },
    /// A 5xx: asking again may help, after the wait the server named, if any.
    Transient {
        status: u16,
        wait: Option<Duration>,
        told_by: Option<&'static str>,
    },
    /// Anything else, final: a redirect (key `redirect`), a 403, a 400.
    Other {
        status: u16,
        key: Option<String>,
        message: String,
    },
}

pub fn classify_get<'a>(
    status: u16,
    headers: &HeaderMap,
    body: &'a [u8],
    now: SystemTime,
) -> Got<'a> {
    match status {
        200..=299 => Got::Body(body),
        300..=399 => Got::Other {
            status,
            key: Some(REDIRECT.into()),
            message: redirected(status, headers),
        },
        401 => Got::Unauthorized {
            message: UNAUTHORIZED.into(),
        },
        404 => Got::NotFound,
        429 => {
            let (wait, told_by) = wait_hint(headers, now);
            Got::RateLimited { wait, told_by }
        }
        500..=599 => {
            let (wait, told_by) = wait_hint(headers, now);
            Got::Transient {
                status,
                wait,
                told_by,
            }
        }
        _ => {
            let (key, message) = api_error(status, body);
            Got::Other {
                status,
                key,
                message,
            }
        }
    }
}

impl Read {
    /// The answer to a read whose 2xx body `body` reads.
    fn of(got: Got<'_>, body: impl FnOnce(&[u8]) -> Read) -> Read {
        match got {
            Got::Body(b) => body(b),
            Got::NotFound => Read::NotFound,
            Got::Unauthorized { message } => Read::Unauthorized { message },
            Got::RateLimited { wait, told_by } => Read::RateLimited { wait, told_by },
            Got::Transient { status, .. } => Read::Transient {
                status: Some(status),
                detail: format!("HTTP {status}"),
            },
            Got::Other {
                status,
                key,
                message,
            } => Read::Other {
                status,
                key,
                message,
            },
        }
    }
}

pub fn classify_read(status: u16, headers: &HeaderMap, body: &[u8], now: SystemTime) -> Read {
    Read::of(classify_get(status, headers, body, now), |body| {
        let email = serde_json::from_slice::<Value>(body).ok().and_then(|v| {
            v.pointer("/account/email")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        match email {
            Some(e) => Read::Email(e),
            None => Read::Transient {
                status: Some(status),
                detail: "the profile has no email".into(),
            },
        }
    })
}

/// The answer to `GET .../user/{id}/get-scim-links`: whether any link is left. A 404 says no
/// link is left too: whether the API answers an account without links `[]` or 404 is not
/// documented, and either way nothing links the account (an account that is gone altogether
/// fails its next step, the free, on its own 404).
pub fn classify_links(status: u16, headers: &HeaderMap, body: &[u8], now: SystemTime) -> Read {
    if status == 404 {
        return Read::Linked(false);
    }
    Read::of(classify_get(status, headers, body, now), |body| {
        let links = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v.get("scimLinks").and_then(Value::as_array).map(Vec::len));
        match links {
            Some(n) => Read::Linked(n > 0),
            None => Read::Transient {
                status: Some(status),
                detail: "the SCIM links answer has no scimLinks".into(),
            },
        }
    })
}

/// How long the server asks to wait: `Retry-After` (seconds or an HTTP date), else
/// `X-RateLimit-Reset` (ISO 8601, perhaps without seconds), else nothing.
pub fn wait_hint(headers: &HeaderMap, now: SystemTime) -> (Option<Duration>, Option<&'static str>) {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(v) = text(RETRY_AFTER.as_str()) {
        if let Ok(secs) = v.parse::<u64>() {
            return (Some(Duration::from_secs(secs)), Some("Retry-After"));
        }
        if let Ok(at) = httpdate::parse_http_date(v) {
            let wait = at.duration_since(now).unwrap_or(Duration::ZERO);
            return (Some(wait), Some("Retry-After"));
        }
    }
    if let Some(at) = text("x-ratelimit-reset").and_then(parse_reset) {
        let wait = at.duration_since(now).unwrap_or(Duration::ZERO);
        return (Some(wait), Some("X-RateLimit-Reset"));
    }
    (None, None)
}

/// `2026-06-05T06:00:12Z`, Jira's `2026-06-05T06:00Z` without seconds, or either with a
/// numeric offset (`2026-12-01T10:01+0000`, `…T11:01:00+01:00`, `…-05:00`).
fn parse_reset(v: &str) -> Option<SystemTime> {
    // The zone starts at `Z` or at a sign after the date's own `-`s (past the `T`).
    let t = v.find(['T', 't', ' '])?;
    let zone_at = t + v[t..].find(['Z', 'z', '+', '-'])?;
    let (local, zone) = v.split_at(zone_at);
    let local = if local.len() - t == 6 {
        format!("{local}:00")
    } else {
        local.to_owned()
    };
    let at = humantime::parse_rfc3339_weak(&local).ok()?;
    match zone.as_bytes().first()? {
        b'Z' | b'z' if zone.len() == 1 => Some(at),
        sign @ (b'+' | b'-') => {
            let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let hours: u64 = digits[..2].parse().ok()?;
            let minutes: u64 = digits[2..].parse().ok()?;
            let offset = Duration::from_secs(hours * 3600 + minutes * 60);
            // Local time ahead of UTC by `+offset`: UTC is the local time less it.
            if *sign == b'+' {
                at.checked_sub(offset)
            } else {
                at.checked_add(offset)
            }
        }
        _ => None,
    }
}

/// The one key mailshift uses for "the address is held by another account", whatever the API
/// called it.
pub const TAKEN: &str = "email.taken";

/// Whether an error body says the address is taken: a `key` of `email.taken` or
/// `email.alreadyTaken` (or any `*.taken`/`*Taken`) anywhere in it, or SCIM's
/// `"scimType": "uniqueness"`.
fn is_taken(v: &Value) -> bool {
    match v {
        Value::Object(map) => map.iter().any(|(name, value)| {
            // An error key, not a file name: the lint's worry does not apply.
            #[allow(clippy::case_sensitive_file_extension_comparisons)]
            let says = |text: &str| {
                let t = text.to_ascii_lowercase();
                t.ends_with(".taken") || t.ends_with("alreadytaken")
            };
            match (name.as_str(), value) {
                ("key" | "code" | "errorKey", Value::String(k)) if says(k) => true,
                ("scimType", Value::String(k)) if k == "uniqueness" => true,
                _ => is_taken(value),
            }
        }),
        Value::Array(items) => items.iter().any(is_taken),
        _ => false,
    }
}

/// The key mailshift gives a refusal of the key's scopes, whatever the body called it (AX-631:
/// `key` `forbidden.insufficientScope`, `errorKey` `forbidden.insufficient-scope`, or a
/// `context.acceptableScopes` list).
pub const INSUFFICIENT_SCOPE: &str = "forbidden.insufficientScope";

/// Keys Atlassian documents for a 403 that concerns one account, not the key, with what to do.
pub fn account_refusal(key: &str) -> Option<&'static str> {
    match key {
        "forbidden.targetUnverified" => Some(
            "the account's email address is unverified, and the API changes no unverified account: have its owner verify it (resend the verification email) or claim the account, then try again",
        ),
        "forbidden" => Some(
            "this org does not manage the account: claim its domain (or the account) in admin.atlassian.com, then try again",
        ),
        _ => None,
    }
}

/// The body as sent, for a message that must show an answer nobody documented: at most 300
/// characters of it, whitespace folded.
fn raw_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let folded: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match folded.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &folded[..cut]),
        None => folded,
    }
}

/// The error's key and a sentence for people, from any of the API's error dialects. A key
/// nobody documented is given with the raw body, so that the first real run says what the API
/// really answers.
pub fn api_error(status: u16, body: &[u8]) -> (Option<String>, String) {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return if body.is_empty() {
            (None, format!("HTTP {status}"))
        } else {
            (None, format!("HTTP {status}: {}", raw_body(body)))
        };
    };
    let s = |p: &str| v.pointer(p).and_then(Value::as_str);
    if s("/key") == Some(INSUFFICIENT_SCOPE)
        || s("/errorKey") == Some("forbidden.insufficient-scope")
        || v.pointer("/context/acceptableScopes").is_some()
    {
        return (
            Some(INSUFFICIENT_SCOPE.to_owned()),
            format!(
                "HTTP {status} {INSUFFICIENT_SCOPE}: {} (the key was created with scopes)",
                s("/context/message").unwrap_or("insufficient scope")
            ),
        );
    }
    // "Taken" is named differently by different calls and may sit at any depth.
    if is_taken(&v) {
        return (
            Some(TAKEN.to_owned()),
            "the address is held by another account the plan did not know about (outside the export or the org, unverified, or being deleted)".to_owned(),
        );
    }
    // User management: {"key": ..., "context": ...}; a field violation names the real cause.
    if let Some(key) = s("/key") {
        let violation = v
            .pointer("/context/fieldViolations/0/violations/0/key")
            .and_then(Value::as_str);
        let reason = s("/context/reason/key");
        let key = violation.or(reason).unwrap_or(key);
        let message = match key {
            "forbidden.unclaimedDomain" => format!(
                "the target's domain {} is not a verified domain of the org",
                s("/context/domain").unwrap_or("(not named)")
            ),
            "externalDirectory.scim" => {
                "the account's email is managed by the identity provider (SCIM): change it there"
                    .to_owned()
            }
            "accountNotFound" => "no such account".to_owned(),
            other => match account_refusal(other) {
                Some(words) => format!("HTTP {status} {other}: {words}"),
                None => format!("HTTP {status} {other}: {}", raw_body(body)),
            },
        };
        return (Some(key.to_owned()), message);
    }
    // Organizations: {"errors": [{"code", "title", "detail"}]}.
    if let Some(code) = s("/errors/0/code") {
        let text = s("/errors/0/detail").or(s("/errors/0/title")).unwrap_or("");
        return (
            Some(code.to_owned()),
            format!("HTTP {status} {code}: {text}"),
        );
    }
    // A Spring-style 403 or anything else: as sent.
    (None, format!("HTTP {status}: {}", raw_body(body)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn at(text: &str) -> SystemTime {
        humantime::parse_rfc3339(text).unwrap()
    }

    #[test]
    fn a_429_says_how_long_to_wait_in_any_of_three_ways() {
        let now = at("2026-11-23T10:00:00Z");
        let limited = |h: &HeaderMap| classify_write(429, h, b"", now);
        assert_eq!(
            limited(&headers(&[("retry-after", "7")])),
            Write::RateLimited {
                wait: Some(Duration::from_secs(7)),
                told_by: Some("Retry-After")
            }
        );
        assert_eq!(
            limited(&headers(&[(
                "retry-after",
                "Mon, 23 Nov 2026 10:00:05 GMT"
            )])),
            Write::RateLimited {
                wait: Some(Duration::from_secs(5)),
                told_by: Some("Retry-After")
            }
        );
        assert_eq!(
            limited(&headers(&[("x-ratelimit-reset", "2026-11-23T10:01Z")])),
            Write::RateLimited {
                wait: Some(Duration::from_secs(60)),
                told_by: Some("X-RateLimit-Reset")
            }
        );
        assert_eq!(
            limited(&headers(&[("x-ratelimit-reset", "2026-11-23T10:00:03Z")])),
            Write::RateLimited {
                wait: Some(Duration::from_secs(3)),
                told_by: Some("X-RateLimit-Reset")
            }
        );
        assert_eq!(
            limited(&headers(&[("retry-after", "soon")])),
            Write::RateLimited {
                wait: None,
                told_by: None
            }
        );
    }

    #[test]
    fn a_reset_time_is_read_with_any_zone_and_with_or_without_seconds() {
        let utc = at("2026-12-01T10:01:00Z");
        for text in [
            "2026-12-01T10:01Z",
            "2026-12-01T10:01:00Z",
            "2026-12-01T10:01+0000",
            "2026-12-01T10:01:00+00:00",
            "2026-12-01T11:01+0100",
            "2026-12-01T11:01:00+01:00",
            "2026-12-01T05:01-05:00",
            "2026-12-01T05:01:00-0500",
        ] {
            assert_eq!(parse_reset(text), Some(utc), "{text}");
        }
        for bad in [
            "2026-12-01T10:01+1",
            "2026-12-01T10:01+01:0x",
            "2026-12-01",
            "soon",
        ] {
            assert_eq!(parse_reset(bad), None, "{bad}");
        }
    }

    #[test]
    fn no_scim_link_left_whether_answered_empty_or_404() {
        let now = SystemTime::UNIX_EPOCH;
        let h = HeaderMap::new();
        assert_eq!(
            classify_links(200, &h, br#"{"scimLinks":[]}"#, now),
            Read::Linked(false)
        );
        assert_eq!(
            classify_links(404, &h, br#"{"errors":[]}"#, now),
            Read::Linked(false)
        );
        assert_eq!(
            classify_links(200, &h, br#"{"scimLinks":[{"scimUserId":"s"}]}"#, now),
            Read::Linked(true)
        );
    }

    #[test]
    fn remaining_and_limit_are_read_when_present() {
        let h = headers(&[("x-ratelimit-remaining", "3"), ("x-ratelimit-limit", "100")]);
        assert_eq!(
            rate_info(&h),
            RateInfo {
                remaining: Some(3),
                limit: Some(100)
            }
        );
        assert_eq!(rate_info(&HeaderMap::new()), RateInfo::default());
    }

    #[test]
    fn refusals_carry_the_api_key_and_a_sentence() {
        let now = SystemTime::UNIX_EPOCH;
        let taken = br#"{"key":"fieldConstraintsViolated","context":{"fieldViolations":[{"field":"email","violations":[{"key":"email.taken"}]}]}}"#;
        for status in [400, 409] {
            match classify_write(status, &HeaderMap::new(), taken, now) {
                Write::Rejected { key, message, .. } => {
                    assert_eq!(key.as_deref(), Some("email.taken"));
                    assert!(message.contains("held by another account"), "{message}");
                }
                other => panic!("{other:?}"),
            }
        }
        let domain = br#"{"key":"forbidden.unclaimedDomain","context":{"domain":"x.example"}}"#;
        assert!(matches!(
            classify_write(403, &HeaderMap::new(), domain, now),
            Write::Rejected { message, .. } if message.contains("x.example is not a verified")
        ));
        let scim = br#"{"key":"forbidden.action","context":{"allowed":false,"reason":{"key":"externalDirectory.scim"}}}"#;
        assert!(matches!(
            classify_write(403, &HeaderMap::new(), scim, now),
            Write::Rejected { key: Some(k), .. } if k == "externalDirectory.scim"
        ));
        let org = br#"{"errors":[{"status":"400","code":"ADMIN-400-1","title":"Bad","detail":"bad cursor"}]}"#;
        assert!(matches!(
            classify_write(400, &HeaderMap::new(), org, now),
            Write::Rejected { key: Some(k), message, .. } if k == "ADMIN-400-1" && message.contains("bad cursor")
        ));
        assert!(matches!(
            classify_write(418, &HeaderMap::new(), b"<html>", now),
            Write::Rejected { key: None, .. }
        ));
        assert!(matches!(
            classify_write(401, &HeaderMap::new(), b"", now),
            Write::Unauthorized { .. }
        ));
    }

    #[test]
    fn only_the_documented_204_counts_as_applied() {
        let now = SystemTime::UNIX_EPOCH;
        let none = HeaderMap::new();
        assert_eq!(
            classify_write(204, &none, b"", now),
            Write::Applied { status: 204 }
        );
        for status in [200, 201, 202] {
            assert_eq!(
                classify_write(status, &none, b"{}", now),
                Write::Unconfirmed { status }
            );
        }
    }

    #[test]
    fn a_redirect_is_refused_naming_its_location() {
        let now = SystemTime::UNIX_EPOCH;
        let h = headers(&[("location", "http://127.0.0.1:9/users/a/manage/email")]);
        for status in [301, 302, 303, 307, 308] {
            match classify_write(status, &h, b"", now) {
                Write::Rejected { key, message, .. } => {
                    assert_eq!(key.as_deref(), Some(REDIRECT));
                    assert!(
                        message.contains("redirect to http://127.0.0.1:9/users/a/manage/email"),
                        "{message}"
                    );
                }
                other => panic!("{status}: {other:?}"),
            }
            assert!(matches!(
                classify_read(status, &h, b"", now),
                Read::Other { key: Some(k), .. } if k == REDIRECT
            ));
        }
    }

    #[test]
    fn taken_is_recognised_at_any_depth_and_in_any_spelling() {
        let now = SystemTime::UNIX_EPOCH;
        let bodies: [&[u8]; 4] = [
            br#"{"key":"fieldConstraintsViolated","context":{"fieldViolations":[{"field":"email","violations":[{"key":"email.alreadyTaken"}]}]}}"#,
            br#"{"key":"fieldConstraintsViolated","context":{"fieldViolations":[{"field":"name","violations":[{"key":"x"}]},{"field":"email","violations":[{"key":"other"},{"key":"email.taken"}]}]}}"#,
            br#"{"errors":[{"code":"email.alreadyTaken","title":"Taken"}]}"#,
            br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"409","scimType":"uniqueness","detail":"exists"}"#,
        ];
        for body in bodies {
            match classify_write(400, &HeaderMap::new(), body, now) {
                Write::Rejected { key, .. } => assert_eq!(
                    key.as_deref(),
                    Some(TAKEN),
                    "{}",
                    String::from_utf8_lossy(body)
                ),
                other => panic!("{other:?}"),
            }
        }
        let other = br#"{"key":"fieldConstraintsViolated","context":{"fieldViolations":[{"field":"email","violations":[{"key":"partMaxLength"}]}]}}"#;
        assert!(matches!(
            classify_write(400, &HeaderMap::new(), other, now),
            Write::Rejected { key: Some(k), .. } if k == "partMaxLength"
        ));
    }

    #[test]
    fn a_huge_retry_after_is_kept_as_said_not_overflowed() {
        let h = headers(&[("retry-after", "18446744073709551615")]);
        let (wait, told_by) = wait_hint(&h, SystemTime::UNIX_EPOCH);
        assert_eq!(wait, Some(Duration::from_secs(u64::MAX)));
        assert_eq!(told_by, Some("Retry-After"));
    }

    #[test]
    fn a_5xx_on_a_write_may_have_been_applied() {
        let h = headers(&[("retry-after", "2")]);
        assert_eq!(
            classify_write(503, &h, b"", SystemTime::UNIX_EPOCH),
            Write::Transient {
                status: Some(503),
                wait: Some(Duration::from_secs(2)),
                maybe_applied: true,
                detail: "HTTP 503".into()
            }
        );
    }

    #[test]
    fn any_get_is_read_one_way_whatever_its_body_holds() {
        let now = at("2026-12-01T10:00:00Z");
        let h = headers(&[("retry-after", "3")]);
        assert_eq!(
            classify_get(503, &h, b"", now),
            Got::Transient {
                status: 503,
                wait: Some(Duration::from_secs(3)),
                told_by: Some("Retry-After"),
            }
        );
        assert_eq!(
            classify_get(429, &h, b"", now),
            Got::RateLimited {
                wait: Some(Duration::from_secs(3)),
                told_by: Some("Retry-After"),
            }
        );
        assert_eq!(classify_get(204, &h, b"x", now), Got::Body(b"x"));
        assert!(matches!(
            classify_get(302, &h, b"", now),
            Got::Other { key: Some(k), .. } if k == REDIRECT
        ));
        // The executor's reads are that reading, with their body read: a 5xx is transient for
        // both, a 403 final for both.
        assert!(matches!(
            classify_read(503, &h, b"", now),
            Read::Transient {
                status: Some(503),
                ..
            }
        ));
        assert!(matches!(
            classify_links(403, &h, br#"{"message":"no"}"#, now),
            Read::Other { status: 403, .. }
        ));
    }

    #[test]
    fn a_profile_gives_the_email() {
        let body = br#"{"account":{"account_id":"a","email":"ann@new.example"}}"#;
        let now = SystemTime::UNIX_EPOCH;
        assert_eq!(
            classify_read(200, &HeaderMap::new(), body, now),
            Read::Email("ann@new.example".into())
        );
        assert!(matches!(
            classify_read(200, &HeaderMap::new(), b"{}", now),
            Read::Transient { .. }
        ));
        assert_eq!(
            classify_read(404, &HeaderMap::new(), b"", now),
            Read::NotFound
        );
    }
}
