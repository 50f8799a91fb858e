//! Bounded cost on inputs an agent controls: one `validate` at the input caps costs about what
//! a trivial one costs. Times are compared with a baseline measured in the same run (minimum of
//! several runs each, 100× margin), never with an absolute threshold a busy machine can break.

use act_core::policy::parse_source;
use act_core::{Engine, IssueRequest, Outcome, Request, SigningKey};
use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};

/// How much slower than the baseline a hostile input may be before it counts as super-linear.
const MARGIN: u32 = 100;

fn engine(pattern: &str) -> (Engine, String) {
    let policy = format!("agent: a\npolicy:\n  actions: [read]\n  resources: [\"{pattern}\"]\n");
    let e = Engine::builder()
        .policies(parse_source("p.yaml", &policy).unwrap())
        .signing_key(SigningKey::generate().unwrap())
        .build()
        .unwrap();
    let user: Map<String, Value> = json!({"user_id": "u1"}).as_object().unwrap().clone();
    let t = e
        .issue_token(&IssueRequest {
            agent: "a".into(),
            user_context: user,
            ..Default::default()
        })
        .unwrap();
    (e, t)
}

/// The fastest of `runs` validates of `resource` against a policy holding only `pattern`.
fn cost(pattern: &str, resource: &str, runs: usize) -> (Duration, Outcome) {
    let (e, t) = engine(pattern);
    let ctx = Map::new();
    let req = Request {
        token: &t,
        action: "read",
        resource,
        context: &ctx,
        approval: None,
    };
    let mut outcome = e.validate(&req).outcome; // warms the token cache
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let start = Instant::now();
        outcome = e.validate(&req).outcome;
        best = best.min(start.elapsed());
    }
    (best, outcome)
}

/// Asserts that each hostile pattern costs under `MARGIN` × the baseline on `resource`.
/// The cases are ordered cheapest-first for a backtracking matcher, so on one the test fails
/// in milliseconds rather than hanging on the quartic case.
fn assert_linear(baseline: &str, hostile: &[&str], resource: &str) {
    assert!(resource.len() <= 2048, "over the resource cap");
    let (base, base_outcome) = cost(baseline, resource, 200);
    assert_eq!(base_outcome, Outcome::Deny);
    for pattern in hostile {
        let (took, outcome) = cost(pattern, resource, 5);
        assert_eq!(outcome, Outcome::Deny, "{pattern}");
        let ratio = took.as_secs_f64() / base.as_secs_f64().max(1e-9);
        eprintln!("{pattern}: {took:?} vs baseline {base:?} ({ratio:.1}x)");
        assert!(
            took < base * MARGIN,
            "`{pattern}` on a {}-byte resource took {took:?}, over {MARGIN}x the baseline {base:?}",
            resource.len()
        );
    }
}

fn at_cap(prefix: &str, fill: &str, suffix: &str) -> String {
    let mut r = prefix.to_string();
    while r.len() + fill.len() + suffix.len() <= 2048 {
        r.push_str(fill);
    }
    r.push_str(suffix);
    r
}

#[test]
fn stars_against_a_run_of_dashes_are_linear() {
    let dashes = at_cap("log://app/", "-", "");
    assert_eq!(dashes.len(), 2048);
    assert_linear(
        "log://app/*.log",
        &[
            "log://app/*-*.log",
            "log://app/*-*-*.log",
            "log://app/*-*-*-*.log",
            "log://app/*-*-*-*-*-*-*-*.log",
        ],
        &dashes,
    );
    // The suffix matches, so the search must walk the middle chunks.
    let dashes_log = at_cap("log://app/", "-", ".log");
    assert_linear(
        "log://app/*x.log",
        &[
            "log://app/*-*x*.log",
            "log://app/*-*-*-*x*.log",
            "log://app/*-*-*-*-*-*-*x*.log",
        ],
        &dashes_log,
    );
}

#[test]
fn globstars_against_many_segments_are_linear() {
    // 64 segments (the cap) of `a`, none of them `x`.
    let segs = format!("log://{}", ["a"; 62].join("/"));
    assert_linear(
        "log://**/x",
        &[
            "log://**/**/x",
            "log://**/a/**/a/**/x",
            "log://**/**/**/**/x",
            "log://**/**/**/**/**/**/**/**/x",
        ],
        &segs,
    );
    // Long segments under many globstars: each segment's stars are searched once per state.
    let long = format!("log://{}", vec!["-".repeat(30); 60].join("/"));
    assert_linear("log://**/x", &["log://**/*-*-*x/**/*-*-*x"], &long);
}

