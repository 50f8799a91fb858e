//! Audit sinks from Python: a JSON Lines file path, or a callable.
//!
//! A callable runs on the core's audit thread, which attaches to the
//! interpreter for each record. Whatever the callable does (raise, or the
//! interpreter shutting down), nothing escapes into the audit thread: the
//! failure is counted in `ACT.status` and shown through `sys.unraisablehook`.

use act_core::audit::{AuditRecord, AuditSink};
use act_core::client::AuditTarget;
use act_core::Error;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyString;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Calls a Python callable with each record as a dict.
pub(crate) struct PyCallbackSink {
    callback: Py<PyAny>,
}

impl PyCallbackSink {
    fn deliver(&self, record: &AuditRecord) -> Result<(), String> {
        let value = serde_json::to_value(record).map_err(|e| format!("audit record did not serialize: {e}"))?;
        Python::try_attach(|py| {
            let call = crate::convert::to_py(py, &value).and_then(|rec| self.callback.call1(py, (rec,)));
            call.map(|_| ()).map_err(|e| {
                let text = format!("the audit callback raised {e}");
                e.write_unraisable(py, Some(self.callback.bind(py)));
                text
            })
        })
        .unwrap_or_else(|| {
            Err("the Python interpreter is shutting down; the record did not reach the audit callback".into())
        })
    }
}

impl AuditSink for PyCallbackSink {
    fn write(&mut self, record: &AuditRecord, _line: &str) -> act_core::Result<()> {
        match catch_unwind(AssertUnwindSafe(|| self.deliver(record))) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(Error::Internal(message)),
            Err(_) => Err(Error::Internal("the audit callback panicked".into())),
        }
    }
}

/// Builds the sinks of `audit=`: each item a path (`str`) or a callable.
/// Returns the sinks and whether any of them calls into Python.
pub(crate) fn sinks(audit: Option<&Bound<'_, PyAny>>) -> PyResult<(Vec<AuditTarget>, bool)> {
    let mut out = Vec::new();
    let mut calls_python = false;
    let Some(audit) = audit.filter(|a| !a.is_none()) else {
        return Ok((out, false));
    };
    for item in audit.try_iter()? {
        let item = item?;
        if let Ok(path) = item.cast::<PyString>() {
            out.push(AuditTarget::Jsonl(path.to_cow()?.into_owned().into()));
        } else if item.is_callable() {
            calls_python = true;
            out.push(AuditTarget::Sink(Box::new(PyCallbackSink {
                callback: item.unbind(),
            })));
        } else {
            return Err(PyTypeError::new_err(
                "each audit sink must be a file path (str) or a callable taking a record dict",
            ));
        }
    }
    Ok((out, calls_python))
}
