//! The delegation target: chains the fuzzer shapes (which agents, which capabilities, who may
//! delegate further, which links are dropped, moved or left unsealed), decided by an engine.
//!
//! Invariants, for every chain and every request of a fixed set:
//! - **a child never exceeds its parent**: when a sealed chain is allowed (or asks for an
//!   approval), the chain without its last link, sealed by its holder, is not denied;
//! - a chain whose last link names a holder key never acts (`delegation_unsealed`), so no prefix
//!   of a chain acts on its own;
//! - a link moved onto another parent never verifies;
//! - nothing is ever allowed outside the root agent's policy (user 42's orders, two actions).
//!
//! Input: a first byte sets the number of children (1..=3); each child takes two bytes
//! (agent, capability); what is left, when it parses as a JSON object, is the last child's
//! capability instead (so the fuzzer also writes capabilities).

use crate::NOW_MS;
use act_core::token::{self, DelegationSpec, TokenSpec};
use act_core::{Decision, Engine, ManualClock, Outcome, Reason, Request, SigningKey};
use serde_json::{json, Map, Value};
use std::sync::{Arc, OnceLock};

const POLICY: &str = r#"
agent: bot
policy:
  actions: [read_order, process_refund]
  resources: ["order://customer:{{authenticated_user_id}}/*"]
  constraints:
    process_refund:
      maxAmount: 500
      requireSecondApproval: amount > 100
---
agent: relay
policy:
  actions: [read_order]
  resources: ["order://customer:{{authenticated_user_id}}/*"]
---
agent: admin
policy:
  actions: ["*"]
  resources: ["**"]
  constraints:
    audit:
      logAllActions: false
"#;

/// Agents a link may name: with a policy, a privileged one, and unknown ones.
const AGENTS: [&str; 5] = ["bot", "relay", "admin", "ghost", "helper"];

/// Capabilities a link may carry (`null`: none).
fn capability(i: u8) -> Option<Value> {
    let caps = [
        Value::Null,
        json!({"actions": ["read_order"], "resources": ["order://customer:{{authenticated_user_id}}/*"]}),
        json!({"actions": ["*"], "resources": ["**"]}),
        json!({"actions": ["process_refund", "delete_customer"], "resources": ["order://**"],
               "constraints": {"process_refund": {"maxAmount": 100000}}}),
        json!({"actions": ["process_refund"], "resources": ["order://customer:42/*"],
               "constraints": {"process_refund": {"maxAmount": 50}}}),
    ];
    Some(caps[usize::from(i) % caps.len()].clone()).filter(|c| !c.is_null())
}

struct World {
    engine: Engine,
    issuer: SigningKey,
    /// One holder key per link position (the root's first).
    keys: Vec<SigningKey>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let issuer = SigningKey::from_seed(&[0x3c; 32]).expect("seed");
        let engine = Engine::builder()
            .policies(act_core::policy::parse_source("fuzz.yaml", POLICY).expect("the fuzz policy compiles"))
            .signing_key(issuer.clone())
            .clock(Arc::new(ManualClock::new(NOW_MS)))
            .build()
            .expect("the fuzz engine builds");
        let keys = (0u8..6)
            .map(|i| SigningKey::from_seed(&[0x40 + i; 32]).expect("seed"))
            .collect();
        World { engine, issuer, keys }
    })
}

const REQUESTS: [(&str, &str, i64); 6] = [
    ("read_order", "order://customer:42/1", 0),
    ("process_refund", "order://customer:42/1", 20),
    ("process_refund", "order://customer:42/1", 300),
    ("process_refund", "order://customer:42/1", 900),
    ("read_order", "order://customer:43/1", 0),
    ("delete_customer", "order://customer:42/all", 0),
];

fn check(e: &Engine, token: &str, (action, resource, amount): (&str, &str, i64)) -> Decision {
    let c: Map<String, Value> = json!({"amount": amount}).as_object().cloned().unwrap_or_default();
    e.check(&Request {
        token,
        action,
        resource,
        context: &c,
        approval: None,
    })
}

