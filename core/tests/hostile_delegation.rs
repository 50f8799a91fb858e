//! Delegation can only narrow, whatever the holder of a chain does: it may drop links, graft
//! links onto another parent, append links named like other agents, or reshape the chain.
//! One test per guarantee of issue 14 §1 (see docs/security.md).

use act_core::audit::MemorySink;
use act_core::policy::parse_source;
use act_core::token::{self, decode_unverified, DelegationSpec, TokenSpec};
use act_core::{Decision, Engine, IssueRequest, ManualClock, Reason, Request, SigningKey};
use serde_json::{json, Map, Value};
use std::sync::Arc;

const NOW_MS: i64 = 1_800_000_000_000;

const POLICY: &str = r#"
agent: bot
policy:
  actions: [read_order, process_refund]
  resources: ["order://customer:{{authenticated_user_id}}/*"]
  constraints:
    process_refund:
      maxAmount: 500
    audit:
      logAllActions: true
      redact: [card_number]
---
agent: relay
policy:
  actions: [read_order]
  resources: ["order://customer:{{authenticated_user_id}}/*"]
---
agent: helper
policy:
  actions: [read_order, process_refund]
  resources: ["order://customer:{{authenticated_user_id}}/*"]
  constraints:
    read_order:
      maxPerDay: 2
---
agent: quiet
policy:
  actions: [read_order, process_refund]
  resources: ["order://**"]
  constraints:
    audit:
      logAllActions: false
"#;

