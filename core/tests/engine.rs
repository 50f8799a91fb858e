//! Engine behaviour that the vectors cannot express: reloads, threads, audit files, explain.

use act_core::audit::{verify_log, JsonlSink, MemorySink};
use act_core::policy::parse_source;
use act_core::token::{decode_unverified, DelegationSpec};
use act_core::{Engine, EngineOptions, IssueRequest, ManualClock, Outcome, Reason, Request, SigningKey};
use serde_json::{json, Map, Value};
use std::sync::Arc;

const POLICY: &str = r#"
agent: customer-support-bot
policy:
  actions: [read_order, process_refund]
  resources: ["order://customer:{{authenticated_user_id}}/*"]
  constraints:
    refunds:
      maxAmount: 500
      maxPerDay: 5
      requireSecondApproval: amount > 100
    audit:
      redact: [card_number]
"#;

fn ctx(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn engine_with(policy: &str, key: SigningKey) -> Engine {
    Engine::builder()
        .policies(parse_source("p.yaml", policy).unwrap())
        .signing_key(key)
        .build()
        .unwrap()
}

fn token(e: &Engine, user: &str) -> String {
    e.issue_token(&IssueRequest {
        agent: "customer-support-bot".into(),
        user_context: ctx(json!({"user_id": user})),
        ..Default::default()
    })
    .unwrap()
}

fn refund<'a>(t: &'a str, resource: &'a str, c: &'a Map<String, Value>) -> Request<'a> {
    Request {
        token: t,
        action: "process_refund",
        resource,
        context: c,
        approval: None,
    }
}

#[test]
fn unknown_agent_is_denied() {
    let key = SigningKey::generate().unwrap();
    let issuer = engine_with(POLICY, key.clone());
    let t = token(&issuer, "42");
    let other = Engine::builder()
        .policies(
            parse_source(
                "p.yaml",
                "agent: other\npolicy:\n  actions: [x]\n  resources: [\"x://y\"]\n",
            )
            .unwrap(),
        )
        .trust(key.verifying_key().clone())
        .build()
        .unwrap();
    let c = ctx(json!({"amount": 1}));
    let d = other.validate(&refund(&t, "order://customer:42/1", &c));
    assert_eq!(d.reason, Reason::UnknownAgent, "{d:?}");
    // Issuing for an agent without a policy is a usage error, not a token.
    let err = issuer
        .issue_token(&IssueRequest {
            agent: "nobody".into(),
            user_context: ctx(json!({"user_id": "1"})),
            ..Default::default()
        })
        .unwrap_err();
    assert!(err.to_string().contains("no policy for agent `nobody`"), "{err}");
}

#[test]
fn reload_swaps_decisions_and_revoking_a_parent_revokes_its_children() {
    let key = SigningKey::generate().unwrap();
    let holder = SigningKey::generate().unwrap();
    let e = engine_with(POLICY, key);
    let parent = e
        .issue_token(&IssueRequest {
            agent: "customer-support-bot".into(),
            user_context: ctx(json!({"user_id": "42"})),
            holder_key: Some(holder.verifying_key().clone()),
            ..Default::default()
        })
        .unwrap();
    let child = e
        .delegate(
            &parent,
            &holder,
            &DelegationSpec {
                agent: "worker".into(),
                // Every link is a layer: an agent without a policy acts only with a capability.
                capability: Some(json!({"actions": ["process_refund"], "resources": ["order://customer:42/*"]})),
                ttl_secs: 60,
                ..Default::default()
            },
        )
        .unwrap();
    let c = ctx(json!({"amount": 10}));
    assert!(e.validate(&refund(&child, "order://customer:42/1", &c)).allowed());
    let parent_jti = decode_unverified(&parent).unwrap()[0].jti.clone();
    let revoked = format!("{POLICY}\n---\nrevocations:\n  tokens: [\"{parent_jti}\"]\n");
    let v = e.reload(parse_source("p.yaml", &revoked).unwrap()).unwrap();
    assert_eq!(v, 2);
    let d = e.validate(&refund(&child, "order://customer:42/1", &c));
    assert_eq!((d.reason, d.snapshot_version), (Reason::TokenRevoked, 2), "{d:?}");
    assert!(d.message.contains("parent"), "{}", d.message);
    // A broken reload is refused and the previous snapshot keeps serving.
    let mut broken = e.snapshot().source.clone();
    broken.agents[0].grants[0].constraints[0].kind =
        act_core::policy::ConstraintKind::Require { cel: "amount >".into() };
    assert_eq!(e.reload(broken).unwrap_err().code(), "policy_invalid");
    assert_eq!(e.snapshot().version, 2, "the previous snapshot keeps serving");
    let old = act_core::Snapshot::compile(e.snapshot().source.clone(), 1, 0, &[]).unwrap();
    assert!(e.swap_snapshot(old).unwrap_err().to_string().contains("not newer"));
}

