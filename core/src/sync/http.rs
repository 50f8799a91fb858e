//! The control endpoint source: `GET /v1/snapshot` (protocol: `docs/protocol.md`).
//!
//! Loop: request with `If-None-Match` and `?wait=S`; on `200` verify with the
//! pinned key, require a newer version, compile, swap, then persist to the
//! cache. Only a signed freshness statement (`X-Act-Freshness`, see
//! [`crate::snapshot::freshness`]) for the version serving moves the staleness
//! clock, to the statement's signed time: a `304` alone proves nothing. Transport errors,
//! timeouts, `429` and `5xx` back off with jitter (honouring `Retry-After`)
//! and reset on the next success; `401`/`403` stop the source, since retrying
//! a refused API key cannot succeed. A rejected body never replaces the
//! serving snapshot, and the reason lands in [`Status::last_error`].

use super::backoff::Backoff;
use super::client::{describe, inner, read_capped, retry_after, Http, Timeouts};
use super::mark::{self, Mark};
use super::{cache, StatusCell, Stop, SyncHandle};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::keys::VerifyingKey;
use crate::snapshot::MAX_SNAPSHOT_BYTES;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How to reach and trust a control endpoint.
#[derive(Clone, Debug)]
pub struct HttpSyncOptions {
    /// Base URL, e.g. `http://127.0.0.1:8787`; snapshots are read from `<endpoint>/v1/snapshot`.
    pub endpoint: String,
    /// Sent as `Authorization: Bearer <api_key>` when set.
    pub api_key: Option<String>,
    /// The pinned control plane key; documents signed by any other key are refused.
    pub trust_key: VerifyingKey,
    /// Where the last verified snapshot is kept across restarts (none: no cache).
    pub cache_dir: Option<PathBuf>,
    /// The version high-water mark's file: no document older than the newest version served
    /// ever serves again, after a restart included. Default (`None`): `<cache_dir>/snapshot.version`,
    /// or no mark without a `cache_dir`. Put it where only the SDK's user can write (see
    /// docs/security.md): whoever can write it can lower it.
    pub version_mark: Option<PathBuf>,
    /// Long poll: the server may hold a request this long waiting for a change (`?wait=`; 0 disables it).
    pub long_poll: Duration,
    /// Pause between requests when the server answers at once (plain polling, static servers).
    pub poll_interval: Duration,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Longest silence while reading a response, beyond the long-poll wait.
    pub read_timeout: Duration,
    /// Longest whole request, beyond the long-poll wait.
    pub request_timeout: Duration,
    /// Largest body accepted.
    pub max_body_bytes: usize,
    /// First retry delay after a failure.
    pub backoff_min: Duration,
    /// Longest retry delay.
    pub backoff_max: Duration,
    /// This SDK instance (protocol: SDK instance identity): when set, every request carries
    /// `X-Act-Instance` and `X-Act-Snapshot-Version` (the version serving, 0 = none).
    pub instance_id: Option<String>,
    /// `User-Agent`, e.g. `act-sdk/python/0.1.0` (default `act-sdk/<core version>`).
    pub user_agent: Option<String>,
}

impl HttpSyncOptions {
    /// Defaults: 30 s long poll, 5 s polling, 5 s connect, 10 s read, 30 s request, 8 MiB, backoff 0.5–30 s.
    pub fn new(endpoint: impl Into<String>, trust_key: VerifyingKey) -> Self {
        HttpSyncOptions {
            endpoint: endpoint.into(),
            api_key: None,
            trust_key,
            cache_dir: None,
            version_mark: None,
            long_poll: Duration::from_secs(30),
            poll_interval: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_body_bytes: MAX_SNAPSHOT_BYTES,
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            instance_id: None,
            user_agent: None,
        }
    }

    /// The snapshot URL: `<endpoint>/v1/snapshot`.
    pub fn snapshot_url(&self) -> String {
        format!("{}/v1/snapshot", self.endpoint.trim_end_matches('/'))
    }
}

