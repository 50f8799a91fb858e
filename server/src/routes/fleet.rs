//! `POST /v1/status` (role agent; protocol: SDK instance identity) and `GET /v1/fleet` (admin): which SDK instances
//! run which snapshot version.

use super::Shared;
use crate::auth::{authorize, Role};
use crate::error::{error, parse};
use crate::fleet::{valid_instance_id, StatusBody};
use crate::state::now_ms;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// `X-Act-Instance` of a request, if sent.
pub(super) fn instance_header(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-act-instance").and_then(|v| v.to_str().ok())
}

pub(super) fn user_agent(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok())
}

pub(super) async fn status(State(app): Shared, headers: HeaderMap, bytes: axum::body::Bytes) -> Response {
    let agent = match authorize(&app.credentials, &headers, &[Role::Agent]) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let s: StatusBody = match parse(&bytes) {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !valid_instance_id(&s.instance_id) {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "`instance_id` must be 16 to 128 base64url characters",
        );
    }
    if instance_header(&headers).is_some_and(|h| h != s.instance_id) {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "`X-Act-Instance` and `instance_id` name different instances",
        );
    }
    let instance = s.instance_id.clone();
    let opened = app
        .lock()
        .fleet
        .reported(s, &agent.identity, user_agent(&headers), now_ms());
    for breaker in opened {
        let data = json!({"instance_id": instance, "identity": agent.identity, "breaker": breaker});
        app.webhooks.emit("breaker.opened", data);
    }
    StatusCode::NO_CONTENT.into_response()
}

pub(super) async fn fleet(State(app): Shared, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&app.credentials, &headers, &[Role::Admin]) {
        return r;
    }
    let view = app.lock().fleet.view();
    Json(view).into_response()
}
