//! Circuit breakers: too many denials in a window stop an agent for a cool-down.
//!
//! A breaker belongs to the agent a token was issued to (the chain's root, named by the
//! issuer) and, by default, to one user of it: one user's denials pause only that user's
//! use of the agent, and a sub-agent's denials count against its own chain, never against
//! an agent it names itself after. `scope: agent` in the policy makes it agent-wide.
//!
//! With a shared counter store (Redis, [`CounterStore::is_shared`]) every breaker is also
//! fleet-wide: each denial is counted in the store as well, so denials anywhere in the fleet open
//! it everywhere, and an open breaker seen in the store pauses this process too (one extra store
//! round trip per validation of an agent with a breaker). The local count keeps running beside
//! it: when the store cannot be reached, breakers degrade to per process rather than to none.

use crate::limits::{encode_key, CounterStore};
use crate::policy::{BreakerScope, BreakerSettings};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// Breakers held before closed, idle ones are dropped; the next sweep waits until the map has
/// doubled again, so sweeping stays amortised O(1) per denial.
const PRUNE_AT: usize = 4096;

#[derive(Default)]
struct State {
    denials: VecDeque<i64>,
    open_until: i64,
}

/// Which breaker: the root agent, and the user unless the breaker is agent-wide.
type Key = (String, Option<String>);

fn key(agent: &str, subject: &str, settings: &BreakerSettings) -> Key {
    let subject = (settings.scope == BreakerScope::Subject).then(|| subject.to_string());
    (agent.to_string(), subject)
}

#[derive(Default)]
struct Inner {
    states: HashMap<Key, State>,
    /// Size at which the next sweep runs.
    sweep_at: usize,
}

/// Breaker state for every (agent, user) that has one configured.
#[derive(Default)]
pub struct Breakers {
    inner: Mutex<Inner>,
    /// The fleet's shared store, when the counter store is shared.
    shared: Option<Arc<dyn CounterStore>>,
}

/// The store key of a breaker: length-prefixed parts, so no agent or user id can collide.
fn shared_key(k: &Key) -> String {
    match &k.1 {
        Some(user) => encode_key(&["user", &k.0, user]),
        None => encode_key(&["agent", &k.0]),
    }
}

impl Breakers {
    /// Breakers that are fleet-wide when `store` is shared (Redis), per process otherwise.
    pub fn new(store: &Arc<dyn CounterStore>) -> Self {
        Breakers {
            inner: Mutex::default(),
            shared: store.is_shared().then(|| Arc::clone(store)),
        }
    }

    /// Milliseconds until the breaker of `agent` for `subject` (or agent-wide, as `settings`
    /// say) closes, when it is open (here, or anywhere in the fleet with a shared store).
    pub fn open_for(&self, agent: &str, subject: &str, settings: &BreakerSettings, now_ms: i64) -> Option<i64> {
        let k = key(agent, subject, settings);
        let local = {
            let inner = self.inner.lock().ok()?;
            inner.states.get(&k).map(|s| s.open_until).filter(|u| *u > now_ms)
        };
        if let Some(until) = local {
            return Some(until - now_ms);
        }
        // The store unreachable: per-process breakers still hold (never "no breaker").
        let until = self
            .shared
            .as_ref()?
            .breaker_open_until(&shared_key(&k), now_ms)
            .ok()??;
        self.note_open(k, until);
        Some(until - now_ms)
    }

    /// Remembers a breaker the fleet opened, so this process reports it and skips the store.
    fn note_open(&self, k: Key, until: i64) {
        if let Ok(mut inner) = self.inner.lock() {
            let s = inner.states.entry(k).or_default();
            s.open_until = s.open_until.max(until);
        }
    }

