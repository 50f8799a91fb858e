//! The console's audit explorer over real HTTP: search by every filter, a record's detail, the
//! JSONL export of the filtered set (hashes still verify), chain status, and the index's bound,
//! persistence and backfill from the audit log.

mod common;

use act_core::audit::{AuditRecord, GENESIS_HASH};
use common::console::*;
use common::*;
use serde_json::{json, Value};
use std::time::Duration;

fn record(seq: u64, prev: &str, reason: &str, message: &str) -> AuditRecord {
    let outcome = if reason == "allowed" { "allow" } else { "deny" };
    let mut r: AuditRecord = serde_json::from_value(json!({
        "id": format!("rec-{seq}"), "time": format!("2026-12-01T22:00:0{seq}.000Z"), "outcome": outcome,
        "reason": reason, "message": message, "agent": "customer-support-bot", "subject": "42",
        "jti": "t1", "action": "process_refund", "resource": "order://customer:42/1", "context": {"amount": 900 + seq},
        "rule": "customer-support-bot/process_refund", "constraint": "customer-support-bot/process_refund/maxAmount",
        "snapshot_version": 1, "latency_us": 3, "prev_hash": prev, "hash": ""
    }))
    .unwrap();
    r.hash = r.compute_hash();
    r
}

#[test]
fn the_audit_explorer_finds_records_shows_their_detail_and_exports_the_filtered_set() {
    let s = Server::start(None, Duration::from_secs(60));
    let a = record(0, GENESIS_HASH, "allowed", "allowed");
    let b = record(1, &a.hash, "constraint_failed", "amount 901 exceeds maxAmount 500");
    let c = record(2, "not-a-known-hash", "allowed", "allowed");
    let body = serde_json::to_string(&[a, b, c]).unwrap();
    let (status, r) = s.call_with(
        Some(AGENT),
        "POST",
        "/v1/audit",
        &[("x-act-instance", "instance-0123456789")],
        Some(&body),
    );
    assert_eq!(status, 200, "{r}");
    let (alice, _) = login(&s, APPROVER);
    assert_eq!(
        req(&s, "GET", "/console/audit", &alice, &[], None).status,
        403,
        "admin only"
    );
    let (root, _) = login(&s, ADMIN);
    let page = req(
        &s,
        "GET",
        "/console/audit?reason=constraint_failed&agent=customer-support-bot",
        &root,
        &[],
        None,
    );
    assert_eq!(page.status, 200);
    assert!(page.body.contains("/console/audit/record/rec-1"), "{}", page.body);
    assert!(!page.body.contains("/console/audit/record/rec-0"));
    assert!(page.body.contains("broken"), "the gap before rec-2 is flagged");
    let page = req(
        &s,
        "GET",
        "/console/audit?from=2026-12-01T22:00:01&to=2026-12-01T22:00:02",
        &root,
        &[],
        None,
    );
    assert!(
        page.body.contains("record/rec-1")
            && !page.body.contains("record/rec-2")
            && !page.body.contains("record/rec-0")
    );
    let bad = req(&s, "GET", "/console/audit?from=yesterday", &root, &[], None);
    assert_eq!(bad.status, 400);
    let detail = req(&s, "GET", "/console/audit/record/rec-1", &root, &[], None);
    assert!(detail.body.contains("amount 901 exceeds maxAmount 500"));
    assert!(detail.body.contains("customer-support-bot/process_refund/maxAmount"));
    // From the record straight to revoking its token: the form posts to the revocation handler.
    assert!(detail.body.contains("action=\"/console/switches/revoke\"") && detail.body.contains("value=\"t1\""));
    let export = req(&s, "GET", "/console/audit/export?outcome=allow", &root, &[], None);
    assert_eq!(export.status, 200);
    assert!(export
        .header("content-disposition")
        .unwrap()
        .contains("act-audit.jsonl"));
    let lines: Vec<Value> = export.body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let ids: Vec<&str> = lines.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["rec-2", "rec-0"], "newest first, only the filtered set");
    // Exported records are exactly as ingested: their hashes still verify.
    for l in lines {
        let r: AuditRecord = serde_json::from_value(l).unwrap();
        assert_eq!(r.compute_hash(), r.hash);
    }
}

