//! `act_sdk.testing.ManualClock`: a clock that moves only when told (tests, conformance vectors).

use act_core::ManualClock;
use pyo3::prelude::*;
use std::sync::Arc;

/// A clock for tests: pass it as `ACT(..., clock=clock)` and step time by hand.
#[pyclass(frozen, module = "act_sdk.testing", name = "ManualClock")]
pub struct PyManualClock {
    pub(crate) inner: Arc<ManualClock>,
}

#[pymethods]
impl PyManualClock {
    /// Starts at `now_ms` milliseconds since the Unix epoch.
    #[new]
    fn new(now_ms: i64) -> Self {
        PyManualClock { inner: Arc::new(ManualClock::new(now_ms)) }
    }
    /// Sets the time (it may go backwards).
    fn set_ms(&self, ms: i64) {
        self.inner.set_ms(ms)
    }
    /// Moves the time by `delta_ms` (negative goes backwards).
    fn advance_ms(&self, delta_ms: i64) {
        self.inner.advance_ms(delta_ms)
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
