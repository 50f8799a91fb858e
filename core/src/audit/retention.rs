//! Rotation and retention of a JSON Lines audit log, and verifying what is left.
//!
//! A [`JsonlSink`](super::JsonlSink) opened with a [`Retention`] rotates its file when it
//! reaches `rotate_bytes` or when its first record is `rotate_after` old: `audit.jsonl` is renamed
//! to `audit.jsonl.000001` (the next free number; its `.checkpoints` go with it) and a new
//! `audit.jsonl` continues the same hash chain (its first record's `prev_hash` is the last
//! record of the file before). After each rotation, rotated files whose newest record is older
//! than `retain_for` are deleted, oldest first, and each deletion is first written to
//! `<log>.pruned`: one line per deleted file, "records 1..`count` of this log are gone, the last
//! with hash `head`, file number `offset`", signed like a checkpoint when the sink has an audit
//! key (a plain JSON line otherwise).
//!
//! [`verify_rotated_log`] (`act audit verify` when rotated files or `<log>.pruned` exist) walks
//! the rotated files and the live one in order as one chain, each against its own signed
//! checkpoints, and names the gap retention left: the first kept record must follow the last
//! deleted one that `<log>.pruned` names, so records removed any other way are still caught.
//!
//! Times are the records' own `time` fields, not the host clock, so retention follows the
//! decisions' clock (a test's manual clock too).

use super::checkpoint::{checkpoints_path, read_checkpoints, sign_checkpoint, verify_checkpoint, Checkpoint};
use super::{walk, AuditRecord, ChainError, GENESIS_HASH};
use crate::error::{Error, Result};
use crate::keys::{SigningKey, VerifyingKey};
use std::path::{Path, PathBuf};

/// When a log rotates and how long rotated files are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Rotate once the live file holds this many bytes (default 64 MiB).
    pub rotate_bytes: u64,
    /// Rotate once the live file's first record is this old, in ms (default 1 day; from
    /// policies, a tenth of `retainFor` and at least a day).
    pub rotate_after_ms: i64,
    /// Delete rotated files whose newest record is older than this, in ms; `None` keeps them.
    pub retain_for_ms: Option<i64>,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            rotate_bytes: 64 << 20,
            rotate_after_ms: 86_400_000,
            retain_for_ms: None,
        }
    }
}

impl Retention {
    /// The retention a set of agent policies asks for: the longest `retainFor` among them, or
    /// none (keep everything) when any policy has no `retainFor` — one log holds every agent's
    /// records, so a file may go only when every agent's records in it may.
    pub fn for_policies(days: impl IntoIterator<Item = Option<u64>>) -> Retention {
        let mut longest: Option<u64> = Some(0);
        let mut any = false;
        for d in days {
            any = true;
            longest = match (longest, d) {
                (Some(a), Some(b)) => Some(a.max(b)),
                _ => None,
            };
        }
        let retain_for_ms = longest.filter(|_| any).map(|d| (d.min(100 * 366) as i64) * 86_400_000);
        // Files are deleted whole: one covering a tenth of `retainFor` (at least a day) keeps a
        // record at most 10% longer than asked, with few files.
        let day = Retention::default().rotate_after_ms;
        Retention {
            retain_for_ms,
            rotate_after_ms: retain_for_ms.map_or(day, |r| (r / 10).max(day)),
            ..Retention::default()
        }
    }
}

/// `<log>.pruned`.
pub fn pruned_path(log: &Path) -> PathBuf {
    let mut p = log.as_os_str().to_owned();
    p.push(".pruned");
    PathBuf::from(p)
}

/// `<log>.<n>` with six digits.
pub fn rotated_path(log: &Path, n: u64) -> PathBuf {
    let mut p = log.as_os_str().to_owned();
    p.push(format!(".{n:06}"));
    PathBuf::from(p)
}

