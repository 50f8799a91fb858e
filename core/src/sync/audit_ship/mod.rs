//! Shipping audit records to the control endpoint: `POST /v1/audit`.
//!
//! Records go into a bounded in-memory queue; a shipper thread posts them in
//! batches (a JSON array of records) and removes them only once the endpoint
//! answered 2xx. When the queue is full (the endpoint is down or slow), records
//! spill to a JSON Lines file and from then on every new record goes there
//! too, so order is kept; the shipper replays the file, remembers how far it
//! got in `<spill>.offset`, and truncates it once everything was delivered. A
//! spill file left by a previous process is replayed at start. Delivery is
//! at-least-once: a batch may be re-sent after a timeout or a restart, and the
//! endpoint de-duplicates by record `id`.
//!
//! At shutdown (drop), the shipper keeps delivering for `shutdown_grace`,
//! then writes what is still queued in front of the undelivered spill, so the
//! next process replays everything in order (this alone may exceed
//! `max_spill_bytes`, by at most the queue's contents).
//!
//! Nothing is dropped silently: a record that fits neither the queue nor the
//! spill file (none configured, over `max_spill_bytes`, disk error) is counted
//! in [`AuditShipStats::dropped`], reported in `last_error`, and returned as an
//! error to the audit pipeline (see [`crate::Engine::audit_status`]).

mod spill;

use super::backoff::Backoff;
use super::client::{describe, Http, Timeouts};
use super::Stop;
use crate::audit::{cut_torn_tail, AuditRecord, AuditSink};
use crate::error::{Error, Result};
use spill::{offset_path, queue_to_disk, read_offset, save_in_front, spill, write_offset};
use std::collections::VecDeque;
use std::io::{BufRead, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How to ship audit records.
#[derive(Clone, Debug)]
pub struct HttpAuditOptions {
    /// Base URL; records are posted to `<endpoint>/v1/audit`.
    pub endpoint: String,
    /// Sent as `Authorization: Bearer <api_key>` when set.
    pub api_key: Option<String>,
    /// The JSON Lines spill file (none: a full queue drops, counted and reported).
    pub spill_path: Option<PathBuf>,
    /// Records held in memory before spilling (default 10 000).
    pub queue_capacity: usize,
    /// Records per `POST` (default 500).
    pub batch_size: usize,
    /// Largest spill file (default 256 MiB).
    pub max_spill_bytes: u64,
    /// Connect timeout (default 5 s).
    pub connect_timeout: Duration,
    /// Longest whole request (default 15 s).
    pub request_timeout: Duration,
    /// Retry delays (default 0.5–30 s).
    pub backoff_min: Duration,
    /// Longest retry delay.
    pub backoff_max: Duration,
    /// On drop, how long to keep delivering before the rest goes to the spill file (default 2 s).
    pub shutdown_grace: Duration,
    /// This SDK instance: sent as `X-Act-Instance`, so the endpoint keeps one chain per instance.
    pub instance_id: Option<String>,
    /// `User-Agent`, e.g. `act-sdk/python/0.1.0` (default `act-sdk/<core version>`).
    pub user_agent: Option<String>,
}

impl HttpAuditOptions {
    /// Options with defaults for `endpoint`.
    pub fn new(endpoint: impl Into<String>) -> Self {
        HttpAuditOptions {
            endpoint: endpoint.into(),
            api_key: None,
            spill_path: None,
            queue_capacity: 10_000,
            batch_size: 500,
            max_spill_bytes: 256 * 1024 * 1024,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(2),
            instance_id: None,
            user_agent: None,
        }
    }
}

/// Counters of an [`HttpAuditSink`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditShipStats {
    /// Records the endpoint acknowledged (a re-sent batch counts again).
    pub delivered: u64,
    /// Records waiting in memory.
    pub queued: u64,
    /// Bytes of spill file not yet delivered.
    pub spill_pending_bytes: u64,
    /// Records written to the spill file, ever.
    pub spilled: u64,
    /// Records that could be neither queued nor spilled: lost, and reported.
    pub dropped: u64,
    /// The last delivery or spill error; cleared by the next delivery.
    pub last_error: Option<String>,
}

