//! The server's state: the files' policies, API-made revocations and kill switches, the signed
//! snapshot serving now, approval requests, and the audit ingest file.

use crate::approvals::Approvals;
use crate::audit_chains::{AuditChains, ChainKey, IngestError, Ingested};
use crate::audit_index::AuditIndex;
use crate::auth::Credentials;
use crate::fleet::Fleet;
use crate::policies::{Rejected, TestReport};
use crate::policy_store::{NewVersion, PolicyStore, Source, VersionInfo};
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
    /// The published policy set serving now (the latest version).
    pub files: PolicySet,
    /// Its version number (see [`crate::policy_store`]).
    pub policy_version: u64,
    /// The watched policy folder's content when last seen (a change of it is a publish).
    pub folder: PolicySet,
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
    /// Published policy versions.
    pub policy_store: PolicyStore,
    /// Where events are announced (`<state-dir>/webhooks.json`).
    pub webhooks: crate::webhooks::Webhooks,
    /// Managed API keys (the bootstrap ones are in [`App::credentials`] only).
    pub key_store: crate::keys::KeyStore,
    /// Held by every publish from its check to its commit (versions are published one at a time).
    pub policy_writes: tokio::sync::Mutex<()>,
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

/// Why a policy version was not published; nothing changed.
#[derive(Debug)]
pub enum PublishError {
    /// The content is what serves already (`409 policy_unchanged`).
    Unchanged(u64),
    /// It does not compile (`422 policy_invalid`).
    Rejected(Rejected),
    /// Storing failed (`503 storage_failed`).
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
        let pool = match &store {
            Some(s) => s.pool(),
            None => crate::store::memory_pool().await?,
        };
        let audit_index = AuditIndex::in_pool(pool.clone());
        let policy_store = PolicyStore::in_pool(pool.clone());
        let key_store = crate::keys::KeyStore::in_pool(pool);
        for (hash, principal) in key_store.live().await.map_err(|e| format!("{e:?}"))? {
            if !c.credentials.is_bootstrap(&hash) {
                c.credentials.add_managed(hash, principal);
            }
        }
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
        let hooks = match &c.state_dir {
            Some(d) => match std::fs::read_to_string(d.join("webhooks.json")) {
                Ok(t) => {
                    crate::webhooks::parse(&t).map_err(|m| format!("{}: {m}", d.join("webhooks.json").display()))?
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(e) => return Err(format!("{}: {e}", d.join("webhooks.json").display())),
            },
            None => Vec::new(),
        };
        if !hooks.is_empty() {
            eprintln!("webhooks: {} configured", hooks.len());
        }
        let webhooks = crate::webhooks::Webhooks::start(hooks)?;
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
            policy_store,
            key_store,
            webhooks,
            policy_writes: tokio::sync::Mutex::new(()),
            tls: AtomicBool::new(false),
            approval_writes: tokio::sync::Mutex::new(()),
            inner: Mutex::new(Inner {
                files: c.policies.clone(),
                policy_version: 0,
                folder: c.policies.clone(),
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
        app.start_policies(c.policies).await?;
        Ok(app)
    }

    /// At start: the folder is published as a new version when its content differs from what it
    /// held when last seen (or nothing was ever published); otherwise the latest version (perhaps
    /// a push made since) keeps serving.
    async fn start_policies(&self, folder: PolicySet) -> Result<(), String> {
        let latest = self.policy_store.latest(None).await?;
        let last_folder = self.policy_store.latest(Some(Source::Folder)).await?;
        match (latest, last_folder) {
            (Some(latest), Some(f)) if f.policy_set == folder => {
                if latest.policy_set != folder {
                    self.engine
                        .reload(latest.policy_set.clone())
                        .map_err(|e| format!("published policy version {}: {e}", latest.info.version))?;
                }
                let mut inner = self.lock();
                inner.files = latest.policy_set;
                inner.policy_version = latest.info.version;
                self.publish(&mut inner)?;
            }
            _ => {
                let reason = "the policy folder at start".to_string();
                self.publish_policies(Self::folder_version(folder, reason))
                    .await
                    .map_err(|e| format!("cannot publish the policy folder: {e:?}"))?;
            }
        }
        Ok(())
    }

    /// A version made from the watched folder (published by `dev`).
    pub fn folder_version(set: PolicySet, reason: String) -> NewVersion {
        NewVersion {
            by: "dev".into(),
            reason,
            source: Source::Folder,
            rolled_back_from: None,
            set,
            files: Default::default(),
            tests: TestReport::default(),
        }
    }

    /// Publishes a policy set as the next version: compiled, stored in one transaction, then
    /// served (long polls wake at once). A folder change is remembered as the folder's content.
    pub async fn publish_policies(&self, v: NewVersion) -> Result<(VersionInfo, u64), PublishError> {
        let _one_at_a_time = self.policy_writes.lock().await;
        let (serving, version) = {
            let inner = self.lock();
            (inner.files.clone(), inner.policy_version)
        };
        if version > 0 && serving == v.set && v.source != Source::Folder {
            return Err(PublishError::Unchanged(version));
        }
        crate::policies::compile(&v.set).map_err(PublishError::Rejected)?;
        let set = v.set.clone();
        let source = v.source;
        let info = self
            .policy_store
            .insert(v, now_ms())
            .await
            .map_err(PublishError::Failed)?;
        if let Err(e) = self.engine.reload(set.clone()) {
            // Compiled above, so this does not happen; the version is stored, serving stays as is.
            return Err(PublishError::Failed(format!(
                "stored version {} does not load: {e}",
                info.version
            )));
        }
        let mut inner = self.lock();
        if source == Source::Folder {
            inner.folder = set.clone();
        }
        inner.files = set;
        inner.policy_version = info.version;
        let snapshot = self.publish(&mut inner).map_err(PublishError::Failed)?;
        Ok((info, snapshot))
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
        let version = self.publish(&mut inner).map_err(ChangeError::Failed)?;
        if let Some(e) = inner
            .revocations
            .history
            .last()
            .filter(|e| e.action.starts_with("kill_switch"))
        {
            let data = serde_json::json!({"action": e.action, "by": e.by, "target": e.target, "reason": e.reason,
                "at_ms": e.at_ms, "snapshot_version": version});
            self.webhooks.emit("kill_switch.changed", data);
        }
        Ok(version)
    }

    /// Checks and stores an audit batch posted for `chain` (see [`crate::audit_chains`]).
    pub fn ingest(&self, chain: &ChainKey, records: &[serde_json::Value]) -> Result<Ingested, IngestError> {
        let done = self.lock().audit.ingest(chain, records)?;
        self.webhooks.forward_alerts(records);
        if done.gaps > 0 {
            let data = serde_json::json!({"credential": chain.credential, "instance": chain.instance,
                "gaps": done.gaps, "accepted": done.accepted});
            self.webhooks.emit("audit.chain_gap", data);
        }
        Ok(done)
    }
}
