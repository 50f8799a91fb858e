//! `NativeAct`: one engine, its policy source, and its audit sinks.

use crate::clock::ManualClock;
use crate::convert;
use crate::error::{invalid, shield, shield_env, whole, whole_unsigned, Failure, Fallible};
use crate::keys::{parse_public, NativeSigningKey};
use act_core::audit::{AuditRecord, CallbackSink, JsonlSink};
use act_core::policy::{load_path, parse_source, PolicySet};
use act_core::token::DelegationSpec;
use act_core::{Engine, EngineOptions, IssueRequest, Request};
use arc_swap::ArcSwapOption;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunctionCallMode;
use napi_derive::napi;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Options of `new ACT(...)` that are plain values (keys, clock and callback come as arguments).
#[napi(object)]
pub struct NativeOptions {
    /// A policy file or folder.
    pub policy_file: Option<String>,
    /// Policy text (YAML or JSON), instead of a file.
    pub policy: Option<String>,
    /// The name `policy` text is reported under in diagnostics (default `<inline>`).
    pub policy_name: Option<String>,
    /// Tokens must name this audience, and issued tokens carry it.
    pub audience: Option<String>,
    /// `iss` of issued tokens.
    pub issuer: Option<String>,
    /// Clock skew tolerated on `exp`/`nbf`, seconds.
    pub leeway: Option<f64>,
    /// Longest delegation chain, root included.
    pub max_delegation_depth: Option<f64>,
    /// Further trusted issuer keys (`ed25519:<base64url>` or public JWK text).
    pub trust: Option<Vec<String>>,
    /// JSON Lines audit files (appended to, hash chain continued).
    pub audit_files: Option<Vec<String>>,
    /// A control endpoint base URL (instead of a policy file): signed snapshots are kept current from it.
    pub endpoint: Option<String>,
    /// Sent as `Authorization: Bearer <apiKey>` to the endpoint.
    pub api_key: Option<String>,
    /// The control plane's public key (`ed25519:<base64url>` or a public JWK): the only key snapshots may be signed with.
    pub trust_key: Option<String>,
    /// Where the last verified snapshot is kept across restarts.
    pub cache_dir: Option<String>,
    /// Seconds without a confirmed-current snapshot after which validations deny `snapshot_stale`.
    pub max_staleness: Option<f64>,
    /// Re-read `policyFile` when it changes.
    pub watch: Option<bool>,
    /// Where rate-limit counters and approval marks live: `"memory"` (default) or a `redis://` URL.
    pub counters: Option<String>,
}

/// Where the policies come from, kept for `reload`.
#[derive(Clone)]
enum Source {
    File(PathBuf),
    Text {
        name: String,
        text: String,
    },
    /// Snapshots come from a control endpoint; there is nothing to reload by hand.
    Endpoint,
}

impl Source {
    fn load(&self) -> act_core::Result<PolicySet> {
        match self {
            Source::File(p) => load_path(p),
            Source::Text { name, text } => Ok(parse_source(name, text)?),
            Source::Endpoint => Err(act_core::Error::Config(
                "reload() re-reads a policy file; with `endpoint` snapshots arrive by themselves".into(),
            )),
        }
    }
}

/// The engine behind the JS `ACT` class.
#[napi]
pub struct NativeAct {
    engine: ArcSwapOption<Engine>,
    source: Source,
    /// The background source (control endpoint or watched file), stopped by `close`.
    sync: std::sync::Mutex<Option<act_core::sync::SyncHandle>>,
    /// Records handed to the JS audit callback's queue so far.
    sent: Arc<AtomicU64>,
}

fn closed() -> Failure {
    invalid("this ACT client is closed")
}

