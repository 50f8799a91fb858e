//! `SigningKey` and `VerifyingKey`: thin wrappers over the core's Ed25519 keys.

use crate::errors::{self, shield, IntoPyResult};
use act_core::{SigningKey, VerifyingKey};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use std::path::PathBuf;

/// An Ed25519 private key that signs tokens and approvals.
#[pyclass(frozen, module = "act_sdk", name = "SigningKey")]
pub struct PySigningKey {
    pub(crate) inner: SigningKey,
}

/// A JWK given as a JSON string or as a dict.
/// A key from a core constructor, inside the panic shield.
fn signing(py: Python<'_>, make: impl FnOnce() -> PyResult<SigningKey>) -> PyResult<PySigningKey> {
    shield(py, || Ok(PySigningKey { inner: make()? }))
}

fn verifying(py: Python<'_>, make: impl FnOnce() -> PyResult<VerifyingKey>) -> PyResult<PyVerifyingKey> {
    shield(py, || Ok(PyVerifyingKey { inner: make()? }))
}

fn jwk_text(jwk: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = jwk.cast::<PyString>() {
        return Ok(s.to_cow()?.into_owned());
    }
    if jwk.cast::<PyDict>().is_ok() {
        return Ok(crate::convert::to_json(jwk, "jwk")?.to_string());
    }
    Err(PyTypeError::new_err("jwk must be a JSON string or a dict"))
}

#[pymethods]
impl PySigningKey {
    /// A fresh key from the operating system's random source.
    #[staticmethod]
    fn generate(py: Python<'_>) -> PyResult<Self> {
        signing(py, || SigningKey::generate().py(py))
    }

    /// From the 32-byte seed (the JWK `d`).
    #[staticmethod]
    fn from_seed(py: Python<'_>, seed: &[u8]) -> PyResult<Self> {
        signing(py, || SigningKey::from_seed(seed).py(py))
    }

    /// From a PEM `PRIVATE KEY` block (PKCS#8, as OpenSSL writes it).
    #[staticmethod]
    fn from_pem(py: Python<'_>, pem: &str) -> PyResult<Self> {
        signing(py, || SigningKey::from_pkcs8_pem(pem).py(py))
    }

    /// From a private JWK (`{"kty":"OKP","crv":"Ed25519","d":...,"x":...}`), as a string or dict.
    #[staticmethod]
    fn from_jwk(py: Python<'_>, jwk: &Bound<'_, PyAny>) -> PyResult<Self> {
        signing(py, || SigningKey::from_jwk(&jwk_text(jwk)?).py(py))
    }

    /// Reads a PEM file written by `save` (or `openssl genpkey -algorithm ed25519`).
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        signing(py, || py.detach(|| act_core::client::load_signing_key(&path)).py(py))
    }

    /// Writes the key as PEM to a new file readable only by its owner; never overwrites.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        shield(py, || {
            py.detach(|| act_core::client::save_signing_key(&self.inner, &path))
                .py(py)
        })
    }

    /// The private key as PEM (PKCS#8). Secret: keep it out of logs.
    fn to_pem(&self) -> String {
        self.inner.to_pkcs8_pem().to_string()
    }

    /// The private key as a JWK string (with `d` and `kid`). Secret.
    fn to_jwk(&self) -> String {
        self.inner.to_jwk().to_string()
    }

    /// The public half, to give to whoever verifies.
    #[getter]
    fn public_key(&self) -> PyVerifyingKey {
        PyVerifyingKey {
            inner: self.inner.verifying_key().clone(),
        }
    }

    /// The key id (RFC 7638 thumbprint), the `kid` of tokens it signs.
    #[getter]
    fn kid(&self) -> &str {
        self.inner.kid()
    }

    fn __repr__(&self) -> String {
        format!("SigningKey(kid='{}')", self.inner.kid())
    }
}

/// An Ed25519 public key: `VerifyingKey("ed25519:<base64url>")`.
#[pyclass(frozen, eq, hash, module = "act_sdk", name = "VerifyingKey")]
#[derive(PartialEq, Eq, Hash)]
pub struct PyVerifyingKey {
    pub(crate) inner: VerifyingKey,
}

#[pymethods]
impl PyVerifyingKey {
    /// Parses `ed25519:<base64url>`.
    #[new]
    fn new(py: Python<'_>, text: &str) -> PyResult<Self> {
        verifying(py, || VerifyingKey::parse(text).py(py))
    }

    /// From a public JWK, as a string or dict.
    #[staticmethod]
    fn from_jwk(py: Python<'_>, jwk: &Bound<'_, PyAny>) -> PyResult<Self> {
        verifying(py, || VerifyingKey::from_jwk(&jwk_text(jwk)?).py(py))
    }

    /// From the 32 raw public-key bytes.
    #[staticmethod]
    fn from_bytes(py: Python<'_>, raw: &[u8]) -> PyResult<Self> {
        verifying(py, || VerifyingKey::from_bytes(raw).py(py))
    }

    /// The public JWK (with `kid`) as a string.
    fn to_jwk(&self) -> String {
        self.inner.to_jwk()
    }

    /// The 32 raw public-key bytes.
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.as_bytes())
    }

    /// True when `signature` is this key's Ed25519 signature of `message`.
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.inner.verify(message, signature)
    }

    /// The key id (RFC 7638 thumbprint).
    #[getter]
    fn kid(&self) -> &str {
        self.inner.kid()
    }

    fn __str__(&self) -> String {
        self.inner.to_string()
    }

    fn __repr__(&self) -> String {
        format!("VerifyingKey('{}')", self.inner)
    }
}

/// A public key argument: a `VerifyingKey`, a `SigningKey` (its public half) or `"ed25519:..."`.
pub(crate) fn public_key_arg(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<VerifyingKey> {
    if let Ok(k) = obj.cast::<PyVerifyingKey>() {
        return Ok(k.get().inner.clone());
    }
    if let Ok(k) = obj.cast::<PySigningKey>() {
        return Ok(k.get().inner.verifying_key().clone());
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return VerifyingKey::parse(&s.to_cow()?).map_err(|e| errors::to_py(obj.py(), e));
    }
    Err(PyTypeError::new_err(format!(
        "{name} must be a VerifyingKey, a SigningKey or an \"ed25519:...\" string"
    )))
}
