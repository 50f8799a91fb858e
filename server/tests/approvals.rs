//! Contract C3 over real HTTP: requests are checked against their id and context hash before they
//! are stored, expire, are decided once by an approver whose identity comes from the credential,
//! never by the identity that asked, and can be long-polled.

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn id(req: &Value) -> String {
    req["id"].as_str().unwrap().to_string()
}

#[test]
fn a_request_whose_id_or_context_does_not_match_its_fields_is_refused() {
    let s = Server::start(None, Duration::from_secs(60));
    // The attack: the request is for $5,000 but the approver would be shown $5.
    let mut forged = approval_request("42", "jti-1", 5000);
    forged["resource"] = json!("order://customer:42/999");
    let (status, b) = s.call(Some(AGENT), "POST", "/v1/approvals", Some(&forged.to_string()));
    assert_eq!(
        (status, b["error"].as_str()),
        (422, Some("approval_request_mismatch")),
        "{b}"
    );

    let mut shown_less = approval_request("42", "jti-1", 5000);
    shown_less["context"] = json!({"amount": 5});
    let (status, b) = s.call(Some(AGENT), "POST", "/v1/approvals", Some(&shown_less.to_string()));
    assert_eq!(
        (status, b["error"].as_str()),
        (422, Some("approval_request_mismatch")),
        "{b}"
    );
    let (_, list) = s.call(Some(APPROVER), "GET", "/v1/approvals", None);
    assert_eq!(list["approvals"], json!([]), "nothing stored");

    let honest = approval_request("42", "jti-1", 5000);
    let (status, b) = s.call(Some(AGENT), "POST", "/v1/approvals", Some(&honest.to_string()));
    assert_eq!(status, 201, "{b}");
    assert_eq!(
        (b["context"]["amount"].as_i64(), b["status"].as_str()),
        (Some(5000), Some("pending"))
    );
    assert_eq!(b["requested_by"], "bot-host");
    assert!(b["expires_at_ms"].as_i64().unwrap() > b["created_at_ms"].as_i64().unwrap());
    // The same request again: the existing entry.
    assert_eq!(
        s.call(Some(AGENT), "POST", "/v1/approvals", Some(&honest.to_string()))
            .0,
        200
    );
}

