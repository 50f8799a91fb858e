//! Budgets and limit scopes under concurrent calls: threads (and, with feature `redis`, several
//! engines sharing a real Redis server started by this test) spend one agent-wide budget, and
//! exactly what it holds is allowed — never a cent more, whatever the interleaving.

#[cfg(feature = "redis")]
mod redis_server;

use act_core::limits::CounterStore;
use act_core::{Engine, IssueRequest, ManualClock, Reason, Request, SigningKey};
use serde_json::{json, Map, Value};
use std::sync::Arc;

const POLICY: &str = r#"
agent: customer-support-bot
policy:
  actions: [process_refund]
  resources: ["order://customer:{{authenticated_user_id}}/*"]
  constraints:
    process_refund:
      maxPerDay: 1000
      budget: {sum: amount, max: 2000, window: 1d, per: agent}
"#;

const NOW: i64 = 1_800_000_000_000;

fn engine(key: &SigningKey, counters: Arc<dyn CounterStore>, clock: Arc<ManualClock>) -> Engine {
    Engine::builder()
        .policies(act_core::policy::parse_source("p.yaml", POLICY).unwrap())
        .signing_key(key.clone())
        .counters(counters)
        .clock(clock)
        .build()
        .unwrap()
}

fn tokens(e: &Engine, users: usize) -> Vec<String> {
    (0..users)
        .map(|u| {
            e.issue_token(&IssueRequest {
                agent: "customer-support-bot".into(),
                user_context: json!({ "user_id": u.to_string() }).as_object().unwrap().clone(),
                ttl_secs: 3 * 86_400,
                ..Default::default()
            })
            .unwrap()
        })
        .collect()
}

fn refund(e: &Engine, token: &str, user: usize, amount: Value) -> act_core::Decision {
    let context: Map<String, Value> = json!({ "amount": amount }).as_object().unwrap().clone();
    let resource = format!("order://customer:{user}/1");
    e.validate(&Request {
        token,
        action: "process_refund",
        resource: &resource,
        context: &context,
        approval: None,
    })
}

/// 8 threads over `engines` spend 1.25 at a time (plus refused negative amounts) from one
/// budget of 2000: exactly 1600 are allowed, and no refused request consumed anything.
fn spend_concurrently(engines: &[Arc<Engine>]) {
    let tokens = Arc::new(tokens(&engines[0], 20));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (e, tokens) = (engines[t % engines.len()].clone(), tokens.clone());
            std::thread::spawn(move || {
                let (mut allowed, mut limited) = (0, 0);
                for i in 0..250 {
                    let user = (t * 250 + i) % 20;
                    let d = refund(&e, &tokens[user], user, json!(1.25));
                    match d.reason {
                        Reason::Allowed => allowed += 1,
                        Reason::RateLimited => limited += 1,
                        other => panic!("unexpected {other:?}: {}", d.message),
                    }
                    if i % 50 == 0 {
                        let bad = refund(&e, &tokens[user], user, json!(-1.25));
                        assert_eq!(bad.reason, Reason::ContextInvalid, "{}", bad.message);
                    }
                }
                (allowed, limited)
            })
        })
        .collect();
    let (allowed, limited) = threads
        .into_iter()
        .map(|t| t.join().unwrap())
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    assert_eq!(allowed, 1600, "2000 / 1.25 allowed across every thread and engine");
    assert_eq!(limited, 400);
    let last = engines.last().unwrap();
    let d = refund(last, &tokens[3], 3, json!(0.01));
    assert_eq!(d.reason, Reason::RateLimited, "{}", d.message);
    assert!(
        d.message.contains("2000 of `amount` per day for the agent"),
        "{}",
        d.message
    );
    assert!(
        refund(last, &tokens[3], 3, json!(0)).allowed(),
        "a weight of 0 needs no room"
    );
}

/// The boundary and a backwards clock: 2000.01 refused, then exactly 2000 allowed, and a clock
/// stepped back frees nothing.
fn boundary(engines: &[Arc<Engine>], clock: &ManualClock) {
    let tokens = tokens(&engines[0], 2);
    let (a, b) = (&engines[0], engines.last().unwrap());
    assert_eq!(refund(a, &tokens[0], 0, json!(2000.01)).reason, Reason::RateLimited);
    assert!(refund(a, &tokens[0], 0, json!(1999.99)).allowed());
    assert_eq!(refund(b, &tokens[1], 1, json!(0.02)).reason, Reason::RateLimited);
    assert!(refund(b, &tokens[1], 1, json!(0.01)).allowed(), "exactly 2000 in all");
    clock.advance_ms(3_600_000);
    assert_eq!(refund(b, &tokens[1], 1, json!(0.01)).reason, Reason::RateLimited);
    clock.advance_ms(-3_000_000);
    assert_eq!(refund(a, &tokens[1], 1, json!(0.01)).reason, Reason::RateLimited);
    clock.advance_ms(86_400_000);
    assert!(refund(a, &tokens[0], 0, json!(2000)).allowed(), "the window rolled");
}

