//! The Redis store behind Sentinel: a master, its replica and one sentinel (quorum 1), real
//! `redis-server` processes on free loopback ports started by this test and stopped by their
//! pids. The master is killed mid-run: limited rules deny with `counter_store_unavailable`,
//! then the store follows the sentinel to the promoted replica, counts intact.
#![cfg(feature = "redis")]

use act_core::limits::open_store;
use act_core::{Engine, IssueRequest, Reason, Request, SigningKey};
use redis_server::{cli, free_port, until_store_answers, Redis};
use serde_json::{json, Map, Value};
use std::process::Command;
use std::time::{Duration, Instant};

mod redis_server;

/// The master's and replica's settings: full resyncs without a disk round trip.
const DISKLESS: [&str; 4] = ["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"];

const POLICY: &str = r#"
agent: customer-support-bot
policy:
  actions: [read_order, process_refund]
  resources: ["order://customer:{{authenticated_user_id}}/*"]
  constraints:
    refunds:
      maxPerDay: 5
"#;

fn refund<'a>(token: &'a str, c: &'a Map<String, Value>) -> Request<'a> {
    Request {
        token,
        action: "process_refund",
        resource: "order://customer:42/1",
        context: c,
        approval: None,
    }
}

#[test]
fn a_master_killed_behind_sentinel_fails_closed_then_follows_the_new_master() {
    let dir = std::env::temp_dir().join(format!("act-redis-sentinel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (mport, rport, sport) = (free_port(), free_port(), free_port());
    let master = Redis::start_with(mport, &DISKLESS);
    let mport_text = mport.to_string();
    let replica_args = [&DISKLESS[..], &["--replicaof", "127.0.0.1", &mport_text]].concat();
    let replica = Redis::start_with(rport, &replica_args);
    // Sentinel rewrites its config file: one of its own in the temp folder.
    let conf = dir.join("sentinel.conf");
    std::fs::write(
        &conf,
        format!(
            "port {sport}\nbind 127.0.0.1\nsentinel monitor act 127.0.0.1 {mport} 1\n\
             sentinel down-after-milliseconds act 400\nsentinel failover-timeout act 2000\n"
        ),
    )
    .unwrap();
    let mut sentinel = Command::new("redis-server");
    sentinel.arg(&conf).arg("--sentinel");
    let sentinel = Redis::run(sport, sentinel);
    // The replica is in sync and the sentinel has discovered it before the test starts.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(cli(rport, &["info", "replication"]).contains("master_link_status:up")
        && cli(sport, &["sentinel", "replicas", "act"]).contains(&rport.to_string()))
    {
        assert!(Instant::now() < deadline, "the replica or the sentinel did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }

    let url = format!("redis+sentinel://127.0.0.1:{sport}/act?prefix=sentinel:&timeout_ms=300");
    let e = Engine::builder()
        .policies(act_core::policy::parse_source("p.yaml", POLICY).unwrap())
        .signing_key(SigningKey::from_seed(&[3; 32]).unwrap())
        .counters(open_store(&url).unwrap())
        .build()
        .unwrap();
    let t = e
        .issue_token(&IssueRequest {
            agent: "customer-support-bot".into(),
            user_context: json!({ "user_id": "42" }).as_object().unwrap().clone(),
            ..Default::default()
        })
        .unwrap();
    let c = json!({}).as_object().unwrap().clone();
    for _ in 0..2 {
        assert!(e.validate(&refund(&t, &c)).allowed());
    }
    assert_eq!(cli(mport, &["wait", "1", "2000"]).trim(), "1", "the replica caught up");
    drop(master); // its pid
    let d = e.validate(&refund(&t, &c));
    assert_eq!(d.reason, Reason::CounterStoreUnavailable, "{d:?}");
    let d = until_store_answers(Duration::from_secs(20), || e.validate(&refund(&t, &c)));
    assert!(d.allowed(), "after the sentinel's failover: {d:?}");
    assert!(
        cli(rport, &["info", "replication"]).contains("role:master"),
        "the replica was promoted"
    );
    for _ in 0..2 {
        assert!(e.validate(&refund(&t, &c)).allowed());
    }
    assert_eq!(e.validate(&refund(&t, &c)).reason, Reason::RateLimited, "5 in all");
    drop((replica, sentinel));
    let _ = std::fs::remove_dir_all(&dir);
}
