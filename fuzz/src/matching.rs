//! The matching target: one validate with a resource pattern and a resource the fuzzer chose,
//! the resource stretched to the 2,048-byte cap, costs under a bounded time (the linear
//! matcher: no pattern of up to eight wildcards and no resource makes it backtrack).
//!
//! Input: a first byte `n`; the next `n` bytes are the pattern (the policy's resource, also
//! tried as `<pattern>/**`), the rest is repeated into a resource of 2,048 bytes.

use crate::NOW_MS;
use act_core::{Engine, IssueRequest, ManualClock, Request, SigningKey};
use serde_json::{json, Map, Value};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// The engine's resource cap (`core/src/engine/request.rs`); a longer resource is refused unread.
pub const MAX_RESOURCE_BYTES: usize = 2048;

/// One validate at the input caps must cost less than this, even in a debug build on a busy
/// machine (backtracking took seconds; the linear matcher takes microseconds).
pub const BOUND: Duration = Duration::from_millis(250);

struct World {
    engine: Engine,
    token: String,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let policy = r#"{"agent": "bot", "policy": {"actions": ["read"], "resources": ["x://*"]}}"#;
        let engine = Engine::builder()
            .policies(act_core::policy::parse_source("fuzz.json", policy).expect("the fuzz policy compiles"))
            .signing_key(SigningKey::from_seed(&[0x77; 32]).expect("seed"))
            .clock(Arc::new(ManualClock::new(NOW_MS)))
            .build()
            .expect("the fuzz engine builds");
        let token = engine
            .issue_token(&IssueRequest {
                agent: "bot".into(),
                user_context: json!({"user_id": "42"}).as_object().cloned().unwrap_or_default(),
                ..Default::default()
            })
            .expect("the fuzz engine issues");
        World { engine, token }
    })
}

/// `unit` repeated after `x://` up to `cap` bytes (cut at a character boundary).
pub fn stretch(unit: &str, cap: usize) -> String {
    let unit = if unit.is_empty() { "-" } else { unit };
    let mut out = String::with_capacity(cap + unit.len());
    out.push_str("x://");
    while out.len() < cap {
        out.push_str(unit);
    }
    let mut end = cap.min(out.len());
    while !out.is_char_boundary(end) {
        end -= 1;
    }
    out.truncate(end);
    out
}

/// Decides one fuzzer-chosen pattern against one stretched resource; panics over [`BOUND`].
pub fn matching(data: &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let cut = usize::from(n).min(rest.len());
    let pattern = String::from_utf8_lossy(&rest[..cut]).into_owned();
    let resource = stretch(&String::from_utf8_lossy(&rest[cut..]), MAX_RESOURCE_BYTES);
    let doc = json!({"agent": "bot", "policy": {"actions": ["read"], "resources": [pattern, format!("{pattern}/**")]}});
    let Ok(set) = act_core::policy::parse_source("fuzz.json", &doc.to_string()) else {
        return;
    };
    let w = world();
    if w.engine.reload(set).is_err() {
        return;
    }
    let c: Map<String, Value> = Map::new();
    let once = || {
        let started = Instant::now();
        let d = w.engine.validate(&Request {
            token: &w.token,
            action: "read",
            resource: &resource,
            context: &c,
            approval: None,
        });
        assert!(!d.message.is_empty(), "{d:?}");
        started.elapsed()
    };
    // The least of three runs: a scheduler pause on a shared machine is not the matcher's cost.
    let mut spent = once();
    for _ in 0..2 {
        if spent < BOUND {
            break;
        }
        spent = spent.min(once());
    }
    assert!(
        spent < BOUND,
        "one validate took {spent:?} (over {BOUND:?}) for pattern {pattern:?} and a {}-byte resource",
        resource.len()
    );
}
