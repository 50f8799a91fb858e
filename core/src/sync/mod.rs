//! Keeping an [`Engine`] current: policy sources run on a background thread owned by core.
//!
//! - [`watch_path`]: a local policy file or folder, polled for changes (the
//!   embedded default; local files are trusted as-is, unsigned).
//! - [`start_http`] (feature `http`): the control endpoint's `GET /v1/snapshot`
//!   with ETag, long poll, timeouts, a body cap and backoff with jitter; the last
//!   verified snapshot is cached on disk and re-verified at start.
//! - [`HttpAuditSink`] (feature `http`): ships audit records to `POST /v1/audit`.
//!
//! A candidate snapshot that fails to load, parse, verify or compile, or is
//! not newer, is rejected: the previous one keeps serving and [`Status`] says
//! why. Validations never wait for a source: the engine swaps snapshots
//! through an `ArcSwap`.
//!
//! # Fork safety
//!
//! A source's thread does not survive `fork()`: only the forking thread does.
//! Status is published through an `ArcSwap` and no lock is held across I/O,
//! so a forked child can still read [`SyncHandle::status`] (which then reports
//! that the thread is not running here) and drop the handle without hanging:
//! the handle notices the new process id and does not join a thread that does
//! not exist. **A forked child must start its own source** (for example, a
//! pre-fork server worker calls [`start_http`] in its post-fork hook).

#[cfg(feature = "http")]
mod audit_ship;
#[cfg(feature = "http")]
mod backoff;
#[cfg(feature = "http")]
mod cache;
#[cfg(feature = "http")]
pub(crate) mod client;
mod file;
#[cfg(feature = "http")]
mod http;
#[cfg(feature = "http")]
mod mark;

#[cfg(feature = "http")]
pub use audit_ship::{AuditShipHandle, AuditShipStats, HttpAuditOptions, HttpAuditSink};
#[cfg(feature = "http")]
pub use cache::{load_cached, CACHE_FILE};
pub use file::{watch_path, DEFAULT_FILE_POLL};
#[cfg(feature = "http")]
pub use http::{start_http, HttpSyncOptions};
#[cfg(feature = "http")]
pub use mark::{MARK_FILE, MAX_VERSION_LEAD};

use crate::engine::Engine;
use arc_swap::ArcSwap;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// What users see about a source: which snapshot serves, how old, and what went wrong last.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Status {
    /// Where snapshots come from: `file:<path>` or the snapshot URL.
    pub source: String,
    /// The version serving now (0: none yet, validations deny `no_snapshot`).
    pub version: u64,
    /// Age of the serving snapshot (now minus its issue time), ms; `None` without a snapshot.
    pub age_ms: Option<i64>,
    /// When the source last succeeded (a new snapshot, or a confirmation that nothing changed), ms since the epoch.
    pub last_success_ms: Option<i64>,
    /// The signed time of the last freshness statement that proved the serving version current
    /// (endpoint sources; `max_staleness` counts from the later of this and the snapshot's
    /// `issued_at`). `None`: none yet, e.g. a static file server, which sends none.
    pub last_fresh_ms: Option<i64>,
    /// The last failure, e.g. `HTTP 500 from ...` or `snapshot rejected: the signature does not verify ...`.
    /// Cleared by the next success.
    pub last_error: Option<String>,
    /// When `last_error` happened, ms since the epoch.
    pub last_error_ms: Option<i64>,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// Snapshots swapped in by this source.
    pub updates: u64,
    /// Whether the background thread runs (false after [`SyncHandle::stop`], a fatal error such as
    /// HTTP 401/403, or in a forked child).
    pub running: bool,
}

/// The status a source thread publishes; readers never block it.
pub(crate) struct StatusCell(ArcSwap<Status>);

impl StatusCell {
    pub(crate) fn new(source: String) -> Self {
        StatusCell(ArcSwap::from_pointee(Status {
            source,
            running: true,
            ..Status::default()
        }))
    }
    /// Copy-modify-store; only the source thread (and `stop`) write.
    pub(crate) fn update(&self, f: impl FnOnce(&mut Status)) {
        let mut next = Status::clone(&self.0.load());
        f(&mut next);
        self.0.store(Arc::new(next));
    }
    pub(crate) fn success(&self, now_ms: i64) {
        self.update(|s| {
            s.last_success_ms = Some(now_ms);
            s.last_error = None;
            s.consecutive_failures = 0;
        });
    }
    /// A poll that succeeded but has something to report (a cache write error, a wrong
    /// freshness statement): one update, so readers see both or neither.
    pub(crate) fn success_reporting(&self, now_ms: i64, problem: Option<String>) {
        self.update(|s| {
            s.last_success_ms = Some(now_ms);
            s.consecutive_failures = 0;
            s.last_error = problem;
            if s.last_error.is_some() {
                s.last_error_ms = Some(now_ms);
            }
        });
    }
    pub(crate) fn failure(&self, now_ms: i64, message: String) {
        self.update(|s| {
            s.last_error = Some(message);
            s.last_error_ms = Some(now_ms);
            s.consecutive_failures = s.consecutive_failures.saturating_add(1);
        });
    }
    pub(crate) fn load(&self) -> Arc<Status> {
        self.0.load_full()
    }
}

