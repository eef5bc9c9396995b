//! The organizations API (`/admin/v1/orgs/{org_id}/...`): the users listing, paged by opaque
//! cursors, and the org's domains.

use super::users::account_json;
use super::*;

#[derive(Deserialize)]
pub(super) struct CursorQuery {
    cursor: Option<String>,
}

pub(super) fn org_not_found() -> Response {
    org_error(
        StatusCode::NOT_FOUND,
        "ADMIN-404-2",
        "Organization not found",
        "No such organization.",
    )
}

/// Cursors are opaque to clients; the check part makes a tampered one fail as Atlassian's do.
pub(super) fn cursor_for(org_id: &str, start: usize) -> String {
    let check = crate::hash::sha256_hex(format!("{org_id}/{start}").as_bytes());
    format!("{start:x}.{}", &check[..12])
}

pub(super) fn start_of(org_id: &str, cursor: &str) -> Option<usize> {
    let (hex, _) = cursor.split_once('.')?;
    let start = usize::from_str_radix(hex, 16).ok()?;
    (cursor_for(org_id, start) == cursor).then_some(start)
}

fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

pub(super) async fn org_users(
    State(shared): State<Arc<Shared>>,
    Path(org_id): Path<String>,
    Query(query): Query<CursorQuery>,
    headers: HeaderMap,
) -> Response {
    let base = base_url(&headers);
    let page_size = shared.page_size;
    let org = shared.org_id.clone();
    read(&shared, &headers, Dialect::Organizations, |shown| {
        if org_id != org {
            return org_not_found();
        }
        let start = match query.cursor.as_deref() {
            None => 0,
            Some(c) => match start_of(&org, c) {
                Some(start) => start,
                None => {
                    return org_error(
                        StatusCode::BAD_REQUEST,
                        "ADMIN-400-1",
                        "Invalid page cursor",
                        "The cursor is not valid.",
                    );
                }
            },
        };
        let path = format!("{base}/admin/v1/orgs/{org}/users");
        let total = shown.world().accounts().len();
        let endless = shared.faults().endless_listing && total > 0;
        let (page, next) = if endless {
            // Round and round: the page of `start` modulo the org, and always a next cursor.
            let (page, _) = shown.world().page(start % total, page_size);
            (page, Some(start.saturating_add(page_size)))
        } else {
            shown.world().page(start, page_size)
        };
        let data: Vec<Value> = page
            .iter()
            .filter(|a| !shared.faults().unlisted.contains(&a.account_id))
            .map(|a| {
                let mut v = account_json(a, shown.email_of(a));
                v["access_billable"] = json!(true);
                v["links"] =
                    json!({"self": format!("{base}/users/{}/manage/profile", a.account_id)});
                v
            })
            .collect();
        let mut links = json!({"self": path});
        if let Some(next) = next {
            links["next"] = json!(format!("{path}?cursor={}", cursor_for(&org, next)));
        }
        um(
            StatusCode::OK,
            json!({"data": data, "meta": {"total": total}, "links": links}),
        )
    })
    .await
}

pub(super) async fn org_domains(
    State(shared): State<Arc<Shared>>,
    Path(org_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let base = base_url(&headers);
    let org = shared.org_id.clone();
    read(&shared, &headers, Dialect::Organizations, |shown| {
        if org_id != org {
            return org_not_found();
        }
        let verified = shown
            .world()
            .verified_domains()
            .iter()
            .map(|d| (d, "verified"));
        let unverified = shown
            .world()
            .unverified_domains()
            .iter()
            .map(|d| (d, "unverified"));
        let data: Vec<Value> = verified
            .chain(unverified)
            .enumerate()
            .map(|(i, (name, status))| {
                json!({"id": format!("dom-{i}"), "type": "domains",
                       "attributes": {"name": name, "claim": {"type": "dns", "status": status}},
                       "links": {"self": format!("{base}/admin/v1/orgs/{org}/domains/dom-{i}")}})
            })
            .collect();
        um(
            StatusCode::OK,
            json!({"data": data, "links": {"self": format!("{base}/admin/v1/orgs/{org}/domains")}}),
        )
    })
    .await
}
