//! Kill switches and revocations (admin): what is in effect, forms to change it (each with a
//! reason and an explicit confirmation), how far each change has reached the fleet, and the
//! history. Changes go through [`App::change_revocations`](crate::state::App::change_revocations),
//! as `POST /v1/kill-switches` and `POST /v1/revocations` do.

use super::view::{utc, Nav};
use super::{message, page_session, post_session, render, Form, St};
use crate::auth::Role;
use crate::error::reason;
use crate::revocations::{Event, KillSwitchBody, RevokeBody};
use crate::state::{now_ms, ChangeError};
use act_core::policy::GrantRevocation;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

/// One switch in effect.
struct Switch {
    /// `all`, `agent` or `action`.
    scope: &'static str,
    /// The agent or action (empty for `all`).
    name: String,
    /// Turned on through the console/API (liftable here) rather than in a policy file.
    api: bool,
}

struct HistoryRow {
    at: String,
    by: String,
    action: String,
    target: String,
    reason: String,
}

struct InstanceRow {
    instance_id: String,
    identity: String,
    version: u64,
    current: bool,
}

#[derive(Template)]
#[template(path = "console/switches.html")]
struct SwitchesPage {
    nav: Option<Nav>,
    csrf: String,
    switches: Vec<Switch>,
    tokens: Vec<String>,
    agents: Vec<String>,
    subjects: Vec<String>,
    grants: Vec<String>,
    version: u64,
    instances: Vec<InstanceRow>,
    reached: usize,
    history: Vec<HistoryRow>,
    error: Option<String>,
}

fn grant_text(g: &GrantRevocation) -> String {
    match &g.subject {
        Some(s) => format!("{} / {} (user {s})", g.agent, g.action),
        None => format!("{} / {}", g.agent, g.action),
    }
}

fn history_row(e: &Event) -> HistoryRow {
    HistoryRow {
        at: utc(e.at_ms),
        by: e.by.clone(),
        action: e.action.replace('_', " "),
        target: e.target.to_string(),
        reason: e.reason.clone(),
    }
}

