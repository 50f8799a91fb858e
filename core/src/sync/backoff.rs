//! Exponential backoff with jitter that resets on success.
//!
//! Delay n (n = failures so far, from 0) is drawn uniformly from
//! `[d/2, d]` with `d = min(max, min * 2^n)` ("equal jitter"): a fleet of SDKs
//! that lost the endpoint together does not come back in lockstep, and no
//! client ever retries faster than `min / 2`.

use std::time::Duration;

/// Retry delays for one source.
#[derive(Clone, Debug)]
pub(crate) struct Backoff {
    min: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    pub(crate) fn new(min: Duration, max: Duration) -> Self {
        let min = min.max(Duration::from_millis(1));
        Backoff {
            min,
            max: max.max(min),
            failures: 0,
        }
    }

    /// The delay before the next attempt after one more failure.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let exp = self.min.saturating_mul(1u32 << self.failures.min(20));
        let d = exp.min(self.max);
        self.failures = self.failures.saturating_add(1);
        let half = d / 2;
        half + half.mul_f64(random_unit())
    }

    /// Forgets past failures (after a success).
    pub(crate) fn reset(&mut self) {
        self.failures = 0;
    }
}

/// A uniform number in `[0, 1)` from the system random source.
fn random_unit() -> f64 {
    let mut b = [0u8; 8];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_caps_jitters_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let d: Vec<Duration> = (0..8).map(|_| b.next_delay()).collect();
        assert!(d[0] >= Duration::from_millis(50) && d[0] <= Duration::from_millis(100));
        assert!(d[2] >= Duration::from_millis(200) && d[2] <= Duration::from_millis(400));
        assert!(d[7] >= Duration::from_millis(500) && d[7] <= Duration::from_secs(1));
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
    }
}
