//! `validate` on the article's customer-support policy: an already-seen token
//! (cache hit) and a first-seen token (one Ed25519 verification), with the
//! audit record included, beside a bare Ed25519 verification measured in the
//! same run so the first-seen overhead reads as a difference, not a guess.

use act_core::{Engine, IssueRequest, Request, SigningKey};
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Map, Value};

const POLICY: &str = r#"
agent: customer-support-bot
policy:
  actions: [read_order, process_refund]
  resources: ["order://customer:{{authenticated_user_id}}/*"]
  constraints:
    refunds:
      maxAmount: 500
      maxPerDay: 100000000
      requireSecondApproval: amount > 100
    orders:
      onlyOwnOrders: true
      maxRowsPerQuery: 50
    audit:
      logAllActions: true
"#;

fn engine(cache: usize, sink: Option<Box<dyn act_core::audit::AuditSink>>) -> Engine {
    let mut b = Engine::builder()
        .policies(act_core::policy::parse_source("p.yaml", POLICY).unwrap())
        .signing_key(SigningKey::generate().unwrap())
        .options(act_core::EngineOptions {
            token_cache_capacity: cache,
            ..Default::default()
        });
    if let Some(s) = sink {
        b = b.audit_sink(s);
    }
    b.build().unwrap()
}

fn issue(e: &Engine, user: &str) -> String {
    e.issue_token(&IssueRequest {
        agent: "customer-support-bot".into(),
        user_context: json!({"user_id": user, "roles": ["customer"]})
            .as_object()
            .unwrap()
            .clone(),
        ttl_secs: 3600,
        ..Default::default()
    })
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let e = engine(100_000, None);
    let token = issue(&e, "42");
    let ctx: Map<String, Value> = json!({"amount": 80, "currency": "USD", "reason": "late"})
        .as_object()
        .unwrap()
        .clone();
    let req = Request {
        token: &token,
        action: "process_refund",
        resource: "order://customer:42/1001",
        context: &ctx,
        approval: None,
    };
    assert!(e.check(&req).allowed());

    let mut g = c.benchmark_group("validate");
    // check(): the whole decision, without consuming the limit or recording it.
    g.bench_function("already_seen/check", |b| b.iter(|| e.check(std::hint::black_box(&req))));
    // validate(): consumes the daily limit and hands the audit record to the audit thread.
    g.bench_function("already_seen/validate", |b| {
        b.iter(|| e.validate(std::hint::black_box(&req)))
    });
    e.flush_audit();

    // With a JSON Lines sink, a tight loop is bounded by the audit writer (hash + JSON + write),
    // since a full queue makes validate wait rather than drop a record.
    let path = std::env::temp_dir().join(format!("act-bench-{}.jsonl", std::process::id()));
    let file_engine = engine(
        100_000,
        Some(Box::new(
            act_core::audit::JsonlSink::open(path.to_str().unwrap()).unwrap(),
        )),
    );
    let file_token = issue(&file_engine, "42");
    let file_req = Request {
        token: &file_token,
        ..req
    };
    g.bench_function("already_seen/validate_jsonl_sustained", |b| {
        b.iter(|| file_engine.validate(std::hint::black_box(&file_req)))
    });
    file_engine.flush_audit();
    drop(file_engine);
    let _ = std::fs::remove_file(&path);

    // First-seen: more distinct tokens than a tiny cache holds, so every call verifies.
    let cold = engine(16, None);
    let fresh: Vec<String> = (0..4096).map(|i| issue(&cold, &i.to_string())).collect();
    let resources: Vec<String> = (0..4096).map(|i| format!("order://customer:{i}/1")).collect();
    let mut i = 0;
    g.bench_function("first_seen/check", |b| {
        b.iter(|| {
            i = (i + 1) % fresh.len();
            cold.check(&Request {
                token: &fresh[i],
                action: "process_refund",
                resource: &resources[i],
                context: &ctx,
                approval: None,
            })
        })
    });
    // The floor for a first-seen token: one bare Ed25519 verification of a token-sized message.
    let key = SigningKey::generate().unwrap();
    let msg = token.rsplit_once('.').unwrap().0.as_bytes().to_vec();
    let sig = key.sign(&msg);
    g.bench_function("ed25519_verify_alone", |b| {
        b.iter(|| key.verifying_key().verify(std::hint::black_box(&msg), &sig))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
