//! Policies as published versions over real HTTP: a push is compiled and its suites run before
//! anything is stored; a failure publishes nothing; versions are numbered, kept with who/when/why
//! across restarts, diffed and rolled back; a publish reaches long-polling SDKs at once.

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const SUITE: &str = "\
tokens:
  alice: {agent: customer-support-bot, user: {user_id: \"42\"}}
tests:
  - name: own order
    token: alice
    action: read_order
    resource: order://customer:42/1
    expect: allow
  - name: someone else's order
    token: alice
    action: read_order
    resource: order://customer:43/1
    expect: deny
";

/// SUPPORT with a lower refund limit.
fn stricter() -> String {
    SUPPORT.replace("maxAmount: 500", "maxAmount: 200")
}

fn push(s: &Server, key: &str, files: &[(&str, &str)], reason: Option<&str>) -> (u16, Value) {
    let files: serde_json::Map<String, Value> = files.iter().map(|(n, t)| (n.to_string(), json!(t))).collect();
    let mut body = json!({ "files": files });
    if let Some(r) = reason {
        body["reason"] = json!(r);
    }
    s.call(Some(key), "POST", "/v1/policies", Some(&body.to_string()))
}

fn max_amount(s: &Server) -> String {
    let jws = s.app.current.borrow().jws.clone();
    let set = act_core::snapshot::verify_document(jws.as_bytes(), s.app.key.verifying_key())
        .unwrap()
        .policies;
    serde_json::to_string(&set.agents[0].grants).unwrap()
}

fn versions(s: &Server) -> Value {
    s.call(Some(ADMIN), "GET", "/v1/policies", None).1
}

#[test]
fn a_push_with_a_failing_suite_or_bad_policy_publishes_nothing() {
    let s = Server::start(None, Duration::from_secs(60));
    let before = s.app.current.borrow().version;
    let v = versions(&s);
    assert_eq!(v["current"], 1, "the folder at start is version 1: {v}");
    assert_eq!(v["versions"][0]["source"], "folder");
    assert_eq!(v["versions"][0]["published_by"], "dev");

    let strict = stricter();
    let files = [("support.yaml", strict.as_str()), ("support_test.yaml", SUITE)];
    for key in [AGENT, ISSUER, APPROVER] {
        let (status, b) = push(&s, key, &files, Some("x"));
        assert_eq!((status, b["error"].as_str()), (403, Some("forbidden_role")), "{b}");
    }
    let (status, b) = push(&s, ADMIN, &files, None);
    assert_eq!(
        (status, b["error"].as_str()),
        (400, Some("bad_request")),
        "a reason: {b}"
    );

    let failing = SUITE.replace("expect: deny", "expect: allow");
    let (status, b) = push(
        &s,
        ADMIN,
        &[("support.yaml", &strict), ("support_test.yaml", &failing)],
        Some("tighten"),
    );
    assert_eq!((status, b["error"].as_str()), (422, Some("tests_failed")), "{b}");
    assert_eq!((b["passed"].as_u64(), b["failed"].as_u64()), (Some(1), Some(1)), "{b}");
    assert_eq!(b["failures"][0]["case"], "someone else's order", "{b}");
    assert!(b["message"].as_str().unwrap().contains("expected allow"), "{b}");

    let broken = SUPPORT.replace("maxAmount: 500", "maxAmont: 500");
    let (status, b) = push(&s, ADMIN, &[("support.yaml", &broken)], Some("typo"));
    assert_eq!((status, b["error"].as_str()), (422, Some("policy_invalid")), "{b}");
    assert!(b["diagnostics"][0]["message"].as_str().is_some(), "{b}");

    let (status, b) = push(&s, ADMIN, &[("../support.yaml", &strict)], Some("escape"));
    assert_eq!((status, b["error"].as_str()), (400, Some("bad_request")), "{b}");
    let (status, b) = push(&s, ADMIN, &[("support_test.yaml", SUITE)], Some("only tests"));
    assert_eq!(status, 400, "{b}");

    assert_eq!(s.app.current.borrow().version, before, "no new snapshot");
    assert_eq!(
        versions(&s)["versions"].as_array().unwrap().len(),
        1,
        "no version stored"
    );
    assert!(max_amount(&s).contains("500"));
}

#[test]
fn a_publish_wakes_long_polls_at_once_and_versions_are_diffed_and_rolled_back() {
    let s = Server::start(None, Duration::from_secs(60));
    let etag = s.app.current.borrow().etag.clone();
    let url = format!("{}/v1/snapshot?wait=20", s.url);
    let poll = std::thread::spawn(move || {
        let (status, _) = http_with("GET", &url, Some(AGENT), &[("if-none-match", &etag)], None);
        (status, Instant::now())
    });
    std::thread::sleep(Duration::from_millis(300));
    let strict = stricter();
    let (status, b) = push(
        &s,
        ADMIN,
        &[("support.yaml", &strict), ("support_test.yaml", SUITE)],
        Some("refunds above $200 need finance"),
    );
    let pushed = Instant::now();
    assert_eq!(status, 201, "{b}");
    assert_eq!(
        (b["version"].as_u64(), b["published_by"].as_str(), b["source"].as_str()),
        (Some(2), Some("root"), Some("push"))
    );
    assert_eq!(
        (b["tests"]["suites"].as_u64(), b["tests"]["passed"].as_u64()),
        (Some(1), Some(2))
    );
    let (poll_status, answered) = poll.join().unwrap();
    assert_eq!(poll_status, 200);
    assert!(
        answered.saturating_duration_since(pushed) < Duration::from_secs(1),
        "the long poll answered within a second of the publish"
    );
    assert!(max_amount(&s).contains("200"));

    let (status, b) = push(&s, ADMIN, &[("support.yaml", &strict)], Some("again"));
    assert_eq!((status, b["error"].as_str()), (409, Some("policy_unchanged")), "{b}");

    let (status, d) = s.call(Some(ADMIN), "GET", "/v1/policies/diff?from=1&to=2", None);
    assert_eq!(status, 200, "{d}");
    let diff = d["diff"].as_str().unwrap();
    assert!(
        diff.contains("--- version 1") && diff.contains("+++ version 2"),
        "{diff}"
    );
    assert!(
        diff.lines().any(|l| l.starts_with('-') && l.contains("500"))
            && diff.lines().any(|l| l.starts_with('+') && l.contains("200")),
        "{diff}"
    );
    let (status, b) = s.call(Some(ADMIN), "GET", "/v1/policies/diff?from=1&to=9", None);
    assert_eq!((status, b["error"].as_str()), (404, Some("version_not_found")));
    let (status, _) = s.call(Some(AGENT), "GET", "/v1/policies/diff?from=1&to=2", None);
    assert_eq!(status, 403);

    let (status, v2) = s.call(Some(ADMIN), "GET", "/v1/policies/2", None);
    assert_eq!(status, 200);
    assert_eq!(v2["files"]["support_test.yaml"], SUITE);
    assert_eq!(v2["test_results"]["results"][1]["case"], "someone else's order");
    assert_eq!(v2["reason"], "refunds above $200 need finance");

    let (status, b) = s.call(Some(ADMIN), "POST", "/v1/policies/1/rollback", Some("{}"));
    assert_eq!(
        (status, b["error"].as_str()),
        (400, Some("bad_request")),
        "a reason: {b}"
    );
    let (status, b) = s.call(
        Some(ADMIN),
        "POST",
        "/v1/policies/1/rollback",
        Some(r#"{"reason":"finance not ready"}"#),
    );
    assert_eq!(status, 201, "{b}");
    assert_eq!(
        (
            b["version"].as_u64(),
            b["source"].as_str(),
            b["rolled_back_from"].as_u64()
        ),
        (Some(3), Some("rollback"), Some(1))
    );
    assert!(max_amount(&s).contains("500"));
    let (status, b) = s.call(
        Some(ADMIN),
        "POST",
        "/v1/policies/7/rollback",
        Some(r#"{"reason":"x"}"#),
    );
    assert_eq!((status, b["error"].as_str()), (404, Some("version_not_found")));
    let list = versions(&s);
    let numbers: Vec<u64> = list["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!((list["current"].as_u64(), numbers), (Some(3), vec![3, 2, 1]));
}

#[test]
fn published_versions_survive_a_restart_and_a_changed_folder_is_published_by_dev() {
    let dir = TempDir::new("policies");
    {
        let s = Server::start(Some(&dir.0), Duration::from_secs(60));
        let strict = stricter();
        let (status, b) = push(&s, ADMIN, &[("support.yaml", &strict)], Some("tighten"));
        assert_eq!(status, 201, "{b}");
    }
    {
        // Same folder as before: the push made since keeps serving.
        let s = Server::start(Some(&dir.0), Duration::from_secs(60));
        let v = versions(&s);
        assert_eq!(v["current"], 2, "{v}");
        assert!(max_amount(&s).contains("200"));
    }
    // The folder was edited while the server was down: it is published as a new version by `dev`.
    let s = Server::start_policies(
        Some(&dir.0),
        Duration::from_secs(60),
        None,
        &SUPPORT.replace("maxAmount: 500", "maxAmount: 300"),
    );
    let v = versions(&s);
    assert_eq!(
        (v["current"].as_u64(), v["versions"][0]["published_by"].as_str()),
        (Some(3), Some("dev"))
    );
    assert!(max_amount(&s).contains("300"));
}
