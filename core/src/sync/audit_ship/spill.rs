//! The spill file of the audit sink: where records wait on disk while the endpoint is away.

use super::{HttpAuditOptions, State};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub(super) fn offset_path(spill: &Path) -> PathBuf {
    let mut p = spill.as_os_str().to_owned();
    p.push(".offset");
    PathBuf::from(p)
}

pub(super) fn read_offset(spill: &Path) -> u64 {
    std::fs::read_to_string(offset_path(spill)).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
}

pub(super) fn write_offset(spill: &Path, offset: u64) -> std::io::Result<()> {
    let target = offset_path(spill);
    let tmp = offset_path(&spill.with_extension("tmp"));
    std::fs::write(&tmp, offset.to_string())?;
    std::fs::rename(tmp, target)
}

/// Appends one record line; an error says why it could not be kept.
pub(super) fn spill(s: &mut State, opts: &HttpAuditOptions, line: &str) -> std::result::Result<(), String> {
    let Some(f) = s.spill.as_mut() else {
        return Err("the queue is full and no spill file is configured".into());
    };
    let size = line.len() as u64 + 1;
    if s.spill_len + size > opts.max_spill_bytes {
        return Err(format!("the spill file would exceed {} bytes", opts.max_spill_bytes));
    }
    f.write_all(format!("{line}\n").as_bytes()).map_err(|e| format!("spill file write failed: {e}"))?;
    s.spill_len += size;
    s.spilling = true;
    s.stats.spilled += 1;
    Ok(())
}

/// At shutdown: writes the queued records (older than anything spilled) before the undelivered
/// part of the spill file, so the next process replays them in decision order. This may exceed
/// `max_spill_bytes` by at most the queue's contents: nothing in memory is given up for the cap.
pub(super) fn save_in_front(s: &mut State, opts: &HttpAuditOptions, lines: &[String]) -> std::result::Result<(), String> {
    let path = opts.spill_path.as_ref().ok_or("no spill file is configured")?;
    let pending = if s.spilling && s.spill_len > s.spill_offset {
        let mut f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        f.seek(SeekFrom::Start(s.spill_offset)).map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf).map_err(|e| format!("{}: {e}", path.display()))?;
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
    s.spill_len = content.len() as u64;
    s.spill_offset = 0;
    s.spilling = true;
    s.stats.spilled += lines.len() as u64;
    Ok(())
}

