//! Fleet-wide limits on a real Redis server (started by this test on loopback,
//! stopped by its pid): several engines — as several processes would — share
//! one exact limit and one single-use mark per approval.
#![cfg(feature = "redis")]

mod redis_server;

use act_core::redis_store::{RedisCounterStore, RedisOptions};
use act_core::{Engine, IssueRequest, ManualClock, Reason, Request, SigningKey};
use redis_server::Redis;
use serde_json::{json, Map, Value};
use std::sync::Arc;

const POLICY: &str = r#"
agent: customer-support-bot
policy:
  actions: [read_order, process_refund]
  resources: ["order://customer:{{authenticated_user_id}}/*"]
  constraints:
    refunds:
      maxAmount: 500
      maxPerDay: 5
      requireSecondApproval: amount > 100
"#;

fn engine(url: &str, key: &SigningKey, prefix: &str, clock: Option<Arc<ManualClock>>) -> Engine {
    let mut opts = RedisOptions::new(url);
    opts.prefix = prefix.into();
    let mut b = Engine::builder()
        .policies(act_core::policy::parse_source("p.yaml", POLICY).unwrap())
        .signing_key(key.clone())
        .counters(Arc::new(RedisCounterStore::open(opts).unwrap()));
    if let Some(c) = clock {
        b = b.clock(c);
    }
    b.build().unwrap()
}

fn ctx(amount: i64) -> Map<String, Value> {
    json!({ "amount": amount }).as_object().unwrap().clone()
}

#[test]
fn one_limit_across_engines_and_threads() {
    let redis = Redis::start();
    let key = SigningKey::generate().unwrap();
    let engines: Vec<Arc<Engine>> = (0..3)
        .map(|_| Arc::new(engine(&redis.url(), &key, "t1:", None)))
        .collect();
    let token = Arc::new(
        engines[0]
            .issue_token(&IssueRequest {
                agent: "customer-support-bot".into(),
                user_context: json!({"user_id": "42"}).as_object().unwrap().clone(),
                ..Default::default()
            })
            .unwrap(),
    );
    let threads: Vec<_> = (0..12)
        .map(|i| {
            let (e, t) = (engines[i % 3].clone(), token.clone());
            std::thread::spawn(move || {
                let c = ctx(20);
                (0..10)
                    .filter(|_| {
                        e.validate(&Request {
                            token: &t,
                            action: "process_refund",
                            resource: "order://customer:42/1",
                            context: &c,
                            approval: None,
                        })
                        .allowed()
                    })
                    .count()
            })
        })
        .collect();
    let allowed: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(allowed, 5, "maxPerDay: 5 across 3 engines and 12 threads");
}

#[test]
fn windows_roll_and_approvals_are_single_use_fleet_wide() {
    let redis = Redis::start();
    let key = SigningKey::generate().unwrap();
    let clock = Arc::new(ManualClock::new(1_800_000_000_000));
    let a = engine(&redis.url(), &key, "t2:", Some(clock.clone()));
    let b = engine(&redis.url(), &key, "t2:", Some(clock.clone()));
    let token = a
        .issue_token(&IssueRequest {
            agent: "customer-support-bot".into(),
            user_context: json!({"user_id": "7"}).as_object().unwrap().clone(),
            ttl_secs: 3 * 86_400,
            ..Default::default()
        })
        .unwrap();
    let small = ctx(10);
    for i in 0..5 {
        let e = if i % 2 == 0 { &a } else { &b };
        assert!(e.validate(&refund(&token, &small, None)).allowed());
    }
    assert_eq!(b.validate(&refund(&token, &small, None)).reason, Reason::RateLimited);
    // The clock steps back (within the token's leeway): no capacity is freed.
    clock.advance_ms(-10_000);
    assert_eq!(a.validate(&refund(&token, &small, None)).reason, Reason::RateLimited);
    clock.advance_ms(10_000 + 86_400_000);
    assert!(a.validate(&refund(&token, &small, None)).allowed(), "the window rolled");

    let big = ctx(120);
    let d = a.validate(&refund(&token, &big, None));
    let approval = a.approve(&d.approval_request.unwrap().id, "supervisor", 600).unwrap();
    assert_eq!(
        a.validate(&refund(&token, &big, Some(&approval))).reason,
        Reason::Approved
    );
    assert_eq!(
        b.validate(&refund(&token, &big, Some(&approval))).reason,
        Reason::ApprovalReplayed,
        "replayed on another engine"
    );
}

