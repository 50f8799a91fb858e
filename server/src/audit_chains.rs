//! Audit ingest that checks what it stores: one hash chain per SDK instance (protocol: SDK instance identity: the
//! `X-Act-Instance` header of the POST, per credential, so one host cannot extend another's
//! chain), every record's hash verified with core's [`AuditRecord::compute_hash`], and a record
//! id stored once with one content.
//!
//! A record that does not follow its chain's last stored hash (a gap: records missing; a fork: a
//! second record after the same predecessor, or a restart from genesis) is still stored, since
//! refusing it would lose the evidence, but it is flagged in the file and counted per chain
//! (`GET /v1/audit/chains`). A batch is checked whole before anything is written: a bad record
//! or an id conflict refuses the batch, and a failed write changes no in-memory state.

use act_core::audit::{AuditRecord, GENESIS_HASH};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, Write};
use std::path::Path;

/// The chain of records posted without `X-Act-Instance` (one per credential).
pub const UNKNOWN_INSTANCE: &str = "unknown";

/// Longest accepted `X-Act-Instance` value.
pub const MAX_INSTANCE_CHARS: usize = 128;

/// Chain breaks remembered per chain (the counts cover all of them).
const BREAKS_KEPT: usize = 20;

/// Whose chain a record belongs to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ChainKey {
    /// The identity of the credential that posted it.
    pub credential: String,
    /// The SDK instance (`X-Act-Instance`), or [`UNKNOWN_INSTANCE`].
    pub instance: String,
}

/// How a stored record fails to follow its chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakKind {
    /// Its `prev_hash` is no record of the chain: records are missing.
    Gap,
    /// Its `prev_hash` is an earlier record (or genesis) that already has a successor.
    Fork,
}

/// One flagged record.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChainBreak {
    /// The record.
    pub id: String,
    /// Gap or fork.
    pub kind: BreakKind,
    /// The chain's last stored hash when it arrived.
    pub expected_prev_hash: String,
    /// What the record said.
    pub prev_hash: String,
}

/// What the ingest file records beside each record (ignored by `act audit verify`).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct IngestNote {
    #[serde(flatten)]
    chain: ChainKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    r#break: Option<BreakKind>,
}

/// One chain's state.
#[derive(Debug, Default)]
pub struct Chain {
    /// Records stored.
    pub records: u64,
    /// The last stored record's id and hash.
    pub last: Option<(String, String)>,
    /// Records flagged as gaps.
    pub gaps: u64,
    /// Records flagged as forks.
    pub forks: u64,
    /// The most recent breaks (at most [`BREAKS_KEPT`]).
    pub breaks: Vec<ChainBreak>,
    hashes: HashSet<String>,
}

/// The answer to one batch.
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub struct Ingested {
    /// New records stored.
    pub accepted: usize,
    /// Records already stored with the same content.
    pub duplicates: usize,
    /// New records stored flagged as a gap or fork.
    pub gaps: usize,
}

/// Why a batch was refused (nothing of it stored).
#[derive(Debug)]
pub enum IngestError {
    /// A record is malformed or its hash does not verify (`400 audit_record_invalid`).
    Invalid(String),
    /// A record id is stored with other content (`409 audit_id_conflict`).
    Conflict(String),
    /// The file could not be written (`503 storage_failed`).
    Failed(String),
}

/// Every chain, the ids stored, and the append-only file they are written to.
#[derive(Default)]
pub struct AuditChains {
    ids: HashMap<String, String>,
    chains: BTreeMap<ChainKey, Chain>,
    file: Option<std::fs::File>,
}

