//! Revocations and kill switches over real HTTP: admin only, a reason required, history with who
//! and why, switches that can be lifted, and state that survives a restart (`--state-dir`).

mod common;

use act_core::policy::KillSwitches;
use common::*;
use serde_json::{json, Value};
use std::time::Duration;

/// The policies of the snapshot serving now, verified with the server's key.
fn served(s: &Server) -> act_core::policy::PolicySet {
    let jws = s.app.current.borrow().jws.clone();
    act_core::snapshot::verify_document(jws.as_bytes(), s.app.key.verifying_key())
        .unwrap()
        .policies
}

fn post(s: &Server, path: &str, body: Value) -> (u16, Value) {
    s.call(Some(ADMIN), "POST", path, Some(&body.to_string()))
}

#[test]
fn revocations_need_a_reason_and_are_recorded_with_who_and_why() {
    let s = Server::start(None, Duration::from_secs(60));
    let (status, b) = post(&s, "/v1/revocations", json!({"tokens": ["jti-1"]}));
    assert_eq!((status, b["error"].as_str()), (400, Some("bad_request")), "{b}");
    let (status, b) = post(&s, "/v1/revocations", json!({"reason": "nothing"}));
    assert_eq!(status, 400, "{b}");
    let (status, b) = post(
        &s,
        "/v1/revocations",
        json!({"kill_switches": {"all": true}, "reason": "x"}),
    );
    assert_eq!(status, 400, "kill switches have their own route: {b}");
    assert!(b["message"].as_str().unwrap().contains("/v1/kill-switches"));
    let (status, b) = post(
        &s,
        "/v1/revocations",
        json!({"tokens": ["jti-1"], "reason": "laptop stolen"}),
    );
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["version"].as_u64(), Some(s.app.current.borrow().version));
    assert_eq!(served(&s).revocations.tokens, vec!["jti-1".to_string()]);
    let (_, state) = s.call(Some(ADMIN), "GET", "/v1/revocations", None);
    let h = &state["history"][0];
    assert_eq!(
        (h["by"].as_str(), h["action"].as_str(), h["reason"].as_str()),
        (Some("root"), Some("revoke"), Some("laptop stolen"))
    );
    assert_eq!(h["target"], json!({"tokens": ["jti-1"]}));
}

#[test]
fn a_kill_switch_is_turned_on_lifted_and_stays_lifted_after_a_restart() {
    let dir = TempDir::new("kill");
    {
        let s = Server::start(Some(&dir.0), Duration::from_secs(60));
        let (status, b) = post(
            &s,
            "/v1/kill-switches",
            json!({"on": true, "actions": ["process_refund"], "agents": ["bot"]}),
        );
        assert_eq!(status, 400, "a reason is required: {b}");
        let (status, b) = post(&s, "/v1/kill-switches", json!({"on": true, "reason": "r"}));
        assert_eq!(status, 400, "a switch must be named: {b}");
        let on = json!({"on": true, "actions": ["process_refund"], "agents": ["bot"], "reason": "refund fraud"});
        assert_eq!(post(&s, "/v1/kill-switches", on).0, 200);
        let ks = served(&s).kill_switches;
        assert_eq!(
            (ks.actions, ks.agents),
            (vec!["process_refund".to_string()], vec!["bot".to_string()])
        );
        let off = json!({"on": false, "actions": ["process_refund"], "reason": "fixed"});
        assert_eq!(post(&s, "/v1/kill-switches", off.clone()).0, 200);
        assert_eq!(served(&s).kill_switches.actions, Vec::<String>::new());
        let (status, b) = post(&s, "/v1/kill-switches", off);
        assert_eq!(status, 400, "lifting a switch that is not on: {b}");
        let (status, _) = post(
            &s,
            "/v1/kill-switches",
            json!({"on": false, "all": true, "reason": "x"}),
        );
        assert_eq!(status, 400);
    }
    // A new process on the same state folder: the lifted switch stays lifted, the other stays on.
    let s = Server::start(Some(&dir.0), Duration::from_secs(60));
    let ks = served(&s).kill_switches;
    assert_eq!(
        ks,
        KillSwitches {
            all: false,
            agents: vec!["bot".into()],
            actions: vec![]
        }
    );
    let (_, state) = s.call(Some(ADMIN), "GET", "/v1/kill-switches", None);
    let actions: Vec<&str> = state["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["kill_switch_on", "kill_switch_off"]);
    assert_eq!(state["history"][1]["reason"], "fixed");
}

#[test]
fn a_revocations_file_written_before_history_existed_still_loads() {
    let dir = TempDir::new("old-format");
    std::fs::write(
        dir.0.join("revocations.json"),
        r#"{"tokens":["t1"],"agents":[],"subjects":["42"],"grants":[],"kill_switches":{"all":true,"agents":[],"actions":[]}}"#,
    )
    .unwrap();
    let s = Server::start(Some(&dir.0), Duration::from_secs(60));
    let p = served(&s);
    assert_eq!(
        (p.revocations.tokens, p.kill_switches.all),
        (vec!["t1".to_string()], true)
    );
    // The old switch can now be lifted.
    assert_eq!(
        post(
            &s,
            "/v1/kill-switches",
            json!({"on": false, "all": true, "reason": "over"})
        )
        .0,
        200
    );
    assert!(!served(&s).kill_switches.all);
}

#[test]
fn a_change_that_cannot_be_saved_is_not_applied() {
    let dir = TempDir::new("unsaved");
    let s = Server::start(Some(&dir.0), Duration::from_secs(60));
    let before = s.app.current.borrow().version;
    // The history write fails inside the change's transaction, after the revision and the
    // revoked rows were written: all of it must roll back.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sql = |q: &'static str| {
        rt.block_on(sqlx::query(q).execute(s.app.store.pool())).unwrap();
    };
    sql("CREATE TRIGGER fail_history BEFORE INSERT ON revocation_events BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    let (status, b) = post(&s, "/v1/revocations", json!({"agents": ["bot"], "reason": "r"}));
    assert_eq!((status, b["error"].as_str()), (503, Some("storage_failed")), "{b}");
    assert_eq!(s.app.current.borrow().version, before);
    assert!(served(&s).revocations.agents.is_empty());
    sql("DROP TRIGGER fail_history");
    drop(s);
    // Nothing of it was stored either.
    let s = Server::start(Some(&dir.0), Duration::from_secs(60));
    assert!(served(&s).revocations.agents.is_empty());
    let (_, state) = s.call(Some(ADMIN), "GET", "/v1/revocations", None);
    assert_eq!(state["history"], json!([]));
}
