//! `Act`: the embedded engine, as Kotlin and Swift see it.
//!
//! Every method converts its arguments, calls the core and converts the
//! result; rules and defaults live in the core. The engine sits in an
//! `ArcSwapOption` so `close` can take it away while calls in flight on other
//! threads keep their own reference until they return.

use crate::clock::ManualClock;
use crate::decision::Decision;
use crate::error::{shield, ActError, Result};
use crate::keys::{SigningKey, VerifyingKey};
use crate::value::{to_json_object, to_map, ContextValue};
use act_core::audit::JsonlSink;
use act_core::token::DelegationSpec;
use act_core::{Engine, EngineOptions, IssueRequest, Request};
use arc_swap::ArcSwapOption;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The ACT engine, embedded: loads a policy file (or a folder of them),
/// issues tokens with a local signing key and decides every agent action.
/// Thread-safe; share one instance.
#[derive(uniffi::Object)]
pub struct Act {
    engine: ArcSwapOption<Engine>,
    /// The policy file or folder; `None` when snapshots come from a control endpoint.
    policy_file: Option<PathBuf>,
    /// Serializes reloads: each compiles "current version + 1".
    reload_lock: Mutex<()>,
    /// The control-endpoint source, stopped by `close`.
    sync: Mutex<Option<act_core::sync::SyncHandle>>,
}

/// What `Act.status` reports.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ActStatus {
    /// `close` ran.
    pub closed: bool,
    /// The policy file or folder this engine loads (empty with a control endpoint).
    pub policy_file: String,
    /// Where snapshots come from: `file:<path>` or the control endpoint's snapshot URL.
    pub source: String,
    /// The control endpoint's last error (cleared by the next success).
    pub last_error: Option<String>,
    /// The policy snapshot version serving now (`None` once closed).
    pub snapshot_version: Option<u64>,
    /// The agents that have a policy.
    pub agents: Vec<String>,
    /// Audit records written to every sink so far.
    pub audit_written: u64,
    /// Audit sink failures so far.
    pub audit_errors: u64,
    /// The last audit sink failure, if any.
    pub audit_last_error: Option<String>,
}

#[derive(Clone, Copy)]
enum Mode {
    Validate,
    Check,
    Explain,
}

/// A positive whole number of seconds.
fn seconds(value: i64, name: &str) -> Result<u64> {
    if value < 1 {
        return Err(ActError::config(format!(
            "{name} must be a positive number of seconds, got {value}"
        )));
    }
    Ok(value as u64)
}

impl Act {
    fn engine(&self) -> Result<Arc<Engine>> {
        self.engine
            .load_full()
            .ok_or_else(|| ActError::config("this Act instance was closed"))
    }

    fn decide(
        &self,
        mode: Mode,
        token: &str,
        action: &str,
        resource: &str,
        context: &HashMap<String, ContextValue>,
        approval: Option<&str>,
    ) -> Result<Decision> {
        shield(|| {
            let guard = self.engine.load();
            let engine = guard
                .as_ref()
                .ok_or_else(|| ActError::config("this Act instance was closed"))?;
            let context = to_map(context, "context")?;
            let req = Request {
                token,
                action,
                resource,
                context: &context,
                approval,
            };
            let decision = match mode {
                Mode::Validate => engine.validate(&req),
                Mode::Check => engine.check(&req),
                Mode::Explain => engine.explain(&req),
            };
            Ok(decision.into())
        })
    }
}