#[test]
fn one_budget_under_threads_in_memory() {
    let key = SigningKey::generate().unwrap();
    let clock = Arc::new(ManualClock::new(NOW));
    let store: Arc<dyn CounterStore> = Arc::new(act_core::limits::MemoryCounterStore::new());
    spend_concurrently(&[Arc::new(engine(&key, store, clock))]);
}

#[test]
fn budget_boundary_in_memory() {
    let key = SigningKey::generate().unwrap();
    let clock = Arc::new(ManualClock::new(NOW));
    let store: Arc<dyn CounterStore> = Arc::new(act_core::limits::MemoryCounterStore::new());
    boundary(&[Arc::new(engine(&key, store, clock.clone()))], &clock);
}

#[cfg(feature = "redis")]
fn redis_engines(url: &str, prefix: &str, key: &SigningKey, clock: &Arc<ManualClock>) -> Vec<Arc<Engine>> {
    use act_core::redis_store::{RedisCounterStore, RedisOptions};
    (0..3)
        .map(|_| {
            let mut opts = RedisOptions::new(url);
            opts.prefix = prefix.into();
            let store: Arc<dyn CounterStore> = Arc::new(RedisCounterStore::open(opts).unwrap());
            Arc::new(engine(key, store, clock.clone()))
        })
        .collect()
}

#[cfg(feature = "redis")]
#[test]
fn one_budget_across_engines_on_redis() {
    let redis = redis_server::Redis::start();
    let key = SigningKey::generate().unwrap();
    let clock = Arc::new(ManualClock::new(NOW));
    spend_concurrently(&redis_engines(&redis.url(), "b1:", &key, &clock));
}

#[cfg(feature = "redis")]
#[test]
fn budget_boundary_on_redis() {
    let redis = redis_server::Redis::start();
    let key = SigningKey::generate().unwrap();
    let clock = Arc::new(ManualClock::new(NOW));
    boundary(&redis_engines(&redis.url(), "b2:", &key, &clock), &clock);
}

/// 20 users × 5 refunds each through 3 engines on one Redis, under an agent-wide cap of 100 a
/// day (`per: agent`) beside the per-user `maxPerDay: 5`: all 100 allowed, the 101st refused.
#[cfg(feature = "redis")]
#[test]
fn agent_wide_cap_across_engines_on_redis() {
    use act_core::redis_store::{RedisCounterStore, RedisOptions};
    const SCOPED: &str = r#"
agent: customer-support-bot
policy:
  actions: [process_refund]
  resources: ["order://customer:{{authenticated_user_id}}/*"]
  constraints:
    process_refund:
      maxPerDay: 5
      rateLimit: {rate: 100/day, per: agent}
"#;
    let redis = redis_server::Redis::start();
    let key = SigningKey::generate().unwrap();
    let engines: Vec<Arc<Engine>> = (0..3)
        .map(|_| {
            let mut opts = RedisOptions::new(redis.url());
            opts.prefix = "s1:".into();
            Arc::new(
                Engine::builder()
                    .policies(act_core::policy::parse_source("p.yaml", SCOPED).unwrap())
                    .signing_key(key.clone())
                    .counters(Arc::new(RedisCounterStore::open(opts).unwrap()))
                    .build()
                    .unwrap(),
            )
        })
        .collect();
    let tokens = Arc::new(tokens(&engines[0], 21));
    let threads: Vec<_> = (0..20)
        .map(|u| {
            let (e, tokens) = (engines[u % 3].clone(), tokens.clone());
            // Six tries per user: the per-user limit refuses the sixth.
            std::thread::spawn(move || (0..6).filter(|_| refund(&e, &tokens[u], u, json!(1)).allowed()).count())
        })
        .collect();
    let allowed: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(allowed, 100);
    let d = refund(&engines[1], &tokens[20], 20, json!(1));
    assert_eq!(d.reason, Reason::RateLimited);
    assert!(d.message.contains("100 per day for the agent"), "{}", d.message);
}
