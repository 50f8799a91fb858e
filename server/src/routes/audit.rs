//! `POST /v1/audit` (role agent): a batch of audit records, checked per SDK instance chain
//! (`crate::audit_chains`), then indexed for queries (`crate::audit_index`);
//! `GET /v1/audit/chains` (role admin): every chain and its breaks; `GET /v1/audit/records`
//! (role admin): the indexed records matching a search, as JSON Lines.

use super::Shared;
use crate::audit_chains::{ChainKey, IngestError, MAX_INSTANCE_CHARS, UNKNOWN_INSTANCE};
use crate::auth::{authorize, Role};
use crate::error::{error, parse};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// The header naming the SDK instance whose chain a batch extends (protocol: SDK instance identity).
pub const INSTANCE_HEADER: &str = "x-act-instance";

pub(super) async fn ingest(State(app): Shared, headers: HeaderMap, bytes: axum::body::Bytes) -> Response {
    let principal = match authorize(&app.credentials, &headers, &[Role::Agent]) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let instance = match headers.get(INSTANCE_HEADER).map(|v| v.to_str()) {
        None => UNKNOWN_INSTANCE.to_string(),
        Some(Ok(s)) if valid_instance(s) => s.to_string(),
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("`X-Act-Instance` must be 1 to {MAX_INSTANCE_CHARS} characters of [A-Za-z0-9_-]"),
            )
        }
    };
    let records: Vec<Value> = match parse(&bytes) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let key = ChainKey {
        credential: principal.identity,
        instance,
    };
    match app.ingest(&key, &records) {
        // Indexed for queries after the log and the chains took them; duplicates are indexed
        // too, so a batch retried after a failed index write is indexed whole.
        Ok(done) => match app.audit_index.insert(&key, &records).await {
            Ok(()) => (StatusCode::OK, Json(json!(done))).into_response(),
            Err(m) => error(StatusCode::SERVICE_UNAVAILABLE, "storage_failed", m),
        },
        Err(IngestError::Invalid(m)) => error(StatusCode::BAD_REQUEST, "audit_record_invalid", m),
        Err(IngestError::Conflict(m)) => error(StatusCode::CONFLICT, "audit_id_conflict", m),
        Err(IngestError::Failed(m)) => error(StatusCode::SERVICE_UNAVAILABLE, "storage_failed", m),
    }
}

fn valid_instance(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_INSTANCE_CHARS
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub(super) async fn chains(State(app): Shared, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&app.credentials, &headers, &[Role::Admin]) {
        return r;
    }
    let inner = app.lock();
    let list: Vec<Value> = inner
        .audit
        .chains()
        .iter()
        .map(|(k, c)| {
            json!({
                "credential": k.credential,
                "instance": k.instance,
                "records": c.records,
                "last_id": c.last.as_ref().map(|(id, _)| id),
                "last_hash": c.last.as_ref().map(|(_, h)| h),
                "gaps": c.gaps,
                "forks": c.forks,
                "flagged": c.gaps + c.forks > 0,
                "breaks": c.breaks,
            })
        })
        .collect();
    Json(json!({"chains": list})).into_response()
}

/// `GET /v1/audit/records?agent=&user=&outcome=&reason=&action=&from=&to=&limit=` (admin): the
/// matching records as JSON Lines, newest first, each exactly as ingested; at most
/// [`crate::audit_index::MAX_RESULTS`] (default 1000).
pub(super) async fn records(
    State(app): Shared,
    headers: HeaderMap,
    q: Result<axum::extract::Query<crate::audit_index::Search>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Err(r) = authorize(&app.credentials, &headers, &[Role::Admin]) {
        return r;
    }
    let Ok(axum::extract::Query(search)) = q else {
        return error(StatusCode::BAD_REQUEST, "bad_request", "invalid query string");
    };
    let filter = match search.filter(1000) {
        Ok(f) => f,
        Err(m) => return error(StatusCode::BAD_REQUEST, "bad_request", m),
    };
    match app.audit_index.search(&filter).await {
        Ok(found) => {
            let mut r = crate::audit_index::jsonl(&found).into_response();
            r.headers_mut().insert(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/jsonl; charset=utf-8"),
            );
            r
        }
        Err(m) => error(StatusCode::SERVICE_UNAVAILABLE, "storage_failed", m),
    }
}
