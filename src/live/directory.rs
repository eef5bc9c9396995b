//! The org's users through the v2 directory search, page after page, the cursor sent back in
//! the body; and the v1 listing in its place when the org's API has no v2 (answered 404 or
//! 405, or a 403 about the org rather than one account), said once, never silently.

use super::error::LiveError;
use super::listing::take_page;
use super::page::{LiveAccount, Progress};
use super::reader::{Answer, Reader};
use crate::api::path_segment;
use mailshift_core::live::scim_email::{ScimRecord, parse_records};
use mailshift_core::live::search::{parse_search_page, search_body};

impl Reader {
    /// Every account of the org by the v2 search (`emails` empty), or those holding `emails`.
    /// `Ok(None)`: the API has no v2 search for this org or key; why is kept (`v2_refused`).
    pub async fn search_users(
        &self,
        org_id: &str,
        emails: &[&str],
        on_page: &mut dyn FnMut(usize),
    ) -> Result<Option<Vec<LiveAccount>>, LiveError> {
        let url = format!(
            "{}/admin/v2/orgs/{}/directories/-/users/search",
            self.client.base(),
            path_segment(org_id)
        );
        let mut cursor: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        let mut progress = Progress::default();
        let mut items = Vec::new();
        for page_number in 1.. {
            let what = || format!("searching the org's users (v2, page {page_number})");
            let body = search_body(cursor.as_deref(), emails);
            let answer = self.post_read(&url, &body, &what, &parse_search_page).await;
            let (page, next) = match answer {
                Ok(Answer::Value(page)) => page,
                Ok(Answer::NotFound) if page_number == 1 => {
                    return Ok(self.refuse_v2("404 Not Found".into()));
                }
                Err(LiveError::Refused {
                    status: status @ 403..=405,
                    message,
                    ..
                }) if page_number == 1 => {
                    return Ok(self.refuse_v2(format!("HTTP {status}: {message}")));
                }
                Err(LiveError::ScopedKey { message, .. }) if page_number == 1 => {
                    return Ok(self.refuse_v2(format!("HTTP 403: {message}")));
                }
                Ok(Answer::NotFound | Answer::Refused { .. }) => {
                    return Err(LiveError::BadAnswer {
                        what: what(),
                        detail: "the search stopped answering part way".into(),
                    });
                }
                Err(e) => return Err(e),
            };
            let empty = page.is_empty();
            let keys: Vec<String> = page.iter().map(|a| a.account_id.clone()).collect();
            let keys = keys.iter().map(String::as_str);
            take_page(&mut progress, &mut items, page, keys, None, &what, on_page)?;
            match next {
                Some(next) if !empty => {
                    if !seen.insert(next.clone()) {
                        return Err(LiveError::BadAnswer {
                            what: what(),
                            detail: "the next-page cursor leads back to a page already read".into(),
                        });
                    }
                    cursor = Some(next);
                }
                _ => break,
            }
        }
        Ok(Some(items))
    }

    /// The SCIM records that hold `email` (`POST .../get-scim-links-for-email`); none on 404,
    /// as for `get-scim-links`, where nothing documents which of `[]` and 404 means none.
    pub async fn scim_records_for_email(
        &self,
        org_id: &str,
        email: &str,
    ) -> Result<Vec<ScimRecord>, LiveError> {
        let url = format!(
            "{}/admin/user-provisioning/v1/org/{}/get-scim-links-for-email",
            self.client.base(),
            path_segment(org_id)
        );
        let what = || format!("looking up the SCIM records of {email}");
        let body = serde_json::json!({ "email": email });
        match self.post_read(&url, &body, &what, &parse_records).await? {
            Answer::Value(records) => Ok(records),
            Answer::NotFound => Ok(Vec::new()),
            Answer::Refused { message, .. } => Err(LiveError::BadAnswer {
                what: what(),
                detail: message,
            }),
        }
    }

    /// Notes why the v2 search is not used, and that it is not tried again.
    fn refuse_v2(&self, why: String) -> Option<Vec<LiveAccount>> {
        if let Ok(mut refused) = self.v2_refused.lock() {
            refused.get_or_insert(why);
        }
        None
    }

    /// Why the v2 search was not used (its answer), if it was refused.
    pub fn v2_refused(&self) -> Option<String> {
        self.v2_refused.lock().ok().and_then(|r| r.clone())
    }
}
