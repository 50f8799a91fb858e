//! A local policy file or folder, reloaded when it changes.
//!
//! Polls file sizes and modification times (no OS watcher: it works the same
//! on every platform, in containers and on network file systems). A change is
//! loaded with [`crate::policy::load_path`] and compiled as the next version;
//! a broken edit is rejected, its diagnostics kept in [`Status::last_error`],
//! and the previous snapshot keeps serving until the files are fixed.

use super::{Status, StatusCell, Stop, SyncHandle};
use crate::engine::Engine;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The default poll interval of [`watch_path`]: 500 ms.
pub const DEFAULT_FILE_POLL: Duration = Duration::from_millis(500);

/// Name, size and modification time of every policy file: any change means reload.
type Fingerprint = Vec<(PathBuf, u64, Option<SystemTime>)>;

fn is_policy_file(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    !name.starts_with('.')
        && !name.ends_with("_test.yaml")
        && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json"))
}

fn fingerprint(path: &Path) -> std::io::Result<Fingerprint> {
    let meta = std::fs::metadata(path)?;
    let files: Vec<PathBuf> = if meta.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(path)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| is_policy_file(p))
            .collect();
        v.sort();
        v
    } else {
        vec![path.to_path_buf()]
    };
    Ok(files
        .into_iter()
        .map(|f| {
            let m = std::fs::metadata(&f).ok();
            let (len, mtime) = m.map(|m| (m.len(), m.modified().ok())).unwrap_or((0, None));
            (f, len, mtime)
        })
        .collect())
}

/// Watches `path` (a policy file or folder) every `interval` and reloads `engine` on change.
///
/// When the engine has no snapshot yet (built with
/// [`without_snapshot`](crate::EngineBuilder::without_snapshot)), the files are
/// loaded once before this returns, and a load error is returned. Otherwise
/// the engine is assumed to serve the files as they are now.
pub fn watch_path(engine: Arc<Engine>, path: impl Into<PathBuf>, interval: Duration) -> Result<SyncHandle> {
    let path: PathBuf = path.into();
    let status = Arc::new(StatusCell::new(format!("file:{}", path.display())));
    let mut last = fingerprint(&path).map_err(|e| Error::io(path.display().to_string(), e))?;
    if engine.snapshot().version == 0 {
        let set = crate::policy::load_path(&path)?;
        engine.reload(set)?;
        status.update(|s| s.updates += 1);
    }
    status.success(engine.now_ms());
    let stop = Stop::new();
    let (e, st, sp) = (engine.clone(), status.clone(), stop.clone());
    let interval = interval.max(Duration::from_millis(10));
    SyncHandle::spawn("act-sync-file", engine, status, stop, move || {
        while !sp.sleep(interval) {
            poll(&e, &path, &mut last, &st);
        }
    })
}

fn poll(engine: &Engine, path: &Path, last: &mut Fingerprint, status: &StatusCell) {
    let now = engine.now_ms();
    let current = match fingerprint(path) {
        Ok(f) => f,
        Err(e) => {
            status.failure(
                now,
                format!("{}: {e}; the previous snapshot keeps serving", path.display()),
            );
            return;
        }
    };
    if current == *last {
        // Unchanged local files are current by definition.
        if status.load().last_error.is_none() {
            engine.confirm_fresh(now);
            status.success(now);
        }
        return;
    }
    *last = current;
    match crate::policy::load_path(path).and_then(|set| engine.reload(set)) {
        Ok(_) => {
            status.success(now);
            status.update(|s: &mut Status| s.updates += 1);
        }
        Err(e) => status.failure(now, format!("{e}\n(the previous snapshot keeps serving)")),
    }
}