#[test]
fn limits_are_exact_under_threads() {
    let e = Arc::new(engine_with(POLICY, SigningKey::generate().unwrap()));
    let t = Arc::new(token(&e, "42"));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (e, t) = (e.clone(), t.clone());
            std::thread::spawn(move || {
                let c = ctx(json!({"amount": 20}));
                (0..50)
                    .filter(|_| e.validate(&refund(&t, "order://customer:42/1", &c)).allowed())
                    .count()
            })
        })
        .collect();
    let allowed: usize = threads.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(allowed, 5);
}

#[test]
fn check_and_explain_have_no_side_effects() {
    let sink = MemorySink::default();
    let e = Engine::builder()
        .policies(parse_source("p.yaml", POLICY).unwrap())
        .signing_key(SigningKey::generate().unwrap())
        .audit_sink(Box::new(sink.clone()))
        .build()
        .unwrap();
    let t = token(&e, "42");
    let c = ctx(json!({"amount": 20}));
    for _ in 0..10 {
        assert!(e.check(&refund(&t, "order://customer:42/1", &c)).allowed());
    }
    let d = e.explain(&refund(&t, "order://customer:42/1", &ctx(json!({"amount": 700}))));
    assert_eq!(d.reason, Reason::ConstraintFailed);
    let trace = d.trace.unwrap();
    assert!(
        trace
            .iter()
            .any(|s| s.stage == "grant" && s.detail.contains("customer-support-bot")),
        "{trace:?}"
    );
    assert!(
        trace
            .iter()
            .any(|s| s.stage == "constraint" && s.detail.contains("maxAmount")),
        "{trace:?}"
    );
    e.flush_audit();
    assert!(sink.records().is_empty(), "dry runs are not audited");
    for _ in 0..5 {
        assert!(
            e.validate(&refund(&t, "order://customer:42/1", &c)).allowed(),
            "check consumed nothing"
        );
    }
}

