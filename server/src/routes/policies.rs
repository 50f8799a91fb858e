//! `POST /v1/policies` (publish), `GET /v1/policies` (history), `GET /v1/policies/{v}`,
//! `GET /v1/policies/diff?from=&to=`, `POST /v1/policies/{v}/rollback` — all role admin.

use super::Shared;
use crate::auth::{authorize, Principal, Role};
use crate::error::{error, parse, reason};
use crate::policies::{canonical, check_push, diff, PushBody, Rejected};
use crate::policy_store::{NewVersion, Source, Version};
use crate::state::{App, PublishError};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;

/// Largest push body (the files, JSON-escaped).
pub const MAX_PUSH_BODY: usize = 2 * crate::policies::MAX_TOTAL_BYTES;

/// The answer for a refused publish.
pub(crate) fn rejected(r: Rejected) -> Response {
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    match r {
        Rejected::Invalid(m) => error(StatusCode::BAD_REQUEST, "bad_request", m),
        Rejected::Suite(m) => error(
            unprocessable,
            "suite_invalid",
            format!("a policy test suite is invalid: {m}"),
        ),
        Rejected::Policy(d) => {
            let lines: Vec<String> = d.iter().map(|d| d.to_string()).collect();
            let mut body = json!({
                "error": "policy_invalid",
                "message": format!("{} problem(s); nothing was published:\n{}", d.len(), lines.join("\n")),
            });
            body["diagnostics"] = d
                .iter()
                .map(
                    |d| json!({"file": d.file, "line": d.line, "column": d.column, "key": d.key, "message": d.message}),
                )
                .collect();
            (unprocessable, Json(body)).into_response()
        }
        Rejected::Tests(t) => {
            let failures: Vec<_> = t.results.iter().filter(|r| r.failure.is_some()).collect();
            let lines: Vec<String> = failures
                .iter()
                .map(|r| {
                    format!(
                        "FAIL {} › {} (line {}): {}",
                        r.suite,
                        r.case.as_deref().unwrap_or("?"),
                        r.line,
                        r.failure.as_deref().unwrap_or_default()
                    )
                })
                .collect();
            let body = json!({
                "error": "tests_failed",
                "message": format!("{} passed, {} failed; nothing was published:\n{}", t.passed, t.failed, lines.join("\n")),
                "passed": t.passed,
                "failed": t.failed,
                "failures": failures,
            });
            (unprocessable, Json(body)).into_response()
        }
    }
}

/// The answer for a publish's outcome.
pub(crate) fn published(r: Result<(crate::policy_store::VersionInfo, u64), PublishError>) -> Response {
    match r {
        Ok((info, snapshot)) => {
            eprintln!(
                "policy version {} published by {} ({:?}): snapshot version {snapshot}",
                info.version, info.published_by, info.source
            );
            let mut body = serde_json::to_value(&info).unwrap_or_default();
            body["snapshot_version"] = json!(snapshot);
            (StatusCode::CREATED, Json(body)).into_response()
        }
        Err(PublishError::Unchanged(v)) => error(
            StatusCode::CONFLICT,
            "policy_unchanged",
            format!("this content is what policy version {v} already serves; nothing was published"),
        ),
        Err(PublishError::Rejected(r)) => rejected(r),
        Err(PublishError::Failed(m)) => error(StatusCode::SERVICE_UNAVAILABLE, "storage_failed", m),
    }
}

/// Checks a push and publishes it (shared with nothing else: the console only rolls back).
pub(crate) async fn push_as(app: &App, admin: &Principal, body: PushBody) -> Response {
    let why = match reason(body.reason) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let files = body.files;
    // Suites build engines and evaluate CEL: off the async workers.
    let checked = tokio::task::spawn_blocking(move || check_push(&files).map(|(set, t)| (set, t, files))).await;
    let (set, tests, files) = match checked {
        Ok(Ok(x)) => x,
        Ok(Err(r)) => return rejected(r),
        Err(_) => return error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the policy check failed"),
    };
    let v = NewVersion {
        by: admin.identity.clone(),
        reason: why,
        source: Source::Push,
        rolled_back_from: None,
        set,
        files,
        tests,
    };
    published(app.publish_policies(v).await)
}

