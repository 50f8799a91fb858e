//! Approvals (protocol: approvals): `POST /v1/approvals` (agent), `GET /v1/approvals` (approver, admin),
//! `GET /v1/approvals/{id}?wait=S` (the agent that asked; approver, admin),
//! `POST /v1/approvals/{id}/grant|deny` (approver; identity from the credential).

use super::{stopping, wait_secs, Shared};
use crate::approvals::{Refusal, RequestBody, Status};
use crate::auth::{authorize, Principal, Role};
use crate::error::{error, parse, reason};
use crate::state::{now_ms, App};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

fn refusal(r: Refusal, id: &str) -> Response {
    match r {
        Refusal::Mismatch(m) => error(StatusCode::UNPROCESSABLE_ENTITY, "approval_request_mismatch", m),
        Refusal::Full => error(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_approvals",
            "too many approval requests are pending; decide some first",
        ),
        Refusal::NotFound => error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no approval request `{id}`"),
        ),
        Refusal::Decided(s) => error(
            StatusCode::CONFLICT,
            "already_decided",
            format!("request `{id}` is already {}", json!(s).as_str().unwrap_or_default()),
        ),
        Refusal::SelfApproval => error(
            StatusCode::FORBIDDEN,
            "self_approval",
            format!("request `{id}` was made under your identity or on your behalf; another approver must decide it"),
        ),
    }
}

pub(super) async fn create(State(app): Shared, headers: HeaderMap, bytes: axum::body::Bytes) -> Response {
    let agent = match authorize(&app.credentials, &headers, &[Role::Agent]) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let body: RequestBody = match parse(&bytes) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let ttl = app.approval_ttl.as_millis() as i64;
    let _writing = app.approval_writes.lock().await;
    let prepared = app.lock().approvals.prepare(body, &agent.identity, now_ms(), ttl);
    let created = match prepared {
        Ok((true, e)) => match store(&app, &e).await {
            Ok(()) => {
                app.lock().approvals.put(e.clone());
                Ok((true, e))
            }
            Err(r) => return r,
        },
        other => other,
    };
    match created {
        Ok((true, e)) => {
            eprintln!(
                "approval requested: {} ({} wants {} on {})",
                e.request.id, e.request.agent, e.request.action, e.request.resource
            );
            app.webhooks.emit("approval.requested", announced(&e));
            (StatusCode::CREATED, Json(e)).into_response()
        }
        Ok((false, e)) => (StatusCode::OK, Json(e)).into_response(),
        Err(r) => refusal(r, ""),
    }
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    status: Option<Status>,
}

pub(super) async fn list(
    State(app): Shared,
    headers: HeaderMap,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    if let Err(r) = authorize(&app.credentials, &headers, &[Role::Approver, Role::Admin]) {
        return r;
    }
    let Ok(Query(q)) = q else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "`status` must be pending, granted, denied or expired",
        );
    };
    let list = app.lock().approvals.list(q.status, now_ms());
    Json(json!({"approvals": list})).into_response()
}

#[derive(Deserialize)]
pub(super) struct WaitQuery {
    wait: Option<String>,
}

