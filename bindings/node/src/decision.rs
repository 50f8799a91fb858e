//! A decision as one string for `node/index.js`: `<outcome> <reason> <n>|<message><JSON>`.
//!
//! Why not a `#[napi]` class with getters: measured on this machine, creating one class
//! instance per decision costs about 1.3 µs (`napi_new_instance`, `napi_wrap`, a type tag and a
//! finalizer the GC must run), a plain object with five properties 1.8 µs, and one 150-byte
//! string 0.12 µs, against a whole `validate` of about 4 µs. So a decision crosses as one
//! string, and the JS `Decision` class reads it lazily: `outcome`, `allowed` and `reason` come
//! from the header (indexes into `outcomeCodes()` and `reasonCodes()`), `message` is the `n`
//! UTF-16 units after it (the field most callers read besides the outcome), and every other
//! field comes from the JSON, parsed once, on the first read. The JSON is the core's own fields
//! with camelCase names (serde derives below), so there is no field order to keep in step.

use act_core::approval::{ApprovalCondition, ApprovalRequest};
use act_core::decision::{ShadowOutcome, TraceStep};
use act_core::Decision;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

/// The core's `ApprovalRequest` with camelCase names, both ways (`requestApproval` reads it back).
#[derive(Serialize, Deserialize)]
#[serde(remote = "ApprovalRequest", rename_all = "camelCase")]
struct ApprovalRequestDef {
    id: String,
    agent: String,
    subject: String,
    action: String,
    resource: String,
    constraint: String,
    condition: String,
    token_id: String,
    context_hash: String,
    #[serde(default)]
    context: Map<String, Value>,
    #[serde(default)]
    conditions: Vec<ApprovalCondition>,
    #[serde(default)]
    chain: Vec<String>,
}

/// Every field of a decision but the header's, borrowed from it. A missing one is left out
/// (less to write and parse); `index.js` reads it as `null` (`trace`: `undefined`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Fields<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    constraint: Option<&'a str>,
    audit_id: &'a str,
    snapshot_version: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    #[serde(serialize_with = "approval_request", skip_serializing_if = "Option::is_none")]
    approval_request: Option<&'a ApprovalRequest>,
    /// `{outcome, reason, message, rule, constraint}`, single-word names already.
    #[serde(skip_serializing_if = "Option::is_none")]
    shadow: Option<&'a ShadowOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trace: Option<&'a [TraceStep]>,
}

fn approval_request<S: Serializer>(r: &Option<&ApprovalRequest>, s: S) -> Result<S::Ok, S::Error> {
    struct Camel<'a>(&'a ApprovalRequest);
    impl Serialize for Camel<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            ApprovalRequestDef::serialize(self.0, s)
        }
    }
    r.map(Camel).serialize(s)
}

/// The decision as `node/index.js` reads it (see the module docs).
pub fn encode(d: &Decision) -> String {
    let fields = Fields {
        rule: d.rule.as_deref(),
        constraint: d.constraint.as_deref(),
        audit_id: &d.audit_id,
        snapshot_version: d.snapshot_version,
        agent: d.agent.as_deref(),
        subject: d.subject.as_deref(),
        approval_request: d.approval_request.as_ref(),
        shadow: d.shadow.as_ref(),
        trace: d.trace.as_deref(),
    };
    let utf16_len = if d.message.is_ascii() {
        d.message.len()
    } else {
        d.message.encode_utf16().count()
    };
    // One buffer: this is most of what `validate` costs in Node besides the engine.
    let mut out = Vec::with_capacity(256 + d.message.len());
    push_int(&mut out, d.outcome as u64);
    out.push(b' ');
    push_int(&mut out, d.reason as u64);
    out.push(b' ');
    push_int(&mut out, utf16_len as u64);
    out.push(b'|');
    out.extend_from_slice(d.message.as_bytes());
    // Strings, numbers and JSON values only: serialising them cannot fail, and it writes UTF-8.
    if serde_json::to_writer(&mut out, &fields).is_err() {
        out.extend_from_slice(b"{}");
    }
    String::from_utf8(out).unwrap_or_default()
}

/// Decimal digits of `n` (`format!` costs several times more on this hot path).
fn push_int(out: &mut Vec<u8>, mut n: u64) {
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
    out.extend_from_slice(&buf[i..]);
}

/// An approval request as `decision.approvalRequest` shows it (JSON text), back to the core's.
pub fn approval_request_from_json(text: &str) -> act_core::Result<ApprovalRequest> {
    ApprovalRequestDef::deserialize(&mut serde_json::Deserializer::from_str(text))
        .map_err(|e| act_core::Error::Config(format!("`decision` has no usable approvalRequest: {e}")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn integers() {
        for n in [0u64, 7, 10, 99, 12345, u64::MAX] {
            let mut s = Vec::new();
            super::push_int(&mut s, n);
            assert_eq!(String::from_utf8(s).unwrap(), n.to_string());
        }
    }

    #[test]
    fn header_indexes_are_the_code_lists() {
        // `encode` sends `reason as u16`; JS looks it up in `reasonCodes()`.
        for (i, r) in act_core::Reason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i, "{}", r.as_str());
        }
        assert_eq!(act_core::Outcome::ApprovalRequired as usize, 2);
    }
}
