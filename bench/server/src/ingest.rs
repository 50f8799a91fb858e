//! Audit ingest: records per second through `POST /v1/audit`, posted as the SDK's shipper
//! (`act_core::sync::audit_ship`) posts them: batches of 500 (its default `batch_size`), one
//! request at a time per SDK instance, `X-Act-Instance` naming the instance, each instance's
//! records one valid hash chain (`AuditRecord::compute_hash`, genesis first). Several instances
//! post at once, as a fleet does. Every answer is checked: all records accepted, no gaps.

use crate::http::{connect, request, send};
use crate::servers::Server;
use act_core::audit::{AuditRecord, GENESIS_HASH};
use hyper::body::Bytes;
use serde_json::{json, Value};
use std::time::Instant;

/// The shipper's default batch size.
pub const BATCH: usize = 500;

/// `instances` chains of `batches` batches each, serialized ahead of time (not timed).
pub fn make_batches(run_id: &str, instances: usize, batches: usize) -> Result<Vec<(String, Vec<Bytes>)>, String> {
    let mut out = Vec::with_capacity(instances);
    for inst in 0..instances {
        let instance = format!("bench{run_id}{inst:04}");
        let mut prev = GENESIS_HASH.to_string();
        let mut list = Vec::with_capacity(batches);
        for b in 0..batches {
            let mut records = Vec::with_capacity(BATCH);
            for k in 0..BATCH {
                let seq = b * BATCH + k;
                let deny = seq.is_multiple_of(4);
                let v = json!({
                    "id": format!("{instance}-{seq:x}"),
                    "time": format!("2026-12-02T04:{:02}:{:02}.{:03}Z", (seq / 60_000) % 60, (seq / 1000) % 60, seq % 1000),
                    "outcome": if deny { "deny" } else { "allow" },
                    "reason": if deny { "constraint_failed" } else { "allowed" },
                    "message": if deny { "amount 900 exceeds maxAmount 500" } else { "allowed" },
                    "agent": "customer-support-bot",
                    "subject": format!("{}", seq % 997),
                    "jti": format!("{instance}-token-{}", seq / 50),
                    "action": "process_refund",
                    "resource": format!("order://customer:{}/{}", seq % 997, 1000 + seq),
                    "context": {"amount": if deny { 900 } else { 80 }},
                    "rule": "customer-support-bot",
                    "constraint": if deny { Value::from("customer-support-bot/process_refund/maxAmount") } else { Value::Null },
                    "snapshot_version": 1_767_225_600_123u64,
                    "latency_us": 3,
                    "prev_hash": prev,
                    "hash": "",
                });
                let mut rec: AuditRecord = serde_json::from_value(v).map_err(|e| format!("audit record: {e}"))?;
                rec.hash = rec.compute_hash();
                prev = rec.hash.clone();
                records.push(rec);
            }
            list.push(Bytes::from(serde_json::to_vec(&records).map_err(|e| e.to_string())?));
        }
        out.push((instance, list));
    }
    Ok(out)
}

/// Posts every batch (instances in parallel, each in order) and times the whole.
pub async fn run(server: &Server, chains: &[(String, Vec<Bytes>)]) -> Result<Value, String> {
    let auth = server.agent_auth();
    let addr = server.addr;
    let records: usize = chains.iter().map(|(_, b)| b.len() * BATCH).sum();
    let bytes: usize = chains.iter().flat_map(|(_, b)| b.iter().map(Bytes::len)).sum();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (instance, batches) in chains.iter().cloned() {
        let auth = auth.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = connect(addr).await?;
            let mut ms = Vec::with_capacity(batches.len());
            for body in batches {
                let mut h = vec![
                    ("content-type", "application/json"),
                    ("x-act-instance", instance.as_str()),
                ];
                if let Some(a) = &auth {
                    h.push(("authorization", a.as_str()));
                }
                let t = Instant::now();
                let (status, _, answer) = send(&mut conn, request(addr, "POST", "/v1/audit", &h, body)?).await?;
                ms.push(t.elapsed().as_secs_f64() * 1e3);
                let a: Value = serde_json::from_slice(&answer)
                    .map_err(|_| format!("HTTP {status}: {}", String::from_utf8_lossy(&answer)))?;
                if !status.is_success() || a["accepted"].as_u64() != Some(BATCH as u64) || a["gaps"].as_u64() != Some(0)
                {
                    return Err(format!("POST /v1/audit: HTTP {status}: {a}"));
                }
            }
            Ok::<Vec<f64>, String>(ms)
        }));
    }
    let mut batch_ms = Vec::new();
    for t in tasks {
        batch_ms.extend(t.await.map_err(|e| e.to_string())??);
    }
    let secs = start.elapsed().as_secs_f64();
    Ok(json!({
        "records": records,
        "instances": chains.len(),
        "batch": BATCH,
        "body_bytes": bytes,
        "seconds": secs,
        "records_per_s": records as f64 / secs,
        "batch_ms": crate::stats::summary(&mut batch_ms),
    }))
}
