//! `NativeAct`: a wrapper over `act_core::client::Client` (options, sources, audit targets,
//! status, reload, readiness, close and the control-plane calls all live in core). Anything
//! that may wait runs on libuv's thread pool, never on the event loop.

use crate::clock::ManualClock;
use crate::convert;
use crate::decision;
use crate::error::{shield, shield_env, Failure, Fallible};
use crate::keys::NativeSigningKey;
use act_core::audit::{AuditRecord, CallbackSink};
use act_core::client::host::{camel_case_keys, json_object, json_optional, public_key, whole, whole_unsigned};
use act_core::client::{AuditTarget, Client, ClientOptions, PolicySource, SourceArgs};
use act_core::token::DelegationSpec;
use act_core::{EngineOptions, IssueRequest, Request};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunctionCallMode;
use napi_derive::napi;
use serde_json::{json, Value};
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

/// A token request from the JS arguments (objects come as JSON text).
fn issue_request(
    agent: String,
    user_context: Option<String>,
    agent_context: Option<String>,
    policy: Option<String>,
    ttl: Option<f64>,
    holder_key: Option<String>,
) -> Fallible<IssueRequest> {
    Ok(IssueRequest {
        agent,
        user_context: json_object("userContext", user_context.as_deref())?,
        agent_context: json_object("agentContext", agent_context.as_deref())?,
        policy: json_optional("policy", policy.as_deref())?,
        ttl_secs: ttl.map(|t| whole_unsigned("ttl", t)).transpose()?.unwrap_or(0),
        holder_key: holder_key.as_deref().map(public_key).transpose()?,
    })
}

fn millis(name: &str, ms: f64) -> Fallible<Duration> {
    Ok(Duration::from_millis(whole_unsigned(name, ms)?))
}