struct State {
    queue: VecDeque<(String, String)>,
    spill: Option<std::fs::File>,
    spill_len: u64,
    spill_offset: u64,
    spilling: bool,
    /// Bumped whenever queued records move to disk or the spill file is rewritten: the answer
    /// to a batch read before that must not move the queue or the offset (its records are
    /// re-sent from the file; the endpoint de-duplicates by id).
    generation: u64,
    stats: AuditShipStats,
}

struct Shared {
    opts: HttpAuditOptions,
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An [`AuditSink`] that ships records to `POST /v1/audit` from its own thread.
pub struct HttpAuditSink {
    shared: Arc<Shared>,
    stop: Arc<Stop>,
    thread: Option<std::thread::JoinHandle<()>>,
    pid: u32,
}

/// A cloneable view of an [`HttpAuditSink`]'s counters, usable after the sink moved into an engine.
#[derive(Clone)]
pub struct AuditShipHandle(Arc<Shared>);

impl AuditShipHandle {
    /// The counters now.
    pub fn stats(&self) -> AuditShipStats {
        let s = self.0.lock();
        AuditShipStats {
            queued: s.queue.len() as u64,
            spill_pending_bytes: s.spill_len - s.spill_offset,
            ..s.stats.clone()
        }
    }
    /// Waits up to `timeout` until nothing is left to deliver; true if so.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let st = self.stats();
            if st.queued == 0 && st.spill_pending_bytes == 0 {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl HttpAuditSink {
    /// Opens the spill file (replaying what a previous process left) and starts the shipper thread.
    pub fn start(opts: HttpAuditOptions) -> Result<Self> {
        let url = format!("{}/v1/audit", opts.endpoint.trim_end_matches('/'));
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(Error::Config(format!(
                "endpoint `{}` must start with http:// or https://",
                opts.endpoint
            )));
        }
        let mut state = State {
            queue: VecDeque::new(),
            spill: None,
            spill_len: 0,
            spill_offset: 0,
            spilling: false,
            generation: 0,
            stats: AuditShipStats::default(),
        };
        if let Some(path) = &opts.spill_path {
            let io = |e| Error::io(path.display().to_string(), e);
            let f = std::fs::OpenOptions::new()
                .create(true)
                .read(true)
                .append(true)
                .open(path)
                .map_err(io)?;
            // A spill file cut mid-line by a crash: that line was never acknowledged (a flush
            // syncs whole lines only), so it moves to `<spill>.torn` and the next record starts
            // on a line of its own.
            cut_torn_tail(path, &f).map_err(io)?;
            state.spill_len = f.metadata().map_err(io)?.len();
            state.spill_offset = read_offset(path, state.spill_len);
            state.spilling = state.spill_len > state.spill_offset;
            state.spill = Some(f);
        }
        let http = Http::new(&Timeouts {
            connect: opts.connect_timeout,
            read: opts.request_timeout,
        })?;
        let shared = Arc::new(Shared {
            opts,
            state: Mutex::new(state),
            wake: Condvar::new(),
        });
        let stop = Stop::new();
        let (sh, sp) = (shared.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("act-audit-ship".into())
            .spawn(move || ship(&sh, &sp, &http, &url))
            .map_err(|e| Error::Internal(format!("cannot start the audit shipper: {e}")))?;
        Ok(HttpAuditSink {
            shared,
            stop,
            thread: Some(thread),
            pid: std::process::id(),
        })
    }

    /// A handle to the counters, to keep before boxing the sink into an engine.
    pub fn handle(&self) -> AuditShipHandle {
        AuditShipHandle(self.shared.clone())
    }
}

impl AuditSink for HttpAuditSink {
    fn write(&mut self, record: &AuditRecord, line: &str) -> Result<()> {
        let opts = &self.shared.opts;
        let mut s = self.shared.lock();
        if !s.spilling && s.queue.len() < opts.queue_capacity.max(1) {
            s.queue.push_back((record.id.clone(), line.to_string()));
            drop(s);
            self.shared.wake.notify_one();
            return Ok(());
        }
        // The queue is full (or already on disk): the queue goes to disk first, so the file
        // always holds the oldest undelivered records and a crash can only lose the newest.
        let result = queue_to_disk(&mut s, opts).and_then(|_| spill(&mut s, opts, line));
        if let Err(e) = &result {
            s.stats.dropped += 1;
            s.stats.last_error = Some(format!("audit record `{}` lost: {e}", record.id));
        }
        drop(s);
        self.shared.wake.notify_one();
        result.map_err(|e| {
            Error::Snapshot(format!(
                "audit record `{}` could not be queued or spilled: {e}",
                record.id
            ))
        })
    }

    /// Makes every record written so far durable: delivered, or in the spill file (moved there
    /// from memory and synced). Without a spill file, records in memory are lost on a crash.
    fn flush(&mut self) -> Result<()> {
        let mut s = self.shared.lock();
        if s.spill.is_some() {
            let opts = &self.shared.opts;
            queue_to_disk(&mut s, opts)
                .map_err(|e| Error::Snapshot(format!("audit records could not be made durable: {e}")))?;
            drop(s);
            self.shared.wake.notify_one();
            s = self.shared.lock();
        }
        if let Some(f) = &s.spill {
            f.sync_data().map_err(|e| Error::io("audit spill file", e))?;
        }
        Ok(())
    }
}

/// One batch in flight: where its records came from, and how many.
enum Batch {
    Memory { count: usize, generation: u64 },
    Spill { end: u64, count: usize, generation: u64 },
}

fn next_batch(shared: &Shared) -> Option<(Batch, String)> {
    let opts = &shared.opts;
    let s = shared.lock();
    if !s.queue.is_empty() {
        let n = s.queue.len().min(opts.batch_size.max(1));
        let body = format!(
            "[{}]",
            s.queue
                .iter()
                .take(n)
                .map(|(_, l)| l.as_str())
                .collect::<Vec<_>>()
                .join(",")
        );
        return Some((
            Batch::Memory {
                count: n,
                generation: s.generation,
            },
            body,
        ));
    }
    if s.spilling && s.spill_len > s.spill_offset {
        let (start, len, generation) = (s.spill_offset, s.spill_len, s.generation);
        drop(s);
        let path = opts.spill_path.as_ref()?;
        let mut f = std::fs::File::open(path).ok()?;
        f.seek(SeekFrom::Start(start)).ok()?;
        let mut reader = std::io::BufReader::new(f.take(len - start));
        let (mut lines, mut end, mut line) = (Vec::new(), start, String::new());
        while lines.len() < opts.batch_size.max(1) {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(n) if line.ends_with('\n') => {
                    end += n as u64;
                    let t = line.trim();
                    // A torn line (a crash mid-write) cannot be delivered; skip it rather than block the rest.
                    if serde_json::from_str::<serde_json::Value>(t).is_ok() {
                        lines.push(t.to_string());
                    }
                }
                Ok(_) => break,
            }
        }
        return Some((
            Batch::Spill {
                end,
                count: lines.len(),
                generation,
            },
            format!("[{}]", lines.join(",")),
        ));
    }
    None
}

fn delivered(shared: &Shared, batch: Batch) {
    let mut s = shared.lock();
    s.stats.last_error = None;
    match batch {
        Batch::Memory { generation, .. } | Batch::Spill { generation, .. } if generation != s.generation => {
            // The records moved to disk meanwhile; they are sent again from there.
        }
        Batch::Memory { count: n, .. } => {
            s.queue.drain(..n);
            s.stats.delivered += n as u64;
        }
        Batch::Spill { end, count, .. } => {
            s.spill_offset = end;
            s.stats.delivered += count as u64;
            if let Some(path) = shared.opts.spill_path.clone() {
                if s.spill_offset >= s.spill_len {
                    // Everything on disk arrived: start over with an empty file and go back to memory.
                    // The offset goes first: a crash in between then re-sends (harmless) instead of
                    // leaving an offset that would skip the next process's records.
                    let _ = std::fs::remove_file(offset_path(&path));
                    if let Some(f) = &s.spill {
                        let _ = f.set_len(0);
                    }
                    s.spill_len = 0;
                    s.spill_offset = 0;
                    s.spilling = false;
                } else if let Err(e) = write_offset(&path, end) {
                    s.stats.last_error = Some(format!("cannot record the spill offset: {e}"));
                }
            }
        }
    }
}

fn ship(shared: &Shared, stop: &Stop, http: &Http, url: &str) {
    let opts = &shared.opts;
    let mut backoff = Backoff::new(opts.backoff_min, opts.backoff_max);
    // Once stop is requested, delivery goes on until this deadline.
    let mut grace_until: Option<Instant> = None;
    loop {
        if stop.is_stopped() && grace_until.is_none() {
            grace_until = Some(Instant::now() + opts.shutdown_grace);
        }
        let remaining = grace_until.map(|g| g.saturating_duration_since(Instant::now()));
        if remaining.is_some_and(|r| r.is_zero()) {
            break;
        }
        let Some((batch, body)) = next_batch(shared) else {
            if stop.is_stopped() {
                break;
            }
            let s = shared.lock();
            let _ = shared.wake.wait_timeout(s, Duration::from_millis(200));
            continue;
        };
        let mut req = http
            .client
            .post(url)
            .timeout(opts.request_timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(k) = &opts.api_key {
            req = req.bearer_auth(k);
        }
        if let Some(id) = &opts.instance_id {
            req = req.header("X-Act-Instance", id.as_str());
        }
        if let Some(ua) = &opts.user_agent {
            req = req.header(reqwest::header::USER_AGENT, ua.as_str());
        }
        let grace = remaining.unwrap_or(opts.shutdown_grace);
        let result = http.rt.block_on(async {
            let send = req.send();
            tokio::pin!(send);
            tokio::select! {
                r = &mut send => Some(r),
                // Stopping: let the request in flight finish within the grace period.
                _ = stop.stopped() => tokio::time::timeout(grace, &mut send).await.ok(),
            }
        });
        let error = match result {
            Some(Ok(r)) if r.status().is_success() => None,
            Some(Ok(r)) => Some(format!("POST {url}: HTTP {}", r.status().as_u16())),
            Some(Err(e)) => Some(format!("POST {url}: {}", describe(&e))),
            None => Some(format!("POST {url}: no answer before shutdown")),
        };
        match error {
            None => {
                delivered(shared, batch);
                backoff.reset();
            }
            Some(e) => {
                let delay = backoff.next_delay();
                shared.lock().stats.last_error = Some(format!("{e}; retrying in {} ms", delay.as_millis()));
                match grace_until {
                    Some(g) => std::thread::sleep(delay.min(g.saturating_duration_since(Instant::now()))),
                    None => {
                        stop.sleep(delay);
                    }
                }
            }
        }
    }
    // Whatever is still in memory goes to disk for the next process; what cannot is reported.
    let mut s = shared.lock();
    let rest: Vec<String> = s.queue.drain(..).map(|(_, line)| line).collect();
    let lost = if rest.is_empty() {
        0
    } else {
        match save_in_front(&mut s, opts, &rest) {
            Ok(()) => 0,
            Err(e) => {
                s.stats.last_error = Some(e);
                rest.len() as u64
            }
        }
    };
    if let Some(f) = &s.spill {
        let _ = f.sync_data();
    }
    if lost > 0 {
        s.stats.dropped += lost;
        eprintln!("act: {lost} audit record(s) could not be delivered to {url} nor spilled to disk, and are lost");
    }
}

impl Drop for HttpAuditSink {
    fn drop(&mut self) {
        if std::process::id() != self.pid {
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
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
