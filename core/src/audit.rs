//! Audit records: one per decision, hash-chained, written by a background thread.
//!
//! `validate` only moves a small pending record into a bounded queue; hashing,
//! redaction, JSON and the sinks run on the audit thread, off the hot path.
//! A full queue blocks the caller instead of dropping a record, and
//! [`Auditor::flush`] waits until everything queued has reached every sink.
//! Each record carries `prev_hash` and `hash = SHA-256(prev_hash "\n" record
//! without hash)`, so [`verify_log`] notices a removed, reordered or edited line.

pub mod checkpoint;
pub mod retention;

use crate::decision::Outcome;
use crate::error::{Error, Result};
use crate::keys::SigningKey;
use crate::reason::Reason;
use crossbeam_queue::ArrayQueue;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// The `prev_hash` of the first record of a chain.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Replacement for redacted context values.
pub const REDACTED: &str = "[redacted]";

/// One audit record, as written to sinks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Unique id (also in the decision).
    pub id: String,
    /// RFC 3339 time of the decision, milliseconds, UTC.
    pub time: String,
    /// Outcome.
    pub outcome: Outcome,
    /// Reason code.
    pub reason: Reason,
    /// Human message.
    pub message: String,
    /// Agent id, when the token could be read.
    pub agent: Option<String>,
    /// Subject, when the token could be read.
    pub subject: Option<String>,
    /// Token id.
    pub jti: Option<String>,
    /// Action.
    pub action: String,
    /// Resource.
    pub resource: String,
    /// Context, with the policy's sensitive fields redacted.
    pub context: Value,
    /// Deciding grant.
    pub rule: Option<String>,
    /// Deciding constraint.
    pub constraint: Option<String>,
    /// Snapshot version.
    pub snapshot_version: u64,
    /// Time spent deciding, microseconds.
    pub latency_us: u64,
    /// What the agent's shadow policy would have decided; absent (and so outside the hash, as
    /// in records written before shadow mode) when the agent has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow: Option<crate::decision::ShadowOutcome>,
    /// Set on an alert record instead of a decision: `breaker_opened` (see [`crate::alerts`]).
    /// Absent on decisions, and so outside the hash, as in records written before alerts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// Hash of the previous record.
    pub prev_hash: String,
    /// Hash of this record.
    pub hash: String,
}

impl AuditRecord {
    /// SHA-256 (hex) of `prev_hash`, a newline, and this record serialized with an empty `hash`.
    #[expect(
        clippy::expect_used,
        reason = "a record is strings, numbers and JSON values: serde_json cannot fail on it"
    )]
    pub fn compute_hash(&self) -> String {
        let mut copy = self.clone();
        copy.hash = String::new();
        chain_hash(
            &self.prev_hash,
            &serde_json::to_string(&copy).expect("audit records serialize"),
        )
    }
}

fn chain_hash(prev: &str, body_without_hash: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(body_without_hash.as_bytes());
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The id of record `seq` of an engine: `<prefix>-<seq in hex>`.
pub(crate) fn audit_id(prefix: &str, seq: u64) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut id = String::with_capacity(prefix.len() + 17);
    id.push_str(prefix);
    id.push('-');
    let digits = (64 - seq.leading_zeros()).div_ceil(4).max(1);
    for i in (0..digits).rev() {
        id.push(HEX[((seq >> (i * 4)) & 0xf) as usize] as char);
    }
    id
}

/// What the hot path hands to the audit thread. Boxes are recycled between the
/// two threads with their string buffers, so a steady stream of decisions
/// allocates nothing (and the writer never frees what `validate` allocated,
/// which made glibc's malloc take a lock on every record).
pub(crate) struct Pending {
    /// Engine-unique prefix and sequence number; the writer formats `prefix-seq`.
    pub id_prefix: String,
    pub seq: u64,
    pub time_ms: i64,
    pub outcome: Outcome,
    pub reason: Reason,
    // Strings are copied into reused buffers rather than sharing the engine's
    // `Arc<str>`s: shared reference counts bounce between cores when several
    // threads validate at once.
    pub message: String,
    pub agent: Option<String>,
    pub subject: Option<String>,
    pub jti: Option<String>,
    pub action: String,
    pub resource: String,
    /// The context as JSON text (a reused buffer instead of a deep copy).
    pub context_json: Vec<u8>,
    pub redact: Option<Arc<[String]>>,
    pub rule: Option<String>,
    pub constraint: Option<String>,
    pub snapshot_version: u64,
    pub latency_us: u64,
    pub shadow: Option<crate::decision::ShadowOutcome>,
    /// `Some` makes this an alert record (see [`AuditRecord::event`]).
    pub event: Option<&'static str>,
}

