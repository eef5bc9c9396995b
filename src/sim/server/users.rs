//! The user-management API (`/users/{account_id}/manage/...`): setting an account's email, and
//! reading its profile and what the key may do with it. Writes are carried out even when the
//! client gives up, and may land late, as a real server's would.

use super::*;

/// Marks an account as being written, counting a second concurrent write, until dropped.
struct Writing {
    shared: Arc<Shared>,
    account: String,
    counted: bool,
}

impl Writing {
    fn begin(shared: Arc<Shared>, account: &str) -> Writing {
        let fresh = lock(&shared.inner).sim.begin_write(account);
        if !fresh {
            Tally::add(&shared.tally.concurrent_writes);
        }
        Writing {
            shared,
            account: account.to_owned(),
            counted: fresh,
        }
    }
}

impl Drop for Writing {
    fn drop(&mut self) {
        if self.counted {
            lock(&self.shared.inner).sim.end_write(&self.account);
        }
    }
}

pub(super) async fn set_email(
    State(shared): State<Arc<Shared>>,
    Path(account_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    arrive(&shared).await;
    let admitted = match admit(&shared, &headers, Dialect::UserManagement, true) {
        Ok(a) => a,
        Err(response) => return response,
    };
    if let Some(response) = early_fault(&shared, admitted.fault) {
        return response;
    }
    if let Some(response) = refused(&shared, &account_id) {
        return admitted.headers(response);
    }
    if shared.faults().google_synced.contains(&account_id) {
        return admitted.headers(um(
            StatusCode::FORBIDDEN,
            json!({"key": "forbidden.action", "context": {"allowed": false, "reason": {"key": "externalDirectory.google"}}}),
        ));
    }
    if lock(&shared.inner)
        .sim
        .scim_locked(&shared.rules, shared.now(), &account_id)
    {
        return admitted.headers(set_email_error(&shared, SetEmailError::ScimManaged));
    }
    if let Some(other) = &shared.faults().redirect_to {
        let location = format!("{other}/users/{}/manage/email", path_segment(&account_id));
        let mut response = StatusCode::TEMPORARY_REDIRECT.into_response();
        if let Ok(v) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(header::LOCATION, v);
        }
        return admitted.headers(response);
    }
    if let Fault::Late(status) = admitted.fault {
        // A gateway's 5xx at once; the backend carries the change out later all the same.
        Tally::add(&shared.tally.late);
        let writing = Writing::begin(Arc::clone(&shared), &account_id);
        let late = shared.faults().late;
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::GATEWAY_TIMEOUT);
        // Logged as received, now: the log is of requests, whenever their change lands.
        log_write(&shared, &account_id, &body);
        tokio::spawn(async move {
            tokio::time::sleep(late).await;
            drop(writing);
            let _ = write_email(shared, account_id, Fault::None, body, false).await;
        });
        return admitted.headers(server_error(status.as_u16()));
    }
    // A client that gives up (a timeout) closes the connection, which cancels this handler; the
    // change runs in a task of its own so that, as on a real server, it is carried out anyway.
    let work = tokio::spawn(write_email(shared, account_id, admitted.fault, body, true));
    let response = work.await.unwrap_or_else(|_| server_error(500));
    admitted.headers(response)
}

/// Adds a set-email request to the log of writes received, if it is kept.
fn log_write(shared: &Shared, account_id: &str, body: &[u8]) {
    let Ok(email) = parse_email_body(body) else {
        return;
    };
    if let Some(log) = &mut lock(&shared.inner).log {
        log.push(WriteSeen {
            account_id: account_id.to_owned(),
            email,
        });
    }
}

/// Carries out a set-email request, adding it to the log when `unlogged`.
async fn write_email(
    shared: Arc<Shared>,
    account_id: String,
    fault: Fault,
    body: Bytes,
    unlogged: bool,
) -> Response {
    let writing = Writing::begin(Arc::clone(&shared), &account_id);
    delay(&shared, fault).await;
    let response = match parse_email_body(&body) {
        Err(response) => response,
        Ok(email) => {
            let result = {
                let mut inner = lock(&shared.inner);
                if let Some(log) = inner.log.as_mut().filter(|_| unlogged) {
                    log.push(WriteSeen {
                        account_id: account_id.clone(),
                        email: email.clone(),
                    });
                }
                inner
                    .sim
                    .set_email(&shared.rules, shared.now(), &account_id, &email)
            };
            match result {
                Ok(()) => {
                    Tally::add(&shared.tally.writes);
                    if let Fault::Ambiguous(status) = fault {
                        Tally::add(&shared.tally.ambiguous);
                        server_error(status)
                    } else {
                        StatusCode::NO_CONTENT.into_response()
                    }
                }
                Err(e) => set_email_error(&shared, e),
            }
        }
    };
    drop(writing);
    response
}