/// Distinct bogus 16 KiB tokens (a trusted `kid`, a claims part of padding, a stolen
/// signature) are each rejected, and none is kept among the verified tokens: the verified cache
/// stays empty and the rejections stay under their own small byte bound. (The old cache kept
/// every one, keyed by its full text: 1.6 GB.)
#[test]
fn a_flood_of_bogus_tokens_does_not_grow_the_token_cache() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let (e, good) = engine("log://app/*");
    let header = good.split('.').next().unwrap();
    let sig = good.rsplit('.').next().unwrap();
    // `{"pad":"x` is 9 bytes, so the 9-byte counter after it encodes to its own 12 characters.
    let pad_len = (act_core::token::MAX_TOKEN_BYTES - header.len() - sig.len() - 2) / 4 * 3 - 9 - 9 - 3;
    let claims = format!("{{\"pad\":\"x{:09}{}\"}}", 0, "y".repeat(pad_len));
    let mut token = format!("{header}.{}.{sig}", URL_SAFE_NO_PAD.encode(&claims));
    assert!(
        token.len() <= act_core::token::MAX_TOKEN_BYTES && token.len() > 16_000,
        "{}",
        token.len()
    );
    let at = header.len() + 1 + 12;
    let ctx = Map::new();
    let read = |t: &str| {
        e.validate(&Request {
            token: t,
            action: "read",
            resource: "log://app/x",
            context: &ctx,
            approval: None,
        })
    };
    assert_eq!(read(&good).outcome, Outcome::Allow);
    let mut counter = [0u8; 12];
    // 25,000 by default (400 MB of token text, 400 times the rejection bound) to keep CI
    // quick in debug builds; ACT_HOSTILE_TOKENS=100000 runs the full flood.
    let count: u32 = std::env::var("ACT_HOSTILE_TOKENS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(25_000);
    for i in 0..count {
        URL_SAFE_NO_PAD.encode_slice(format!("{i:09}"), &mut counter).unwrap();
        token.replace_range(at..at + 12, std::str::from_utf8(&counter).unwrap());
        let d = read(&token);
        assert_eq!(d.outcome, Outcome::Deny, "{d:?}");
    }
    let stats = e.token_cache_stats();
    eprintln!("{stats:?}");
    assert_eq!(stats.verified_entries, 1, "only the good token is kept: {stats:?}");
    assert!(stats.verified_bytes <= stats.verified_capacity_bytes, "{stats:?}");
    assert!(stats.rejected_bytes <= stats.rejected_capacity_bytes, "{stats:?}");
    assert!(stats.rejected_capacity_bytes <= 2 * 1024 * 1024, "{stats:?}");
    assert!(stats.rejected_entries < 10_000, "{stats:?}");
    assert_eq!(read(&good).outcome, Outcome::Allow);
}

/// Verified tokens are held within the configured bytes, and an evicted one verifies again.
#[test]
fn verified_tokens_stay_within_their_byte_bound() {
    let key = SigningKey::generate().unwrap();
    let policy = "agent: a\npolicy:\n  actions: [read]\n  resources: [\"log://app/*\"]\n";
    let e = Engine::builder()
        .policies(parse_source("p.yaml", policy).unwrap())
        .signing_key(key)
        .options(act_core::EngineOptions {
            token_cache_bytes: 256 * 1024,
            ..Default::default()
        })
        .build()
        .unwrap();
    let ctx = Map::new();
    let tokens: Vec<String> = (0..1500)
        .map(|i| {
            let user = json!({"user_id": format!("user-{i}")}).as_object().unwrap().clone();
            e.issue_token(&IssueRequest {
                agent: "a".into(),
                user_context: user,
                ..Default::default()
            })
            .unwrap()
        })
        .collect();
    for t in tokens.iter().chain(&tokens) {
        let d = e.validate(&Request {
            token: t,
            action: "read",
            resource: "log://app/x",
            context: &ctx,
            approval: None,
        });
        assert_eq!(d.outcome, Outcome::Allow, "{d:?}");
    }
    let stats = e.token_cache_stats();
    assert!(stats.verified_capacity_bytes <= 256 * 1024, "{stats:?}");
    assert!(stats.verified_bytes <= stats.verified_capacity_bytes, "{stats:?}");
    assert!(
        stats.verified_entries > 10 && stats.verified_entries < 1500,
        "{stats:?}"
    );
    assert_eq!(stats.rejected_entries, 0, "{stats:?}");

    // `token_cache_capacity` still bounds the entries (benchmarks rely on a tiny cache).
    let small = Engine::builder()
        .policies(parse_source("p.yaml", policy).unwrap())
        .signing_key(SigningKey::generate().unwrap())
        .options(act_core::EngineOptions {
            token_cache_capacity: 16,
            ..Default::default()
        })
        .build()
        .unwrap();
    for i in 0..200 {
        let user = json!({"user_id": format!("user-{i}")}).as_object().unwrap().clone();
        let t = small
            .issue_token(&IssueRequest {
                agent: "a".into(),
                user_context: user,
                ..Default::default()
            })
            .unwrap();
        let d = small.validate(&Request {
            token: &t,
            action: "read",
            resource: "log://app/x",
            context: &ctx,
            approval: None,
        });
        assert_eq!(d.outcome, Outcome::Allow, "{d:?}");
    }
    let stats = small.token_cache_stats();
    assert!(stats.verified_entries <= 16, "{stats:?}");
}

