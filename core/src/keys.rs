//! Ed25519 signing and verifying keys (through `ring`).
//!
//! Formats: PKCS#8 (DER and PEM, v1 and v2), JWK (RFC 8037 `OKP`/`Ed25519`),
//! and the compact `ed25519:<base64url of the 32 public bytes>` used in
//! configuration. A key's `kid` is its RFC 7638 JWK thumbprint, so the same
//! key has the same id in every tool.

use crate::error::{Error, Result};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use sha2::{Digest, Sha256};
use std::fmt;
use zeroize::Zeroizing;

/// RFC 8410 PKCS#8 v1 prefix for an Ed25519 private key; the 32-byte seed follows.
const PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
const PEM_LABEL: &str = "PRIVATE KEY";

/// An Ed25519 private key that signs tokens, approvals and snapshots.
pub struct SigningKey {
    pair: Ed25519KeyPair,
    seed: Zeroizing<[u8; 32]>,
    public: VerifyingKey,
}

impl SigningKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<Self> {
        let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|_| Error::Key("the system random source failed".into()))?;
        Self::from_pkcs8_der(doc.as_ref())
    }

    /// Builds a key from its 32-byte seed (the JWK `d`).
    pub fn from_seed(seed: &[u8]) -> Result<Self> {
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| Error::Key(format!("an Ed25519 seed is 32 bytes, got {}", seed.len())))?;
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed)
            .map_err(|e| Error::Key(format!("rejected Ed25519 seed: {e}")))?;
        let public = VerifyingKey::from_bytes(pair.public_key().as_ref())?;
        Ok(SigningKey {
            pair,
            seed: Zeroizing::new(seed),
            public,
        })
    }

    /// Parses PKCS#8 DER (v1 as written by OpenSSL, or v2 with the public key).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        if der.len() == 48 && der[..16] == PKCS8_V1_PREFIX {
            return Self::from_seed(&der[16..]);
        }
        let pair = Ed25519KeyPair::from_pkcs8(der)
            .map_err(|e| Error::Key(format!("not an Ed25519 PKCS#8 private key: {e}")))?;
        // ring keeps the seed private; v2 documents carry it at a fixed offset after the v1 header.
        let seed = der
            .windows(4)
            .position(|w| w == [0x04, 0x22, 0x04, 0x20])
            .and_then(|i| der.get(i + 4..i + 36))
            .ok_or_else(|| Error::Key("PKCS#8 document has no Ed25519 seed".into()))?;
        let key = Self::from_seed(seed)?;
        if key.public.bytes != pair.public_key().as_ref() {
            return Err(Error::Key("PKCS#8 public key does not match its private key".into()));
        }
        Ok(key)
    }

    /// Parses a PEM `PRIVATE KEY` block holding PKCS#8.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self> {
        let body = pem_body(pem, PEM_LABEL)?;
        let der = Zeroizing::new(
            STANDARD
                .decode(body.as_bytes())
                .map_err(|e| Error::Key(format!("PEM body is not base64: {e}")))?,
        );
        Self::from_pkcs8_der(&der)
    }

    /// Parses a private JWK: `{"kty":"OKP","crv":"Ed25519","d":...,"x":...}`.
    pub fn from_jwk(jwk: &str) -> Result<Self> {
        let v: serde_json::Value =
            serde_json::from_str(jwk).map_err(|e| Error::Key(format!("JWK is not JSON: {e}")))?;
        check_okp(&v)?;
        let d = jwk_bytes(&v, "d")?;
        let key = Self::from_seed(&d)?;
        if v.get("x").is_some() && jwk_bytes(&v, "x")? != key.public.bytes {
            return Err(Error::Key("JWK `x` does not match its private key `d`".into()));
        }
        Ok(key)
    }

    /// PKCS#8 v1 DER (RFC 8410), the form OpenSSL writes.
    pub fn to_pkcs8_der(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(48));
        out.extend_from_slice(&PKCS8_V1_PREFIX);
        out.extend_from_slice(self.seed.as_ref());
        out
    }

    /// PKCS#8 in a PEM `PRIVATE KEY` block.
    pub fn to_pkcs8_pem(&self) -> Zeroizing<String> {
        let b64 = Zeroizing::new(STANDARD.encode(self.to_pkcs8_der().as_slice()));
        Zeroizing::new(format!(
            "-----BEGIN {PEM_LABEL}-----\n{}\n-----END {PEM_LABEL}-----\n",
            b64.as_str()
        ))
    }

    /// The private JWK, including `d` and `kid`.
    pub fn to_jwk(&self) -> Zeroizing<String> {
        Zeroizing::new(
            serde_json::json!({
                "kty": "OKP", "crv": "Ed25519",
                "x": URL_SAFE_NO_PAD.encode(self.public.bytes),
                "d": URL_SAFE_NO_PAD.encode(self.seed.as_ref()),
                "kid": self.public.kid,
            })
            .to_string(),
        )
    }

    /// The public half.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.public
    }

    /// The key id (RFC 7638 thumbprint of the public key).
    pub fn kid(&self) -> &str {
        &self.public.kid
    }

    /// Signs `message` (deterministic Ed25519).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        let mut out = [0u8; 64];
        out.copy_from_slice(self.pair.sign(message).as_ref());
        out
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.public.kid)
            .finish_non_exhaustive()
    }
}

