//! Writes `tests/vectors/delegation_sealed.json`: hand-built delegation chains (delegation
//! format 2, see `docs/tokens.md`) that every language must decide alike.
//!
//! `cargo run -p act-core --example gen_delegation_vectors` rewrites the file. Ed25519 is
//! deterministic and every claim is fixed here (no random `jti`), so the output is stable and
//! the vectors embed the very bytes each runner presents (`raw` tokens: no runner change).

use act_core::token::{sign_jws, TOKEN_TYP};
use act_core::SigningKey;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Map, Value};

const NOW: i64 = 1_800_000_000;
const ISSUER: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
const BOT: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8";
const SUB: &str = "YGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn8";
const RELAY: &str = "gIGCg4SFhoeIiYqLjI2Oj5CRkpOUlZaXmJmam5ydnp8";

const POLICY: &str = r#"agent: bot
policy:
  actions: [read_order, process_refund]
  resources: ["order://customer:{{authenticated_user_id}}/*"]
  constraints:
    process_refund:
      maxAmount: 500
---
agent: relay
policy:
  actions: [read_order]
  resources: ["order://customer:{{authenticated_user_id}}/*"]
---
agent: helper
policy:
  actions: [read_order, process_refund]
  resources: ["order://**"]
---
agent: counted
policy:
  actions: [read_order]
  resources: ["order://**"]
  constraints:
    read_order:
      maxPerDay: 2
---
revocations:
  tokens: ["root-revoked"]
"#;

fn key(seed: &str) -> SigningKey {
    SigningKey::from_seed(&URL_SAFE_NO_PAD.decode(seed).unwrap()).unwrap()
}

fn jwk(k: &SigningKey) -> Value {
    serde_json::from_str(&k.verifying_key().to_jwk()).unwrap()
}

/// A root for agent `bot`, user 42, signed by the issuer, its holder key `bot`.
fn root(issuer: &SigningKey, bot: &SigningKey, jti: &str) -> String {
    let claims = json!({
        "iss": "act", "sub": "42", "act": {"sub": "bot"}, "iat": NOW - 60, "nbf": NOW - 60,
        "exp": NOW + 3600, "jti": jti, "ctx": {"user_id": "42"},
        "cnf": {"jwk": jwk(bot)}
    });
    sign_jws(issuer, TOKEN_TYP, &claims)
}

/// A link for `agent` under a parent of agent `parent_agent` and id `pjt` (`None`: a format-1
/// link without `pjt`), signed by the parent's holder key.
fn link(signer: &SigningKey, parent_agent: &str, pjt: Option<&str>, agent: &str, jti: &str, extra: Value) -> String {
    let mut claims = json!({
        "iss": parent_agent, "sub": "42", "act": {"sub": agent}, "iat": NOW - 30, "nbf": NOW - 30,
        "exp": NOW + 1800, "jti": jti
    });
    if let Some(p) = pjt {
        claims["pjt"] = p.into();
    }
    for (k, v) in extra.as_object().unwrap() {
        claims[k] = v.clone();
    }
    sign_jws(signer, TOKEN_TYP, &claims)
}

fn read_only() -> Value {
    json!({"cap": {"actions": ["read_order"], "resources": ["order://customer:{{authenticated_user_id}}/*"]}})
}

fn cnf(k: &SigningKey) -> Value {
    json!({"cnf": {"jwk": jwk(k)}})
}

fn step(name: &str, token: &str, action: &str, outcome: &str, reason: &str, contains: Option<&str>) -> Value {
    let mut expect = json!({"outcome": outcome, "reason": reason});
    if let Some(c) = contains {
        expect["message_contains"] = c.into();
    }
    let context = if action == "process_refund" {
        json!({"amount": 10})
    } else {
        json!({"rows": 1})
    };
    json!({"name": name, "token": token, "action": action, "resource": "order://customer:42/1001",
           "context": context, "expect": expect})
}

/// `ed25519:<base64url>` of `k`'s public key (as policy files name keys).
fn public(k: &SigningKey) -> String {
    format!("ed25519:{}", URL_SAFE_NO_PAD.encode(k.verifying_key().as_bytes()))
}

/// A plain root (no holder key) for `agent`, user 42, signed by `key`, with an optional `cap`.
fn plain_root(key: &SigningKey, agent: &str, jti: &str, cap: Option<Value>) -> String {
    let mut claims = json!({
        "iss": "act", "sub": "42", "act": {"sub": agent}, "iat": NOW - 60, "nbf": NOW - 60,
        "exp": NOW + 3600, "jti": jti, "ctx": {"user_id": "42"}
    });
    if let Some(c) = cap {
        claims["cap"] = c;
    }
    sign_jws(key, TOKEN_TYP, &claims)
}