/// `[1..n].all(a, [1..n].all(b, ...))` nested `depth` times.
fn nested_all(depth: usize, n: usize) -> String {
    let list = format!("[{}]", (1..=n).map(|i| i.to_string()).collect::<Vec<_>>().join(", "));
    let vars: Vec<String> = (0..depth).map(|i| format!("v{i}")).collect();
    let mut expr = format!("{} > 0", vars.join(" + "));
    for v in vars.iter().rev() {
        expr = format!("{list}.all({v}, {expr})");
    }
    expr
}

/// A capability carried in a token with four nested comprehensions over 20-element lists
/// (160,000 steps, seconds per `validate` in a debug build) is refused when the token is first
/// seen, with an error naming the bound; it is never evaluated.
#[test]
fn a_token_capability_beyond_the_cel_budget_is_refused() {
    use act_core::token::{issue, TokenSpec};
    let key = SigningKey::generate().unwrap();
    let policy = "agent: a\npolicy:\n  actions: [read]\n  resources: [\"log://app/*\"]\n";
    let e = Engine::builder()
        .policies(parse_source("p.yaml", policy).unwrap())
        .signing_key(key.clone())
        .build()
        .unwrap();
    let cap = |cel: &str| json!({"actions": ["read"], "resources": ["log://app/*"], "constraints": {"reads": {"condition": cel}}});
    let token = |cel: &str| {
        let spec = TokenSpec {
            issuer: "act".into(),
            agent: "a".into(),
            user_context: json!({"user_id": "u1"}).as_object().unwrap().clone(),
            ttl_secs: 600,
            capability: Some(cap(cel)),
            ..Default::default()
        };
        issue(
            &key,
            &spec,
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64,
        )
        .unwrap()
    };
    let ctx = Map::new();
    let run = |t: &str| {
        let start = Instant::now();
        let d = e.validate(&Request {
            token: t,
            action: "read",
            resource: "log://app/x",
            context: &ctx,
            approval: None,
        });
        (d, start.elapsed())
    };
    let (d, took) = run(&token(&nested_all(4, 20)));
    eprintln!("nested capability: {:?} {:?} in {took:?}", d.outcome, d.reason);
    assert_eq!(d.outcome, Outcome::Deny, "{d:?}");
    assert_eq!(d.reason, act_core::Reason::TokenClaimInvalid, "{d:?}");
    assert!(d.message.contains("nests 4 comprehensions"), "{}", d.message);
    // One level is within a token's budget and still works.
    let (d, _) = run(&token(&nested_all(1, 20)));
    assert_eq!(d.outcome, Outcome::Allow, "{d:?}");
    // A huge flat expression is refused by size.
    let big = (0..300).map(|i| format!("{i} >= 0")).collect::<Vec<_>>().join(" && ");
    let (d, _) = run(&token(&big));
    assert_eq!(d.reason, act_core::Reason::TokenClaimInvalid, "{d:?}");
    assert!(d.message.contains("too large"), "{}", d.message);
    // The issuer refuses to mint such a capability in the first place.
    let err = e
        .issue_token(&IssueRequest {
            agent: "a".into(),
            user_context: json!({"user_id": "u1"}).as_object().unwrap().clone(),
            policy: Some(cap(&nested_all(2, 3))),
            ..Default::default()
        })
        .unwrap_err();
    assert!(err.to_string().contains("nests 2 comprehensions"), "{err}");
}

/// Policy files get a looser budget, still with a compile error that names the bound.
#[test]
fn a_policy_beyond_the_cel_budget_does_not_compile() {
    let policy = |cel: &str| {
        format!("agent: a\npolicy:\n  actions: [read]\n  resources: [\"log://app/*\"]\n  constraints:\n    reads:\n      condition: \"{cel}\"\n")
    };
    assert!(parse_source("p.yaml", &policy(&nested_all(2, 3)))
        .map_err(act_core::Error::from)
        .and_then(|set| Engine::builder().policies(set).build().map(|_| ()))
        .is_ok());
    let err = parse_source("p.yaml", &policy(&nested_all(3, 3)))
        .map_err(act_core::Error::from)
        .and_then(|set| Engine::builder().policies(set).build().map(|_| ()))
        .unwrap_err();
    assert!(err.to_string().contains("nests 3 comprehensions"), "{err}");
}