fn ctx(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

struct World {
    engine: Engine,
    issuer: SigningKey,
    audit: MemorySink,
}

fn world(policy: &str) -> World {
    let issuer = SigningKey::generate().unwrap();
    let audit = MemorySink::default();
    let engine = Engine::builder()
        .policies(parse_source("p.yaml", policy).unwrap())
        .signing_key(issuer.clone())
        .clock(Arc::new(ManualClock::new(NOW_MS)))
        .audit_sink(Box::new(audit.clone()))
        .build()
        .unwrap();
    World { engine, issuer, audit }
}

fn root(w: &World, agent: &str, holder: &SigningKey) -> String {
    w.engine
        .issue_token(&IssueRequest {
            agent: agent.into(),
            user_context: ctx(json!({"user_id": "42"})),
            holder_key: Some(holder.verifying_key().clone()),
            ..Default::default()
        })
        .unwrap()
}

fn child(
    w: &World,
    parent: &str,
    holder: &SigningKey,
    agent: &str,
    cap: Option<Value>,
    next: Option<&SigningKey>,
) -> String {
    w.engine
        .delegate(
            parent,
            holder,
            &DelegationSpec {
                agent: agent.into(),
                capability: cap,
                ttl_secs: 600,
                holder_key: next.map(|k| k.verifying_key().clone()),
                ..Default::default()
            },
        )
        .unwrap()
}

fn call(w: &World, token: &str, action: &str, c: Value) -> Decision {
    let c = ctx(c);
    w.engine.validate(&Request {
        token,
        action,
        resource: "order://customer:42/1",
        context: &c,
        approval: None,
    })
}

fn read_only() -> Value {
    json!({"actions": ["read_order"], "resources": ["order://customer:{{authenticated_user_id}}/*"]})
}

#[test]
fn a_prefix_of_a_chain_never_acts_on_its_own() {
    let w = world(POLICY);
    let bot_key = SigningKey::generate().unwrap();
    let parent = root(&w, "bot", &bot_key);
    let narrowed = child(&w, &parent, &bot_key, "helper", Some(read_only()), None);
    assert!(call(&w, &narrowed, "read_order", json!({})).allowed());
    assert_eq!(
        call(&w, &narrowed, "process_refund", json!({"amount": 10})).reason,
        Reason::ActionNotAllowed
    );

    // The sub-agent drops its own link and presents what is left: the parent's token.
    let prefix = narrowed.rsplit_once('~').unwrap().0;
    let d = call(&w, prefix, "process_refund", json!({"amount": 10}));
    assert_eq!(d.reason, Reason::DelegationUnsealed, "a prefix acted on its own: {d:?}");
    assert_eq!(
        (d.agent.as_deref(), d.subject.as_deref()),
        (Some("bot"), Some("42")),
        "the attempt names its chain"
    );
    assert!(!d.audit_id.is_empty(), "the attempt is audited");

    // A sub-agent that may delegate further holds an attenuable chain: it acts only sealed
    // with its own key, and neither its chain nor any prefix of it acts unsealed.
    let sub_key = SigningKey::generate().unwrap();
    let relay = child(&w, &parent, &bot_key, "helper", Some(read_only()), Some(&sub_key));
    assert_eq!(
        call(&w, &relay, "read_order", json!({})).reason,
        Reason::DelegationUnsealed
    );
    let sealed = w.engine.seal(&relay, &sub_key, 300).unwrap();
    assert!(call(&w, &sealed, "read_order", json!({})).allowed());
    let stripped = sealed.rsplit_once('~').unwrap().0.rsplit_once('~').unwrap().0;
    assert_eq!(stripped, parent);
    assert_eq!(
        call(&w, stripped, "process_refund", json!({"amount": 10})).reason,
        Reason::DelegationUnsealed
    );
    // A seal is the holder's: no other key makes one, and a sealed chain cannot be extended.
    assert!(w.engine.seal(&relay, &bot_key, 300).is_err());
    assert!(w.engine.seal(&sealed, &sub_key, 300).is_err());

    // The parent agent acts with its own token sealed by its own key, with its full rights.
    let own = w.engine.seal(&parent, &bot_key, 300).unwrap();
    assert!(call(&w, &own, "process_refund", json!({"amount": 10})).allowed());
}

#[test]
fn every_link_is_a_layer() {
    let w = world(POLICY);
    let bot_key = SigningKey::generate().unwrap();
    let relay_key = SigningKey::generate().unwrap();
    let parent = root(&w, "bot", &bot_key);

    // `relay` may only read by its own policy; its sub-agent `helper` may refund by its own.
    // The relay's policy is a layer, so the helper below it cannot refund.
    let mid = child(&w, &parent, &bot_key, "relay", None, Some(&relay_key));
    let leaf = child(&w, &mid, &relay_key, "helper", None, None);
    assert!(call(&w, &leaf, "read_order", json!({})).allowed());
    let d = call(&w, &leaf, "process_refund", json!({"amount": 10}));
    assert_eq!(d.reason, Reason::ActionNotAllowed, "a middle link was skipped: {d:?}");

    // A middle link whose agent has no policy and no capability denies, never gets skipped.
    let ghost = child(&w, &parent, &bot_key, "ghost", None, Some(&relay_key));
    let leaf = child(&w, &ghost, &relay_key, "helper", None, None);
    let d = call(&w, &leaf, "read_order", json!({}));
    assert_eq!(d.reason, Reason::UnknownAgent, "{d:?}");
    assert!(d.message.contains("ghost"), "{}", d.message);

    // Nor is such a link made known by a capability a link below it adds (found by the
    // delegation fuzz target): its own parent chain could do nothing, so neither can the child.
    let ghost_again = child(&w, &ghost, &relay_key, "ghost", Some(read_only()), None);
    let d = call(&w, &ghost_again, "read_order", json!({}));
    assert_eq!(
        d.reason,
        Reason::UnknownAgent,
        "a later link made its unknown parent act: {d:?}"
    );

    // Nor does a root whose agent has neither (minted by a trusted issuer outside the engine).
    let spec = TokenSpec {
        agent: "ghost".into(),
        user_context: ctx(json!({"user_id": "42"})),
        ttl_secs: 600,
        holder_key: Some(bot_key.verifying_key().clone()),
        ..Default::default()
    };
    let ghost_root = token::issue(&w.issuer, &spec, NOW_MS / 1000).unwrap();
    let leaf = child(&w, &ghost_root, &bot_key, "helper", Some(read_only()), None);
    let d = call(&w, &leaf, "read_order", json!({}));
    assert_eq!(
        d.reason,
        Reason::UnknownAgent,
        "a root without policy was skipped: {d:?}"
    );
    assert!(d.message.contains("ghost"), "{}", d.message);
}

#[test]
fn a_child_is_bound_to_its_parent_token() {
    let w = world(POLICY);
    let bot_key = SigningKey::generate().unwrap();
    let first = root(&w, "bot", &bot_key);
    let second = root(&w, "bot", &bot_key);
    let leaf = child(&w, &first, &bot_key, "helper", Some(read_only()), None);
    assert!(call(&w, &leaf, "read_order", json!({})).allowed());

    // The first parent is revoked; the child's link is moved onto the second, live parent
    // (same holder key, same agent, same user).
    let first_jti = decode_unverified(&first).unwrap()[0].jti.clone();
    let revoked = format!("{POLICY}\n---\nrevocations:\n  tokens: [\"{first_jti}\"]\n");
    w.engine.reload(parse_source("p.yaml", &revoked).unwrap()).unwrap();
    assert_eq!(call(&w, &leaf, "read_order", json!({})).reason, Reason::TokenRevoked);
    let grafted = format!("{second}~{}", leaf.rsplit_once('~').unwrap().1);
    let d = call(&w, &grafted, "read_order", json!({}));
    assert_eq!(
        d.reason,
        Reason::DelegationInvalid,
        "a child was grafted onto another parent: {d:?}"
    );
    assert!(d.message.contains("jti"), "{}", d.message);

    // Revoking a middle link (by jti, or its agent) revokes everything below it.
    let relay_key = SigningKey::generate().unwrap();
    let mid = child(&w, &second, &bot_key, "helper", None, Some(&relay_key));
    let leaf = child(&w, &mid, &relay_key, "helper", Some(read_only()), None);
    assert!(call(&w, &leaf, "read_order", json!({})).allowed());
    let mid_jti = decode_unverified(&mid).unwrap()[1].jti.clone();
    let revoked = format!("{POLICY}\n---\nrevocations:\n  tokens: [\"{mid_jti}\"]\n");
    w.engine.reload(parse_source("p.yaml", &revoked).unwrap()).unwrap();
    assert_eq!(call(&w, &leaf, "read_order", json!({})).reason, Reason::TokenRevoked);
    let revoked = format!("{POLICY}\n---\nrevocations:\n  subjects: [\"42\"]\n");
    w.engine.reload(parse_source("p.yaml", &revoked).unwrap()).unwrap();
    assert_eq!(call(&w, &leaf, "read_order", json!({})).reason, Reason::SubjectRevoked);
}

#[test]
fn the_owners_settings_come_from_the_root() {
    let w = world(POLICY);
    let bot_key = SigningKey::generate().unwrap();
    let parent = root(&w, "bot", &bot_key);
    // The sub-agent is named like an agent whose own policy logs no allowed actions.
    let leaf = child(&w, &parent, &bot_key, "quiet", Some(read_only()), None);
    let d = call(&w, &leaf, "read_order", json!({"card_number": "4111 1111 1111 1111"}));
    assert!(d.allowed(), "{d:?}");
    assert!(
        !d.audit_id.is_empty(),
        "the root's logAllActions was dropped by a quiet child"
    );
    w.engine.flush_audit();
    let records = w.audit.records();
    let r = records
        .iter()
        .find(|r| r.id == d.audit_id)
        .expect("the record was written");
    assert_eq!(
        r.context["card_number"],
        json!("[redacted]"),
        "the root's redaction was dropped: {r:?}"
    );

    // Below a quiet root, a link whose agent logs everything tightens the setting.
    let quiet_key = SigningKey::generate().unwrap();
    let quiet = root(&w, "quiet", &quiet_key);
    assert!(call(
        &w,
        &w.engine.seal(&quiet, &quiet_key, 60).unwrap(),
        "read_order",
        json!({})
    )
    .audit_id
    .is_empty());
    let loud = child(&w, &quiet, &quiet_key, "bot", None, None);
    let d = call(&w, &loud, "read_order", json!({}));
    assert!(d.allowed() && !d.audit_id.is_empty(), "{d:?}");
}

#[test]
fn limits_are_keyed_by_identity_not_by_layer_position() {
    let w = world(POLICY);
    let bot_key = SigningKey::generate().unwrap();
    let parent = root(&w, "bot", &bot_key);
    // `helper` may read twice a day for this user by its own policy, whatever chain it holds.
    let plain = child(&w, &parent, &bot_key, "helper", None, None);
    let capped = child(&w, &parent, &bot_key, "helper", Some(read_only()), None);
    let relay_key = SigningKey::generate().unwrap();
    let mid = child(&w, &parent, &bot_key, "relay", None, Some(&relay_key));
    let deep = child(&w, &mid, &relay_key, "helper", None, None);
    assert!(call(&w, &plain, "read_order", json!({})).allowed());
    assert!(call(&w, &capped, "read_order", json!({})).allowed());
    for (name, t) in [("plain", &plain), ("capped", &capped), ("deep", &deep)] {
        let d = call(&w, t, "read_order", json!({}));
        assert_eq!(
            d.reason,
            Reason::RateLimited,
            "the {name} chain got a fresh limit: {d:?}"
        );
    }

    // A capability's limit is the capability's, under its root token: handing the same
    // capability down twice (two children of one parent) shares it, it never doubles.
    let once = json!({
        "actions": ["read_order"],
        "resources": ["order://customer:{{authenticated_user_id}}/*"],
        "constraints": {"read_order": {"maxPerDay": 1}}
    });
    let a = child(&w, &parent, &bot_key, "relay", Some(once.clone()), None);
    let b = child(&w, &parent, &bot_key, "relay", Some(once), None);
    assert!(call(&w, &a, "read_order", json!({})).allowed());
    let d = call(&w, &b, "read_order", json!({}));
    assert_eq!(
        d.reason,
        Reason::RateLimited,
        "a second child got the capability's limit afresh: {d:?}"
    );
}

#[test]
fn issuer_keys_mint_only_what_their_scope_allows() {
    use base64::Engine as _;
    let b64 = |k: &SigningKey| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(k.verifying_key().as_bytes());
    let (relays_only, granting, capless) = (
        SigningKey::generate().unwrap(),
        SigningKey::generate().unwrap(),
        SigningKey::generate().unwrap(),
    );
    let scoped = format!(
        "{POLICY}\n---\ntrustedIssuers: [\"ed25519:{}\", \"ed25519:{}\", \"ed25519:{}\"]\nissuerScopes:\n  \
         - key: \"ed25519:{}\"\n    agents: [\"rel*\"]\n  - key: \"ed25519:{}\"\n    capabilities: grant\n  \
         - key: \"ed25519:{}\"\n    capabilities: forbid\n",
        b64(&relays_only),
        b64(&granting),
        b64(&capless),
        b64(&relays_only),
        b64(&granting),
        b64(&capless)
    );
    let w = world(&scoped);
    let mint = |key: &SigningKey, agent: &str, cap: Option<Value>| {
        let spec = TokenSpec {
            agent: agent.into(),
            user_context: ctx(json!({"user_id": "42"})),
            ttl_secs: 600,
            capability: cap,
            ..Default::default()
        };
        token::issue(key, &spec, NOW_MS / 1000).unwrap()
    };
    let everything = json!({"actions": ["*"], "resources": ["**"]});

    // A key scoped to relays mints for relays only.
    assert!(call(&w, &mint(&relays_only, "relay", None), "read_order", json!({})).allowed());
    let d = call(&w, &mint(&relays_only, "bot", None), "read_order", json!({}));
    assert_eq!(d.reason, Reason::IssuerNotAllowed, "{d:?}");
    assert!(d.message.contains("rel*"), "{}", d.message);

    // By default an inline capability only narrows the agent's policy, whatever it lists.
    let wide = mint(&w.issuer, "relay", Some(everything.clone()));
    assert_eq!(
        call(&w, &wide, "process_refund", json!({"amount": 1})).reason,
        Reason::ActionNotAllowed
    );
    // A key scoped `capabilities: grant` is the authority over its capabilities: they replace the policy.
    let granted = mint(&granting, "relay", Some(everything.clone()));
    assert!(call(&w, &granted, "process_refund", json!({"amount": 1})).allowed());
    // A key scoped `capabilities: forbid` may not carry one at all.
    let d = call(&w, &mint(&capless, "relay", Some(read_only())), "read_order", json!({}));
    assert_eq!(d.reason, Reason::IssuerNotAllowed, "{d:?}");
    assert!(call(&w, &mint(&capless, "relay", None), "read_order", json!({})).allowed());

    // Scopes are part of trusting a key: narrowing one re-decides tokens already cached.
    let narrowed = scoped.replace("capabilities: grant", "capabilities: narrow");
    w.engine.reload(parse_source("p.yaml", &narrowed).unwrap()).unwrap();
    assert_eq!(
        call(&w, &granted, "process_refund", json!({"amount": 1})).reason,
        Reason::ActionNotAllowed
    );
}
