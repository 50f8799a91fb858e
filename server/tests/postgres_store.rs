//! The server's durable state on both backends, SQLite (a state folder) and PostgreSQL (started
//! by the test, see `common::pg`): the same scenarios run on each, and every one restarts the
//! server on the same database to show what survives.

mod common;

use act_core::audit::{AuditRecord, GENESIS_HASH};
use act_core::SigningKey;
use common::pg::postgres;
use common::*;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

/// Where a server keeps its state.
enum Backend {
    Sqlite(PathBuf),
    Postgres { url: String, state_dir: PathBuf },
}

impl Backend {
    fn start(&self, key: &SigningKey) -> Server {
        let (state_dir, database_url) = match self {
            Backend::Sqlite(d) => (d.clone(), None),
            Backend::Postgres { url, state_dir } => (state_dir.clone(), Some(url.clone())),
        };
        Server::start_config(act_server::Config {
            key: SigningKey::from_pkcs8_der(&key.to_pkcs8_der()).unwrap(),
            policies: act_core::policy::parse_source("support.yaml", SUPPORT).unwrap(),
            credentials: credentials(),
            state_dir: Some(state_dir),
            database_url,
            audit_log: None,
            approval_ttl: Duration::from_secs(60),
        })
    }

    fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres { .. } => "postgres",
        }
    }
}

fn post(s: &Server, key: &str, path: &str, body: Value) -> (u16, Value) {
    s.call(Some(key), "POST", path, Some(&body.to_string()))
}