/// The numbers of the rotated files of `log` that exist, ascending.
pub fn rotated_files(log: &Path) -> std::io::Result<Vec<u64>> {
    let dir = match log.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Some(name) = log.file_name().and_then(|n| n.to_str()) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let file = entry.file_name();
        let Some(rest) = file
            .to_str()
            .and_then(|f| f.strip_prefix(name))
            .and_then(|r| r.strip_prefix('.'))
        else {
            continue;
        };
        if rest.len() >= 6 && rest.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(n) = rest.parse() {
                out.push(n);
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// A record's `time` in ms since the epoch.
pub(crate) fn record_ms(rec: &AuditRecord) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(&rec.time)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// The first and the last record of a file (`None` when it holds none).
fn ends(path: &Path) -> Result<Option<(AuditRecord, AuditRecord)>> {
    use std::io::BufRead;
    let io = |e| Error::io(path.display().to_string(), e);
    let f = std::fs::File::open(path).map_err(io)?;
    let len = f.metadata().map_err(io)?.len();
    let parse = |l: &str| {
        serde_json::from_str::<AuditRecord>(l.trim())
            .map_err(|e| Error::Config(format!("audit log {}: not an audit record: {e}", path.display())))
    };
    let Some(last) = super::last_nonblank_line(&f, len).map_err(io)? else {
        return Ok(None);
    };
    let mut first = None;
    for line in std::io::BufReader::new(&f).lines() {
        let line = line.map_err(io)?;
        if !line.trim().is_empty() {
            first = Some(line);
            break;
        }
    }
    Ok(Some((parse(first.as_deref().unwrap_or(&last))?, parse(&last)?)))
}

/// Reads `<log>.pruned`: the entries, verified against `key` when given (then an unsigned line
/// is refused). The entry with the highest `count` describes everything deleted.
pub fn read_pruned(log: &Path, key: Option<&VerifyingKey>) -> Result<Vec<Checkpoint>> {
    let path = pruned_path(log);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(path.display().to_string(), e)),
    };
    let broken = |line: usize, m: String| Error::AuditChain {
        line,
        message: format!("{}: {m}", path.display()),
    };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let line = line.trim();
        out.push(match (key, line.starts_with('{')) {
            (Some(k), false) => verify_checkpoint(line, k).map_err(|e| broken(i + 1, e.to_string()))?,
            (Some(_), true) => return Err(broken(i + 1, "an unsigned entry, but an audit key was given".into())),
            (None, true) => serde_json::from_str(line).map_err(|e| broken(i + 1, e.to_string()))?,
            // Signed, no key to check it with: read the claims (verify with the key to trust them).
            (None, false) => line
                .split('.')
                .nth(1)
                .and_then(|p| {
                    use base64::Engine as _;
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).ok()
                })
                .and_then(|b| serde_json::from_slice(&b).ok())
                .ok_or_else(|| broken(i + 1, "not a pruned-file entry".into()))?,
        });
    }
    Ok(out)
}

/// Rotates the live log `path` (already flushed) to the next number, with its checkpoints.
pub(crate) fn rotate(path: &Path) -> Result<u64> {
    let io = |p: &Path, e| Error::io(p.display().to_string(), e);
    let n = rotated_files(path)
        .map_err(|e| io(path, e))?
        .last()
        .copied()
        .unwrap_or(0)
        + 1;
    let n = n.max(read_pruned(path, None)?.iter().map(|c| c.offset + 1).max().unwrap_or(1));
    std::fs::rename(path, rotated_path(path, n)).map_err(|e| io(path, e))?;
    let cps = checkpoints_path(path);
    if cps.exists() {
        std::fs::rename(&cps, checkpoints_path(&rotated_path(path, n))).map_err(|e| io(&cps, e))?;
    }
    Ok(n)
}

/// Deletes rotated files of `path` whose newest record is more than `retain_for_ms` before
/// `now_ms`, oldest first (stopping at the first one still kept), each written to
/// `<log>.pruned` first (signed with `key` when given). Returns how many were deleted.
pub(crate) fn prune(path: &Path, retain_for_ms: i64, now_ms: i64, key: Option<&SigningKey>) -> Result<usize> {
    use std::io::Write;
    let io = |p: &Path, e| Error::io(p.display().to_string(), e);
    let mut deleted = read_pruned(path, key.map(|k| k.verifying_key()))?
        .iter()
        .map(|c| c.count)
        .max()
        .unwrap_or(0);
    let mut n_deleted = 0;
    for n in rotated_files(path).map_err(|e| io(path, e))? {
        let file = rotated_path(path, n);
        let Some((_, last)) = ends(&file)? else { continue };
        match record_ms(&last) {
            Some(t) if now_ms - t > retain_for_ms => {}
            _ => break,
        }
        let records = walk(
            std::io::BufReader::new(std::fs::File::open(&file).map_err(|e| io(&file, e))?),
            None,
            |_, _, _| Ok(()),
        )
        .map_err(|e| Error::AuditChain {
            line: e.line,
            message: format!("{}: {}; not deleting it", file.display(), e.message),
        })? as u64;
        deleted += records;
        let entry = Checkpoint {
            count: deleted,
            head: last.hash.clone(),
            offset: n,
            issued_at: now_ms,
        };
        let line = match key {
            Some(k) => sign_checkpoint(k, &entry)?,
            None => serde_json::to_string(&entry).map_err(|e| Error::Internal(e.to_string()))?,
        };
        let pruned = pruned_path(path);
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&pruned)
            .map_err(|e| io(&pruned, e))?;
        f.write_all(format!("{line}\n").as_bytes())
            .and_then(|_| f.sync_data())
            .map_err(|e| io(&pruned, e))?;
        std::fs::remove_file(&file).map_err(|e| io(&file, e))?;
        let cps = checkpoints_path(&file);
        if cps.exists() {
            std::fs::remove_file(&cps).map_err(|e| io(&cps, e))?;
        }
        n_deleted += 1;
    }
    Ok(n_deleted)
}