#[test]
fn an_approver_decides_once_with_identity_from_the_credential_and_a_reason() {
    let s = Server::start(None, Duration::from_secs(60));
    let req = approval_request("42", "jti-1", 900);
    s.call(Some(AGENT), "POST", "/v1/approvals", Some(&req.to_string()));
    let grant = format!("/v1/approvals/{}/grant", id(&req));
    // A free-text approver is not accepted: identity comes from the key.
    let (status, b) = s.call(
        Some(APPROVER),
        "POST",
        &grant,
        Some(r#"{"approver":"ceo","reason":"ok"}"#),
    );
    assert_eq!(status, 400, "{b}");
    let (status, b) = s.call(Some(APPROVER), "POST", &grant, Some("{}"));
    assert_eq!(
        (status, b["error"].as_str()),
        (400, Some("bad_request")),
        "a reason is required: {b}"
    );
    let (status, b) = s.call(
        Some(APPROVER),
        "POST",
        &grant,
        Some(r#"{"reason":"customer verified","ttl":60}"#),
    );
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["status"], "granted");
    assert_eq!(b["decided_by"], "alice");
    assert_eq!(b["reason"], "customer verified");
    assert!(b["decided_at_ms"].as_i64().is_some());
    let approval = b["approval"].as_str().unwrap();
    // Signed by the server's key, naming the approver from the credential and exactly this request.
    let vk = s.app.key.verifying_key();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let a = act_core::approval::verify_approval(approval, &|kid| (kid == vk.kid()).then(|| vk.clone()), now).unwrap();
    assert_eq!((a.approver.as_str(), a.request_id), ("alice", id(&req)));
    // Decided once.
    let deny = format!("/v1/approvals/{}/deny", id(&req));
    let (status, b) = s.call(Some(APPROVER_BOB), "POST", &deny, Some(r#"{"reason":"no"}"#));
    assert_eq!((status, b["error"].as_str()), (409, Some("already_decided")));
    assert_eq!(
        s.call(Some(APPROVER_BOB), "POST", &grant, Some(r#"{"reason":"x"}"#)).0,
        409
    );
}

#[test]
fn an_approver_cannot_decide_a_request_made_under_their_identity_or_on_their_behalf() {
    let s = Server::start(None, Duration::from_secs(60));
    // Made with alice's agent credential.
    let mine = approval_request("42", "jti-a", 900);
    assert_eq!(
        s.call(Some(AGENT_ALICE), "POST", "/v1/approvals", Some(&mine.to_string()))
            .0,
        201
    );
    // Made for alice as the subject.
    let for_me = approval_request("alice", "jti-b", 900);
    assert_eq!(
        s.call(Some(AGENT), "POST", "/v1/approvals", Some(&for_me.to_string()))
            .0,
        201
    );
    for req in [&mine, &for_me] {
        for verb in ["grant", "deny"] {
            let path = format!("/v1/approvals/{}/{verb}", id(req));
            let (status, b) = s.call(Some(APPROVER), "POST", &path, Some(r#"{"reason":"trust me"}"#));
            assert_eq!((status, b["error"].as_str()), (403, Some("self_approval")), "{b}");
        }
        let path = format!("/v1/approvals/{}/grant", id(req));
        let (status, b) = s.call(Some(APPROVER_BOB), "POST", &path, Some(r#"{"reason":"checked"}"#));
        assert_eq!((status, b["decided_by"].as_str()), (200, Some("bob")));
    }
}

#[test]
fn an_agent_long_polls_its_request_until_decided_and_sees_only_its_own() {
    let s = Server::start(None, Duration::from_secs(60));
    let req = approval_request("42", "jti-1", 900);
    s.call(Some(AGENT), "POST", "/v1/approvals", Some(&req.to_string()));
    let url = format!("{}/v1/approvals/{}?wait=20", s.url, id(&req));
    let started = Instant::now();
    let poll = std::thread::spawn(move || http("GET", &url, Some(AGENT), None));
    std::thread::sleep(Duration::from_millis(300));
    let deny = format!("/v1/approvals/{}/deny", id(&req));
    assert_eq!(
        s.call(Some(APPROVER), "POST", &deny, Some(r#"{"reason":"too large"}"#))
            .0,
        200
    );
    let (status, body) = poll.join().unwrap();
    let took = started.elapsed();
    let b: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (status, b["status"].as_str(), b["reason"].as_str()),
        (200, Some("denied"), Some("too large"))
    );
    assert!(took < Duration::from_secs(3), "answered at the decision, took {took:?}");
    // Another agent credential does not see it.
    let (status, _) = s.call(Some(AGENT_ALICE), "GET", &format!("/v1/approvals/{}", id(&req)), None);
    assert_eq!(status, 404);
    assert_eq!(s.call(Some(AGENT), "GET", "/v1/approvals/nope?wait=1", None).0, 404);
    assert_eq!(s.call(Some(AGENT), "GET", "/v1/approvals/nope?wait=x", None).0, 400);
}

#[test]
fn a_request_nobody_decides_expires_and_can_no_longer_be_granted() {
    let s = Server::start(None, Duration::from_millis(800));
    let req = approval_request("42", "jti-1", 900);
    s.call(Some(AGENT), "POST", "/v1/approvals", Some(&req.to_string()));
    let started = Instant::now();
    let (status, b) = s.call(Some(AGENT), "GET", &format!("/v1/approvals/{}?wait=20", id(&req)), None);
    assert_eq!((status, b["status"].as_str()), (200, Some("expired")), "{b}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the poll ends at the expiry"
    );
    let grant = format!("/v1/approvals/{}/grant", id(&req));
    let (status, b) = s.call(Some(APPROVER), "POST", &grant, Some(r#"{"reason":"late"}"#));
    assert_eq!((status, b["error"].as_str()), (409, Some("already_decided")), "{b}");
    let (_, list) = s.call(Some(APPROVER), "GET", "/v1/approvals?status=expired", None);
    assert_eq!(list["approvals"].as_array().unwrap().len(), 1);
    assert_eq!(s.call(Some(APPROVER), "GET", "/v1/approvals?status=bogus", None).0, 400);
    // Asked again after expiry: a fresh pending request.
    let (status, b) = s.call(Some(AGENT), "POST", "/v1/approvals", Some(&req.to_string()));
    assert_eq!((status, b["status"].as_str()), (201, Some("pending")));
}

#[test]
fn with_a_state_folder_requests_and_decisions_survive_a_restart_in_sqlite() {
    let dir = TempDir::new("approvals-db");
    let decided = approval_request("42", "jti-1", 900);
    let waiting = approval_request("42", "jti-2", 300);
    {
        let s = Server::start(Some(&dir.0), Duration::from_secs(60));
        for r in [&decided, &waiting] {
            assert_eq!(
                s.call(Some(AGENT), "POST", "/v1/approvals", Some(&r.to_string())).0,
                201
            );
        }
        let grant = format!("/v1/approvals/{}/grant", id(&decided));
        assert_eq!(
            s.call(Some(APPROVER), "POST", &grant, Some(r#"{"reason":"verified"}"#))
                .0,
            200
        );
    }
    assert!(dir.0.join("act.sqlite").exists());
    let s = Server::start(Some(&dir.0), Duration::from_secs(60));
    let (_, b) = s.call(Some(AGENT), "GET", &format!("/v1/approvals/{}", id(&decided)), None);
    assert_eq!(
        (b["status"].as_str(), b["decided_by"].as_str(), b["reason"].as_str()),
        (Some("granted"), Some("alice"), Some("verified"))
    );
    assert!(b["approval"].as_str().is_some());
    // Decided once, across restarts too; the pending one can still be decided.
    let again = format!("/v1/approvals/{}/deny", id(&decided));
    assert_eq!(
        s.call(Some(APPROVER_BOB), "POST", &again, Some(r#"{"reason":"no"}"#)).0,
        409
    );
    let (_, b) = s.call(Some(AGENT), "GET", &format!("/v1/approvals/{}", id(&waiting)), None);
    assert_eq!(
        (b["status"].as_str(), b["requested_by"].as_str()),
        (Some("pending"), Some("bot-host"))
    );
    let deny = format!("/v1/approvals/{}/deny", id(&waiting));
    assert_eq!(
        s.call(Some(APPROVER_BOB), "POST", &deny, Some(r#"{"reason":"no"}"#)).0,
        200
    );
}