#[test]
fn the_audit_index_is_bounded_and_kept_with_a_state_folder() {
    let dir = TempDir::new("console-audit");
    {
        let s = Server::start(Some(&dir.0), Duration::from_secs(60));
        let a = record(0, GENESIS_HASH, "allowed", "allowed");
        let body = serde_json::to_string(&[a]).unwrap();
        assert_eq!(s.call(Some(AGENT), "POST", "/v1/audit", Some(&body)).0, 200);
    }
    let s = Server::start(Some(&dir.0), Duration::from_secs(60));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert_eq!(rt.block_on(s.app.audit_index.count()).unwrap(), 1, "survives a restart");
    let small = s.app.audit_index.clone().with_max(2);
    let key = act_server::audit_chains::ChainKey {
        credential: "x".into(),
        instance: "y".into(),
    };
    let mut prev = GENESIS_HASH.to_string();
    let mut recs = Vec::new();
    for i in 10..15 {
        let r = record(i, &prev, "allowed", "allowed");
        prev = r.hash.clone();
        recs.push(serde_json::to_value(r).unwrap());
    }
    rt.block_on(small.insert(&key, &recs)).unwrap();
    assert_eq!(rt.block_on(small.count()).unwrap(), 2, "only the newest are kept");
}

#[test]
fn records_in_the_audit_log_are_searchable_after_a_restart_without_a_state_folder() {
    let dir = TempDir::new("console-backfill");
    let log = dir.0.join("audit.jsonl");
    let a = record(0, GENESIS_HASH, "allowed", "allowed");
    let b = record(1, &a.hash, "constraint_failed", "too much");
    {
        let s = Server::start_with(None, Duration::from_secs(60), Some(&log));
        let body = serde_json::to_string(&[a, b]).unwrap();
        let headers = [("x-act-instance", "instance-backfill-1")];
        assert_eq!(
            s.call_with(Some(AGENT), "POST", "/v1/audit", &headers, Some(&body)).0,
            200
        );
    }
    // The index was in memory; the log file is what remains.
    let s = Server::start_with(None, Duration::from_secs(60), Some(&log));
    let (root, _) = login(&s, ADMIN);
    let page = req(&s, "GET", "/console/audit?reason=constraint_failed", &root, &[], None);
    assert!(
        page.body.contains("record/rec-1") && !page.body.contains("record/rec-0"),
        "{}",
        page.body
    );
    assert!(page.body.contains("instance-backfill-1"), "the chain is kept");
    let export = req(&s, "GET", "/console/audit/export", &root, &[], None);
    for l in export.body.lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        assert!(
            v.get("ingest").is_none(),
            "the ingest note is not part of the record: {l}"
        );
        let r: AuditRecord = serde_json::from_value(v).unwrap();
        assert_eq!(r.compute_hash(), r.hash);
    }
}

#[test]
fn a_record_id_with_url_characters_still_links_to_its_detail() {
    let s = Server::start(None, Duration::from_secs(60));
    let mut r = record(0, GENESIS_HASH, "constraint_failed", "odd id");
    r.id = "odd/../id?x=1#frag".into();
    r.hash = r.compute_hash();
    let body = serde_json::to_string(&[r]).unwrap();
    assert_eq!(s.call(Some(AGENT), "POST", "/v1/audit", Some(&body)).0, 200);
    let (root, _) = login(&s, ADMIN);
    let page = req(&s, "GET", "/console/audit", &root, &[], None);
    let link = "/console/audit/record/odd%2F..%2Fid%3Fx%3D1%23frag";
    assert!(page.body.contains(link), "{}", page.body);
    let detail = req(&s, "GET", link, &root, &[], None);
    assert_eq!(detail.status, 200, "{}", detail.body);
    assert!(detail.body.contains("odd id"));
}
