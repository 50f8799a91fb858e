//! Signed checkpoints of an audit chain: what makes removing the last records detectable.
//!
//! A hash chain shows a record removed from the middle, but not the last N removed (the shorter
//! chain is still a valid chain), and not an edit re-hashed from the edited record on (the
//! re-hashed chain is valid too). A checkpoint is a compact JWS,
//! header `{"alg":"EdDSA","typ":"act-audit-checkpoint+jwt","kid":...}`, claims
//!
//! ```json
//! {"count": 1000, "head": "<hash of record 1000>", "offset": 734512, "issued_at": 1767225600000}
//! ```
//!
//! signed by the host's audit key: "this log held `count` records, the last with hash `head`,
//! ending at byte `offset`". A [`JsonlSink`](super::JsonlSink) opened with
//! [`open_with_checkpoints`](super::JsonlSink::open_with_checkpoints) appends one to
//! `<log>.checkpoints` after every flush that wrote records (and every 1,000 records).
//! [`verify_log_with_checkpoints`] (`act audit verify --checkpoint`) then catches tail truncation
//! (the log has fewer records than a checkpoint covers) and edit-and-rehash (the record at a
//! checkpoint's count has another hash). Checkpoints are only as safe as where they are kept: copy
//! them off the host (or ship them) so that whoever truncates the log cannot truncate them too.

use super::{walk, AuditRecord, ChainError};
use crate::error::{Error, Result};
use crate::keys::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// The JOSE `typ` of an audit checkpoint.
pub const CHECKPOINT_TYP: &str = "act-audit-checkpoint+jwt";
/// Checkpoints longer than this are rejected unread.
const MAX_CHECKPOINT_BYTES: usize = 2048;

/// The claims of a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Records in the log (from its first line) when signed.
    pub count: u64,
    /// The hash of record `count` (the chain head).
    pub head: String,
    /// The log's length in bytes right after record `count`.
    pub offset: u64,
    /// When it was signed, ms since the epoch.
    pub issued_at: i64,
}

/// Signs `cp` with the audit key.
pub fn sign_checkpoint(key: &SigningKey, cp: &Checkpoint) -> Result<String> {
    let claims =
        serde_json::to_value(cp).map_err(|e| Error::Internal(format!("checkpoint claims do not serialize: {e}")))?;
    Ok(crate::token::sign_jws(key, CHECKPOINT_TYP, &claims))
}

/// Verifies a checkpoint against the audit key `trusted`.
pub fn verify_checkpoint(jws: &str, trusted: &VerifyingKey) -> Result<Checkpoint> {
    let bad = |m: String| Error::AuditChain {
        line: 0,
        message: format!("checkpoint rejected: {m}"),
    };
    let claims =
        crate::snapshot::freshness::verify_compact(jws, CHECKPOINT_TYP, trusted, MAX_CHECKPOINT_BYTES).map_err(bad)?;
    serde_json::from_value(claims).map_err(|e| bad(format!("claims: {e}")))
}

/// Reads every checkpoint of a checkpoints file (one JWS per line, blank lines ignored), each
/// verified against `trusted`; a line that does not verify is an error naming it.
pub fn read_checkpoints(reader: impl BufRead, trusted: &VerifyingKey) -> Result<Vec<Checkpoint>> {
    let mut out = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| Error::AuditChain {
            line: i + 1,
            message: format!("checkpoints unreadable: {e}"),
        })?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(verify_checkpoint(&line, trusted).map_err(|e| match e {
            Error::AuditChain { message, .. } => Error::AuditChain { line: i + 1, message },
            other => other,
        })?);
    }
    Ok(out)
}

/// Checks a log's chain like [`super::verify_log`] and, against every checkpoint, that the record
/// at its `count` has its `head` hash and that no checkpoint covers more records than the log
/// holds. Returns the record count.
pub fn verify_log_with_checkpoints(
    reader: impl BufRead,
    start: Option<&str>,
    checkpoints: &[Checkpoint],
) -> std::result::Result<usize, ChainError> {
    let mut by_count: Vec<&Checkpoint> = checkpoints.iter().collect();
    by_count.sort_by_key(|c| c.count);
    let mut next = by_count.iter().peekable();
    let total = walk(reader, start, |line, count, rec: &AuditRecord| {
        while let Some(cp) = next.next_if(|cp| cp.count <= count as u64) {
            if cp.count == count as u64 && cp.head != rec.hash {
                return Err(ChainError {
                    line,
                    message: format!(
                        "record `{}` (record {count}) has hash {}, but the signed checkpoint of {} says {}: \
                         records up to here were edited and re-hashed",
                        rec.id,
                        short(&rec.hash),
                        cp.issued_at,
                        short(&cp.head)
                    ),
                });
            }
        }
        Ok(())
    })?;
    if let Some(cp) = by_count.last().filter(|cp| cp.count > total as u64) {
        return Err(ChainError {
            line: 0,
            message: format!(
                "the log holds {total} record(s) but a signed checkpoint covers {} (head {}): the last {} \
                 record(s) were removed",
                cp.count,
                short(&cp.head),
                cp.count - total as u64
            ),
        });
    }
    Ok(total)
}

/// How many records a [`super::JsonlSink`] writes at most between two checkpoints.
pub const CHECKPOINT_EVERY: u64 = 1000;

