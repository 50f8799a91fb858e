//! `ManualClock`: a clock that moves only when told to (tests and conformance vectors).

use crate::error::shield;
use act_core::client::host::whole;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::Arc;

/// A clock for tests: pass it as `clock` to `new ACT(...)`, then `advance` it.
#[napi]
pub struct ManualClock {
    pub(crate) inner: Arc<act_core::ManualClock>,
}

#[napi]
impl ManualClock {
    /// Starts at `ms` milliseconds since the Unix epoch.
    #[napi(constructor)]
    pub fn new(env: &Env, ms: f64) -> Result<Self> {
        shield(env, || {
            Ok(ManualClock {
                inner: Arc::new(act_core::ManualClock::new(whole("ms", ms)?)),
            })
        })
    }

    /// Now, in milliseconds since the epoch.
    #[napi]
    pub fn now(&self, env: &Env) -> Result<f64> {
        shield(env, || Ok(act_core::Clock::now_ms(&*self.inner) as f64))
    }

    /// Moves the time by `ms` milliseconds (negative goes backwards).
    #[napi]
    pub fn advance(&self, env: &Env, ms: f64) -> Result<()> {
        shield(env, || {
            self.inner.advance_ms(whole("ms", ms)?);
            Ok(())
        })
    }

    /// Sets the time, in milliseconds since the epoch.
    #[napi]
    pub fn set(&self, env: &Env, ms: f64) -> Result<()> {
        shield(env, || {
            self.inner.set_ms(whole("ms", ms)?);
            Ok(())
        })
    }
}
