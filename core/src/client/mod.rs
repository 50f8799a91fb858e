//! The client layer every SDK wraps: options checked once, policy sources, audit targets,
//! counters, readiness, one serialised reload, one status shape, `close`, and the SDK side of
//! the control plane (approvals, tokens, fleet status). Bindings convert arguments into
//! [`ClientOptions`] and map [`Error`]s; every rule and default lives here.
//!
//! ```
//! use act_core::client::{Client, ClientOptions, PolicySource};
//! let text = "agent: bot\npolicy:\n  actions: [read]\n  resources: [\"doc://*\"]\n";
//! let mut opts = ClientOptions::new(PolicySource::Text { name: "inline.yaml".into(), text: text.into() });
//! opts.signing_key = Some(act_core::SigningKey::generate()?);
//! let client = Client::start(opts)?;
//! assert!(client.ready(std::time::Duration::ZERO));
//! assert_eq!(client.status().mode, "embedded");
//! client.close();
//! # Ok::<(), act_core::Error>(())
//! ```
//!
//! Endpoint mode ([`PolicySource::Endpoint`]) keeps signed snapshots current (`sync::start_http`),
//! ships audit records to `POST /v1/audit` unless [`ClientOptions::ship_audit`] is `Some(false)`
//! (spilling to `<cache_dir>/audit-spill.jsonl` when a cache folder is set), and reports its
//! status to `POST /v1/status` on change, at most every `status_interval`.
//!
//! What else every binding shares lives here too, so a binding is conversion and error mapping
//! only: host values and JSON text to JSON with the limits ([`host`], [`to_json`], [`HostTree`]), the
//! argument rules and defaults of the calls ([`Mode`], [`timeout_secs`], [`positive_seconds`]),
//! an error's fields and cause chain ([`error_fields`], [`cause_chain`]), the panic shield
//! ([`catch_panic`]) and key files ([`load_signing_key`], [`save_signing_key`]). Hosts that pass
//! objects as JSON text and numbers as doubles read them with [`ClientArgs`], [`issue_request`],
//! [`delegation_spec`], [`seconds`] and [`timeout_ms`]; hosts that run the waiting calls on a
//! worker pool hand them over as a [`Job`].

mod args;
mod call_args;
mod control;
mod error_fields;
mod ffi_panic;
pub mod host;
mod host_args;
mod jobs;
mod key_file;
mod options;
mod status;

pub use crate::audit::CallbackSink;
pub use args::{delegation_spec, issue_request, seconds, timeout_ms, ClientArgs};
pub use call_args::{
    positive_seconds, timeout_secs, Mode, DEFAULT_APPROVAL_TIMEOUT, DEFAULT_AUDIT_DELIVERY_TIMEOUT,
    DEFAULT_READY_TIMEOUT,
};
pub use control::ApprovalHandle;
pub use error_fields::{cause_chain, error_fields, family_name};
pub use ffi_panic::{catch_panic, panic_sentence};
pub use host::{
    entries_to_object, object_from_json_text, to_json, to_object, ConvertError, Entries, HostTree, HostValue, Key,
    Node, Shape, MAX_CONTEXT_DEPTH, MAX_CONTEXT_VALUES,
};
pub use host_args::EngineArgs;
pub use jobs::Job;
pub use key_file::{load_signing_key, save_signing_key};
pub use options::{
    AuditTarget, ClientOptions, EndpointOptions, PolicySource, SourceArgs, DEFAULT_INITIAL_SYNC,
    DEFAULT_STATUS_INTERVAL, ENV_API_KEY, ENV_ENDPOINT, ENV_ISSUER_API_KEY, ENV_TRUST_KEY,
};
pub use status::{AuditShipping, ClientStatus, OpenBreaker, STATUS_FIELDS};

use crate::audit::JsonlSink;
use crate::decision::Decision;
use crate::engine::{Engine, IssueRequest, Request};
use crate::error::{Error, Result};
use crate::sync::{AuditShipHandle, HttpAuditOptions, HttpAuditSink, HttpSyncOptions, Stop, SyncHandle};
use crate::token::{check_time, verify_chain, Claims, VerifyOptions};
use arc_swap::ArcSwapOption;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest wait any call takes (a larger timeout is cut to it, so deadlines never overflow).
pub const MAX_WAIT: Duration = Duration::from_secs(30 * 86_400);

