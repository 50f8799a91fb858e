//! The state of `act serve`: the files' policies, API-made revocations, the signed
//! snapshot serving now, pending approvals, and the audit ingest file.

use act_core::approval::ApprovalRequest;
use act_core::policy::{GrantRevocation, KillSwitches, PolicySet};
use act_core::snapshot::{encode_snapshot, SnapshotDocument};
use act_core::{Engine, SigningKey};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

/// The document serving now.
pub struct Current {
    pub version: u64,
    pub etag: String,
    pub jws: String,
}

/// An approval request and what a human decided.
#[derive(Clone, Serialize)]
pub struct ApprovalEntry {
    #[serde(flatten)]
    pub request: ApprovalRequest,
    /// `pending`, `granted` or `denied`.
    pub status: &'static str,
    pub created_at_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// The approval token, once granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval: Option<String>,
}

/// Changes posted to `/v1/revocations`.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevocationBody {
    /// Token ids (`jti`).
    #[serde(default)]
    pub tokens: Vec<String>,
    /// Agent ids.
    #[serde(default)]
    pub agents: Vec<String>,
    /// Subjects (user ids).
    #[serde(default)]
    pub subjects: Vec<String>,
    /// Single grants.
    #[serde(default)]
    pub grants: Vec<GrantRevocation>,
    /// Kill switches to turn on.
    #[serde(default)]
    pub kill_switches: Option<KillSwitches>,
}

/// Mutable state, behind one lock held only briefly.
pub struct Inner {
    pub files: PolicySet,
    pub api: RevocationBody,
    pub version: u64,
    pub approvals: BTreeMap<String, ApprovalEntry>,
    pub audit: Option<(std::fs::File, HashSet<String>)>,
    pub last_error: Option<String>,
}

/// Shared by every handler.
pub struct App {
    pub key: SigningKey,
    pub api_key: String,
    pub engine: Engine,
    pub state_dir: Option<PathBuf>,
    pub inner: Mutex<Inner>,
    pub current: tokio::sync::watch::Sender<Arc<Current>>,
}

fn now_ms() -> i64 {
    act_core::Clock::now_ms(&act_core::SystemClock)
}

fn push_unique<T: PartialEq + Clone>(into: &mut Vec<T>, from: &[T]) {
    for x in from {
        if !into.contains(x) {
            into.push(x.clone());
        }
    }
}

impl App {
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Merges the files with the API's revocations and kill switches and signs the next version.
    pub fn publish(&self, inner: &mut Inner) -> Result<u64, String> {
        let mut set = inner.files.clone();
        let r = &inner.api;
        push_unique(&mut set.revocations.tokens, &r.tokens);
        push_unique(&mut set.revocations.agents, &r.agents);
        push_unique(&mut set.revocations.subjects, &r.subjects);
        push_unique(&mut set.revocations.grants, &r.grants);
        if let Some(k) = &inner.api.kill_switches {
            set.kill_switches.all |= k.all;
            push_unique(&mut set.kill_switches.agents, &k.agents);
            push_unique(&mut set.kill_switches.actions, &k.actions);
        }
        // Tokens this endpoint issues are signed with its key: SDKs must trust it as an issuer.
        let own = self.key.verifying_key().to_string();
        if !set.trusted_issuers.contains(&own) {
            set.trusted_issuers.push(own);
        }
        let issued_at = now_ms();
        // Versions are milliseconds (or one more than the last): they keep growing across restarts.
        let version = (inner.version + 1).max(issued_at as u64);
        let doc = SnapshotDocument {
            version,
            issued_at,
            expires_at: None,
            policies: set,
        };
        let jws = encode_snapshot(&self.key, &doc).map_err(|e| e.to_string())?;
        inner.version = version;
        self.current.send_replace(Arc::new(Current {
            version,
            etag: format!("\"{version}\""),
            jws,
        }));
        Ok(version)
    }

    /// Applies a revocation body, persists it, and signs a new version.
    pub fn revoke(&self, body: RevocationBody) -> Result<u64, String> {
        let mut inner = self.lock();
        let api = &mut inner.api;
        push_unique(&mut api.tokens, &body.tokens);
        push_unique(&mut api.agents, &body.agents);
        push_unique(&mut api.subjects, &body.subjects);
        push_unique(&mut api.grants, &body.grants);
        if let Some(k) = body.kill_switches {
            let ks = api.kill_switches.get_or_insert_with(KillSwitches::default);
            ks.all |= k.all;
            push_unique(&mut ks.agents, &k.agents);
            push_unique(&mut ks.actions, &k.actions);
        }
        if let Some(dir) = &self.state_dir {
            let text = serde_json::to_string_pretty(&inner.api).unwrap_or_default();
            let tmp = dir.join(".revocations.json.tmp");
            std::fs::write(&tmp, text)
                .and_then(|_| std::fs::rename(&tmp, dir.join("revocations.json")))
                .map_err(|e| format!("cannot persist revocations in {}: {e}", dir.display()))?;
        }
        self.publish(&mut inner)
    }

    /// Appends records whose id was not seen yet; returns (accepted, duplicates).
    pub fn ingest(&self, records: &[serde_json::Value]) -> Result<(usize, usize), String> {
        let mut inner = self.lock();
        let Some((file, seen)) = inner.audit.as_mut() else {
            return Ok((0, records.len()));
        };
        let (mut accepted, mut dup) = (0, 0);
        let mut out = String::new();
        for r in records {
            let id = r.get("id").and_then(|v| v.as_str()).unwrap_or_default();
            if seen.insert(id.to_string()) {
                out.push_str(&r.to_string());
                out.push('\n');
                accepted += 1;
            } else {
                dup += 1;
            }
        }
        file.write_all(out.as_bytes())
            .and_then(|_| file.flush())
            .map_err(|e| format!("cannot append to the audit log: {e}"))?;
        Ok((accepted, dup))
    }
}

/// Opens the audit ingest file and reads the ids it already holds (for de-duplication).
pub fn open_audit(path: &std::path::Path) -> std::io::Result<(std::fs::File, HashSet<String>)> {
    let mut seen = HashSet::new();
    if let Ok(f) = std::fs::File::open(path) {
        for line in std::io::BufReader::new(f).lines() {
            let line = line?;
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                if let Some(id) = v.get("id").and_then(|i| i.as_str()) {
                    seen.insert(id.to_string());
                }
            }
        }
    }
    let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    Ok((file, seen))
}

/// Reads revocations persisted by an earlier run.
pub fn load_revocations(dir: &std::path::Path) -> Result<RevocationBody, String> {
    let path = dir.join("revocations.json");
    match std::fs::read_to_string(&path) {
        Ok(t) => serde_json::from_str(&t).map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(RevocationBody::default()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}
