//! The on-disk copy of the last verified snapshot.
//!
//! Written only after verification, by write-to-temp, fsync, rename (so a
//! crash leaves the old copy or the new one, never a torn file), and verified
//! again with the pinned key when read at start: a cache folder is not trusted
//! any more than the network.

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::keys::VerifyingKey;
use std::io::Write;
use std::path::Path;

/// The file name of the cached document inside the cache folder.
pub const CACHE_FILE: &str = "snapshot.jws";

/// Atomically replaces `<dir>/snapshot.jws` with `document`.
pub(crate) fn persist(dir: &Path, document: &[u8]) -> Result<()> {
    let io = |p: &Path, e| Error::io(p.display().to_string(), e);
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let target = dir.join(CACHE_FILE);
    let tmp = dir.join(format!(".{CACHE_FILE}.{}.tmp", std::process::id()));
    let mut f = std::fs::File::create(&tmp).map_err(|e| io(&tmp, e))?;
    f.write_all(document)
        .and_then(|_| f.sync_all())
        .map_err(|e| io(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, &target).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(&target, e)
    })?;
    // Make the rename itself durable where the platform allows opening a directory.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    remove_stale_temporaries(dir);
    Ok(())
}

/// Removes temporary files that processes killed mid-write left behind (older than a minute,
/// so a live writer's file is never touched). They were never renamed, so never served.
fn remove_stale_temporaries(dir: &Path) {
    let prefix = format!(".{CACHE_FILE}.");
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        let old = e
            .metadata()
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|a| a.as_secs() > 60);
        if old && name.starts_with(&prefix) && name.ends_with(".tmp") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Reads, re-verifies against `trusted`, and compiles the cached snapshot in `dir`
/// (trusting `engine`'s local keys for tokens too); swaps it in when newer.
///
/// Returns the version now serving from the cache, `Ok(None)` when there is no
/// cache file, and an error when the file exists but is rejected.
pub fn load_cached(engine: &Engine, dir: &Path, trusted: &VerifyingKey) -> Result<Option<u64>> {
    load_cached_checked(engine, dir, trusted, |_| None)
}

/// Like [`load_cached`], refusing the cached version when `refuse(version)` says why.
pub(crate) fn load_cached_checked(
    engine: &Engine,
    dir: &Path,
    trusted: &VerifyingKey,
    refuse: impl Fn(u64) -> Option<String>,
) -> Result<Option<u64>> {
    let path = dir.join(CACHE_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path.display().to_string(), e)),
    };
    let doc = crate::snapshot::verify_document(&bytes, trusted)
        .map_err(|e| Error::Snapshot(format!("cached copy {}: {}", path.display(), super::client::inner(e))))?;
    let version = doc.version;
    if let Some(why) = refuse(version) {
        return Err(Error::Snapshot(format!("cached copy {}: {why}", path.display())));
    }
    if version <= engine.snapshot().version {
        return Ok(Some(engine.snapshot().version));
    }
    let snap = doc.compile(engine.local_keys())?;
    engine.swap_snapshot(snap)?;
    Ok(Some(version))
}
