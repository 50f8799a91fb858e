//! The seed corpus, built from the conformance vectors in `tests/vectors/` (every suite
//! file listed in `index.json`), so the fuzzer starts from the inputs the project already
//! knows are interesting: hostile tokens, every policy the article and the suites use (as
//! YAML and converted to JSON), policies that must not compile, and snapshot documents.
//!
//! Inputs carry the target's mode byte first (see [`crate::token`], [`crate::snapshot`]).

use crate::{issuer_key, sign_raw, NOW_MS};
use act_core::policy::source::{parse_documents, Node, NodeValue};
use act_core::snapshot::{encode_snapshot, SnapshotDocument};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// The targets, as named in `fuzz_targets/`.
pub const TARGETS: [&str; 5] = ["token", "policy", "snapshot", "delegation", "matching"];

/// Seeds per target, deduplicated, in a stable order.
pub fn build(vectors: &Path) -> std::io::Result<BTreeMap<&'static str, Vec<Vec<u8>>>> {
    let read = |p: &Path| -> std::io::Result<Value> {
        let text = std::fs::read_to_string(p)?;
        serde_json::from_str(&text).map_err(|e| std::io::Error::other(format!("{}: {e}", p.display())))
    };
    let index = read(&vectors.join("index.json"))?;
    let mut out: BTreeMap<&'static str, Vec<Vec<u8>>> = TARGETS.iter().map(|t| (*t, Vec::new())).collect();
    let mut add = |target: &'static str, mode: Option<u8>, bytes: &[u8]| {
        let mut v = Vec::with_capacity(bytes.len() + 1);
        v.extend(mode);
        v.extend_from_slice(bytes);
        let list = out.get_mut(target).expect("known target");
        if !list.contains(&v) {
            list.push(v);
        }
    };
    let foreign = act_core::SigningKey::from_seed(&[0x11; 32]).expect("seed");
    let mut version = 1;
    let mut resources: Vec<String> = Vec::new();
    for file in index["suites"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let doc = read(&vectors.join(file))?;
        for suite in doc["suites"].as_array().into_iter().flatten() {
            for step in suite["steps"].as_array().into_iter().flatten() {
                if let Some(r) = step["resource"].as_str() {
                    if !resources.iter().any(|x| x == r) {
                        resources.push(r.to_string());
                    }
                }
            }
            // Tokens: hand-made hostile ones, whole and split into header and claims.
            let raws = suite["tokens"]
                .as_object()
                .into_iter()
                .flat_map(|m| m.values())
                .filter_map(|t| t["raw"].as_str())
                .chain(
                    suite["steps"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|s| s["token_raw"].as_str()),
                );
            for raw in raws {
                add("token", Some(0), raw.as_bytes());
                add("token", Some(3), raw.as_bytes());
                let mut parts = raw.split('~').next().unwrap_or("").split('.');
                if let (Some(h), Some(c)) = (parts.next(), parts.next()) {
                    if let Ok(h) = URL_SAFE_NO_PAD.decode(h) {
                        add("token", Some(2), &h);
                    }
                    if let Ok(c) = URL_SAFE_NO_PAD.decode(c) {
                        add("token", Some(1), &c);
                    }
                }
            }
            // Policies: as written (YAML), as JSON, and as signed snapshot documents.
            let Some(policy) = suite["policy"].as_str() else {
                continue;
            };
            add("policy", None, policy.as_bytes());
            if let Ok(docs) = parse_documents("policy.yaml", policy) {
                for d in &docs {
                    add(
                        "policy",
                        None,
                        serde_json::to_string_pretty(&to_json(d)).unwrap_or_default().as_bytes(),
                    );
                }
            }
            if let Ok(set) = act_core::policy::parse_source("policy.yaml", policy) {
                let doc = SnapshotDocument {
                    version,
                    issued_at: NOW_MS,
                    expires_at: (version % 2 == 0).then_some(NOW_MS + 86_400_000),
                    policies: set,
                };
                version += 1;
                add("snapshot", Some(1), &serde_json::to_vec(&doc).unwrap_or_default());
                if let Ok(jws) = encode_snapshot(&foreign, &doc) {
                    add("snapshot", Some(0), jws.as_bytes());
                }
            }
        }
    }
    // Delegation: every shape of up to three children over the agents and capabilities the
    // target names, and a fuzzed capability for the last child.
    for n in 0u8..3 {
        for a in 0u8..5 {
            for c in 0u8..5 {
                add("delegation", None, &[n, a, c, (a + 1) % 5, (c + 2) % 5, (a + 3) % 5, c]);
            }
        }
    }
    add(
        "delegation",
        None,
        br#"\x00\x04\x00{"actions":["process_refund"],"resources":["order://**"]}"#,
    );
    // Matching: the patterns that backtracked, against the runs that made them slow, and every
    // resource the vectors ask for against a few patterns.
    for (pattern, unit) in MATCHING_SEEDS {
        let mut v = vec![pattern.len() as u8];
        v.extend_from_slice(pattern.as_bytes());
        v.extend_from_slice(unit.as_bytes());
        add("matching", None, &v);
    }
    for r in resources.iter().take(40) {
        let pattern = "x://*a*/**/*-*";
        let mut v = vec![pattern.len() as u8];
        v.extend_from_slice(pattern.as_bytes());
        v.extend_from_slice(r.trim_start_matches("order://").as_bytes());
        add("matching", None, &v);
    }
    // A valid token of the token target's issuer, split (modes 1 and 2 re-sign what they get).
    let valid = sign_raw(&issuer_key(), br#"{"alg":"EdDSA","typ":"act+jwt","kid":"k"}"#, b"{}");
    add("token", Some(0), valid.as_bytes());
    for (claims, header) in SAMPLE_CLAIMS.iter().zip(SAMPLE_HEADERS.iter().cycle()) {
        add(
            "token",
            Some(1),
            claims.replace("NOW", &(NOW_MS / 1000).to_string()).as_bytes(),
        );
        add("token", Some(2), header.replace("KID", issuer_key().kid()).as_bytes());
    }
    Ok(out)
}

