//! The bodies of ACT's fuzz targets, in a normal library so that the same code runs
//! under `cargo fuzz` (nightly, libFuzzer, sanitizers: `fuzz_targets/*.rs`) and under a
//! stable `cargo test` that replays the seed corpus, the committed regressions and a few
//! thousand random mutations (`tests/replay.rs`).
//!
//! Each body feeds attacker-controlled bytes to one entry point and asserts properties
//! that must hold for every input, beyond "does not panic":
//!
//! - [`token`]: a token string that was not signed by the engine's issuer key is never
//!   allowed and never reaches `approval_required`; claims or headers the fuzzer chose but
//!   that carry a valid signature allow only the token's own user's orders and only with
//!   an `EdDSA` header free of `jwk`/`jku`/`x5u`/`x5c`/`crit`; a forged approval never
//!   approves.
//! - [`policy`]: YAML and JSON policy sources compile or fail with diagnostics that name
//!   the file; a compiled policy builds an engine whose decisions carry a reason and message.
//! - [`snapshot`]: bytes not signed by the pinned key never load; signed claims that load
//!   re-encode and load again to the same version.
//! - [`delegation()`]: chains the fuzzer shapes: a child never exceeds its parent, no
//!   unsealed chain (so no prefix) acts, a link moved onto another parent never verifies.
//! - [`matching()`]: one validate with a fuzzer-chosen pattern and a resource at the 2,048-byte
//!   cap costs under a bounded time.
#![forbid(unsafe_code)]

pub mod delegation;
pub mod matching;
pub mod seeds;

pub use delegation::delegation;
pub use matching::matching;

use act_core::snapshot::{decode_snapshot, encode_snapshot, verify_document, SnapshotDocument};
use act_core::{Engine, IssueRequest, ManualClock, Outcome, Reason, Request, SigningKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use std::sync::{Arc, OnceLock};

/// The clock of every fuzz engine (the vectors' default `now_ms`).
pub const NOW_MS: i64 = 1_800_000_000_000;

/// The issuer key of the token target: no vector uses it, so no seed token is signed by it.
pub fn issuer_key() -> SigningKey {
    SigningKey::from_seed(&[0x5a; 32]).expect("32-byte seed")
}

/// The pinned snapshot key of the snapshot target (also used by no vector).
pub fn snapshot_key() -> SigningKey {
    SigningKey::from_seed(&[0xa5; 32]).expect("32-byte seed")
}

const POLICY: &str = r#"
agent: customer-support-bot
policy:
  actions: [read_order, process_refund]
  resources: ["order://customer:{{authenticated_user_id}}/*"]
  constraints:
    refunds:
      maxAmount: 500
      maxPerDay: 1000000
      requireSecondApproval: amount > 100
"#;

struct TokenWorld {
    engine: Engine,
    key: SigningKey,
    /// Header, claims and signature of a token the engine issued for user 42.
    valid: (String, String),
}

fn token_world() -> &'static TokenWorld {
    static WORLD: OnceLock<TokenWorld> = OnceLock::new();
    WORLD.get_or_init(|| {
        let key = issuer_key();
        let engine = Engine::builder()
            .policies(act_core::policy::parse_source("fuzz.yaml", POLICY).expect("the fuzz policy compiles"))
            .signing_key(key.clone())
            .clock(Arc::new(ManualClock::new(NOW_MS)))
            .build()
            .expect("the fuzz engine builds");
        let token = engine
            .issue_token(&IssueRequest {
                agent: "customer-support-bot".into(),
                user_context: json!({"user_id": "42"}).as_object().unwrap().clone(),
                ttl_secs: 3600,
                ..Default::default()
            })
            .expect("the fuzz engine issues");
        let mut parts = token.split('.');
        let (h, c) = (parts.next().unwrap().to_string(), parts.next().unwrap().to_string());
        TokenWorld {
            engine,
            key,
            valid: (h, c),
        }
    })
}

