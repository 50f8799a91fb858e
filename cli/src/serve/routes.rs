//! The HTTP routes of `act serve` (protocol v1, `docs/protocol.md`).
#![allow(
    clippy::result_large_err,
    reason = "a ready-to-send `Response` is the natural error of a handler helper; boxing it buys nothing"
)]

use super::state::{App, ApprovalEntry, RevocationBody};
use act_core::approval::ApprovalRequest;
use act_core::IssueRequest;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Duration;

/// Longest long poll honoured, seconds.
pub const MAX_WAIT_SECS: u64 = 60;

type Shared = State<Arc<App>>;

/// Every route; each requires `Authorization: Bearer <api key>`.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/v1/snapshot", get(snapshot))
        .route("/v1/audit", post(audit).layer(DefaultBodyLimit::max(16 * 1024 * 1024)))
        .route("/v1/tokens", post(tokens))
        .route("/v1/approvals", post(create_approval).get(list_approvals))
        .route("/v1/approvals/{id}", get(get_approval))
        .route("/v1/approvals/{id}/grant", post(grant))
        .route("/v1/approvals/{id}/deny", post(deny))
        .route("/v1/revocations", post(revoke))
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such route; see docs/protocol.md",
            )
        })
        .with_state(app)
}

/// `{"error": code, "message": sentence}` with a status.
fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": code, "message": message.into()}))).into_response()
}

fn authorize(app: &App, headers: &HeaderMap) -> Result<(), Response> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let ok = given.is_some_and(|g| {
        let (a, b) = (g.trim().as_bytes(), app.api_key.as_bytes());
        // Constant time in the key's content.
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    });
    if ok {
        return Ok(());
    }
    let mut r = error(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "missing or wrong `Authorization: Bearer <api key>`",
    );
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    Err(r)
}

/// Parses a JSON body, answering 400 with serde's message on failure.
fn body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Response> {
    serde_json::from_slice(bytes).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("invalid JSON body: {e}"),
        )
    })
}

#[derive(Deserialize)]
struct WaitQuery {
    wait: Option<String>,
}

async fn snapshot(State(app): Shared, headers: HeaderMap, Query(q): Query<WaitQuery>) -> Response {
    if let Err(r) = authorize(&app, &headers) {
        return r;
    }
    let wait = match q.wait.as_deref().map(str::parse::<u64>) {
        None => 0,
        Some(Ok(s)) => s.min(MAX_WAIT_SECS),
        Some(Err(_)) => return error(StatusCode::BAD_REQUEST, "bad_request", "`wait` must be whole seconds"),
    };
    let mut rx = app.current.subscribe();
    let known = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let matches = |etag: &str| {
        known
            .as_deref()
            .is_some_and(|k| k.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    };
    let mut current = rx.borrow_and_update().clone();
    if matches(&current.etag) && wait > 0 {
        // Long poll: answer as soon as a new version is published, or 304 at the deadline.
        if let Ok(Ok(())) = tokio::time::timeout(Duration::from_secs(wait), rx.changed()).await {
            current = rx.borrow_and_update().clone();
        }
    }
    let mut r = if matches(&current.etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, current.jws.clone()).into_response()
    };
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&current.etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/jose"));
    h.insert("x-act-snapshot-version", HeaderValue::from(current.version));
    r
}

async fn audit(State(app): Shared, headers: HeaderMap, bytes: axum::body::Bytes) -> Response {
    if let Err(r) = authorize(&app, &headers) {
        return r;
    }
    let records: Vec<Value> = match body(&bytes) {
        Ok(r) => r,
        Err(r) => return r,
    };
    if let Some(i) = records.iter().position(|r| !r.get("id").is_some_and(Value::is_string)) {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("record {i} has no string `id`"),
        );
    }
    match app.ingest(&records) {
        Ok((accepted, duplicates)) => (
            StatusCode::OK,
            Json(json!({"accepted": accepted, "duplicates": duplicates})),
        )
            .into_response(),
        Err(m) => error(StatusCode::SERVICE_UNAVAILABLE, "storage_failed", m),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    agent: String,
    user_context: Map<String, Value>,
    #[serde(default)]
    agent_context: Map<String, Value>,
    #[serde(default)]
    policy: Option<Value>,
    #[serde(default)]
    ttl: Option<u64>,
}

