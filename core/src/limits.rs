//! Rolling-window counters and single-use marks.
//!
//! A limit is exact: the store keeps the time of every allowed request in the
//! window (grouped per millisecond, so memory is bounded by both the limit and
//! the window), so "5 per day" means no more than 5 in any 24 hours, not 5 per
//! calendar bucket. Counters are consumed only when a
//! decision is an allow, atomically across every limit the decision touches.

use crate::error::{Error, Result};
use crossbeam_utils::CachePadded;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::Mutex;

/// Joins the parts of a counter key unambiguously: each part is written as its byte length,
/// `:`, then the part, so no choice of parts (a user id holding `|` or `:seq`, say) spells the
/// key of other parts.
pub fn encode_key(parts: &[&str]) -> String {
    let mut key = String::with_capacity(parts.iter().map(|p| p.len() + 4).sum());
    for part in parts {
        push_decimal(&mut key, part.len());
        key.push(':');
        key.push_str(part);
    }
    key
}

/// Appends `n` in decimal (without `format!`, which costs more on this per-request path).
fn push_decimal(out: &mut String, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(d as char);
    }
}

/// One counter to check or consume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitKey {
    /// The counter's key: constraint id, agent and subject (or token), joined by [`encode_key`].
    pub key: String,
    /// Allowed in the window: requests, or for a budget the sum of weights (in millionths).
    pub limit: u64,
    /// Window length in milliseconds.
    pub window_ms: u64,
    /// `None` counts one request; `Some(w)` is a budget the request adds `w` to (a weight of 0
    /// needs no room and consumes nothing). Budgets live apart from counts in shared stores.
    pub weight: Option<u64>,
}

impl LimitKey {
    /// What one request adds to the window.
    pub fn units(&self) -> u64 {
        self.weight.unwrap_or(1)
    }

    /// Whether a window holding `live` has room for this request.
    fn fits(&self, live: u64) -> bool {
        live.saturating_add(self.units()) <= self.limit
    }
}

/// Where counters and single-use marks live: in memory (default) or shared (Redis).
pub trait CounterStore: Send + Sync {
    /// Index of the first key whose window is full, without consuming anything.
    fn exhausted(&self, keys: &[LimitKey], now_ms: i64) -> Result<Option<usize>>;
    /// Consumes one unit of every key, all or nothing. On a full window returns
    /// `Ok(Some(index))` and consumes nothing.
    fn try_acquire(&self, keys: &[LimitKey], now_ms: i64) -> Result<Option<usize>>;
    /// Marks `id` as used until `expires_ms`; true the first time, false on a replay.
    fn mark_once(&self, id: &str, expires_ms: i64) -> Result<bool>;

    /// Whether every process pointing at this store shares its state (Redis does, memory does
    /// not). Circuit breakers are then fleet-wide too (see [`crate::breaker`]).
    fn is_shared(&self) -> bool {
        false
    }

    /// Records one denial of the shared breaker `key` (a rolling `window_ms`; `max_denials`
    /// open it for `cool_down_ms`). Returns when it closes (ms) if it is open now.
    fn breaker_denial(
        &self,
        _key: &str,
        _now_ms: i64,
        _window_ms: i64,
        _max_denials: u64,
        _cool_down_ms: i64,
    ) -> Result<Option<i64>> {
        Ok(None)
    }

    /// When the shared breaker `key` closes (ms), if it is open at `now_ms`.
    fn breaker_open_until(&self, _key: &str, _now_ms: i64) -> Result<Option<i64>> {
        Ok(None)
    }
}

const SHARDS: usize = 32;
/// Marks are kept at least this long past their expiry (longer than any approval lives).
const MARK_GRACE_MS: i64 = 8 * 86_400_000;

/// Fewest windows in a shard before emptied ones are swept out.
const MIN_SWEEP: usize = 256;

/// Allowed requests in one window: (millisecond, count) in time order, and their total.
#[derive(Default)]
struct Window {
    events: VecDeque<(i64, u64)>,
    total: u64,
    /// The window length it was last used with (for sweeping it once it has emptied).
    window_ms: u64,
}

impl Window {
    /// Evicts events older than the window. Events in the future (the wall clock
    /// stepped back) are kept: a backwards clock must never free capacity.
    fn live(&mut self, now_ms: i64, window_ms: u64) -> u64 {
        let floor = now_ms - window_ms as i64;
        while let Some(&(t, n)) = self.events.front() {
            if t > floor || self.events.back().is_some_and(|(last, _)| *last > now_ms) {
                break;
            }
            self.events.pop_front();
            self.total -= n;
        }
        self.total
    }