fn revocations_and_switches_keep_their_lifecycle(b: &Backend, key: &SigningKey) {
    let s = b.start(key);
    assert_eq!(
        post(
            &s,
            ADMIN,
            "/v1/revocations",
            json!({"tokens": ["t1"], "subjects": ["42"], "reason": "leaked"})
        )
        .0,
        200
    );
    assert_eq!(
        post(
            &s,
            ADMIN,
            "/v1/kill-switches",
            json!({"on": true, "all": true, "actions": ["process_refund"], "reason": "incident"})
        )
        .0,
        200
    );
    assert_eq!(
        post(
            &s,
            ADMIN,
            "/v1/kill-switches",
            json!({"on": false, "all": true, "reason": "over"})
        )
        .0,
        200
    );
    // A change that is refused changes nothing.
    assert_eq!(
        post(
            &s,
            ADMIN,
            "/v1/kill-switches",
            json!({"on": false, "agents": ["nobody"], "reason": "x"})
        )
        .0,
        400
    );
    let before = s.call(Some(ADMIN), "GET", "/v1/kill-switches", None).1;
    drop(s);
    let s = b.start(key);
    let after = s.call(Some(ADMIN), "GET", "/v1/kill-switches", None).1;
    assert_eq!(before, after, "{}", b.name());
    assert_eq!(after["tokens"], json!(["t1"]));
    assert_eq!(after["subjects"], json!(["42"]));
    assert_eq!(
        after["kill_switches"],
        json!({"all": false, "agents": [], "actions": ["process_refund"]})
    );
    let actions: Vec<&str> = after["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["revoke", "kill_switch_on", "kill_switch_off"], "{}", b.name());
    assert_eq!(
        (
            after["history"][2]["by"].as_str(),
            after["history"][2]["reason"].as_str()
        ),
        (Some("root"), Some("over"))
    );
}

fn approvals_are_decided_once_and_survive(b: &Backend, key: &SigningKey) {
    let s = b.start(key);
    let req = approval_request("42", "jti-store", 900);
    let id = req["id"].as_str().unwrap().to_string();
    assert_eq!(post(&s, AGENT, "/v1/approvals", req).0, 201);
    let (status, v) = post(
        &s,
        APPROVER_BOB,
        &format!("/v1/approvals/{id}/grant"),
        json!({"reason": "fine"}),
    );
    assert_eq!(status, 200, "{v}");
    drop(s);
    let s = b.start(key);
    let (status, v) = s.call(Some(AGENT), "GET", &format!("/v1/approvals/{id}"), None);
    assert_eq!(status, 200);
    assert_eq!(
        (v["status"].as_str(), v["decided_by"].as_str(), v["reason"].as_str()),
        (Some("granted"), Some("bob"), Some("fine"))
    );
    let (status, v) = post(
        &s,
        APPROVER,
        &format!("/v1/approvals/{id}/deny"),
        json!({"reason": "no"}),
    );
    assert_eq!(
        (status, v["error"].as_str()),
        (409, Some("already_decided")),
        "{}",
        b.name()
    );
}

fn policy_versions_and_keys_survive(b: &Backend, key: &SigningKey) {
    let s = b.start(key);
    let files = json!({"support.yaml": SUPPORT.replace("maxAmount: 500", "maxAmount: 300")});
    let (status, v) = post(&s, ADMIN, "/v1/policies", json!({"files": files, "reason": "cap"}));
    assert_eq!(status, 201, "{v}");
    let pushed = v["version"].as_u64().unwrap();
    let (status, v) = post(
        &s,
        ADMIN,
        "/v1/admin/keys",
        json!({"identity": "ops", "role": "approver"}),
    );
    assert_eq!(status, 201, "{v}");
    let kept = v["key"].as_str().unwrap().to_string();
    let (status, v) = post(
        &s,
        ADMIN,
        "/v1/admin/keys",
        json!({"identity": "ops-old", "role": "approver"}),
    );
    assert_eq!(status, 201);
    let (old_key, old_id) = (
        v["key"].as_str().unwrap().to_string(),
        v["id"].as_str().unwrap().to_string(),
    );
    assert_eq!(
        post(&s, ADMIN, &format!("/v1/admin/keys/{old_id}/revoke"), json!({})).0,
        200
    );
    drop(s);
    let s = b.start(key);
    let v = s.call(Some(ADMIN), "GET", "/v1/policies", None).1;
    // The folder did not change, so the push keeps serving after the restart.
    assert_eq!(v["current"].as_u64(), Some(pushed), "{}: {v}", b.name());
    let numbers: Vec<u64> = v["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["version"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, (1..=pushed).rev().collect::<Vec<_>>());
    assert_eq!(s.call(Some(&kept), "GET", "/v1/approvals", None).0, 200);
    assert_eq!(s.call(Some(&old_key), "GET", "/v1/approvals", None).0, 401);
}

fn record(seq: u64, prev: &str, agent: &str) -> AuditRecord {
    let mut r: AuditRecord = serde_json::from_value(json!({
        "id": format!("rec-{seq}"), "time": format!("2026-12-01T22:00:0{seq}.000Z"), "outcome": "allow",
        "reason": "allowed", "message": "allowed", "agent": agent, "subject": "42",
        "jti": "t1", "action": "read_order", "resource": "order://customer:42/1", "context": {},
        "rule": null, "constraint": null, "snapshot_version": 1, "latency_us": 3,
        "prev_hash": prev, "hash": ""
    }))
    .unwrap();
    r.hash = r.compute_hash();
    r
}

fn the_audit_index_answers_searches(b: &Backend, key: &SigningKey) {
    let s = b.start(key);
    let mut recs: Vec<AuditRecord> = Vec::new();
    for seq in 0..4 {
        let prev = recs.last().map(|r| r.hash.clone()).unwrap_or(GENESIS_HASH.to_string());
        recs.push(record(seq, &prev, if seq % 2 == 0 { "bot-a" } else { "bot-b" }));
    }
    let body = serde_json::to_string(&recs).unwrap();
    let (status, v) = s.call_with(
        Some(AGENT),
        "POST",
        "/v1/audit",
        &[("x-act-instance", "i1")],
        Some(&body),
    );
    assert_eq!(status, 200, "{v}");
    // Posted again: duplicates, nothing indexed twice.
    assert_eq!(
        s.call_with(
            Some(AGENT),
            "POST",
            "/v1/audit",
            &[("x-act-instance", "i1")],
            Some(&body)
        )
        .0,
        200
    );
    drop(s);
    let s = b.start(key);
    let ids = |q: &str| -> Vec<String> {
        let (status, text) = http("GET", &format!("{}/v1/audit/records?{q}", s.url), Some(ADMIN), None);
        assert_eq!(status, 200, "{text}");
        text.lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(ids("agent=bot-a"), ["rec-2", "rec-0"], "{}", b.name());
    assert_eq!(ids("agent=bot-b&from=2026-12-01T22:00:02Z&limit=5"), ["rec-3"]);
    assert_eq!(ids("outcome=deny"), Vec::<String>::new());
    assert_eq!(ids("limit=2").len(), 2);
}

fn a_revocations_file_is_imported_once(b: &Backend, key: &SigningKey) {
    let dir = match b {
        Backend::Sqlite(d) => d.clone(),
        Backend::Postgres { state_dir, .. } => state_dir.clone(),
    };
    std::fs::write(
        dir.join("revocations.json"),
        r#"{"tokens":["old-1"],"agents":[],"subjects":[],"grants":[],"kill_switches":{"all":true,"agents":[],"actions":[]},
            "history":[{"at_ms":1,"by":"root","action":"revoke","target":{"tokens":["old-1"]},"reason":"old"}]}"#,
    )
    .unwrap();
    let s = b.start(key);
    assert!(!dir.join("revocations.json").exists() && dir.join("revocations.json.imported").exists());
    let v = s.call(Some(ADMIN), "GET", "/v1/kill-switches", None).1;
    assert_eq!(
        (v["tokens"].clone(), v["kill_switches"]["all"].clone()),
        (json!(["old-1"]), json!(true)),
        "{}",
        b.name()
    );
    assert_eq!(v["history"][0]["reason"], "old");
    // The imported switch can be lifted, and stays lifted.
    assert_eq!(
        post(
            &s,
            ADMIN,
            "/v1/kill-switches",
            json!({"on": false, "all": true, "reason": "over"})
        )
        .0,
        200
    );
    drop(s);
    let s = b.start(key);
    assert_eq!(
        s.call(Some(ADMIN), "GET", "/v1/kill-switches", None).1["kill_switches"]["all"],
        json!(false)
    );
}

type Scenario = fn(&Backend, &SigningKey);

const SCENARIOS: [(&str, Scenario); 5] = [
    ("revocations", revocations_and_switches_keep_their_lifecycle),
    ("approvals", approvals_are_decided_once_and_survive),
    ("policies and keys", policy_versions_and_keys_survive),
    ("audit index", the_audit_index_answers_searches),
    ("revocations.json import", a_revocations_file_is_imported_once),
];

#[test]
fn the_durable_state_behaves_the_same_on_sqlite_and_postgresql() {
    let pg = postgres();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let key = SigningKey::generate().unwrap();
    for (name, scenario) in SCENARIOS {
        let dir = TempDir::new("store-sqlite");
        scenario(&Backend::Sqlite(dir.0.clone()), &key);
        if let Some(pg) = &pg {
            let state = TempDir::new("store-pg");
            let b = Backend::Postgres {
                url: pg.database(&rt),
                state_dir: state.0.clone(),
            };
            scenario(&b, &key);
        }
        eprintln!("{name}: passed");
    }
}
