//! `ManualClock`: a clock that moves only when told (tests, conformance vectors).

use act_core::Clock;
use std::sync::Arc;

/// A clock for tests: pass it as `Act(..., clock = clock)` and step time by hand.
#[derive(uniffi::Object)]
pub struct ManualClock {
    pub(crate) inner: Arc<act_core::ManualClock>,
}

#[uniffi::export]
impl ManualClock {
    /// Starts at `now_ms` milliseconds since the Unix epoch.
    #[uniffi::constructor]
    pub fn new(now_ms: i64) -> Arc<Self> {
        Arc::new(ManualClock {
            inner: Arc::new(act_core::ManualClock::new(now_ms)),
        })
    }

    /// Sets the time (it may go backwards).
    pub fn set_ms(&self, ms: i64) {
        self.inner.set_ms(ms)
    }

    /// Moves the time by `delta_ms` (negative goes backwards).
    pub fn advance_ms(&self, delta_ms: i64) {
        self.inner.advance_ms(delta_ms)
    }

    /// Now, in milliseconds since the epoch.
    pub fn now_ms(&self) -> i64 {
        self.inner.now_ms()
    }
}
