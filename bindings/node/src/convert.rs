//! Core values to plain JS objects with camelCase fields.
//!
//! A decision is built field by field (no serde round trip): `validate` is the
//! hot path, and this is most of its cost in Node.

use act_core::audit::AuditRecord;
use act_core::Decision;

/// The decision as one compact string that `node/index.js` decodes into the
/// `Decision` object. Through Node-API every created string, set property and
/// array element is a call of its own, and those calls were most of the cost
/// of `validate`; one string and an object literal in JS are far cheaper.
///
/// Layout: a header of space-separated integers, `|`, then the fields back to
/// back. Header: `outcome reason snapshotVersion` (outcome and reason are
/// indexes into `outcomeCodes()` and `reasonCodes()`) and the length in UTF-16
/// units of each field, or `-` for a missing one. Fields: message, rule,
/// constraint, auditId, agent, subject, and `extra`: JSON holding
/// `approvalRequest` and `trace` when the decision has either.
pub fn decision(d: &Decision) -> String {
    let extra = (d.approval_request.is_some() || d.trace.is_some()).then(|| extra_json(d));
    let fields: [Option<&str>; 7] = [
        Some(d.message.as_str()),
        d.rule.as_deref(),
        d.constraint.as_deref(),
        Some(d.audit_id.as_str()),
        d.agent.as_deref(),
        d.subject.as_deref(),
        extra.as_deref(),
    ];
    let mut out = String::with_capacity(96 + fields.iter().flatten().map(|f| f.len()).sum::<usize>());
    push_int(&mut out, d.outcome as u64);
    out.push(' ');
    push_int(&mut out, d.reason as u64);
    out.push(' ');
    push_int(&mut out, d.snapshot_version);
    for f in fields {
        match f {
            Some(s) => {
                out.push(' ');
                push_int(&mut out, utf16_len(s) as u64);
            }
            None => out.push_str(" -"),
        }
    }
    out.push('|');
    for f in fields.into_iter().flatten() {
        out.push_str(f);
    }
    out
}

/// Decimal digits of `n` (`write!` costs several times more on this hot path).
fn push_int(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &b in &buf[i..] {
        out.push(b as char);
    }
}

fn utf16_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.encode_utf16().count()
    }
}

fn extra_json(d: &Decision) -> String {
    let mut extra = serde_json::Map::new();
    if let Some(r) = &d.approval_request {
        extra.insert(
            "approvalRequest".into(),
            serde_json::json!({
                "id": r.id,
                "agent": r.agent,
                "subject": r.subject,
                "action": r.action,
                "resource": r.resource,
                "constraint": r.constraint,
                "condition": r.condition,
                "tokenId": r.token_id,
                "contextHash": r.context_hash,
                "context": r.context,
            }),
        );
    }
    if let Some(steps) = &d.trace {
        let list = steps
            .iter()
            .map(|s| serde_json::json!({"stage": s.stage, "detail": s.detail}))
            .collect();
        extra.insert("trace".into(), serde_json::Value::Array(list));
    }
    serde_json::Value::Object(extra).to_string()
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

#[cfg(test)]
mod tests {
    #[test]
    fn integers() {
        for n in [0u64, 7, 10, 99, 12345, u64::MAX] {
            let mut s = String::new();
            super::push_int(&mut s, n);
            assert_eq!(s, n.to_string());
        }
        assert_eq!(super::utf16_len("a😀ü"), 4);
    }
}
