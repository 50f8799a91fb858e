//! Contract C5 over real HTTP: every route checks the credential's role; an agent key can never
//! mint, grant, revoke or switch off; issuers mint only for their agents.

mod common;

use common::*;
use serde_json::json;
use std::time::Duration;

const TOKEN_BODY: &str = r#"{"agent":"customer-support-bot","user_context":{"user_id":"42"}}"#;

#[test]
fn no_route_but_health_answers_without_a_known_key() {
    let s = Server::start(None, Duration::from_secs(60));
    assert_eq!(s.call(None, "GET", "/healthz", None).0, 200);
    let routes = [
        ("GET", "/v1/snapshot"),
        ("POST", "/v1/audit"),
        ("POST", "/v1/tokens"),
        ("GET", "/v1/approvals"),
        ("POST", "/v1/approvals"),
        ("GET", "/v1/approvals/x"),
        ("POST", "/v1/approvals/x/grant"),
        ("POST", "/v1/approvals/x/deny"),
        ("POST", "/v1/revocations"),
        ("GET", "/v1/revocations"),
        ("POST", "/v1/kill-switches"),
        ("GET", "/v1/kill-switches"),
        ("POST", "/v1/status"),
        ("GET", "/v1/fleet"),
    ];
    for (method, path) in routes {
        for key in [None, Some("not-a-key"), Some("")] {
            let (status, body) = s.call(key, method, path, Some("{}"));
            assert_eq!(
                (status, body["error"].as_str()),
                (401, Some("unauthorized")),
                "{method} {path} {key:?}"
            );
        }
    }
}

#[test]
fn an_agent_key_can_never_mint_grant_revoke_or_switch_off() {
    let s = Server::start(None, Duration::from_secs(60));
    // What it may do.
    assert_eq!(s.call(Some(AGENT), "GET", "/v1/snapshot", None).0, 200);
    let req = approval_request("42", "jti-1", 900).to_string();
    assert_eq!(s.call(Some(AGENT), "POST", "/v1/approvals", Some(&req)).0, 201);
    let id = approval_request("42", "jti-1", 900)["id"].as_str().unwrap().to_string();
    let before = s.app.current.borrow().version;
    // What it may not.
    let refused = [
        ("POST", "/v1/tokens".to_string(), TOKEN_BODY.to_string()),
        (
            "POST",
            format!("/v1/approvals/{id}/grant"),
            r#"{"reason":"mine"}"#.into(),
        ),
        (
            "POST",
            format!("/v1/approvals/{id}/deny"),
            r#"{"reason":"mine"}"#.into(),
        ),
        ("GET", "/v1/approvals".into(), String::new()),
        (
            "POST",
            "/v1/revocations".into(),
            r#"{"agents":["x"],"reason":"r"}"#.into(),
        ),
        (
            "POST",
            "/v1/kill-switches".into(),
            r#"{"on":false,"all":true,"reason":"r"}"#.into(),
        ),
        ("GET", "/v1/revocations".into(), String::new()),
    ];
    for (method, path, body) in &refused {
        let (status, b) = s.call(Some(AGENT), method, path, Some(body));
        assert_eq!(
            (status, b["error"].as_str()),
            (403, Some("forbidden_role")),
            "{method} {path}: {b}"
        );
        assert!(b["message"].as_str().unwrap().contains("role agent"), "{b}");
    }
    assert_eq!(
        s.call(Some(APPROVER), "GET", &format!("/v1/approvals/{id}"), None).1["status"],
        "pending"
    );
    assert_eq!(s.app.current.borrow().version, before, "nothing was published");
}

#[test]
fn each_other_role_is_kept_to_its_own_routes() {
    let s = Server::start(None, Duration::from_secs(60));
    // The issuer mints for its agents only, and does nothing else.
    let (status, b) = s.call(Some(ISSUER), "POST", "/v1/tokens", Some(TOKEN_BODY));
    assert_eq!(status, 201, "{b}");
    let other = r#"{"agent":"email-assistant","user_context":{"user_id":"42"}}"#;
    let (status, b) = s.call(Some(ISSUER), "POST", "/v1/tokens", Some(other));
    assert_eq!((status, b["error"].as_str()), (403, Some("agent_not_allowed")), "{b}");
    for key in [ISSUER, APPROVER] {
        assert_eq!(
            s.call(Some(key), "GET", "/v1/snapshot", None).1["error"],
            "forbidden_role"
        );
        assert_eq!(
            s.call(Some(key), "POST", "/v1/audit", Some("[]")).1["error"],
            "forbidden_role"
        );
        let (status, _) = s.call(
            Some(key),
            "POST",
            "/v1/revocations",
            Some(r#"{"agents":["x"],"reason":"r"}"#),
        );
        assert_eq!(status, 403);
    }
    // Approvers and admins do not mint; admins do not decide approvals (separation of duties).
    for key in [APPROVER, ADMIN] {
        assert_eq!(s.call(Some(key), "POST", "/v1/tokens", Some(TOKEN_BODY)).0, 403);
    }
    let req = approval_request("42", "jti-2", 900);
    s.call(Some(AGENT), "POST", "/v1/approvals", Some(&req.to_string()));
    let grant = format!("/v1/approvals/{}/grant", req["id"].as_str().unwrap());
    let (status, b) = s.call(Some(ADMIN), "POST", &grant, Some(r#"{"reason":"ok"}"#));
    assert_eq!((status, b["error"].as_str()), (403, Some("forbidden_role")));
    assert_eq!(s.call(Some(ADMIN), "GET", "/v1/snapshot", None).0, 200);
    assert_eq!(s.call(Some(ADMIN), "GET", "/v1/approvals", None).0, 200);
    let (status, b) = s.call(
        Some(ADMIN),
        "POST",
        "/v1/revocations",
        Some(&json!({"agents": ["x"], "reason": "test"}).to_string()),
    );
    assert_eq!(status, 200, "{b}");
}