impl Default for Pending {
    fn default() -> Self {
        Pending {
            id_prefix: String::new(),
            seq: 0,
            time_ms: 0,
            outcome: Outcome::Deny,
            reason: Reason::RequestInvalid,
            message: String::new(),
            agent: None,
            subject: None,
            jti: None,
            action: String::new(),
            resource: String::new(),
            context_json: Vec::new(),
            redact: None,
            rule: None,
            constraint: None,
            snapshot_version: 0,
            latency_us: 0,
            shadow: None,
            event: None,
        }
    }
}

/// Copies `src` into the reused buffer `dst`, keeping its capacity.
pub(crate) fn set_text(dst: &mut Option<String>, src: Option<&str>) {
    match (dst.as_mut(), src) {
        (Some(d), Some(s)) => {
            d.clear();
            d.push_str(s);
        }
        (None, Some(s)) => *dst = Some(s.to_string()),
        (_, None) => *dst = None,
    }
}

impl Pending {
    /// Drops shared references so a recycled box does not keep old policies alive.
    fn release(&mut self) {
        self.redact = None;
    }
}

/// A destination for records.
pub trait AuditSink: Send {
    /// Writes one record; `line` is its JSON.
    fn write(&mut self, record: &AuditRecord, line: &str) -> Result<()>;
    /// Makes written records durable.
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
    /// The hash of the last record already in this sink, to continue its chain after a restart.
    fn last_hash(&self) -> Option<String> {
        None
    }
}

/// Keeps records in memory; clone the handle to read them.
#[derive(Clone, Default)]
pub struct MemorySink(pub Arc<Mutex<Vec<AuditRecord>>>);

impl MemorySink {
    /// A copy of the records so far.
    pub fn records(&self) -> Vec<AuditRecord> {
        self.0.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl AuditSink for MemorySink {
    fn write(&mut self, record: &AuditRecord, _: &str) -> Result<()> {
        self.0
            .lock()
            .map_err(|_| Error::Internal("memory sink poisoned".into()))?
            .push(record.clone());
        Ok(())
    }
}

/// Calls a host function for each record (on the audit thread); it answers `Err(why)` when it
/// failed. A failure or a panic in the callback becomes this sink's error (counted in the
/// client's status as `audit_errors`, with `audit_last_error`), never an unwind into the audit
/// thread.
pub struct CallbackSink<F>(pub F);

impl<F: FnMut(&AuditRecord) -> std::result::Result<(), String> + Send> AuditSink for CallbackSink<F> {
    fn write(&mut self, record: &AuditRecord, _line: &str) -> Result<()> {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (self.0)(record))) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(Error::Internal(message)),
            Err(_) => Err(Error::Internal("the audit callback panicked".into())),
        }
    }
}

/// Appends JSON Lines to a file, continuing the hash chain already in it.
///
/// A crash (even SIGKILL) can leave the file's last line incomplete, never an earlier one:
/// [`flush`](AuditSink::flush) returns only after whole lines reached the disk. At open, such
/// a torn last line (the file does not end with a newline) is not taken as data: its bytes are
/// moved to `<path>.torn` and the file is truncated after its last complete line, and the chain
/// continues from the last complete record, so the log verifies again. If that last complete
/// line is not an audit record, opening fails: the chain cannot be continued honestly.
pub struct JsonlSink {
    path: String,
    file: std::io::BufWriter<std::fs::File>,
    last: Option<String>,
    /// Records in the file and its length, kept only with checkpoints.
    count: u64,
    bytes: u64,
    checkpoints: Option<checkpoint::Writer>,
    /// Rotation and retention ([`retention`]), and the time of the live file's first record.
    retention: Option<(retention::Retention, Option<i64>)>,
}

/// Cuts an incomplete last line (no final newline) off `f`, appending its bytes to
/// `<path>.torn`. Returns how many bytes were removed.
pub(crate) fn cut_torn_tail(path: &std::path::Path, f: &std::fs::File) -> std::io::Result<u64> {
    let len = f.metadata()?.len();
    if len == 0 || read_at(f, len - 1, 1)? == b"\n" {
        return Ok(0);
    }
    let keep = last_newline(f, len)?.map_or(0, |p| p + 1);
    let torn = read_at(f, keep, (len - keep) as usize)?;
    let mut aside = path.as_os_str().to_owned();
    aside.push(".torn");
    let mut t = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(std::path::PathBuf::from(aside))?;
    t.write_all(&torn)?;
    t.write_all(b"\n")?;
    t.sync_all()?;
    f.set_len(keep)?;
    f.sync_all()?;
    Ok(len - keep)
}

