//! Signed freshness statements: the only evidence that resets an SDK's staleness clock.
//!
//! A control endpoint answers every `GET /v1/snapshot` (`200` and `304`) with
//! `X-Act-Freshness: <compact JWS>`, header `{"alg":"EdDSA","typ":"act-freshness+jwt","kid":...}`,
//! claims `{"version": V, "issued_at": ms}`, signed by the snapshot key. It says "at
//! `issued_at`, version `V` was the current one". An SDK moves its staleness clock to the
//! statement's signed `issued_at` only when it verifies with the pinned snapshot key and names the
//! version the SDK serves; a bare `304`, a missing, foreign or malformed statement, a statement for
//! another version, or a replayed older one resets nothing (so a lying endpoint cannot hide a
//! published revocation past `max_staleness`). Static file servers send none: staleness then counts
//! from the snapshot's own signed `issued_at`.
//!
//! ```
//! use act_core::SigningKey;
//! use act_core::snapshot::{sign_freshness, verify_freshness};
//!
//! let key = SigningKey::generate().unwrap();
//! let jws = sign_freshness(&key, 7, 1_700_000_000_000).unwrap();
//! let f = verify_freshness(&jws, key.verifying_key()).unwrap();
//! assert_eq!((f.version, f.issued_at), (7, 1_700_000_000_000));
//! let other = SigningKey::generate().unwrap();
//! assert!(verify_freshness(&jws, other.verifying_key()).is_err());
//! ```

use crate::error::{Error, Result};
use crate::keys::{SigningKey, VerifyingKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The JOSE `typ` of a freshness statement (never accepted as a snapshot or a token).
pub const FRESHNESS_TYP: &str = "act-freshness+jwt";
/// The response header that carries the statement.
pub const FRESHNESS_HEADER: &str = "x-act-freshness";
/// Statements longer than this are rejected unread (a real one is about 300 bytes).
pub const MAX_FRESHNESS_BYTES: usize = 2048;

/// The claims of a freshness statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Freshness {
    /// The snapshot version the endpoint served when it signed.
    pub version: u64,
    /// When it signed, ms since the epoch.
    pub issued_at: i64,
}

/// Signs "`version` is current at `now_ms`" with the snapshot key.
pub fn sign_freshness(key: &SigningKey, version: u64, now_ms: i64) -> Result<String> {
    if version == 0 {
        return Err(Error::Config(
            "a freshness statement names a snapshot version ≥ 1".into(),
        ));
    }
    let claims = serde_json::to_value(Freshness {
        version,
        issued_at: now_ms,
    })
    .map_err(|e| Error::Internal(format!("freshness claims do not serialize: {e}")))?;
    Ok(crate::token::sign_jws(key, FRESHNESS_TYP, &claims))
}

/// Verifies a statement against the pinned snapshot key and returns its claims.
///
/// Strict like snapshot documents: exactly the header fields `alg` (EdDSA), `typ`
/// (`act-freshness+jwt`) and `kid` (the pinned key's), no duplicate JSON keys, a valid signature,
/// exactly the claims `version` (≥ 1) and `issued_at`.
pub fn verify_freshness(jws: &str, trusted: &VerifyingKey) -> Result<Freshness> {
    let bad = |m: String| Error::Snapshot(format!("freshness statement rejected: {m}"));
    let claims = verify_compact(jws, FRESHNESS_TYP, trusted, MAX_FRESHNESS_BYTES).map_err(bad)?;
    let f: Freshness = serde_json::from_value(claims).map_err(|e| bad(format!("claims: {e}")))?;
    if f.version == 0 {
        return Err(bad("version 0 names no snapshot".into()));
    }
    Ok(f)
}

/// Verifies a small compact JWS of type `typ` signed by `trusted` and returns its claims.
///
/// The header must be exactly `alg` (EdDSA), `typ` and `kid` (the trusted key's); header and claims
/// are strict JSON (no duplicate keys, shallow); the signature must verify.
pub(crate) fn verify_compact(
    jws: &str,
    typ: &str,
    trusted: &VerifyingKey,
    max_bytes: usize,
) -> std::result::Result<Value, String> {
    let jws = jws.trim();
    if jws.len() > max_bytes {
        return Err(format!("over the {max_bytes}-byte cap"));
    }
    let mut parts = jws.split('.');
    let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err("not a compact JWS (three dot-separated parts)".into());
    };
    let part = |p: &str, what: &str| {
        URL_SAFE_NO_PAD
            .decode(p)
            .map_err(|_| format!("the {what} is not base64url"))
    };
    let header = crate::json::parse_strict(&part(h, "header")?, 4).map_err(|e| format!("header: {e}"))?;
    let Value::Object(header) = header else {
        return Err("the header is not a JSON object".into());
    };
    let field = |k: &str| header.get(k).and_then(Value::as_str);
    if header.len() != 3 || field("alg") != Some("EdDSA") || field("typ") != Some(typ) {
        return Err(format!(
            "the header must be exactly {{\"alg\":\"EdDSA\",\"typ\":\"{typ}\",\"kid\":...}}"
        ));
    }
    if field("kid") != Some(trusted.kid()) {
        return Err(format!(
            "signed by a key other than the trusted one (kid `{}`)",
            trusted.kid()
        ));
    }
    let sig = part(s, "signature")?;
    if !trusted.verify(format!("{h}.{c}").as_bytes(), &sig) {
        return Err("the signature does not verify".into());
    }
    crate::json::parse_strict(&part(c, "claims")?, 4).map_err(|e| format!("claims: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_what_it_cannot_trust() {
        let key = SigningKey::generate().unwrap();
        let jws = sign_freshness(&key, 9, 42).unwrap();
        assert_eq!(
            verify_freshness(&jws, key.verifying_key()).unwrap(),
            Freshness {
                version: 9,
                issued_at: 42
            }
        );
        // A snapshot document or a token signed by the same key is not a statement.
        let other_typ = crate::token::sign_jws(
            &key,
            "act-snapshot+jwt",
            &serde_json::json!({"version": 9, "issued_at": 42}),
        );
        assert!(verify_freshness(&other_typ, key.verifying_key()).is_err());
        let extra = crate::token::sign_jws(
            &key,
            FRESHNESS_TYP,
            &serde_json::json!({"version": 9, "issued_at": 42, "ttl": 1}),
        );
        assert!(verify_freshness(&extra, key.verifying_key()).is_err());
        let mut parts: Vec<&str> = jws.split('.').collect();
        let later = sign_freshness(&key, 10, 42).unwrap();
        parts[1] = later.split('.').nth(1).unwrap();
        assert!(verify_freshness(&parts.join("."), key.verifying_key()).is_err());
        assert!(sign_freshness(&key, 0, 1).is_err());
        assert!(verify_freshness(&"a".repeat(3000), key.verifying_key()).is_err());
    }
}
