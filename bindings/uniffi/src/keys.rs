//! `SigningKey` and `VerifyingKey`: thin wrappers over the core's Ed25519 keys.

use crate::error::{shield, Result};
use std::fmt;
use std::sync::Arc;

/// A key from a core constructor, with the panic shield.
fn signing(make: impl FnOnce() -> act_core::Result<act_core::SigningKey>) -> Result<Arc<SigningKey>> {
    shield(|| Ok(Arc::new(SigningKey { inner: make()? })))
}

fn verifying(make: impl FnOnce() -> act_core::Result<act_core::VerifyingKey>) -> Result<Arc<VerifyingKey>> {
    shield(|| Ok(Arc::new(VerifyingKey { inner: make()? })))
}

/// An Ed25519 private key that signs tokens and approvals.
#[derive(uniffi::Object)]
#[uniffi::export(Display)]
pub struct SigningKey {
    pub(crate) inner: act_core::SigningKey,
}

#[uniffi::export]
impl SigningKey {
    /// A fresh key from the operating system's random source.
    #[uniffi::constructor]
    pub fn generate() -> Result<Arc<Self>> {
        signing(act_core::SigningKey::generate)
    }

    /// From the 32-byte seed (the JWK `d`).
    #[uniffi::constructor]
    pub fn from_seed(seed: Vec<u8>) -> Result<Arc<Self>> {
        signing(|| act_core::SigningKey::from_seed(&seed))
    }

    /// From a PEM `PRIVATE KEY` block (PKCS#8, as OpenSSL writes it).
    #[uniffi::constructor]
    pub fn from_pem(pem: String) -> Result<Arc<Self>> {
        signing(|| act_core::SigningKey::from_pkcs8_pem(&pem))
    }

    /// From a private JWK (`{"kty":"OKP","crv":"Ed25519","d":...,"x":...}`).
    #[uniffi::constructor]
    pub fn from_jwk(jwk: String) -> Result<Arc<Self>> {
        signing(|| act_core::SigningKey::from_jwk(&jwk))
    }

    /// The private key as PEM (PKCS#8). Secret: keep it out of logs.
    pub fn to_pem(&self) -> String {
        self.inner.to_pkcs8_pem().to_string()
    }

    /// The private key as a JWK string (with `d` and `kid`). Secret.
    pub fn to_jwk(&self) -> String {
        self.inner.to_jwk().to_string()
    }

    /// The public half, to give to whoever verifies.
    pub fn public_key(&self) -> Arc<VerifyingKey> {
        Arc::new(VerifyingKey {
            inner: self.inner.verifying_key().clone(),
        })
    }

    /// The key id (RFC 7638 thumbprint), the `kid` of tokens it signs.
    pub fn kid(&self) -> String {
        self.inner.kid().to_string()
    }
}

/// Shows the kid only, never the secret.
impl fmt::Display for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey(kid={})", self.inner.kid())
    }
}

/// An Ed25519 public key, written `ed25519:<base64url>`.
#[derive(uniffi::Object, PartialEq, Eq, Hash)]
#[uniffi::export(Display, Eq, Hash)]
pub struct VerifyingKey {
    pub(crate) inner: act_core::VerifyingKey,
}

#[uniffi::export]
impl VerifyingKey {
    /// Parses `ed25519:<base64url>`.
    #[uniffi::constructor]
    pub fn parse(text: String) -> Result<Arc<Self>> {
        verifying(|| act_core::VerifyingKey::parse(&text))
    }

    /// From a public JWK.
    #[uniffi::constructor]
    pub fn from_jwk(jwk: String) -> Result<Arc<Self>> {
        verifying(|| act_core::VerifyingKey::from_jwk(&jwk))
    }

    /// From the 32 raw public-key bytes.
    #[uniffi::constructor]
    pub fn from_bytes(raw: Vec<u8>) -> Result<Arc<Self>> {
        verifying(|| act_core::VerifyingKey::from_bytes(&raw))
    }

    /// The public JWK (with `kid`) as a string.
    pub fn to_jwk(&self) -> String {
        self.inner.to_jwk()
    }

    /// The 32 raw public-key bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.inner.as_bytes().to_vec()
    }

    /// True when `signature` is this key's Ed25519 signature of `message`.
    pub fn verify(&self, message: Vec<u8>, signature: Vec<u8>) -> bool {
        self.inner.verify(&message, &signature)
    }

    /// The key id (RFC 7638 thumbprint).
    pub fn kid(&self) -> String {
        self.inner.kid().to_string()
    }
}

/// `ed25519:<base64url>`.
impl fmt::Display for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}
