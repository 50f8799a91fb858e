//! What the approver sees is what gets approved: an approval request carries the (redacted)
//! argument values, its `context_hash` is over exactly those values, and `verify_request`
//! refuses a request whose values, hash or id do not match (protocol: approvals).

use act_core::approval::verify_request;
use act_core::policy::parse_source;
use act_core::{Engine, IssueRequest, Outcome, Reason, Request, SigningKey};
use serde_json::{json, Map, Value};

const POLICY: &str = r#"
agent: bot
policy:
  actions: [process_refund]
  resources: ["order://**"]
  constraints:
    - requireApproval: amount > 100
  audit:
    redact: [customer.ssn]
"#;

fn ctx(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn setup() -> (Engine, String) {
    let engine = Engine::builder()
        .policies(parse_source("p.yaml", POLICY).unwrap())
        .signing_key(SigningKey::generate().unwrap())
        .build()
        .unwrap();
    let token = engine
        .issue_token(&IssueRequest {
            agent: "bot".into(),
            user_context: ctx(json!({"user_id": "42"})),
            ..Default::default()
        })
        .unwrap();
    (engine, token)
}

fn request<'a>(token: &'a str, context: &'a Map<String, Value>, approval: Option<&'a str>) -> Request<'a> {
    Request {
        token,
        action: "process_refund",
        resource: "order://1",
        context,
        approval,
    }
}

#[test]
fn the_request_carries_redacted_values_and_verifies() {
    let (engine, token) = setup();
    let c = ctx(json!({"amount": 250, "customer": {"ssn": "123-45-6789", "name": "Ann"}}));
    let d = engine.validate(&request(&token, &c, None));
    assert_eq!(d.outcome, Outcome::ApprovalRequired, "{d:?}");
    let r = d.approval_request.clone().unwrap();
    assert_eq!(r.context["amount"], json!(250));
    assert_eq!(r.context["customer"]["name"], json!("Ann"));
    let shown = r.context["customer"]["ssn"].as_str().unwrap();
    assert!(shown.starts_with("[redacted:") && !shown.contains("6789"), "{shown}");
    verify_request(&r).unwrap();

    // Serialised and read back (as the server receives it), it still verifies.
    let wire: act_core::ApprovalRequest = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    verify_request(&wire).unwrap();

    // Values changed after hashing: refused.
    let mut edited = r.clone();
    edited.context.insert("amount".into(), json!(25));
    assert!(verify_request(&edited)
        .unwrap_err()
        .to_string()
        .contains("context_hash"));
    // Hash recomputed for the edited values, but the id still binds the old ones: refused.
    edited.context_hash = act_core::approval::context_hash(&edited.context);
    assert!(verify_request(&edited).unwrap_err().to_string().contains("`id`"));

    // A different redacted value is a different request: the approval does not carry over.
    let other = ctx(json!({"amount": 250, "customer": {"ssn": "999-99-9999", "name": "Ann"}}));
    let d2 = engine.validate(&request(&token, &other, None));
    assert_ne!(d2.approval_request.unwrap().id, r.id);

    let approval = engine.approve(&r.id, "approver@example.com", 600).unwrap();
    let ok = engine.validate(&request(&token, &c, Some(&approval)));
    assert_eq!((ok.outcome, ok.reason), (Outcome::Allow, Reason::Approved), "{ok:?}");
}

#[test]
fn audit_records_redact_nested_fields() {
    let sink = act_core::audit::MemorySink::default();
    let engine = Engine::builder()
        .policies(parse_source("p.yaml", POLICY).unwrap())
        .signing_key(SigningKey::generate().unwrap())
        .audit_sink(Box::new(sink.clone()))
        .build()
        .unwrap();
    let token = engine
        .issue_token(&IssueRequest {
            agent: "bot".into(),
            user_context: ctx(json!({"user_id": "42"})),
            ..Default::default()
        })
        .unwrap();
    let c = ctx(json!({"amount": 5, "customer": {"ssn": "123-45-6789", "name": "Ann"}}));
    assert_eq!(engine.validate(&request(&token, &c, None)).outcome, Outcome::Allow);
    engine.flush_audit();
    let records = serde_json::to_string(&sink.records()).unwrap();
    assert!(
        !records.contains("6789") && records.contains("[redacted]") && records.contains("Ann"),
        "{records}"
    );
}
