//! `NativeAct`: a wrapper over `act_core::client::Client` (options, sources, audit targets,
//! status, reload, readiness, close and the control-plane calls all live in core). Anything
//! that may wait runs on libuv's thread pool, never on the event loop.

use crate::clock::ManualClock;
use crate::convert;
use crate::error::{invalid, shield, shield_env, whole, whole_unsigned, Failure, Fallible};
use crate::keys::{parse_public, NativeSigningKey};
use act_core::audit::{AuditRecord, CallbackSink};
use act_core::client::{AuditTarget, Client, ClientOptions, PolicySource, SourceArgs};
use act_core::token::DelegationSpec;
use act_core::{ApprovalRequest, Decision, EngineOptions, IssueRequest, Request};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunctionCallMode;
use napi_derive::napi;
use serde_json::{json, Map, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

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
    /// The issuer credential for `issueToken` through the endpoint (`POST /v1/tokens`).
    pub issuer_api_key: Option<String>,
    /// Ship audit records to the endpoint (default: on in endpoint mode).
    pub ship_audit: Option<bool>,
}

/// The engine behind the JS `ACT` class.
#[napi]
pub struct NativeAct {
    client: Arc<Client>,
    /// Records handed to the JS audit callback's queue so far.
    sent: Arc<AtomicU64>,
}

fn snake_to_camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Core JSON (snake_case) with camelCase keys, recursively: the JS convention, the same fields.
fn camel(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (snake_to_camel(&k), camel(v))).collect()),
        Value::Array(a) => Value::Array(a.into_iter().map(camel).collect()),
        other => other,
    }
}

