//! `GET /v1/admin/keys`, `POST /v1/admin/keys`, `POST /v1/admin/keys/{id}/revoke|rotate` (role
//! admin): managed API keys, shown once, stored hashed ([`crate::keys`]).

use super::Shared;
use crate::auth::{authorize, Principal, Role};
use crate::error::{error, parse};
use crate::keys::{KeyError, KeyRecord};
use crate::state::now_ms;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

fn failed(e: KeyError) -> Response {
    match e {
        KeyError::NotFound(m) => error(StatusCode::NOT_FOUND, "key_not_found", m),
        KeyError::Revoked(m) => error(StatusCode::CONFLICT, "key_revoked", m),
        KeyError::Invalid(m) => error(StatusCode::BAD_REQUEST, "bad_request", m),
        KeyError::Failed(m) => error(StatusCode::SERVICE_UNAVAILABLE, "storage_failed", m),
    }
}

fn made(rec: KeyRecord, key: String) -> Response {
    let mut body = serde_json::to_value(&rec).unwrap_or_default();
    body["key"] = json!(key);
    (StatusCode::CREATED, Json(body)).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    role: Role,
    identity: String,
    #[serde(default)]
    agents: Vec<String>,
}

pub(super) async fn list(State(app): Shared, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&app.credentials, &headers, &[Role::Admin]) {
        return r;
    }
    let managed = match app.key_store.list().await {
        Ok(k) => k,
        Err(e) => return failed(e),
    };
    let bootstrap: Vec<_> = app
        .credentials
        .bootstrap()
        .into_iter()
        .map(|p| json!({"identity": p.identity, "role": p.role, "agents": p.agents}))
        .collect();
    Json(json!({"keys": managed, "bootstrap": bootstrap})).into_response()
}

pub(super) async fn create(State(app): Shared, headers: HeaderMap, bytes: axum::body::Bytes) -> Response {
    let admin = match authorize(&app.credentials, &headers, &[Role::Admin]) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let b: CreateBody = match parse(&bytes) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let p = Principal {
        identity: b.identity,
        role: b.role,
        agents: b.agents,
    };
    match app.key_store.create(&p, &admin.identity, None, now_ms()).await {
        Ok((rec, key, digest)) => {
            app.credentials.add_managed(digest, p);
            eprintln!(
                "api key {} ({} {}) made by {}",
                rec.id,
                rec.role.name(),
                rec.identity,
                admin.identity
            );
            made(rec, key)
        }
        Err(e) => failed(e),
    }
}

pub(super) async fn revoke(State(app): Shared, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let admin = match authorize(&app.credentials, &headers, &[Role::Admin]) {
        Ok(p) => p,
        Err(r) => return r,
    };
    match app.key_store.revoke(&id, &admin.identity, now_ms()).await {
        Ok((rec, digest)) => {
            app.credentials.remove_managed(&digest);
            eprintln!("api key {id} revoked by {}", admin.identity);
            Json(rec).into_response()
        }
        Err(e) => failed(e),
    }
}

/// A new key for the same identity, role and agents; the old one is revoked in the same transaction.
pub(super) async fn rotate(State(app): Shared, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let admin = match authorize(&app.credentials, &headers, &[Role::Admin]) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let old = match app.key_store.get(&id).await {
        Ok(r) => r,
        Err(e) => return failed(e),
    };
    let old_digest = match app.key_store.digest(&id).await {
        Ok(d) => d,
        Err(e) => return failed(e),
    };
    let p = Principal {
        identity: old.identity,
        role: old.role,
        agents: old.agents,
    };
    match app.key_store.create(&p, &admin.identity, Some(&id), now_ms()).await {
        Ok((rec, key, digest)) => {
            app.credentials.remove_managed(&old_digest);
            app.credentials.add_managed(digest, p);
            eprintln!("api key {id} rotated to {} by {}", rec.id, admin.identity);
            made(rec, key)
        }
        Err(e) => failed(e),
    }
}
