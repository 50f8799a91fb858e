//! `act audit shadow LOG`: lists the decisions where a shadow policy disagreed, from a log the
//! real engine wrote; `--fail-on-disagreement` exits 1 on one.

mod common;

use act_core::audit::JsonlSink;
use act_core::{Engine, IssueRequest, Request};
use common::{run, text, TempDir};
use serde_json::{json, Map, Value};

const POLICY: &str = "\
agent: customer-support-bot
policy:
  actions: [process_refund]
  resources: [\"order://customer:{{authenticated_user_id}}/*\"]
  constraints:
    process_refund:
      maxAmount: 500
---
agent: customer-support-bot
shadow: true
policy:
  actions: [process_refund]
  resources: [\"order://customer:{{authenticated_user_id}}/*\"]
  constraints:
    process_refund:
      maxAmount: 100
";

#[test]
fn lists_disagreements_and_gates_on_them() {
    let dir = TempDir::new("audit-shadow");
    let log = dir.0.join("audit.jsonl");
    let e = Engine::builder()
        .policies(act_core::policy::parse_source("p.yaml", POLICY).unwrap())
        .signing_key(act_core::SigningKey::generate().unwrap())
        .audit_sink(Box::new(JsonlSink::open(log.to_string_lossy().to_string()).unwrap()))
        .build()
        .unwrap();
    let t = e
        .issue_token(&IssueRequest {
            agent: "customer-support-bot".into(),
            user_context: json!({"user_id": "42"}).as_object().unwrap().clone(),
            ..Default::default()
        })
        .unwrap();
    for amount in [50, 120, 80, 300] {
        let c: Map<String, Value> = json!({ "amount": amount }).as_object().unwrap().clone();
        e.validate(&Request {
            token: &t,
            action: "process_refund",
            resource: "order://customer:42/1",
            context: &c,
            approval: None,
        });
    }
    e.flush_audit();
    drop(e);
    let log = log.to_string_lossy().to_string();

    let out = run(&["audit", "shadow", &log]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().filter(|l| l.contains("enforced")).collect();
    assert_eq!(lines.len(), 2, "the 120 and 300 refunds disagree:\n{stdout}");
    assert!(
        lines[0].contains("customer-support-bot 42 process_refund order://customer:42/1: enforced allow (allowed) != shadow deny (constraint_failed)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("rule `customer-support-bot`: 2 disagreement(s)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("4 decision(s) with a shadow outcome, 2 disagree"),
        "{stdout}"
    );

    let all = run(&["audit", "shadow", "--all", &log]);
    assert_eq!(text(&all).0.lines().filter(|l| l.contains(" == shadow ")).count(), 2);

    let gate = run(&["audit", "shadow", "--fail-on-disagreement", &log]);
    assert_eq!(gate.status.code(), Some(1), "{:?}", text(&gate));
    assert!(text(&gate).1.contains("2 shadow disagreement(s)"), "{:?}", text(&gate));
    // A log line that is not a record is named.
    std::fs::write(dir.0.join("bad.jsonl"), "{\"nope\": 1}\n").unwrap();
    let bad = run(&["audit", "shadow", &dir.0.join("bad.jsonl").to_string_lossy()]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad).1.contains("bad.jsonl:1: not an audit record"),
        "{:?}",
        text(&bad)
    );
}