/// (pattern, resource unit) pairs for the matching target.
const MATCHING_SEEDS: [(&str, &str); 6] = [
    ("x://*-*-*-*-*-*-*-*.log", "-"),
    ("x://a*a*a*a*a*a*a*a*b", "a"),
    ("x://**/*a*b*/**/*a*/**/c", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"),
    ("x://**/**/**/**/**/**/**/**/z", "ab/"),
    ("x://{{authenticated_user_id}}*-*", "4-"),
    ("x://*/*/*/*/*/*/*/*", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"),
];

const SAMPLE_CLAIMS: [&str; 3] = [
    r#"{"iss":"act","sub":"42","act":{"sub":"customer-support-bot"},"iat":NOW,"exp":9999999999,"jti":"j1","ctx":{"user_id":"42"}}"#,
    r#"{"iss":"act","sub":"*","act":{"sub":"customer-support-bot"},"iat":NOW,"exp":9999999999,"jti":"j2","ctx":{"user_id":"*"}}"#,
    r#"{"iss":"act","sub":"42","act":{"sub":"customer-support-bot"},"iat":NOW,"exp":"9999999999","exp":1,"jti":"j3"}"#,
];
const SAMPLE_HEADERS: [&str; 3] = [
    r#"{"alg":"EdDSA","typ":"act+jwt","kid":"KID"}"#,
    r#"{"alg":"none","typ":"act+jwt","kid":"KID"}"#,
    r#"{"alg":"EdDSA","typ":"act+jwt","kid":"KID","jwk":{"kty":"OKP"},"crit":["x"]}"#,
];

/// A YAML node as JSON (the same policy, in the other syntax the compiler reads).
fn to_json(n: &Node) -> Value {
    match &n.value {
        NodeValue::Null => Value::Null,
        NodeValue::Bool(b) => Value::Bool(*b),
        NodeValue::Int(i) => Value::from(*i),
        NodeValue::Float(f) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        NodeValue::Str(s) => Value::String(s.clone()),
        NodeValue::Seq(items) => Value::Array(items.iter().map(to_json).collect()),
        NodeValue::Map(entries) => Value::Object(entries.iter().map(|(k, v)| (k.name.clone(), to_json(v))).collect()),
    }
}

/// Writes the corpus as `<dir>/<target>/seed-NNNN` files (what `cargo fuzz run` reads).
pub fn write(vectors: &Path, dir: &Path) -> std::io::Result<usize> {
    let mut n = 0;
    for (target, inputs) in build(vectors)? {
        let d = dir.join(target);
        std::fs::create_dir_all(&d)?;
        for (i, input) in inputs.iter().enumerate() {
            std::fs::write(d.join(format!("seed-{i:04}")), input)?;
            n += 1;
        }
    }
    Ok(n)
}
