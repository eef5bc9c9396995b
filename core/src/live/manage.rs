//! The two pre-flight answers, parsed (pure): an account's `email.set` privilege from
//! `GET /users/{id}/manage`, and a page of `GET /admin/v1/orgs/{orgId}/domains`.

use super::page::RawLinks;
use serde::Deserialize;
use serde_json::Value;

/// Whether the key may set one account's email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Permission {
    Allowed,
    /// Denied, with the API's reason key (`externalDirectory.scim`, `administrative`, ...).
    Denied(String),
    /// The account does not exist (404).
    NoAccount,
    /// The API refuses this one account (a 403 about it): `key` as answered (none in a
    /// Spring-style body), `message` in words.
    Refused {
        key: Option<String>,
        message: String,
    },
}

/// The email in a `/manage/profile` answer.
pub fn parse_profile_email(body: &[u8]) -> Result<String, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    match value.pointer("/account/email").and_then(Value::as_str) {
        Some(email) => Ok(email.to_owned()),
        None => Err("the profile has no email".to_owned()),
    }
}

/// The `email.set` privilege in a `/manage` answer. A missing privilege counts as denied, since
/// the API lists what the key may do.
pub fn parse_email_set(body: &[u8]) -> Result<Permission, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let Some(privilege) = value.get("email.set") else {
        return Ok(Permission::Denied("notListed".into()));
    };
    match privilege.get("allowed").and_then(Value::as_bool) {
        Some(true) => Ok(Permission::Allowed),
        Some(false) => Ok(Permission::Denied(
            privilege
                .pointer("/reason/key")
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_owned(),
        )),
        None => Err("email.set has no \"allowed\" flag".into()),
    }
}

/// A claimed domain and its claim status (`verified`, `unverified`, `deleted`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    pub name: String,
    pub status: String,
}

impl Domain {
    pub fn verified(&self) -> bool {
        self.status.eq_ignore_ascii_case("verified")
    }
}

#[derive(Deserialize)]
struct RawPage {
    data: Vec<RawDomain>,
    #[serde(default)]
    links: RawLinks,
}

#[derive(Deserialize)]
struct RawDomain {
    attributes: RawAttributes,
}

#[derive(Deserialize)]
struct RawAttributes {
    name: String,
    #[serde(default)]
    claim: Option<RawClaim>,
}

#[derive(Deserialize)]
struct RawClaim {
    #[serde(default)]
    status: String,
}

/// One page of domains and the next page's link.
pub fn parse_domains_page(body: &[u8]) -> Result<(Vec<Domain>, Option<String>), String> {
    let raw: RawPage = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let domains = raw
        .data
        .into_iter()
        .map(|d| Domain {
            name: d.attributes.name,
            status: d.attributes.claim.map(|c| c.status).unwrap_or_default(),
        })
        .collect();
    Ok((domains, raw.links.next.filter(|n| !n.is_empty())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_set_is_read_with_its_reason() {
        let allowed = br#"{"profile.read":{"allowed":true},"email.set":{"allowed":true}}"#;
        assert_eq!(parse_email_set(allowed), Ok(Permission::Allowed));
        let scim = br#"{"email.set":{"allowed":false,"reason":{"key":"externalDirectory.scim"}}}"#;
        assert_eq!(
            parse_email_set(scim),
            Ok(Permission::Denied("externalDirectory.scim".into()))
        );
        let no_reason = br#"{"email.set":{"allowed":false}}"#;
        assert_eq!(
            parse_email_set(no_reason),
            Ok(Permission::Denied("unknown".into()))
        );
        assert_eq!(
            parse_email_set(br#"{"profile.read":{"allowed":true}}"#),
            Ok(Permission::Denied("notListed".into()))
        );
        assert!(parse_email_set(br#"{"email.set":{}}"#).is_err());
        assert!(parse_email_set(b"<html>").is_err());
    }

    #[test]
    fn a_domains_page_gives_names_statuses_and_the_next_link() {
        let body = br#"{"data":[
            {"id":"d1","type":"domains","attributes":{"name":"new.example","claim":{"type":"dns","status":"verified"}}},
            {"id":"d2","type":"domains","attributes":{"name":"old.example","claim":{"type":"http","status":"unverified"}}}
          ],"links":{"self":"s","next":"https://api.example/admin/v1/orgs/o/domains?cursor=2"}}"#;
        let (domains, next) = parse_domains_page(body).unwrap();
        assert!(domains[0].verified() && !domains[1].verified());
        assert_eq!(domains[1].name, "old.example");
        assert!(next.unwrap().ends_with("cursor=2"));
        assert!(parse_domains_page(br#"{"data":[{"id":"x"}]}"#).is_err());
    }
}
