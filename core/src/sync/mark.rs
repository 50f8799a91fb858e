//! The version high-water mark: the newest signed snapshot version this host ever served from a
//! control endpoint, kept in its own small file so it survives restarts and replaced cache files.
//!
//! Why a separate file: the cache (`<cache_dir>/snapshot.jws`) can only prove that a document was
//! signed, not that it is the newest one; an older signed snapshot copied over it would verify.
//! The mark makes the SDK refuse, at start and from the network, any document older than what it
//! already served. What it cannot do (documented in docs/security.md): whoever can write the
//! mark's own file can lower it (so put it, with `HttpSyncOptions::version_mark`, where only the
//! SDK's user can write), or raise it (a denial of service, lifted by deleting the file).
//!
//! The second rule lives here too: a document may lead the newest known version (the serving
//! one, the mark, or the host clock in ms, since default versions are ms timestamps) by at most
//! [`MAX_VERSION_LEAD`]. One mistaken huge version is then refused instead of locking out every
//! later snapshot, kill switches included.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file name of the mark inside the cache folder, when no other place is configured.
pub const MARK_FILE: &str = "snapshot.version";
/// How far a version may lead the newest known version: 2^32 (≈ 49.7 days of ms versions).
pub const MAX_VERSION_LEAD: u64 = 1 << 32;

/// The mark's file and the version it holds (0: none yet).
pub(crate) struct Mark {
    path: Option<PathBuf>,
    version: u64,
}

impl Mark {
    /// Reads the mark at `path`; a missing file is version 0, an unreadable one an error naming it
    /// (failing closed: ignoring it would re-open the rollback it exists to stop).
    pub(crate) fn open(path: Option<PathBuf>) -> Result<Mark> {
        let Some(p) = path else {
            return Ok(Mark { path: None, version: 0 });
        };
        let version = match std::fs::read_to_string(&p) {
            Ok(text) => text.trim().parse::<u64>().map_err(|_| {
                Error::Config(format!(
                    "version mark {}: expected one decimal version, found {:?}; delete the file only if \
                     you trust every cached snapshot",
                    p.display(),
                    crate::keys::truncate(text.trim(), 40)
                ))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(Error::io(p.display().to_string(), e)),
        };
        Ok(Mark { path: Some(p), version })
    }

    /// Takes in a higher mark another process sharing the file wrote meanwhile (an unreadable
    /// file changes nothing here: it was readable at start, and the in-memory mark still holds).
    pub(crate) fn refresh(&mut self) {
        let Some(p) = &self.path else { return };
        if let Some(v) = std::fs::read_to_string(p)
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok())
        {
            self.version = self.version.max(v);
        }
    }

    /// Why `version` must not serve, given what serves now and the host clock; `None` if it may.
    pub(crate) fn refuse(&self, version: u64, serving: u64, now_ms: i64) -> Option<String> {
        if version < self.version {
            let at = self.path.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
            return Some(format!(
                "version {version} is older than version {}, which this host already served (high-water mark {at})",
                self.version
            ));
        }
        let known = serving.max(self.version).max(u64::try_from(now_ms).unwrap_or(0));
        if version - known.min(version) > MAX_VERSION_LEAD {
            return Some(format!(
                "version {version} jumps more than 2^32 past the newest known version {known} (serving, \
                 high-water mark or the clock in ms); a mistaken huge version must not lock out later snapshots"
            ));
        }
        None
    }

    /// Raises the mark to `version` (never lowers it): write to a temporary file, fsync, rename.
    pub(crate) fn raise(&mut self, version: u64) -> Result<()> {
        // Processes may share the file: never write below what another one recorded.
        self.refresh();
        if version <= self.version {
            return Ok(());
        }
        self.version = version;
        let Some(p) = &self.path else { return Ok(()) };
        let io = |e| Error::io(p.display().to_string(), e);
        if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = tmp_path(p);
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(format!("{version}\n").as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(io)?;
        drop(f);
        std::fs::rename(&tmp, p).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io(e)
        })?;
        if let Some(d) = p.parent().and_then(|d| std::fs::File::open(d).ok()) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

fn tmp_path(p: &Path) -> PathBuf {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    p.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}
