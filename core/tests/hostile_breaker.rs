//! The circuit breaker pauses what misbehaved, not everyone: by default it is keyed by the
//! root agent and the user (the token's subject), and agent-wide only when a policy asks for
//! it; a delegated sub-agent's denials count against its own chain's root, never against the
//! agent it names itself after.

use act_core::policy::parse_source;
use act_core::token::DelegationSpec;
use act_core::{Engine, IssueRequest, Reason, Request, SigningKey};
use serde_json::{json, Map, Value};

fn policy(scope: &str) -> String {
    format!(
        r#"
agent: bot
policy:
  actions: [read_order]
  resources: ["order://customer:{{{{authenticated_user_id}}}}/*"]
  circuitBreaker:
    maxDenials: 3
    window: 1m
    coolDown: 5m{scope}
---
agent: helper
policy:
  actions: [read_order]
  resources: ["order://customer:{{{{authenticated_user_id}}}}/*"]
"#
    )
}

fn engine(policy: &str) -> Engine {
    Engine::builder()
        .policies(parse_source("p.yaml", policy).unwrap())
        .signing_key(SigningKey::generate().unwrap())
        .build()
        .unwrap()
}

fn token(e: &Engine, agent: &str, user: &str, holder: Option<&SigningKey>) -> String {
    e.issue_token(&IssueRequest {
        agent: agent.into(),
        user_context: json!({ "user_id": user }).as_object().unwrap().clone(),
        holder_key: holder.map(|h| h.verifying_key().clone()),
        ..Default::default()
    })
    .unwrap()
}

fn read(e: &Engine, t: &str, owner: &str) -> act_core::Decision {
    let c: Map<String, Value> = Map::new();
    let resource = format!("order://customer:{owner}/1");
    e.validate(&Request {
        token: t,
        action: "read_order",
        resource: &resource,
        context: &c,
        approval: None,
    })
}

#[test]
fn one_users_denials_do_not_pause_the_agent_for_another_user() {
    let e = engine(&policy(""));
    let (mallory, alice) = (token(&e, "bot", "mallory", None), token(&e, "bot", "alice", None));
    for _ in 0..3 {
        assert_eq!(read(&e, &mallory, "alice").reason, Reason::ResourceNotAllowed);
    }
    assert_eq!(
        read(&e, &mallory, "mallory").reason,
        Reason::CircuitOpen,
        "mallory is paused"
    );
    let d = read(&e, &alice, "alice");
    assert_eq!(d.reason, Reason::Allowed, "alice is not: {d:?}");
}

#[test]
fn an_agent_wide_breaker_pauses_every_user() {
    let e = engine(&policy("\n    scope: agent"));
    let (mallory, alice) = (token(&e, "bot", "mallory", None), token(&e, "bot", "alice", None));
    for _ in 0..3 {
        assert_eq!(read(&e, &mallory, "alice").reason, Reason::ResourceNotAllowed);
    }
    assert_eq!(read(&e, &alice, "alice").reason, Reason::CircuitOpen);
}

#[test]
fn a_sub_agent_cannot_trip_another_agents_breaker() {
    let e = engine(&policy(""));
    let holder = SigningKey::generate().unwrap();
    // A sub-agent of `helper`, acting for alice, names itself `bot` and misbehaves.
    let parent = token(&e, "helper", "alice", Some(&holder));
    let child = e
        .delegate(
            &parent,
            &holder,
            &DelegationSpec {
                agent: "bot".into(),
                ttl_secs: 60,
                ..Default::default()
            },
        )
        .unwrap();
    for _ in 0..5 {
        assert_eq!(read(&e, &child, "bob").reason, Reason::ResourceNotAllowed);
    }
    // The real `bot`, for alice herself, is not paused.
    let bot = token(&e, "bot", "alice", None);
    let d = read(&e, &bot, "alice");
    assert_eq!(d.reason, Reason::Allowed, "{d:?}");
}
