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