fn acts(d: &Decision) -> bool {
    d.outcome != Outcome::Deny
}

/// Seals `chain` with `key` (the holder named by its last link).
fn seal(chain: &str, key: &SigningKey) -> String {
    token::seal(chain, key, 300, NOW_MS / 1000).expect("the holder seals its own chain")
}

/// Decides a fuzzer-shaped chain; panics when an invariant breaks.
pub fn delegation(data: &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let w = world();
    let children = 1 + usize::from(n % 3);
    let (shape, tail) = rest.split_at(rest.len().min(children * 2));
    let fuzzed_cap: Option<Value> = serde_json::from_slice::<Value>(tail).ok().filter(Value::is_object);
    let root = token::issue(
        &w.issuer,
        &TokenSpec {
            issuer: "act".into(),
            agent: "bot".into(),
            user_context: json!({"user_id": "42"}).as_object().cloned().unwrap_or_default(),
            ttl_secs: 3600,
            holder_key: Some(w.keys[0].verifying_key().clone()),
            ..Default::default()
        },
        NOW_MS / 1000,
    )
    .expect("the root issues");
    // chains[i]: the chain up to link i, unsealed (its last link names keys[i]).
    let mut chains = vec![root];
    for i in 0..children {
        let agent = AGENTS[usize::from(shape.get(i * 2).copied().unwrap_or(0)) % AGENTS.len()];
        let mut cap = capability(shape.get(i * 2 + 1).copied().unwrap_or(0));
        if i + 1 == children && fuzzed_cap.is_some() {
            cap = fuzzed_cap.clone();
        }
        let spec = DelegationSpec {
            agent: agent.into(),
            capability: cap,
            ttl_secs: 600,
            holder_key: Some(w.keys[i + 1].verifying_key().clone()),
            ..Default::default()
        };
        let Ok(next) = token::delegate(&chains[i], &w.keys[i], &spec, NOW_MS / 1000) else {
            return; // over the size cap
        };
        chains.push(next);
    }
    let sealed: Vec<String> = chains.iter().enumerate().map(|(i, c)| seal(c, &w.keys[i])).collect();
    for &req in &REQUESTS {
        // Unsealed, no chain (so no prefix of a longer one) acts.
        let bare = check(&w.engine, &chains[children], req);
        assert_eq!(
            bare.reason,
            Reason::DelegationUnsealed,
            "an unsealed chain acted: {bare:?}"
        );
        let decisions: Vec<Decision> = sealed.iter().map(|t| check(&w.engine, t, req)).collect();
        for (i, d) in decisions.iter().enumerate().filter(|(_, d)| acts(d)) {
            assert!(
                req.1 == "order://customer:42/1" && matches!(req.0, "read_order" | "process_refund"),
                "beyond the root agent's policy: {req:?} {d:?}"
            );
            if let Some(p) = i.checked_sub(1).map(|j| &decisions[j]) {
                assert!(
                    acts(p),
                    "a child exceeded its parent on {req:?}: child {d:?}, parent {p:?}"
                );
                if p.outcome == Outcome::ApprovalRequired {
                    assert_ne!(
                        d.outcome,
                        Outcome::Allow,
                        "a child dropped its parent's approval: {d:?}"
                    );
                }
            }
        }
    }
    // The last link moved onto another root of the same agent, user and holder key.
    let other = token::issue(
        &w.issuer,
        &TokenSpec {
            issuer: "act".into(),
            agent: "bot".into(),
            user_context: json!({"user_id": "42"}).as_object().cloned().unwrap_or_default(),
            ttl_secs: 3600,
            holder_key: Some(w.keys[0].verifying_key().clone()),
            ..Default::default()
        },
        NOW_MS / 1000,
    )
    .expect("the root issues");
    if let Some(first_child) = chains[1].split('~').nth(1) {
        let moved = seal(&format!("{other}~{first_child}"), &w.keys[1]);
        let d = check(&w.engine, &moved, REQUESTS[0]);
        assert_eq!(
            d.reason,
            Reason::DelegationInvalid,
            "a link moved onto another parent: {d:?}"
        );
    }
}