fn refund<'a>(token: &'a str, c: &'a Map<String, Value>, approval: Option<&'a str>) -> Request<'a> {
    Request {
        token,
        action: "process_refund",
        resource: "order://customer:7/1",
        context: c,
        approval,
    }
}

#[test]
fn unreachable_redis_fails_closed_for_limited_actions_only() {
    let redis = Redis::start();
    let key = SigningKey::generate().unwrap();
    let e = engine(&redis.url(), &key, "t3:", None);
    let token = e
        .issue_token(&IssueRequest {
            agent: "customer-support-bot".into(),
            user_context: json!({"user_id": "9"}).as_object().unwrap().clone(),
            ..Default::default()
        })
        .unwrap();
    drop(redis); // the server goes away
    let c = ctx(10);
    let d = e.validate(&Request {
        token: &token,
        action: "process_refund",
        resource: "order://customer:9/1",
        context: &c,
        approval: None,
    });
    assert_eq!(d.reason, Reason::CounterStoreUnavailable, "{d:?}");
    let d = e.validate(&Request {
        token: &token,
        action: "read_order",
        resource: "order://customer:9/1",
        context: &c,
        approval: None,
    });
    assert!(d.allowed(), "actions without limits do not need the store: {d:?}");
    assert!(RedisCounterStore::open(RedisOptions::new("redis://127.0.0.1:1/")).is_err());
    assert_eq!(
        RedisCounterStore::open(RedisOptions::new("nonsense"))
            .err()
            .map(|e| e.code()),
        Some("invalid_argument")
    );
}

/// A user id chosen to spell another user's internal key (`42:seq` was the sequence key
/// beside user 42's window) neither breaks that user's limits nor shares them: each key part
/// is length-prefixed and windows and sequences live in separate namespaces.
#[test]
fn a_crafted_user_id_cannot_collide_with_another_users_keys() {
    let redis = Redis::start();
    let key = SigningKey::generate().unwrap();
    let e = engine(&redis.url(), &key, "t4:", None);
    let token = |user: &str| {
        e.issue_token(&IssueRequest {
            agent: "customer-support-bot".into(),
            user_context: json!({ "user_id": user }).as_object().unwrap().clone(),
            ..Default::default()
        })
        .unwrap()
    };
    let refund_as = |t: &str, user: &str| {
        let c = ctx(10);
        let resource = format!("order://customer:{user}/1");
        e.validate(&Request {
            token: t,
            action: "process_refund",
            resource: &resource,
            context: &c,
            approval: None,
        })
    };
    let victim = token("42");
    let d = refund_as(&victim, "42");
    assert!(d.allowed(), "{d:?}");
    for crafted in ["42:seq", "42|x", "x|42"] {
        let t = token(crafted);
        let d = refund_as(&t, crafted);
        assert!(d.allowed(), "{crafted}: {d:?}");
    }
    // The victim still has exactly 4 refunds left today, unaffected by the crafted ids.
    for i in 0..4 {
        let d = refund_as(&victim, "42");
        assert!(d.allowed(), "victim refund {i}: {d:?}");
    }
    assert_eq!(refund_as(&victim, "42").reason, Reason::RateLimited);
    // And a crafted id acting first does not break the victim's key either.
    let t = token("7:seq");
    assert!(refund_as(&t, "7:seq").allowed());
    let v7 = token("7");
    let d = refund_as(&v7, "7");
    assert!(d.allowed(), "{d:?}");
}