fn show(c: &super::Console, s: &super::Session, error: Option<String>, code: StatusCode) -> Response {
    let inner = c.app.lock();
    let api = inner.revocations.kill_switches.clone().unwrap_or_default();
    let files = &inner.files.kill_switches;
    let mut switches = Vec::new();
    if api.all || files.all {
        switches.push(Switch {
            scope: "all",
            name: String::new(),
            api: api.all,
        });
    }
    for (scope, api_list, file_list) in [
        ("agent", &api.agents, &files.agents),
        ("action", &api.actions, &files.actions),
    ] {
        let mut names: Vec<&String> = api_list.iter().chain(file_list.iter()).collect();
        names.sort();
        names.dedup();
        for n in names {
            switches.push(Switch {
                scope,
                name: n.clone(),
                api: api_list.contains(n),
            });
        }
    }
    let r = &inner.revocations;
    let fleet = inner.fleet.view();
    let version = inner.version;
    let instances: Vec<InstanceRow> = fleet["instances"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| {
                    let v = i["snapshot_version"].as_u64().unwrap_or(0);
                    InstanceRow {
                        instance_id: i["instance_id"].as_str().unwrap_or_default().to_string(),
                        identity: i["identity"].as_str().unwrap_or_default().to_string(),
                        version: v,
                        current: v >= version,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let page = SwitchesPage {
        nav: Nav::page(s, "switches"),
        csrf: s.csrf.clone(),
        switches,
        tokens: r.tokens.clone(),
        agents: r.agents.clone(),
        subjects: r.subjects.clone(),
        grants: r.grants.iter().map(grant_text).collect(),
        version,
        reached: instances.iter().filter(|i| i.current).count(),
        instances,
        history: r.history.iter().rev().map(history_row).collect(),
        error,
    };
    drop(inner);
    render(code, &page)
}

pub(super) async fn page(State(c): St, headers: HeaderMap) -> Response {
    match page_session(&c, &headers, &[Role::Admin]) {
        Ok(s) => show(&c, &s, None, StatusCode::OK),
        Err(r) => r,
    }
}

/// Checks the reason and the confirmation box; `Err` is the page to show.
#[expect(clippy::result_large_err, reason = "see `super::page_session`")]
fn reason_and_confirm(c: &super::Console, s: &super::Session, form: &Form) -> Result<String, Response> {
    let why = match reason(form.get("reason")) {
        Ok(w) => w,
        Err(r) => {
            let _ = r;
            return Err(show(
                c,
                s,
                Some("A reason is required (at most 1000 characters): it is recorded with your identity.".into()),
                StatusCode::BAD_REQUEST,
            ));
        }
    };
    if form.get("confirm").as_deref() != Some("yes") {
        return Err(show(
            c,
            s,
            Some("Tick the confirmation box: this change reaches every SDK instance at once.".into()),
            StatusCode::BAD_REQUEST,
        ));
    }
    Ok(why)
}

fn applied(c: &super::Console, s: &super::Session, r: Result<u64, ChangeError>, what: &str) -> Response {
    match r {
        Ok(version) => {
            eprintln!("console {what} by {}: snapshot version {version}", s.principal.identity);
            Redirect::to("/console/switches").into_response()
        }
        Err(ChangeError::Invalid(m)) => show(c, s, Some(m), StatusCode::BAD_REQUEST),
        Err(ChangeError::Failed(m)) => show(c, s, Some(m), StatusCode::SERVICE_UNAVAILABLE),
    }
}

pub(super) async fn kill(State(c): St, headers: HeaderMap, bytes: axum::body::Bytes) -> Response {
    let form = Form::parse(&bytes);
    let s = match post_session(&c, &headers, &form, &[Role::Admin]) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let why = match reason_and_confirm(&c, &s, &form) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let on = match form.get("on").as_deref() {
        Some("true") => true,
        Some("false") => false,
        _ => return message(StatusCode::BAD_REQUEST, Some(&s), "No change", "Choose on or off."),
    };
    let name = form.get("name").map(|n| vec![n]).unwrap_or_default();
    let mut b = KillSwitchBody {
        on,
        ..KillSwitchBody::default()
    };
    match form.get("scope").as_deref() {
        Some("all") => b.all = true,
        Some("agent") => b.agents = name,
        Some("action") => b.actions = name,
        _ => {
            return show(
                &c,
                &s,
                Some("Choose what to switch: all, an agent or an action.".into()),
                StatusCode::BAD_REQUEST,
            )
        }
    }
    let r = c
        .app
        .change_revocations(|st| st.kill_switch(&b, &s.principal.identity, &why, now_ms()))
        .await;
    applied(&c, &s, r, if on { "kill switch on" } else { "kill switch lifted" })
}

pub(super) async fn revoke(State(c): St, headers: HeaderMap, bytes: axum::body::Bytes) -> Response {
    let form = Form::parse(&bytes);
    let s = match post_session(&c, &headers, &form, &[Role::Admin]) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let why = match reason_and_confirm(&c, &s, &form) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let value = form.get("value");
    let mut b = RevokeBody::default();
    match (form.get("kind").as_deref(), value) {
        (Some("token"), Some(v)) => b.tokens = vec![v],
        (Some("agent"), Some(v)) => b.agents = vec![v],
        (Some("subject"), Some(v)) => b.subjects = vec![v],
        (Some("grant"), _) => match (form.get("grant_agent"), form.get("grant_action")) {
            (Some(agent), Some(action)) => {
                b.grants = vec![GrantRevocation {
                    agent,
                    action,
                    subject: form.get("grant_subject"),
                }]
            }
            _ => {
                return show(
                    &c,
                    &s,
                    Some("A grant revocation names the agent and the action (the user is optional).".into()),
                    StatusCode::BAD_REQUEST,
                )
            }
        },
        _ => {
            return show(
                &c,
                &s,
                Some("Choose what to revoke and give its id.".into()),
                StatusCode::BAD_REQUEST,
            )
        }
    }
    let r = c
        .app
        .change_revocations(|st| st.revoke(&b, &s.principal.identity, &why, now_ms()))
        .await;
    applied(&c, &s, r, "revocation")
}
