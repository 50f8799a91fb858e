//! `SigningKey`: Ed25519 keys in every format the core reads and writes.

use crate::error::shield;
use napi::bindgen_prelude::*;
use napi_derive::napi;

/// An Ed25519 private key (the JS `SigningKey` wraps it).
#[napi]
pub struct NativeSigningKey {
    pub(crate) inner: act_core::SigningKey,
}

/// A key from `make`, or its error.
fn wrap(env: &Env, make: impl FnOnce() -> act_core::Result<act_core::SigningKey>) -> Result<NativeSigningKey> {
    shield(env, || Ok(NativeSigningKey { inner: make()? }))
}

#[napi]
impl NativeSigningKey {
    /// A fresh key from the operating system's random source.
    #[napi(factory)]
    pub fn generate(env: &Env) -> Result<Self> {
        wrap(env, act_core::SigningKey::generate)
    }

    /// From the 32-byte seed (the JWK `d`).
    #[napi(factory)]
    pub fn from_seed(env: &Env, seed: Uint8Array) -> Result<Self> {
        wrap(env, || act_core::SigningKey::from_seed(&seed))
    }

    /// From a PEM `PRIVATE KEY` block (PKCS#8, as OpenSSL writes it).
    #[napi(factory)]
    pub fn from_pem(env: &Env, pem: String) -> Result<Self> {
        wrap(env, || act_core::SigningKey::from_pkcs8_pem(&pem))
    }

    /// From a private JWK (JSON text).
    #[napi(factory)]
    pub fn from_jwk(env: &Env, jwk: String) -> Result<Self> {
        wrap(env, || act_core::SigningKey::from_jwk(&jwk))
    }

    /// PKCS#8 PEM.
    #[napi]
    pub fn to_pem(&self, env: &Env) -> Result<String> {
        shield(env, || Ok(self.inner.to_pkcs8_pem().as_str().to_string()))
    }

    /// The private JWK as JSON text (with `d` and `kid`).
    #[napi]
    pub fn to_jwk(&self, env: &Env) -> Result<String> {
        shield(env, || Ok(self.inner.to_jwk().as_str().to_string()))
    }

    /// The public JWK as JSON text (with `kid`).
    #[napi]
    pub fn public_jwk(&self, env: &Env) -> Result<String> {
        shield(env, || Ok(self.inner.verifying_key().to_jwk()))
    }

    /// The public key as `ed25519:<base64url>`.
    #[napi(getter)]
    pub fn public_key(&self, env: &Env) -> Result<String> {
        shield(env, || Ok(self.inner.verifying_key().to_string()))
    }

    /// The key id (RFC 7638 thumbprint).
    #[napi(getter)]
    pub fn kid(&self, env: &Env) -> Result<String> {
        shield(env, || Ok(self.inner.kid().to_string()))
    }
}