/// The verified claims of a token, root first (a plain token has one link).
#[derive(Clone, Debug)]
pub struct TokenInfo {
    /// Every link of the chain, root first; the last is the agent presenting it.
    pub chain: Vec<Claims>,
}

impl TokenInfo {
    /// The last link's `jti` (what `POST /v1/revocations` takes to revoke it and its children).
    pub fn jti(&self) -> &str {
        self.chain.last().map_or("", |c| c.jti.as_str())
    }
    /// The agent presenting the token.
    pub fn agent(&self) -> &str {
        self.chain.last().map_or("", |c| c.agent.as_str())
    }
    /// The user the agents act for.
    pub fn subject(&self) -> &str {
        self.chain.first().map_or("", |c| c.sub.as_str())
    }
    /// The earliest `exp` of the chain, seconds since the epoch.
    pub fn expires_at(&self) -> i64 {
        self.chain.iter().map(|c| c.exp).min().unwrap_or(0)
    }
}

/// State the status reporter shares with the client.
struct Shared {
    engine: ArcSwapOption<Engine>,
    sync: Mutex<Option<SyncHandle>>,
    ship: Option<AuditShipHandle>,
    instance_id: String,
    mode: &'static str,
    source: String,
    policy_file: Option<PathBuf>,
}

/// One SDK instance: an engine plus what keeps it current and reports on it.
pub struct Client {
    shared: Arc<Shared>,
    policy: PolicySource,
    control: Option<Arc<control::ControlPlane>>,
    reporter: Mutex<Option<(Arc<Stop>, std::thread::JoinHandle<()>)>>,
    /// One reload at a time: each compiles "current version + 1".
    reload_lock: Mutex<()>,
}

