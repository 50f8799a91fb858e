//! `POST /v1/audit` (role agent): a batch of audit records, de-duplicated by id.

use super::Shared;
use crate::auth::{authorize, Role};
use crate::error::{error, parse};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

pub(super) async fn ingest(State(app): Shared, headers: HeaderMap, bytes: axum::body::Bytes) -> Response {
    if let Err(r) = authorize(&app.credentials, &headers, &[Role::Agent]) {
        return r;
    }
    let records: Vec<Value> = match parse(&bytes) {
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
