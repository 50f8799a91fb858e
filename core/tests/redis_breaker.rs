//! With a Redis counter store the circuit breaker is fleet-wide: denials counted by different
//! engines (as different processes or machines would) open one breaker that pauses them all.
//! A real `redis-server` is started on loopback and stopped by its pid.
#![cfg(feature = "redis")]

mod redis_server;

use act_core::policy::parse_source;
use act_core::redis_store::{RedisCounterStore, RedisOptions};
use act_core::{Engine, IssueRequest, Reason, Request, SigningKey};
use redis_server::Redis;
use serde_json::{json, Map, Value};
use std::sync::Arc;

fn policy(scope: &str) -> String {
    format!(
        "agent: bot\npolicy:\n  actions: [read_order]\n  resources: [\"order://customer:{{{{authenticated_user_id}}}}/*\"]\n  \
         circuitBreaker:\n    maxDenials: 3\n    window: 1m\n    coolDown: 5m{scope}\n"
    )
}

fn engine(url: &str, prefix: &str, key: &SigningKey, scope: &str) -> Engine {
    let mut o = RedisOptions::new(url);
    o.prefix = prefix.into();
    Engine::builder()
        .policies(parse_source("p.yaml", &policy(scope)).unwrap())
        .signing_key(key.clone())
        .counters(Arc::new(RedisCounterStore::open(o).unwrap()))
        .build()
        .unwrap()
}

fn token(e: &Engine, user: &str) -> String {
    e.issue_token(&IssueRequest {
        agent: "bot".into(),
        user_context: json!({ "user_id": user }).as_object().unwrap().clone(),
        ..Default::default()
    })
    .unwrap()
}

fn read(e: &Engine, t: &str, owner: &str) -> Reason {
    let c: Map<String, Value> = Map::new();
    let resource = format!("order://customer:{owner}/1");
    e.validate(&Request {
        token: t,
        action: "read_order",
        resource: &resource,
        context: &c,
        approval: None,
    })
    .reason
}

#[test]
fn denials_on_different_engines_open_one_breaker_for_the_fleet() {
    let redis = Redis::start();
    let key = SigningKey::generate().unwrap();
    let (a, b, c) = (
        engine(&redis.url(), "f1:", &key, ""),
        engine(&redis.url(), "f1:", &key, ""),
        engine(&redis.url(), "f1:", &key, ""),
    );
    let (mallory, alice) = (token(&a, "mallory"), token(&a, "alice"));
    // Two denials here, one there: no engine saw three, the fleet did.
    assert_eq!(read(&a, &mallory, "alice"), Reason::ResourceNotAllowed);
    assert_eq!(read(&a, &mallory, "alice"), Reason::ResourceNotAllowed);
    assert_eq!(read(&b, &mallory, "alice"), Reason::ResourceNotAllowed);
    for (name, e) in [("a", &a), ("b", &b), ("c (never saw a denial)", &c)] {
        assert_eq!(read(e, &mallory, "mallory"), Reason::CircuitOpen, "engine {name}");
        assert_eq!(
            read(e, &alice, "alice"),
            Reason::Allowed,
            "engine {name}: another user is not paused"
        );
    }
    assert_eq!(
        c.open_breakers(),
        vec![("bot".to_string(), Some("mallory".to_string()))]
    );

    // Another deployment prefix on the same server shares nothing.
    let other = engine(&redis.url(), "f2:", &key, "");
    assert_eq!(read(&other, &mallory, "mallory"), Reason::Allowed);
}

#[test]
fn an_agent_wide_breaker_is_fleet_wide_and_survives_a_redis_outage_per_process() {
    let redis = Redis::start();
    let key = SigningKey::generate().unwrap();
    let (a, b) = (
        engine(&redis.url(), "w:", &key, "\n    scope: agent"),
        engine(&redis.url(), "w:", &key, "\n    scope: agent"),
    );
    let (mallory, alice, bob) = (token(&a, "mallory"), token(&a, "alice"), token(&a, "bob"));
    assert_eq!(read(&a, &mallory, "alice"), Reason::ResourceNotAllowed);
    assert_eq!(read(&b, &alice, "bob"), Reason::ResourceNotAllowed);
    assert_eq!(read(&b, &bob, "mallory"), Reason::ResourceNotAllowed);
    assert_eq!(
        read(&a, &alice, "alice"),
        Reason::CircuitOpen,
        "the agent is paused for everyone"
    );

    // Redis gone: a fresh engine's breaker degrades to per process (still counts, still opens),
    // and requests without limits are not failed by the breaker's store.
    drop(redis);
    let lone = {
        let redis2 = Redis::start();
        let e = engine(&redis2.url(), "w:", &key, "\n    scope: agent");
        drop(redis2);
        e
    };
    assert_eq!(read(&lone, &alice, "alice"), Reason::Allowed);
    for _ in 0..3 {
        assert_eq!(read(&lone, &mallory, "alice"), Reason::ResourceNotAllowed);
    }
    assert_eq!(read(&lone, &alice, "alice"), Reason::CircuitOpen);
}
