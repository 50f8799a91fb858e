//! Core errors to Python exceptions, and the panic shield around every entry point.
//!
//! The exception classes live in `act_sdk/errors.py` (plain Python, so they
//! pickle, document and type-check like any other); this module imports them
//! once and raises one class per [`ErrorFamily`], each carrying the core's
//! stable `code`. A Rust panic never reaches Python as `PanicException`:
//! [`shield`] turns it into `act_sdk.InternalError` (code `internal`).

use act_core::client::{cause_chain, error_fields};
use act_core::{Error, ErrorFamily};
use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyType};

const ERRORS_MODULE: &str = "act_sdk.errors";

macro_rules! classes {
    ($($fn_name:ident => $class:literal,)*) => {
        $(
            pub(crate) fn $fn_name(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
                static CLASS: PyOnceLock<Py<PyType>> = PyOnceLock::new();
                CLASS.import(py, ERRORS_MODULE, $class)
            }
        )*
    };
}

classes! {
    policy_error => "PolicyError",
    token_error => "TokenError",
    key_error => "ActKeyError",
    config_error => "ConfigError",
    snapshot_error => "SnapshotError",
    io_error => "ActIOError",
    internal_error => "InternalError",
    audit_chain_error => "AuditChainError",
    store_error => "CounterStoreError",
    endpoint_error => "EndpointError",
    approval_denied_error => "ApprovalDenied",
    approval_timeout_error => "ApprovalTimeout",
}

/// Instantiates `class(message, code, **details)`; an import failure surfaces as itself.
fn build(class: PyResult<&Bound<'_, PyType>>, message: &str, code: &str, details: Option<&Bound<'_, PyDict>>) -> PyErr {
    match class.and_then(|c| c.call((message, code), details)) {
        Ok(value) => PyErr::from_value(value),
        Err(e) => e,
    }
}

/// `ConfigError` (code `invalid_argument`) for a value the caller got wrong.
pub(crate) fn config(py: Python<'_>, message: impl AsRef<str>) -> PyErr {
    build(config_error(py), message.as_ref(), "invalid_argument", None)
}

/// `InternalError` (code `internal`).
pub(crate) fn internal(py: Python<'_>, message: impl AsRef<str>) -> PyErr {
    build(internal_error(py), message.as_ref(), "internal", None)
}

/// Maps a core error to its family's exception, with the stable code, the fields of its variant
/// (the core's `error_fields`, as keyword arguments) and its cause chain as `__cause__`.
pub(crate) fn to_py(py: Python<'_>, err: Error) -> PyErr {
    let class = match err.family() {
        ErrorFamily::Policy => policy_error(py),
        ErrorFamily::Token => token_error(py),
        ErrorFamily::Key => key_error(py),
        ErrorFamily::Config => config_error(py),
        ErrorFamily::Snapshot => snapshot_error(py),
        ErrorFamily::Store => store_error(py),
        ErrorFamily::Endpoint => endpoint_error(py),
        ErrorFamily::Approval => match &err {
            Error::ApprovalTimeout { .. } => approval_timeout_error(py),
            _ => approval_denied_error(py),
        },
        ErrorFamily::Audit => audit_chain_error(py),
        ErrorFamily::Io => io_error(py),
        ErrorFamily::Internal => internal_error(py),
    };
    let fields = serde_json::Value::Object(error_fields(&err));
    let details = match crate::convert::to_py(py, &fields).and_then(|d| Ok(d.cast_into::<PyDict>()?)) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let exc = build(class, &err.to_string(), err.code(), Some(&details));
    let cause = match &err {
        // An I/O error's cause is the OSError Python code expects there (errno, strerror, filename).
        Error::Io { path, source } => Some(PyOSError::new_err((
            source.raw_os_error().unwrap_or(0),
            source.to_string(),
            path.clone(),
        ))),
        _ => nested(py, cause_chain(&err)),
    };
    if cause.is_some() {
        exc.set_cause(py, cause);
    }
    exc
}

/// The cause texts, outermost first, as nested Python exceptions (`__cause__` of `__cause__`...),
/// so a traceback shows the transport error under the endpoint error.
fn nested(py: Python<'_>, texts: Vec<String>) -> Option<PyErr> {
    let mut cause: Option<PyErr> = None;
    for text in texts.into_iter().rev() {
        let e = pyo3::exceptions::PyConnectionError::new_err(text);
        e.set_cause(py, cause.take());
        cause = Some(e);
    }
    cause
}

/// Extension for `act_core::Result`: `.py(py)?` raises the mapped exception.
pub(crate) trait IntoPyResult<T> {
    fn py(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for act_core::Result<T> {
    fn py(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, e))
    }
}

/// Runs an entry point; a panic inside becomes `InternalError` instead of `PanicException`.
pub(crate) fn shield<T>(py: Python<'_>, f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    act_core::client::catch_panic(f, |sentence| internal(py, sentence))
}
