//! One page of `GET /admin/v1/orgs/{orgId}/users`, parsed, and the link to the next one checked:
//! pure, so that odd pages (no email, a relative link, a link to another host) are unit-tested.

use serde::Deserialize;

/// A managed account as the org listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveAccount {
    pub account_id: String,
    pub name: String,
    /// Absent when the user hides it; a profile read can still tell.
    pub email: Option<String>,
    /// `active`, `inactive` or `closed`.
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsersPage {
    pub accounts: Vec<LiveAccount>,
    /// The next page's link as given (a full URL on this endpoint).
    pub next: Option<String>,
}

#[derive(Deserialize)]
struct RawPage {
    data: Vec<RawUser>,
    #[serde(default)]
    links: RawLinks,
}

/// The `links` of any Organizations API page; only `next` matters here.
#[derive(Deserialize, Default)]
pub(super) struct RawLinks {
    pub next: Option<String>,
}

#[derive(Deserialize)]
struct RawUser {
    account_id: String,
    #[serde(default)]
    name: String,
    email: Option<String>,
    #[serde(default)]
    account_status: String,
}

/// The page, or what is wrong with it.
pub fn parse_users_page(body: &[u8]) -> Result<UsersPage, String> {
    let raw: RawPage = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    Ok(UsersPage {
        accounts: raw
            .data
            .into_iter()
            .map(|u| LiveAccount {
                account_id: u.account_id,
                name: u.name,
                email: u.email.filter(|e| !e.trim().is_empty()),
                status: u.account_status,
            })
            .collect(),
        next: raw.links.next.filter(|n| !n.is_empty()),
    })
}

/// Where the next page is. The key goes with the request, so a link is only followed to the
/// API's own scheme, host and port; a relative link is taken against the base, and a bare
/// cursor (as other Atlassian listings give) is sent as `?cursor=` on the first page's URL.
pub fn next_url(base: &str, first_page: &str, next: &str) -> Result<String, String> {
    let base_url = url::Url::parse(base).map_err(|e| e.to_string())?;
    if !next.contains('/') && !next.contains('?') {
        let mut url = url::Url::parse(first_page).map_err(|e| e.to_string())?;
        url.query_pairs_mut().clear().append_pair("cursor", next);
        return Ok(url.into());
    }
    let url = base_url
        .join(next)
        .map_err(|e| format!("the next-page link {next:?} is not a URL: {e}"))?;
    if url.origin() != base_url.origin() {
        return Err(format!(
            "the next-page link points to {}, not to the API at {}; not following it with the key",
            url.origin().ascii_serialization(),
            base_url.origin().ascii_serialization()
        ));
    }
    Ok(url.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_gives_accounts_and_the_next_link() {
        let body = br#"{"data":[
            {"account_id":"a1","account_type":"atlassian","account_status":"active","name":"Ann","email":"ann@x.example","access_billable":true},
            {"account_id":"a2","account_status":"inactive","name":"Hidden"}
          ],"meta":{"total":2},"links":{"self":"s","next":"https://api.example/admin/v1/orgs/o/users?cursor=abc"}}"#;
        let page = parse_users_page(body).unwrap();
        assert_eq!(page.accounts.len(), 2);
        assert_eq!(page.accounts[0].email.as_deref(), Some("ann@x.example"));
        assert_eq!(page.accounts[1].email, None);
        assert_eq!(page.accounts[1].status, "inactive");
        assert!(page.next.unwrap().ends_with("cursor=abc"));
        let last = parse_users_page(br#"{"data":[],"links":{"self":"s"}}"#).unwrap();
        assert_eq!(last.next, None);
        assert!(parse_users_page(b"<html>").is_err());
        assert!(parse_users_page(br#"{"data":[{"name":"no id"}]}"#).is_err());
    }

    #[test]
    fn next_links_are_followed_only_to_the_api_itself() {
        let base = "https://api.example";
        let first = "https://api.example/admin/v1/orgs/o/users";
        assert_eq!(
            next_url(
                base,
                first,
                "https://api.example/admin/v1/orgs/o/users?cursor=c2"
            )
            .unwrap(),
            "https://api.example/admin/v1/orgs/o/users?cursor=c2"
        );
        assert_eq!(
            next_url(base, first, "/admin/v1/orgs/o/users?cursor=c3").unwrap(),
            "https://api.example/admin/v1/orgs/o/users?cursor=c3"
        );
        assert_eq!(
            next_url(base, first, "MDNlZWRm").unwrap(),
            "https://api.example/admin/v1/orgs/o/users?cursor=MDNlZWRm"
        );
        for elsewhere in [
            "https://evil.example/steal?cursor=1",
            "http://api.example/admin/v1/orgs/o/users?cursor=1",
            "https://api.example:8443/x",
        ] {
            let err = next_url(base, first, elsewhere).unwrap_err();
            assert!(err.contains("not following"), "{elsewhere}: {err}");
        }
    }
}
