//! `POST /v1/revocations`, `POST /v1/kill-switches`, `GET` of either (role admin): changes with
//! who and why, each published as a new snapshot version at once.

use super::Shared;
use crate::auth::{authorize, Role};
use crate::error::{error, parse, reason};
use crate::revocations::{KillSwitchBody, RevokeBody};
use crate::state::{now_ms, ChangeError};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

fn answer(r: Result<u64, ChangeError>, what: &str) -> Response {
    match r {
        Ok(version) => {
            eprintln!("{what}: snapshot version {version}");
            Json(json!({"version": version})).into_response()
        }
        Err(ChangeError::Invalid(m)) => error(StatusCode::BAD_REQUEST, "bad_request", m),
        Err(ChangeError::Failed(m)) => error(StatusCode::SERVICE_UNAVAILABLE, "storage_failed", m),
    }
}

pub(super) async fn revoke(State(app): Shared, headers: HeaderMap, bytes: axum::body::Bytes) -> Response {
    let admin = match authorize(&app.credentials, &headers, &[Role::Admin]) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let mut b: RevokeBody = match parse(&bytes) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let why = match reason(b.reason.take()) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let r = app
        .change_revocations(|s| s.revoke(&b, &admin.identity, &why, now_ms()))
        .await;
    answer(r, "revocation")
}

pub(super) async fn kill_switch(State(app): Shared, headers: HeaderMap, bytes: axum::body::Bytes) -> Response {
    let admin = match authorize(&app.credentials, &headers, &[Role::Admin]) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let mut b: KillSwitchBody = match parse(&bytes) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let why = match reason(b.reason.take()) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let r = app
        .change_revocations(|s| s.kill_switch(&b, &admin.identity, &why, now_ms()))
        .await;
    answer(r, if b.on { "kill switch on" } else { "kill switch lifted" })
}

/// The API's revocations, kill switches on now, and the history of both.
pub(super) async fn list(State(app): Shared, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&app.credentials, &headers, &[Role::Admin]) {
        return r;
    }
    let s = app.lock().revocations.clone();
    Json(s).into_response()
}