/// A JSON value from the JSON text `index.js` made with `JSON.stringify` (objects cross as text:
/// serde_json's recursion limit refuses deep nesting, where converting the JS object value by
/// value would recurse on the native stack).
fn json_value(name: &str, text: Option<String>) -> Fallible<Option<Value>> {
    match text {
        None => Ok(None),
        Some(t) => serde_json::from_str(&t)
            .map(Some)
            .map_err(|e| invalid(format!("`{name}` is not usable JSON: {e}"))),
    }
}

fn json_object(name: &str, text: Option<String>) -> Fallible<Map<String, Value>> {
    match json_value(name, text)? {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m),
        Some(_) => Err(invalid(format!("`{name}` must be an object"))),
    }
}

#[napi]
impl NativeAct {
    /// Loads the policies and starts the engine (and its audit thread).
    #[napi(constructor)]
    pub fn new(
        env: &Env,
        options: NativeOptions,
        signing_key: Option<ClassInstance<NativeSigningKey>>,
        clock: Option<ClassInstance<ManualClock>>,
        audit_callback: Option<Function<Value, ()>>,
    ) -> Result<Self> {
        shield(env, move || {
            let sent = Arc::new(AtomicU64::new(0));
            let source = match (options.policy_file, options.policy, options.endpoint.is_some()) {
                (Some(_), Some(_), _) | (Some(_), _, true) | (_, Some(_), true) => {
                    return Err(invalid("pass one of `policyFile`, `policy` or `endpoint`"))
                }
                (Some(f), None, false) => Source::File(PathBuf::from(f)),
                (None, Some(text), false) => Source::Text {
                    name: options.policy_name.unwrap_or_else(|| "<inline>".into()),
                    text,
                },
                (None, None, true) => Source::Endpoint,
                (None, None, false) => {
                    return Err(invalid(
                        "ACT needs `policyFile` (a policy file or folder), `policy` (policy text) or `endpoint`",
                    ))
                }
            };
            let trust_key = options.trust_key.as_deref().map(parse_public).transpose()?;
            if matches!(source, Source::Endpoint) && trust_key.is_none() {
                return Err(invalid(
                    "`endpoint` needs `trustKey`: the control plane's public key (`ed25519:...`)",
                ));
            }
            if !matches!(source, Source::Endpoint)
                && (options.api_key.is_some() || options.cache_dir.is_some() || trust_key.is_some())
            {
                return Err(invalid(
                    "`apiKey`, `trustKey` and `cacheDir` only apply with `endpoint`",
                ));
            }
            // Weak: pending records never keep the process alive; unbounded: a call never drops one.
            let callback = match audit_callback {
                Some(f) => Some(
                    f.build_threadsafe_function::<AuditRecord>()
                        .callee_handled::<false>()
                        .weak::<true>()
                        .max_queue_size::<0>()
                        .build_callback(|ctx: napi::threadsafe_function::ThreadsafeCallContext<AuditRecord>| {
                            Ok(convert::audit_record(ctx.value))
                        })?,
                ),
                None => None,
            };
            let sent2 = sent.clone();
            let mut opts = EngineOptions::default();
            if let Some(a) = options.audience {
                opts.audience = Some(a);
            }
            if let Some(i) = options.issuer {
                opts.issuer = i;
            }
            if let Some(l) = options.leeway {
                opts.leeway_secs = whole("leeway", l)?;
            }
            if let Some(d) = options.max_delegation_depth {
                opts.max_delegation_depth = whole_unsigned("maxDelegationDepth", d)? as usize;
            }
            if let Some(st) = options.max_staleness {
                opts.max_staleness_ms = Some(whole_unsigned("maxStaleness", st)? as i64 * 1000);
            }
            let mut b = match source {
                Source::Endpoint => Engine::builder().without_snapshot(),
                _ => Engine::builder().policies(source.load()?),
            }
            .options(opts);
            if let Some(spec) = options.counters.as_deref() {
                b = b.counters(act_core::limits::open_store(spec)?);
            }
            if let Some(k) = signing_key {
                b = b.signing_key(k.inner.clone());
            }
            if let Some(c) = clock {
                b = b.clock(c.inner.clone());
            }
            for t in options.trust.unwrap_or_default() {
                b = b.trust(parse_public(&t)?);
            }
            for f in options.audit_files.unwrap_or_default() {
                b = b.audit_sink(Box::new(JsonlSink::open(f)?));
            }
            if let Some(tsfn) = callback {
                b = b.audit_sink(Box::new(CallbackSink(Box::new(move |r: &AuditRecord| {
                    // Unbounded queue: a non-blocking call never drops the record.
                    tsfn.call(r.clone(), ThreadsafeFunctionCallMode::NonBlocking);
                    sent2.fetch_add(1, Ordering::SeqCst);
                }))));
            }
            let engine = Arc::new(b.build()?);
            let sync = match (&source, options.endpoint) {
                (Source::Endpoint, Some(endpoint)) => {
                    let trust = trust_key.ok_or_else(|| invalid("`endpoint` needs `trustKey`"))?;
                    let mut o = act_core::sync::HttpSyncOptions::new(endpoint, trust);
                    o.api_key = options.api_key;
                    o.cache_dir = options.cache_dir.map(PathBuf::from);
                    Some(act_core::sync::start_http(engine.clone(), o)?)
                }
                (Source::File(p), _) if options.watch == Some(true) => Some(act_core::sync::watch_path(
                    engine.clone(),
                    p.clone(),
                    act_core::sync::DEFAULT_FILE_POLL,
                )?),
                _ => None,
            };
            Ok(NativeAct {
                engine: ArcSwapOption::new(Some(engine)),
                source,
                sync: std::sync::Mutex::new(sync),
                sent,
            })
        })
    }