/// What scoped issuer keys may mint (`issuerScopes`, docs/tokens.md "Issuer authority").
fn issuer_scopes() -> Value {
    const RELAYS: &str = "oKGio6SlpqeoqaqrrK2ur7CxsrO0tba3uLm6u7y9vr8";
    const GRANTING: &str = "wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t8";
    const CAPLESS: &str = "4OHi4-Tl5ufo6err7O3u7_Dx8vP09fb3-Pn6-_z9_v8";
    let (issuer, relays, granting, capless) = (key(ISSUER), key(RELAYS), key(GRANTING), key(CAPLESS));
    let policy = format!(
        "{}---\ntrustedIssuers: [\"{}\", \"{}\", \"{}\"]\nissuerScopes:\n  - key: \"{}\"\n    agents: [\"rel*\"]\n  \
         - key: \"{}\"\n    capabilities: grant\n  - key: \"{}\"\n    capabilities: forbid\n",
        POLICY.split("---\nrevocations").next().unwrap(),
        public(&relays),
        public(&granting),
        public(&capless),
        public(&relays),
        public(&granting),
        public(&capless)
    );
    let everything = json!({"actions": ["*"], "resources": ["**"]});
    let read_cap = read_only()["cap"].clone();
    let mut t = Map::new();
    let mut put = |name: &str, token: String| {
        t.insert(name.into(), json!({ "raw": token }));
    };
    put("relay_by_relays_key", plain_root(&relays, "relay", "s-1", None));
    put("bot_by_relays_key", plain_root(&relays, "bot", "s-2", None));
    put(
        "wide_cap_by_issuer",
        plain_root(&issuer, "relay", "s-3", Some(everything.clone())),
    );
    put(
        "wide_cap_by_granting_key",
        plain_root(&granting, "relay", "s-4", Some(everything)),
    );
    put(
        "cap_by_capless_key",
        plain_root(&capless, "relay", "s-5", Some(read_cap)),
    );
    put("plain_by_capless_key", plain_root(&capless, "relay", "s-6", None));
    let (r, w) = ("read_order", "process_refund");
    let steps = vec![
        step(
            "a key scoped to relays mints for a relay",
            "relay_by_relays_key",
            r,
            "allow",
            "allowed",
            None,
        ),
        step(
            "but not for another agent",
            "bot_by_relays_key",
            r,
            "deny",
            "issuer_not_allowed",
            Some("rel*"),
        ),
        step(
            "by default a root's capability only narrows its agent's policy",
            "wide_cap_by_issuer",
            w,
            "deny",
            "action_not_allowed",
            None,
        ),
        step(
            "a key scoped `capabilities: grant` replaces the policy with its capability",
            "wide_cap_by_granting_key",
            w,
            "allow",
            "allowed",
            None,
        ),
        step(
            "a key scoped `capabilities: forbid` may not carry a capability",
            "cap_by_capless_key",
            r,
            "deny",
            "issuer_not_allowed",
            Some("forbid"),
        ),
        step(
            "and mints plain tokens",
            "plain_by_capless_key",
            r,
            "allow",
            "allowed",
            None,
        ),
    ];
    json!({
        "name": "issuer scopes",
        "description": "Trusted issuer keys mint only within their issuerScopes (agents, and whether a capability narrows, grants or is forbidden). Written by core/examples/gen_delegation_vectors.rs.",
        "now_ms": NOW * 1000,
        "keys": {"issuer": ISSUER, "relays": RELAYS, "granting": GRANTING, "capless": CAPLESS},
        "signing_key": "issuer",
        "policy": policy,
        "tokens": Value::Object(t),
        "steps": steps,
    })
}

