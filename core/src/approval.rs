//! Human approvals bound to one exact request.
//!
//! An `approval_required` decision carries an [`ApprovalRequest`] whose `id`
//! is a SHA-256 over (token id, agent, subject, action, resource, canonical
//! context). An approval is an issuer-signed JWS (`typ: act-approval+jwt`)
//! naming that id; presented with the same request it turns it, once, into an
//! allow. A different amount, resource or token gives another id, so the
//! approval does not apply; a second use is a replay.

use crate::keys::SigningKey;
use crate::token::{self, APPROVAL_TYP};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Longest approval lifetime: 7 days.
pub const MAX_APPROVAL_TTL_SECS: u64 = 7 * 86_400;

/// What a human is asked to approve.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    /// The binding id (base64url SHA-256).
    pub id: String,
    /// The agent asking.
    pub agent: String,
    /// The user it acts for.
    pub subject: String,
    /// The action.
    pub action: String,
    /// The resource.
    pub resource: String,
    /// The (first) constraint that asked for approval, e.g. `customer-support-bot/process_refund/requireSecondApproval`.
    pub constraint: String,
    /// The condition as written, e.g. `amount > 100`.
    pub condition: String,
    /// `jti` of the token presented.
    pub token_id: String,
    /// SHA-256 of the canonical context (base64url).
    pub context_hash: String,
    /// The argument values the approver sees: the request's context after the policy's
    /// redaction (`audit.redact`), a redacted value shown as `[redacted:<digest>]`.
    /// `context_hash` is over exactly these values (RFC 8785), so what is approved is what was seen.
    #[serde(default)]
    pub context: Map<String, Value>,
    /// Every approval rule that fired on this request, in policy order, the first (`constraint`,
    /// `condition`) included. One approval is bound to the request (`id`: token, action, resource,
    /// context), not to a rule, so it covers all of them: the approver sees them all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<ApprovalCondition>,
    /// The agents of the presented token's delegation chain, root first (one for a plain token;
    /// a holder's seal is not repeated). For the approver's eyes: like `constraint`, it is not
    /// bound by `id`, and the token itself (`token_id`) is what the approval is checked against.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<String>,
}

/// One approval rule that fired on a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalCondition {
    /// The constraint id, e.g. `support-bot/process_refund/requireApproval`.
    pub constraint: String,
    /// The condition as written, e.g. `amount > 100`.
    pub condition: String,
}

/// Writes JSON with sorted keys and integral floats as integers, so the same
/// context hashes the same from every language.
pub fn canonical_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                canonical_json(&m[*k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(x, out);
            }
            out.push(']');
        }
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => out.push_str(&(f as i64).to_string()),
            _ => out.push_str(&n.to_string()),
        },
        other => out.push_str(&other.to_string()),
    }
}

fn b64_sha256(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    URL_SAFE_NO_PAD.encode(h.finalize())
}

/// The hash of a context, as carried in [`ApprovalRequest::context_hash`]: SHA-256 over its
/// RFC 8785 (JSON Canonicalization Scheme) form, computed by `serde_json_canonicalizer`, so every
/// language and the server compute the same hash from the same values.
pub fn context_hash(context: &Map<String, Value>) -> String {
    let canonical = serde_json_canonicalizer::to_string(context).unwrap_or_else(|_| {
        // Unreachable for JSON values; the fallback still hashes deterministically.
        let mut s = String::new();
        canonical_json(&Value::Object(context.clone()), &mut s);
        s
    });
    b64_sha256(&["act-context-jcs-v1", &canonical])
}

/// The context an approver sees: `context` with the fields `redact` names (dotted paths, `*`)
/// replaced by `[redacted:<digest>]`. The digest (SHA-256 of the token id and the value's RFC 8785
/// form, 128 bits) keeps the approval bound to the exact value without showing it; a value with
/// little entropy (a 4-digit PIN) can still be guessed from it by whoever sees the request.
pub fn approver_context(context: &Map<String, Value>, redact: &[String], token_id: &str) -> Map<String, Value> {
    let mut out = context.clone();
    crate::policy::redact::redact_with(&mut out, redact, &mut |v| {
        let canonical = serde_json_canonicalizer::to_string(v).unwrap_or_default();
        let digest = b64_sha256(&["act-redacted-v1", token_id, &canonical]);
        Value::String(format!("[redacted:{}]", &digest[..22]))
    });
    out
}

