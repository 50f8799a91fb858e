//! Validations in threads while snapshots swap many times per second: every decision
//! matches exactly the version it reports, and none fails for any other reason.

use act_core::policy::parse_source;
use act_core::snapshot::Snapshot;
use act_core::{Engine, IssueRequest, Reason, Request, SigningKey};
use serde_json::Map;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn every_decision_is_consistent_with_one_version() {
    let key = SigningKey::generate().unwrap();
    let vk = key.verifying_key().clone();
    let allow = parse_source(
        "p.yaml",
        "agent: bot\npolicy:\n  actions: [read]\n  resources: [\"doc://*\"]\n",
    )
    .unwrap();
    let mut deny = allow.clone();
    deny.kill_switches.actions.push("read".into());
    let engine = Arc::new(
        Engine::builder()
            .policies(allow.clone())
            .signing_key(key)
            .version(2)
            .build()
            .unwrap(),
    );
    let token = engine
        .issue_token(&IssueRequest {
            agent: "bot".into(),
            user_context: [("user_id".to_string(), "u".into())].into_iter().collect(),
            ..Default::default()
        })
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (e, t, s) = (engine.clone(), token.clone(), stop.clone());
            std::thread::spawn(move || {
                let ctx = Map::new();
                let mut seen = 0u64;
                let mut versions = std::collections::BTreeSet::new();
                while !s.load(Ordering::Relaxed) {
                    let d = e.check(&Request {
                        token: &t,
                        action: "read",
                        resource: "doc://x",
                        context: &ctx,
                        approval: None,
                    });
                    // Even versions allow, odd versions carry a kill switch for `read`.
                    let expected = if d.snapshot_version % 2 == 0 {
                        Reason::Allowed
                    } else {
                        Reason::KillSwitch
                    };
                    assert_eq!(d.reason, expected, "version {}: {}", d.snapshot_version, d.message);
                    versions.insert(d.snapshot_version);
                    seen += 1;
                }
                (seen, versions.len())
            })
        })
        .collect();
    // Swap as fast as compiling allows for a while (thousands of swaps per second).
    let started = std::time::Instant::now();
    let mut v = 2;
    while started.elapsed() < Duration::from_millis(700) {
        v += 1;
        let set = if v % 2 == 0 { allow.clone() } else { deny.clone() };
        engine
            .swap_snapshot(Snapshot::compile(set, v, engine.now_ms(), std::slice::from_ref(&vk)).unwrap())
            .unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        let (decisions, versions) = r.join().unwrap();
        assert!(
            decisions > 100 && versions > 2,
            "{decisions} decisions over {versions} versions"
        );
    }
    assert!(v > 50, "only {v} swaps");
    // An older version is refused and the current one keeps serving.
    assert!(engine
        .swap_snapshot(Snapshot::compile(allow, v - 1, 0, &[]).unwrap())
        .is_err());
    assert_eq!(engine.snapshot().version, v);
}
