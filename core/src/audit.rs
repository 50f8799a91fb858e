//! Audit records: one per decision, hash-chained, written by a background thread.
//!
//! `validate` only moves a small pending record into a bounded queue; hashing,
//! redaction, JSON and the sinks run on the audit thread, off the hot path.
//! A full queue blocks the caller instead of dropping a record, and
//! [`Auditor::flush`] waits until everything queued has reached every sink.
//! Each record carries `prev_hash` and `hash = SHA-256(prev_hash "\n" record
//! without hash)`, so [`verify_log`] notices a removed, reordered or edited line.

use crate::decision::Outcome;
use crate::error::{Error, Result};
use crate::reason::Reason;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};

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
    /// Hash of the previous record.
    pub prev_hash: String,
    /// Hash of this record.
    pub hash: String,
}

impl AuditRecord {
    /// SHA-256 (hex) of `prev_hash`, a newline, and this record serialized with an empty `hash`.
    pub fn compute_hash(&self) -> String {
        let mut copy = self.clone();
        copy.hash = String::new();
        let body = serde_json::to_string(&copy).expect("audit records serialize");
        let mut h = Sha256::new();
        h.update(self.prev_hash.as_bytes());
        h.update(b"\n");
        h.update(body.as_bytes());
        hex(&h.finalize())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the hot path hands to the audit thread.
pub(crate) struct Pending {
    pub id: String,
    pub time_ms: i64,
    pub outcome: Outcome,
    pub reason: Reason,
    pub message: String,
    pub agent: Option<Arc<str>>,
    pub subject: Option<Arc<str>>,
    pub jti: Option<Arc<str>>,
    pub action: String,
    pub resource: String,
    pub context: Map<String, Value>,
    pub redact: Option<Arc<[String]>>,
    pub rule: Option<Arc<str>>,
    pub constraint: Option<Arc<str>>,
    pub snapshot_version: u64,
    pub latency_us: u64,
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
        self.0.lock().map_err(|_| Error::Internal("memory sink poisoned".into()))?.push(record.clone());
        Ok(())
    }
}

/// Calls a host function for each record (on the audit thread).
pub struct CallbackSink(pub Box<dyn FnMut(&AuditRecord) + Send>);

impl AuditSink for CallbackSink {
    fn write(&mut self, record: &AuditRecord, _: &str) -> Result<()> {
        let f = &mut self.0;
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(record)))
            .map_err(|_| Error::Internal("the audit callback panicked".into()))
    }
}

/// Appends JSON Lines to a file, continuing the hash chain already in it.
pub struct JsonlSink {
    path: String,
    file: std::io::BufWriter<std::fs::File>,
    last: Option<String>,
}

impl JsonlSink {
    /// Opens (or creates) `path` for appending.
    pub fn open(path: impl Into<String>) -> Result<Self> {
        let path = path.into();
        let last = match std::fs::File::open(&path) {
            Ok(f) => std::io::BufReader::new(f)
                .lines()
                .map_while(|l| l.ok())
                .filter(|l| !l.trim().is_empty())
                .last()
                .and_then(|l| serde_json::from_str::<AuditRecord>(&l).ok())
                .map(|r| r.hash),
            Err(_) => None,
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::io(path.clone(), e))?;
        Ok(JsonlSink { path, file: std::io::BufWriter::new(file), last })
    }
}

impl AuditSink for JsonlSink {
    fn write(&mut self, _: &AuditRecord, line: &str) -> Result<()> {
        self.file.write_all(line.as_bytes()).and_then(|_| self.file.write_all(b"\n")).map_err(|e| Error::io(self.path.clone(), e))
    }
    fn flush(&mut self) -> Result<()> {
        self.file.flush().and_then(|_| self.file.get_ref().sync_data()).map_err(|e| Error::io(self.path.clone(), e))
    }
    fn last_hash(&self) -> Option<String> {
        self.last.clone()
    }
}

enum Msg {
    Record(Box<Pending>),
    Flush(SyncSender<()>),
}

/// Counters of the audit pipeline.
#[derive(Debug, Default)]
pub struct AuditStats {
    /// Records written to every sink.
    pub written: AtomicU64,
    /// Sink write failures (the record may be missing from that sink).
    pub sink_errors: AtomicU64,
}

/// The audit pipeline: a bounded queue and one writer thread.
pub struct Auditor {
    tx: Option<SyncSender<Msg>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Pipeline counters.
    pub stats: Arc<AuditStats>,
    last_error: Arc<Mutex<Option<String>>>,
}

impl Auditor {
    /// Starts the writer thread over `sinks`, with a queue of `capacity` records.
    pub fn start(sinks: Vec<Box<dyn AuditSink>>, capacity: usize) -> Self {
        let (tx, rx) = sync_channel(capacity.max(1));
        let stats = Arc::new(AuditStats::default());
        let last_error = Arc::new(Mutex::new(None));
        let prev = sinks.iter().find_map(|s| s.last_hash()).unwrap_or_else(|| GENESIS_HASH.to_string());
        let (s2, e2) = (stats.clone(), last_error.clone());
        let thread = std::thread::Builder::new()
            .name("act-audit".into())
            .spawn(move || run(rx, sinks, prev, s2, e2))
            .expect("the audit thread starts");
        Auditor { tx: Some(tx), thread: Some(thread), stats, last_error }
    }

