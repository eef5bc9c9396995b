//! One page of the Organizations API v2 directory search
//! (`POST /admin/v2/orgs/{orgId}/directories/-/users/search`), parsed, and the body that asks
//! for a page: pure, so that odd pages are unit-tested. Unlike v1, the next page is a token
//! sent back in the body (`cursor`), not a URL; and each account says whether its email is
//! verified, who manages it and whether an identity provider syncs it.

use super::page::{Directory, LiveAccount};
use serde::Deserialize;
use serde_json::{Value, json};

/// The most accounts a page may hold (the API's documented `limit` bound).
pub const PAGE_LIMIT: usize = 100;
/// The most addresses one `emails` filter is sent with.
pub const EMAILS_PER_SEARCH: usize = 100;

/// The body that asks for one page: all accounts, or those holding `emails` (an exact filter).
pub fn search_body(cursor: Option<&str>, emails: &[&str]) -> Value {
    let mut body = json!({ "limit": PAGE_LIMIT, "expand": ["groups"] });
    if let Some(cursor) = cursor {
        body["cursor"] = json!(cursor);
    }
    if !emails.is_empty() {
        body["emails"] = json!(emails);
    }
    body
}

#[derive(Deserialize)]
struct RawPage {
    data: Vec<RawUser>,
    #[serde(default)]
    links: super::page::RawLinks,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawUser {
    account_id: String,
    #[serde(default)]
    name: String,
    email: Option<String>,
    #[serde(default)]
    account_status: String,
    email_verified: Option<bool>,
    claim_status: Option<String>,
    management_source: Option<String>,
    status: Option<String>,
    groups: Option<Vec<RawGroup>>,
}

#[derive(Deserialize)]
struct RawGroup {
    id: Option<String>,
    name: Option<String>,
}

/// The page's accounts and the next page's token, or what is wrong with the page.
pub fn parse_search_page(body: &[u8]) -> Result<(Vec<LiveAccount>, Option<String>), String> {
    let raw: RawPage = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let accounts = raw
        .data
        .into_iter()
        .map(|u| LiveAccount {
            account_id: u.account_id,
            name: u.name,
            email: u.email.filter(|e| !e.trim().is_empty()),
            status: u.account_status,
            directory: Some(Directory {
                email_verified: u.email_verified,
                claim_status: u.claim_status,
                management_source: u.management_source,
                lifecycle: u.status,
                groups: u
                    .groups
                    .map(|gs| gs.into_iter().filter_map(|g| g.name.or(g.id)).collect()),
            }),
        })
        .collect();
    Ok((accounts, raw.links.next.filter(|n| !n.is_empty())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_page_gives_accounts_with_what_settles_pre_flight() {
        let body = br#"{"data":[
            {"accountId":"a1","email":"ann@x.example","emailVerified":true,"accountStatus":"active",
             "status":"active","claimStatus":"managed","managementSource":"synced",
             "groups":[{"id":"g1","name":"jira-users"},{"id":"g2"}]},
            {"accountId":"a2","accountStatus":"inactive","status":"for_deletion","managementSource":null}
          ],"links":{"next":"b64token=="}}"#;
        let (accounts, next) = parse_search_page(body).unwrap();
        assert_eq!(next.as_deref(), Some("b64token=="));
        let d = accounts[0].directory.as_ref().unwrap();
        assert_eq!(
            (d.email_verified, d.management_source.as_deref()),
            (Some(true), Some("synced"))
        );
        assert_eq!(
            d.groups.as_deref(),
            Some(&["jira-users".to_owned(), "g2".to_owned()][..])
        );
        assert_eq!(accounts[1].email, None);
        let d = accounts[1].directory.as_ref().unwrap();
        assert_eq!(
            (d.lifecycle.as_deref(), d.management_source.as_deref()),
            (Some("for_deletion"), None)
        );
        assert!(parse_search_page(br#"{"data":[{"email":"no id"}]}"#).is_err());
        assert_eq!(parse_search_page(br#"{"data":[]}"#).unwrap().1, None);
    }

    #[test]
    fn the_body_carries_the_cursor_and_the_filter() {
        assert_eq!(
            search_body(None, &[]),
            json!({"limit": 100, "expand": ["groups"]})
        );
        assert_eq!(
            search_body(Some("t"), &["a@x.example"]),
            json!({"limit": 100, "expand": ["groups"], "cursor": "t", "emails": ["a@x.example"]})
        );
    }
}
