//! The HTTP routes (protocol v1, `docs/protocol.md`), one module per area. Every route but
//! `GET /healthz` needs a credential, and names the roles it admits.

pub(crate) mod approvals;
mod audit;
mod fleet;
mod keys;
pub(crate) mod policies;
mod revocations;
mod snapshot;
mod tokens;

use crate::error::error;
use crate::state::App;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;
use std::time::Duration;

/// Longest long poll honoured, seconds.
pub const MAX_WAIT_SECS: u64 = 60;

/// Largest body of the small JSON routes (tokens, approvals, revocations, kill switches).
pub const MAX_SMALL_BODY: usize = 64 * 1024;

/// Largest audit batch.
pub const MAX_AUDIT_BODY: usize = 16 * 1024 * 1024;

type Shared = axum::extract::State<Arc<App>>;

/// Every route.
pub fn router(app: Arc<App>) -> Router {
    let small = DefaultBodyLimit::max(MAX_SMALL_BODY);
    Router::new()
        .merge(crate::console::router(app.clone()))
        .route("/healthz", get(|| async { "ok" }))
        .route("/v1/snapshot", get(snapshot::get_snapshot))
        .route(
            "/v1/audit",
            post(audit::ingest).layer(DefaultBodyLimit::max(MAX_AUDIT_BODY)),
        )
        .route("/v1/audit/chains", get(audit::chains))
        .route("/v1/audit/records", get(audit::records))
        .route("/v1/tokens", post(tokens::mint).layer(small))
        .route(
            "/v1/approvals",
            post(approvals::create).get(approvals::list).layer(small),
        )
        .route("/v1/approvals/{id}", get(approvals::get_one))
        .route("/v1/approvals/{id}/grant", post(approvals::grant).layer(small))
        .route("/v1/approvals/{id}/deny", post(approvals::deny).layer(small))
        .route(
            "/v1/revocations",
            post(revocations::revoke).get(revocations::list).layer(small),
        )
        .route(
            "/v1/kill-switches",
            post(revocations::kill_switch).get(revocations::list).layer(small),
        )
        .route(
            "/v1/policies",
            post(policies::push)
                .get(policies::list)
                .layer(DefaultBodyLimit::max(policies::MAX_PUSH_BODY)),
        )
        .route("/v1/policies/diff", get(policies::diff_route))
        .route("/v1/policies/{v}", get(policies::get_one))
        .route("/v1/policies/{v}/rollback", post(policies::rollback).layer(small))
        .route("/v1/admin/keys", post(keys::create).get(keys::list).layer(small))
        .route("/v1/admin/keys/{id}/revoke", post(keys::revoke).layer(small))
        .route("/v1/admin/keys/{id}/rotate", post(keys::rotate).layer(small))
        .route("/v1/status", post(fleet::status).layer(small))
        .route("/v1/fleet", get(fleet::fleet))
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such route; see docs/protocol.md",
            )
        })
        .with_state(app)
}

/// Parses `?wait=S` (whole seconds, capped at [`MAX_WAIT_SECS`]).
#[expect(clippy::result_large_err, reason = "see `error::parse`")]
fn wait_secs(wait: Option<&str>) -> Result<Duration, Response> {
    match wait.map(str::parse::<u64>) {
        None => Ok(Duration::ZERO),
        Some(Ok(s)) => Ok(Duration::from_secs(s.min(MAX_WAIT_SECS))),
        Some(Err(_)) => Err(error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "`wait` must be whole seconds",
        )),
    }
}

/// Resolves when the server starts shutting down (long polls then answer at once).
async fn stopping(app: &App) {
    let mut rx = app.stopping.subscribe();
    let _ = rx.wait_for(|s| *s).await;
}