    fn engine(&self) -> Fallible<Arc<Engine>> {
        self.engine.load_full().ok_or_else(closed)
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "the keyword arguments of the host-language API, one parameter each"
    )]
    fn decide(
        &self,
        env: &Env,
        mode: u8,
        token: String,
        action: String,
        resource: String,
        context: Option<String>,
        approval: Option<String>,
    ) -> Result<String> {
        shield(env, || {
            let guard = self.engine.load();
            let engine = guard.as_ref().ok_or_else(closed)?;
            let parsed = match context.as_deref() {
                None => None,
                Some(text) => Some(
                    serde_json::from_str::<Map<String, Value>>(text)
                        .map_err(|e| invalid(format!("`context` must be a JSON object: {e}")))?,
                ),
            };
            let ctx = parsed.as_ref().unwrap_or_else(|| act_core::engine::empty_context());
            let req = Request {
                token: &token,
                action: &action,
                resource: &resource,
                context: ctx,
                approval: approval.as_deref(),
            };
            let d = match mode {
                0 => engine.validate(&req),
                1 => engine.check(&req),
                _ => engine.explain(&req),
            };
            Ok(convert::decision(&d))
        })
    }

    /// Decides and enforces (consumes limits and approvals, writes the audit record).
    /// `context` is JSON text; the result is encoded as `convert::decision` describes.
    #[napi]
    pub fn validate(
        &self,
        env: &Env,
        token: String,
        action: String,
        resource: String,
        context: Option<String>,
        approval: Option<String>,
    ) -> Result<String> {
        self.decide(env, 0, token, action, resource, context, approval)
    }

    /// Decides without side effects.
    #[napi]
    pub fn check(
        &self,
        env: &Env,
        token: String,
        action: String,
        resource: String,
        context: Option<String>,
        approval: Option<String>,
    ) -> Result<String> {
        self.decide(env, 1, token, action, resource, context, approval)
    }

    /// Decides without side effects, with a trace.
    #[napi]
    pub fn explain(
        &self,
        env: &Env,
        token: String,
        action: String,
        resource: String,
        context: Option<String>,
        approval: Option<String>,
    ) -> Result<String> {
        self.decide(env, 2, token, action, resource, context, approval)
    }

    /// Issues a token; the three objects come as JSON text.
    #[napi]
    #[allow(
        clippy::too_many_arguments,
        reason = "the keyword arguments of the host-language API, one parameter each"
    )]
    pub fn issue_token(
        &self,
        env: &Env,
        agent: String,
        user_context: Option<String>,
        agent_context: Option<String>,
        policy: Option<String>,
        ttl: Option<f64>,
        holder_key: Option<String>,
    ) -> Result<String> {
        shield(env, || {
            let req = IssueRequest {
                agent,
                user_context: json_object("userContext", user_context)?,
                agent_context: json_object("agentContext", agent_context)?,
                policy: json_value("policy", policy)?.filter(|p| !p.is_null()),
                ttl_secs: ttl.map(|t| whole_unsigned("ttl", t)).transpose()?.unwrap_or(0),
                holder_key: holder_key.as_deref().map(parse_public).transpose()?,
            };
            Ok(self.engine()?.issue_token(&req)?)
        })
    }

    /// Delegates a narrower token to a sub-agent, signed by `holder`; objects come as JSON text.
    #[napi]
    #[allow(
        clippy::too_many_arguments,
        reason = "the keyword arguments of the host-language API, one parameter each"
    )]
    pub fn delegate(
        &self,
        env: &Env,
        parent: String,
        holder: ClassInstance<NativeSigningKey>,
        agent: String,
        agent_context: Option<String>,
        policy: Option<String>,
        ttl: f64,
        next_holder_key: Option<String>,
    ) -> Result<String> {
        shield(env, || {
            let spec = DelegationSpec {
                agent,
                agent_context: json_object("agentContext", agent_context)?,
                capability: json_value("policy", policy)?.filter(|p| !p.is_null()),
                ttl_secs: whole_unsigned("ttl", ttl)?,
                holder_key: next_holder_key.as_deref().map(parse_public).transpose()?,
            };
            Ok(self.engine()?.delegate(&parent, &holder.inner, &spec)?)
        })
    }

    /// Signs an approval for the request with id `request_id`.
    #[napi]
    pub fn approve(&self, env: &Env, request_id: String, approver: String, ttl: f64) -> Result<String> {
        shield(env, || {
            Ok(self
                .engine()?
                .approve(&request_id, &approver, whole_unsigned("ttl", ttl)?)?)
        })
    }

    /// Re-reads the policy source and swaps it in (off the event loop); resolves to the new version.
    #[napi]
    pub fn reload(&self, env: &Env) -> Result<AsyncTask<Work>> {
        shield(env, || {
            Ok(AsyncTask::new(Work {
                job: Job::Reload(self.engine()?, self.source.clone()),
                failure: None,
            }))
        })
    }

    /// Waits (off the event loop) until every audit record so far reached its sinks;
    /// resolves to the number of records handed to the JS callback so far.
    #[napi]
    pub fn flush_audit(&self, env: &Env) -> Result<AsyncTask<Work>> {
        shield(env, || {
            Ok(AsyncTask::new(Work {
                job: Job::Flush(self.engine()?, self.sent.clone()),
                failure: None,
            }))
        })
    }

    /// Waits (off the event loop) until a snapshot serves, at most `timeout_ms`;
    /// resolves to the version serving then (0: none yet, validations deny `no_snapshot`).
    #[napi]
    pub fn ready(&self, env: &Env, timeout_ms: f64) -> Result<AsyncTask<Work>> {
        shield(env, || {
            let ms = whole_unsigned("timeoutMs", timeout_ms)?;
            Ok(AsyncTask::new(Work {
                job: Job::Ready(self.engine()?, ms),
                failure: None,
            }))
        })
    }

    /// Stops the engine: flushes and closes its audit sinks (off the event loop).
    /// Resolves to the number of records handed to the JS callback in all.
    #[napi]
    pub fn close(&self, env: &Env) -> Result<AsyncTask<Work>> {
        shield(env, || {
            Ok(AsyncTask::new(Work {
                job: Job::Close(
                    self.sync.lock().unwrap_or_else(|p| p.into_inner()).take(),
                    self.engine.swap(None),
                    self.sent.clone(),
                ),
                failure: None,
            }))
        })
    }

    /// A snapshot of the client's state.
    #[napi]
    pub fn status(&self, env: &Env) -> Result<Value> {
        shield(env, || {
            let delivered = self.sent.load(Ordering::SeqCst);
            Ok(match self.engine.load_full() {
                None => serde_json::json!({"closed": true, "auditDelivered": delivered}),
                Some(e) => {
                    let snap = e.snapshot();
                    let (written, errors, last) = e.audit_status();
                    let sync = self
                        .sync
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .as_ref()
                        .map(|h| h.status());
                    serde_json::json!({
                        "source": sync.as_ref().map(|s| s.source.clone()),
                        "lastError": sync.as_ref().and_then(|s| s.last_error.clone()),
                        "lastSuccessMs": sync.as_ref().and_then(|s| s.last_success_ms),
                        "syncRunning": sync.as_ref().is_some_and(|s| s.running),
                        "closed": false,
                        "snapshotVersion": snap.version,
                        "agents": snap.agent_ids(),
                        "auditWritten": written,
                        "auditErrors": errors,
                        "lastAuditError": last,
                        "kid": e.signing_key().map(|k| k.kid().to_string()),
                        "auditDelivered": delivered,
                    })
                }
            })
        })
    }
}

