//! The approvals inbox: pending requests first, with everything the approver decides on, then
//! the decided ones, searchable. Decisions call [`decide_as`], the function behind
//! `POST /v1/approvals/{id}/grant|deny`.

use super::session::CONSOLE_ROLES;
use super::view::{span, utc, value, Nav};
use super::{message, page_session, post_session, render, Form, St};
use crate::approvals::{Entry, Status};
use crate::auth::Role;
use crate::routes::approvals::decide_as;
use crate::state::now_ms;
use act_core::policy::{ConstraintKind, PolicySet};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

/// A pending request as shown.
pub(crate) struct Card {
    pub id: String,
    pub agent: String,
    pub subject: String,
    pub action: String,
    pub resource: String,
    pub args: Vec<(String, String)>,
    pub constraint: String,
    pub condition: String,
    pub token_id: String,
    /// The delegation chain's agents, root first, as the agent's SDK reported it.
    pub chain: String,
    /// The other approval rules that fired on the request: (constraint, condition).
    pub also: Vec<(String, String)>,
    pub requested_by: String,
    pub age: String,
    pub expires_in: String,
    pub expires_at: String,
    /// Asked under the viewer's identity or on their behalf: another approver must decide it.
    pub own: bool,
    /// Whether the rule and condition shown match the policy serving now.
    pub rule_ok: bool,
    /// What that check found, in words.
    pub rule_check: String,
}

/// A decided (or expired) request as shown.
pub(crate) struct Row {
    pub id: String,
    pub agent: String,
    pub subject: String,
    pub action: String,
    pub resource: String,
    pub args: String,
    pub status: &'static str,
    pub decided_by: String,
    pub decided_at: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "console/pending.html")]
struct PendingList {
    pending: Vec<Card>,
    can_decide: bool,
    csrf: String,
}

#[derive(Template)]
#[template(path = "console/approvals.html")]
struct ApprovalsPage {
    nav: Option<Nav>,
    pending: Vec<Card>,
    can_decide: bool,
    csrf: String,
    decided: Vec<Row>,
    q: String,
    status: String,
    notice: Option<String>,
    error: Option<String>,
}

fn status_name(s: Status) -> &'static str {
    match s {
        Status::Pending => "pending",
        Status::Granted => "granted",
        Status::Denied => "denied",
        Status::Expired => "expired",
    }
}

/// The constraint and condition of a request are display members the agent sends (the request
/// id does not bind them), so the console checks them against the policy files serving now.
fn check_rule(files: &PolicySet, constraint: &str, condition: &str) -> (bool, String) {
    let found = files
        .agents
        .iter()
        .flat_map(|a| a.grants.iter())
        .flat_map(|g| g.constraints.iter())
        .find(|c| c.id == constraint);
    match found.map(|c| &c.kind) {
        Some(ConstraintKind::ApprovalIf { cel }) if cel == condition => {
            (true, "matches the policy serving now".to_string())
        }
        Some(ConstraintKind::ApprovalIf { cel }) => (
            false,
            format!("the agent sent this condition; the policy serving now says `{cel}`"),
        ),
        Some(_) => (
            false,
            "the agent sent this; in the policy serving now that rule does not ask for approval".to_string(),
        ),
        None => (
            false,
            "the agent sent this; no such rule in the policy files (it may come from a token's inline capabilities)"
                .to_string(),
        ),
    }
}

fn card(e: &Entry, now: i64, files: &PolicySet, viewer: &str) -> Card {
    let r = &e.request;
    let (rule_ok, rule_check) = check_rule(files, &r.constraint, &r.condition);
    Card {
        // The same rule `Approvals::check_decidable` enforces; here it only hides the buttons.
        own: e.requested_by == viewer || r.subject == viewer,
        rule_ok,
        rule_check,
        id: r.id.clone(),
        agent: r.agent.clone(),
        subject: r.subject.clone(),
        action: r.action.clone(),
        resource: r.resource.clone(),
        args: r.context.iter().map(|(k, v)| (k.clone(), value(v))).collect(),
        constraint: r.constraint.clone(),
        condition: r.condition.clone(),
        token_id: r.token_id.clone(),
        chain: r.chain.join(" → "),
        also: r
            .conditions
            .iter()
            .skip(1)
            .map(|c| (c.constraint.clone(), c.condition.clone()))
            .collect(),
        requested_by: e.requested_by.clone(),
        age: span(now - e.created_at_ms),
        expires_in: span(e.expires_at_ms - now),
        expires_at: utc(e.expires_at_ms),
    }
}

fn row(e: &Entry) -> Row {
    let r = &e.request;
    Row {
        id: r.id.clone(),
        agent: r.agent.clone(),
        subject: r.subject.clone(),
        action: r.action.clone(),
        resource: r.resource.clone(),
        args: r
            .context
            .iter()
            .map(|(k, v)| format!("{k}={}", value(v)))
            .collect::<Vec<_>>()
            .join(", "),
        status: status_name(e.status),
        decided_by: e.decided_by.clone().unwrap_or_default(),
        decided_at: e.decided_at_ms.map(utc).unwrap_or_else(|| utc(e.expires_at_ms)),
        reason: e.reason.clone().unwrap_or_default(),
    }
}

