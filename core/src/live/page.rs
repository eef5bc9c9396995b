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
    /// What only the directory search (v2) tells; `None` from the v1 listing.
    pub directory: Option<Directory>,
}

/// An account as the v2 directory search shows it, beyond what v1 gives: enough to settle
/// most of pre-flight without a permission read per account.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Directory {
    /// `emailVerified`: the API changes no unverified account (403 `forbidden.targetUnverified`).
    pub email_verified: Option<bool>,
    /// `claimStatus`: `managed` when this org manages the account.
    pub claim_status: Option<String>,
    /// `managementSource`: `synced` when an identity provider provisions the account (its email
    /// is the IdP's to change), `invited`, or absent.
    pub management_source: Option<String>,
    /// `status`: `active`, `suspended`, `not_invited`, `deactivated` or `for_deletion`.
    pub lifecycle: Option<String>,
    /// The account's groups by name (`expand: ["groups"]`); `None` when not given.
    pub groups: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsersPage {
    pub accounts: Vec<LiveAccount>,
    /// The next page's link as given (a full URL on this endpoint).
    pub next: Option<String>,
    /// How many accounts the listing says it has (`meta.total`), when it says.
    pub total: Option<u64>,
}

#[derive(Deserialize)]
struct RawPage {
    data: Vec<RawUser>,
    #[serde(default)]
    links: RawLinks,
    #[serde(default)]
    meta: RawMeta,
}

#[derive(Deserialize, Default)]
struct RawMeta {
    total: Option<u64>,
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
                directory: None,
            })
            .collect(),
        next: raw.links.next.filter(|n| !n.is_empty()),
        total: raw.meta.total,
    })
}

/// Whether a listing is still getting somewhere. A server can hand out new cursors for ever
/// (repeating accounts, or inventing them); read on, it would hold the run, the lock and the
/// key's budget without end. A page that brings nothing not seen before, or a count of items
/// far past the total the listing announced, ends it.
#[derive(Debug, Default)]
pub struct Progress {
    seen: hashbrown::HashSet<String>,
    read: u64,
}

impl Progress {
    /// Takes one page's item keys and the total the page announces; says why to stop reading.
    pub fn page<'a>(
        &mut self,
        keys: impl IntoIterator<Item = &'a str>,
        total: Option<u64>,
    ) -> Result<(), String> {
        let mut items = 0u64;
        let mut new = 0u64;
        for key in keys {
            items += 1;
            if self.seen.insert(key.to_owned()) {
                new += 1;
            }
        }
        self.read = self.read.saturating_add(items);
        if items > 0 && new == 0 {
            return Err(format!(
                "the listing repeats itself: a page brought {items} items, all read before ({} read in all); stopped reading it",
                self.read
            ));
        }
        if let Some(total) = total
            && self.read > total.saturating_mul(2).saturating_add(100)
        {
            return Err(format!(
                "the listing goes on far past the {total} items it announced ({} read); stopped reading it",
                self.read
            ));
        }
        Ok(())
    }
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

    #[test]
    fn a_listing_that_brings_nothing_new_or_runs_far_past_its_total_is_stopped() {
        let mut p = Progress::default();
        assert!(p.page(["a", "b"], Some(4)).is_ok());
        assert!(p.page(["b", "c"], Some(4)).is_ok());
        let repeat = p.page(["a", "c"], Some(4)).unwrap_err();
        assert!(repeat.contains("repeats itself"), "{repeat}");
        // New keys every page, far past the announced total.
        let mut p = Progress::default();
        let keys: Vec<String> = (0..400).map(|i| format!("k{i}")).collect();
        let mut stopped = None;
        for (n, chunk) in keys.chunks(10).enumerate() {
            if let Err(e) = p.page(chunk.iter().map(String::as_str), Some(50)) {
                stopped = Some((n, e));
                break;
            }
        }
        let (n, why) = stopped.unwrap();
        assert_eq!(
            n, 20,
            "stopped after 201 items, the first past 2 x 50 + 100"
        );
        assert!(why.contains("far past the 50"), "{why}");
        // An empty last page and a listing with no total are fine.
        let mut p = Progress::default();
        assert!(p.page(["a"], None).is_ok());
        assert!(p.page([], None).is_ok());
    }
}