/// Starts keeping `engine` current from a control endpoint.
///
/// Before the thread starts, a cached snapshot in `cache_dir` is re-verified
/// and swapped in when newer than what the engine serves, so a restart with
/// the endpoint down still serves the last good policies. A rejected cache
/// file is reported in the status, not returned: the endpoint may fix it.
pub fn start_http(engine: Arc<Engine>, opts: HttpSyncOptions) -> Result<SyncHandle> {
    let url = opts.snapshot_url();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(Error::Config(format!(
            "endpoint `{}` must start with http:// or https://",
            opts.endpoint
        )));
    }
    if let Some(k) = &opts.api_key {
        if k.is_empty() || k.chars().any(|c| c.is_control() || c == ' ') {
            return Err(Error::Config(
                "api_key must be non-empty, without spaces or control characters".into(),
            ));
        }
    }
    let status = Arc::new(StatusCell::new(url.clone()));
    let mark_path = opts
        .version_mark
        .clone()
        .or_else(|| opts.cache_dir.as_ref().map(|d| d.join(mark::MARK_FILE)));
    let mut mark = Mark::open(mark_path)?;
    if let Some(dir) = &opts.cache_dir {
        let now = engine.now_ms();
        let check = |v: u64| mark.refuse(v, engine.snapshot().version, now);
        match cache::load_cached_checked(&engine, dir, &opts.trust_key, check) {
            Ok(Some(v)) => {
                status.update(|s| s.updates += u64::from(v > 0));
                if let Err(e) = mark.raise(v) {
                    status.failure(now, format!("cannot record the version high-water mark: {e}"));
                }
            }
            Ok(None) => {}
            Err(e) => status.failure(now, e.to_string()),
        }
    }
    let http = Http::new(&Timeouts {
        connect: opts.connect_timeout,
        read: opts.long_poll + opts.read_timeout,
    })?;
    let stop = Stop::new();
    let mut worker = Worker {
        engine: engine.clone(),
        opts,
        url,
        status: status.clone(),
        stop: stop.clone(),
        etag: None,
        mark,
    };
    SyncHandle::spawn("act-sync-http", engine, status, stop, move || worker.run(&http))
}

struct Worker {
    engine: Arc<Engine>,
    opts: HttpSyncOptions,
    url: String,
    status: Arc<StatusCell>,
    stop: Arc<Stop>,
    etag: Option<String>,
    mark: Mark,
}

/// What one request came to.
enum Step {
    /// A newer snapshot now serves (poll again at once); carries a cache write error, if any,
    /// and the answer's freshness statement.
    Updated(Option<String>, Option<String>),
    /// Nothing changed (pause when the server answered without waiting); the freshness statement.
    Unchanged(Option<String>),
    /// Retry after a backoff (or the server's `Retry-After`).
    Retry(String, Option<Duration>),
    /// Give up: retrying cannot help.
    Fatal(String),
}

impl Worker {
    fn run(&mut self, http: &Http) {
        let mut backoff = Backoff::new(self.opts.backoff_min, self.opts.backoff_max);
        while !self.stop.is_stopped() {
            let started = Instant::now();
            let stop = self.stop.clone();
            let Some(step) = http.run(&stop, self.poll(http)) else {
                return;
            };
            let now = self.engine.now_ms();
            let pause = match step {
                Step::Updated(cache_error, statement) => {
                    backoff.reset();
                    // Serving is right; a cache write error means only the restart copy is missing.
                    let stale = self.freshen(statement.as_deref(), now);
                    let problem = cache_error.or(stale);
                    self.status.success_reporting(now, problem);
                    Duration::ZERO
                }
                Step::Unchanged(statement) => {
                    backoff.reset();
                    let problem = self.freshen(statement.as_deref(), now);
                    self.status.success_reporting(now, problem);
                    // A server that ignores `wait` (a static file server) answers at once: poll gently.
                    let waited = started.elapsed();
                    if self.opts.long_poll.is_zero() || waited < self.opts.long_poll / 2 {
                        self.opts.poll_interval.saturating_sub(waited)
                    } else {
                        Duration::ZERO
                    }
                }
                Step::Retry(message, after) => {
                    let delay = backoff
                        .next_delay()
                        .max(after.unwrap_or_default())
                        .min(self.opts.backoff_max.max(Duration::from_millis(1)));
                    self.status.failure(
                        now,
                        format!(
                            "{message}; the previous snapshot keeps serving, retrying in {} ms",
                            delay.as_millis()
                        ),
                    );
                    delay
                }
                Step::Fatal(message) => {
                    self.status.failure(
                        now,
                        format!("{message}; sync stopped, the previous snapshot keeps serving"),
                    );
                    return;
                }
            };
            if !pause.is_zero() && self.stop.sleep(pause) {
                return;
            }
        }
    }