/// Checks an approval request received from elsewhere (protocol: approvals): `context_hash` must be the
/// hash of `context`, and `id` the binding id of its members. An error names which does not match.
pub fn verify_request(r: &ApprovalRequest) -> crate::Result<()> {
    let hash = context_hash(&r.context);
    if hash != r.context_hash {
        return Err(crate::Error::Config(
            "approval request mismatch: `context_hash` is not the hash of `context`".into(),
        ));
    }
    let id = request_id(&r.token_id, &r.agent, &r.subject, &r.action, &r.resource, &hash);
    if id != r.id {
        return Err(crate::Error::Config(
            "approval request mismatch: `id` is not the binding id of the request's members".into(),
        ));
    }
    Ok(())
}

/// The binding id of (token id, agent, subject, action, resource, context hash).
pub fn request_id(token_id: &str, agent: &str, subject: &str, action: &str, resource: &str, ctx_hash: &str) -> String {
    b64_sha256(&["act-approval-v1", token_id, agent, subject, action, resource, ctx_hash])
}

/// Signs an approval for `request_id` by `approver`, valid `ttl_secs` from `now`.
pub fn sign_approval(
    key: &SigningKey,
    request_id: &str,
    approver: &str,
    now: i64,
    ttl_secs: u64,
) -> crate::Result<String> {
    let claims = serde_json::json!({
        "iss": approver,
        "jti": token::new_jti()?,
        "iat": now,
        "exp": now + ttl_secs.min(MAX_APPROVAL_TTL_SECS) as i64,
        "req": request_id,
    });
    Ok(token::sign_jws(key, APPROVAL_TYP, &claims))
}

/// A verified approval.
#[derive(Debug, Clone, PartialEq)]
pub struct Approval {
    /// Unique id (single use).
    pub jti: String,
    /// The request id it approves.
    pub request_id: String,
    /// Who approved.
    pub approver: String,
    /// Expiry (seconds).
    pub exp: i64,
}

/// Verifies an approval token's signature and lifetime; the caller checks the binding and single use.
pub fn verify_approval(
    approval: &str,
    key_for: &dyn Fn(&str) -> Option<crate::keys::VerifyingKey>,
    now: i64,
) -> Result<Approval, String> {
    if approval.len() > 4096 {
        return Err("the approval is too large".into());
    }
    let (kid, claims, input, sig) =
        token::decode_approval(approval).map_err(|(_, m)| format!("malformed approval: {m}"))?;
    let key = key_for(&kid).ok_or_else(|| "the approval is not signed by a trusted issuer key".to_string())?;
    if !key.verify(input.as_bytes(), &sig) {
        return Err("the approval's signature does not verify".into());
    }
    let field = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_string);
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or("the approval has no integer `exp`")?;
    if now >= exp {
        return Err("the approval has expired".into());
    }
    Ok(Approval {
        jti: field("jti").ok_or("the approval has no `jti`")?,
        request_id: field("req").ok_or("the approval has no `req`")?,
        approver: field("iss").unwrap_or_default(),
        exp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> ApprovalRequest {
        let hash = context_hash(serde_json::json!({"amount": 5000}).as_object().unwrap());
        ApprovalRequest {
            id: request_id("jti-1", "bot", "42", "process_refund", "order://1", &hash),
            agent: "bot".into(),
            subject: "42".into(),
            action: "process_refund".into(),
            resource: "order://1".into(),
            constraint: "bot/process_refund/requireSecondApproval".into(),
            condition: "amount > 100".into(),
            token_id: "jti-1".into(),
            context_hash: hash,
            context: serde_json::json!({"amount": 5000}).as_object().unwrap().clone(),
            conditions: Vec::new(),
            chain: Vec::new(),
        }
    }

    #[test]
    fn verify_request_accepts_its_own_id_and_refuses_any_changed_bound_field() {
        assert!(verify_request(&request()).is_ok());
        let edits: [fn(&mut ApprovalRequest); 6] = [
            |r| r.token_id.push('x'),
            |r| r.agent.push('x'),
            |r| r.subject.push('x'),
            |r| r.action.push('x'),
            |r| r.resource.push('x'),
            |r| r.context_hash = context_hash(serde_json::json!({"amount": 5}).as_object().unwrap()),
        ];
        for edit in edits {
            let mut r = request();
            edit(&mut r);
            assert!(verify_request(&r).is_err(), "{r:?}");
        }
    }
}
