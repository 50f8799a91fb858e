//! `GET /v1/snapshot` (roles agent, admin): the signed snapshot, ETag, 304, long poll.

use super::{stopping, wait_secs, Shared};
use crate::auth::{authorize, Role};
use crate::fleet::valid_instance_id;
use crate::state::now_ms;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Deserialize)]
pub(super) struct WaitQuery {
    wait: Option<String>,
}

pub(super) async fn get_snapshot(State(app): Shared, headers: HeaderMap, Query(q): Query<WaitQuery>) -> Response {
    let caller = match authorize(&app.credentials, &headers, &[Role::Agent, Role::Admin]) {
        Ok(p) => p,
        Err(r) => return r,
    };
    if let Some(id) = super::fleet::instance_header(&headers).filter(|id| valid_instance_id(id)) {
        let serving = headers
            .get("x-act-snapshot-version")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let ua = super::fleet::user_agent(&headers);
        app.lock().fleet.polled(id, &caller.identity, ua, serving, now_ms());
    }
    let wait = match wait_secs(q.wait.as_deref()) {
        Ok(w) => w,
        Err(r) => return r,
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
    if matches(&current.etag) && !wait.is_zero() {
        // Long poll: answer as soon as a new version is published, or 304 at the deadline or shutdown.
        tokio::select! {
            r = tokio::time::timeout(wait, rx.changed()) => {
                if let Ok(Ok(())) = r {
                    current = rx.borrow_and_update().clone();
                }
            }
            _ = stopping(&app) => {}
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
    // Signed freshness (docs/protocol.md §2a): the only evidence that moves an SDK's staleness clock.
    if let Ok(v) = act_core::snapshot::sign_freshness(&app.key, current.version, now_ms())
        .map_err(|_| ())
        .and_then(|s| HeaderValue::from_str(&s).map_err(|_| ()))
    {
        h.insert(act_core::snapshot::FRESHNESS_HEADER, v);
    }
    r
}