fn main() {
    let (issuer, bot, sub, relay) = (key(ISSUER), key(BOT), key(SUB), key(RELAY));
    let root1 = root(&issuer, &bot, "root-1");
    let root2 = root(&issuer, &bot, "root-2");
    let revoked = root(&issuer, &bot, "root-revoked");
    let mut t = Map::new();
    let mut put = |name: &str, token: String| {
        t.insert(name.into(), json!({ "raw": token }));
    };
    let child_link = link(&bot, "bot", Some("root-1"), "helper", "child-1", read_only());
    put("root", root1.clone());
    put(
        "root_sealed",
        format!(
            "{root1}~{}",
            link(&bot, "bot", Some("root-1"), "bot", "seal-1", json!({}))
        ),
    );
    put("child", format!("{root1}~{child_link}"));
    let attenuable = format!(
        "{root1}~{}",
        link(&bot, "bot", Some("root-1"), "helper", "child-2", {
            let mut e = read_only();
            e["cnf"] = cnf(&sub)["cnf"].clone();
            e
        })
    );
    put("child_attenuable", attenuable.clone());
    put(
        "child_attenuable_sealed",
        format!(
            "{attenuable}~{}",
            link(&sub, "helper", Some("child-2"), "helper", "seal-2", json!({}))
        ),
    );
    put(
        "child_sealed_by_parent_key",
        format!(
            "{attenuable}~{}",
            link(&bot, "helper", Some("child-2"), "helper", "seal-3", json!({}))
        ),
    );
    put(
        "format1_child",
        format!("{root1}~{}", link(&bot, "bot", None, "helper", "child-v1", read_only())),
    );
    put("grafted_child", format!("{root2}~{child_link}"));
    let revoked_child = link(&bot, "bot", Some("root-revoked"), "helper", "child-r", read_only());
    put("revoked_parent_child", format!("{revoked}~{revoked_child}"));
    put("moved_from_revoked_parent", format!("{root2}~{revoked_child}"));
    let mid = format!(
        "{root1}~{}",
        link(&bot, "bot", Some("root-1"), "relay", "mid-1", cnf(&relay))
    );
    put(
        "through_relay",
        format!(
            "{mid}~{}",
            link(&relay, "relay", Some("mid-1"), "helper", "leaf-1", json!({}))
        ),
    );
    let ghost = format!(
        "{root1}~{}",
        link(&bot, "bot", Some("root-1"), "ghost", "ghost-1", cnf(&relay))
    );
    put(
        "through_ghost",
        format!(
            "{ghost}~{}",
            link(&relay, "ghost", Some("ghost-1"), "helper", "leaf-2", json!({}))
        ),
    );
    put(
        "counted_plain",
        format!(
            "{root1}~{}",
            link(&bot, "bot", Some("root-1"), "counted", "counted-1", json!({}))
        ),
    );
    put(
        "counted_capped",
        format!(
            "{root1}~{}",
            link(&bot, "bot", Some("root-1"), "counted", "counted-2", read_only())
        ),
    );
    let (r, w) = ("read_order", "process_refund");
    let steps = vec![
        step(
            "the bot acts with its token sealed by its own key",
            "root_sealed",
            w,
            "allow",
            "allowed",
            None,
        ),
        step(
            "the sub-agent reads within its capability",
            "child",
            r,
            "allow",
            "allowed",
            None,
        ),
        step("but may not refund", "child", w, "deny", "action_not_allowed", None),
        step(
            "dropping its link, the sub-agent presents the parent's token: a prefix never acts",
            "root",
            w,
            "deny",
            "delegation_unsealed",
            Some("holder key"),
        ),
        step(
            "a chain whose last link names a holder key may delegate, not act",
            "child_attenuable",
            r,
            "deny",
            "delegation_unsealed",
            None,
        ),
        step(
            "sealed by the sub-agent's own key it acts, narrowed",
            "child_attenuable_sealed",
            r,
            "allow",
            "allowed",
            None,
        ),
        step(
            "a seal by any other key is no seal",
            "child_sealed_by_parent_key",
            r,
            "deny",
            "delegation_invalid",
            None,
        ),
        step(
            "a format-1 child without pjt fails closed",
            "format1_child",
            r,
            "deny",
            "delegation_invalid",
            Some("format 1"),
        ),
        step(
            "a child moved onto another live parent of the same holder",
            "grafted_child",
            r,
            "deny",
            "delegation_invalid",
            Some("pjt"),
        ),
        step(
            "revoking the parent revokes the child",
            "revoked_parent_child",
            r,
            "deny",
            "token_revoked",
            None,
        ),
        step(
            "and the child cannot be moved onto a live parent",
            "moved_from_revoked_parent",
            r,
            "deny",
            "delegation_invalid",
            None,
        ),
        step(
            "below a read-only relay, the helper reads",
            "through_relay",
            r,
            "allow",
            "allowed",
            None,
        ),
        step(
            "but cannot refund: every link's policy is a layer",
            "through_relay",
            w,
            "deny",
            "action_not_allowed",
            Some("relay"),
        ),
        step(
            "a link whose agent has no policy and no capability denies",
            "through_ghost",
            r,
            "deny",
            "unknown_agent",
            Some("ghost"),
        ),
        step(
            "counted reads once (maxPerDay 2)",
            "counted_plain",
            r,
            "allow",
            "allowed",
            None,
        ),
        step(
            "and once more, through a chain of another shape",
            "counted_capped",
            r,
            "allow",
            "allowed",
            None,
        ),
        step(
            "its limit is its own, whatever chain it holds",
            "counted_plain",
            r,
            "deny",
            "rate_limited",
            None,
        ),
        step("in any shape", "counted_capped", r, "deny", "rate_limited", None),
    ];
    let suite = json!({
        "name": "sealed delegation chains (format 2)",
        "description": "A prefix of a chain never acts on its own, every link is a layer, children are bound to their parent's jti, and limits are keyed by identity. Written by core/examples/gen_delegation_vectors.rs.",
        "now_ms": NOW * 1000,
        "keys": {"issuer": ISSUER, "bot": BOT, "sub": SUB, "relay": RELAY},
        "signing_key": "issuer",
        "policy": POLICY,
        "tokens": Value::Object(t),
        "steps": steps,
    });
    let out = serde_json::to_string_pretty(&json!({ "suites": [suite, issuer_scopes()] })).unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/delegation_sealed.json");
    std::fs::write(path, out + "\n").unwrap();
    println!("wrote {path}");
}
