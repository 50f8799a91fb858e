//! The policies page (admin): every published version with who, when, why and its test results,
//! a diff between two versions, and rollback (a reason and an explicit confirmation; CSRF-checked).
//! Rollback goes through the same function as `POST /v1/policies/{v}/rollback`
//! ([`crate::routes::policies::rollback_as`]), and the diff through the one the API serves.

use super::view::{utc, Nav};
use super::{api_error, message, page_session, post_session, render, Form, St};
use crate::auth::Role;
use crate::error::reason;
use crate::policy_store::{Source, VersionInfo};
use crate::routes::policies::{diff_of, find, rollback_as};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use std::collections::HashMap;

struct VersionRow {
    version: u64,
    at: String,
    by: String,
    source: String,
    reason: String,
    tests: String,
}

struct CaseRow {
    suite: String,
    case: String,
    line: usize,
    passed: bool,
    failure: String,
}

#[derive(Template)]
#[template(path = "console/policies.html")]
struct PoliciesPage {
    nav: Option<Nav>,
    csrf: String,
    current: u64,
    snapshot: u64,
    versions: Vec<VersionRow>,
    /// The version shown in detail.
    shown: u64,
    shown_reason: String,
    cases: Vec<CaseRow>,
    files: Vec<(String, String)>,
    document: String,
    error: Option<String>,
}

/// One diff line: `add`, `del`, `hunk` or `same`, and its text.
struct DiffLine {
    kind: &'static str,
    text: String,
}

#[derive(Template)]
#[template(path = "console/policy_diff.html")]
struct DiffPage {
    nav: Option<Nav>,
    from: u64,
    to: u64,
    lines: Vec<DiffLine>,
}

fn row(v: &VersionInfo) -> VersionRow {
    let source = match (v.source, v.rolled_back_from) {
        (Source::Rollback, Some(from)) => format!("rollback to version {from}"),
        (Source::Push, _) => "push".into(),
        (Source::Folder, _) => "policy folder".into(),
        (Source::Rollback, None) => "rollback".into(),
    };
    VersionRow {
        version: v.version,
        at: utc(v.published_at_ms),
        by: v.published_by.clone(),
        source,
        reason: v.reason.clone(),
        tests: if v.tests.suites == 0 {
            "no suites".into()
        } else {
            let plural = if v.tests.suites == 1 { "" } else { "s" };
            format!(
                "{} passed, {} failed ({} suite{plural})",
                v.tests.passed, v.tests.failed, v.tests.suites
            )
        },
    }
}

async fn show(c: &super::Console, s: &super::Session, shown: Option<u64>, error: Option<String>) -> Response {
    let (current, snapshot) = {
        let inner = c.app.lock();
        (inner.policy_version, inner.version)
    };
    let versions = match c.app.policy_store.list().await {
        Ok(v) => v,
        Err(m) => return message(StatusCode::SERVICE_UNAVAILABLE, Some(s), "Storage failed", &m),
    };
    let shown = shown.unwrap_or(current);
    let detail = match find(&c.app, shown).await {
        Ok(v) => v,
        Err(r) => {
            let (status, text) = api_error(r).await;
            return message(status, Some(s), "No such version", &text);
        }
    };
    let page = PoliciesPage {
        nav: Nav::page(s, "policies"),
        csrf: s.csrf.clone(),
        current,
        snapshot,
        versions: versions.iter().map(row).collect(),
        shown,
        shown_reason: detail.info.reason.clone(),
        cases: detail
            .test_results
            .results
            .iter()
            .map(|r| CaseRow {
                suite: r.suite.clone(),
                case: r.case.clone().unwrap_or_default(),
                line: r.line,
                passed: r.failure.is_none(),
                failure: r.failure.clone().unwrap_or_default(),
            })
            .collect(),
        files: detail.files.into_iter().collect(),
        document: crate::policies::canonical(&detail.policy_set),
        error,
    };
    let status = if page.error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    render(status, &page)
}

pub(super) async fn page(State(c): St, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    let s = match page_session(&c, &headers, &[Role::Admin]) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let shown = match q.get("v").map(|v| v.parse::<u64>()) {
        None => None,
        Some(Ok(v)) => Some(v),
        Some(Err(_)) => {
            return message(
                StatusCode::BAD_REQUEST,
                Some(&s),
                "No such version",
                "`v` is a version number.",
            )
        }
    };
    show(&c, &s, shown, None).await
}

pub(super) async fn diff(State(c): St, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    let s = match page_session(&c, &headers, &[Role::Admin]) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (from, to) = (
        q.get("from").cloned().unwrap_or_default(),
        q.get("to").cloned().unwrap_or_default(),
    );
    let text = match diff_of(&c.app, &from, &to).await {
        Ok(t) => t,
        Err(r) => {
            let (status, text) = api_error(r).await;
            return message(status, Some(&s), "No diff", &text);
        }
    };
    let lines = text
        .lines()
        .map(|l| DiffLine {
            kind: match l.as_bytes().first() {
                Some(b'+') => "add",
                Some(b'-') => "del",
                Some(b'@') => "hunk",
                _ => "same",
            },
            text: l.to_string(),
        })
        .collect();
    render(
        StatusCode::OK,
        &DiffPage {
            nav: Nav::page(&s, "policies"),
            from: from.parse().unwrap_or(0),
            to: to.parse().unwrap_or(0),
            lines,
        },
    )
}

pub(super) async fn rollback(
    State(c): St,
    Path(v): Path<u64>,
    headers: HeaderMap,
    bytes: axum::body::Bytes,
) -> Response {
    let form = Form::parse(&bytes);
    let s = match post_session(&c, &headers, &form, &[Role::Admin]) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Ok(why) = reason(form.get("reason")) else {
        let m = "A reason is required (at most 1000 characters): it is recorded with your identity.";
        return show(&c, &s, Some(v), Some(m.into())).await;
    };
    if form.get("confirm").as_deref() != Some("yes") {
        let m = "Tick the confirmation box: a rollback reaches every SDK instance at once.";
        return show(&c, &s, Some(v), Some(m.into())).await;
    }
    let r = rollback_as(&c.app, &s.principal, v, why).await;
    if r.status() == StatusCode::CREATED {
        eprintln!("console rollback to policy version {v} by {}", s.principal.identity);
        return Redirect::to("/console/policies").into_response();
    }
    let (_, text) = api_error(r).await;
    show(&c, &s, Some(v), Some(text)).await
}
