//! Audit sinks from Python: a JSON Lines file path, or a callable.
//!
//! A callable runs on the core's audit thread, which attaches to the
//! interpreter for each record. Whatever the callable does (raise, or the
//! interpreter shutting down), nothing escapes into the audit thread: the
//! failure is counted in `ACT.status` and shown through `sys.unraisablehook`.

use act_core::audit::AuditRecord;
use act_core::client::{AuditTarget, CallbackSink};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyString;

/// Calls a Python callable with the record as a dict; a raise is shown through
/// `sys.unraisablehook` and answered as the sink's error.
fn deliver(callback: &Py<PyAny>, record: &AuditRecord) -> Result<(), String> {
    let value = serde_json::to_value(record).map_err(|e| format!("audit record did not serialize: {e}"))?;
    Python::try_attach(|py| {
        let call = crate::convert::to_py(py, &value).and_then(|rec| callback.call1(py, (rec,)));
        call.map(|_| ()).map_err(|e| {
            let text = format!("the audit callback raised {e}");
            e.write_unraisable(py, Some(callback.bind(py)));
            text
        })
    })
    .unwrap_or_else(|| {
        Err("the Python interpreter is shutting down; the record did not reach the audit callback".into())
    })
}

/// Builds the sinks of `audit=`: each item a path (`str`) or a callable.
pub(crate) fn sinks(audit: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<AuditTarget>> {
    let mut out = Vec::new();
    let Some(audit) = audit.filter(|a| !a.is_none()) else {
        return Ok(out);
    };
    for item in audit.try_iter()? {
        let item = item?;
        if let Ok(path) = item.cast::<PyString>() {
            out.push(AuditTarget::Jsonl(path.to_cow()?.into_owned().into()));
        } else if item.is_callable() {
            let callback = item.unbind();
            out.push(AuditTarget::Sink(Box::new(CallbackSink(move |r: &AuditRecord| {
                deliver(&callback, r)
            }))));
        } else {
            return Err(PyTypeError::new_err(
                "each audit sink must be a file path (str) or a callable taking a record dict",
            ));
        }
    }
    Ok(out)
}
