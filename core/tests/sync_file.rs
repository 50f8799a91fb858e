//! The local policy folder source: edits apply, broken edits are rejected and reported.

use act_core::sync::watch_path;
use act_core::{Engine, IssueRequest, Reason, Request, SigningKey};
use serde_json::Map;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn policy(action: &str) -> String {
    format!("agent: bot\npolicy:\n  actions: [{action}]\n  resources: [\"doc://*\"]\n")
}

fn decide(e: &Engine, token: &str, action: &str) -> (bool, Reason) {
    let d = e.check(&Request {
        token,
        action,
        resource: "doc://a",
        context: &Map::new(),
        approval: None,
    });
    (d.allowed(), d.reason)
}

fn wait(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(3);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn edits_reload_and_broken_edits_keep_the_previous_snapshot() {
    let dir = std::env::temp_dir().join(format!("act-file-sync-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bot.yaml");
    std::fs::write(&file, policy("read")).unwrap();
    let engine = Arc::new(
        Engine::builder()
            .without_snapshot()
            .signing_key(SigningKey::generate().unwrap())
            .build()
            .unwrap(),
    );
    let h = watch_path(engine.clone(), &dir, Duration::from_millis(20)).unwrap();
    let token = engine
        .issue_token(&IssueRequest {
            agent: "bot".into(),
            user_context: [("user_id".to_string(), "u".into())].into_iter().collect(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(decide(&engine, &token, "read"), (true, Reason::Allowed));
    let v1 = h.status().version;

    std::fs::write(&file, policy("write")).unwrap();
    wait("the edit to apply", || decide(&engine, &token, "write").0);
    assert_eq!(decide(&engine, &token, "read").1, Reason::ActionNotAllowed);
    let v2 = h.status().version;
    assert!(v2 > v1);

    std::fs::write(&file, "agent: bot\npolicy:\n  actionz: [read]\n").unwrap();
    wait("the broken edit to be reported", || {
        h.status().last_error.is_some_and(|e| e.contains("actionz"))
    });
    assert_eq!(h.status().version, v2, "the previous snapshot keeps serving");
    assert!(decide(&engine, &token, "write").0);

    std::fs::write(&file, policy("read")).unwrap();
    wait("the fix to apply", || decide(&engine, &token, "read").0);
    assert!(h.status().last_error.is_none());
    drop(h);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_folder_that_does_not_load_is_an_error_at_start() {
    let engine = Arc::new(Engine::builder().without_snapshot().build().unwrap());
    let err = watch_path(engine.clone(), "/nonexistent/act/policies", Duration::from_millis(50))
        .err()
        .unwrap();
    assert!(err.to_string().contains("/nonexistent/act/policies"), "{err}");
    assert_eq!(engine.snapshot().version, 0);
}
