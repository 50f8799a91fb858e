//! The server's state: the database ([`Store`]) and what is served from memory (the latest
//! policy version, the API's revocations and kill switches, the signed snapshot serving now,
//! approval requests), re-read from the database after every change made here or on another
//! replica ([`App::refresh`]), and the audit ingest file.

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
    /// Where the SQLite database (`act.sqlite`: approvals, policy versions, keys, revocations,
    /// the audit index) and `webhooks.json` are kept (none = memory only).
    pub state_dir: Option<PathBuf>,
    /// A PostgreSQL database instead of SQLite (`postgres://...`), shared by replicas.
    pub database_url: Option<String>,
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
    /// The database: SQLite in the state folder (or memory), or PostgreSQL.
    pub store: Store,
    /// Ingested audit records, queryable (in the database, or in memory without a state folder).
    pub audit_index: AuditIndex,
    /// Published policy versions.
    pub policy_store: PolicyStore,
    /// Where events are announced (`<state-dir>/webhooks.json`).
    pub webhooks: crate::webhooks::Webhooks,
    /// Managed API keys (the bootstrap ones are in [`App::credentials`] only).
    pub key_store: crate::keys::KeyStore,
    /// Held by every publish and revocation change from its check to its commit and by every
    /// refresh from the database (changes are made and served one at a time in this process;
    /// across replicas the database's revision row serialises them).
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
        if let Some(d) = &c.state_dir {
            std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
        let store = match (&c.database_url, &c.state_dir) {
            (Some(url), _) => Store::connect(url).await?,
            (None, Some(d)) => Store::open(&d.join("act.sqlite")).await?,
            (None, None) => Store::memory().await?,
        };
        if let Some(d) = &c.state_dir {
            crate::revocation_store::import_file(&store, d, now_ms()).await?;
        }
        let mut approvals = Approvals::default();
        for e in store.approvals().await? {
            approvals.put(e);
        }
        let audit_index = AuditIndex::in_pool(store.pool().clone());
        let policy_store = PolicyStore::in_store(store.clone());
        let key_store = crate::keys::KeyStore::in_store(store.clone());
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
                revocations: RevocationState::default(),
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
        crate::replicas::follow(&app);
        Ok(app)
    }

    /// At start: the folder is published as a new version when its content differs from what it
    /// held when last seen (or nothing was ever published); otherwise the latest version (perhaps
    /// a push made since, perhaps by another replica) keeps serving, re-signed at a new revision
    /// (this server's key may be new).
    async fn start_policies(&self, folder: PolicySet) -> Result<(), String> {
        let last_folder = self.policy_store.latest(Some(Source::Folder)).await?;
        match last_folder {
            Some(f) if f.policy_set == folder => {
                self.lock().folder = folder;
                let mut tx = self.store.begin().await?;
                Store::bump_revision(&mut tx, now_ms()).await?;
                self.store.notify(&mut tx, "snapshot").await?;
                tx.commit().await.map_err(|e| format!("cannot start: {e}"))?;
                let _one_at_a_time = self.policy_writes.lock().await;
                self.refresh_locked().await?;
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

    /// Reads the served state from the database (a change made here or on another replica) and,
    /// when its revision is newer than what serves, signs and serves it (long polls wake).
    /// Returns the version serving.
    pub async fn refresh(&self) -> Result<u64, String> {
        let _one_at_a_time = self.policy_writes.lock().await;
        self.refresh_locked().await
    }

    async fn refresh_locked(&self) -> Result<u64, String> {
        // The revision first: what is read after it holds at least every change up to it.
        let revision = self.store.revision().await?;
        if revision <= self.lock().version {
            return Ok(self.lock().version);
        }
        let mut conn = self
            .store
            .pool()
            .acquire()
            .await
            .map_err(|e| format!("revocations: {e}"))?;
        let revocations = crate::revocation_store::load(&mut conn, true).await?;
        drop(conn);
        let latest = self.policy_store.latest(None).await?;
        let serving = self.lock().policy_version;
        if let Some(l) = latest.as_ref().filter(|l| l.info.version != serving) {
            self.engine
                .reload(l.policy_set.clone())
                .map_err(|e| format!("published policy version {}: {e}", l.info.version))?;
        }
        let mut inner = self.lock();
        if let Some(l) = latest.filter(|l| l.info.version != serving) {
            if l.info.source == Source::Folder && inner.policy_version == 0 {
                inner.folder = l.policy_set.clone();
            }
            inner.files = l.policy_set;
            inner.policy_version = l.info.version;
        }
        inner.revocations = revocations;
        self.publish(&mut inner, revision)
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
    /// served (long polls wake at once, here and on the other replicas). A folder change is
    /// remembered as the folder's content.
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
        let (info, _) = self
            .policy_store
            .insert(v, now_ms())
            .await
            .map_err(PublishError::Failed)?;
        if source == Source::Folder {
            self.lock().folder = set;
        }
        let snapshot = self.refresh_locked().await.map_err(PublishError::Failed)?;
        Ok((info, snapshot))
    }

    /// The state lock (a panicked holder leaves consistent data: every change is applied whole).
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Merges the files with the API's revocations and kill switches and signs them as `version`
    /// (the database's revision: every replica signs the same version for the same state).
    fn publish(&self, inner: &mut Inner, version: u64) -> Result<u64, String> {
        let mut set = inner.files.clone();
        inner.revocations.merge_into(&mut set);
        // Tokens and approvals this server signs use its key: SDKs must trust it as an issuer.
        let own = self.key.verifying_key().to_string();
        if !set.trusted_issuers.contains(&own) {
            set.trusted_issuers.push(own);
        }
        let issued_at = now_ms();
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

    /// Applies `change` to the revocation state in one transaction (the state is read inside it,
    /// so a change made meanwhile on another replica is kept), stores the difference and its
    /// event, then serves the result: a change that cannot be saved is not applied at all.
    pub async fn change_revocations(
        &self,
        change: impl FnOnce(&mut RevocationState) -> Result<(), String>,
    ) -> Result<u64, ChangeError> {
        let _one_at_a_time = self.policy_writes.lock().await;
        let mut tx = self.store.begin().await.map_err(ChangeError::Failed)?;
        Store::bump_revision(&mut tx, now_ms())
            .await
            .map_err(ChangeError::Failed)?;
        let before = crate::revocation_store::load(&mut tx, false)
            .await
            .map_err(ChangeError::Failed)?;
        let mut next = before.clone();
        change(&mut next).map_err(ChangeError::Invalid)?;
        let event = next.history.last().cloned();
        if let Some(e) = &event {
            let origin = crate::revocation_store::Origin {
                at_ms: e.at_ms,
                by: &e.by,
                reason: &e.reason,
            };
            crate::revocation_store::write(&mut tx, &before, &next, origin)
                .await
                .map_err(ChangeError::Failed)?;
        }
        self.store
            .notify(&mut tx, "snapshot")
            .await
            .map_err(ChangeError::Failed)?;
        tx.commit()
            .await
            .map_err(|e| ChangeError::Failed(format!("revocations: {e}")))?;
        let version = self.refresh_locked().await.map_err(ChangeError::Failed)?;
        if let Some(e) = event.filter(|e| e.action.starts_with("kill_switch")) {
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