    fn push(&mut self, now_ms: i64, units: u64) {
        if units == 0 {
            return;
        }
        // Keep the queue sorted even if the clock stepped back.
        let t = self.events.back().map_or(now_ms, |(last, _)| now_ms.max(*last));
        match self.events.back_mut() {
            Some((last, n)) if *last == t => *n += units,
            _ => self.events.push_back((t, units)),
        }
        self.total += units;
    }
}

#[derive(Default)]
struct Shard {
    windows: HashMap<String, Window, foldhash::fast::RandomState>,
    marks: HashMap<String, i64, foldhash::fast::RandomState>,
    /// Window count at which the next sweep runs: twice what the last one kept, so sweeping
    /// costs amortised O(1) per new key while memory stays within twice the live windows.
    sweep_at: usize,
}

impl Shard {
    /// Called before a new window is added: sweeps out emptied windows when due.
    fn make_room(&mut self, now_ms: i64) {
        if self.windows.len() >= self.sweep_at.max(MIN_SWEEP) {
            self.windows.retain(|_, w| w.live(now_ms, w.window_ms) > 0);
            self.sweep_at = 2 * self.windows.len();
        }
    }
}

/// Exact in-memory counters, sharded so threads touching different keys do not contend.
pub struct MemoryCounterStore {
    /// Each shard on its own cache line: neighbouring locks taken by different threads
    /// must not share one (false sharing halved two-thread throughput).
    shards: Vec<CachePadded<Mutex<Shard>>>,
    hasher: foldhash::fast::FixedState,
}

impl Default for MemoryCounterStore {
    fn default() -> Self {
        MemoryCounterStore {
            shards: (0..SHARDS)
                .map(|_| CachePadded::new(Mutex::new(Shard::default())))
                .collect(),
            hasher: foldhash::fast::FixedState::with_seed(0x0041_4354_5f6c_696d),
        }
    }
}

impl MemoryCounterStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn shard_of(&self, key: &str) -> usize {
        (self.hasher.hash_one(key) as usize) % SHARDS
    }

    fn lock(&self, i: usize) -> Result<std::sync::MutexGuard<'_, Shard>> {
        self.shards[i]
            .lock()
            .map_err(|_| Error::Store("a counter shard is poisoned by an earlier panic".into()))
    }
}

impl CounterStore for MemoryCounterStore {
    fn exhausted(&self, keys: &[LimitKey], now_ms: i64) -> Result<Option<usize>> {
        for (i, k) in keys.iter().enumerate() {
            let mut shard = self.lock(self.shard_of(&k.key))?;
            let live = shard.windows.get_mut(&k.key).map_or(0, |w| w.live(now_ms, k.window_ms));
            if !k.fits(live) {
                return Ok(Some(i));
            }
        }
        Ok(None)
    }

    fn try_acquire(&self, keys: &[LimitKey], now_ms: i64) -> Result<Option<usize>> {
        if keys.is_empty() {
            return Ok(None);
        }
        if let [k] = keys {
            // The common case: one limit, one lock, one lookup.
            let mut shard = self.lock(self.shard_of(&k.key))?;
            let w = match shard.windows.get_mut(&k.key) {
                Some(w) => w,
                None => {
                    shard.make_room(now_ms);
                    shard.windows.entry(k.key.clone()).or_default()
                }
            };
            w.window_ms = k.window_ms;
            if !k.fits(w.live(now_ms, k.window_ms)) {
                return Ok(Some(0));
            }
            w.push(now_ms, k.units());
            return Ok(None);
        }
        // Lock every shard involved, in ascending order (no deadlock), so the
        // check and the consume are one atomic step across all keys.
        let shard_of: Vec<usize> = keys.iter().map(|k| self.shard_of(&k.key)).collect();
        let mut order = shard_of.clone();
        order.sort_unstable();
        order.dedup();
        let mut guards = Vec::with_capacity(order.len());
        for i in &order {
            guards.push(self.lock(*i)?);
        }
        // Index of key k's shard among the locked ones (`order` is sorted and holds every shard).
        let pos = |k: usize| order.partition_point(|&o| o < shard_of[k]);
        for (i, k) in keys.iter().enumerate() {
            let shard = &mut guards[pos(i)];
            let live = match shard.windows.get_mut(&k.key) {
                Some(w) => w.live(now_ms, k.window_ms),
                None => 0,
            };
            if !k.fits(live) {
                return Ok(Some(i));
            }
        }
        for (i, k) in keys.iter().enumerate() {
            let shard = &mut guards[pos(i)];
            let w = match shard.windows.get_mut(&k.key) {
                Some(w) => w,
                None => {
                    shard.make_room(now_ms);
                    shard.windows.entry(k.key.clone()).or_default()
                }
            };
            w.window_ms = k.window_ms;
            w.push(now_ms, k.units());
        }
        Ok(None)
    }