fn read_at(f: &std::fs::File, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut r = f;
    r.seek(SeekFrom::Start(offset))?;
    let mut buf = vec![0; len];
    r.read_exact(&mut buf)?;
    Ok(buf)
}

/// The position of the last `\n` before `end`, reading backwards in blocks.
fn last_newline(f: &std::fs::File, end: u64) -> std::io::Result<Option<u64>> {
    const BLOCK: u64 = 64 * 1024;
    let mut hi = end;
    while hi > 0 {
        let lo = hi.saturating_sub(BLOCK);
        let buf = read_at(f, lo, (hi - lo) as usize)?;
        if let Some(i) = buf.iter().rposition(|b| *b == b'\n') {
            return Ok(Some(lo + i as u64));
        }
        hi = lo;
    }
    Ok(None)
}

/// The last non-blank line of `f`, whose `len` bytes end with a newline (or are none),
/// reading backwards so a long log is not read whole at every start.
fn last_nonblank_line(f: &std::fs::File, len: u64) -> std::io::Result<Option<String>> {
    let mut end = len;
    while end > 0 {
        let start = last_newline(f, end - 1)?.map_or(0, |p| p + 1);
        let line = read_at(f, start, (end - 1 - start) as usize)?;
        let text = String::from_utf8_lossy(&line);
        if !text.trim().is_empty() {
            return Ok(Some(text.into_owned()));
        }
        end = start;
    }
    Ok(None)
}

impl JsonlSink {
    /// Opens (or creates) `path` for appending, repairing a torn last line (see [`JsonlSink`]).
    pub fn open(path: impl Into<String>) -> Result<Self> {
        let path = path.into();
        let io = |e| Error::io(path.clone(), e);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        cut_torn_tail(std::path::Path::new(&path), &file).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let last = last_nonblank_line(&file, len)
            .map_err(io)?
            .map(|l| Self::hash_of(&path, &l))
            .transpose()?;
        Ok(JsonlSink {
            path,
            file: std::io::BufWriter::new(file),
            last,
            count: 0,
            bytes: len,
            checkpoints: None,
            retention: None,
        })
    }

    /// Rotates this log and deletes rotated files past retention as [`retention`] describes.
    /// `open_with_checkpoints(...)?.with_retention(r)` signs the `<log>.pruned` entries too.
    pub fn with_retention(mut self, r: retention::Retention) -> Result<Self> {
        // The live file's first record starts its rotation clock.
        let f = std::fs::File::open(&self.path).map_err(|e| Error::io(self.path.clone(), e))?;
        let first = BufRead::lines(std::io::BufReader::new(f))
            .map_while(|l| l.ok())
            .find(|l| !l.trim().is_empty())
            .and_then(|l| serde_json::from_str::<AuditRecord>(&l).ok())
            .and_then(|r| retention::record_ms(&r));
        self.retention = Some((r, first));
        Ok(self)
    }