impl Clone for SigningKey {
    #[expect(clippy::expect_used, reason = "the seed built this key once; ring accepts it again")]
    fn clone(&self) -> Self {
        Self::from_seed(self.seed.as_ref()).expect("a seed that built a key builds it again")
    }
}

/// An Ed25519 public key that verifies signatures.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct VerifyingKey {
    bytes: [u8; 32],
    kid: String,
}

impl VerifyingKey {
    /// From the 32 raw public-key bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Error::Key(format!("an Ed25519 public key is 32 bytes, got {}", bytes.len())))?;
        let x = URL_SAFE_NO_PAD.encode(bytes);
        // RFC 7638: members in lexicographic order, no whitespace.
        let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        Ok(VerifyingKey { bytes, kid })
    }

    /// Parses `ed25519:<base64url>` (the form used in configuration and snapshots).
    pub fn parse(text: &str) -> Result<Self> {
        let b64 = text
            .trim()
            .strip_prefix("ed25519:")
            .ok_or_else(|| Error::Key(format!("expected `ed25519:<base64url>`, got `{}`", truncate(text, 40))))?;
        let raw = URL_SAFE_NO_PAD
            .decode(b64.trim_end_matches('='))
            .map_err(|e| Error::Key(format!("`ed25519:` key is not base64url: {e}")))?;
        Self::from_bytes(&raw)
    }

    /// Parses a public JWK (`kty` OKP, `crv` Ed25519, `x`). A `d` member is ignored.
    pub fn from_jwk(jwk: &str) -> Result<Self> {
        let v: serde_json::Value =
            serde_json::from_str(jwk).map_err(|e| Error::Key(format!("JWK is not JSON: {e}")))?;
        Self::from_jwk_value(&v)
    }

    pub(crate) fn from_jwk_value(v: &serde_json::Value) -> Result<Self> {
        check_okp(v)?;
        Self::from_bytes(&jwk_bytes(v, "x")?)
    }

    /// The public JWK with `kid`.
    pub fn to_jwk(&self) -> String {
        self.to_jwk_value().to_string()
    }

    pub(crate) fn to_jwk_value(&self) -> serde_json::Value {
        serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(self.bytes), "kid": self.kid})
    }

    /// The key id: the RFC 7638 thumbprint, base64url.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The 32 raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// True when `signature` is a valid Ed25519 signature of `message` by this key.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.bytes)
            .verify(message, signature)
            .is_ok()
    }
}