#[napi]
impl NativeAct {
    /// Loads the policies and starts the engine (and its audit thread).
    #[napi(constructor)]
    pub fn new(
        env: &Env,
        options: NativeOptions,
        signing_key: Option<ClassInstance<NativeSigningKey>>,
        audit_key: Option<ClassInstance<NativeSigningKey>>,
        clock: Option<ClassInstance<ManualClock>>,
        audit_callback: Option<Function<Value, ()>>,
    ) -> Result<Self> {
        shield(env, move || {
            let sent = Arc::new(AtomicU64::new(0));
            let args = SourceArgs {
                policy_file: options.policy_file.map(PathBuf::from),
                policy_text: options.policy,
                policy_name: options.policy_name,
                watch: options.watch == Some(true),
                endpoint: options.endpoint,
                api_key: options.api_key,
                trust_key: options.trust_key.as_deref().map(public_key).transpose()?,
                issuer_api_key: options.issuer_api_key,
                cache_dir: options.cache_dir.map(PathBuf::from),
                // Never block the event loop: `await act.ready()` waits for the first snapshot.
                initial_sync: Some(Duration::ZERO),
            };
            let policy = PolicySource::select(args, &|name| std::env::var(name).ok())?;
            let mut engine = EngineOptions::default();
            engine.audience = options.audience.or(engine.audience);
            engine.issuer = options.issuer.unwrap_or(engine.issuer);
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
            opts.audit_key = audit_key.map(|k| k.inner.clone());
            opts.clock = clock.map(|c| c.inner.clone() as Arc<dyn act_core::Clock>);
            for t in options.trust.unwrap_or_default() {
                opts.trusted_keys.push(public_key(&t)?);
            }
            for f in options.audit_files.unwrap_or_default() {
                opts.audit.push(AuditTarget::Jsonl(PathBuf::from(f)));
            }
            if let Some(f) = audit_callback {
                // Weak: pending records never keep the process alive; unbounded: a call never drops one.
                let tsfn = f
                    .build_threadsafe_function::<AuditRecord>()
                    .callee_handled::<false>()
                    .weak::<true>()
                    .max_queue_size::<0>()
                    .build_callback(|ctx: napi::threadsafe_function::ThreadsafeCallContext<AuditRecord>| {
                        Ok(convert::audit_record(ctx.value))
                    })?;
                let sent = sent.clone();
                opts.audit.push(AuditTarget::Sink(Box::new(CallbackSink(Box::new(
                    move |r: &AuditRecord| {
                        tsfn.call(r.clone(), ThreadsafeFunctionCallMode::NonBlocking);
                        sent.fetch_add(1, Ordering::SeqCst);
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

    /// `mode` 0 validates (enforces: limits, approvals, audit), 1 checks (no side effects),
    /// 2 explains (a check with a trace). `context` is JSON text; the result is
    /// `decision::encode`'s string.
    #[napi]
    #[allow(
        clippy::too_many_arguments,
        reason = "the keyword arguments of the host-language API, one parameter each"
    )]
    pub fn decide(
        &self,
        env: &Env,
        mode: u32,
        token: String,
        action: String,
        resource: String,
        context: Option<String>,
        approval: Option<String>,
    ) -> Result<String> {
        shield(env, || {
            let parsed = match context.as_deref() {
                None => None,
                Some(text) => Some(json_object("context", Some(text))?),
            };
            let req = Request {
                token: &token,
                action: &action,
                resource: &resource,
                context: parsed.as_ref().unwrap_or_else(|| act_core::engine::empty_context()),
                approval: approval.as_deref(),
            };
            let d = self.client.with_engine(|engine| match mode {
                0 => engine.validate(&req),
                1 => engine.check(&req),
                _ => engine.explain(&req),
            })?;
            Ok(decision::encode(&d))
        })
    }

    /// Issues a token with the local signing key; the three objects come as JSON text.
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
            let req = issue_request(agent, user_context, agent_context, policy, ttl, holder_key)?;
            Ok(self.client.issue_token(&req)?)
        })
    }

    /// `issue_token` off the event loop (through the endpoint, `POST /v1/tokens` with the issuer
    /// credential, when [`issues_remotely`](Self::issues_remotely)); resolves to the token.
    #[napi]
    #[allow(
        clippy::too_many_arguments,
        reason = "the keyword arguments of the host-language API, one parameter each"
    )]
    pub fn issue_token_remote(
        &self,
        env: &Env,
        agent: String,
        user_context: Option<String>,
        agent_context: Option<String>,
        policy: Option<String>,
        ttl: Option<f64>,
        holder_key: Option<String>,
    ) -> Result<AsyncTask<Work>> {
        shield(env, || {
            let req = issue_request(agent, user_context, agent_context, policy, ttl, holder_key)?;
            Ok(self.work(Job::Issue(req)))
        })
    }

    /// True when `issueToken` goes through the endpoint (endpoint mode, no local signing key).
    #[napi]
    pub fn issues_remotely(&self, env: &Env) -> Result<bool> {
        shield(env, || Ok(self.client.issues_remotely()?))
    }

    /// Asks the endpoint for a human approval of a decision's `approvalRequest` (JSON text, as
    /// the decision shows it); resolves to `{ id, status, expiresAtMs }`. The endpoint recomputes
    /// the id and checks the context hash, so nothing in the text is trusted.
    #[napi]
    pub fn request_approval(&self, env: &Env, request: String) -> Result<AsyncTask<Work>> {
        shield(env, || {
            let r = decision::approval_request_from_json(&request)?;
            Ok(self.work(Job::RequestApproval(Box::new(r))))
        })
    }

    /// Long-polls the endpoint for a decision on `id`, at most `timeout_ms`; resolves to the
    /// approval, rejects with `approval_denied` (with the approver's reason) or `approval_timeout`.
    #[napi]
    pub fn wait_for_approval(&self, env: &Env, id: String, timeout_ms: f64) -> Result<AsyncTask<Work>> {
        shield(env, || {
            Ok(self.work(Job::WaitApproval(id, millis("timeoutMs", timeout_ms)?)))
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
        shield(env, || Ok(self.work(Job::Delivered(millis("timeoutMs", timeout_ms)?))))
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
                agent_context: json_object("agentContext", agent_context.as_deref())?,
                capability: json_optional("policy", policy.as_deref())?,
                ttl_secs: whole_unsigned("ttl", ttl)?,
                holder_key: next_holder_key.as_deref().map(public_key).transpose()?,
            };
            Ok(self.client.engine()?.delegate(&parent, &holder.inner, &spec)?)
        })
    }

    /// Seals `token` (whose last link names `holder`'s key) so its holder can present it.
    #[napi]
    pub fn seal(&self, env: &Env, token: String, holder: ClassInstance<NativeSigningKey>, ttl: f64) -> Result<String> {
        shield(env, || {
            Ok(self
                .client
                .engine()?
                .seal(&token, &holder.inner, whole_unsigned("ttl", ttl)?)?)
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
            self.client.engine()?;
            Ok(self.work(Job::Ready(millis("timeoutMs", timeout_ms)?)))
        })
    }

    /// Stops the client: flushes and closes its audit sinks (off the event loop).
    /// Resolves to the number of records handed to the JS callback in all.
    #[napi]
    pub fn close(&self, env: &Env) -> Result<AsyncTask<Work>> {
        shield(env, || Ok(self.work(Job::Close)))
    }

    /// The core's status (`STATUS_FIELDS`) with camelCase keys.
    #[napi]
    pub fn status(&self, env: &Env) -> Result<Value> {
        shield(env, || Ok(camel_case_keys(self.client.status().to_json())))
    }
}

/// Blocking work run on libuv's thread pool.
enum Job {
    Reload,
    Flush,
    Close,
    Ready(Duration),
    Issue(IssueRequest),
    RequestApproval(Box<act_core::ApprovalRequest>),
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
