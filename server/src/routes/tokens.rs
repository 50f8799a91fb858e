//! `POST /v1/tokens` (role issuer, for the agents that credential may mint for; protocol: tokens).

use super::Shared;
use crate::auth::{authorize, Role};
use crate::error::{error, parse};
use act_core::IssueRequest;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    agent: String,
    user_context: Map<String, Value>,
    #[serde(default)]
    agent_context: Map<String, Value>,
    #[serde(default)]
    policy: Option<Value>,
    #[serde(default)]
    ttl: Option<u64>,
}

pub(super) async fn mint(State(app): Shared, headers: HeaderMap, bytes: axum::body::Bytes) -> Response {
    let issuer = match authorize(&app.credentials, &headers, &[Role::Issuer]) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let b: TokenBody = match parse(&bytes) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if !issuer.may_mint_for(&b.agent) {
        return error(
            StatusCode::FORBIDDEN,
            "agent_not_allowed",
            format!(
                "issuer `{}` may not mint tokens for agent `{}`",
                issuer.identity, b.agent
            ),
        );
    }
    let req = IssueRequest {
        agent: b.agent,
        user_context: b.user_context,
        agent_context: b.agent_context,
        policy: b.policy,
        ttl_secs: b.ttl.unwrap_or(3600),
        holder_key: None,
    };
    match app.engine.issue_token(&req) {
        Ok(token) => (StatusCode::CREATED, Json(json!({"token": token}))).into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, e.code(), e.to_string()),
    }
}
