//! The org's listings, page after page: its users and its domains. A listing whose pages go
//! round or never end is stopped (`Progress`), not read for ever.

use super::error::LiveError;
use super::manage::{Domain, parse_domains_page};
use super::page::{LiveAccount, Progress, next_url, parse_users_page};
use super::reader::{Answer, Reader};
use crate::api::path_segment;

/// One page of a listing: its items, the link to the next page, and the total it announces.
type Page<T> = (Vec<T>, Option<String>, Option<u64>);
/// Reads one page's body, or says what is wrong with it.
type ParsePage<T> = dyn Fn(&[u8]) -> Result<Page<T>, String>;

impl Reader {
    /// Every managed account of the org, page after page; `on_page` hears the running count.
    /// By the v2 directory search, or the v1 listing where the API has no v2 (`v2_refused`).
    pub async fn list_users(
        &self,
        org_id: &str,
        on_page: &mut dyn FnMut(usize),
    ) -> Result<Vec<LiveAccount>, LiveError> {
        if self.v2_refused().is_none()
            && let Some(accounts) = self.search_users(org_id, &[], on_page).await?
        {
            return Ok(accounts);
        }
        let parse = |body: &[u8]| parse_users_page(body).map(|p| (p.accounts, p.next, p.total));
        let key = |a: &LiveAccount| a.account_id.clone();
        self.pages(org_id, "users", "the org's users", &parse, &key, on_page)
            .await
    }

    /// Every domain the org has claimed, with its claim status.
    pub async fn list_domains(&self, org_id: &str) -> Result<Vec<Domain>, LiveError> {
        let parse = |body: &[u8]| parse_domains_page(body).map(|(d, next)| (d, next, None));
        let key = |d: &Domain| d.name.clone();
        self.pages(
            org_id,
            "domains",
            "the org's domains",
            &parse,
            &key,
            &mut |_| {},
        )
        .await
    }

    /// `GET /admin/v1/orgs/{org}/{listing}`, every page, each parsed by `parse`.
    async fn pages<T>(
        &self,
        org_id: &str,
        listing: &str,
        title: &str,
        parse: &ParsePage<T>,
        key: &dyn Fn(&T) -> String,
        on_page: &mut dyn FnMut(usize),
    ) -> Result<Vec<T>, LiveError> {
        let first = format!(
            "{}/admin/v1/orgs/{}/{listing}",
            self.client.base(),
            path_segment(org_id)
        );
        let mut url = first.clone();
        let mut seen = std::collections::HashSet::new();
        let mut progress = Progress::default();
        let mut items = Vec::new();
        for page_number in 1.. {
            let what = || format!("reading {title} (page {page_number})");
            let Answer::Value((page, next, total)) = self.get(&url, &what, parse).await? else {
                return Err(LiveError::Refused {
                    what: what(),
                    status: 404,
                    message: format!("no organization {org_id:?} for this key; check --org-id"),
                });
            };
            let empty = page.is_empty();
            let keys: Vec<String> = page.iter().map(key).collect();
            let keys = keys.iter().map(String::as_str);
            take_page(&mut progress, &mut items, page, keys, total, &what, on_page)?;
            match next {
                // A next link on an empty page would loop for ever.
                Some(next) if !empty => {
                    seen.insert(url);
                    url = next_url(self.client.base(), &first, &next).map_err(|detail| {
                        LiveError::BadAnswer {
                            what: what(),
                            detail,
                        }
                    })?;
                    // A listing whose links go round would otherwise be read for ever.
                    if seen.contains(&url) {
                        return Err(LiveError::BadAnswer {
                            what: what(),
                            detail: "the next-page link leads back to a page already read".into(),
                        });
                    }
                }
                _ => break,
            }
        }
        Ok(items)
    }
}

/// Adds one page to what a listing has read, unless it shows the listing going nowhere
/// (`Progress`); `on_page` hears the running count.
pub(super) fn take_page<'a, T>(
    progress: &mut Progress,
    items: &mut Vec<T>,
    page: Vec<T>,
    keys: impl Iterator<Item = &'a str>,
    total: Option<u64>,
    what: &dyn Fn() -> String,
    on_page: &mut dyn FnMut(usize),
) -> Result<(), LiveError> {
    progress
        .page(keys, total)
        .map_err(|detail| LiveError::BadAnswer {
            what: what(),
            detail,
        })?;
    items.extend(page);
    on_page(items.len());
    Ok(())
}
