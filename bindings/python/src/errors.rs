//! Core errors to Python exceptions, and the panic shield around every entry point.
//!
//! The exception classes live in `act_sdk/errors.py` (plain Python, so they
//! pickle, document and type-check like any other); this module imports them
//! once and raises one class per [`ErrorFamily`], each carrying the core's
//! stable `code`. A Rust panic never reaches Python as `PanicException`:
//! [`shield`] turns it into `act_sdk.InternalError` (code `internal`).

use act_core::{Error, ErrorFamily};
use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyTuple, PyType};
use std::panic::{catch_unwind, AssertUnwindSafe};

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

/// Maps a core error to its family's exception, with the stable code and the details of its variant.
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
    let details = PyDict::new(py);
    let mut cause = None;
    let filled: PyResult<()> = (|| {
        match &err {
            Error::Policy(p) => {
                let list = PyList::empty(py);
                for d in &p.diagnostics {
                    list.append(PyTuple::new(
                        py,
                        [
                            d.file.clone().into_pyobject(py)?.into_any(),
                            d.line.into_pyobject(py)?.into_any(),
                            d.column.into_pyobject(py)?.into_any(),
                            d.key.clone().into_pyobject(py)?.into_any(),
                            d.message.clone().into_pyobject(py)?.into_any(),
                        ],
                    )?)?;
                }
                details.set_item("diagnostics", list)?;
            }
            Error::Token { reason, .. } => details.set_item("reason", reason.as_str())?,
            Error::AuditChain { line, .. } => details.set_item("line", line)?,
            Error::Endpoint { url, status, code, .. } => {
                details.set_item("url", url)?;
                details.set_item("status", status)?;
                details.set_item("endpoint_code", code)?;
            }
            Error::ApprovalDenied {
                id,
                status,
                reason,
                decided_by,
            } => {
                details.set_item("approval_id", id)?;
                details.set_item("status", status)?;
                details.set_item("reason", reason)?;
                details.set_item("decided_by", decided_by)?;
            }
            Error::ApprovalTimeout { id, waited_ms } => {
                details.set_item("approval_id", id)?;
                details.set_item("waited_ms", waited_ms)?;
            }
            Error::Io { path, source } => {
                details.set_item("path", path)?;
                cause = Some(PyOSError::new_err((
                    source.raw_os_error().unwrap_or(0),
                    source.to_string(),
                    path.clone(),
                )));
            }
            _ => {}
        }
        Ok(())
    })();
    if let Err(e) = filled {
        return e;
    }
    if cause.is_none() {
        cause = source_chain(py, &err);
    }
    let exc = build(class, &err.to_string(), err.code(), Some(&details));
    if cause.is_some() {
        exc.set_cause(py, cause);
    }
    exc
}

/// The `#[source]` chain of `err` as nested Python exceptions (`__cause__` of `__cause__`...),
/// so a traceback shows the transport error under the endpoint error.
fn source_chain(py: Python<'_>, err: &Error) -> Option<PyErr> {
    let mut texts = Vec::new();
    let mut next = std::error::Error::source(err);
    while let Some(s) = next {
        texts.push(s.to_string());
        next = s.source();
    }
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
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(internal(
                py,
                format!("a bug in ACT: the native core panicked ({what}); please report it"),
            ))
        }
    }
}
