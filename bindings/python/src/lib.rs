//! `act_sdk._native`: the PyO3 binding of `act-core`.
//!
//! Thin by design: every module converts arguments and results and maps
//! errors; rules and defaults live in the core. The Python package
//! (`python/act_sdk`) re-exports these types and adds `ACT.guard`.

mod audit;
mod client;
mod clock;
mod convert;
mod decision;
mod errors;
mod keys;

use pyo3::prelude::*;
use std::path::PathBuf;

/// Checks the hash chain of a JSON Lines audit log; returns the number of records.
///
/// `start_hash` is the `prev_hash` the first record must carry (`GENESIS_HASH`
/// for a log that starts a chain, `None` to accept any). Raises
/// `AuditChainError` (with `.line`) at the first removed, reordered or edited record.
#[pyfunction]
#[pyo3(signature = (path, start_hash=Some(act_core::audit::GENESIS_HASH.to_string())))]
fn verify_audit_log(py: Python<'_>, path: PathBuf, start_hash: Option<String>) -> PyResult<usize> {
    errors::shield(py, || {
        py.detach(|| act_core::client::host::verify_audit_log_file(&path, start_hash.as_deref()))
            .map_err(|e| errors::to_py(py, e))
    })
}

/// Panics inside the shield; lets the test suite prove a panic arrives as `InternalError`.
#[pyfunction]
fn _panic_for_tests(py: Python<'_>) -> PyResult<()> {
    errors::shield(py, || panic!("deliberate panic from act_sdk._native._panic_for_tests"))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<client::PyEngine>()?;
    m.add_class::<client::PyApprovalHandle>()?;
    m.add_class::<client::PyTokenInfo>()?;
    m.add_class::<decision::PyDecision>()?;
    m.add_class::<decision::PyApprovalRequest>()?;
    m.add_class::<decision::PyTraceStep>()?;
    m.add_class::<decision::PyShadowOutcome>()?;
    m.add_class::<decision::PyApprovalCondition>()?;
    m.add_class::<keys::PySigningKey>()?;
    m.add_class::<keys::PyVerifyingKey>()?;
    m.add_class::<clock::PyManualClock>()?;
    m.add_function(wrap_pyfunction!(verify_audit_log, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    m.add(
        "REASONS",
        act_core::Reason::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
    )?;
    m.add("GENESIS_HASH", act_core::audit::GENESIS_HASH)?;
    m.add("STATUS_FIELDS", act_core::client::STATUS_FIELDS.to_vec())?;
    m.add("ERROR_CODES", act_core::error::ERROR_CODES.to_vec())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
