//! The audit explorer (admin): search the indexed records ([`crate::audit_index`]) by agent,
//! user, outcome, reason, action and time; a record's detail; the chain status of every SDK
//! instance (gaps and forks flagged); the filtered set as JSON Lines.

use super::view::{value, Nav};
use super::{message, page_session, render, St};
use crate::audit_index::{Indexed, Search};
use crate::auth::Role;
use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Rows shown on the page by default (the export takes up to the index's maximum).
const SHOWN: i64 = 100;

struct RecordRow {
    id: String,
    time: String,
    outcome: String,
    reason: String,
    agent: String,
    subject: String,
    action: String,
    resource: String,
    instance: String,
}

struct ChainRow {
    credential: String,
    instance: String,
    records: u64,
    gaps: u64,
    forks: u64,
    flagged: bool,
    last_id: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    nav: Option<Nav>,
    s: Search,
    reasons: Vec<&'static str>,
    rows: Vec<RecordRow>,
    export: String,
    indexed: i64,
    chains: Vec<ChainRow>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "console/audit_detail.html")]
struct DetailPage {
    nav: Option<Nav>,
    csrf: String,
    jti: String,
    agent: String,
    id: String,
    facts: Vec<(&'static str, String)>,
    args: Vec<(String, String)>,
    record: String,
}

fn text(v: &serde_json::Value, k: &str) -> String {
    match &v[k] {
        serde_json::Value::Null => String::new(),
        other => value(other),
    }
}

fn record_row(i: &Indexed) -> RecordRow {
    let r = &i.record;
    RecordRow {
        id: text(r, "id"),
        time: text(r, "time"),
        outcome: text(r, "outcome"),
        reason: text(r, "reason"),
        agent: text(r, "agent"),
        subject: text(r, "subject"),
        action: text(r, "action"),
        resource: text(r, "resource"),
        instance: i.chain.instance.clone(),
    }
}

fn chain_rows(c: &super::Console) -> Vec<ChainRow> {
    let inner = c.app.lock();
    inner
        .audit
        .chains()
        .iter()
        .map(|(k, ch)| ChainRow {
            credential: k.credential.clone(),
            instance: k.instance.clone(),
            records: ch.records,
            gaps: ch.gaps,
            forks: ch.forks,
            flagged: ch.gaps + ch.forks > 0,
            last_id: ch.last.as_ref().map(|(id, _)| id.clone()).unwrap_or_default(),
        })
        .collect()
}

pub(super) async fn page(State(c): St, headers: HeaderMap, q: Result<Query<Search>, QueryRejection>) -> Response {
    let s = match page_session(&c, &headers, &[Role::Admin]) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let search = q.map(|Query(q)| q).unwrap_or_default();
    let (rows, error, code) = match search.filter(SHOWN) {
        Ok(f) => match c.app.audit_index.search(&f).await {
            Ok(found) => (found.iter().map(record_row).collect(), None, StatusCode::OK),
            Err(m) => (Vec::new(), Some(m), StatusCode::SERVICE_UNAVAILABLE),
        },
        Err(m) => (Vec::new(), Some(m), StatusCode::BAD_REQUEST),
    };
    let page = AuditPage {
        nav: Nav::page(&s, "audit"),
        export: format!("/console/audit/export?{}", search.query_string()),
        s: search,
        reasons: act_core::Reason::ALL.iter().map(|r| r.as_str()).collect(),
        rows,
        indexed: c.app.audit_index.count().await.unwrap_or(0),
        chains: chain_rows(&c),
        error,
    };
    render(code, &page)
}

/// The filtered set as JSON Lines (one record as ingested per line, newest first).
pub(super) async fn export(State(c): St, headers: HeaderMap, q: Result<Query<Search>, QueryRejection>) -> Response {
    let s = match page_session(&c, &headers, &[Role::Admin]) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let search = q.map(|Query(q)| q).unwrap_or_default();
    let found = match search.filter(crate::audit_index::MAX_RESULTS) {
        Ok(f) => c.app.audit_index.search(&f).await,
        Err(m) => return message(StatusCode::BAD_REQUEST, Some(&s), "Bad search", &m),
    };
    let found = match found {
        Ok(f) => f,
        Err(m) => return message(StatusCode::SERVICE_UNAVAILABLE, Some(&s), "Search failed", &m),
    };
    let mut r = crate::audit_index::jsonl(&found).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jsonl; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"act-audit.jsonl\""),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub(super) async fn detail(State(c): St, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let s = match page_session(&c, &headers, &[Role::Admin]) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let found = match c.app.audit_index.get(&id).await {
        Ok(Some(f)) => f,
        Ok(None) => {
            return message(
                StatusCode::NOT_FOUND,
                Some(&s),
                "No such record",
                &format!("No audit record `{id}` is indexed."),
            )
        }
        Err(m) => return message(StatusCode::SERVICE_UNAVAILABLE, Some(&s), "Search failed", &m),
    };
    let r = &found.record;
    let facts = vec![
        ("Outcome", text(r, "outcome")),
        ("Reason", text(r, "reason")),
        ("Message", text(r, "message")),
        ("Rule (deciding grant)", text(r, "rule")),
        ("Constraint", text(r, "constraint")),
        ("Agent", text(r, "agent")),
        ("User", text(r, "subject")),
        ("Action", text(r, "action")),
        ("Resource", text(r, "resource")),
        ("Token id", text(r, "jti")),
        ("Time", text(r, "time")),
        ("Snapshot version", text(r, "snapshot_version")),
        ("Decision time (µs)", text(r, "latency_us")),
        ("SDK instance", found.chain.instance.clone()),
        ("Credential", found.chain.credential.clone()),
        ("Hash", text(r, "hash")),
        ("Previous hash", text(r, "prev_hash")),
    ];
    let args = r["context"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), value(v))).collect())
        .unwrap_or_default();
    render(
        StatusCode::OK,
        &DetailPage {
            nav: Nav::page(&s, "audit"),
            csrf: s.csrf.clone(),
            jti: text(r, "jti"),
            agent: text(r, "agent"),
            id,
            facts,
            args,
            record: serde_json::to_string_pretty(r).unwrap_or_default(),
        },
    )
}