/// `base64url(header) "." base64url(claims) "." base64url(signature)`, signed by `key` over the raw bytes given.
pub fn sign_raw(key: &SigningKey, header: &[u8], claims: &[u8]) -> String {
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
    let sig = key.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn ctx(amount: i64) -> Map<String, Value> {
    json!({ "amount": amount }).as_object().unwrap().clone()
}

fn decide(e: &Engine, token: &str, action: &str, amount: i64, approval: Option<&str>) -> act_core::Decision {
    let c = ctx(amount);
    let d = e.validate(&Request {
        token,
        action,
        resource: "order://customer:42/1",
        context: &c,
        approval,
    });
    assert!(
        !d.reason.as_str().is_empty() && !d.message.is_empty(),
        "every decision has a reason and a message: {d:?}"
    );
    d
}

/// Token parser and verifier. The first byte picks what the rest is:
/// 0 a whole token string; 1 the claims of a token signed by the trusted issuer;
/// 2 the header of a token signed by the trusted issuer; 3 an approval for a valid token.
pub fn token(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let w = token_world();
    match mode % 4 {
        0 => {
            let text = String::from_utf8_lossy(rest);
            let _ = act_core::token::decode_unverified(&text);
            for (action, amount) in [("read_order", 0), ("process_refund", 20), ("process_refund", 120)] {
                let d = decide(&w.engine, &text, action, amount, None);
                assert!(
                    d.outcome == Outcome::Deny,
                    "a token the issuer never signed must be denied, got {:?} ({}) for {text:?}",
                    d.reason,
                    d.message
                );
            }
        }
        1 => {
            let header = URL_SAFE_NO_PAD.decode(&w.valid.0).unwrap();
            let tok = sign_raw(&w.key, &header, rest);
            for (action, amount) in [("read_order", 0), ("process_refund", 20)] {
                let d = decide(&w.engine, &tok, action, amount, None);
                if d.outcome != Outcome::Deny {
                    let claims: Value = serde_json::from_slice(rest).expect("allowed claims are JSON");
                    assert_eq!(claims["sub"], json!("42"), "only user 42's orders: {claims}");
                    assert_eq!(claims["act"]["sub"], json!("customer-support-bot"), "{claims}");
                    let exp = claims["exp"].as_i64().expect("integer exp");
                    assert!(exp * 1000 > NOW_MS - 30_000, "not expired beyond the leeway: {claims}");
                }
            }
        }
        2 => {
            let claims = URL_SAFE_NO_PAD.decode(&w.valid.1).unwrap();
            let tok = sign_raw(&w.key, rest, &claims);
            let d = decide(&w.engine, &tok, "read_order", 0, None);
            if d.outcome != Outcome::Deny {
                let header: Value = serde_json::from_slice(rest).expect("an accepted header is JSON");
                assert_eq!(header["alg"], json!("EdDSA"), "{header}");
                for forbidden in ["jwk", "jku", "x5u", "x5c", "crit"] {
                    assert!(header.get(forbidden).is_none(), "`{forbidden}` accepted: {header}");
                }
            }
        }
        _ => {
            let tok = format!("{}.{}.{}", w.valid.0, w.valid.1, {
                let input = format!("{}.{}", w.valid.0, w.valid.1);
                URL_SAFE_NO_PAD.encode(w.key.sign(input.as_bytes()))
            });
            let approval = String::from_utf8_lossy(rest);
            let d = decide(&w.engine, &tok, "process_refund", 120, Some(&approval));
            assert_ne!(d.reason, Reason::Approved, "a forged approval approved: {approval:?}");
            assert_ne!(d.outcome, Outcome::Allow, "{d:?}");
        }
    }
}

/// The policy compiler: the bytes as a YAML file and as a JSON file.
pub fn policy(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for file in ["fuzz.yaml", "fuzz.json"] {
        match act_core::policy::parse_source(file, text) {
            Err(e) => {
                assert!(!e.diagnostics.is_empty(), "a refused policy says why");
                for d in &e.diagnostics {
                    assert_eq!(d.file, file, "diagnostics name the file: {d:?}");
                    assert!(!d.message.is_empty(), "{d:?}");
                }
            }
            Ok(set) => {
                let agents: Vec<String> = set.agents.iter().take(3).map(|a| a.agent.clone()).collect();
                let actions: Vec<String> = set
                    .agents
                    .iter()
                    .flat_map(|a| a.grants.iter())
                    .flat_map(|g| g.actions.iter())
                    .take(4)
                    .cloned()
                    .collect();
                let Ok(engine) = Engine::builder()
                    .policies(set)
                    .signing_key(issuer_key())
                    .clock(Arc::new(ManualClock::new(NOW_MS)))
                    .build()
                else {
                    continue;
                };
                for agent in agents {
                    let Ok(tok) = engine.issue_token(&IssueRequest {
                        agent,
                        user_context: json!({"user_id": "42", "roles": ["customer"]})
                            .as_object()
                            .unwrap()
                            .clone(),
                        ..Default::default()
                    }) else {
                        continue;
                    };
                    for action in actions.iter().chain(std::iter::once(&"read_order".to_string())) {
                        let _ = decide(&engine, &tok, action, 120, None);
                        let c = ctx(5);
                        let d = engine.validate(&Request {
                            token: &tok,
                            action,
                            resource: "order://customer:43/../42/1",
                            context: &c,
                            approval: None,
                        });
                        assert_eq!(d.outcome, Outcome::Deny, "`..` segments are denied: {d:?}");
                    }
                }
            }
        }
    }
}

fn snapshot_engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        Engine::builder()
            .without_snapshot()
            .signing_key(issuer_key())
            .clock(Arc::new(ManualClock::new(NOW_MS)))
            .build()
            .expect("the snapshot fuzz engine builds")
    })
}

