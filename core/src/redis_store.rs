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
//! Circuit breakers are fleet-wide on this store ([`CounterStore::is_shared`]): a breaker's
//! denials and its open-until time live in Redis (`brk:`, `brko:`, `brks:` namespaces, keys
//! length-prefixed like limits'), so denials counted by any process open it for every process.
//!
//! When Redis cannot be reached the store returns an error and the engine
//! denies limited requests with `counter_store_unavailable` (fail closed);
//! requests without limits are unaffected.

use crate::error::{Error, Result};
use crate::limits::{CounterStore, LimitKey};
use std::sync::Mutex;
use std::time::Duration;

/// KEYS: per limit, its window (a sorted set) then its sequence, in separate namespaces so
/// neither can ever be the other's key: for a count `win:` and `seq:` (a string), for a budget
/// `bwin:` and `bsum:` (a hash: `seq`, and `sum`, the exact total of the live weights).
/// ARGV: now_ms, consume (0/1), then (limit, window_ms, weight) per limit, weight `-` for a
/// count. Returns 0 when every limit has room (and records the request if consume=1), else the
/// 1-based index of the first full one. A budget's members are `time:seq:weight`; weights are
/// integers (millionths) passed as strings and summed with HINCRBY, so totals stay exact.
const WINDOW_SCRIPT: &str = r#"
local now = tonumber(ARGV[1])
local consume = ARGV[2] == "1"
local times = {}
for i = 1, #KEYS / 2 do
  local key, meta = KEYS[2 * i - 1], KEYS[2 * i]
  local limit = tonumber(ARGV[3 * i])
  local window = tonumber(ARGV[3 * i + 1])
  local weight = ARGV[3 * i + 2]
  local t = now
  local newest = redis.call("ZREVRANGE", key, 0, 0, "WITHSCORES")
  if newest[2] and tonumber(newest[2]) > t then t = tonumber(newest[2]) end
  if weight == "-" then
    redis.call("ZREMRANGEBYSCORE", key, "-inf", t - window)
    if redis.call("ZCARD", key) >= limit then return i end
  else
    local old = redis.call("ZRANGEBYSCORE", key, "-inf", t - window)
    for _, m in ipairs(old) do
      redis.call("HINCRBY", meta, "sum", "-" .. string.match(m, ":(%d+)$"))
    end
    if #old > 0 then redis.call("ZREMRANGEBYSCORE", key, "-inf", t - window) end
    local sum = tonumber(redis.call("HGET", meta, "sum") or "0")
    if sum + tonumber(weight) > limit then return i end
  end
  times[i] = t
end
if consume then
  for i = 1, #KEYS / 2 do
    local key, meta = KEYS[2 * i - 1], KEYS[2 * i]
    local window = tonumber(ARGV[3 * i + 1])
    local weight = ARGV[3 * i + 2]
    if weight == "-" then
      local seq = redis.call("INCR", meta)
      redis.call("ZADD", key, times[i], times[i] .. ":" .. seq)
      redis.call("PEXPIRE", key, window)
      redis.call("PEXPIRE", meta, window)
    elseif weight ~= "0" then
      local seq = redis.call("HINCRBY", meta, "seq", 1)
      redis.call("HINCRBY", meta, "sum", weight)
      redis.call("ZADD", key, times[i], times[i] .. ":" .. seq .. ":" .. weight)
      redis.call("PEXPIRE", key, window)
      redis.call("PEXPIRE", meta, window)
    end
  end
end
return 0
"#;

/// KEYS: a breaker's denials (a sorted set), its open-until time (a string), its sequence.
/// ARGV: now_ms, window_ms, max_denials, cool_down_ms. Returns the open-until time if the breaker
/// is open (already, or opened by this denial), else 0. Denials while open are not counted.
const BREAKER_SCRIPT: &str = r#"
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cool = tonumber(ARGV[4])
local open = tonumber(redis.call("GET", KEYS[2]) or "0")
if open > now then return open end
local seq = redis.call("INCR", KEYS[3])
redis.call("PEXPIRE", KEYS[3], window)
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now - window)
redis.call("ZADD", KEYS[1], now, now .. ":" .. seq)
redis.call("PEXPIRE", KEYS[1], window)
if redis.call("ZCARD", KEYS[1]) >= tonumber(ARGV[3]) then
  redis.call("DEL", KEYS[1])
  redis.call("SET", KEYS[2], now + cool, "PX", cool)
  return now + cool
