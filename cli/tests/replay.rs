//! `act replay`: a log recorded by the real engine, replayed against the same and a changed policy.

mod common;

use act_core::audit::JsonlSink;
use act_core::{Engine, IssueRequest, ManualClock, Request};
use common::{run, text, TempDir};
use serde_json::{json, Map, Value};
use std::sync::Arc;

const OLD: &str = "\
agent: customer-support-bot
policy:
  actions: [read_order, process_refund, update_card]
  resources: [\"order://customer:{{authenticated_user_id}}/*\"]
  constraints:
    process_refund:
      maxAmount: 500
      maxPerDay: 3
      requireSecondApproval: amount > 100
  audit:
    redact: [card]
";

/// Raises the cap and the approval threshold, allows two more refunds a day.
const CANDIDATE: &str = "\
agent: customer-support-bot
policy:
  actions: [read_order, process_refund, update_card]
  resources: [\"order://customer:{{authenticated_user_id}}/*\"]
  constraints:
    process_refund:
      maxAmount: 1000
      maxPerDay: 5
      requireSecondApproval: amount > 200
  audit:
    redact: [card]
";

const DAY0: i64 = 1_800_000_000_000;

/// Records the traffic into `log` with the real engine deciding on `OLD`.
fn record(dir: &TempDir) -> String {
    std::fs::write(dir.join("old.yaml"), OLD).unwrap();
    let log = dir.s("audit.jsonl");
    let clock = Arc::new(ManualClock::new(DAY0));
    let engine = Engine::builder()
        .signing_key(act_core::SigningKey::generate().unwrap())
        .policies(act_core::policy::load_path(&dir.join("old.yaml")).unwrap())
        .clock(clock.clone())
        .audit_sink(Box::new(JsonlSink::open(log.clone()).unwrap()))
        .build()
        .unwrap();
    let token = engine
        .issue_token(&IssueRequest {
            agent: "customer-support-bot".into(),
            user_context: Map::from_iter([("user_id".to_string(), json!("42"))]),
            agent_context: Map::new(),
            policy: None,
            ttl_secs: 7 * 86400,
            holder_key: None,
        })
        .unwrap();
    let calls: [(&str, &str, Value); 8] = [
        ("process_refund", "order://customer:42/1", json!({"amount": 50})), // allow
        ("process_refund", "order://customer:42/2", json!({"amount": 150})), // approval_required
        ("process_refund", "order://customer:42/3", json!({"amount": 600})), // deny: over 500
        ("process_refund", "order://customer:42/4", json!({"amount": 40})), // allow
        ("process_refund", "order://customer:42/5", json!({"amount": 30})), // allow (3rd today)
        ("process_refund", "order://customer:42/6", json!({"amount": 20})), // deny: 4th today
        ("read_order", "order://customer:7/1", json!({})),                  // deny: not theirs
        ("update_card", "order://customer:42/1", json!({"card": "4111"})),  // allow, card redacted
    ];
    for (i, (action, resource, context)) in calls.iter().enumerate() {
        clock.set_ms(DAY0 + i as i64 * 60_000);
        let d = engine.validate(&Request {
            token: &token,
            action,
            resource,
            context: context.as_object().unwrap(),
            approval: None,
        });
        assert!(!d.reason.as_str().starts_with("token_"), "{d:?}");
    }
    // The next day the window has rolled over: allowed again under both policies.
    clock.set_ms(DAY0 + 86_400_000 + 1);
    let d = engine.validate(&Request {
        token: &token,
        action: "process_refund",
        resource: "order://customer:42/7",
        context: json!({"amount": 10}).as_object().unwrap(),
        approval: None,
    });
    assert!(d.allowed(), "{d:?}");
    engine.flush_audit();
    log
}

#[test]
fn the_same_policy_replays_to_no_change() {
    let dir = TempDir::new("replay-same");
    let log = record(&dir);
    let out = run(&[
        "replay",
        "--policy",
        &dir.s("old.yaml"),
        "--audit",
        &log,
        "--fail-on",
        "any",
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("replayed 8, changed 0, cannot replay 1"), "{stdout}");
    assert!(
        stdout.contains("cannot replay") && stdout.contains("`card` was redacted"),
        "{stdout}"
    );
}

#[test]
fn a_changed_policy_prints_each_change_and_totals_by_rule() {
    let dir = TempDir::new("replay-changed");
    let log = record(&dir);
    std::fs::write(dir.join("candidate.yaml"), CANDIDATE).unwrap();
    let out = run(&["replay", "--policy", &dir.s("candidate.yaml"), "--audit", &log]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    let change = |resource: &str| lines.iter().find(|l| l.contains(resource)).copied().unwrap_or("");
    assert!(
        change("customer:42/2").contains("approval_required (approval_required) -> allow (allowed)"),
        "{stdout}"
    );
    assert!(
        change("customer:42/3").contains("deny (constraint_failed) -> approval_required"),
        "{stdout}"
    );
    assert!(
        change("customer:42/6").contains("deny (rate_limited) -> allow (allowed)"),
        "{stdout}"
    );
    assert_eq!(
        change("customer:42/1"),
        "",
        "unchanged decisions are not listed: {stdout}"
    );
    assert!(stdout.contains("customer-support-bot: "), "{stdout}");
    assert!(stdout.contains("replayed 8, changed 3, cannot replay 1"), "{stdout}");

    let json = run(&[
        "replay",
        "--policy",
        &dir.s("candidate.yaml"),
        "--audit",
        &log,
        "--json",
    ]);
    let report: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["changed"].as_array().unwrap().len(), 3);
    assert_eq!(report["by_rule"]["customer-support-bot"]["deny -> allow"], 1);
}

#[test]
fn fail_on_gates_a_policy_change_in_ci() {
    let dir = TempDir::new("replay-fail-on");
    let log = record(&dir);
    std::fs::write(dir.join("candidate.yaml"), CANDIDATE).unwrap();
    let policy = dir.s("candidate.yaml");
    let newly_allowed = run(&["replay", "--policy", &policy, "--audit", &log, "--fail-on", "*->allow"]);
    let (stdout, stderr) = text(&newly_allowed);
    assert_eq!(newly_allowed.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("--fail-on *->allow"), "{stderr}");
    let tightened = run(&[
        "replay",
        "--policy",
        &policy,
        "--audit",
        &log,
        "--fail-on",
        "allow->deny",
    ]);
    assert_eq!(tightened.status.code(), Some(0), "{}", text(&tightened).1);
    let bad = run(&[
        "replay",
        "--policy",
        &policy,
        "--audit",
        &log,
        "--fail-on",
        "deny->maybe",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad).1.contains("`maybe` is not an outcome"), "{}", text(&bad).1);
}

#[test]
fn a_line_that_is_not_a_record_is_named() {
    let dir = TempDir::new("replay-bad-line");
    let log = record(&dir);
    let mut body = std::fs::read_to_string(&log).unwrap();
    body.push_str("{\"outcome\": \"allow\"}\n");
    std::fs::write(&log, body).unwrap();
    let out = run(&["replay", "--policy", &dir.s("old.yaml"), "--audit", &log]);
    assert_eq!(out.status.code(), Some(5));
    assert!(
        text(&out).1.contains("audit.jsonl:10: not an audit record"),
        "{}",
        text(&out).1
    );
}
