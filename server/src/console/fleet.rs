//! The fleet (admin): every SDK instance the server has heard from, the snapshot version it
//! serves, how far behind it is, its last sync and open circuit breakers ([`crate::fleet`]).

use super::view::{span, value, Nav};
use super::{page_session, render, St};
use crate::auth::Role;
use crate::state::now_ms;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;

struct InstanceRow {
    instance_id: String,
    identity: String,
    user_agent: String,
    version: u64,
    lag: String,
    behind: bool,
    last_sync: String,
    last_seen: String,
    last_error: String,
    audit: String,
    breakers: Vec<String>,
}

#[derive(Template)]
#[template(path = "console/fleet.html")]
struct FleetPage {
    nav: Option<Nav>,
    version: u64,
    instances: Vec<InstanceRow>,
    versions: Vec<(String, String)>,
}

fn instance_row(i: &Value, current: u64, now: i64) -> InstanceRow {
    let version = i["snapshot_version"].as_u64().unwrap_or(0);
    // Versions are the milliseconds they were signed at, so the difference is how old the
    // instance's policies are compared with what the server serves now.
    let (lag, behind) = if version == 0 {
        ("no snapshot".to_string(), true)
    } else if version >= current {
        ("current".to_string(), false)
    } else {
        (format!("{} behind", span((current - version) as i64)), true)
    };
    let ago = |k: &str| {
        i[k].as_i64()
            .map(|t| format!("{} ago", span(now - t)))
            .unwrap_or_default()
    };
    let breakers = i["open_breakers"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|b| format!("{} / {}", value(&b["agent"]), value(&b["subject"])))
                .collect()
        })
        .unwrap_or_default();
    InstanceRow {
        instance_id: value(&i["instance_id"]),
        identity: value(&i["identity"]),
        user_agent: i["user_agent"].as_str().unwrap_or_default().to_string(),
        version,
        lag,
        behind,
        last_sync: ago("last_sync_ms"),
        last_seen: ago("last_seen_ms"),
        last_error: i["last_error"].as_str().unwrap_or_default().to_string(),
        audit: match &i["audit"] {
            Value::Object(m) => m
                .iter()
                .filter(|(k, _)| *k != "last_error")
                .map(|(k, v)| format!("{k} {}", value(v)))
                .collect::<Vec<_>>()
                .join(", "),
            _ => String::new(),
        },
        breakers,
    }
}

pub(super) async fn fleet(State(c): St, headers: HeaderMap) -> Response {
    let s = match page_session(&c, &headers, &[Role::Admin]) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (view, version) = {
        let inner = c.app.lock();
        (inner.fleet.view(), inner.version)
    };
    let now = now_ms();
    let instances = view["instances"]
        .as_array()
        .map(|a| a.iter().map(|i| instance_row(i, version, now)).collect())
        .unwrap_or_default();
    let versions = view["versions"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), value(v))).collect())
        .unwrap_or_default();
    render(
        StatusCode::OK,
        &FleetPage {
            nav: Nav::page(&s, "fleet"),
            version,
            instances,
            versions,
        },
    )
}
