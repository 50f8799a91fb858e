//! The argument rules and defaults of the client's calls, so every binding applies the same ones:
//! how long the waiting calls wait when the host passes no timeout, what a number of seconds may
//! be, and the three ways of deciding a request.

use super::{Client, MAX_WAIT};
use crate::decision::Decision;
use crate::engine::Request;
use crate::error::{Error, Result};
use std::time::Duration;

/// `ready()` without a timeout waits this long for a snapshot.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(5);
/// `wait_for_approval()` without a timeout waits this long for a human.
pub const DEFAULT_APPROVAL_TIMEOUT: Duration = Duration::from_secs(300);
/// `wait_audit_delivered()` without a timeout waits this long for the endpoint's acknowledgements.
pub const DEFAULT_AUDIT_DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// A lifetime or a duration argument in whole seconds (`ttl`, `max_staleness`, ...): at least 1.
pub fn positive_seconds(value: i64, name: &str) -> Result<u64> {
    if value < 1 {
        return Err(Error::Config(format!(
            "{name} must be a positive number of seconds, got {value}"
        )));
    }
    Ok(value as u64)
}

/// A timeout in (fractional) seconds: `None` is `default`; negative or not a number is refused;
/// longer than [`MAX_WAIT`] is cut to it.
pub fn timeout_secs(value: Option<f64>, default: Duration) -> Result<Duration> {
    let Some(secs) = value else { return Ok(default) };
    if secs.is_nan() || secs < 0.0 {
        return Err(Error::Config(format!(
            "timeout must be a non-negative number of seconds, got {secs}"
        )));
    }
    Ok(Duration::try_from_secs_f64(secs).unwrap_or(MAX_WAIT).min(MAX_WAIT))
}

/// How a request is decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Decides and enforces: counters, approvals, audit, circuit breaker.
    Validate,
    /// The same decision without side effects.
    Check,
    /// Like `Check`, with the trace of every rule and constraint looked at.
    Explain,
}

impl Client {
    /// Decides `req` the way `mode` says, on the engine serving now.
    pub fn decide(&self, mode: Mode, req: &Request<'_>) -> Result<Decision> {
        self.with_engine(|engine| match mode {
            Mode::Validate => engine.validate(req),
            Mode::Check => engine.check(req),
            Mode::Explain => engine.explain(req),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_timeouts_follow_one_rule() {
        assert_eq!(positive_seconds(1, "ttl").unwrap(), 1);
        assert!(positive_seconds(0, "ttl")
            .unwrap_err()
            .to_string()
            .contains("ttl must be a positive"));
        assert_eq!(
            timeout_secs(None, DEFAULT_READY_TIMEOUT).unwrap(),
            DEFAULT_READY_TIMEOUT
        );
        assert_eq!(
            timeout_secs(Some(0.5), DEFAULT_READY_TIMEOUT).unwrap(),
            Duration::from_millis(500)
        );
        assert_eq!(timeout_secs(Some(1e300), DEFAULT_READY_TIMEOUT).unwrap(), MAX_WAIT);
        assert!(timeout_secs(Some(-1.0), DEFAULT_READY_TIMEOUT).is_err());
        assert!(timeout_secs(Some(f64::NAN), DEFAULT_READY_TIMEOUT).is_err());
    }
}
