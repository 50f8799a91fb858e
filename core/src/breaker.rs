//! Per-agent circuit breakers: too many denials in a window stop the agent for a cool-down.

use crate::policy::BreakerSettings;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

#[derive(Default)]
struct State {
    denials: VecDeque<i64>,
    open_until: i64,
}

/// Breaker state for every agent that has one configured.
#[derive(Default)]
pub struct Breakers {
    states: Mutex<HashMap<String, State>>,
}

impl Breakers {
    /// Milliseconds until the breaker of `agent` closes, when it is open.
    pub fn open_for(&self, agent: &str, now_ms: i64) -> Option<i64> {
        let states = self.states.lock().ok()?;
        let s = states.get(agent)?;
        (s.open_until > now_ms).then(|| s.open_until - now_ms)
    }

    /// Records a denial; returns true when it opened the breaker.
    pub fn record_denial(&self, agent: &str, settings: &BreakerSettings, now_ms: i64) -> bool {
        let Ok(mut states) = self.states.lock() else {
            return false;
        };
        let s = states.entry(agent.to_string()).or_default();
        let floor = now_ms - (settings.window_secs * 1000) as i64;
        while s.denials.front().is_some_and(|t| *t <= floor) {
            s.denials.pop_front();
        }
        s.denials.push_back(now_ms);
        if s.denials.len() as u64 >= settings.max_denials {
            s.open_until = now_ms + (settings.cool_down_secs * 1000) as i64;
            s.denials.clear();
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_max_denials_and_closes_after_cool_down() {
        let b = Breakers::default();
        let s = BreakerSettings {
            max_denials: 3,
            window_secs: 60,
            cool_down_secs: 300,
        };
        assert!(!b.record_denial("bot", &s, 0));
        assert!(!b.record_denial("bot", &s, 1000));
        assert_eq!(b.open_for("bot", 1000), None);
        assert!(b.record_denial("bot", &s, 2000));
        assert_eq!(b.open_for("bot", 2000), Some(300_000));
        assert_eq!(b.open_for("other", 2000), None);
        assert_eq!(b.open_for("bot", 302_000), None);
        // Denials outside the window do not accumulate.
        assert!(!b.record_denial("bot", &s, 400_000));
        assert!(!b.record_denial("bot", &s, 470_000));
        assert!(!b.record_denial("bot", &s, 540_000));
    }
}
