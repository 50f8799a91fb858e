//! Audit ingest over real HTTP: each instance's hash chain is verified, breaks are flagged and
//! counted, a changed record under a stored id is refused, and a bad batch stores nothing.

mod common;

use act_core::audit::{AuditRecord, GENESIS_HASH};
use common::{Server, TempDir, ADMIN, AGENT, AGENT_ALICE};
use serde_json::{json, Value};
use std::time::Duration;

/// Record `seq` of instance `prefix`, following `prev`, with a correct hash.
fn record(prefix: &str, seq: u64, prev: &str, message: &str) -> AuditRecord {
    let mut r: AuditRecord = serde_json::from_value(json!({
        "id": format!("{prefix}-{seq:x}"), "time": "2026-12-01T22:00:00.000Z", "outcome": "allow",
        "reason": "allowed", "message": message, "agent": "customer-support-bot", "subject": "42",
        "jti": "t1", "action": "read_order", "resource": "order://customer:42/1", "context": {},
        "rule": null, "constraint": null, "snapshot_version": 1, "latency_us": 3,
        "prev_hash": prev, "hash": ""
    }))
    .unwrap();
    r.hash = r.compute_hash();
    r
}

/// A chain of `n` records of instance `prefix`.
fn chain(prefix: &str, n: u64) -> Vec<AuditRecord> {
    let mut out: Vec<AuditRecord> = Vec::new();
    for seq in 0..n {
        let prev = out.last().map(|r| r.hash.clone()).unwrap_or(GENESIS_HASH.to_string());
        out.push(record(prefix, seq, &prev, "allowed"));
    }
    out
}

fn post(s: &Server, key: &str, instance: Option<&str>, records: &[AuditRecord]) -> (u16, Value) {
    let body = serde_json::to_string(records).unwrap();
    let headers: Vec<(&str, &str)> = instance.map(|i| vec![("x-act-instance", i)]).unwrap_or_default();
    s.call_with(Some(key), "POST", "/v1/audit", &headers, Some(&body))
}

fn chains(s: &Server) -> Vec<Value> {
    let (status, body) = s.call(Some(ADMIN), "GET", "/v1/audit/chains", None);
    assert_eq!(status, 200, "{body}");
    body["chains"].as_array().unwrap().clone()
}

fn counts(v: &Value) -> (u64, u64, u64) {
    (
        v["accepted"].as_u64().unwrap(),
        v["duplicates"].as_u64().unwrap(),
        v["gaps"].as_u64().unwrap(),
    )
}

#[test]
fn a_changed_record_under_a_stored_id_is_refused_not_counted_as_a_duplicate() {
    let dir = TempDir::new("audit-conflict");
    let log = dir.0.join("audit.jsonl");
    let s = Server::start_with(None, Duration::from_secs(60), Some(&log));
    let c = chain("inst1", 3);
    let (status, body) = post(&s, AGENT, Some("inst1"), &c);
    assert_eq!((status, counts(&body)), (200, (3, 0, 0)), "{body}");

    // The same records again (at-least-once delivery) are duplicates.
    let (status, body) = post(&s, AGENT, Some("inst1"), &c);
    assert_eq!((status, counts(&body)), (200, (0, 3, 0)), "{body}");

    // Record 1 rewritten with a consistent hash: same id, other content. The old ingest said
    // "duplicate" and the forgery went unnoticed.
    let forged = record("inst1", 1, &c[0].hash, "nothing to see here");
    let (status, body) = post(&s, AGENT, Some("inst1"), &[forged]);
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("audit_id_conflict")),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("inst1-1"), "{body}");
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 3);

    // A restart replays the file: the conflict is still seen, and the chain continues.
    drop(s);
    let s = Server::start_with(None, Duration::from_secs(60), Some(&log));
    let forged = record("inst1", 1, &c[0].hash, "nothing to see here");
    let (status, body) = post(&s, AGENT, Some("inst1"), &[forged]);
    assert_eq!(status, 409, "{body}");
    let next = record("inst1", 3, &c[2].hash, "allowed");
    let (status, body) = post(&s, AGENT, Some("inst1"), &[next]);
    assert_eq!((status, counts(&body)), (200, (1, 0, 0)), "{body}");
    let all = chains(&s);
    assert_eq!((all.len(), all[0]["records"].as_u64()), (1, Some(4)), "{all:?}");
    // The stored file still passes the CLI's merged-log check (the ingest note is ignored).
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(act_core::audit::verify_merged_log(text.as_bytes()).unwrap(), (4, 1));
}

#[test]
fn a_record_whose_hash_does_not_verify_refuses_the_whole_batch() {
    let s = Server::start(None, Duration::from_secs(60));
    let mut c = chain("inst2", 3);
    c[2].message = "edited after hashing".into();
    let (status, body) = post(&s, AGENT, Some("inst2"), &c);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("audit_record_invalid")),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("record 2"), "{body}");
    assert!(chains(&s).is_empty(), "nothing of the batch is stored");

    // Not an audit record at all.
    let (status, body) = s.call(Some(AGENT), "POST", "/v1/audit", Some(r#"[{"id": "x"}]"#));
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("audit_record_invalid")),
        "{body}"
    );

    // The good prefix alone is accepted, starting at genesis.
    let (status, body) = post(&s, AGENT, Some("inst2"), &c[..2]);
    assert_eq!((status, counts(&body)), (200, (2, 0, 0)), "{body}");
}