pub(super) async fn get_one(
    State(app): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<WaitQuery>,
) -> Response {
    let who = match authorize(&app.credentials, &headers, &[Role::Agent, Role::Approver, Role::Admin]) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let wait = match wait_secs(q.wait.as_deref()) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let deadline = tokio::time::Instant::now() + wait;
    let mut changed = app.approvals_changed.subscribe();
    loop {
        changed.borrow_and_update();
        let Some(e) = app.lock().approvals.get(&id, now_ms()) else {
            return refusal(Refusal::NotFound, &id);
        };
        // An agent sees only the requests its own credential made (others' look absent).
        if who.role == Role::Agent && e.requested_by != who.identity {
            return refusal(Refusal::NotFound, &id);
        }
        let now = tokio::time::Instant::now();
        if e.status != Status::Pending || now >= deadline {
            return Json(e).into_response();
        }
        // Wake at a decision, at the request's expiry, at the caller's deadline or at shutdown.
        let expires_in = Duration::from_millis(e.expires_at_ms.saturating_sub(now_ms()).max(0) as u64);
        let until = deadline.min(now + expires_in);
        tokio::select! {
            _ = tokio::time::timeout_at(until, changed.changed()) => {}
            _ = stopping(&app) => {
                return Json(e).into_response();
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecideBody {
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    ttl: Option<u64>,
}

pub(super) async fn grant(
    State(app): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Response {
    decide(app, headers, id, bytes, true).await
}

pub(super) async fn deny(
    State(app): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Response {
    decide(app, headers, id, bytes, false).await
}

/// Writes a new request to the database (`503 storage_failed` otherwise; nothing changed).
async fn store(app: &App, e: &crate::approvals::Entry) -> Result<(), Response> {
    app.store
        .put_approval(e)
        .await
        .map_err(|m| error(StatusCode::SERVICE_UNAVAILABLE, "storage_failed", m))
}

async fn decide(app: Arc<App>, headers: HeaderMap, id: String, bytes: axum::body::Bytes, grant: bool) -> Response {
    let approver: Principal = match authorize(&app.credentials, &headers, &[Role::Approver]) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let b: DecideBody = match parse(&bytes) {
        Ok(b) => b,
        Err(r) => return r,
    };
    match decide_as(&app, &approver, &id, b.reason, b.ttl, grant).await {
        Ok(entry) => Json(entry).into_response(),
        Err(r) => r,
    }
}

/// What a webhook says about an entry: everything but the approval token (a bearer credential).
fn announced(e: &crate::approvals::Entry) -> serde_json::Value {
    let mut v = serde_json::to_value(e).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.remove("approval");
    }
    v
}

/// Grants or denies request `id` as `approver`: the one place every decision is made, by the HTTP
/// routes and by the console alike. Checks the role (approver only), the reason, that the request
/// is pending and not the approver's own, stores the decision, then keeps and announces it.
pub(crate) async fn decide_as(
    app: &App,
    approver: &Principal,
    id: &str,
    reason_given: Option<String>,
    ttl: Option<u64>,
    grant: bool,
) -> Result<crate::approvals::Entry, Response> {
    if approver.role != Role::Approver {
        return Err(error(
            StatusCode::FORBIDDEN,
            "forbidden_role",
            format!(
                "deciding approvals needs the role approver; this credential has the role {}",
                approver.role.name()
            ),
        ));
    }
    if !grant && ttl.is_some() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "`ttl` applies to grants only",
        ));
    }
    let why = reason(reason_given)?;
    let _writing = app.approval_writes.lock().await;
    let now = now_ms();
    app.lock()
        .approvals
        .check_decidable(id, &approver.identity, now)
        .map_err(|r| refusal(r, id))?;
    let approval = if grant {
        match app.engine.approve(id, &approver.identity, ttl.unwrap_or(600)) {
            Ok(token) => Some(token),
            Err(e) => return Err(error(StatusCode::BAD_REQUEST, e.code(), e.to_string())),
        }
    } else {
        None
    };
    let decided = app.lock().approvals.decided(id, &approver.identity, why, approval, now);
    let Some(entry) = decided else {
        return Err(refusal(Refusal::NotFound, id));
    };
    // Stored first: an approval token is only ever handed out for a decision that is on disk.
    // The store decides only a request still pending there: another replica may have decided it.
    let stored = app
        .store
        .decide_approval(&entry, now)
        .await
        .map_err(|m| error(StatusCode::SERVICE_UNAVAILABLE, "storage_failed", m))?;
    if !stored {
        if let Ok(Some(e)) = app.store.approval(id).await {
            let status = e.status;
            app.lock().approvals.put(e);
            app.approvals_changed.send_modify(|n| *n += 1);
            if status != Status::Pending {
                return Err(refusal(Refusal::Decided(status), id));
            }
        }
        return Err(refusal(Refusal::Decided(Status::Expired), id));
    }
    app.lock().approvals.put(entry.clone());
    app.approvals_changed.send_modify(|n| *n += 1);
    app.webhooks.emit("approval.decided", announced(&entry));
    eprintln!(
        "approval {}: {id} by {}",
        if grant { "granted" } else { "denied" },
        approver.identity
    );
    Ok(entry)
}