impl AuditChains {
    /// Opens (or creates) the ingest file and replays it. Lines written before chains were
    /// tracked (no note) count in the `unknown` chain of credential `""`.
    pub fn open(path: &Path) -> Result<AuditChains, String> {
        let mut chains = AuditChains::default();
        if let Ok(f) = std::fs::File::open(path) {
            for (n, line) in std::io::BufReader::new(f).lines().enumerate() {
                let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
                if line.trim().is_empty() {
                    continue;
                }
                let v: Value = serde_json::from_str(&line)
                    .map_err(|e| format!("{} line {}: not JSON: {e}", path.display(), n + 1))?;
                let rec: AuditRecord = serde_json::from_value(v.clone())
                    .map_err(|e| format!("{} line {}: not an audit record: {e}", path.display(), n + 1))?;
                let note: IngestNote = v
                    .get("ingest")
                    .and_then(|n| serde_json::from_value(n.clone()).ok())
                    .unwrap_or(IngestNote {
                        chain: ChainKey {
                            credential: String::new(),
                            instance: UNKNOWN_INSTANCE.into(),
                        },
                        r#break: None,
                    });
                let expected = chains.chains.get(&note.chain).map(Chain::tip).unwrap_or(GENESIS_HASH);
                let brk = note.r#break.map(|kind| ChainBreak {
                    id: rec.id.clone(),
                    kind,
                    expected_prev_hash: expected.to_string(),
                    prev_hash: rec.prev_hash.clone(),
                });
                chains.apply(&note.chain, &rec, brk);
            }
        }
        chains.file = Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("{}: {e}", path.display()))?,
        );
        Ok(chains)
    }

    /// Checks `records` (posted by `key`) whole, appends the new ones to the file, then updates
    /// the chains. Records arrive in chain order; later records of a batch follow earlier ones.
    pub fn ingest(&mut self, key: &ChainKey, records: &[Value]) -> Result<Ingested, IngestError> {
        let mut parsed = Vec::with_capacity(records.len());
        for (i, v) in records.iter().enumerate() {
            let rec: AuditRecord = serde_json::from_value(v.clone())
                .map_err(|e| IngestError::Invalid(format!("record {i} is not an audit record: {e}")))?;
            if rec.compute_hash() != rec.hash {
                return Err(IngestError::Invalid(format!(
                    "record {i} (`{}`): its hash does not match its content (edited or forged)",
                    rec.id
                )));
            }
            parsed.push(rec);
        }
        let chain = self.chains.get(key);
        let mut tip = chain.map(Chain::tip).unwrap_or(GENESIS_HASH).to_string();
        let mut batch_ids: HashMap<&str, &str> = HashMap::new();
        let mut batch_hashes: HashSet<&str> = HashSet::new();
        let mut fresh: Vec<(&AuditRecord, Option<ChainBreak>)> = Vec::new();
        let mut out = Ingested::default();
        for rec in &parsed {
            let stored = self
                .ids
                .get(&rec.id)
                .map(String::as_str)
                .or(batch_ids.get(rec.id.as_str()).copied());
            match stored {
                Some(h) if h == rec.hash => {
                    out.duplicates += 1;
                    continue;
                }
                Some(_) => {
                    return Err(IngestError::Conflict(format!(
                        "record id `{}` is already stored with other content; a record is never replaced",
                        rec.id
                    )))
                }
                None => {}
            }
            let brk = (rec.prev_hash != tip).then(|| {
                let known = rec.prev_hash == GENESIS_HASH
                    || batch_hashes.contains(rec.prev_hash.as_str())
                    || chain.is_some_and(|c| c.hashes.contains(&rec.prev_hash));
                ChainBreak {
                    id: rec.id.clone(),
                    kind: if known { BreakKind::Fork } else { BreakKind::Gap },
                    expected_prev_hash: tip.clone(),
                    prev_hash: rec.prev_hash.clone(),
                }
            });
            out.gaps += usize::from(brk.is_some());
            tip = rec.hash.clone();
            batch_ids.insert(&rec.id, &rec.hash);
            batch_hashes.insert(&rec.hash);
            fresh.push((rec, brk));
        }
        out.accepted = fresh.len();
        if let Some(file) = self.file.as_mut() {
            let mut text = String::new();
            for (rec, brk) in &fresh {
                let mut line = serde_json::to_value(rec).map_err(|e| IngestError::Failed(e.to_string()))?;
                let note = IngestNote {
                    chain: key.clone(),
                    r#break: brk.as_ref().map(|b| b.kind),
                };
                line["ingest"] = serde_json::to_value(note).map_err(|e| IngestError::Failed(e.to_string()))?;
                text.push_str(&line.to_string());
                text.push('\n');
            }
            file.write_all(text.as_bytes())
                .and_then(|_| file.flush())
                .map_err(|e| IngestError::Failed(format!("cannot append to the audit log: {e}")))?;
        }
        for (rec, brk) in fresh {
            self.apply(key, rec, brk);
        }
        Ok(out)
    }

    fn apply(&mut self, key: &ChainKey, rec: &AuditRecord, brk: Option<ChainBreak>) {
        self.ids.insert(rec.id.clone(), rec.hash.clone());
        let chain = self.chains.entry(key.clone()).or_default();
        chain.records += 1;
        chain.hashes.insert(rec.hash.clone());
        chain.last = Some((rec.id.clone(), rec.hash.clone()));
        if let Some(b) = brk {
            match b.kind {
                BreakKind::Gap => chain.gaps += 1,
                BreakKind::Fork => chain.forks += 1,
            }
            if chain.breaks.len() == BREAKS_KEPT {
                chain.breaks.remove(0);
            }
            chain.breaks.push(b);
        }
    }

    /// Every chain, for `GET /v1/audit/chains`.
    pub fn chains(&self) -> &BTreeMap<ChainKey, Chain> {
        &self.chains
    }
}

impl Chain {
    fn tip(&self) -> &str {
        self.last.as_ref().map(|(_, h)| h.as_str()).unwrap_or(GENESIS_HASH)
    }
}