end
return 0
"#;

/// Options of a [`RedisCounterStore`].
#[derive(Clone, Debug)]
pub struct RedisOptions {
    /// `redis://host:port/db` (or `rediss://` for TLS, when the redis crate supports it), without ACT's parameters.
    pub url: String,
    /// Prefix of every key this store writes (default `act:`), so several deployments can share a server.
    pub prefix: String,
    /// Connect, read and write timeout (default 1 s): a slow Redis fails closed instead of stalling agents.
    pub timeout: Duration,
    /// How long a single-use approval mark is kept after the approval expires (default 1 day, at least
    /// 1 minute). Approvals are refused after `exp` anyway; the grace covers clocks of the fleet that run
    /// behind the one that wrote the mark.
    pub mark_grace: Duration,
}

/// The query parameters [`RedisOptions::from_url`] understands.
pub const URL_PARAMETERS: [&str; 3] = ["prefix", "timeout_ms", "mark_grace_ms"];
/// Shortest accepted [`RedisOptions::mark_grace`].
pub const MIN_MARK_GRACE: Duration = Duration::from_secs(60);

impl RedisOptions {
    /// Defaults for `url` (taken as is; see [`RedisOptions::from_url`] for ACT's query parameters).
    pub fn new(url: impl Into<String>) -> Self {
        RedisOptions {
            url: url.into(),
            prefix: "act:".into(),
            timeout: Duration::from_secs(1),
            mark_grace: Duration::from_secs(86_400),
        }
    }

    /// Reads ACT's settings from the URL's query and strips them, e.g.
    /// `redis://127.0.0.1:6379/0?prefix=myapp:&timeout_ms=500&mark_grace_ms=3600000`.
    /// The rest of the URL goes to the redis client unchanged. An unknown parameter, a repeated one
    /// or a bad value is an error that names it.
    pub fn from_url(spec: &str) -> Result<Self> {
        let (base, query) = match spec.split_once('?') {
            Some((b, q)) => (b, q),
            None => (spec, ""),
        };
        let mut opts = RedisOptions::new(base);
        let mut seen: Vec<&str> = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, raw) = pair.split_once('=').unwrap_or((pair, ""));
            let bad = |why: String| Error::Config(format!("counter store URL parameter `{name}`: {why}"));
            let value = percent_decode(raw).ok_or_else(|| bad(format!("`{raw}` is not valid percent-encoding")))?;
            if seen.contains(&name) {
                return Err(bad("given twice".into()));
            }
            match name {
                "prefix" => {
                    if value.is_empty()
                        || value.len() > 128
                        || value.chars().any(|c| c.is_whitespace() || c.is_control())
                    {
                        return Err(bad(format!(
                            "expected 1 to 128 characters without spaces, got `{value}`"
                        )));
                    }
                    opts.prefix = value;
                }
                "timeout_ms" => {
                    let ms: u64 = value
                        .parse()
                        .ok()
                        .filter(|ms| (1..=60_000).contains(ms))
                        .ok_or_else(|| bad(format!("expected milliseconds between 1 and 60000, got `{value}`")))?;
                    opts.timeout = Duration::from_millis(ms);
                }
                "mark_grace_ms" => {
                    let min = MIN_MARK_GRACE.as_millis() as u64;
                    let ms: u64 = value
                        .parse()
                        .ok()
                        .filter(|ms| (min..=30 * 86_400_000).contains(ms))
                        .ok_or_else(|| {
                            bad(format!(
                                "expected milliseconds between {min} and {} (30 days), got `{value}`",
                                30 * 86_400_000u64
                            ))
                        })?;
                    opts.mark_grace = Duration::from_millis(ms);
                }
                _ => {
                    return Err(Error::Config(format!(
                        "counter store URL: unknown parameter `{}` (known: {})",
                        crate::keys::truncate(name, 40),
                        URL_PARAMETERS.join(", ")
                    )))
                }
            }
            seen.push(name);
        }
        Ok(opts)
    }
}