/// The approval request of a decision as `index.js` decoded it (camelCase), back to the core's.
fn approval_request(text: &str) -> Fallible<ApprovalRequest> {
    let v: Value = serde_json::from_str(text).map_err(|e| invalid(format!("`decision` is not usable: {e}")))?;
    let s = |k: &str| {
        v[k].as_str()
            .map(str::to_string)
            .ok_or_else(|| invalid(format!("the decision's approvalRequest has no `{k}`")))
    };
    Ok(ApprovalRequest {
        id: s("id")?,
        agent: s("agent")?,
        subject: s("subject")?,
        action: s("action")?,
        resource: s("resource")?,
        constraint: s("constraint")?,
        condition: s("condition")?,
        token_id: s("tokenId")?,
        context_hash: s("contextHash")?,
        context: v["context"].as_object().cloned().unwrap_or_default(),
        conditions: serde_json::from_value(v["conditions"].clone()).unwrap_or_default(),
        chain: serde_json::from_value(v["chain"].clone()).unwrap_or_default(),
    })
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
            let trust_key = options.trust_key.as_deref().map(parse_public).transpose()?;
            let args = SourceArgs {
                policy_file: options.policy_file.map(PathBuf::from),
                policy_text: options.policy,
                policy_name: options.policy_name,
                watch: options.watch == Some(true),
                endpoint: options.endpoint,
                api_key: options.api_key,
                trust_key,
                issuer_api_key: options.issuer_api_key,
                cache_dir: options.cache_dir.map(PathBuf::from),
                // Never block the event loop: `await act.ready()` waits for the first snapshot.
                initial_sync: Some(Duration::ZERO),
            };
            let policy = PolicySource::select(args, &|name| std::env::var(name).ok())?;
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
            let mut engine = EngineOptions::default();
            if let Some(a) = options.audience {
                engine.audience = Some(a);
            }
            if let Some(i) = options.issuer {
                engine.issuer = i;
            }
            if let Some(l) = options.leeway {
                engine.leeway_secs = whole("leeway", l)?;
            }
            if let Some(d) = options.max_delegation_depth {
                engine.max_delegation_depth = whole_unsigned("maxDelegationDepth", d)? as usize;
            }
            if let Some(st) = options.max_staleness {
                engine.max_staleness_ms = Some(whole_unsigned("maxStaleness", st)? as i64 * 1000);
            }
            let mut opts = ClientOptions::new(policy);
            opts.engine = engine;
            opts.counters = options.counters;
            opts.ship_audit = options.ship_audit;
            opts.signing_key = signing_key.map(|k| k.inner.clone());
            opts.clock = clock.map(|c| c.inner.clone() as Arc<dyn act_core::Clock>);
            for t in options.trust.unwrap_or_default() {
                opts.trusted_keys.push(parse_public(&t)?);
            }
            for f in options.audit_files.unwrap_or_default() {
                opts.audit.push(AuditTarget::Jsonl(PathBuf::from(f)));
            }
            if let Some(tsfn) = callback {
                opts.audit.push(AuditTarget::Sink(Box::new(CallbackSink(Box::new(
                    move |r: &AuditRecord| {
                        // Unbounded queue: a non-blocking call never drops the record.
                        tsfn.call(r.clone(), ThreadsafeFunctionCallMode::NonBlocking);
                        sent2.fetch_add(1, Ordering::SeqCst);
                    },
                )))));
            }
            opts.sdk_language = "node".into();
            opts.sdk_version = env!("CARGO_PKG_VERSION").into();
            Ok(NativeAct {
                client: Arc::new(Client::start(opts)?),
                sent,
            })
        })
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
            let d: Decision = self.client.with_engine(|engine| match mode {
                0 => engine.validate(&req),
                1 => engine.check(&req),
                _ => engine.explain(&req),
            })?;
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
            Ok(self.client.engine()?.issue_token(&req)?)
        })
    }

    /// Issues a token through the endpoint (`POST /v1/tokens`, the issuer credential), off the
    /// event loop; resolves to the token. The objects come as JSON text.
    #[napi]
    pub fn issue_token_remote(
        &self,
        env: &Env,
        agent: String,
        user_context: Option<String>,
        agent_context: Option<String>,
        policy: Option<String>,
        ttl: Option<f64>,
    ) -> Result<AsyncTask<Work>> {
        shield(env, || {
            let req = IssueRequest {
                agent,
                user_context: json_object("userContext", user_context)?,
                agent_context: json_object("agentContext", agent_context)?,
                policy: json_value("policy", policy)?.filter(|p| !p.is_null()),
                ttl_secs: ttl.map(|t| whole_unsigned("ttl", t)).transpose()?.unwrap_or(0),
                holder_key: None,
            };
            Ok(self.work(Job::Issue(req)))
        })
    }

    /// True when `issueToken` goes through the endpoint (endpoint mode, no local signing key).
    #[napi]
    pub fn issues_remotely(&self, env: &Env) -> Result<bool> {
        shield(env, || {
            Ok(self.client.mode() == "endpoint" && self.client.engine()?.signing_key().is_none())
        })
    }

    /// Asks the endpoint for a human approval of a decision's `approvalRequest` (JSON text, as
    /// `index.js` decoded it); resolves to `{ id, status, expiresAtMs }`.
    #[napi]
    pub fn request_approval(&self, env: &Env, request: String) -> Result<AsyncTask<Work>> {
        shield(env, || Ok(self.work(Job::RequestApproval(approval_request(&request)?))))
    }

    /// Long-polls the endpoint for a decision on `id`, at most `timeout_ms`; resolves to the
    /// approval, rejects with `approval_denied` (with the approver's reason) or `approval_timeout`.
    #[napi]
    pub fn wait_for_approval(&self, env: &Env, id: String, timeout_ms: f64) -> Result<AsyncTask<Work>> {
        shield(env, || {
            let ms = whole_unsigned("timeoutMs", timeout_ms)?;
            Ok(self.work(Job::WaitApproval(id, Duration::from_millis(ms))))
        })
    }

    /// The verified claims of a token: `{ jti, agent, subject, expiresAt, chain }`.
    #[napi]
    pub fn inspect_token(&self, env: &Env, token: String) -> Result<Value> {
        shield(env, || {
            let info = self.client.inspect_token(&token)?;
            Ok(json!({
                "jti": info.jti(),
                "agent": info.agent(),
                "subject": info.subject(),
                "expiresAt": info.expires_at(),
                "chain": info.chain.iter().map(|c| c.to_json()).collect::<Vec<_>>(),
            }))
        })
    }

    /// This SDK instance's id (`X-Act-Instance`).
    #[napi]
    pub fn instance_id(&self) -> String {
        self.client.instance_id().to_string()
    }

    /// Waits (off the event loop) until shipped audit records were delivered; resolves to a bool.
    #[napi]
    pub fn wait_audit_delivered(&self, env: &Env, timeout_ms: f64) -> Result<AsyncTask<Work>> {
        shield(env, || {
            let ms = whole_unsigned("timeoutMs", timeout_ms)?;
            Ok(self.work(Job::Delivered(Duration::from_millis(ms))))
        })
    }

    fn work(&self, job: Job) -> AsyncTask<Work> {
        AsyncTask::new(Work {
            client: self.client.clone(),
            sent: self.sent.clone(),
            job,
            failure: None,
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
            Ok(self.client.engine()?.delegate(&parent, &holder.inner, &spec)?)
        })
    }

    /// Signs an approval for the request with id `request_id`.
    #[napi]
    pub fn approve(&self, env: &Env, request_id: String, approver: String, ttl: f64) -> Result<String> {
        shield(env, || {
            Ok(self
                .client
                .engine()?
                .approve(&request_id, &approver, whole_unsigned("ttl", ttl)?)?)
        })
    }

    /// Re-reads the policy source and swaps it in (off the event loop); resolves to the new version.
    #[napi]
    pub fn reload(&self, env: &Env) -> Result<AsyncTask<Work>> {
        shield(env, || Ok(self.work(Job::Reload)))
    }

    /// Waits (off the event loop) until every audit record so far reached its sinks;
    /// resolves to the number of records handed to the JS callback so far.
    #[napi]
    pub fn flush_audit(&self, env: &Env) -> Result<AsyncTask<Work>> {
        shield(env, || {
            self.client.engine()?;
            Ok(self.work(Job::Flush))
        })
    }

    /// Waits (off the event loop) until a snapshot serves, at most `timeout_ms`;
    /// resolves to the version serving then (0: none yet, validations deny `no_snapshot`).
    #[napi]
    pub fn ready(&self, env: &Env, timeout_ms: f64) -> Result<AsyncTask<Work>> {
        shield(env, || {
            let ms = whole_unsigned("timeoutMs", timeout_ms)?;
            self.client.engine()?;
            Ok(self.work(Job::Ready(Duration::from_millis(ms))))
        })
    }

    /// Stops the client: flushes and closes its audit sinks (off the event loop).
    /// Resolves to the number of records handed to the JS callback in all.
    #[napi]
    pub fn close(&self, env: &Env) -> Result<AsyncTask<Work>> {
        shield(env, || Ok(self.work(Job::Close)))
    }

    /// The core's status with camelCase keys, plus `auditDelivered` (records handed to the JS
    /// callback) and `kid` (the local signing key's).
    #[napi]
    pub fn status(&self, env: &Env) -> Result<Value> {
        shield(env, || {
            let mut v = camel(self.client.status().to_json());
            v["auditDelivered"] = json!(self.sent.load(Ordering::SeqCst));
            v["kid"] = json!(self
                .client
                .engine()
                .ok()
                .and_then(|e| e.signing_key().map(|k| k.kid().to_string())));
            Ok(v)
        })
    }
}