#[test]
fn gaps_and_forks_are_stored_flagged_and_counted_per_instance() {
    let s = Server::start(None, Duration::from_secs(60));
    let c = chain("inst3", 4);
    // Record 1 missing: record 2 is a gap.
    let (status, body) = post(&s, AGENT, Some("inst3"), &[c[0].clone(), c[2].clone(), c[3].clone()]);
    assert_eq!((status, counts(&body)), (200, (3, 0, 1)), "{body}");
    // A second successor of record 0: a fork.
    let other = record("inst3", 9, &c[0].hash, "second branch");
    let (status, body) = post(&s, AGENT, Some("inst3"), &[other]);
    assert_eq!((status, counts(&body)), (200, (1, 0, 1)), "{body}");

    let all = chains(&s);
    assert_eq!(all.len(), 1, "{all:?}");
    let ch = &all[0];
    assert_eq!(
        (
            ch["instance"].as_str(),
            ch["credential"].as_str(),
            ch["records"].as_u64(),
            ch["gaps"].as_u64(),
            ch["forks"].as_u64(),
            ch["flagged"].as_bool()
        ),
        (Some("inst3"), Some("bot-host"), Some(4), Some(1), Some(1), Some(true)),
        "{ch}"
    );
    let breaks = ch["breaks"].as_array().unwrap();
    assert_eq!(breaks[0]["id"], "inst3-2");
    assert_eq!(breaks[0]["kind"], "gap");
    assert_eq!(breaks[0]["expected_prev_hash"], c[0].hash.as_str());
    assert_eq!(breaks[1]["kind"], "fork");

    // Agents cannot read the chain view.
    let (status, body) = s.call(Some(AGENT), "GET", "/v1/audit/chains", None);
    assert_eq!((status, body["error"].as_str()), (403, Some("forbidden_role")));
}

#[test]
fn chains_are_grouped_by_instance_header_and_credential() {
    let s = Server::start(None, Duration::from_secs(60));
    // Two instances of one host each start at genesis: two clean chains.
    for inst in ["instA", "instB"] {
        let (status, body) = post(&s, AGENT, Some(inst), &chain(inst, 2));
        assert_eq!((status, counts(&body)), (200, (2, 0, 0)), "{inst}: {body}");
    }
    // Another credential naming instA gets its own chain: it cannot extend or break the first.
    let (status, body) = post(&s, AGENT_ALICE, Some("instA"), &chain("alice", 1));
    assert_eq!((status, counts(&body)), (200, (1, 0, 0)), "{body}");
    // Without the header, one "unknown" chain per credential: two chains posted there fork it.
    let (_, body) = post(&s, AGENT, None, &chain("p1", 2));
    assert_eq!(counts(&body), (2, 0, 0), "{body}");
    let (_, body) = post(&s, AGENT, None, &chain("p2", 2));
    assert_eq!(counts(&body), (2, 0, 1), "{body}");

    let all = chains(&s);
    let view: Vec<(String, String, u64, u64)> = all
        .iter()
        .map(|c| {
            (
                c["credential"].as_str().unwrap().into(),
                c["instance"].as_str().unwrap().into(),
                c["records"].as_u64().unwrap(),
                c["forks"].as_u64().unwrap(),
            )
        })
        .collect();
    let want = [
        ("alice", "instA", 1, 0),
        ("bot-host", "instA", 2, 0),
        ("bot-host", "instB", 2, 0),
        ("bot-host", "unknown", 4, 1),
    ];
    let want: Vec<(String, String, u64, u64)> = want
        .iter()
        .map(|(a, b, c, d)| (a.to_string(), b.to_string(), *c, *d))
        .collect();
    assert_eq!(view, want);

    // A malformed instance id is refused.
    let (status, _) = post(&s, AGENT, Some("no spaces/allowed"), &chain("x", 1));
    assert_eq!(status, 400);
}

#[test]
fn admins_search_ingested_records_as_json_lines() {
    let s = Server::start(None, Duration::from_secs(60));
    let mut recs = chain("inst-search", 3);
    recs[1] = {
        let mut r = record("inst-search", 1, &recs[0].hash, "amount 900 exceeds maxAmount 500");
        r.reason = serde_json::from_value(json!("constraint_failed")).unwrap();
        r.hash = r.compute_hash();
        r
    };
    // Re-chain the third record after the changed second one.
    recs[2] = record("inst-search", 2, &recs[1].hash, "allowed");
    assert_eq!(post(&s, AGENT, Some("inst-search"), &recs).0, 200);
    let (status, body) = s.call(Some(AGENT), "GET", "/v1/audit/records", None);
    assert_eq!(status, 403, "agents cannot read the audit trail: {body}");
    let (status, body) = s.call(Some(ADMIN), "GET", "/v1/audit/records?reason=constraint_failed", None);
    assert_eq!(status, 200);
    let text = body.as_str().map(str::to_string).unwrap_or_else(|| body.to_string());
    let lines: Vec<AuditRecord> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert_eq!(lines[0].message, "amount 900 exceeds maxAmount 500");
    assert_eq!(lines[0].compute_hash(), lines[0].hash, "exactly as ingested");
    let (status, body) = s.call(Some(ADMIN), "GET", "/v1/audit/records?from=soon", None);
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_request")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("`from`"));
}