impl fmt::Display for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ed25519:{}", URL_SAFE_NO_PAD.encode(self.bytes))
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyingKey({self})")
    }
}

fn check_okp(v: &serde_json::Value) -> Result<()> {
    if v.get("kty").and_then(|k| k.as_str()) != Some("OKP") {
        return Err(Error::Key("JWK `kty` must be \"OKP\"".into()));
    }
    if v.get("crv").and_then(|k| k.as_str()) != Some("Ed25519") {
        return Err(Error::Key("JWK `crv` must be \"Ed25519\"".into()));
    }
    Ok(())
}

fn jwk_bytes(v: &serde_json::Value, member: &str) -> Result<Vec<u8>> {
    let s = v
        .get(member)
        .and_then(|m| m.as_str())
        .ok_or_else(|| Error::Key(format!("JWK lacks string member `{member}`")))?;
    URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|e| Error::Key(format!("JWK `{member}` is not base64url: {e}")))
}

fn pem_body(pem: &str, label: &str) -> Result<String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem
        .find(&begin)
        .ok_or_else(|| Error::Key(format!("no `{begin}` line in PEM input")))?
        + begin.len();
    let stop = pem[start..]
        .find(&end)
        .ok_or_else(|| Error::Key(format!("no `{end}` line in PEM input")))?
        + start;
    Ok(pem[start..stop].chars().filter(|c| !c.is_whitespace()).collect())
}

pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_format() {
        let k = SigningKey::generate().unwrap();
        let msg = b"hello";
        let sig = k.sign(msg);
        for other in [
            SigningKey::from_pkcs8_der(&k.to_pkcs8_der()).unwrap(),
            SigningKey::from_pkcs8_pem(&k.to_pkcs8_pem()).unwrap(),
            SigningKey::from_jwk(&k.to_jwk()).unwrap(),
        ] {
            assert_eq!(other.kid(), k.kid());
            assert_eq!(other.sign(msg), sig);
        }
        let pk = k.verifying_key();
        assert!(pk.verify(msg, &sig));
        assert!(!pk.verify(b"hellO", &sig));
        assert_eq!(&VerifyingKey::parse(&pk.to_string()).unwrap(), pk);
        assert_eq!(&VerifyingKey::from_jwk(&pk.to_jwk()).unwrap(), pk);
    }

    #[test]
    fn kid_is_rfc7638_thumbprint() {
        // RFC 8037 appendix A.3: thumbprint of its example public key.
        let pk = VerifyingKey::from_jwk(
            r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
        )
        .unwrap();
        assert_eq!(pk.kid(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }

    #[test]
    fn rfc8037_signing_vector() {
        // RFC 8037 appendix A.1/A.4.
        let k = SigningKey::from_jwk(
            r#"{"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
        )
        .unwrap();
        let sig = k.sign(b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc");
        assert_eq!(
            URL_SAFE_NO_PAD.encode(sig),
            "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
        );
    }

    #[test]
    fn rejects_bad_keys_with_clear_errors() {
        assert!(VerifyingKey::parse("rsa:abc")
            .unwrap_err()
            .to_string()
            .contains("ed25519:"));
        assert!(VerifyingKey::parse("ed25519:AAAA")
            .unwrap_err()
            .to_string()
            .contains("32 bytes"));
        assert!(SigningKey::from_pkcs8_der(b"nope").is_err());
        assert!(SigningKey::from_jwk(r#"{"kty":"EC"}"#)
            .unwrap_err()
            .to_string()
            .contains("OKP"));
        let k = SigningKey::generate().unwrap();
        let other = SigningKey::generate().unwrap();
        let mut jwk: serde_json::Value = serde_json::from_str(&k.to_jwk()).unwrap();
        jwk["x"] = serde_json::from_str::<serde_json::Value>(&other.to_jwk()).unwrap()["x"].clone();
        assert!(SigningKey::from_jwk(&jwk.to_string())
            .unwrap_err()
            .to_string()
            .contains("does not match"));
    }
}