/// Blocking work run on libuv's thread pool.
enum Job {
    Reload,
    Flush,
    Close,
    Ready(Duration),
    Issue(IssueRequest),
    RequestApproval(ApprovalRequest),
    WaitApproval(String, Duration),
    Delivered(Duration),
}

/// An [`AsyncTask`] around a [`Job`]; a core error is kept to be thrown with its code.
pub struct Work {
    client: Arc<Client>,
    sent: Arc<AtomicU64>,
    job: Job,
    failure: Option<Failure>,
}

/// Results cross as JSON text (`index.js` parses them): one task type for every job.
impl Task for Work {
    type Output = Value;
    type JsValue = String;

    fn compute(&mut self) -> Result<Value> {
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> Fallible<Value> {
            let c = &self.client;
            let sent = || json!(self.sent.load(Ordering::SeqCst));
            Ok(match &self.job {
                Job::Reload => json!(c.reload()?),
                Job::Flush => {
                    c.engine()?.flush_audit();
                    sent()
                }
                Job::Ready(t) => {
                    c.ready(*t);
                    json!(c.engine()?.snapshot().version)
                }
                Job::Close => {
                    c.close();
                    sent()
                }
                Job::Issue(req) => json!(c.issue_token(req)?),
                Job::RequestApproval(d) => {
                    let h = c.submit_approval_request(d)?;
                    json!({"id": h.id, "status": h.status, "expiresAtMs": h.expires_at_ms})
                }
                Job::WaitApproval(id, t) => json!(c.wait_for_approval(id, *t)?),
                Job::Delivered(t) => json!(c.wait_audit_delivered(*t)),
            })
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

    fn resolve(&mut self, _env: Env, output: Value) -> Result<String> {
        Ok(output.to_string())
    }

    fn reject(&mut self, env: Env, err: Error) -> Result<String> {
        match self.failure.take() {
            Some(f) => Err(shield_env(&env, |_| Err::<(), _>(f)).unwrap_err()),
            None => Err(err),
        }
    }
}
