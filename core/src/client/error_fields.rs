//! The fields of an [`Error`] as every binding hands them to its host language: one flat map of
//! stable snake_case names per variant (Python keyword arguments of the exception, JS error
//! properties), and the texts of its `#[source]` chain (Python `__cause__`, JS `cause`).

use crate::error::{Error, ErrorFamily};
use serde_json::{json, Map, Value};

/// The family's name where a host carries it as text (a JS error's `family`): one lowercase word.
pub fn family_name(family: ErrorFamily) -> &'static str {
    match family {
        ErrorFamily::Policy => "policy",
        ErrorFamily::Token => "token",
        ErrorFamily::Key => "key",
        ErrorFamily::Config => "config",
        ErrorFamily::Snapshot => "snapshot",
        ErrorFamily::Store => "store",
        ErrorFamily::Endpoint => "endpoint",
        ErrorFamily::Approval => "approval",
        ErrorFamily::Audit => "audit",
        ErrorFamily::Io => "io",
        ErrorFamily::Internal => "internal",
    }
}

/// The variant's fields: `diagnostics` (`[{file, line, column, key, message}]`), `reason`,
/// `line`, `url`/`status`/`endpoint_code`, `approval_id`/`status`/`reason`/`decided_by`,
/// `approval_id`/`waited_ms`, `path`. Empty for the variants that carry only a message.
pub fn error_fields(err: &Error) -> Map<String, Value> {
    let v = match err {
        Error::Policy(p) => json!({"diagnostics": p.diagnostics.iter().map(|d| json!({
            "file": d.file, "line": d.line, "column": d.column, "key": d.key, "message": d.message,
        })).collect::<Vec<_>>()}),
        Error::Token { reason, .. } => json!({"reason": reason.as_str()}),
        Error::AuditChain { line, .. } => json!({"line": line}),
        Error::Endpoint { url, status, code, .. } => json!({"url": url, "status": status, "endpoint_code": code}),
        Error::ApprovalDenied {
            id,
            status,
            reason,
            decided_by,
        } => json!({"approval_id": id, "status": status, "reason": reason, "decided_by": decided_by}),
        Error::ApprovalTimeout { id, waited_ms } => json!({"approval_id": id, "waited_ms": waited_ms}),
        Error::Io { path, .. } => json!({"path": path}),
        _ => json!({}),
    };
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The texts of `err`'s `#[source]` chain, outermost first (empty when it has none).
pub fn cause_chain(err: &Error) -> Vec<String> {
    let mut texts = Vec::new();
    let mut next = std::error::Error::source(err);
    while let Some(s) = next {
        texts.push(s.to_string());
        next = s.source();
    }
    texts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_name_what_each_variant_carries() {
        let e = Error::ApprovalTimeout {
            id: "a1".into(),
            waited_ms: 5,
        };
        assert_eq!(
            Value::Object(error_fields(&e)),
            json!({"approval_id": "a1", "waited_ms": 5})
        );
        assert!(error_fields(&Error::Config("x".into())).is_empty());
        let io = Error::Io {
            path: "/nope".into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "gone"),
        };
        assert_eq!(error_fields(&io)["path"], "/nope");
        assert_eq!(cause_chain(&io), vec!["gone".to_string()]);
    }
}