/// The URL with any `user:password@` replaced, for error messages.
fn redact_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &url[..s], &url[at + 1..]),
        _ => url.to_string(),
    }
}

/// `%XX` decoding of a query value (`+` stays a plus); `None` on a malformed escape or non-UTF-8 result.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Rolling-window counters and approval marks in Redis.
pub struct RedisCounterStore {
    client: redis::Client,
    options: RedisOptions,
    script: redis::Script,
    breaker_script: redis::Script,
    /// Idle connections; a call takes one (or opens one) and puts it back when it worked.
    idle: Mutex<Vec<redis::Connection>>,
}

fn store_err(e: impl std::fmt::Display) -> Error {
    Error::Store(format!("redis: {e}"))
}

impl RedisCounterStore {
    /// Connects (and checks the server answers) so a wrong URL fails at start, not at the first limit.
    pub fn open(options: RedisOptions) -> Result<Self> {
        if options.mark_grace < MIN_MARK_GRACE {
            return Err(Error::Config(format!(
                "mark_grace must be at least {} s",
                MIN_MARK_GRACE.as_secs()
            )));
        }
        if options.timeout.is_zero() {
            return Err(Error::Config("the counter store timeout must be more than 0".into()));
        }
        let client = redis::Client::open(options.url.as_str()).map_err(|e| {
            Error::Config(format!(
                "counter store URL `{}`: {e}",
                crate::keys::truncate(&redact_password(&options.url), 80)
            ))
        })?;
        let store = RedisCounterStore {
            client,
            options,
            script: redis::Script::new(WINDOW_SCRIPT),
            breaker_script: redis::Script::new(BREAKER_SCRIPT),
            idle: Mutex::new(Vec::new()),
        };
        store.with(|c| redis::cmd("PING").query::<String>(c))?;
        Ok(store)
    }

    fn with<T>(&self, f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>) -> Result<T> {
        let pooled = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => {
                let c = self
                    .client
                    .get_connection_with_timeout(self.options.timeout)
                    .map_err(store_err)?;
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
            let p = &self.options.prefix;
            for k in keys {
                match k.weight {
                    None => inv.key(format!("{p}win:{}", k.key)).key(format!("{p}seq:{}", k.key)),
                    Some(_) => inv.key(format!("{p}bwin:{}", k.key)).key(format!("{p}bsum:{}", k.key)),
                };
            }
            inv.arg(now_ms).arg(if consume { "1" } else { "0" });
            for k in keys {
                inv.arg(k.limit).arg(k.window_ms);
                match k.weight {
                    None => inv.arg("-"),
                    Some(w) => inv.arg(w),
                };
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
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        // Kept `mark_grace` past expiry: a replay of an expired approval fails on its expiry anyway.
        let ttl = (expires_ms - now).max(0) + self.options.mark_grace.as_millis() as i64;
        let key = format!("{}mark:{id}", self.options.prefix);
        let set: Option<String> =
            self.with(|c| redis::cmd("SET").arg(&key).arg(1).arg("NX").arg("PX").arg(ttl).query(c))?;
        Ok(set.is_some())
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn breaker_denial(
        &self,
        key: &str,
        now_ms: i64,
        window_ms: i64,
        max_denials: u64,
        cool_down_ms: i64,
    ) -> Result<Option<i64>> {
        let p = &self.options.prefix;
        let until: i64 = self.with(|c| {
            self.breaker_script
                .key(format!("{p}brk:{key}"))
                .key(format!("{p}brko:{key}"))
                .key(format!("{p}brks:{key}"))
                .arg(now_ms)
                .arg(window_ms.max(1))
                .arg(max_denials.max(1))
                .arg(cool_down_ms.max(1))
                .invoke(c)
        })?;
        Ok((until > now_ms).then_some(until))
    }

    fn breaker_open_until(&self, key: &str, now_ms: i64) -> Result<Option<i64>> {
        let k = format!("{}brko:{key}", self.options.prefix);
        let until: Option<i64> = self.with(|c| redis::cmd("GET").arg(&k).query(c))?;
        Ok(until.filter(|u| *u > now_ms))
    }
}
