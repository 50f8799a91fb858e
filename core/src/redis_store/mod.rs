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
//!
//! Three topologies, chosen by the URL's scheme ([`backend`]): one server (`redis://`,
//! `rediss://`), a Redis Cluster (`redis+cluster://h:p,h:p/`) and a master found through
//! Sentinel (`redis+sentinel://h:p,h:p/<master>`). On a cluster every key carries a hash tag
//! naming the agent whose policy declared the limit ([`keys`]), so one script still sees all
//! of a decision's counters of that agent. A decision whose limits come from several agents (a
//! delegation chain with limits on more than one layer) is checked group by group: each group
//! is recorded atomically, and when a later group is full the earlier groups' records are taken
//! back ([`scripts::REFUND_SCRIPT`]). No limit is ever exceeded that way; a concurrent request
//! may be refused while another's records are waiting to be taken back.

mod backend;
mod keys;
mod scripts;

pub use backend::{CLUSTER_SCHEME, SENTINEL_SCHEME};

use crate::error::{Error, Result};
use crate::limits::{CounterStore, LimitKey};
use backend::{Backend, Conn};
use keys::Names;
use std::sync::Mutex;
use std::time::Duration;

/// Options of a [`RedisCounterStore`].
#[derive(Clone, Debug)]
pub struct RedisOptions {
    /// `redis://host:port/db` (or `rediss://` for TLS, when the redis crate supports it),
    /// `redis+cluster://host:port,host:port/` or `redis+sentinel://host:port,.../<master>[/<db>]`,
    /// without ACT's parameters.
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
                        || value
                            .chars()
                            .any(|c| c.is_whitespace() || c.is_control() || c == '{' || c == '}')
                    {
                        return Err(bad(format!(
                            "expected 1 to 128 characters without spaces or braces (braces are Redis Cluster hash tags), got `{value}`"
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
    backend: Backend,
    options: RedisOptions,
    names: Names,
    script: redis::Script,
    refund_script: redis::Script,
    breaker_script: redis::Script,
    /// Idle connections; a call takes one (or opens one) and puts it back when it worked.
    idle: Mutex<Vec<Conn>>,
}

fn store_err(e: impl std::fmt::Display) -> Error {
    Error::Store(format!("redis: {e}"))
}

/// What one run of the window script recorded: per key of its group, the member added.
type Recorded = Vec<String>;

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
        let backend = Backend::open(&options.url, options.timeout)?;
        let store = RedisCounterStore {
            names: Names {
                prefix: options.prefix.clone(),
                tagged: backend.is_cluster(),
            },
            backend,
            options,
            script: redis::Script::new(scripts::WINDOW_SCRIPT),
            refund_script: redis::Script::new(scripts::REFUND_SCRIPT),
            breaker_script: redis::Script::new(scripts::BREAKER_SCRIPT),
            idle: Mutex::new(Vec::new()),
        };
        store.with(|c| redis::cmd("PING").query::<String>(c))?;
        Ok(store)
    }

    fn with<T>(&self, f: impl FnOnce(&mut dyn redis::ConnectionLike) -> redis::RedisResult<T>) -> Result<T> {
        let pooled = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => self.backend.connect(self.options.timeout).map_err(store_err)?,
        };
        // A connection that failed is dropped: after a failover the next one finds the new master.
        let out = f(conn.like()).map_err(store_err)?;
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).push(conn);
        Ok(out)
    }

    /// One window script over `keys` (one group): `Err(i)` when the i-th (0-based) is full,
    /// else what it recorded.
    fn run_group(
        &self,
        keys: &[&LimitKey],
        now_ms: i64,
        consume: bool,
    ) -> Result<std::result::Result<Recorded, usize>> {
        let out: Vec<String> = self.with(|c| {
            let mut inv = self.script.prepare_invoke();
            for k in keys {
                let [win, meta] = self.names.limit(k);
                inv.key(win).key(meta);
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
        let full: usize = out
            .first()
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| store_err("the window script returned no index"))?;
        Ok(if full > 0 { Err(full - 1) } else { Ok(out[1..].to_vec()) })
    }

    /// Takes back what [`Self::run_group`] recorded for `keys`.
    fn refund(&self, keys: &[&LimitKey], recorded: &Recorded) -> Result<()> {
        self.with(|c| {
            let mut inv = self.refund_script.prepare_invoke();
            for (k, member) in keys.iter().zip(recorded) {
                let [win, meta] = self.names.limit(k);
                inv.key(win).key(meta).arg(member.as_str());
                match k.weight {
                    None => inv.arg("-"),
                    Some(w) => inv.arg(w),
                };
            }
            inv.invoke::<i64>(c)
        })?;
        Ok(())
    }

    fn run(&self, keys: &[LimitKey], now_ms: i64, consume: bool) -> Result<Option<usize>> {
        if keys.is_empty() {
            return Ok(None);
        }
        let groups = keys::by_group(keys);
        let mut taken: Vec<(Vec<&LimitKey>, Recorded)> = Vec::new();
        let mut outcome = Ok(None);
        for group in &groups {
            let members: Vec<&LimitKey> = group.iter().map(|&i| &keys[i]).collect();
            match self.run_group(&members, now_ms, consume) {
                Ok(Ok(recorded)) => taken.push((members, recorded)),
                Ok(Err(full)) => {
                    outcome = Ok(Some(group[full]));
                    break;
                }
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        if consume && !matches!(outcome, Ok(None)) {
            // Refused (or failed) in a later group: the earlier groups must not keep the charge.
            // A refund that fails leaves capacity spent until the window passes: fail-safe.
            for (members, recorded) in &taken {
                let _ = self.refund(members, recorded);
            }
        }
        outcome
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
        let key = self.names.mark(id);
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
        let [denials, open, seq] = self.names.breaker(key);
        let until: i64 = self.with(|c| {
            self.breaker_script
                .key(denials)
                .key(open)
                .key(seq)
                .arg(now_ms)
                .arg(window_ms.max(1))
                .arg(max_denials.max(1))
                .arg(cool_down_ms.max(1))
                .invoke(c)
        })?;
        Ok((until > now_ms).then_some(until))
    }

    fn breaker_open_until(&self, key: &str, now_ms: i64) -> Result<Option<i64>> {
        let k = self.names.breaker_open(key);
        let until: Option<i64> = self.with(|c| redis::cmd("GET").arg(&k).query(c))?;
        Ok(until.filter(|u| *u > now_ms))
    }
}
