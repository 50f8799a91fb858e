//! Audit records to plain JS objects with camelCase fields (a record's own `context` keys
//! are the host's data and keep their spelling).

use act_core::audit::AuditRecord;

/// One audit record as a JSON object with camelCase keys (missing values are `null`),
/// as handed to a JS audit callback.
pub fn audit_record(r: AuditRecord) -> serde_json::Value {
    serde_json::json!({
        "id": r.id,
        "time": r.time,
        "outcome": r.outcome.as_str(),
        "reason": r.reason.as_str(),
        "message": r.message,
        "agent": r.agent,
        "subject": r.subject,
        "jti": r.jti,
        "action": r.action,
        "resource": r.resource,
        "context": r.context,
        "rule": r.rule,
        "constraint": r.constraint,
        "snapshotVersion": r.snapshot_version,
        "latencyUs": r.latency_us,
        "prevHash": r.prev_hash,
        "hash": r.hash,
    })
}
