//! The signed snapshot document: what a control endpoint serves and an SDK pins.
//!
//! A document is a compact JWS (RFC 7515), header
//! `{"alg":"EdDSA","typ":"act-snapshot+jwt","kid":<thumbprint>}`, whose claims are
//!
//! ```json
//! {"version": 7, "issued_at": 1767225600000, "expires_at": 1767312000000, "policies": { ...PolicySet... }}
//! ```
//!
//! Times are milliseconds since the Unix epoch; `expires_at` is optional.
//! Unknown claims are rejected (an SDK must not silently ignore a rule it does
//! not understand). The header is checked by the same strict parser as tokens
//! (EdDSA only, no `jwk`/`jku`/`x5u`/`x5c`/`crit`, no duplicate JSON keys), and
//! the key is pinned: the SDK is configured with exactly one trusted snapshot
//! key, so a document signed by anything else is refused before it is read.
//! Because the document carries its own proof, any static file server or object
//! store can serve it (see `docs/protocol.md`).
//!
//! ```
//! use act_core::{SigningKey, policy::PolicySet};
//! use act_core::snapshot::{decode_snapshot, encode_snapshot, SnapshotDocument};
//!
//! let key = SigningKey::generate().unwrap();
//! let doc = SnapshotDocument { version: 3, issued_at: 1_700_000_000_000, expires_at: None, policies: PolicySet::default() };
//! let jws = encode_snapshot(&key, &doc).unwrap();
//! let snap = decode_snapshot(jws.as_bytes(), key.verifying_key()).unwrap();
//! assert_eq!(snap.version, 3);
//! let other = SigningKey::generate().unwrap();
//! assert!(decode_snapshot(jws.as_bytes(), other.verifying_key()).is_err());
//! ```

use super::Snapshot;
use crate::error::{Error, Result};
use crate::keys::{SigningKey, VerifyingKey};
use crate::policy::PolicySet;
use serde::{Deserialize, Serialize};

/// The JOSE `typ` of a snapshot document (never accepted as a token, and vice versa).
pub const SNAPSHOT_TYP: &str = "act-snapshot+jwt";
/// Documents larger than this are rejected unread: 8 MiB.
pub const MAX_SNAPSHOT_BYTES: usize = 8 * 1024 * 1024;

/// The claims of a snapshot document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotDocument {
    /// Monotonic version, at least 1; an SDK refuses a version not newer than the one it serves.
    pub version: u64,
    /// When the control plane signed it, ms since the epoch (staleness is measured from it).
    pub issued_at: i64,
    /// When it stops being trusted, ms since the epoch; validations deny `snapshot_stale` after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// Agent policies, trusted issuer keys, revocations and kill switches.
    pub policies: PolicySet,
}

impl SnapshotDocument {
    /// Compiles the document into a [`Snapshot`], trusting its issuer keys plus `extra_keys`.
    pub fn compile(self, extra_keys: &[VerifyingKey]) -> Result<Snapshot> {
        let (version, issued_at, expires_at) = (self.version, self.issued_at, self.expires_at);
        Snapshot::compile(self.policies, version, issued_at, extra_keys)
            .map(|s| s.with_expiry(expires_at))
            .map_err(|e| Error::Snapshot(format!("version {version} does not compile: {e}")))
    }
}

/// Signs `doc` with the control plane key `key`, after checking that it compiles.
pub fn encode_snapshot(key: &SigningKey, doc: &SnapshotDocument) -> Result<String> {
    if doc.version == 0 {
        return Err(Error::Config(
            "a snapshot version starts at 1 (version 0 means `no snapshot`)".into(),
        ));
    }
    if let Some(exp) = doc.expires_at {
        if exp <= doc.issued_at {
            return Err(Error::Config(format!(
                "the snapshot expires ({exp}) before it is issued ({})",
                doc.issued_at
            )));
        }
    }
    // Never sign what an SDK would refuse to compile.
    doc.clone().compile(&[])?;
    let claims =
        serde_json::to_value(doc).map_err(|e| Error::Internal(format!("snapshot claims do not serialize: {e}")))?;
    let jws = crate::token::sign_jws(key, SNAPSHOT_TYP, &claims);
    if jws.len() > MAX_SNAPSHOT_BYTES {
        return Err(Error::Config(format!(
            "the signed snapshot would be {} bytes, over the {MAX_SNAPSHOT_BYTES}-byte cap",
            jws.len()
        )));
    }
    Ok(jws)
}