/// The checkpoints file next to a log: `<log>.checkpoints`.
pub fn checkpoints_path(log: &Path) -> PathBuf {
    let mut p = log.as_os_str().to_owned();
    p.push(".checkpoints");
    PathBuf::from(p)
}

/// Appends checkpoints of one JSON Lines log (owned by its sink).
pub(crate) struct Writer {
    pub(crate) key: SigningKey,
    path: PathBuf,
    file: std::fs::File,
    /// Records written since the last checkpoint.
    pub(crate) pending: u64,
}

impl Writer {
    /// Opens `<log>.checkpoints` and checks the log against its last checkpoint, so a log whose
    /// tail was removed (or whose last checkpointed record was edited) is never continued: that
    /// fails with `audit_chain_broken`. Returns the writer and the log's record count.
    pub(crate) fn open(log: &Path, key: SigningKey, log_file: &std::fs::File, len: u64) -> Result<(Writer, u64)> {
        let path = checkpoints_path(log);
        let io = |e| Error::io(path.display().to_string(), e);
        let broken = |message: String| Error::AuditChain { line: 0, message };
        let last = match std::fs::File::open(&path) {
            Ok(f) => read_checkpoints(std::io::BufReader::new(f), key.verifying_key())
                .map_err(|e| broken(format!("{}: {e}; refusing to continue the chain", path.display())))?
                .into_iter()
                .max_by_key(|c| c.count),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io(e)),
        };
        let log_io = |e| Error::io(log.display().to_string(), e);
        let count = match last {
            Some(cp) => {
                if len < cp.offset {
                    return Err(broken(format!(
                        "audit log {}: it ends at byte {len}, but its last signed checkpoint covers {} record(s) up                          to byte {}: records were removed from its end. Refusing to continue the chain; check it with                          `act audit verify {} --checkpoint {} --audit-key <key>`, then move the log and its                          checkpoints aside to start a new one",
                        log.display(),
                        cp.count,
                        cp.offset,
                        log.display(),
                        path.display()
                    )));
                }
                let at = super::last_nonblank_line(log_file, cp.offset).map_err(log_io)?;
                let hash = at
                    .and_then(|l| serde_json::from_str::<AuditRecord>(l.trim()).ok())
                    .filter(|r| r.compute_hash() == r.hash)
                    .map(|r| r.hash);
                if hash.as_deref() != Some(cp.head.as_str()) {
                    return Err(broken(format!(
                        "audit log {}: the record at byte {} is not the one its last signed checkpoint names (head                          {}): the log was edited. Refusing to continue the chain",
                        log.display(),
                        cp.offset,
                        short(&cp.head)
                    )));
                }
                cp.count + count_lines(log_file, cp.offset, len).map_err(log_io)?
            }
            None => count_lines(log_file, 0, len).map_err(log_io)?,
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        Ok((
            Writer {
                key,
                path,
                file,
                pending: 0,
            },
            count,
        ))
    }

    /// Signs and appends a checkpoint of (`count`, `head`, `offset`), durably.
    pub(crate) fn write(&mut self, count: u64, head: &str, offset: u64) -> Result<()> {
        use std::io::Write;
        let issued_at = crate::clock::Clock::now_ms(&crate::clock::SystemClock);
        let cp = Checkpoint {
            count,
            head: head.to_string(),
            offset,
            issued_at,
        };
        let jws = sign_checkpoint(&self.key, &cp)?;
        self.file
            .write_all(format!("{jws}\n").as_bytes())
            .and_then(|_| self.file.sync_data())
            .map_err(|e| Error::io(self.path.display().to_string(), e))?;
        self.pending = 0;
        Ok(())
    }
}

/// Non-blank lines of `f` between byte `from` and `to`.
fn count_lines(f: &std::fs::File, from: u64, to: u64) -> std::io::Result<u64> {
    use std::io::{Read, Seek, SeekFrom};
    let mut r = f;
    r.seek(SeekFrom::Start(from))?;
    let mut reader = std::io::BufReader::new(r.take(to - from));
    let (mut n, mut line) = (0, Vec::new());
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(n);
        }
        if line.iter().any(|b| !b.is_ascii_whitespace()) {
            n += 1;
        }
    }
}

fn short(hash: &str) -> &str {
    hash.get(..16).unwrap_or(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_round_trip_and_refuse_other_keys_and_edits() {
        let key = SigningKey::generate().unwrap();
        let cp = Checkpoint {
            count: 3,
            head: "ab".repeat(32),
            offset: 99,
            issued_at: 7,
        };
        let jws = sign_checkpoint(&key, &cp).unwrap();
        assert_eq!(verify_checkpoint(&jws, key.verifying_key()).unwrap(), cp);
        let other = SigningKey::generate().unwrap();
        let e = verify_checkpoint(&jws, other.verifying_key()).unwrap_err();
        assert_eq!(e.code(), "audit_chain_broken");
        let mut parts: Vec<String> = jws.split('.').map(str::to_string).collect();
        let more = sign_checkpoint(&key, &Checkpoint { count: 4, ..cp }).unwrap();
        parts[1] = more.split('.').nth(1).unwrap().to_string();
        assert!(verify_checkpoint(&parts.join("."), key.verifying_key()).is_err());
    }
}