    fn mark_once(&self, id: &str, expires_ms: i64) -> Result<bool> {
        let mut shard = self.lock(self.shard_of(id))?;
        if shard.marks.contains_key(id) {
            return Ok(false);
        }
        // Marks of approvals that expired long ago can go: those approvals fail on expiry anyway.
        let horizon = expires_ms - MARK_GRACE_MS;
        shard.marks.retain(|_, exp| *exp > horizon);
        shard.marks.insert(id.to_string(), expires_ms);
        Ok(true)
    }
}

/// Opens the counter store a binding's `counters` option names: `"memory"` (the default,
/// per process) or a `redis://` URL (feature `redis`; one limit across every process).
///
/// A Redis URL may carry ACT's settings as query parameters, stripped before the URL reaches the
/// redis client: `prefix` (key prefix, default `act:`), `timeout_ms` (connect, read and write
/// timeout, default 1000) and `mark_grace_ms` (how long an approval's single-use mark outlives the
/// approval, default one day), e.g. `redis://127.0.0.1:6379/0?prefix=myapp:&timeout_ms=500`.
/// Any other parameter is an error naming it (see `docs/counters.md`).
pub fn open_store(spec: &str) -> Result<std::sync::Arc<dyn CounterStore>> {
    let spec = spec.trim();
    if spec.is_empty() || spec == "memory" {
        return Ok(std::sync::Arc::new(MemoryCounterStore::new()));
    }
    // One server, a Redis Cluster or a Sentinel-managed master (see `redis_store`).
    let redis_schemes = ["redis://", "rediss://", "redis+cluster://", "redis+sentinel://"];
    if redis_schemes.iter().any(|s| spec.starts_with(s)) {
        #[cfg(feature = "redis")]
        {
            let store = crate::redis_store::RedisCounterStore::open(crate::redis_store::RedisOptions::from_url(spec)?)?;
            return Ok(std::sync::Arc::new(store));
        }
        #[cfg(not(feature = "redis"))]
        return Err(Error::Config(
            "this build has no Redis counter store (cargo feature `redis`)".into(),
        ));
    }
    Err(Error::Config(format!(
        "counters must be \"memory\" or a redis://, rediss://, redis+cluster:// or redis+sentinel:// URL, got `{}`",
        crate::keys::truncate(spec, 60)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn key(k: &str, limit: u64) -> LimitKey {
        LimitKey {
            key: k.into(),
            limit,
            window_ms: 1000,
            weight: None,
        }
    }

    #[test]
    fn rolling_window_is_exact() {
        let s = MemoryCounterStore::new();
        let k = [key("a", 2)];
        assert_eq!(s.try_acquire(&k, 0).unwrap(), None);
        assert_eq!(s.try_acquire(&k, 500).unwrap(), None);
        assert_eq!(s.try_acquire(&k, 999).unwrap(), Some(0));
        assert_eq!(s.exhausted(&k, 999).unwrap(), Some(0));
        // At 1000 the first event (t=0) leaves the window; the one at 500 stays.
        assert_eq!(s.try_acquire(&k, 1000).unwrap(), None);
        assert_eq!(s.try_acquire(&k, 1499).unwrap(), Some(0));
        assert_eq!(s.try_acquire(&k, 1500).unwrap(), None);
    }

    #[test]
    fn encoded_keys_are_unambiguous() {
        assert_eq!(encode_key(&["c", "bot", "42"]), "1:c3:bot2:42");
        let keys = [
            encode_key(&["c", "bot", "42:seq"]),
            encode_key(&["c", "bot", "42"]),
            encode_key(&["c", "bot|42", ""]),
            encode_key(&["c|bot", "42"]),
            encode_key(&["c", "bot", "4", "2"]),
            encode_key(&["c", "3:bot2:42"]),
        ];
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(
            encode_key(&["x".repeat(1234).as_str()]),
            format!("1234:{}", "x".repeat(1234))
        );
    }

    fn windows_held(s: &MemoryCounterStore) -> usize {
        s.shards.iter().map(|m| m.lock().unwrap().windows.len()).sum()
    }

    /// Every token (`scope: token`) or user gets a window; once it has emptied it is dropped,
    /// so memory follows the live windows, not every key ever seen.
    #[test]
    fn emptied_windows_are_evicted() {
        let s = MemoryCounterStore::new();
        let short = |name: String| LimitKey {
            key: name,
            limit: 5,
            window_ms: 1000,
            weight: None,
        };
        let daily = LimitKey {
            key: "daily".into(),
            limit: 2,
            window_ms: 86_400_000,
            weight: None,
        };
        for _ in 0..2 {
            assert_eq!(s.try_acquire(std::slice::from_ref(&daily), 0).unwrap(), None);
        }
        for i in 0..20_000 {
            assert_eq!(s.try_acquire(&[short(format!("a-{i}"))], 0).unwrap(), None);
        }
        for i in 0..20_000 {
            assert_eq!(s.try_acquire(&[short(format!("b-{i}"))], 10_000 + i).unwrap(), None);
        }
        let held = windows_held(&s);
        assert!(held < 12_000, "{held} windows held; at most ~1,000 are live");
        // A live window keeps its count through the sweeps.
        assert_eq!(s.exhausted(std::slice::from_ref(&daily), 40_000).unwrap(), Some(0));
    }

    #[test]
    fn all_or_nothing_across_keys() {
        let s = MemoryCounterStore::new();
        assert_eq!(s.try_acquire(&[key("full", 1)], 0).unwrap(), None);
        assert_eq!(s.try_acquire(&[key("free", 5), key("full", 1)], 1).unwrap(), Some(1));
        // `free` was not consumed by the failed attempt.
        for t in 0..5 {
            assert_eq!(s.try_acquire(&[key("free", 5)], 2 + t).unwrap(), None);
        }
        assert_eq!(s.try_acquire(&[key("free", 5)], 10).unwrap(), Some(0));
    }

    #[test]
    fn clock_stepping_back_never_frees_capacity() {
        let s = MemoryCounterStore::new();
        let k = [key("a", 2)];
        assert_eq!(s.try_acquire(&k, 10_000).unwrap(), None);
        assert_eq!(s.try_acquire(&k, 10_001).unwrap(), None);
        // The clock jumps back an hour: the two events are "in the future" and still count.
        assert_eq!(s.try_acquire(&k, 10_000 - 3_600_000).unwrap(), Some(0));
        assert_eq!(s.try_acquire(&k, 11_002).unwrap(), None);
    }

    #[test]
    fn exact_under_threads() {
        let s = Arc::new(MemoryCounterStore::new());
        let allowed = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (s, allowed) = (s.clone(), allowed.clone());
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        if s.try_acquire(&[key("k", 5), key("other", 1_000_000)], 1)
                            .unwrap()
                            .is_none()
                        {
                            allowed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(allowed.load(std::sync::atomic::Ordering::SeqCst), 5);
    }

    fn budget(k: &str, limit: u64, w: u64) -> LimitKey {
        LimitKey {
            key: k.into(),
            limit,
            window_ms: 1000,
            weight: Some(w),
        }
    }

    #[test]
    fn budgets_sum_weights_exactly() {
        let s = MemoryCounterStore::new();
        assert_eq!(s.try_acquire(&[budget("b", 2000, 1500)], 0).unwrap(), None);
        assert_eq!(s.try_acquire(&[budget("b", 2000, 501)], 1).unwrap(), Some(0));
        assert_eq!(s.exhausted(&[budget("b", 2000, 500)], 1).unwrap(), None);
        assert_eq!(s.try_acquire(&[budget("b", 2000, 500)], 1).unwrap(), None);
        // Full: a weight of 0 still fits, anything more does not, until the window moves on.
        assert_eq!(s.try_acquire(&[budget("b", 2000, 0)], 2).unwrap(), None);
        assert_eq!(s.try_acquire(&[budget("b", 2000, 1)], 999).unwrap(), Some(0));
        // A backwards clock frees nothing.
        assert_eq!(s.try_acquire(&[budget("b", 2000, 1)], -50_000).unwrap(), Some(0));
        assert_eq!(s.try_acquire(&[budget("b", 2000, 1500)], 1000).unwrap(), None);
        // A failed multi-key attempt consumes nothing from the budget.
        assert_eq!(
            s.try_acquire(&[budget("c", 10, 5), key("full", 0)], 0).unwrap(),
            Some(1)
        );
        assert_eq!(s.try_acquire(&[budget("c", 10, 10)], 0).unwrap(), None);
    }

    #[test]
    fn marks_are_single_use() {
        let s = MemoryCounterStore::new();
        assert!(s.mark_once("approval-1", 10).unwrap());
        assert!(!s.mark_once("approval-1", 10).unwrap());
        assert!(s.mark_once("approval-2", 10).unwrap());
    }
}
