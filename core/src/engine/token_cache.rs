//! The verified-token cache, bounded by bytes and keyed by the SHA-256 of the token text.
//!
//! Anyone who can reach `validate` chooses the token bytes, so the cache must not grow with
//! what they send: only tokens that verified are kept among the verified, weighted by an
//! estimate of the memory they hold; rejections go to a small separate set (so a flood of
//! bogus tokens can neither grow memory nor evict the good ones). Keys are 32-byte digests,
//! not the token text (up to 16 KiB each).

use quick_cache::sync::Cache;
use quick_cache::Weighter;
use std::sync::Arc;

/// SHA-256 of a token's text.
pub(crate) type Digest = [u8; 32];

/// Fixed cost charged per entry on top of its size: the digest, the entry, the `Arc`s and the
/// cache's own bookkeeping.
const ENTRY_OVERHEAD: u64 = 256;

/// Byte bound of the rejection set (about 4,000 typical rejections).
pub(crate) const REJECTED_BYTES: u64 = 1024 * 1024;

pub(crate) fn digest(token: &str) -> Digest {
    let d = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// What one cached value costs, computed once when it is made.
pub(crate) trait Weighed {
    /// Estimated bytes held.
    fn weight(&self) -> u64;
}

/// The charge for a verified token of `token_len` bytes: its decoded claims are held as JSON
/// values (about twice the text) plus the fixed overhead.
pub(crate) fn verified_weight(token_len: usize) -> u64 {
    ENTRY_OVERHEAD + 2 * token_len as u64
}

/// The charge for a rejection carrying `message_len` bytes of explanation.
pub(crate) fn rejected_weight(message_len: usize) -> u64 {
    ENTRY_OVERHEAD + message_len as u64
}

#[derive(Clone, Copy)]
pub(crate) struct ByWeight;

impl<V: Weighed> Weighter<Digest, Arc<V>> for ByWeight {
    fn weight(&self, _: &Digest, v: &Arc<V>) -> u64 {
        v.weight()
    }
}

/// A byte-bounded cache of token digests to `V`.
pub(crate) type TokenCache<V> = Cache<Digest, Arc<V>, ByWeight>;

pub(crate) fn new_cache<V: Weighed>(estimated_items: usize, bytes: u64) -> TokenCache<V> {
    Cache::with_weighter(estimated_items.max(16), bytes.max(64 * 1024), ByWeight)
}

/// Sizes of an engine's token caches, as reported by [`crate::Engine::token_cache_stats`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenCacheStats {
    /// Verified tokens held.
    pub verified_entries: usize,
    /// Their estimated bytes (never above `verified_capacity_bytes`).
    pub verified_bytes: u64,
    /// The byte bound of verified tokens ([`crate::EngineOptions::token_cache_bytes`]).
    pub verified_capacity_bytes: u64,
    /// Rejected tokens remembered (so a repeated bad token is not verified again).
    pub rejected_entries: usize,
    /// Their estimated bytes (never above `rejected_capacity_bytes`).
    pub rejected_bytes: u64,
    /// The byte bound of remembered rejections (1 MiB).
    pub rejected_capacity_bytes: u64,
}