async fn tokens(State(app): Shared, headers: HeaderMap, bytes: axum::body::Bytes) -> Response {
    if let Err(r) = authorize(&app, &headers) {
        return r;
    }
    let b: TokenBody = match body(&bytes) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let req = IssueRequest {
        agent: b.agent,
        user_context: b.user_context,
        agent_context: b.agent_context,
        policy: b.policy,
        ttl_secs: b.ttl.unwrap_or(3600),
        holder_key: None,
    };
    match app.engine.issue_token(&req) {
        Ok(token) => (StatusCode::CREATED, Json(json!({"token": token}))).into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, e.code(), e.to_string()),
    }
}

async fn create_approval(State(app): Shared, headers: HeaderMap, bytes: axum::body::Bytes) -> Response {
    if let Err(r) = authorize(&app, &headers) {
        return r;
    }
    let request: ApprovalRequest = match body(&bytes) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut inner = app.lock();
    if let Some(existing) = inner.approvals.get(&request.id) {
        return (StatusCode::OK, Json(existing.clone())).into_response();
    }
    let entry = ApprovalEntry {
        request,
        status: "pending",
        created_at_ms: act_core::Clock::now_ms(&act_core::SystemClock),
        decided_by: None,
        approval: None,
    };
    inner.approvals.insert(entry.request.id.clone(), entry.clone());
    eprintln!(
        "approval requested: {} ({} wants {} on {})",
        entry.request.id, entry.request.agent, entry.request.action, entry.request.resource
    );
    (StatusCode::CREATED, Json(entry)).into_response()
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
}

async fn list_approvals(State(app): Shared, headers: HeaderMap, Query(q): Query<ListQuery>) -> Response {
    if let Err(r) = authorize(&app, &headers) {
        return r;
    }
    let inner = app.lock();
    let list: Vec<&ApprovalEntry> = inner
        .approvals
        .values()
        .filter(|e| q.status.as_deref().is_none_or(|s| s == e.status))
        .collect();
    Json(json!({"approvals": list})).into_response()
}

async fn get_approval(State(app): Shared, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = authorize(&app, &headers) {
        return r;
    }
    match app.lock().approvals.get(&id) {
        Some(e) => Json(e.clone()).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no approval request `{id}`"),
        ),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecideBody {
    approver: String,
    #[serde(default)]
    ttl: Option<u64>,
}

async fn grant(State(app): Shared, headers: HeaderMap, Path(id): Path<String>, bytes: axum::body::Bytes) -> Response {
    decide(app, headers, id, bytes, true)
}

async fn deny(State(app): Shared, headers: HeaderMap, Path(id): Path<String>, bytes: axum::body::Bytes) -> Response {
    decide(app, headers, id, bytes, false)
}

fn decide(app: Arc<App>, headers: HeaderMap, id: String, bytes: axum::body::Bytes, grant: bool) -> Response {
    if let Err(r) = authorize(&app, &headers) {
        return r;
    }
    let b: DecideBody = match body(&bytes) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut inner = app.lock();
    let Some(entry) = inner.approvals.get_mut(&id) else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no approval request `{id}`"),
        );
    };
    if entry.status != "pending" {
        return error(
            StatusCode::CONFLICT,
            "already_decided",
            format!("request `{id}` is already {}", entry.status),
        );
    }
    if grant {
        match app.engine.approve(&id, &b.approver, b.ttl.unwrap_or(600)) {
            Ok(token) => {
                entry.status = "granted";
                entry.approval = Some(token);
            }
            Err(e) => return error(StatusCode::BAD_REQUEST, e.code(), e.to_string()),
        }
    } else {
        entry.status = "denied";
    }
    entry.decided_by = Some(b.approver);
    Json(entry.clone()).into_response()
}

async fn revoke(State(app): Shared, headers: HeaderMap, bytes: axum::body::Bytes) -> Response {
    if let Err(r) = authorize(&app, &headers) {
        return r;
    }
    let b: RevocationBody = match body(&bytes) {
        Ok(b) => b,
        Err(r) => return r,
    };
    match app.revoke(b) {
        Ok(version) => {
            eprintln!("revocation: snapshot version {version}");
            Json(json!({"version": version})).into_response()
        }
        Err(m) => error(StatusCode::INTERNAL_SERVER_ERROR, "publish_failed", m),
    }
}
