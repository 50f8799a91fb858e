//! A [`CounterStore`] on Redis: one rolling-window limit, and one single-use
//! mark per approval, shared by every process and machine that points at the
//! same server (feature `redis`).
//!
//! Each limit is a sorted set of allowed-request times; one Lua script checks
//! every limit of a decision and, only if all have room, records the request in
//! all of them, so check-and-consume is atomic and takes one round trip. As in
//! the memory store, a clock that steps backwards never frees capacity: the
//! script uses the later of the caller's time and the newest recorded time.
//!
//! When Redis cannot be reached the store returns an error and the engine
//! denies limited requests with `counter_store_unavailable` (fail closed);
//! requests without limits are unaffected.

use crate::error::{Error, Result};
use crate::limits::{CounterStore, LimitKey};
use std::sync::Mutex;
use std::time::Duration;

/// KEYS: the limit keys. ARGV: now_ms, consume (0/1), then (limit, window_ms) per key.
/// Returns 0 when every key has room (and records the request if consume=1),
/// else the 1-based index of the first full key.
const WINDOW_SCRIPT: &str = r#"
local now = tonumber(ARGV[1])
local consume = ARGV[2] == "1"
local times = {}
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[1 + 2 * i])
  local window = tonumber(ARGV[2 + 2 * i])
  local t = now
  local newest = redis.call("ZREVRANGE", key, 0, 0, "WITHSCORES")
  if newest[2] and tonumber(newest[2]) > t then t = tonumber(newest[2]) end
  redis.call("ZREMRANGEBYSCORE", key, "-inf", t - window)
  if redis.call("ZCARD", key) >= limit then return i end
  times[i] = t
end
if consume then
  for i, key in ipairs(KEYS) do
    local seq = redis.call("INCR", key .. ":seq")
    redis.call("ZADD", key, times[i], times[i] .. ":" .. seq)
    redis.call("PEXPIRE", key, tonumber(ARGV[2 + 2 * i]))
    redis.call("PEXPIRE", key .. ":seq", tonumber(ARGV[2 + 2 * i]))
  end
end
return 0
"#;

/// Options of a [`RedisCounterStore`].
#[derive(Clone, Debug)]
pub struct RedisOptions {
    /// `redis://host:port/db` (or `rediss://` for TLS, when the redis crate supports it).
    pub url: String,
    /// Prefix of every key this store writes (default `act:`), so several deployments can share a server.
    pub prefix: String,
    /// Connect, read and write timeout (default 1 s): a slow Redis fails closed instead of stalling agents.
    pub timeout: Duration,
}

impl RedisOptions {
    /// Defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        RedisOptions { url: url.into(), prefix: "act:".into(), timeout: Duration::from_secs(1) }
    }
}

/// Rolling-window counters and approval marks in Redis.
pub struct RedisCounterStore {
    client: redis::Client,
    options: RedisOptions,
    script: redis::Script,
    /// Idle connections; a call takes one (or opens one) and puts it back when it worked.
    idle: Mutex<Vec<redis::Connection>>,
}

fn store_err(e: impl std::fmt::Display) -> Error {
    Error::Store(format!("redis: {e}"))
}

impl RedisCounterStore {
    /// Connects (and checks the server answers) so a wrong URL fails at start, not at the first limit.
    pub fn open(options: RedisOptions) -> Result<Self> {
        let client = redis::Client::open(options.url.as_str())
            .map_err(|e| Error::Config(format!("counter store URL `{}`: {e}", options.url)))?;
        let store = RedisCounterStore { client, options, script: redis::Script::new(WINDOW_SCRIPT), idle: Mutex::new(Vec::new()) };
        store.with(|c| redis::cmd("PING").query::<String>(c))?;
        Ok(store)
    }

    fn with<T>(&self, f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>) -> Result<T> {
        let pooled = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => {
                let c = self.client.get_connection_with_timeout(self.options.timeout).map_err(store_err)?;
                c.set_read_timeout(Some(self.options.timeout)).map_err(store_err)?;
                c.set_write_timeout(Some(self.options.timeout)).map_err(store_err)?;
                c
            }
        };
        let out = f(&mut conn).map_err(store_err)?;
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).push(conn);
        Ok(out)
    }

    fn run(&self, keys: &[LimitKey], now_ms: i64, consume: bool) -> Result<Option<usize>> {
        if keys.is_empty() {
            return Ok(None);
        }
        let full: i64 = self.with(|c| {
            let mut inv = self.script.prepare_invoke();
            for k in keys {
                inv.key(format!("{}win:{}", self.options.prefix, k.key));
            }
            inv.arg(now_ms).arg(if consume { "1" } else { "0" });
            for k in keys {
                inv.arg(k.limit).arg(k.window_ms);
            }
            inv.invoke(c)
        })?;
        Ok((full > 0).then(|| full as usize - 1))
    }
}

impl CounterStore for RedisCounterStore {
    fn exhausted(&self, keys: &[LimitKey], now_ms: i64) -> Result<Option<usize>> {
        self.run(keys, now_ms, false)
    }

    fn try_acquire(&self, keys: &[LimitKey], now_ms: i64) -> Result<Option<usize>> {
        self.run(keys, now_ms, true)
    }

    fn mark_once(&self, id: &str, expires_ms: i64) -> Result<bool> {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        // Kept a day past expiry: a replay of an expired approval fails on its expiry anyway.
        let ttl = (expires_ms - now).max(0) + 86_400_000;
        let key = format!("{}mark:{id}", self.options.prefix);
        let set: Option<String> =
            self.with(|c| redis::cmd("SET").arg(&key).arg(1).arg("NX").arg("PX").arg(ttl).query(c))?;
        Ok(set.is_some())
    }
}