#[test]
fn audit_file_is_chained_redacted_and_tamper_evident() {
    let dir = std::env::temp_dir().join(format!("act-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("audit.jsonl");
    let _ = std::fs::remove_file(&path);
    let key = SigningKey::generate().unwrap();
    for round in 0..2 {
        // Two engines in turn: the second continues the first one's chain.
        let e = Engine::builder()
            .policies(parse_source("p.yaml", POLICY).unwrap())
            .signing_key(key.clone())
            .audit_sink(Box::new(JsonlSink::open(path.to_str().unwrap()).unwrap()))
            .build()
            .unwrap();
        let t = token(&e, "42");
        for amount in [10, 600, 20] {
            let c = ctx(json!({"amount": amount, "card_number": "4111111111111111", "round": round}));
            let d = e.validate(&refund(&t, "order://customer:42/1", &c));
            assert!(!d.audit_id.is_empty());
        }
        e.flush_audit();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        verify_log(text.as_bytes(), Some(act_core::audit::GENESIS_HASH)).unwrap(),
        6
    );
    assert!(!text.contains("4111111111111111"), "sensitive fields are redacted");
    assert!(text.contains("[redacted]"));
    let lines: Vec<&str> = text.lines().collect();
    let edited = text.replacen("\"amount\":600", "\"amount\":60", 1);
    assert_eq!(verify_log(edited.as_bytes(), None).unwrap_err().line, 2);
    let removed: String = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    assert_eq!(verify_log(removed.as_bytes(), None).unwrap_err().line, 4);
    let first_removed: String = lines[1..].iter().map(|l| format!("{l}\n")).collect();
    assert_eq!(
        verify_log(first_removed.as_bytes(), Some(act_core::audit::GENESIS_HASH))
            .unwrap_err()
            .line,
        1
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn stale_snapshots_fail_closed() {
    let clock = Arc::new(ManualClock::new(1_800_000_000_000));
    let e = Engine::builder()
        .policies(parse_source("p.yaml", POLICY).unwrap())
        .signing_key(SigningKey::generate().unwrap())
        .clock(clock.clone())
        .options(EngineOptions {
            max_staleness_ms: Some(60_000),
            ..Default::default()
        })
        .build()
        .unwrap();
    let t = token(&e, "42");
    let c = ctx(json!({"amount": 10}));
    assert!(e.validate(&refund(&t, "order://customer:42/1", &c)).allowed());
    clock.advance_ms(61_000);
    let d = e.validate(&refund(&t, "order://customer:42/1", &c));
    assert_eq!((d.outcome, d.reason), (Outcome::Deny, Reason::SnapshotStale));
}

#[test]
fn policy_folders_load_every_file_and_refuse_duplicates() {
    let dir = std::env::temp_dir().join(format!("act-policies-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.yaml"), POLICY).unwrap();
    std::fs::write(
        dir.join("b.json"),
        r#"{"agent": "other", "policy": {"actions": ["x"], "resources": ["x://y"]}}"#,
    )
    .unwrap();
    std::fs::write(dir.join("a_test.yaml"), "not: a policy").unwrap();
    let set = act_core::policy::load_path(&dir).unwrap();
    assert_eq!(set.agents.len(), 2);
    std::fs::write(dir.join("c.yaml"), POLICY).unwrap();
    let err = act_core::policy::load_path(&dir).unwrap_err().to_string();
    assert!(err.contains("already has a policy") && err.contains("c.yaml"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
    let missing = act_core::policy::load_path(std::path::Path::new("/nonexistent/policies.yaml")).unwrap_err();
    assert_eq!(missing.code(), "io_error");
    assert!(missing.to_string().contains("/nonexistent/policies.yaml"));
}

#[test]
fn issue_rejects_bad_inline_policies() {
    let e = engine_with(POLICY, SigningKey::generate().unwrap());
    let err = e
        .issue_token(&IssueRequest {
            agent: "x".into(),
            user_context: ctx(json!({"user_id": "1"})),
            policy: Some(json!({"actions": ["read"], "resources": ["a://b"], "constraints": {"maxEmals": 3}})),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.code(), "policy_invalid");
    assert!(err.to_string().contains("did you mean `maxEmails`"), "{err}");
}

#[test]
fn a_limit_repeated_in_the_tokens_capability_counts_once_per_layer() {
    // The article's email agent: the policy file says 5 reads, the token's inline
    // capability repeats the key with a larger budget. Both bound the token; neither
    // may be spent twice by one read (they once shared a counter key).
    let policy = "agent: email-assistant\npolicy:\n  actions: [read]\n  resources: [\"email://{{user.id}}/*\"]\n  constraints:\n    maxEmails: 5\n";
    let e = engine_with(policy, SigningKey::generate().unwrap());
    let t = e
        .issue_token(&IssueRequest {
            agent: "email-assistant".into(),
            user_context: ctx(json!({"user_id": "alice"})),
            policy: Some(
                json!({"actions": ["read"], "resources": ["email://alice/*"], "constraints": {"maxEmails": 100}}),
            ),
            ..Default::default()
        })
        .unwrap();
    let c = ctx(json!({}));
    let read = |i: usize| {
        let r = format!("email://alice/{i}");
        e.validate(&Request {
            token: &t,
            action: "read",
            resource: &r,
            context: &c,
            approval: None,
        })
    };
    let allowed = (0..10).map(read).filter(|d| d.allowed()).count();
    assert_eq!(allowed, 5, "the policy's 5 reads, each counted once");
    let d = read(99);
    assert_eq!(d.reason, Reason::RateLimited);
    assert_eq!(d.message, "rate limit reached: 5 per token", "{d:?}");
}

#[test]
fn an_approval_request_lists_every_approval_rule_that_fired() {
    let policy = r#"
agent: customer-support-bot
policy:
  actions: [process_refund]
  resources: ["order://**"]
  constraints:
    process_refund:
      requireApproval: amount > 100
      requireSecondApproval: risk > 5
"#;
    let e = engine_with(policy, SigningKey::generate().unwrap());
    let t = token(&e, "42");
    let both = ctx(json!({"amount": 150, "risk": 7}));
    let d = e.validate(&refund(&t, "order://1", &both));
    let r = d.approval_request.expect("approval_required");
    let fired: Vec<&str> = r.conditions.iter().map(|c| c.condition.as_str()).collect();
    assert_eq!(fired, ["amount > 100", "risk > 5"]);
    assert_eq!(r.condition, "amount > 100");
    assert_eq!(r.chain, ["customer-support-bot"], "a plain token's chain is its agent");
    assert!(
        d.message.contains("so does `requireSecondApproval` (risk > 5)"),
        "{}",
        d.message
    );
    // One approval of the request covers both rules.
    let approval = e.approve(&r.id, "supervisor", 600).unwrap();
    let d = e.validate(&Request {
        approval: Some(&approval),
        ..refund(&t, "order://1", &both)
    });
    assert_eq!(d.reason.as_str(), "approved", "{}", d.message);
    // The request's JSON carries the list; a request from before the field reads as empty.
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(
        json["conditions"][1]["constraint"],
        "customer-support-bot/process_refund/requireSecondApproval"
    );
    let mut old = json.clone();
    old.as_object_mut().unwrap().remove("conditions");
    let old: act_core::ApprovalRequest = serde_json::from_value(old).unwrap();
    assert!(old.conditions.is_empty());
}
