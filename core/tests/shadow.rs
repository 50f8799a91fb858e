//! Shadow mode: a `shadow: true` policy document, or one rule marked `shadow: true`, is
//! evaluated beside the enforced policy and audited with what it would have decided, but never
//! enforced; records without a shadow keep their old form (and hash).

use act_core::audit::{verify_log, JsonlSink, MemorySink};
use act_core::policy::parse_source;
use act_core::{Engine, IssueRequest, Outcome, Reason, Request, SigningKey};
use serde_json::{json, Map, Value};

const ENFORCED_AND_SHADOW: &str = r#"
agent: customer-support-bot
policy:
  actions: [process_refund]
  resources: ["order://customer:{{authenticated_user_id}}/*"]
  constraints:
    process_refund:
      maxAmount: 500
---
agent: customer-support-bot
shadow: true
policy:
  actions: [process_refund]
  resources: ["order://customer:{{authenticated_user_id}}/*"]
  constraints:
    process_refund:
      maxAmount: 100
"#;

const SHADOW_RULE: &str = r#"
agent: support
policy:
  - actions: [read_order]
    resources: ["order://customer:{{authenticated_user_id}}/*"]
  - actions: [process_refund]
    resources: ["order://customer:{{authenticated_user_id}}/*"]
    shadow: true
---
agent: other
policy:
  actions: [read_order]
  resources: ["**"]
"#;

fn engine(src: &str, sink: Box<dyn act_core::audit::AuditSink>) -> Engine {
    Engine::builder()
        .policies(parse_source("p.yaml", src).unwrap())
        .signing_key(SigningKey::generate().unwrap())
        .audit_sink(sink)
        .build()
        .unwrap()
}

fn token(e: &Engine, agent: &str) -> String {
    e.issue_token(&IssueRequest {
        agent: agent.into(),
        user_context: json!({"user_id": "42"}).as_object().unwrap().clone(),
        ..Default::default()
    })
    .unwrap()
}

fn ask(e: &Engine, t: &str, action: &str, amount: i64) -> act_core::Decision {
    let c: Map<String, Value> = json!({ "amount": amount }).as_object().unwrap().clone();
    e.validate(&Request {
        token: t,
        action,
        resource: "order://customer:42/1",
        context: &c,
        approval: None,
    })
}

#[test]
fn a_shadow_policy_is_audited_never_enforced() {
    let sink = MemorySink::default();
    let e = engine(ENFORCED_AND_SHADOW, Box::new(sink.clone()));
    let t = token(&e, "customer-support-bot");
    let d = ask(&e, &t, "process_refund", 120);
    assert_eq!(d.outcome, Outcome::Allow, "the enforced policy decides: {}", d.message);
    let s = d.shadow.clone().expect("the agent has a shadow policy");
    assert_eq!((s.outcome, s.reason), (Outcome::Deny, Reason::ConstraintFailed));
    assert_eq!(
        s.constraint.as_deref(),
        Some("customer-support-bot/process_refund/maxAmount")
    );
    assert!(s.message.contains("amount <= 100"), "{}", s.message);
    assert!(d.shadow_disagrees());

    let small = ask(&e, &t, "process_refund", 50);
    assert!(small.allowed() && !small.shadow_disagrees());
    assert_eq!(small.shadow.as_ref().map(|s| s.outcome), Some(Outcome::Allow));

    let big = ask(&e, &t, "process_refund", 700);
    assert_eq!(big.reason, Reason::ConstraintFailed);
    assert!(!big.shadow_disagrees(), "both deny");

    e.flush_audit();
    let records = sink.records();
    assert_eq!(records.len(), 3);
    assert_eq!(records[0].shadow, d.shadow, "the record carries both outcomes");
    assert_eq!(records[0].outcome, Outcome::Allow);
    for r in &records {
        assert_eq!(r.hash, r.compute_hash());
    }
}

#[test]
fn a_shadow_rule_is_left_out_of_the_enforced_policy() {
    let sink = MemorySink::default();
    let e = engine(SHADOW_RULE, Box::new(sink.clone()));
    let t = token(&e, "support");
    let d = ask(&e, &t, "process_refund", 10);
    assert_eq!(
        d.reason,
        Reason::ActionNotAllowed,
        "a shadow rule grants nothing: {}",
        d.message
    );
    let s = d.shadow.expect("the agent has a shadow rule");
    assert_eq!((s.outcome, s.reason), (Outcome::Allow, Reason::Allowed));
    assert_eq!(s.rule.as_deref(), Some("support#1"));
    let read = ask(&e, &t, "read_order", 0);
    assert!(read.allowed() && !read.shadow_disagrees());

    // An agent without a shadow: no shadow outcome, and no `shadow` field in its record.
    let other = token(&e, "other");
    let plain = ask(&e, &other, "read_order", 0);
    assert!(plain.allowed() && plain.shadow.is_none());
    e.flush_audit();
    let records = sink.records();
    let last = records.last().unwrap();
    assert!(last.shadow.is_none());
    let line = serde_json::to_string(last).unwrap();
    assert!(!line.contains("shadow"), "{line}");
}

#[test]
fn a_log_with_shadow_outcomes_verifies() {
    let dir = std::env::temp_dir().join(format!("act-shadow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("audit.jsonl");
    let _ = std::fs::remove_file(&path);
    let e = engine(
        ENFORCED_AND_SHADOW,
        Box::new(JsonlSink::open(path.to_string_lossy().to_string()).unwrap()),
    );
    let t = token(&e, "customer-support-bot");
    for amount in [120, 50, 700, 300] {
        ask(&e, &t, "process_refund", amount);
    }
    e.flush_audit();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.matches("\"shadow\":{").count(), 4, "{text}");
    let n = verify_log(std::io::BufReader::new(std::fs::File::open(&path).unwrap()), None).unwrap();
    assert_eq!(n, 4);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn shadow_documents_are_checked() {
    let twice = format!("{ENFORCED_AND_SHADOW}\n---\nagent: customer-support-bot\nshadow: true\npolicy:\n  actions: [x]\n  resources: [\"**\"]\n");
    let err = parse_source("p.yaml", &twice).unwrap_err().to_string();
    assert!(err.contains("has a shadow policy already"), "{err}");
    let bad = "agent: a\nshadow: yes please\npolicy:\n  actions: [x]\n  resources: [\"**\"]\n";
    let err = parse_source("p.yaml", bad).unwrap_err().to_string();
    assert!(err.contains("expected true or false"), "{err}");
}

/// A shadow rule never reaches the enforced policy's canonical form (what snapshots carry), so
/// an SDK that predates shadow mode ignores it rather than enforcing it.
#[test]
fn shadow_rules_are_not_in_the_enforced_canonical_policy() {
    let set = parse_source("p.yaml", SHADOW_RULE).unwrap();
    let support = set.agents.iter().find(|a| a.agent == "support").unwrap();
    assert_eq!(support.grants.len(), 1);
    assert_eq!(support.grants[0].actions, vec!["read_order".to_string()]);
    let text = serde_json::to_string(&set.agents).unwrap();
    assert!(!text.contains("process_refund") && !text.contains("shadow"), "{text}");
    assert_eq!(set.shadows.len(), 1);
    assert_eq!(set.shadows[0].grants.len(), 2);
}