    /// Before writing a record of time `t`: rotate when the live file is full or old enough, then
    /// delete rotated files past retention. A failed deletion (say, a rotated file that no longer
    /// verifies) comes back as `Ok(Some(error))`: the record is still written, then the error
    /// reported, so retention trouble never stops the audit log.
    fn rotate_if_due(&mut self, t: i64) -> Result<Option<Error>> {
        let Some((r, first)) = &self.retention else {
            return Ok(None);
        };
        let due = first.is_some_and(|f| self.bytes >= r.rotate_bytes || t - f >= r.rotate_after_ms);
        if !due {
            return Ok(None);
        }
        let r = r.clone();
        self.flush()?;
        let path = std::path::PathBuf::from(&self.path);
        retention::rotate(&path)?;
        let io = |e| Error::io(self.path.clone(), e);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&self.path)
            .map_err(io)?;
        if let Some(w) = self.checkpoints.take() {
            let (writer, _) = checkpoint::Writer::open(&path, w.key, &file, 0)?;
            self.checkpoints = Some(writer);
        }
        self.file = std::io::BufWriter::new(file);
        (self.count, self.bytes) = (0, 0);
        self.retention = Some((r.clone(), None));
        if let Some(keep) = r.retain_for_ms {
            let key = self.checkpoints.as_ref().map(|w| &w.key);
            return Ok(retention::prune(&path, keep, t, key).err());
        }
        Ok(None)
    }

    /// Like [`open`](Self::open), also signing checkpoints of the chain head with the host's audit
    /// key `key` into `<path>.checkpoints` after every flush that wrote records and every
    /// [`checkpoint::CHECKPOINT_EVERY`] records (see [`checkpoint`]).
    ///
    /// At open the log is checked against its last checkpoint: if records were removed from its
    /// end, or the last checkpointed record was edited, this fails with `audit_chain_broken`
    /// ([`Error::AuditChain`]) instead of silently continuing a chain that lost records.
    pub fn open_with_checkpoints(path: impl Into<String>, key: SigningKey) -> Result<Self> {
        let mut sink = Self::open(path)?;
        let (writer, count) =
            checkpoint::Writer::open(std::path::Path::new(&sink.path), key, sink.file.get_ref(), sink.bytes)?;
        sink.count = count;
        sink.checkpoints = Some(writer);
        Ok(sink)
    }

    fn hash_of(path: &str, line: &str) -> Result<String> {
        serde_json::from_str::<AuditRecord>(line.trim())
            .map(|r| r.hash)
            .map_err(|e| {
                Error::Config(format!(
                "audit log {path}: the last line is not an audit record ({e}); refusing to continue its hash chain \
                 (check it with `act audit verify`)"
            ))
            })
    }
}

impl AuditSink for JsonlSink {
    fn write(&mut self, record: &AuditRecord, line: &str) -> Result<()> {
        let mut prune_error = None;
        if self.retention.is_some() {
            if let Some(t) = retention::record_ms(record) {
                prune_error = self.rotate_if_due(t)?;
                if let Some((_, first)) = &mut self.retention {
                    first.get_or_insert(t);
                }
            }
        }
        self.file
            .write_all(line.as_bytes())
            .and_then(|_| self.file.write_all(b"\n"))
            .map_err(|e| Error::io(self.path.clone(), e))?;
        self.bytes += line.len() as u64 + 1;
        self.last = Some(record.hash.clone());
        if let Some(w) = &mut self.checkpoints {
            self.count += 1;
            w.pending += 1;
            if w.pending >= checkpoint::CHECKPOINT_EVERY {
                self.flush()?;
            }
        }
        prune_error.map_or(Ok(()), Err)
    }
    fn flush(&mut self) -> Result<()> {
        self.file
            .flush()
            .and_then(|_| self.file.get_ref().sync_data())
            .map_err(|e| Error::io(self.path.clone(), e))?;
        // Signed only once the records it covers are on disk.
        match (&mut self.checkpoints, &self.last) {
            (Some(w), Some(head)) if w.pending > 0 => w.write(self.count, head, self.bytes),
            _ => Ok(()),
        }
    }
    fn last_hash(&self) -> Option<String> {
        self.last.clone()
    }
}

/// Counters of the audit pipeline.
#[derive(Debug, Default)]
pub struct AuditStats {
    /// Records written to every sink.
    pub written: AtomicU64,
    /// Sink write failures (the record may be missing from that sink).
    pub sink_errors: AtomicU64,
    /// Times `validate` had to wait because the queue was full.
    pub backpressure_waits: AtomicU64,
}

/// How long the writer sleeps when idle; bounds how late a record reaches its sinks.
const IDLE_WAIT: Duration = Duration::from_millis(2);

struct Shared {
    queue: ArrayQueue<Box<Pending>>,
    recycle: ArrayQueue<Box<Pending>>,
    stats: AuditStats,
    last_error: Mutex<Option<String>>,
    flush_requested: AtomicU64,
    flushed: Mutex<u64>,
    flushed_cv: Condvar,
    stop: AtomicBool,
}

