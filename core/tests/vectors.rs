//! Runs every conformance vector in `tests/vectors/` against the Rust core.
//! Every binding runs the same files; see `tests/vectors/README.md` for the format.

use act_core::audit::{verify_log, MemorySink};
use act_core::token::DelegationSpec;
use act_core::{Engine, IssueRequest, ManualClock, Request, SigningKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

fn obj(v: Option<&Value>) -> Map<String, Value> {
    v.and_then(Value::as_object).cloned().unwrap_or_default()
}

fn key_from_seed(seed: &str) -> SigningKey {
    SigningKey::from_seed(&URL_SAFE_NO_PAD.decode(seed).expect("seed is base64url")).expect("seed is 32 bytes")
}

struct Suite {
    name: String,
    engine: Engine,
    clock: Arc<ManualClock>,
    keys: HashMap<String, SigningKey>,
    tokens: HashMap<String, String>,
    approvals: HashMap<String, String>,
    sink: MemorySink,
}

fn build(file: &str, suite: &Value) -> Result<Suite, act_core::Error> {
    let name = format!("{file}: {}", suite["name"].as_str().unwrap_or("?"));
    let keys: HashMap<String, SigningKey> = obj(suite.get("keys"))
        .iter()
        .map(|(k, v)| (k.clone(), key_from_seed(v.as_str().expect("key seed"))))
        .collect();
    let clock = Arc::new(ManualClock::new(suite["now_ms"].as_i64().unwrap_or(1_800_000_000_000)));
    let policy = suite["policy"].as_str().unwrap_or("");
    let set = act_core::policy::parse_source("policy.yaml", policy)?;
    let sink = MemorySink::default();
    let mut b = Engine::builder()
        .policies(set)
        .clock(clock.clone())
        .audit_sink(Box::new(sink.clone()));
    if let Some(k) = suite["signing_key"].as_str() {
        b = b.signing_key(keys[k].clone());
    }
    for t in suite["trusted"].as_array().into_iter().flatten() {
        b = b.trust(keys[t.as_str().unwrap()].verifying_key().clone());
    }
    if let Some(aud) = suite["audience"].as_str() {
        b = b.options(act_core::EngineOptions {
            audience: Some(aud.into()),
            ..Default::default()
        });
    }
    let engine = b.build()?;
    Ok(Suite {
        name,
        engine,
        clock,
        keys,
        tokens: HashMap::new(),
        approvals: HashMap::new(),
        sink,
    })
}

/// The token a `delegate` or `tamper` spec is made from, if any.
fn depends_on(spec: &Value) -> Option<&str> {
    spec.get("delegate")
        .map(|d| &d["parent"])
        .or_else(|| spec.get("tamper").map(|t| &t["token"]))
        .and_then(Value::as_str)
}

fn make_tokens(s: &mut Suite, suite: &Value) {
    // Tokens may be made from other tokens: make them in dependency order.
    let mut todo: Vec<(String, Value)> = obj(suite.get("tokens")).into_iter().collect();
    let mut ordered = Vec::new();
    while !todo.is_empty() {
        let before = todo.len();
        let (ready, waiting): (Vec<_>, Vec<_>) = todo.into_iter().partition(|(_, spec)| {
            depends_on(spec).is_none_or(|p| ordered.iter().any(|(n, _): &(String, Value)| n == p))
        });
        ordered.extend(ready);
        todo = waiting;
        assert!(todo.len() < before, "{}: tokens refer to missing tokens", s.name);
    }
    for (name, spec) in ordered {
        let token = if let Some(raw) = spec.get("raw") {
            raw.as_str().unwrap().to_string()
        } else if let Some(t) = spec.get("tamper") {
            // Re-encode the claims with a patch, keeping the original signature.
            let original = &s.tokens[t["token"].as_str().unwrap()];
            let parts: Vec<&str> = original.split('.').collect();
            let mut claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
            for (k, v) in obj(t.get("claims_patch")) {
                claims[k] = v;
            }
            format!(
                "{}.{}.{}",
                parts[0],
                URL_SAFE_NO_PAD.encode(claims.to_string()),
                parts[2]
            )
        } else if let Some(issue) = spec.get("issue") {
            let req = IssueRequest {
                agent: issue["agent"].as_str().unwrap().into(),
                user_context: obj(issue.get("user_context")),
                agent_context: obj(issue.get("agent_context")),
                policy: issue.get("policy").cloned(),
                ttl_secs: issue["ttl"].as_u64().unwrap_or(3600),
                holder_key: issue["holder"].as_str().map(|h| s.keys[h].verifying_key().clone()),
            };
            let issued = match issue["signed_by"].as_str() {
                // Another issuer with the same policies but its own key (not trusted by the suite's engine).
                Some(k) => Engine::builder()
                    .policies(s.engine.snapshot().source.clone())
                    .signing_key(s.keys[k].clone())
                    .build()
                    .and_then(|e| e.issue_token(&req)),
                None => s.engine.issue_token(&req),
            };
            issued.unwrap_or_else(|e| panic!("{}: issuing `{name}`: {e}", s.name))
        } else if let Some(d) = spec.get("delegate") {
            let parent = s.tokens[d["parent"].as_str().unwrap()].clone();
            let holder = s.keys[d["holder"].as_str().unwrap()].clone();
            let child = DelegationSpec {
                agent: d["agent"].as_str().unwrap().into(),
                agent_context: obj(d.get("agent_context")),
                capability: d.get("policy").cloned(),
                ttl_secs: d["ttl"].as_u64().unwrap_or(600),
                holder_key: d["next_holder"].as_str().map(|h| s.keys[h].verifying_key().clone()),
            };
            s.engine
                .delegate(&parent, &holder, &child)
                .unwrap_or_else(|e| panic!("{}: delegating `{name}`: {e}", s.name))
        } else {
            panic!("{}: token `{name}` needs raw, issue or delegate", s.name)
        };
        s.tokens.insert(name, token);
    }
}

fn run_step(s: &mut Suite, i: usize, step: &Value) {
    let label = format!("{} step {i} ({})", s.name, step["name"].as_str().unwrap_or(""));
    if let Some(ms) = step["advance_ms"].as_i64() {
        s.clock.advance_ms(ms);
    }
    let token = match step["token"].as_str() {
        Some(t) => s
            .tokens
            .get(t)
            .cloned()
            .unwrap_or_else(|| panic!("{label}: unknown token {t}")),
        None => step["token_raw"].as_str().unwrap_or("").to_string(),
    };
    let context = obj(step.get("context"));
    let approval = step["approval"].as_str().map(|a| s.approvals[a].clone());
    let req = Request {
        token: &token,
        action: step["action"].as_str().unwrap(),
        resource: step["resource"].as_str().unwrap(),
        context: &context,
        approval: approval.as_deref(),
    };
    let repeat = step["repeat"].as_u64().unwrap_or(1);
    for n in 0..repeat {
        let d = match step["mode"].as_str() {
            Some("check") => s.engine.check(&req),
            _ => s.engine.validate(&req),
        };
        let e = &step["expect"];
        let at = if repeat > 1 {
            format!("{label} #{n}")
        } else {
            label.clone()
        };
        assert_eq!(d.outcome.as_str(), e["outcome"].as_str().unwrap(), "{at}: {d:?}");
        assert_eq!(d.reason.as_str(), e["reason"].as_str().unwrap(), "{at}: {d:?}");
        if let Some(r) = e.get("rule") {
            assert_eq!(d.rule.as_deref(), r.as_str(), "{at}: rule");
        }
        if let Some(c) = e.get("constraint") {
            assert_eq!(d.constraint.as_deref(), c.as_str(), "{at}: constraint");
        }
        if let Some(m) = e["message_contains"].as_str() {
            assert!(d.message.contains(m), "{at}: message `{}` lacks `{m}`", d.message);
        }
        assert_eq!(
            d.approval_request.is_some(),
            d.outcome.as_str() == "approval_required",
            "{at}"
        );
        if let Some(want) = e.get("approval_request") {
            check_approval_request(&at, &d, want);
        }
        if let Some(want) = e.get("shadow") {
            check_shadow(&at, &d, want);
        }
        if let Some(name) = step["approve_as"].as_str() {
            let req = d
                .approval_request
                .as_ref()
                .unwrap_or_else(|| panic!("{at}: nothing to approve"));
            let a = s.engine.approve(&req.id, "vector-approver", 600).unwrap();
            s.approvals.insert(name.to_string(), a);
        }
    }
}

/// `expect.approval_request`: the values the approver sees (`context`, a subset of fields pinned),
/// the fields shown as digests (`context_redacted`), `context_hash`, `conditions`, `chain`.
fn check_approval_request(at: &str, d: &act_core::Decision, want: &Value) {
    let got = d
        .approval_request
        .as_ref()
        .unwrap_or_else(|| panic!("{at}: no approval request"));
    let shown = Value::Object(got.context.clone());
    if let Some(ctx) = want.get("context") {
        let mut pinned = shown.clone();
        for path in want["context_redacted"].as_array().into_iter().flatten() {
            remove_path(&mut pinned, path.as_str().unwrap());
        }
        assert_eq!(&pinned, ctx, "{at}: approval request context");
    }
    for path in want["context_redacted"].as_array().into_iter().flatten() {
        let v = path
            .as_str()
            .unwrap()
            .split('.')
            .try_fold(&shown, |v, k| v.get(k))
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{at}: redacted field {path} is missing"));
        assert!(v.starts_with("[redacted:"), "{at}: {path} shown as {v}");
    }
    if let Some(h) = want["context_hash"].as_str() {
        assert_eq!(got.context_hash, h, "{at}: context_hash");
    }
    if let Some(c) = want.get("conditions") {
        let got: Vec<Value> = got
            .conditions
            .iter()
            .map(|c| serde_json::json!({"constraint": c.constraint, "condition": c.condition}))
            .collect();
        assert_eq!(&Value::Array(got), c, "{at}: conditions");
    }
    if let Some(c) = want.get("chain") {
        assert_eq!(&serde_json::to_value(&got.chain).unwrap(), c, "{at}: chain");
    }
}

fn remove_path(v: &mut Value, path: &str) {
    match path.split_once('.') {
        Some((head, rest)) => {
            if let Some(inner) = v.get_mut(head) {
                remove_path(inner, rest);
            }
        }
        None => {
            if let Some(o) = v.as_object_mut() {
                o.remove(path);
            }
        }
    }
}

/// `expect.shadow`: `null` (no shadow evaluated) or the shadow's `outcome`, `reason` and `rule`.
fn check_shadow(at: &str, d: &act_core::Decision, want: &Value) {
    match (&d.shadow, want) {
        (None, Value::Null) => {}
        (Some(s), Value::Object(w)) => {
            assert_eq!(Some(s.outcome.as_str()), w["outcome"].as_str(), "{at}: shadow outcome");
            assert_eq!(Some(s.reason.as_str()), w["reason"].as_str(), "{at}: shadow reason");
            if let Some(r) = w.get("rule") {
                assert_eq!(s.rule.as_deref(), r.as_str(), "{at}: shadow rule");
            }
        }
        (got, _) => panic!("{at}: shadow {got:?}, expected {want}"),
    }
}

fn run_suite(file: &str, suite: &Value) {
    if let Some(expected) = suite.get("policy_error") {
        let err = build(file, suite)
            .err()
            .unwrap_or_else(|| panic!("{file}: policy should not compile"));
        let text = err.to_string();
        for needle in expected["contains"].as_array().unwrap() {
            assert!(
                text.contains(needle.as_str().unwrap()),
                "{file}: error `{text}` lacks {needle}"
            );
        }
        return;
    }
    let mut s = build(file, suite).unwrap_or_else(|e| panic!("{file}: {e}"));
    make_tokens(&mut s, suite);
    for (i, step) in suite["steps"].as_array().into_iter().flatten().enumerate() {
        run_step(&mut s, i, step);
    }
    // Every enforced decision left a record, and the chain verifies.
    s.engine.flush_audit();
    let lines: Vec<String> = s
        .sink
        .records()
        .iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .collect();
    let joined = lines.join("\n");
    verify_log(joined.as_bytes(), Some(act_core::audit::GENESIS_HASH)).unwrap_or_else(|e| panic!("{}: {e:?}", s.name));
}

#[test]
fn conformance_vectors() {
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(vectors_dir().join("index.json")).unwrap()).unwrap();
    let mut count = 0;
    for file in index["suites"].as_array().unwrap() {
        let file = file.as_str().unwrap();
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(vectors_dir().join(file)).unwrap())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        for suite in doc["suites"].as_array().unwrap() {
            run_suite(file, suite);
            count += 1;
        }
    }
    assert!(count >= 10, "only {count} suites ran");
}
