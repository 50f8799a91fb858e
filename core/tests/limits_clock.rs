//! Rolling windows at their exact boundary and with the wall clock stepping backwards,
//! through the engine, on the in-memory store and (feature `redis`) on a real Redis server
//! started on loopback: the same expectations for both.

#[cfg(feature = "redis")]
mod redis_server;

use act_core::limits::{open_store, CounterStore};
use act_core::{Engine, IssueRequest, ManualClock, Reason, Request, SigningKey};
use serde_json::json;
use std::sync::Arc;

const DAY: i64 = 86_400_000;
const T0: i64 = 1_800_000_000_000;
const POLICY: &str = r#"
agent: customer-support-bot
policy:
  actions: [process_refund]
  resources: ["order://customer:{{authenticated_user_id}}/*"]
  constraints:
    refunds:
      maxPerDay: 5
"#;

fn scenario(store: Arc<dyn CounterStore>) {
    let clock = Arc::new(ManualClock::new(T0 - 2 * 3_600_000));
    let e = Engine::builder()
        .policies(act_core::policy::parse_source("p.yaml", POLICY).unwrap())
        .signing_key(SigningKey::generate().unwrap())
        .counters(store)
        .clock(clock.clone())
        .build()
        .unwrap();
    // Issued two hours before T0 and valid for three days, so the clock can step back an hour.
    let token = e
        .issue_token(&IssueRequest {
            agent: "customer-support-bot".into(),
            user_context: json!({"user_id": "42"}).as_object().unwrap().clone(),
            ttl_secs: 3 * 86_400,
            ..Default::default()
        })
        .unwrap();
    let c = serde_json::Map::new();
    let at = |ms: i64| {
        clock.set_ms(ms);
        e.validate(&Request {
            token: &token,
            action: "process_refund",
            resource: "order://customer:42/1",
            context: &c,
            approval: None,
        })
        .reason
    };
    for i in 0..5 {
        assert_eq!(at(T0 + i), Reason::Allowed, "refund {i}");
    }
    assert_eq!(at(T0 + 5), Reason::RateLimited);
    // One millisecond before the first allow leaves the window: still full.
    assert_eq!(at(T0 + DAY - 1), Reason::RateLimited);
    // Exactly one window after the first allow: exactly one slot is free.
    assert_eq!(at(T0 + DAY), Reason::Allowed);
    assert_eq!(at(T0 + DAY), Reason::RateLimited);
    // The wall clock steps back an hour, then a day: nothing counted is forgotten or freed.
    assert_eq!(at(T0 + DAY - 3_600_000), Reason::RateLimited);
    assert_eq!(at(T0 - 3_600_000), Reason::RateLimited);
    // Back to normal time: the second event (T0+1) leaves the window at T0+1+DAY.
    assert_eq!(at(T0 + DAY), Reason::RateLimited);
    assert_eq!(at(T0 + DAY + 1), Reason::Allowed);
    assert_eq!(at(T0 + DAY + 1), Reason::RateLimited);
}

#[test]
fn memory_store_window_boundary_and_backwards_clock() {
    scenario(open_store("memory").unwrap());
}

#[cfg(feature = "redis")]
#[test]
fn redis_store_window_boundary_and_backwards_clock() {
    // Dropped (killed by pid) even when the scenario fails.
    let server = redis_server::Redis::start();
    scenario(open_store(&format!("{}?prefix=clock:", server.url())).unwrap());
}