    /// Records a denial of `agent` acting for `subject`; returns true when it opened the breaker.
    pub fn record_denial(&self, agent: &str, subject: &str, settings: &BreakerSettings, now_ms: i64) -> bool {
        let opened_here = self.record_local(agent, subject, settings, now_ms);
        let Some(store) = &self.shared else { return opened_here };
        let k = key(agent, subject, settings);
        let window_ms = (settings.window_secs * 1000) as i64;
        let cool_ms = (settings.cool_down_secs * 1000) as i64;
        match store.breaker_denial(&shared_key(&k), now_ms, window_ms, settings.max_denials, cool_ms) {
            Ok(Some(until)) => {
                self.note_open(k, until);
                true
            }
            _ => opened_here,
        }
    }

    fn record_local(&self, agent: &str, subject: &str, settings: &BreakerSettings, now_ms: i64) -> bool {
        let Ok(mut inner) = self.inner.lock() else {
            return false;
        };
        let window_ms = (settings.window_secs * 1000) as i64;
        let k = key(agent, subject, settings);
        if inner.states.len() >= inner.sweep_at.max(PRUNE_AT) && !inner.states.contains_key(&k) {
            // Emptied, closed breakers hold nothing worth keeping.
            inner
                .states
                .retain(|_, s| s.open_until > now_ms || s.denials.back().is_some_and(|t| *t > now_ms - window_ms));
            inner.sweep_at = 2 * inner.states.len();
        }
        let s = inner.states.entry(k).or_default();
        let floor = now_ms - window_ms;
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

    /// The breakers open at `now_ms`: (agent, user; `None` when agent-wide).
    pub fn open_breakers(&self, now_ms: i64) -> Vec<(String, Option<String>)> {
        let Ok(inner) = self.inner.lock() else {
            return Vec::new();
        };
        let mut open: Vec<_> = inner
            .states
            .iter()
            .filter(|(_, s)| s.open_until > now_ms)
            .map(|(k, _)| k.clone())
            .collect();
        open.sort();
        open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(scope: BreakerScope) -> BreakerSettings {
        BreakerSettings {
            scope,
            max_denials: 3,
            window_secs: 60,
            cool_down_secs: 300,
        }
    }

    #[test]
    fn opens_after_max_denials_and_closes_after_cool_down() {
        let b = Breakers::default();
        let s = settings(BreakerScope::Agent);
        assert!(!b.record_denial("bot", "u1", &s, 0));
        assert!(!b.record_denial("bot", "u2", &s, 1000));
        assert_eq!(b.open_for("bot", "u1", &s, 1000), None);
        assert!(b.record_denial("bot", "u3", &s, 2000));
        assert_eq!(b.open_for("bot", "u9", &s, 2000), Some(300_000));
        assert_eq!(b.open_breakers(2000), vec![("bot".to_string(), None)]);
        assert_eq!(b.open_for("other", "u1", &s, 2000), None);
        assert_eq!(b.open_for("bot", "u1", &s, 302_000), None);
        // Denials outside the window do not accumulate.
        assert!(!b.record_denial("bot", "u1", &s, 400_000));
        assert!(!b.record_denial("bot", "u1", &s, 470_000));
        assert!(!b.record_denial("bot", "u1", &s, 540_000));
    }

    #[test]
    fn per_user_breakers_are_separate_and_idle_ones_are_dropped() {
        let b = Breakers::default();
        let s = settings(BreakerScope::Subject);
        for t in 0..3 {
            b.record_denial("bot", "mallory", &s, t);
        }
        assert!(b.open_for("bot", "mallory", &s, 10).is_some());
        assert_eq!(b.open_for("bot", "alice", &s, 10), None);
        for i in 0..PRUNE_AT - 1 {
            b.record_denial("bot", &format!("u{i}"), &s, 100);
        }
        // A window later, the one-denial breakers are idle; mallory's is still open.
        b.record_denial("bot", "late", &s, 200_000);
        assert_eq!(b.inner.lock().unwrap().states.len(), 2);
        assert!(b.open_for("bot", "mallory", &s, 200_000).is_some());
    }
}