/// Whether `e` matches the search text (any of its shown fields contains it, case-insensitively).
fn matches(e: &Entry, q: &str) -> bool {
    if q.is_empty() {
        return true;
    }
    let q = q.to_lowercase();
    let r = &e.request;
    let args = serde_json::Value::Object(r.context.clone()).to_string();
    [
        &r.id,
        &r.agent,
        &r.subject,
        &r.action,
        &r.resource,
        &e.requested_by,
        e.decided_by.as_deref().unwrap_or_default(),
        e.reason.as_deref().unwrap_or_default(),
        &args,
    ]
    .iter()
    .any(|f| f.to_lowercase().contains(&q))
}

/// Most decided requests shown at once.
const DECIDED_SHOWN: usize = 200;

fn pending_cards(c: &super::Console, viewer: &str) -> Vec<Card> {
    let now = now_ms();
    let mut inner = c.app.lock();
    let list = inner.approvals.list(Some(Status::Pending), now);
    // Oldest first: the request closest to expiring is on top.
    list.iter().map(|e| card(e, now, &inner.files, viewer)).collect()
}

#[derive(Deserialize)]
pub(super) struct PageQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    decided: Option<String>,
}

pub(super) async fn page(State(c): St, headers: HeaderMap, Query(pq): Query<PageQuery>) -> Response {
    let s = match page_session(&c, &headers, &CONSOLE_ROLES) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let notice = pq.decided.as_deref().and_then(|id| {
        let e = c.app.lock().approvals.get(id, now_ms())?;
        (e.status != Status::Pending).then(|| {
            format!(
                "Request {} ({} {} on {}) is now {}.",
                e.request.id,
                e.request.agent,
                e.request.action,
                e.request.resource,
                status_name(e.status)
            )
        })
    });
    show(&c, &s, &pq.q, &pq.status, notice, None, StatusCode::OK)
}

fn show(
    c: &super::Console,
    s: &super::Session,
    q: &str,
    status: &str,
    notice: Option<String>,
    error: Option<String>,
    code: StatusCode,
) -> Response {
    let wanted = match status {
        "granted" => Some(Status::Granted),
        "denied" => Some(Status::Denied),
        "expired" => Some(Status::Expired),
        _ => None,
    };
    let decided: Vec<Row> = c
        .app
        .lock()
        .approvals
        .newest(now_ms(), DECIDED_SHOWN, |e| {
            e.status != Status::Pending && wanted.is_none_or(|w| w == e.status) && matches(e, q)
        })
        .iter()
        .map(row)
        .collect();
    render(
        code,
        &ApprovalsPage {
            nav: Nav::page(s, "approvals"),
            pending: pending_cards(c, &s.principal.identity),
            can_decide: s.principal.role == Role::Approver,
            csrf: s.csrf.clone(),
            decided,
            q: q.to_string(),
            status: wanted.map(status_name).unwrap_or("").to_string(),
            notice,
            error,
        },
    )
}

/// The pending list alone, for the page's polling script (`401` once the session ended).
pub(super) async fn pending(State(c): St, headers: HeaderMap) -> Response {
    // Polling is not activity: an unattended inbox still logs out after the idle limit.
    let polled = super::session::cookie(&headers, super::session::COOKIE).and_then(|id| c.sessions.peek(id, now_ms()));
    let Some(s) = polled else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    if super::check_role(&s, &CONSOLE_ROLES).is_err() {
        return StatusCode::FORBIDDEN.into_response();
    }
    render(
        StatusCode::OK,
        &PendingList {
            pending: pending_cards(&c, &s.principal.identity),
            can_decide: s.principal.role == Role::Approver,
            csrf: s.csrf.clone(),
        },
    )
}

pub(super) async fn decide(
    State(c): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Response {
    let form = Form::parse(&bytes);
    // Admins may open the inbox but not decide: `decide_as` refuses any role but approver.
    let s = match post_session(&c, &headers, &form, &CONSOLE_ROLES) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let grant = match form.get("decision").as_deref() {
        Some("grant") => true,
        Some("deny") => false,
        _ => {
            return message(
                StatusCode::BAD_REQUEST,
                Some(&s),
                "No decision",
                "Choose Approve or Deny.",
            )
        }
    };
    let ttl = match form.get("ttl").filter(|_| grant).map(|t| t.parse::<u64>()) {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(_)) => {
            return show(
                &c,
                &s,
                "",
                "",
                None,
                Some("The approval's validity must be whole seconds.".into()),
                StatusCode::BAD_REQUEST,
            )
        }
    };
    match decide_as(&c.app, &s.principal, &id, form.get("reason"), ttl, grant).await {
        Ok(e) => Redirect::to(&format!("/console/approvals?decided={}", e.request.id)).into_response(),
        Err(r) => {
            let (code, text) = super::api_error(r).await;
            show(&c, &s, "", "", None, Some(text), code)
        }
    }
}