/// What [`verify_rotated_log`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RotatedReport {
    /// Records in the files that are left.
    pub records: usize,
    /// Files checked (rotated ones and the live one).
    pub files: usize,
    /// Signed checkpoints checked (with a key).
    pub checkpoints: usize,
    /// What retention deleted: records and the last deleted file's number.
    pub pruned: Option<(u64, u64)>,
}

fn chain_err(file: &Path, e: ChainError) -> ChainError {
    ChainError {
        line: e.line,
        message: format!("{}: {}", file.display(), e.message),
    }
}

/// Verifies a rotated log as one chain: `<log>.<n>` ascending, then `<log>`; each file against
/// its `.checkpoints` when `key` is given; the first kept record following what `<log>.pruned`
/// says was deleted (or the genesis hash when nothing was).
pub fn verify_rotated_log(log: &Path, key: Option<&VerifyingKey>) -> std::result::Result<RotatedReport, ChainError> {
    let top = |message: String| ChainError { line: 0, message };
    let pruned = read_pruned(log, key).map_err(|e| top(e.to_string()))?;
    let last_pruned = pruned.iter().max_by_key(|c| c.count);
    let mut numbers = rotated_files(log).map_err(|e| top(format!("{}: {e}", log.display())))?;
    if let (Some(first), Some(p)) = (numbers.first(), last_pruned) {
        if *first <= p.offset {
            return Err(top(format!(
                "{}: rotated file {first:06} is still there, but {} says files up to {:06} were deleted",
                log.display(),
                pruned_path(log).display(),
                p.offset
            )));
        }
    }
    // Kept files are consecutive, from the one after the last deleted.
    let first = last_pruned.map_or(numbers.first().copied().unwrap_or(1), |p| p.offset + 1);
    for (expect, n) in (first..).zip(numbers.iter()) {
        if *n != expect {
            return Err(top(format!(
                "{}: rotated file {expect:06} is missing (and {} does not name it deleted by retention)",
                log.display(),
                pruned_path(log).display()
            )));
        }
    }
    let mut files: Vec<PathBuf> = numbers.drain(..).map(|n| rotated_path(log, n)).collect();
    if log.exists() {
        files.push(log.to_path_buf());
    }
    let mut prev: String = last_pruned.map_or(GENESIS_HASH.to_string(), |p| p.head.clone());
    let mut report = RotatedReport {
        records: 0,
        files: files.len(),
        checkpoints: 0,
        pruned: last_pruned.map(|p| (p.count, p.offset)),
    };
    for file in &files {
        let f = std::fs::File::open(file).map_err(|e| top(format!("{}: {e}", file.display())))?;
        let reader = std::io::BufReader::new(f);
        let n = match key {
            Some(k) if checkpoints_path(file).exists() => {
                let cf = std::fs::File::open(checkpoints_path(file))
                    .map_err(|e| top(format!("{}: {e}", checkpoints_path(file).display())))?;
                let cps = read_checkpoints(std::io::BufReader::new(cf), k).map_err(|e| top(e.to_string()))?;
                report.checkpoints += cps.len();
                super::checkpoint::verify_log_with_checkpoints(reader, Some(&prev), &cps)
            }
            _ => super::verify_log(reader, Some(&prev)),
        }
        .map_err(|e| {
            let gap = if report.records == 0 && last_pruned.is_some() {
                " (the first record kept must follow the last one retention deleted)"
            } else {
                ""
            };
            chain_err(
                file,
                ChainError {
                    message: format!("{}{gap}", e.message),
                    ..e
                },
            )
        })?;
        report.records += n;
        if let Some((_, last)) = ends(file).map_err(|e| top(e.to_string()))? {
            prev = last.hash;
        }
    }
    Ok(report)
}
