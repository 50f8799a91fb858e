//! Values as host languages hand them over, checked once here for every binding: JSON text
//! (hosts whose objects cross as `JSON.stringify` output), public keys as text, and whole
//! numbers from hosts whose only number type is a double (JavaScript).

use super::{MAX_CONTEXT_DEPTH, MAX_CONTEXT_VALUES};
use crate::error::{Error, Result};
use crate::keys::VerifyingKey;
use serde_json::{Map, Value};

/// Parses JSON text a host passed as `name` (a context, user context or policy), within
/// [`MAX_CONTEXT_DEPTH`] and [`MAX_CONTEXT_VALUES`]. serde_json refuses nesting past 128 before
/// recursing, so the walk below stays shallow too.
pub fn json_text(name: &str, text: &str) -> Result<Value> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| Error::Config(format!("`{name}` is not usable JSON: {e}")))?;
    let mut values = 0usize;
    check_size(name, &v, 0, &mut values)?;
    Ok(v)
}

/// Depth counts as in every binding's converter: the top value is 0, a value inside it 1, ...
fn check_size(name: &str, v: &Value, depth: usize, values: &mut usize) -> Result<()> {
    *values += 1;
    if depth > MAX_CONTEXT_DEPTH {
        return Err(Error::Config(format!(
            "`{name}` is nested deeper than {MAX_CONTEXT_DEPTH} levels"
        )));
    }
    if *values > MAX_CONTEXT_VALUES {
        return Err(Error::Config(format!(
            "`{name}` holds more than {MAX_CONTEXT_VALUES} values"
        )));
    }
    match v {
        Value::Array(a) => a.iter().try_for_each(|c| check_size(name, c, depth + 1, values)),
        Value::Object(m) => m.values().try_for_each(|c| check_size(name, c, depth + 1, values)),
        _ => Ok(()),
    }
}

/// [`json_text`] that must be an object; absent or `null` is the empty object.
pub fn json_object(name: &str, text: Option<&str>) -> Result<Map<String, Value>> {
    match text.map(|t| json_text(name, t)).transpose()? {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m),
        Some(_) => Err(Error::Config(format!("`{name}` must be an object"))),
    }
}

/// [`json_text`] where absent and `null` both mean "none" (a token's optional policy).
pub fn json_optional(name: &str, text: Option<&str>) -> Result<Option<Value>> {
    Ok(text.map(|t| json_text(name, t)).transpose()?.filter(|v| !v.is_null()))
}

/// A public key as hosts pass it: `ed25519:<base64url>` or a public JWK's JSON text.
pub fn public_key(text: &str) -> Result<VerifyingKey> {
    if text.trim_start().starts_with('{') {
        VerifyingKey::from_jwk(text)
    } else {
        VerifyingKey::parse(text)
    }
}

/// A whole number (seconds, milliseconds) from a double; anything else names `name`.
pub fn whole(name: &str, v: f64) -> Result<i64> {
    // 9e15 < 2^53: every whole double below it is exact.
    if !v.is_finite() || v.fract() != 0.0 || v.abs() > 9.0e15 {
        return Err(Error::Config(format!("`{name}` must be a whole number, got {v}")));
    }
    Ok(v as i64)
}

/// A whole, non-negative number from a double.
pub fn whole_unsigned(name: &str, v: f64) -> Result<u64> {
    let n = whole(name, v)?;
    u64::try_from(n).map_err(|_| Error::Config(format!("`{name}` must not be negative, got {v}")))
}

/// Checks an audit log's hash chain (as `act audit verify` does) and, given the text of its
/// `<log>.checkpoints` file, every signed checkpoint against the public audit key `audit_key`
/// (text as [`public_key`] reads it). Returns the record count. Checkpoints and key come
/// together: a checkpoint nobody verifies proves nothing.
pub fn verify_audit_log(
    log: &str,
    start: Option<&str>,
    checkpoints: Option<&str>,
    audit_key: Option<&str>,
) -> Result<usize> {
    use crate::audit::{checkpoint, verify_log};
    match (checkpoints, audit_key) {
        (None, None) => Ok(verify_log(log.as_bytes(), start)?),
        (Some(cps), Some(key)) => {
            let cps = checkpoint::read_checkpoints(cps.as_bytes(), &public_key(key)?)?;
            Ok(checkpoint::verify_log_with_checkpoints(log.as_bytes(), start, &cps)?)
        }
        _ => Err(Error::Config(
            "pass checkpoints and auditKey together (the checkpoints are verified with the audit key)".into(),
        )),
    }
}

impl super::Client {
    /// True when [`issue_token`](super::Client::issue_token) mints through the endpoint
    /// (endpoint mode without a local signing key): a host with an event loop runs it off that
    /// loop instead of blocking it.
    pub fn issues_remotely(&self) -> Result<bool> {
        Ok(self.control.is_some() && self.engine()?.signing_key().is_none())
    }
}

/// A JSON value with camelCase object keys, recursively (`audit_last_error` → `auditLastError`):
/// the core's snake_case shapes, such as [`ClientStatus`](super::ClientStatus), in the
/// convention of JavaScript and Kotlin, with the same fields.
pub fn camel_case_keys(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (camel(&k), camel_case_keys(v))).collect()),
        Value::Array(a) => Value::Array(a.into_iter().map(camel_case_keys).collect()),
        other => other,
    }
}

fn camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                out.extend(c.to_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn depth_is_the_clients_limit() {
        assert!(json_text("context", &format!("{{\"a\":{}}}", nested(MAX_CONTEXT_DEPTH - 1))).is_ok());
        // `{"a": [[..[1]..]]}` with 64 arrays puts the 1 at depth 65.
        let e = json_text("context", &format!("{{\"a\":{}}}", nested(MAX_CONTEXT_DEPTH))).unwrap_err();
        assert!(e.to_string().contains("deeper than 64"), "{e}");
        // Past serde_json's own limit: refused while parsing, never recursed into.
        assert!(json_text("context", &nested(100_000)).is_err());
    }

    #[test]
    fn values_are_bounded() {
        let many = format!("[{}]", vec!["1"; MAX_CONTEXT_VALUES].join(","));
        let e = json_text("context", &many).unwrap_err();
        assert!(e.to_string().contains("more than 100000 values"), "{e}");
    }

    #[test]
    fn camel_case_status() {
        let v = camel_case_keys(super::super::ClientStatus::default().to_json());
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert!(
            keys.contains(&"auditLastError") && keys.contains(&"openBreakers"),
            "{keys:?}"
        );
        assert_eq!(keys.len(), super::super::STATUS_FIELDS.len());
    }

    #[test]
    fn objects_keys_and_numbers() {
        assert!(json_object("userContext", None).unwrap().is_empty());
        assert!(json_object("userContext", Some("null")).unwrap().is_empty());
        assert!(json_object("userContext", Some("[1]")).is_err());
        assert_eq!(json_optional("policy", Some("null")).unwrap(), None);
        let k = crate::SigningKey::generate().unwrap();
        let vk = k.verifying_key();
        assert_eq!(public_key(&vk.to_string()).unwrap().kid(), vk.kid());
        assert_eq!(public_key(&vk.to_jwk()).unwrap().kid(), vk.kid());
        assert_eq!(whole("ttl", 60.0).unwrap(), 60);
        assert!(whole("ttl", 1.5).is_err());
        assert!(whole("ttl", f64::NAN).is_err());
        assert!(whole_unsigned("ttl", -1.0).is_err());
    }
}
