//! The HTTP audit sink when records cannot be kept: counted and reported, never silent.

use act_core::audit::{AuditRecord, AuditSink};
use act_core::sync::{HttpAuditOptions, HttpAuditSink};
use act_core::{Outcome, Reason};
use std::time::Duration;

fn record(i: u32) -> (AuditRecord, String) {
    let r = AuditRecord {
        id: format!("r-{i}"),
        time: "2026-01-01T00:00:00.000Z".into(),
        outcome: Outcome::Deny,
        reason: Reason::ActionNotAllowed,
        message: "no".into(),
        agent: None,
        subject: None,
        jti: None,
        action: "a".into(),
        resource: "r://x".into(),
        context: serde_json::json!({}),
        rule: None,
        constraint: None,
        snapshot_version: 1,
        latency_us: 1,
        shadow: None,
        event: None,
        prev_hash: act_core::audit::GENESIS_HASH.into(),
        hash: String::new(),
    };
    let line = serde_json::to_string(&r).unwrap();
    (r, line)
}

fn down() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", l.local_addr().unwrap())
}

fn options(endpoint: String) -> HttpAuditOptions {
    let mut o = HttpAuditOptions::new(endpoint);
    o.queue_capacity = 2;
    o.backoff_min = Duration::from_millis(10);
    o.backoff_max = Duration::from_millis(50);
    o.shutdown_grace = Duration::from_millis(50);
    o
}

#[test]
fn without_a_spill_file_a_full_queue_drops_counts_and_reports() {
    let mut sink = HttpAuditSink::start(options(down())).unwrap();
    let h = sink.handle();
    let results: Vec<bool> = (0..5)
        .map(|i| {
            let (r, l) = record(i);
            sink.write(&r, &l).is_ok()
        })
        .collect();
    assert_eq!(results, [true, true, false, false, false]);
    let s = h.stats();
    assert_eq!((s.queued, s.dropped), (2, 3), "{s:?}");
    assert!(s.last_error.unwrap().contains("lost"));
}

#[test]
fn a_full_spill_file_drops_counts_and_reports_and_a_spill_survives_a_restart() {
    let dir = std::env::temp_dir().join(format!("act-ship-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spill = dir.join("spill.jsonl");
    let mut o = options(down());
    o.spill_path = Some(spill.clone());
    o.max_spill_bytes = 3 * (record(0).1.len() as u64 + 1);
    {
        let mut sink = HttpAuditSink::start(o.clone()).unwrap();
        let h = sink.handle();
        let ok = (0..7)
            .filter(|i| {
                let (r, l) = record(*i);
                sink.write(&r, &l).is_ok()
            })
            .count();
        // A full queue goes to disk first (the file always holds the oldest records, so a crash
        // loses only the newest): 2 moved from the queue + 1 spilled fill the 3-record cap.
        assert_eq!(ok, 3, "2 moved from the queue + 1 spilled");
        let s = h.stats();
        assert_eq!((s.spilled, s.dropped), (3, 4), "{s:?}");
        drop(sink);
        assert_eq!(h.stats().dropped, 4);
    }
    let on_disk = std::fs::read_to_string(&spill).unwrap();
    let ids: Vec<String> = on_disk
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ids, ["r-0", "r-1", "r-2"]);
    // The next process (endpoint still down) picks the spill up, pending replay.
    let sink = HttpAuditSink::start(o).unwrap();
    assert_eq!(sink.handle().stats().spill_pending_bytes, on_disk.len() as u64);
    drop(sink);
    let _ = std::fs::remove_dir_all(dir);
}