#[uniffi::export]
impl Act {
    /// Loads `policy_file` (a YAML/JSON file or a folder of them) and starts the engine.
    ///
    /// `signing_key` issues tokens and approvals (its public key is trusted);
    /// `audience` is required in tokens' `aud` when set; `leeway` is the clock
    /// skew tolerated on `exp`/`nbf` in seconds (default 30); `trusted_keys` are
    /// further issuer keys; `audit_files` are JSON Lines files that receive every
    /// audit record; `clock` replaces the system clock (tests); `counters` is where
    /// rate limits and approval marks live: `"memory"` (default, this process) or a
    /// `redis://` URL shared by every process that names it (see `act_core::limits::open_store`).
    #[uniffi::constructor(default(
        signing_key = None,
        audience = None,
        leeway = None,
        issuer = None,
        trusted_keys = [],
        audit_files = [],
        clock = None,
        counters = None
    ))]
    #[allow(
        clippy::too_many_arguments,
        reason = "the keyword arguments of the host-language API, one parameter each"
    )]
    pub fn new(
        policy_file: String,
        signing_key: Option<Arc<SigningKey>>,
        audience: Option<String>,
        leeway: Option<i64>,
        issuer: Option<String>,
        trusted_keys: Vec<Arc<VerifyingKey>>,
        audit_files: Vec<String>,
        clock: Option<Arc<ManualClock>>,
        counters: Option<String>,
    ) -> Result<Arc<Self>> {
        shield(|| {
            let mut options = EngineOptions::default();
            if let Some(aud) = audience {
                options.audience = Some(aud);
            }
            if let Some(iss) = issuer {
                options.issuer = iss;
            }
            if let Some(l) = leeway {
                options.leeway_secs = l;
            }
            let path = PathBuf::from(&policy_file);
            let set = act_core::policy::load_path(&path)?;
            let mut builder = Engine::builder().policies(set).options(options);
            if let Some(k) = signing_key {
                builder = builder.signing_key(k.inner.clone());
            }
            for k in trusted_keys {
                builder = builder.trust(k.inner.clone());
            }
            if let Some(c) = clock {
                builder = builder.clock(c.inner.clone());
            }
            if let Some(spec) = counters {
                builder = builder.counters(act_core::limits::open_store(&spec)?);
            }
            for file in audit_files {
                builder = builder.audit_sink(Box::new(JsonlSink::open(file)?));
            }
            let engine = builder.build()?;
            Ok(Arc::new(Act {
                engine: ArcSwapOption::from_pointee(engine),
                policy_file: Some(path),
                reload_lock: Mutex::new(()),
                sync: Mutex::new(None),
            }))
        })
    }

    /// Keeps signed snapshots current from a control endpoint (`GET /v1/snapshot`), pinned to
    /// `trust_key`. Returns at once; until the first snapshot arrives (see `wait_for_snapshot`)
    /// validations deny `no_snapshot`. `cache_dir` keeps the last verified snapshot across restarts.
    /// `counters` is as in the constructor (`"memory"` or a `redis://` URL).
    #[uniffi::constructor(default(
        api_key = None,
        cache_dir = None,
        signing_key = None,
        trusted_keys = [],
        audit_files = [],
        counters = None
    ))]
    #[allow(
        clippy::too_many_arguments,
        reason = "the named arguments of the Kotlin/Swift constructor, one parameter each"
    )]
    pub fn connect(
        endpoint: String,
        trust_key: Arc<VerifyingKey>,
        api_key: Option<String>,
        cache_dir: Option<String>,
        signing_key: Option<Arc<SigningKey>>,
        trusted_keys: Vec<Arc<VerifyingKey>>,
        audit_files: Vec<String>,
        counters: Option<String>,
    ) -> Result<Arc<Self>> {
        shield(|| {
            let mut builder = Engine::builder().without_snapshot();
            if let Some(spec) = counters {
                builder = builder.counters(act_core::limits::open_store(&spec)?);
            }
            if let Some(k) = signing_key {
                builder = builder.signing_key(k.inner.clone());
            }
            for k in trusted_keys {
                builder = builder.trust(k.inner.clone());
            }
            for file in audit_files {
                builder = builder.audit_sink(Box::new(JsonlSink::open(file)?));
            }
            let engine = Arc::new(builder.build()?);
            let mut opts = act_core::sync::HttpSyncOptions::new(endpoint, trust_key.inner.clone());
            opts.api_key = api_key;
            opts.cache_dir = cache_dir.map(PathBuf::from);
            let handle = act_core::sync::start_http(engine.clone(), opts)?;
            Ok(Arc::new(Act {
                engine: ArcSwapOption::new(Some(engine)),
                policy_file: None,
                reload_lock: Mutex::new(()),
                sync: Mutex::new(Some(handle)),
            }))
        })
    }

    /// Blocks until a snapshot serves or `timeout_ms` passes; returns the serving version (0: none yet).
    pub fn wait_for_snapshot(&self, timeout_ms: u64) -> Result<u64> {
        shield(|| {
            let engine = self.engine()?;
            let deadline = std::time::Instant::now() + std::time::Duration::from_millis(timeout_ms);
            while engine.snapshot().version == 0 && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Ok(engine.snapshot().version)
        })
    }

    /// Decides and enforces: consumes rate limits and approvals, writes the audit record.
    /// A bad, expired or foreign token is a deny with its own reason, never an error.
    #[uniffi::method(default(approval = None, context))]
    pub fn validate(
        &self,
        token: String,
        action: String,
        resource: String,
        context: HashMap<String, ContextValue>,
        approval: Option<String>,
    ) -> Result<Decision> {
        self.decide(
            Mode::Validate,
            &token,
            &action,
            &resource,
            &context,
            approval.as_deref(),
        )
    }

    /// Decides without side effects: no counters, approvals, audit or circuit breaker.
    #[uniffi::method(default(approval = None, context))]
    pub fn check(
        &self,
        token: String,
        action: String,
        resource: String,
        context: HashMap<String, ContextValue>,
        approval: Option<String>,
    ) -> Result<Decision> {
        self.decide(Mode::Check, &token, &action, &resource, &context, approval.as_deref())
    }

    /// Like `check`, with `Decision.trace` listing every rule and constraint looked at.
    #[uniffi::method(default(approval = None, context))]
    pub fn explain(
        &self,
        token: String,
        action: String,
        resource: String,
        context: HashMap<String, ContextValue>,
        approval: Option<String>,
    ) -> Result<Decision> {
        self.decide(Mode::Explain, &token, &action, &resource, &context, approval.as_deref())
    }

    /// Issues a token for `agent` acting for the user in `user_context` (which needs `user_id`).
    /// `policy` is an inline capability (default: the agent's policy from the file);
    /// `ttl` is the lifetime in seconds (default 3600); `holder_key` may delegate.
    #[uniffi::method(default(policy = None, ttl = None, holder_key = None, agent_context))]
    pub fn issue_token(
        &self,
        agent: String,
        user_context: HashMap<String, ContextValue>,
        agent_context: HashMap<String, ContextValue>,
        policy: Option<HashMap<String, ContextValue>>,
        ttl: Option<i64>,
        holder_key: Option<Arc<VerifyingKey>>,
    ) -> Result<String> {
        shield(|| {
            let engine = self.engine()?;
            let req = IssueRequest {
                agent,
                user_context: to_map(&user_context, "user_context")?,
                agent_context: to_map(&agent_context, "agent_context")?,
                policy: policy.as_ref().map(|p| to_json_object(p, "policy")).transpose()?,
                // 0 asks the core for its default lifetime.
                ttl_secs: ttl.map(|t| seconds(t, "ttl")).transpose()?.unwrap_or(0),
                holder_key: holder_key.map(|k| k.inner.clone()),
            };
            Ok(engine.issue_token(&req)?)
        })
    }

    /// Appends a narrower child token for sub-agent `agent`, signed by `holder_key`
    /// (the private key whose public half the parent names as its holder key).
    #[uniffi::method(default(policy = None, next_holder_key = None, agent_context))]
    #[allow(
        clippy::too_many_arguments,
        reason = "the keyword arguments of the host-language API, one parameter each"
    )]
    pub fn delegate(
        &self,
        token: String,
        holder_key: Arc<SigningKey>,
        agent: String,
        ttl: i64,
        policy: Option<HashMap<String, ContextValue>>,
        agent_context: HashMap<String, ContextValue>,
        next_holder_key: Option<Arc<VerifyingKey>>,
    ) -> Result<String> {
        shield(|| {
            let engine = self.engine()?;
            let spec = DelegationSpec {
                agent,
                agent_context: to_map(&agent_context, "agent_context")?,
                capability: policy.as_ref().map(|p| to_json_object(p, "policy")).transpose()?,
                ttl_secs: seconds(ttl, "ttl")?,
                holder_key: next_holder_key.map(|k| k.inner.clone()),
            };
            Ok(engine.delegate(&token, &holder_key.inner, &spec)?)
        })
    }

    /// Signs an approval of the request with id `request_id` (`Decision.approval_request.id`)
    /// by `approver`, valid `ttl` seconds. Pass the result as `approval` with the same request.
    pub fn approve(&self, request_id: String, approver: String, ttl: i64) -> Result<String> {
        shield(|| {
            let engine = self.engine()?;
            Ok(engine.approve(&request_id, &approver, seconds(ttl, "ttl")?)?)
        })
    }

    /// Re-reads the policy file and swaps the new policies in; returns the new snapshot version.
    /// On any error the current policies keep serving.
    pub fn reload(&self) -> Result<u64> {
        shield(|| {
            let engine = self.engine()?;
            let _one_at_a_time = self.reload_lock.lock().unwrap_or_else(|p| p.into_inner());
            let path = self.policy_file.as_ref().ok_or_else(|| {
                ActError::config(
                    "reload() re-reads a policy file; with a control endpoint snapshots arrive by themselves",
                )
            })?;
            let set = act_core::policy::load_path(path)?;
            Ok(engine.reload(set)?)
        })
    }

    /// Waits until every audit record so far reached its sinks.
    pub fn flush_audit(&self) -> Result<()> {
        shield(|| {
            self.engine()?.flush_audit();
            Ok(())
        })
    }

    /// Flushes the audit trail and stops the engine; later calls fail with
    /// `ActError.Config`. Idempotent. (Kotlin: `AutoCloseable.close()` does this.)
    pub fn close(&self) -> Result<()> {
        shield(|| {
            if let Some(mut h) = self.sync.lock().unwrap_or_else(|p| p.into_inner()).take() {
                h.stop();
            }
            if let Some(engine) = self.engine.swap(None) {
                engine.flush_audit();
            }
            Ok(())
        })
    }

    /// The engine's state: policy version, agents, audit counters.
    pub fn status(&self) -> ActStatus {
        let mut status = ActStatus {
            closed: true,
            policy_file: self
                .policy_file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            source: String::new(),
            last_error: None,
            snapshot_version: None,
            agents: Vec::new(),
            audit_written: 0,
            audit_errors: 0,
            audit_last_error: None,
        };
        match self
            .sync
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|h| h.status())
        {
            Some(st) => {
                status.source = st.source;
                status.last_error = st.last_error;
            }
            None => status.source = format!("file:{}", status.policy_file),
        }
        if let Some(engine) = self.engine.load_full() {
            let snap = engine.snapshot();
            let (written, errors, last) = engine.audit_status();
            status.closed = false;
            status.snapshot_version = Some(snap.version);
            status.agents = snap.agent_ids();
            status.audit_written = written;
            status.audit_errors = errors;
            status.audit_last_error = last;
        }
        status
    }

    /// The public key tokens are issued with, when a signing key was given.
    pub fn public_key(&self) -> Option<Arc<VerifyingKey>> {
        let engine = self.engine.load_full()?;
        engine.signing_key().map(|k| {
            Arc::new(VerifyingKey {
                inner: k.verifying_key().clone(),
            })
        })
    }
}
