//! The user-provisioning API (`/admin/user-provisioning/v1/org/{org_id}/user/...`): an account's
//! SCIM links, and unlinking it from the identity provider.

use super::orgs::org_not_found;
use super::*;

fn scim_not_found() -> Response {
    org_error(
        StatusCode::NOT_FOUND,
        "ADMIN-404-8",
        "User not found",
        "No managed user with that account ID.",
    )
}

pub(super) async fn scim_delete(
    State(shared): State<Arc<Shared>>,
    Path((org_id, account_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    arrive(&shared).await;
    let admitted = match admit(&shared, &headers, Dialect::Organizations, true) {
        Ok(a) => a,
        Err(response) => return response,
    };
    if let Some(response) = early_fault(&shared, admitted.fault) {
        return response;
    }
    // Carried out even if the client gives up, as a real server would (see `set_email`).
    let work = tokio::spawn(async move {
        delay(&shared, admitted.fault).await;
        if org_id != shared.org_id {
            return org_not_found();
        }
        let now = shared.now();
        let result = lock(&shared.inner)
            .sim
            .unlink(&shared.rules, now, &account_id);
        match result {
            Ok(true) => StatusCode::NO_CONTENT.into_response(),
            Ok(false) | Err(ScimError::NotFound) => scim_not_found(),
        }
    });
    let response = work.await.unwrap_or_else(|_| server_error(500));
    admitted.headers(response)
}

pub(super) async fn scim_links(
    State(shared): State<Arc<Shared>>,
    Path((org_id, account_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let org = shared.org_id.clone();
    read(&shared, &headers, Dialect::Organizations, |shown| {
        if org_id != org {
            return org_not_found();
        }
        match shown.world().account(&account_id) {
            None => scim_not_found(),
            Some(a) if a.scim_linked => um(
                StatusCode::OK,
                json!({"scimLinks": [{"scimUserId": format!("scim-{}", a.account_id), "directoryId": "sim-directory",
                                      "orgId": org, "atlassianAccountId": a.account_id}]}),
            ),
            Some(_) if shared.faults().links_404_when_none => scim_not_found(),
            Some(_) => um(StatusCode::OK, json!({"scimLinks": []})),
        }
    })
    .await
}

#[derive(Deserialize)]
pub(super) struct EmailBody {
    email: String,
}

/// `POST .../get-scim-links-for-email` `{"email"}`: the SCIM records with that address: a
/// SCIM-linked account holding it, and the records `--scim-record` plants (an IdP user with
/// no Atlassian account, whose push would meet "Resource [USER] with email ... already exists").
pub(super) async fn scim_links_for_email(
    State(shared): State<Arc<Shared>>,
    Path(org_id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let org = shared.org_id.clone();
    read(&shared, &headers, Dialect::Organizations, |shown| {
        if org_id != org {
            return org_not_found();
        }
        let Ok(EmailBody { email }) = serde_json::from_slice::<EmailBody>(&body) else {
            return org_error(
                StatusCode::BAD_REQUEST,
                "ADMIN-400-1",
                "Bad Request",
                "The body must be {\"email\": ...}.",
            );
        };
        let key = crate::model::email_key(&email);
        let mut links: Vec<Value> = shown
            .world()
            .accounts()
            .iter()
            .filter(|a| a.scim_linked && crate::model::email_key(shown.email_of(a)) == key)
            .map(|a| {
                json!({"scimUserId": format!("scim-{}", a.account_id), "directoryId": "sim-directory",
                       "orgId": org, "atlassianAccountId": a.account_id})
            })
            .collect();
        links.extend(
            shared
                .faults()
                .scim_records
                .iter()
                .filter(|r| crate::model::email_key(r) == key)
                .map(|r| {
                    json!({"scimUserId": format!("scim-orphan-{}", crate::model::email_key(r)),
                           "directoryId": "sim-directory-2", "orgId": org, "atlassianAccountId": null})
                }),
        );
        um(StatusCode::OK, json!({"scimLinks": links}))
    })
    .await
}
