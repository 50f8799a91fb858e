//! The spill file of the audit sink: where records wait on disk while the endpoint is away.

use super::{HttpAuditOptions, State};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub(super) fn offset_path(spill: &Path) -> PathBuf {
    let mut p = spill.as_os_str().to_owned();
    p.push(".offset");
    PathBuf::from(p)
}

/// How far a previous process delivered the spill file of length `len`. An offset beyond the end
/// is stale (left by a crash between truncating the file and removing the offset): start over at
/// 0, which may re-send records (the endpoint de-duplicates by id) but never skips one.
pub(super) fn read_offset(spill: &Path, len: u64) -> u64 {
    let offset = std::fs::read_to_string(offset_path(spill))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    if offset > len {
        0
    } else {
        offset
    }
}

pub(super) fn write_offset(spill: &Path, offset: u64) -> std::io::Result<()> {
    let target = offset_path(spill);
    let tmp = offset_path(&spill.with_extension("tmp"));
    std::fs::write(&tmp, offset.to_string())?;
    std::fs::rename(tmp, target)
}

/// Moves the records waiting in memory to the end of the spill file, in order, and switches to
/// delivering from the file. Called when the queue is full (so what is on disk is always the
/// oldest undelivered records, and a crash can only lose the newest) and by `flush` (so every
/// record written before it is durable). Only called while not spilling, when the file holds
/// nothing undelivered, so appending keeps decision order.
pub(super) fn queue_to_disk(s: &mut State, opts: &HttpAuditOptions) -> Result<(), String> {
    if s.queue.is_empty() {
        return Ok(());
    }
    debug_assert!(
        !s.spilling || s.spill_len == s.spill_offset,
        "while spilling the queue stays empty"
    );
    let Some(f) = s.spill.as_mut() else {
        return Err("no spill file is configured".into());
    };
    let mut buf = String::new();
    for (_, line) in &s.queue {
        buf.push_str(line);
        buf.push('\n');
    }
    f.write_all(buf.as_bytes())
        .map_err(|e| format!("spill file write failed: {e}"))?;
    let _ = opts;
    s.spill_len += buf.len() as u64;
    s.stats.spilled += s.queue.len() as u64;
    s.queue.clear();
    // A memory batch in flight now also lives on disk: its answer must not drain the queue.
    s.generation += 1;
    s.spilling = true;
    Ok(())
}

/// Appends one record line; an error says why it could not be kept.
pub(super) fn spill(s: &mut State, opts: &HttpAuditOptions, line: &str) -> Result<(), String> {
    let Some(f) = s.spill.as_mut() else {
        return Err("the queue is full and no spill file is configured".into());
    };
    let size = line.len() as u64 + 1;
    if s.spill_len + size > opts.max_spill_bytes {
        return Err(format!("the spill file would exceed {} bytes", opts.max_spill_bytes));
    }
    f.write_all(format!("{line}\n").as_bytes())
        .map_err(|e| format!("spill file write failed: {e}"))?;
    s.spill_len += size;
    s.spilling = true;
    s.stats.spilled += 1;
    Ok(())
}

/// At shutdown: writes the queued records (older than anything spilled) before the undelivered
/// part of the spill file, so the next process replays them in decision order. This may exceed
/// `max_spill_bytes` by at most the queue's contents: nothing in memory is given up for the cap.
pub(super) fn save_in_front(s: &mut State, opts: &HttpAuditOptions, lines: &[String]) -> Result<(), String> {
    let path = opts.spill_path.as_ref().ok_or("no spill file is configured")?;
    let pending = if s.spilling && s.spill_len > s.spill_offset {
        let mut f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        f.seek(SeekFrom::Start(s.spill_offset)).map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        buf
    } else {
        Vec::new()
    };
    let mut content = lines.join("\n").into_bytes();
    content.push(b'\n');
    content.extend_from_slice(&pending);
    let tmp = path.with_extension("rewrite.tmp");
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&content)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| format!("{}: {e}", path.display()))?;
    let _ = std::fs::remove_file(offset_path(path));
    s.spill = None;
    s.generation += 1;
    s.spill_len = content.len() as u64;
    s.spill_offset = 0;
    s.spilling = true;
    s.stats.spilled += lines.len() as u64;
    Ok(())
}