/// The snapshot loader. First byte: 0 the whole document (never signed by the pinned
/// key, so it must never load); 1 the claims of a document signed by the pinned key.
pub fn snapshot(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let key = snapshot_key();
    let pinned = key.verifying_key();
    if mode % 2 == 0 {
        assert!(
            verify_document(rest, pinned).is_err(),
            "an unsigned or foreign document verified"
        );
        assert!(
            decode_snapshot(rest, pinned).is_err(),
            "an unsigned or foreign document loaded"
        );
        return;
    }
    let header = format!(r#"{{"alg":"EdDSA","typ":"act-snapshot+jwt","kid":"{}"}}"#, pinned.kid());
    let jws = sign_raw(&key, header.as_bytes(), rest);
    let Ok(doc) = verify_document(jws.as_bytes(), pinned) else {
        return;
    };
    assert!(doc.version >= 1, "version 0 is refused");
    let version = doc.version;
    match doc.clone().compile(&[]) {
        Err(e) => assert!(e.to_string().contains(&format!("version {version}")), "{e}"),
        Ok(snap) => {
            // What an SDK accepts, the control plane can sign again, and it loads to the same version
            // (except a document that expires before it is issued: loadable, always stale, never signed).
            if doc.expires_at.is_none_or(|exp| exp > doc.issued_at) {
                let again = encode_snapshot(&key, &SnapshotDocument { ..doc }).expect("a loadable document re-encodes");
                let reloaded = decode_snapshot(again.as_bytes(), pinned).expect("a re-encoded document loads");
                assert_eq!(reloaded.version, version);
            }
            let e = snapshot_engine();
            let before = e.snapshot().version;
            match e.swap_snapshot(snap) {
                Ok(v) => assert!(v > before, "versions only go up: {before} -> {v}"),
                Err(_) => assert_eq!(e.snapshot().version, before, "a refused swap keeps the snapshot"),
            }
            let _ = decide(e, "not.a.token", "read_order", 0, None);
        }
    }
}

/// A small deterministic generator for the stable replay's mutations (xorshift64*).
pub struct Rng(u64);

impl Rng {
    /// Seeded generator (0 is replaced by a constant).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    /// Next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform below `n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// One libFuzzer-style mutation of `input` (bit flips, interesting bytes, insertions,
/// deletions, duplication of a chunk, splicing from `other`); keeps the first (mode) byte
/// most of the time so mutations stay in their mode.
pub fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        let start = if v.len() > 1 && rng.below(10) > 0 { 1 } else { 0 };
        let len = v.len();
        let pos = if len > start {
            start + rng.below(len - start)
        } else {
            len
        };
        match rng.below(8) {
            0 if pos < len => v[pos] ^= 1 << rng.below(8),
            1 if pos < len => v[pos] = b"\0\x01\x7f\xff\"\\{}[]:,.~*%$-0"[rng.below(18)],
            2 => {
                let s: &[&[u8]] = &[
                    b"\"",
                    b"{",
                    b"}",
                    b"[",
                    b"]",
                    b"\\u0000",
                    b"..",
                    b"/",
                    b"*",
                    b"{{",
                    b"}}",
                    b"NaN",
                    b"1e999",
                    b"-0",
                    b"\xc3\x28",
                    b"~",
                    b"\n  ",
                    b": ",
                    b"- ",
                    b"&a",
                    b"*a",
                    b"!!",
                ];
                let t = s[rng.below(s.len())];
                v.splice(pos..pos, t.iter().copied());
            }
            3 if pos < len => {
                let end = (pos + 1 + rng.below(16)).min(len);
                v.drain(pos..end);
            }
            4 if pos < len => {
                let end = (pos + 1 + rng.below(32)).min(len);
                let chunk: Vec<u8> = v[pos..end].to_vec();
                let at = start + rng.below(v.len() - start + 1);
                v.splice(at..at, chunk);
            }
            5 if !other.is_empty() => {
                let a = rng.below(other.len());
                let b = (a + 1 + rng.below(64)).min(other.len());
                v.splice(pos..pos, other[a..b].iter().copied());
            }
            6 if pos < len => v.truncate(pos),
            _ => {
                if pos < len {
                    v[pos] = v[pos].wrapping_add(1 + rng.below(3) as u8);
                }
            }
        }
    }
    v
}