    async fn poll(&mut self, http: &Http) -> Step {
        let serving = self.engine.snapshot().version;
        let wait = self.opts.long_poll.as_secs();
        let url = if wait > 0 {
            format!("{}?wait={wait}", self.url)
        } else {
            self.url.clone()
        };
        let mut req = http
            .client
            .get(&url)
            .timeout(self.opts.long_poll + self.opts.request_timeout)
            .header(reqwest::header::ACCEPT, "application/jose, */*;q=0.1");
        if let Some(k) = &self.opts.api_key {
            req = req.bearer_auth(k);
        }
        if let Some(id) = &self.opts.instance_id {
            req = req
                .header("X-Act-Instance", id.as_str())
                .header("X-Act-Snapshot-Version", serving.to_string());
        }
        if let Some(ua) = &self.opts.user_agent {
            req = req.header(reqwest::header::USER_AGENT, ua.as_str());
        }
        if let (Some(tag), true) = (&self.etag, serving > 0) {
            req = req.header(reqwest::header::IF_NONE_MATCH, tag.as_str());
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return Step::Retry(format!("GET {url}: {}", describe(&e)), None),
        };
        let code = resp.status().as_u16();
        let statement = resp
            .headers()
            .get(crate::snapshot::FRESHNESS_HEADER)
            .map(|v| v.to_str().unwrap_or("(not text)").to_string());
        match code {
            200 => {}
            304 => return Step::Unchanged(statement),
            401 | 403 => {
                return Step::Fatal(format!(
                    "GET {url}: HTTP {code}: the control endpoint refused the API key"
                ))
            }
            429 | 500..=599 => {
                let after = retry_after(&resp);
                return Step::Retry(format!("GET {url}: HTTP {code}"), after);
            }
            _ => return Step::Retry(format!("GET {url}: unexpected HTTP {code}"), None),
        }
        let etag = resp
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = match read_capped(resp, self.opts.max_body_bytes).await {
            Ok(b) => b,
            Err(m) => return Step::Retry(format!("GET {url}: {m}"), None),
        };
        match self.install(&body) {
            Ok(Some(cache_error)) => {
                self.etag = etag;
                Step::Updated(cache_error, statement)
            }
            Ok(None) => {
                self.etag = etag;
                Step::Unchanged(statement)
            }
            Err(m) => Step::Retry(format!("snapshot from {url} rejected: {m}"), None),
        }
    }

    /// Moves the staleness clock to a verified statement's signed time, when it names the version
    /// serving; otherwise nothing moves, and the problem with a statement that is present but
    /// wrong is returned, to be published with the poll's success in one status update (so a
    /// reader never sees the success without the problem).
    fn freshen(&self, statement: Option<&str>, now: i64) -> Option<String> {
        let Some(statement) = statement else {
            // A static file server sends none: staleness counts from the snapshot's `issued_at`.
            return None;
        };
        let serving = self.engine.snapshot().version;
        let problem = match crate::snapshot::verify_freshness(statement, &self.opts.trust_key) {
            Ok(f) if f.version == serving => {
                // A statement from the future (clock skew) counts as now, never later.
                let at = f.issued_at.min(now);
                self.engine.confirm_fresh(at);
                self.status
                    .update(|s| s.last_fresh_ms = Some(s.last_fresh_ms.map_or(at, |prev| prev.max(at))));
                return None;
            }
            Ok(f) => format!(
                "the freshness statement names version {} but version {serving} serves; staleness not reset",
                f.version
            ),
            Err(e) => format!("{}; staleness not reset", inner(e)),
        };
        Some(problem)
    }

    /// Verifies, compiles and swaps in `body`, then caches it.
    /// `Ok(None)`: it is the version already serving; `Ok(Some(e))`: swapped, `e` a cache write error.
    fn install(&mut self, body: &[u8]) -> std::result::Result<Option<Option<String>>, String> {
        let doc = crate::snapshot::verify_document(body, &self.opts.trust_key).map_err(inner)?;
        let serving = self.engine.snapshot().version;
        if doc.version == serving {
            return Ok(None);
        }
        if doc.version < serving {
            return Err(format!(
                "version {} is older than the serving version {serving}",
                doc.version
            ));
        }
        self.mark.refresh();
        if let Some(why) = self.mark.refuse(doc.version, serving, self.engine.now_ms()) {
            return Err(why);
        }
        if let Some(exp) = doc.expires_at {
            if exp <= self.engine.now_ms() {
                return Err(format!("version {} expired at {exp} ms", doc.version));
            }
        }
        let doc_version = doc.version;
        let snap = doc.compile(self.engine.local_keys()).map_err(inner)?;
        self.engine.swap_snapshot(snap).map_err(inner)?;
        self.status.update(|s| s.updates += 1);
        // The cache first, then the mark: a crash between them leaves a cache at least as new as the mark.
        let cache_error = match &self.opts.cache_dir {
            Some(dir) => cache::persist(dir, body)
                .err()
                .map(|e| format!("cannot cache the snapshot: {e}")),
            None => None,
        };
        let mark_error = self
            .mark
            .raise(doc_version)
            .err()
            .map(|e| format!("cannot record the version high-water mark: {e}"));
        Ok(Some(cache_error.or(mark_error)))
    }
}