/// A stop request, observable by blocking sleeps (and, with `http`, by async tasks).
pub(crate) struct Stop {
    flag: AtomicBool,
    lock: Mutex<()>,
    cv: Condvar,
    #[cfg(feature = "http")]
    tx: tokio::sync::watch::Sender<bool>,
}

impl Stop {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Stop {
            flag: AtomicBool::new(false),
            lock: Mutex::new(()),
            cv: Condvar::new(),
            #[cfg(feature = "http")]
            tx: tokio::sync::watch::channel(false).0,
        })
    }
    pub(crate) fn stop(&self) {
        self.flag.store(true, Ordering::SeqCst);
        #[cfg(feature = "http")]
        self.tx.send_replace(true);
        let _guard = self.lock.lock();
        self.cv.notify_all();
    }
    pub(crate) fn is_stopped(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
    /// Sleeps up to `d`; true when stopped meanwhile.
    pub(crate) fn sleep(&self, d: Duration) -> bool {
        let deadline = std::time::Instant::now() + d;
        let mut guard = match self.lock.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        while !self.is_stopped() {
            let now = std::time::Instant::now();
            if now >= deadline {
                break;
            }
            guard = match self.cv.wait_timeout(guard, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        self.is_stopped()
    }
    /// Resolves once stop was requested.
    #[cfg(feature = "http")]
    pub(crate) async fn stopped(&self) {
        let mut rx = self.tx.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }
}

/// A running source. Dropping it stops the thread and waits for it.
pub struct SyncHandle {
    engine: Arc<Engine>,
    status: Arc<StatusCell>,
    stop: Arc<Stop>,
    thread: Option<std::thread::JoinHandle<()>>,
    pid: u32,
}

impl SyncHandle {
    pub(crate) fn spawn(
        name: &str,
        engine: Arc<Engine>,
        status: Arc<StatusCell>,
        stop: Arc<Stop>,
        body: impl FnOnce() + Send + 'static,
    ) -> crate::Result<Self> {
        let st = status.clone();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                // A panic in a source must not take the host down; it is reported instead.
                if std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).is_err() {
                    st.failure(
                        crate::clock::Clock::now_ms(&crate::clock::SystemClock),
                        "internal error: the sync thread panicked".into(),
                    );
                }
                st.update(|s| s.running = false);
            })
            .map_err(|e| crate::Error::Internal(format!("cannot start the sync thread: {e}")))?;
        Ok(SyncHandle {
            engine,
            status,
            stop,
            thread: Some(thread),
            pid: std::process::id(),
        })
    }

    /// The current status (never blocks).
    pub fn status(&self) -> Status {
        let mut s = Status::clone(&self.status.load());
        let snap = self.engine.snapshot();
        s.version = snap.version;
        s.age_ms = (snap.version > 0).then(|| self.engine.now_ms() - snap.issued_at_ms);
        if std::process::id() != self.pid {
            s.running = false;
            s.last_error =
                Some("this is a forked child: the sync thread runs only in the parent; start a new source here".into());
        }
        s
    }

    /// The engine this source keeps current.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Waits up to `timeout` until a snapshot of at least `version` serves; true if it does.
    pub fn wait_for_version(&self, version: u64, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if self.engine.snapshot().version >= version {
                return true;
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Stops the thread and waits for it (at most one in-flight request's cancellation).
    pub fn stop(&mut self) {
        if std::process::id() != self.pid {
            // A forked child: the thread does not exist here, and a lock it held at fork time
            // may never be released, so only raise the flag and forget the handle.
            self.stop.flag.store(true, Ordering::SeqCst);
            if let Some(t) = self.thread.take() {
                #[expect(
                    clippy::mem_forget,
                    reason = "a forked child has no such thread: dropping the handle would detach a thread id that is not ours"
                )]
                std::mem::forget(t);
            }
            return;
        }
        self.stop.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.status.update(|s| s.running = false);
    }
}

impl Drop for SyncHandle {
    fn drop(&mut self) {
        self.stop();
    }
}