fn parse_email_body(body: &[u8]) -> Result<String, Response> {
    let parse_failure = || um(StatusCode::BAD_REQUEST, json!({"key": "bodyParseFailure"}));
    let value: Value = serde_json::from_slice(body).map_err(|_| parse_failure())?;
    match value.get("email") {
        Some(Value::String(email)) => Ok(email.clone()),
        Some(_) => Err(parse_failure()),
        None => Err(violation("required")),
    }
}

fn violation(key: &str) -> Response {
    um(
        StatusCode::BAD_REQUEST,
        json!({"key": "fieldConstraintsViolated", "context": {"fieldViolations": [
            {"field": "email", "violations": [{"key": key}]}
        ]}}),
    )
}

fn set_email_error(shared: &Shared, e: SetEmailError) -> Response {
    match e {
        SetEmailError::NotFound => um(StatusCode::NOT_FOUND, json!({"key": "accountNotFound"})),
        SetEmailError::Invalid(problem) => violation(match problem {
            AddressProblem::LocalTooLong => "partMaxLength",
            AddressProblem::BadCharacter(c) if c.is_control() => "validCharacters",
            _ => "email.invalid",
        }),
        SetEmailError::ScimManaged => um(
            StatusCode::FORBIDDEN,
            json!({"key": "forbidden.action", "context": {"allowed": false, "reason": {"key": "externalDirectory.scim"}}}),
        ),
        SetEmailError::UnclaimedDomain(domain) => um(
            StatusCode::FORBIDDEN,
            json!({"key": "forbidden.unclaimedDomain", "context": {"domain": domain}}),
        ),
        SetEmailError::Taken => {
            let mut response = if shared.faults().taken_unknown_key {
                um(
                    StatusCode::BAD_REQUEST,
                    json!({"key": "fieldConstraintsViolated", "violations": [{"field": "email", "key": "unique"}]}),
                )
            } else {
                violation("email.taken")
            };
            *response.status_mut() = shared.taken_status;
            response
        }
    }
}

pub(super) fn account_status(status: Status) -> &'static str {
    match status {
        Status::Deactivated => "inactive",
        Status::Closed => "closed",
        _ => "active",
    }
}

pub(super) fn account_json(a: &SimAccount, email: &str) -> Value {
    json!({
        "account_id": a.account_id,
        "account_type": "atlassian",
        "account_status": account_status(a.status),
        "name": a.name,
        "email": email,
    })
}

pub(super) async fn profile(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    read(&shared, &headers, Dialect::UserManagement, |shown| {
        match (shown.world().account(&id), refused(&shared, &id)) {
            (Some(_), Some(refusal)) => refusal,
            (Some(a), None) => um(
                StatusCode::OK,
                json!({"account": account_json(a, shown.email_of(a))}),
            ),
            (None, _) => um(StatusCode::NOT_FOUND, json!({"key": "accountNotFound"})),
        }
    })
    .await
}

pub(super) async fn manage(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    read(&shared, &headers, Dialect::UserManagement, |shown| {
        match (shown.world().account(&id), refused(&shared, &id)) {
            (Some(_), Some(refusal)) => refusal,
            (Some(a), None) => {
                let google = shared.faults().google_synced.contains(&a.account_id);
                let email_set = if a.scim_linked {
                    json!({"allowed": false, "reason": {"key": "externalDirectory.scim"}})
                } else if google {
                    json!({"allowed": false, "reason": {"key": "externalDirectory.google"}})
                } else {
                    json!({"allowed": true})
                };
                um(
                    StatusCode::OK,
                    json!({
                        "email.set": email_set,
                        "profile.read": {"allowed": true},
                        "profile.write": {"allowed": !a.scim_linked && !google},
                        "lifecycle.enablement": {"allowed": true},
                    }),
                )
            }
            (None, _) => um(StatusCode::NOT_FOUND, json!({"key": "accountNotFound"})),
        }
    })
    .await
}

/// The 403 the API answers every call about an account it refuses (`--unverified-account`,
/// `--unmanaged-account`, `--unverified-share`), in the documented dialect or Spring's.
fn refused(shared: &Shared, account_id: &str) -> Option<Response> {
    let why = shared.faults().account_refusal(account_id)?;
    let body = if shared.faults().spring_403 {
        json!({
            "timestamp": "2026-12-01T10:00:00.000+00:00",
            "path": format!("/users/{}/manage", path_segment(account_id)),
            "status": 403,
            "error": "Forbidden",
            "message": "Forbidden",
            "requestId": "sim-403",
        })
    } else {
        match why {
            AccountRefusal::Unverified => json!({
                "key": "forbidden.targetUnverified",
                "context": "The target user's email is not verified",
                "errorKey": "forbidden.target-unverified",
                "errorDetail": "Target user email must be verified",
            }),
            AccountRefusal::Unmanaged => json!({"key": "forbidden", "context": {}}),
        }
    };
    Some(um(StatusCode::FORBIDDEN, body))
}