pub(super) async fn push(State(app): Shared, headers: HeaderMap, bytes: axum::body::Bytes) -> Response {
    let admin = match authorize(&app.credentials, &headers, &[Role::Admin]) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let body: PushBody = match parse(&bytes) {
        Ok(b) => b,
        Err(r) => return r,
    };
    push_as(&app, &admin, body).await
}

/// Publishes version `from`'s content as a new version (the console's rollback calls this too).
pub(crate) async fn rollback_as(app: &App, admin: &Principal, from: u64, why: String) -> Response {
    let old = match find(app, from).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let v = NewVersion {
        by: admin.identity.clone(),
        reason: why,
        source: Source::Rollback,
        rolled_back_from: Some(from),
        set: old.policy_set,
        files: old.files,
        tests: old.test_results,
    };
    published(app.publish_policies(v).await)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RollbackBody {
    #[serde(default)]
    reason: Option<String>,
}

pub(super) async fn rollback(
    State(app): Shared,
    Path(v): Path<String>,
    headers: HeaderMap,
    bytes: axum::body::Bytes,
) -> Response {
    let admin = match authorize(&app.credentials, &headers, &[Role::Admin]) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let v = match version_number(&v) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let body: RollbackBody = match parse(&bytes) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let why = match reason(body.reason) {
        Ok(r) => r,
        Err(r) => return r,
    };
    rollback_as(&app, &admin, v, why).await
}

#[expect(clippy::result_large_err, reason = "see `error::parse`")]
fn version_number(s: &str) -> Result<u64, Response> {
    s.parse::<u64>().ok().filter(|v| *v > 0).ok_or_else(|| {
        error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("`{s}` is not a policy version number (1, 2, 3, ...)"),
        )
    })
}

/// Version `v`, or the `404 version_not_found` / `503` answer.
pub(crate) async fn find(app: &App, v: u64) -> Result<Version, Response> {
    match app.policy_store.get(v).await {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(error(
            StatusCode::NOT_FOUND,
            "version_not_found",
            format!("there is no policy version {v}"),
        )),
        Err(m) => Err(error(StatusCode::SERVICE_UNAVAILABLE, "storage_failed", m)),
    }
}

pub(super) async fn list(State(app): Shared, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&app.credentials, &headers, &[Role::Admin]) {
        return r;
    }
    let current = app.lock().policy_version;
    match app.policy_store.list().await {
        Ok(versions) => Json(json!({"current": current, "versions": versions})).into_response(),
        Err(m) => error(StatusCode::SERVICE_UNAVAILABLE, "storage_failed", m),
    }
}

pub(super) async fn get_one(State(app): Shared, Path(v): Path<String>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&app.credentials, &headers, &[Role::Admin]) {
        return r;
    }
    let v = match version_number(&v) {
        Ok(v) => v,
        Err(r) => return r,
    };
    match find(&app, v).await {
        Ok(v) => Json(v).into_response(),
        Err(r) => r,
    }
}

/// The unified diff of two versions' canonical policy sets (`Err` is the answer to send).
pub(crate) async fn diff_of(app: &App, from: &str, to: &str) -> Result<String, Response> {
    let (from, to) = (version_number(from)?, version_number(to)?);
    let (a, b) = (find(app, from).await?, find(app, to).await?);
    Ok(diff((from, &canonical(&a.policy_set)), (to, &canonical(&b.policy_set))))
}

pub(super) async fn diff_route(
    State(app): Shared,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authorize(&app.credentials, &headers, &[Role::Admin]) {
        return r;
    }
    let (Some(from), Some(to)) = (q.get("from"), q.get("to")) else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "give both versions: `?from=N&to=M`",
        );
    };
    match diff_of(&app, from, to).await {
        Ok(d) => {
            Json(json!({"from": from.parse::<u64>().unwrap_or(0), "to": to.parse::<u64>().unwrap_or(0), "diff": d}))
                .into_response()
        }
        Err(r) => r,
    }
}
