//! `act_sdk.testing.ManualClock`: a clock that moves only when told (tests, conformance vectors).

use act_core::ManualClock;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt};
use std::sync::Arc;

/// Whole milliseconds: an `int` (not a `bool`) within 64 bits; beyond is `ConfigError`, not `OverflowError`.
fn millis(value: &Bound<'_, PyAny>, name: &str) -> PyResult<i64> {
    if !value.is_instance_of::<PyInt>() || value.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(format!("{name} must be an int (milliseconds)")));
    }
    value.extract::<i64>().map_err(|_| {
        crate::errors::config(
            value.py(),
            format!("{name} {value} is outside the 64-bit range of milliseconds"),
        )
    })
}

/// A clock for tests: pass it as `ACT(..., clock=clock)` and step time by hand.
#[pyclass(frozen, module = "act_sdk.testing", name = "ManualClock")]
pub struct PyManualClock {
    pub(crate) inner: Arc<ManualClock>,
}

#[pymethods]
impl PyManualClock {
    /// Starts at `now_ms` milliseconds since the Unix epoch.
    #[new]
    fn new(now_ms: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(PyManualClock {
            inner: Arc::new(ManualClock::new(millis(now_ms, "now_ms")?)),
        })
    }
    /// Sets the time (it may go backwards).
    fn set_ms(&self, ms: &Bound<'_, PyAny>) -> PyResult<()> {
        self.inner.set_ms(millis(ms, "ms")?);
        Ok(())
    }
    /// Moves the time by `delta_ms` (negative goes backwards).
    fn advance_ms(&self, delta_ms: &Bound<'_, PyAny>) -> PyResult<()> {
        self.inner.advance_ms(millis(delta_ms, "delta_ms")?);
        Ok(())
    }
    /// Now, in milliseconds since the epoch.
    #[getter]
    fn now_ms(&self) -> i64 {
        act_core::Clock::now_ms(self.inner.as_ref())
    }
    fn __repr__(&self) -> String {
        format!("ManualClock(now_ms={})", self.now_ms())
    }
}
