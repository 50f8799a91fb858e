//! Core values to plain JS objects with camelCase fields.
//!
//! A decision is built field by field (no serde round trip): `validate` is the
//! hot path, and this is most of its cost in Node.

use act_core::approval::ApprovalRequest;
use act_core::audit::AuditRecord;
use act_core::Decision;
use napi::bindgen_prelude::*;

fn opt(o: &mut Object, key: &str, v: Option<&str>) -> Result<()> {
    match v {
        Some(s) => o.set(key, s),
        None => o.set(key, Null),
    }
}

/// The approval request as a JS object.
pub fn approval_request<'e>(env: &'e Env, r: &ApprovalRequest) -> Result<Object<'e>> {
    let mut o = Object::new(env)?;
    o.set("id", r.id.as_str())?;
    o.set("agent", r.agent.as_str())?;
    o.set("subject", r.subject.as_str())?;
    o.set("action", r.action.as_str())?;
    o.set("resource", r.resource.as_str())?;
    o.set("constraint", r.constraint.as_str())?;
    o.set("condition", r.condition.as_str())?;
    o.set("tokenId", r.token_id.as_str())?;
    o.set("contextHash", r.context_hash.as_str())?;
    Ok(o)
}

/// The decision as a JS object (`trace` only when the decision has one).
pub fn decision<'e>(env: &'e Env, d: &Decision) -> Result<Object<'e>> {
    let mut o = Object::new(env)?;
    o.set("outcome", d.outcome.as_str())?;
    o.set("allowed", d.allowed())?;
    o.set("reason", d.reason.as_str())?;
    o.set("message", d.message.as_str())?;
    opt(&mut o, "rule", d.rule.as_deref())?;
    opt(&mut o, "constraint", d.constraint.as_deref())?;
    o.set("auditId", d.audit_id.as_str())?;
    o.set("snapshotVersion", d.snapshot_version as f64)?;
    opt(&mut o, "agent", d.agent.as_deref())?;
    opt(&mut o, "subject", d.subject.as_deref())?;
    match &d.approval_request {
        Some(r) => o.set("approvalRequest", approval_request(env, r)?)?,
        None => o.set("approvalRequest", Null)?,
    }
    if let Some(steps) = &d.trace {
        let mut list = env.create_array(steps.len() as u32)?;
        for (i, s) in steps.iter().enumerate() {
            let mut t = Object::new(env)?;
            t.set("stage", s.stage.as_str())?;
            t.set("detail", s.detail.as_str())?;
            list.set(i as u32, t)?;
        }
        o.set("trace", list)?;
    }
    Ok(o)
}

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