/// Blocking work run on libuv's thread pool.
enum Job {
    Reload(Arc<Engine>, Source),
    Flush(Arc<Engine>, Arc<AtomicU64>),
    Close(Option<act_core::sync::SyncHandle>, Option<Arc<Engine>>, Arc<AtomicU64>),
    Ready(Arc<Engine>, u64),
}

/// An [`AsyncTask`] around a [`Job`]; a core error is kept to be thrown with its code.
pub struct Work {
    job: Job,
    failure: Option<Failure>,
}

impl Task for Work {
    type Output = f64;
    type JsValue = f64;

    fn compute(&mut self) -> Result<f64> {
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> Fallible<f64> {
            match &mut self.job {
                Job::Reload(engine, source) => Ok(engine.reload(source.load()?)? as f64),
                Job::Flush(engine, sent) => {
                    engine.flush_audit();
                    Ok(sent.load(Ordering::SeqCst) as f64)
                }
                Job::Ready(engine, ms) => {
                    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(*ms);
                    while engine.snapshot().version == 0 && std::time::Instant::now() < deadline {
                        std::thread::sleep(std::time::Duration::from_millis(10));
                    }
                    Ok(engine.snapshot().version as f64)
                }
                Job::Close(sync, engine, sent) => {
                    if let Some(mut h) = sync.take() {
                        h.stop();
                    }
                    if let Some(e) = engine.take() {
                        e.flush_audit();
                        // The last reference stops the audit thread and closes its sinks, here.
                        drop(e);
                    }
                    Ok(sent.load(Ordering::SeqCst) as f64)
                }
            }
        }));
        match run {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(f)) => {
                self.failure = Some(f);
                Err(Error::from_reason("failed"))
            }
            Err(_) => {
                self.failure = Some(Failure::Core(act_core::Error::Internal(
                    "a bug in ACT: a background task panicked".into(),
                )));
                Err(Error::from_reason("panicked"))
            }
        }
    }

    fn resolve(&mut self, _env: Env, output: f64) -> Result<f64> {
        Ok(output)
    }

    fn reject(&mut self, env: Env, err: Error) -> Result<f64> {
        match self.failure.take() {
            Some(f) => Err(shield_env(&env, |_| Err::<(), _>(f)).unwrap_err()),
            None => Err(err),
        }
    }
}