fn new_instance_id() -> Result<String> {
    let mut bytes = [0u8; 18];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| Error::Internal("the system random source failed".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Client {
    /// Checks `opts`, builds the engine and starts its sources. In endpoint mode, waits up to
    /// `initial_sync` for the first snapshot (without one, validations deny `no_snapshot`).
    pub fn start(opts: ClientOptions) -> Result<Client> {
        opts.check()?;
        let instance_id = new_instance_id()?;
        let user_agent = opts.user_agent();
        let ClientOptions {
            policy,
            signing_key,
            trusted_keys,
            engine: engine_options,
            audit,
            audit_key,
            ship_audit,
            counters,
            clock,
            ..
        } = opts;
        let (mode, source, policy_file) = match &policy {
            PolicySource::None => ("embedded", "none".to_string(), None),
            PolicySource::File { path, .. } => ("embedded", format!("file:{}", path.display()), Some(path.clone())),
            PolicySource::Text { name, .. } => ("embedded", format!("inline:{name}"), None),
            PolicySource::Endpoint(e) => (
                "endpoint",
                format!("{}/v1/snapshot", e.endpoint.trim_end_matches('/')),
                None,
            ),
        };
        let local = match &policy {
            PolicySource::File { path, .. } => Some(crate::policy::load_path(path)?),
            PolicySource::Text { name, text } => Some(crate::policy::parse_source(name, text)?),
            PolicySource::None | PolicySource::Endpoint(_) => None,
        };
        // A local JSONL log keeps what the policies' `retainFor` asks (the longest; see
        // `audit::retention`); with an endpoint the server's store applies retention.
        let retention = local.as_ref().map(|set| {
            crate::audit::retention::Retention::for_policies(set.agents.iter().map(|a| a.audit.retain_days))
        });
        // Only a policy set with `retainFor` rotates the log; without one it grows as before.
        let retention = retention.filter(|r| r.retain_for_ms.is_some());
        let mut builder = match (&policy, local) {
            (PolicySource::Endpoint(_), _) => Engine::builder().without_snapshot(),
            (_, Some(set)) => Engine::builder().policies(set),
            (_, None) => Engine::builder(),
        }
        .options(engine_options);
        if let Some(spec) = counters {
            builder = builder.counters(crate::limits::open_store(&spec)?);
        }
        if let Some(k) = signing_key {
            builder = builder.signing_key(k);
        }
        for k in trusted_keys {
            builder = builder.trust(k);
        }
        if let Some(c) = clock {
            builder = builder.clock(c);
        }
        for target in audit {
            builder = match target {
                AuditTarget::Jsonl(path) => {
                    let path = path.display().to_string();
                    let sink = match &audit_key {
                        Some(k) => JsonlSink::open_with_checkpoints(path, k.clone())?,
                        None => JsonlSink::open(path)?,
                    };
                    builder.audit_sink(Box::new(match &retention {
                        Some(r) => sink.with_retention(r.clone())?,
                        None => sink,
                    }))
                }
                AuditTarget::Sink(s) => builder.audit_sink(s),
            };
        }
        let mut ship = None;
        let mut control = None;
        if let PolicySource::Endpoint(e) = &policy {
            if ship_audit != Some(false) {
                let mut o = HttpAuditOptions::new(e.endpoint.clone());
                o.api_key = e.api_key.clone();
                o.spill_path = e.cache_dir.as_ref().map(|d| d.join("audit-spill.jsonl"));
                o.instance_id = Some(instance_id.clone());
                o.user_agent = Some(user_agent.clone());
                if let Some(d) = &e.cache_dir {
                    std::fs::create_dir_all(d).map_err(|err| Error::io(d.display().to_string(), err))?;
                }
                let sink = HttpAuditSink::start(o)?;
                ship = Some(sink.handle());
                builder = builder.audit_sink(Box::new(sink));
            }
            control = Some(Arc::new(control::ControlPlane::new(
                &e.endpoint,
                e.api_key.clone(),
                e.issuer_api_key.clone(),
                instance_id.clone(),
                user_agent.clone(),
            )?));
        }
        let engine = Arc::new(builder.build()?);
        let sync = match &policy {
            PolicySource::File { path, watch: true } => Some(crate::sync::watch_path(
                engine.clone(),
                path.clone(),
                crate::sync::DEFAULT_FILE_POLL,
            )?),
            PolicySource::Endpoint(e) => {
                let mut o = HttpSyncOptions::new(e.endpoint.clone(), e.trust_key.clone());
                o.api_key = e.api_key.clone();
                o.cache_dir = e.cache_dir.clone();
                o.instance_id = Some(instance_id.clone());
                o.user_agent = Some(user_agent);
                Some(crate::sync::start_http(engine.clone(), o)?)
            }
            _ => None,
        };
        let shared = Arc::new(Shared {
            engine: ArcSwapOption::new(Some(engine)),
            sync: Mutex::new(sync),
            ship,
            instance_id,
            mode,
            source,
            policy_file,
        });
        let client = Client {
            shared,
            control,
            reporter: Mutex::new(None),
            reload_lock: Mutex::new(()),
            policy,
        };
        if let PolicySource::Endpoint(e) = &client.policy {
            client.ready(e.initial_sync);
            client.start_reporter(e.status_interval)?;
        }
        Ok(client)
    }

    fn start_reporter(&self, interval: Duration) -> Result<()> {
        let Some(control) = self.control.clone() else {
            return Ok(());
        };
        let (shared, stop) = (self.shared.clone(), Stop::new());
        let st = stop.clone();
        let thread = std::thread::Builder::new()
            .name("act-status".into())
            .spawn(move || {
                let mut last: Option<(Instant, ClientStatus)> = None;
                loop {
                    let now = shared.status();
                    let due = match &last {
                        None => true,
                        Some((at, prev)) => at.elapsed() >= interval && prev.report_key() != now.report_key(),
                    };
                    if due && now.snapshot_version > 0 {
                        // A failed report is retried on the next change; fleet status is advisory.
                        let _ = control.post_status(&now);
                        last = Some((Instant::now(), now));
                    }
                    if st.sleep(Duration::from_millis(500).min(interval)) {
                        return;
                    }
                }
            })
            .map_err(|e| Error::Internal(format!("cannot start the status reporter: {e}")))?;
        *lock(&self.reporter) = Some((stop, thread));
        Ok(())
    }

    /// The engine, or a config error once closed.
    pub fn engine(&self) -> Result<Arc<Engine>> {
        self.shared
            .engine
            .load_full()
            .ok_or_else(|| Error::Config("this ACT instance was closed".into()))
    }

    /// Runs `f` on the engine without taking a reference count (the validate path).
    pub fn with_engine<R>(&self, f: impl FnOnce(&Engine) -> R) -> Result<R> {
        let guard = self.shared.engine.load();
        match guard.as_ref() {
            Some(e) => Ok(f(e)),
            None => Err(Error::Config("this ACT instance was closed".into())),
        }
    }

    /// Decides and enforces (counters, approvals, audit).
    pub fn validate(&self, req: &Request<'_>) -> Result<Decision> {
        self.with_engine(|e| e.validate(req))
    }

    /// This instance's id, sent as `X-Act-Instance`.
    pub fn instance_id(&self) -> &str {
        &self.shared.instance_id
    }

    /// `embedded` or `endpoint`.
    pub fn mode(&self) -> &'static str {
        self.shared.mode
    }

    /// Waits up to `timeout` until a snapshot serves; true if one does.
    pub fn ready(&self, timeout: Duration) -> bool {
        let timeout = timeout.min(MAX_WAIT);
        let Some(engine) = self.shared.engine.load_full() else {
            return false;
        };
        if engine.snapshot().version > 0 {
            return true;
        }
        match lock(&self.shared.sync).as_ref() {
            Some(h) => h.wait_for_version(1, timeout),
            None => false,
        }
    }

    /// Re-reads the policy file (or text) into the next version; one reload at a time. On any
    /// error the current policies keep serving. Endpoint mode: snapshots arrive by themselves.
    pub fn reload(&self) -> Result<u64> {
        let engine = self.engine()?;
        let _one_at_a_time = lock(&self.reload_lock);
        let set = match &self.policy {
            PolicySource::File { path, .. } => crate::policy::load_path(path)?,
            PolicySource::Text { name, text } => crate::policy::parse_source(name, text)?,
            PolicySource::None => {
                return Err(Error::Config(
                    "reload() re-reads a policy file; this ACT has none".into(),
                ))
            }
            PolicySource::Endpoint(_) => {
                return Err(Error::Config(
                    "reload() re-reads a policy file; with endpoint= snapshots arrive by themselves".into(),
                ))
            }
        };
        engine.reload(set)
    }

    /// Issues a token: with a local signing key, locally; in endpoint mode without one, through
    /// `POST /v1/tokens` with the issuer credential.
    pub fn issue_token(&self, req: &IssueRequest) -> Result<String> {
        let engine = self.engine()?;
        match (&self.control, engine.signing_key()) {
            (Some(control), None) => control.issue_token(req),
            _ => engine.issue_token(req),
        }
    }

    /// Verifies `token` (every signature, the chain rules, the time window) against the keys
    /// this client trusts now, and returns its claims. Not a decision: revocations and policies
    /// are `validate`'s job.
    pub fn inspect_token(&self, token: &str) -> Result<TokenInfo> {
        let engine = self.engine()?;
        let snap = engine.snapshot();
        let lookup = |kid: &str| {
            snap.key(kid)
                .cloned()
                .or_else(|| engine.local_keys().iter().find(|k| k.kid() == kid).cloned())
        };
        let opts = VerifyOptions {
            audience: engine.options().audience.clone(),
            max_depth: engine.options().max_delegation_depth,
        };
        let chain =
            verify_chain(token, &lookup, &opts).map_err(|(reason, message)| Error::Token { reason, message })?;
        check_time(&chain, engine.now_ms().div_euclid(1000), engine.options().leeway_secs)
            .map_err(|(reason, message)| Error::Token { reason, message })?;
        Ok(TokenInfo { chain: chain.links })
    }

    fn control(&self, what: &str) -> Result<&control::ControlPlane> {
        self.control.as_deref().ok_or_else(|| {
            Error::Config(format!(
                "{what} talks to the control endpoint: construct ACT with endpoint= (embedded mode signs \
                 approvals locally with approve())"
            ))
        })
    }

    /// Asks the endpoint for a human approval of `decision` (an `approval_required` one).
    pub fn request_approval(&self, decision: &Decision) -> Result<ApprovalHandle> {
        let Some(request) = &decision.approval_request else {
            return Err(Error::Config(format!(
                "request_approval takes an approval_required decision; this one is `{}`",
                decision.reason.as_str()
            )));
        };
        self.submit_approval_request(request)
    }

    /// [`request_approval`](Client::request_approval) for a request a binding carried on its own
    /// (the endpoint recomputes its id and checks its context hash, so nothing here is trusted).
    pub fn submit_approval_request(&self, request: &crate::ApprovalRequest) -> Result<ApprovalHandle> {
        self.control("request_approval")?.request_approval(request)
    }

    /// Waits up to `timeout` for a decision on `id`; the approval, or a typed denial or timeout.
    pub fn wait_for_approval(&self, id: &str, timeout: Duration) -> Result<String> {
        self.control("wait_for_approval")?
            .wait_for_approval(id, timeout.min(MAX_WAIT))
    }

    /// The status (never blocks on I/O).
    pub fn status(&self) -> ClientStatus {
        self.shared.status()
    }

    /// Waits up to `timeout` until shipped audit records were all delivered; true if so
    /// (also true when nothing ships).
    pub fn wait_audit_delivered(&self, timeout: Duration) -> bool {
        if let Some(e) = self.shared.engine.load_full() {
            e.flush_audit();
        }
        self.shared
            .ship
            .as_ref()
            .is_none_or(|h| h.wait_idle(timeout.min(MAX_WAIT)))
    }

    /// True once [`close`](Client::close) ran.
    pub fn is_closed(&self) -> bool {
        self.shared.engine.load().is_none()
    }

    /// Stops the sources, the reporter and any wait in flight, flushes the audit trail (shipping
    /// gets its shutdown grace, the rest spills) and releases the engine. Idempotent; later calls
    /// fail with a config error.
    pub fn close(&self) {
        if let Some(c) = &self.control {
            c.stop();
        }
        if let Some((stop, thread)) = lock(&self.reporter).take() {
            stop.stop();
            let _ = thread.join();
        }
        if let Some(mut h) = lock(&self.shared.sync).take() {
            h.stop();
        }
        if let Some(engine) = self.shared.engine.swap(None) {
            engine.flush_audit();
            drop(engine);
        }
    }
}

impl Shared {
    fn status(&self) -> ClientStatus {
        let sync = lock(&self.sync).as_ref().map(SyncHandle::status);
        let mut s = ClientStatus {
            instance_id: self.instance_id.clone(),
            mode: self.mode.into(),
            source: self.source.clone(),
            policy_file: self.policy_file.as_ref().map(|p| p.display().to_string()),
            ..ClientStatus::default()
        };
        if let Some(st) = sync {
            s.age_ms = st.age_ms;
            s.last_sync_ms = st.last_success_ms;
            s.last_error = st.last_error;
            s.sync_running = st.running;
            s.updates = st.updates;
        }
        s.audit = self.ship.as_ref().map(|h| {
            let st = h.stats();
            AuditShipping {
                queued: st.queued,
                spilled: st.spilled,
                dropped: st.dropped,
                delivered: st.delivered,
                spill_pending_bytes: st.spill_pending_bytes,
                last_error: st.last_error,
            }
        });
        match self.engine.load_full() {
            None => s.closed = true,
            Some(engine) => {
                let snap = engine.snapshot();
                let (written, errors, last) = engine.audit_status();
                s.snapshot_version = snap.version;
                s.agents = snap.agent_ids();
                if s.age_ms.is_none() && snap.version > 0 {
                    s.age_ms = Some(engine.now_ms() - snap.issued_at_ms);
                }
                s.audit_written = written;
                s.audit_errors = errors;
                s.audit_last_error = last;
                s.open_breakers = engine
                    .open_breakers()
                    .into_iter()
                    .map(|(agent, subject)| OpenBreaker { agent, subject })
                    .collect();
            }
        }
        s
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests;