/// Verifies a document against the pinned key `trusted` and returns its claims, uncompiled.
///
/// Rejects (with [`Error::Snapshot`]) oversize input, non-UTF-8 or malformed
/// JWS, a header other than EdDSA/`act-snapshot+jwt`, a `kid` other than the
/// trusted key's, a bad signature, and claims that are not a valid document.
/// Surrounding whitespace (a trailing newline from a file server) is ignored.
pub fn verify_document(bytes: &[u8], trusted: &VerifyingKey) -> Result<SnapshotDocument> {
    let bad = |m: String| Error::Snapshot(m);
    if bytes.len() > MAX_SNAPSHOT_BYTES {
        return Err(bad(format!(
            "the document is {} bytes, over the {MAX_SNAPSHOT_BYTES}-byte cap",
            bytes.len()
        )));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|e| bad(format!("the document is not UTF-8 text (byte {})", e.valid_up_to())))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(bad("the document is empty".into()));
    }
    let (kid, claims, input, sig) = crate::token::decode_snapshot_jws(text).map_err(|(_, m)| {
        // The shared JWS parser words its messages for tokens.
        bad(format!(
            "not a valid signed document: {}",
            m.replace("the token", "the snapshot").replace("a token", "a snapshot")
        ))
    })?;
    if kid != trusted.kid() {
        return Err(bad(format!(
            "signed by an unknown key (kid `{}`); only the pinned snapshot key (kid `{}`) is trusted",
            crate::keys::truncate(&kid, 60),
            trusted.kid()
        )));
    }
    if !trusted.verify(input.as_bytes(), &sig) {
        return Err(bad(
            "the signature does not verify: the document was altered or truncated".into(),
        ));
    }
    let doc: SnapshotDocument = serde_json::from_value(claims)
        .map_err(|e| bad(format!("the signed claims are not a snapshot document: {e}")))?;
    if doc.version == 0 {
        return Err(bad("version 0 is not a valid snapshot version".into()));
    }
    Ok(doc)
}

/// Verifies and compiles a document into a [`Snapshot`] (trusting only the issuer keys it lists).
pub fn decode_snapshot(bytes: &[u8], trusted: &VerifyingKey) -> Result<Snapshot> {
    decode_snapshot_with(bytes, trusted, &[])
}

/// Like [`decode_snapshot`], also trusting `extra_keys` for tokens (an engine's local keys).
pub fn decode_snapshot_with(bytes: &[u8], trusted: &VerifyingKey, extra_keys: &[VerifyingKey]) -> Result<Snapshot> {
    verify_document(bytes, trusted)?.compile(extra_keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    fn doc(version: u64) -> SnapshotDocument {
        let policies = crate::policy::parse_source(
            "p.yaml",
            "agent: bot\npolicy:\n  actions: [read]\n  resources: [\"doc://*\"]\n",
        )
        .unwrap();
        SnapshotDocument {
            version,
            issued_at: 1_700_000_000_000,
            expires_at: Some(1_800_000_000_000),
            policies,
        }
    }

    fn err(bytes: &[u8], key: &VerifyingKey) -> String {
        verify_document(bytes, key).unwrap_err().to_string()
    }

    #[test]
    fn round_trips_and_keeps_expiry() {
        let key = SigningKey::generate().unwrap();
        let jws = encode_snapshot(&key, &doc(5)).unwrap();
        let snap = decode_snapshot(format!("{jws}\n").as_bytes(), key.verifying_key()).unwrap();
        assert_eq!((snap.version, snap.expires_at_ms), (5, Some(1_800_000_000_000)));
        assert_eq!(snap.agent_ids(), vec!["bot".to_string()]);
        assert_eq!(verify_document(jws.as_bytes(), key.verifying_key()).unwrap(), doc(5));
    }

    #[test]
    fn rejects_what_it_cannot_trust() {
        let key = SigningKey::generate().unwrap();
        let vk = key.verifying_key();
        let jws = encode_snapshot(&key, &doc(2)).unwrap();
        let other = SigningKey::generate().unwrap();
        assert!(err(jws.as_bytes(), other.verifying_key()).contains("unknown key"));
        assert!(err(&jws.as_bytes()[..jws.len() - 10], vk).contains("snapshot rejected"));
        assert!(err(&jws.as_bytes()[..jws.len() / 2], vk).contains("not a valid signed document"));
        assert!(err(b"", vk).contains("empty"));
        assert!(err(&[0xff, 0xfe], vk).contains("UTF-8"));
        assert!(err(&vec![b'a'; MAX_SNAPSHOT_BYTES + 1], vk).contains("cap"));
        // One flipped claim byte: the signature no longer verifies.
        let mut parts: Vec<String> = jws.split('.').map(str::to_string).collect();
        let mut claims = URL_SAFE_NO_PAD.decode(&parts[1]).unwrap();
        let at = claims.iter().position(|b| *b == b'2').unwrap();
        claims[at] = b'9';
        parts[1] = URL_SAFE_NO_PAD.encode(claims);
        assert!(err(parts.join(".").as_bytes(), vk).contains("signature does not verify"));
        // A token is not a snapshot, even from the same key.
        let token = crate::token::sign_jws(&key, crate::token::TOKEN_TYP, &serde_json::json!({"version": 9}));
        assert!(err(token.as_bytes(), vk).contains("typ"));
        // Unknown claims and version 0 are refused even when signed.
        let odd = crate::token::sign_jws(
            &key,
            SNAPSHOT_TYP,
            &serde_json::json!({"version": 1, "issued_at": 0, "policies": {"agents": []}, "x": 1}),
        );
        assert!(err(odd.as_bytes(), vk).contains("unknown field `x`"));
        let zero = crate::token::sign_jws(
            &key,
            SNAPSHOT_TYP,
            &serde_json::json!({"version": 0, "issued_at": 0, "policies": {"agents": []}}),
        );
        assert!(err(zero.as_bytes(), vk).contains("version 0"));
    }

    #[test]
    fn refuses_to_sign_nonsense() {
        let key = SigningKey::generate().unwrap();
        assert!(encode_snapshot(&key, &doc(0)).is_err());
        let mut d = doc(1);
        d.expires_at = Some(d.issued_at - 1);
        assert!(encode_snapshot(&key, &d).is_err());
    }
}