/// The audit pipeline: a bounded lock-free queue and one writer thread.
///
/// Producers never make a system call: the writer polls while idle, and is
/// woken only when the queue is full (then the producer waits for room, so a
/// record is never dropped) or on [`flush`](Auditor::flush).
pub struct Auditor {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Auditor {
    /// Starts the writer thread over `sinks`, with a queue of `capacity` records.
    pub fn start(sinks: Vec<Box<dyn AuditSink>>, capacity: usize) -> Result<Self> {
        let shared = Arc::new(Shared {
            queue: ArrayQueue::new(capacity.max(16)),
            recycle: ArrayQueue::new(1024),
            stats: AuditStats::default(),
            last_error: Mutex::new(None),
            flush_requested: AtomicU64::new(0),
            flushed: Mutex::new(0),
            flushed_cv: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let prev = sinks
            .iter()
            .find_map(|s| s.last_hash())
            .unwrap_or_else(|| GENESIS_HASH.to_string());
        let s2 = shared.clone();
        let thread = std::thread::Builder::new()
            .name("act-audit".into())
            .spawn(move || run(&s2, sinks, prev))
            .map_err(|e| Error::Internal(format!("the audit writer thread could not start: {e}")))?;
        Ok(Auditor {
            shared,
            thread: Some(thread),
        })
    }

    /// Pipeline counters.
    pub fn stats(&self) -> &AuditStats {
        &self.shared.stats
    }

    /// Fills a (recycled) record and queues it; waits for room when the queue
    /// is full rather than dropping it.
    pub(crate) fn submit(&self, fill: impl FnOnce(&mut Pending)) {
        let mut item = self.shared.recycle.pop().unwrap_or_default();
        fill(&mut item);
        loop {
            match self.shared.queue.push(item) {
                Ok(()) => return,
                Err(back) => {
                    item = back;
                    self.shared.stats.backpressure_waits.fetch_add(1, Ordering::Relaxed);
                    if let Some(t) = &self.thread {
                        t.thread().unpark();
                    }
                    std::thread::yield_now();
                }
            }
        }
    }

    /// Waits until every record queued so far has reached every sink and was flushed.
    pub fn flush(&self) {
        let Some(t) = &self.thread else { return };
        let ticket = self.shared.flush_requested.fetch_add(1, Ordering::SeqCst) + 1;
        t.thread().unpark();
        let mut done = self.shared.flushed.lock().unwrap_or_else(|e| e.into_inner());
        while *done < ticket {
            done = self
                .shared
                .flushed_cv
                .wait_timeout(done, IDLE_WAIT)
                .unwrap_or_else(|e| e.into_inner())
                .0;
            t.thread().unpark();
        }
    }

    /// The last sink error, if any.
    pub fn last_error(&self) -> Option<String> {
        self.shared.last_error.lock().ok().and_then(|e| e.clone())
    }
}

impl Drop for Auditor {
    fn drop(&mut self) {
        self.flush();
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

#[expect(
    clippy::expect_used,
    reason = "a record is strings, numbers and JSON values: serde_json cannot fail on it"
)]
fn finish(p: &Pending, prev: &str) -> (AuditRecord, String) {
    let mut context: Map<String, Value> = serde_json::from_slice(&p.context_json).unwrap_or_default();
    if let Some(fields) = &p.redact {
        crate::policy::redact::redact_with(&mut context, fields, &mut |_| Value::String(REDACTED.into()));
    }
    let time = chrono::DateTime::from_timestamp_millis(p.time_ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default();
    let s = |a: &Option<String>| a.clone();
    let mut r = AuditRecord {
        id: audit_id(&p.id_prefix, p.seq),
        time,
        outcome: p.outcome,
        reason: p.reason,
        message: p.message.clone(),
        agent: s(&p.agent),
        subject: s(&p.subject),
        jti: s(&p.jti),
        action: p.action.clone(),
        resource: p.resource.clone(),
        context: Value::Object(context),
        rule: s(&p.rule),
        constraint: s(&p.constraint),
        snapshot_version: p.snapshot_version,
        latency_us: p.latency_us,
        shadow: p.shadow.clone(),
        event: p.event.map(str::to_string),
        prev_hash: prev.to_string(),
        hash: String::new(),
    };
    // Serialize once: hash the body with an empty `hash`, then splice the hash into the line.
    let body = serde_json::to_string(&r).expect("audit records serialize");
    r.hash = chain_hash(&r.prev_hash, &body);
    let marker = "\"hash\":\"\"}";
    debug_assert!(body.ends_with(marker), "`hash` is the last field");
    let line = format!("{}\"hash\":\"{}\"}}", &body[..body.len() - marker.len()], r.hash);
    (r, line)
}

fn run(shared: &Shared, mut sinks: Vec<Box<dyn AuditSink>>, mut prev: String) {
    let report = |e: Error| {
        shared.stats.sink_errors.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut slot) = shared.last_error.lock() {
            *slot = Some(e.to_string());
        }
    };
    loop {
        // Read the flush ticket before draining: every record queued before it is drained now.
        let ticket = shared.flush_requested.load(Ordering::SeqCst);
        while let Some(mut p) = shared.queue.pop() {
            if !sinks.is_empty() {
                let (record, line) = finish(&p, &prev);
                for sink in sinks.iter_mut() {
                    if let Err(e) = sink.write(&record, &line) {
                        report(e);
                    }
                }
                prev = record.hash;
            }
            shared.stats.written.fetch_add(1, Ordering::Relaxed);
            p.release();
            let _ = shared.recycle.push(p);
        }
        let mut flushed = shared.flushed.lock().unwrap_or_else(|e| e.into_inner());
        if *flushed < ticket {
            for sink in sinks.iter_mut() {
                if let Err(e) = sink.flush() {
                    report(e);
                }
            }
            *flushed = ticket;
            shared.flushed_cv.notify_all();
        }
        drop(flushed);
        if shared.stop.load(Ordering::SeqCst) && shared.queue.is_empty() {
            return;
        }
        std::thread::park_timeout(IDLE_WAIT);
    }
}

/// A broken link in an audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong there.
    pub message: String,
}

/// Checks a JSON Lines audit log. `start` is the expected first `prev_hash`
/// (the genesis hash for a log that starts a chain). Returns the record count.
///
/// A chain alone cannot show that its last records were removed, or that it was edited and
/// re-hashed from the edit on: check it against signed checkpoints for that
/// ([`checkpoint::verify_log_with_checkpoints`]).
pub fn verify_log(reader: impl BufRead, start: Option<&str>) -> Result<usize, ChainError> {
    walk(reader, start, |_, _, _| Ok(()))
}

/// Walks a single-chain log, checking every link, and calls `each(line, count so far, record)`.
pub(crate) fn walk(
    reader: impl BufRead,
    start: Option<&str>,
    mut each: impl FnMut(usize, usize, &AuditRecord) -> Result<(), ChainError>,
) -> Result<usize, ChainError> {
    let mut prev: Option<String> = start.map(str::to_string);
    let mut count = 0;
    for (i, line) in reader.lines().enumerate() {
        let n = i + 1;
        let line = line.map_err(|e| ChainError {
            line: n,
            message: format!("unreadable: {e}"),
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let rec: AuditRecord = serde_json::from_str(&line).map_err(|e| ChainError {
            line: n,
            message: format!("not an audit record: {e}"),
        })?;
        if rec.compute_hash() != rec.hash {
            return Err(ChainError {
                line: n,
                message: format!("record `{}` was edited: its hash does not match", rec.id),
            });
        }
        if let Some(p) = &prev {
            if &rec.prev_hash != p {
                return Err(ChainError {
                    line: n,
                    message: format!(
                        "record `{}` does not follow the previous one: a record was removed or reordered",
                        rec.id
                    ),
                });
            }
        }
        count += 1;
        each(n, count, &rec)?;
        prev = Some(rec.hash);
    }
    Ok(count)
}

/// Checks a log that merges several chains, as a control endpoint's ingest file does (one chain
/// per SDK process, interleaved). Every record's hash must match its content, and its
/// `prev_hash` must be the genesis hash or the hash of an earlier record that no other record
/// already follows. Returns (records, chains).
pub fn verify_merged_log(reader: impl BufRead) -> Result<(usize, usize), ChainError> {
    let mut open_tails: std::collections::HashSet<String> = std::collections::HashSet::new();
    let (mut count, mut chains) = (0, 0);
    for (i, line) in reader.lines().enumerate() {
        let n = i + 1;
        let line = line.map_err(|e| ChainError {
            line: n,
            message: format!("unreadable: {e}"),
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let rec: AuditRecord = serde_json::from_str(&line).map_err(|e| ChainError {
            line: n,
            message: format!("not an audit record: {e}"),
        })?;
        if rec.compute_hash() != rec.hash {
            return Err(ChainError {
                line: n,
                message: format!("record `{}` was edited: its hash does not match", rec.id),
            });
        }
        if rec.prev_hash == GENESIS_HASH {
            chains += 1;
        } else if !open_tails.remove(&rec.prev_hash) {
            return Err(ChainError {
                line: n,
                message: format!(
                    "record `{}` follows no earlier record: a record was removed or reordered",
                    rec.id
                ),
            });
        }
        open_tails.insert(rec.hash);
        count += 1;
    }
    Ok((count, chains))
}

#[cfg(test)]
mod tests {
    #[test]
    fn audit_ids_are_prefix_dash_hex() {
        for seq in [0u64, 1, 15, 16, 255, 4096, u64::MAX] {
            assert_eq!(super::audit_id("ab12", seq), format!("ab12-{seq:x}"));
        }
    }
}
