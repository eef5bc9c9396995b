//! The Organizations API v2 directory search
//! (`POST /admin/v2/orgs/{org_id}/directories/{directory}/users/search`), as documented: a
//! body of `limit` (1 to 100), `cursor` (the token `links.next` gave), `emails` (an exact
//! filter, not with `searchTerm`: 400); per account `accountId`, `email`, `emailVerified`,
//! `accountStatus`, `status`, `claimStatus` and `managementSource`. `--refuse-v2` answers 404,
//! as an org still on the original user management is reported to.

use super::orgs::{cursor_for, org_not_found, start_of};
use super::*;
use crate::sim::faults::AccountRefusal;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct SearchBody {
    limit: Option<i64>,
    cursor: Option<String>,
    emails: Option<Vec<String>>,
    search_term: Option<String>,
    expand: Option<Vec<String>>,
}

fn bad_request(message: &str) -> Response {
    org_error(
        StatusCode::BAD_REQUEST,
        "ADMIN-400-1",
        "Bad Request",
        message,
    )
}

/// The v2 word for an account's lifecycle.
fn lifecycle(status: Status) -> &'static str {
    match status {
        Status::Deactivated => "deactivated",
        Status::Suspended => "suspended",
        Status::Closed => "for_deletion",
        _ => "active",
    }
}

pub(super) async fn search_users(
    State(shared): State<Arc<Shared>>,
    Path((org_id, _directory)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let org = shared.org_id.clone();
    let page_size = shared.page_size.min(100);
    read(&shared, &headers, Dialect::Organizations, |shown| {
        if shared.faults().refuse_v2 {
            return org_error(StatusCode::NOT_FOUND, "ADMIN-404-1", "Not Found", "Not Found");
        }
        if org_id != org {
            return org_not_found();
        }
        let Ok(query) = serde_json::from_slice::<SearchBody>(&body) else {
            return bad_request("The request body is not valid JSON.");
        };
        let limit = match query.limit {
            None => page_size,
            Some(l) if (1..=100).contains(&l) => (l as usize).min(page_size),
            Some(_) => return bad_request("limit must be between 1 and 100."),
        };
        if query.emails.is_some() && query.search_term.is_some() {
            return bad_request("emails cannot be combined with searchTerm.");
        }
        let start = match query.cursor.as_deref() {
            None => 0,
            Some(c) => match start_of(&org, c) {
                Some(start) => start,
                None => return bad_request("The cursor is not valid."),
            },
        };
        let expand_groups = query
            .expand
            .as_ref()
            .is_some_and(|e| e.iter().any(|x| x == "groups"));
        let wanted: Option<BTreeSet<String>> = query
            .emails
            .as_ref()
            .map(|e| e.iter().map(|a| crate::model::email_key(a)).collect());
        let world = shown.world();
        let matching: Vec<&SimAccount> = world
            .accounts()
            .iter()
            .filter(|a| match &wanted {
                Some(w) => w.contains(&crate::model::email_key(shown.email_of(a))),
                None => !shared.faults().unlisted.contains(&a.account_id),
            })
            .collect();
        // `--endless-listing`: round and round, always with a next cursor.
        let endless = shared.faults().endless_listing && !matching.is_empty();
        let from = if endless {
            start % matching.len()
        } else {
            start
        };
        let end = from.saturating_add(limit).min(matching.len());
        let data: Vec<Value> = matching[from.min(end)..end]
            .iter()
            .map(|a| {
                let refusal = shared.faults().account_refusal(&a.account_id);
                let mut account = json!({
                    "accountId": a.account_id,
                    "name": a.name,
                    "email": shown.email_of(a),
                    "emailVerified": refusal != Some(AccountRefusal::Unverified),
                    "accountStatus": super::users::account_status(a.status),
                    "status": lifecycle(a.status),
                    "claimStatus": if refusal == Some(AccountRefusal::Unmanaged) { "unmanaged" } else { "managed" },
                    "managementSource": if a.scim_linked || shared.faults().google_synced.contains(&a.account_id) { "synced" } else { "invited" },
                });
                if expand_groups {
                    let groups: Vec<Value> = shared
                        .faults()
                        .groups
                        .get(&a.account_id)
                        .into_iter()
                        .flatten()
                        .map(|g| json!({"id": format!("grp-{g}"), "name": g}))
                        .collect();
                    account["groups"] = json!(groups);
                }
                account
            })
            .collect();
        let mut links = json!({});
        if endless {
            links["next"] = json!(cursor_for(&org, start.saturating_add(limit)));
        } else if end < matching.len() {
            links["next"] = json!(cursor_for(&org, end));
        }
        um(StatusCode::OK, json!({"data": data, "links": links}))
    })
    .await
}
