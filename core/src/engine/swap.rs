//! The serving snapshot is replaced by compare-and-swap, never by load-then-store.
//!
//! Reloads, the file watcher and endpoint sync may offer snapshots at the same time. A check
//! ("is it newer?") followed by a separate store lets an older candidate that passed its check
//! overwrite a newer one stored in between. Here the check and the store are one atomic step:
//! `compare_and_swap` stores only if the snapshot checked against is still the one serving,
//! otherwise the check reruns against the winner. So once a version served, no older one ever
//! serves again, and host languages need no reload lock of their own.

use crate::error::{Error, Result};
use crate::snapshot::Snapshot;
use arc_swap::ArcSwap;
use std::sync::Arc;

/// Stores `next` if it supersedes the serving snapshot (atomically); returns its version.
pub(super) fn swap_if_newer(cell: &ArcSwap<Snapshot>, next: Snapshot) -> Result<u64> {
    let next = Arc::new(next);
    let mut current = cell.load();
    loop {
        if !next.supersedes(&current) {
            return Err(Error::Snapshot(format!(
                "version {} is not newer than the serving version {}",
                next.version, current.version
            )));
        }
        let previous = cell.compare_and_swap(&*current, Arc::clone(&next));
        if Arc::ptr_eq(&*previous, &*current) {
            return Ok(next.version);
        }
        // Another swap won meanwhile: decide again against what serves now.
        current = previous;
    }
}

/// Compiles the next version with `compile(version)` and swaps it in; when another swap wins
/// meanwhile, compiles again on top of the winner (so concurrent reloads both land, in some order,
/// instead of one failing with "not newer").
pub(super) fn reload_with(cell: &ArcSwap<Snapshot>, mut compile: impl FnMut(u64) -> Result<Snapshot>) -> Result<u64> {
    // Each retry means another swap landed; a handful of them in a row is a livelock, not a race.
    for _ in 0..64 {
        let current = cell.load();
        let next = Arc::new(compile(current.version.saturating_add(1))?);
        let previous = cell.compare_and_swap(&*current, Arc::clone(&next));
        if Arc::ptr_eq(&*previous, &*current) {
            return Ok(next.version);
        }
    }
    Err(Error::Snapshot(
        "the reload lost 64 races in a row to other snapshot swaps; try again".into(),
    ))
}