    /// Queues a record; blocks when the queue is full rather than dropping it.
    pub(crate) fn submit(&self, p: Pending) {
        if let Some(tx) = &self.tx {
            // The receiver only goes away on drop; a send error then has nowhere to report to.
            let _ = tx.send(Msg::Record(Box::new(p)));
        }
    }

    /// Waits until every record queued so far has reached every sink and was flushed.
    pub fn flush(&self) {
        if let Some(tx) = &self.tx {
            let (done_tx, done_rx) = sync_channel(1);
            if tx.send(Msg::Flush(done_tx)).is_ok() {
                let _ = done_rx.recv();
            }
        }
    }

    /// The last sink error, if any.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|e| e.clone())
    }
}

impl Drop for Auditor {
    fn drop(&mut self) {
        self.flush();
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn finish(p: Pending, prev: &str) -> AuditRecord {
    let mut context = p.context;
    if let Some(fields) = &p.redact {
        for f in fields.iter() {
            if let Some(v) = context.get_mut(f) {
                *v = Value::String(REDACTED.into());
            }
        }
    }
    let time = chrono::DateTime::from_timestamp_millis(p.time_ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default();
    let s = |a: Option<Arc<str>>| a.map(|x| x.to_string());
    let mut r = AuditRecord {
        id: p.id,
        time,
        outcome: p.outcome,
        reason: p.reason,
        message: p.message,
        agent: s(p.agent),
        subject: s(p.subject),
        jti: s(p.jti),
        action: p.action,
        resource: p.resource,
        context: Value::Object(context),
        rule: s(p.rule),
        constraint: s(p.constraint),
        snapshot_version: p.snapshot_version,
        latency_us: p.latency_us,
        prev_hash: prev.to_string(),
        hash: String::new(),
    };
    r.hash = r.compute_hash();
    r
}

fn run(
    rx: Receiver<Msg>,
    mut sinks: Vec<Box<dyn AuditSink>>,
    mut prev: String,
    stats: Arc<AuditStats>,
    last_error: Arc<Mutex<Option<String>>>,
) {
    let report = |e: Error| {
        stats.sink_errors.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut slot) = last_error.lock() {
            *slot = Some(e.to_string());
        }
    };
    while let Ok(msg) = rx.recv() {
        match msg {
            Msg::Record(p) => {
                let record = finish(*p, &prev);
                let line = serde_json::to_string(&record).expect("audit records serialize");
                for sink in sinks.iter_mut() {
                    if let Err(e) = sink.write(&record, &line) {
                        report(e);
                    }
                }
                prev = record.hash;
                stats.written.fetch_add(1, Ordering::Relaxed);
            }
            Msg::Flush(done) => {
                for sink in sinks.iter_mut() {
                    if let Err(e) = sink.flush() {
                        report(e);
                    }
                }
                let _ = done.send(());
            }
        }
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
pub fn verify_log(reader: impl BufRead, start: Option<&str>) -> Result<usize, ChainError> {
    let mut prev: Option<String> = start.map(str::to_string);
    let mut count = 0;
    for (i, line) in reader.lines().enumerate() {
        let n = i + 1;
        let line = line.map_err(|e| ChainError { line: n, message: format!("unreadable: {e}") })?;
        if line.trim().is_empty() {
            continue;
        }
        let rec: AuditRecord = serde_json::from_str(&line)
            .map_err(|e| ChainError { line: n, message: format!("not an audit record: {e}") })?;
        if rec.compute_hash() != rec.hash {
            return Err(ChainError { line: n, message: format!("record `{}` was edited: its hash does not match", rec.id) });
        }
        if let Some(p) = &prev {
            if &rec.prev_hash != p {
                return Err(ChainError {
                    line: n,
                    message: format!("record `{}` does not follow the previous one: a record was removed or reordered", rec.id),
                });
            }
        }
        prev = Some(rec.hash);
        count += 1;
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
        let line = line.map_err(|e| ChainError { line: n, message: format!("unreadable: {e}") })?;
        if line.trim().is_empty() {
            continue;
        }
        let rec: AuditRecord = serde_json::from_str(&line)
            .map_err(|e| ChainError { line: n, message: format!("not an audit record: {e}") })?;
        if rec.compute_hash() != rec.hash {
            return Err(ChainError { line: n, message: format!("record `{}` was edited: its hash does not match", rec.id) });
        }
        if rec.prev_hash == GENESIS_HASH {
            chains += 1;
        } else if !open_tails.remove(&rec.prev_hash) {
            return Err(ChainError {
                line: n,
                message: format!("record `{}` follows no earlier record: a record was removed or reordered", rec.id),
            });
        }
        open_tails.insert(rec.hash);
        count += 1;
    }
    Ok((count, chains))
}
