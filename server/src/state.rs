//! The server's state: the files' policies, API-made revocations and kill switches, the signed
//! snapshot serving now, approval requests, and the audit ingest file.

use crate::approvals::Approvals;
use crate::audit_chains::{AuditChains, ChainKey, IngestError, Ingested};
use crate::audit_index::AuditIndex;
use crate::auth::Credentials;
use crate::fleet::Fleet;
use crate::revocations::RevocationState;
use crate::store::Store;
use act_core::policy::PolicySet;
use act_core::snapshot::{encode_snapshot, SnapshotDocument};
use act_core::{Engine, SigningKey};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;

/// What a server is started with.
pub struct Config {
    /// Signs snapshots, tokens and approvals.
    pub key: SigningKey,
    /// The policy files' content.
    pub policies: PolicySet,
    /// Who may call, with which role.
    pub credentials: Credentials,
    /// Where revocations and kill switches (`revocations.json`) and approvals (`act.sqlite`)
    /// survive restarts (none = memory only).
    pub state_dir: Option<PathBuf>,
    /// Append ingested audit records (checked per chain, de-duplicated by id) to this JSON Lines
    /// file (none = chains checked in memory only, records not kept).
    pub audit_log: Option<PathBuf>,
    /// How long an approval request waits for a decision.
    pub approval_ttl: Duration,
}

/// The document serving now.
pub struct Current {
    /// Its signed version.
    pub version: u64,
    /// Its `ETag`.
    pub etag: String,
    /// The compact JWS.
    pub jws: String,
}

/// Mutable state, behind one lock held only briefly.
pub struct Inner {
    /// The files' policies (last good load).
    pub files: PolicySet,
    /// What the API revoked and switched off.
    pub revocations: RevocationState,
    /// The version serving.
    pub version: u64,
    /// Approval requests.
    pub approvals: Approvals,
    /// The audit chains, the ids stored and their file.
    pub audit: AuditChains,
    /// The last policy load error printed (printed once).
    pub last_error: Option<String>,
    /// SDK instances and the versions they serve.
    pub fleet: Fleet,
}

/// Shared by every handler.
pub struct App {
    /// Signs snapshots.
    pub key: SigningKey,
    /// Signs tokens and approvals (same key).
    pub engine: Engine,
    /// Who may call.
    pub credentials: Credentials,
    /// See [`Config::state_dir`].
    pub state_dir: Option<PathBuf>,
    /// See [`Config::approval_ttl`].
    pub approval_ttl: Duration,
    /// The database (with a state folder).
    pub store: Option<Store>,
    /// Ingested audit records, queryable (in the database, or in memory without a state folder).
    pub audit_index: AuditIndex,
    /// Whether the server answers over HTTPS (set by [`crate::serve_tls`]; console cookies are then `Secure`).
    pub tls: AtomicBool,
    /// Held by every approval change from its check to its commit, so a check stays true until
    /// the change is stored and kept (reads never wait for it).
    pub approval_writes: tokio::sync::Mutex<()>,
    inner: Mutex<Inner>,
    /// The snapshot serving; long polls wait on it.
    pub current: watch::Sender<Arc<Current>>,
    /// Bumped on every approval decision; approval long polls wait on it.
    pub approvals_changed: watch::Sender<u64>,
    /// Set once at shutdown: long polls answer at once.
    pub stopping: watch::Sender<bool>,
}

/// Why a revocation or kill-switch change was not made.
#[derive(Debug)]
pub enum ChangeError {
    /// The body asks for something impossible (`400`); nothing changed.
    Invalid(String),
    /// Saving or signing failed (`503`); nothing changed on disk.
    Failed(String),
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    act_core::Clock::now_ms(&act_core::SystemClock)
}

impl App {
    /// Loads persisted state, opens the database and the audit file, and signs the first snapshot version.
    pub async fn new(c: Config) -> Result<Arc<App>, String> {
        let (revocations, store) = match &c.state_dir {
            Some(d) => {
                std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
                (
                    RevocationState::load(d)?,
                    Some(Store::open(&d.join("act.sqlite")).await?),
                )
            }
            None => (RevocationState::default(), None),
        };
        let mut approvals = Approvals::default();
        if let Some(store) = &store {
            for e in store.approvals().await? {
                approvals.put(e);
            }
        }
        let audit_index = match &store {
            Some(s) => AuditIndex::in_pool(s.pool()),
            None => AuditIndex::in_memory().await?,
        };
        let audit = match &c.audit_log {
            Some(p) => {
                let chains = AuditChains::open(p)?;
                let n = audit_index.backfill(p).await?;
                if n > 0 {
                    eprintln!("audit index: {n} records from {} made searchable", p.display());
                }
                chains
            }
            None => AuditChains::default(),
        };
        let engine_key = SigningKey::from_pkcs8_der(&c.key.to_pkcs8_der()).map_err(|e| e.to_string())?;
        let engine = Engine::builder()
            .policies(c.policies.clone())
            .signing_key(engine_key)
            .build()
            .map_err(|e| e.to_string())?;
        let (current, _) = watch::channel(Arc::new(Current {
            version: 0,
            etag: String::new(),
            jws: String::new(),
        }));
        let app = Arc::new(App {
            key: c.key,
            engine,
            credentials: c.credentials,
            state_dir: c.state_dir,
            approval_ttl: c.approval_ttl,
            store,
            audit_index,
            tls: AtomicBool::new(false),
            approval_writes: tokio::sync::Mutex::new(()),
            inner: Mutex::new(Inner {
                files: c.policies,
                revocations,
                version: 0,
                approvals,
                audit,
                last_error: None,
                fleet: Fleet::default(),
            }),
            current,
            approvals_changed: watch::channel(0).0,
            stopping: watch::channel(false).0,
        });
        {
            let mut inner = app.lock();
            app.publish(&mut inner)?;
        }
        Ok(app)
    }

    /// The state lock (a panicked holder leaves consistent data: every change is applied whole).
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Merges the files with the API's revocations and kill switches and signs the next version.
    pub fn publish(&self, inner: &mut Inner) -> Result<u64, String> {
        let mut set = inner.files.clone();
        inner.revocations.merge_into(&mut set);
        // Tokens and approvals this server signs use its key: SDKs must trust it as an issuer.
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

    /// Applies `change` to a copy of the revocation state, persists the copy, then swaps it in
    /// and publishes: a change that cannot be saved is not applied at all.
    pub fn change_revocations(
        &self,
        change: impl FnOnce(&mut RevocationState) -> Result<(), String>,
    ) -> Result<u64, ChangeError> {
        let mut inner = self.lock();
        let mut next = inner.revocations.clone();
        change(&mut next).map_err(ChangeError::Invalid)?;
        if let Some(dir) = &self.state_dir {
            next.save(dir).map_err(ChangeError::Failed)?;
        }
        inner.revocations = next;
        self.publish(&mut inner).map_err(ChangeError::Failed)
    }

    /// Checks and stores an audit batch posted for `chain` (see [`crate::audit_chains`]).
    pub fn ingest(&self, chain: &ChainKey, records: &[serde_json::Value]) -> Result<Ingested, IngestError> {
        self.lock().audit.ingest(chain, records)
    }
}
