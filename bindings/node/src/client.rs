//! `NativeAct`: a wrapper over `act_core::client::Client` (options, sources, audit targets,
//! status, reload, readiness, close and the control-plane calls all live in core, and so do the
//! rules for the arguments: `ClientArgs`, `issue_request`, `timeout_ms`, ...). Anything that may
//! wait runs on libuv's thread pool as a core `Job`, never on the event loop.

use crate::clock::ManualClock;
use crate::decision;
use crate::error::{shield, to_js};
use crate::keys::NativeSigningKey;
use act_core::audit::{AuditRecord, CallbackSink};
use act_core::client::host::{camel_case_keys, json_object};
use act_core::client::{self as core, AuditTarget, Client, ClientArgs, Job, Mode};
use act_core::Request;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeCallContext, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The engine behind the JS `ACT` class.
#[napi]
pub struct NativeAct {
    client: Arc<Client>,
    /// Records handed to the JS audit callback's queue so far.
    sent: Arc<AtomicU64>,
}

#[napi]
impl NativeAct {
    /// Loads the policies and starts the engine (and its audit thread). `options` is the JSON
    /// of the plain-value options (`ClientArgs`).
    #[napi(constructor)]
    pub fn new(
        env: &Env,
        options: String,
        signing_key: Option<ClassInstance<NativeSigningKey>>,
        audit_key: Option<ClassInstance<NativeSigningKey>>,
        clock: Option<ClassInstance<ManualClock>>,
        audit_callback: Option<Function<Value, ()>>,
    ) -> Result<Self> {
        let sent = Arc::new(AtomicU64::new(0));
        // Weak: pending records never keep the process alive; unbounded: a call never drops one.
        let callback = match audit_callback {
            None => None,
            Some(f) => Some(
                f.build_threadsafe_function::<AuditRecord>()
                    .callee_handled::<false>()
                    .weak::<true>()
                    .max_queue_size::<0>()
                    .build_callback(|ctx: ThreadsafeCallContext<AuditRecord>| Ok(audit_record(&ctx.value)))?,
            ),
        };
        shield(env, move || {
            let mut args = ClientArgs::from_json(&options)?;
            // Never block the event loop: `await act.ready()` waits for the first snapshot.
            args.initial_sync = Some(Duration::ZERO);
            let mut opts = args.into_options(&|name| std::env::var(name).ok())?;
            opts.signing_key = signing_key.map(|k| k.inner.clone());
            opts.audit_key = audit_key.map(|k| k.inner.clone());
            opts.clock = clock.map(|c| c.inner.clone() as Arc<dyn act_core::Clock>);
            if let Some(tsfn) = callback {
                let sent = sent.clone();
                opts.audit
                    .push(AuditTarget::Sink(Box::new(CallbackSink(move |r: &AuditRecord| {
                        tsfn.call(r.clone(), ThreadsafeFunctionCallMode::NonBlocking);
                        sent.fetch_add(1, Ordering::SeqCst);
                        Ok(())
                    }))));
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
            let parsed = context
                .as_deref()
                .map(|c| json_object("context", Some(c)))
                .transpose()?;
            let req = Request {
                token: &token,
                action: &action,
                resource: &resource,
                context: parsed.as_ref().unwrap_or_else(|| act_core::engine::empty_context()),
                approval: approval.as_deref(),
            };
            let mode = [Mode::Validate, Mode::Check].get(mode as usize).copied();
            Ok(decision::encode(
                &self.client.decide(mode.unwrap_or(Mode::Explain), &req)?,
            ))
        })
    }

    /// Issues a token; the three objects come as JSON text. `remote` false: now, with the local
    /// signing key. `remote` true: off the event loop (through the endpoint, `POST /v1/tokens`
    /// with the issuer credential, when [`issues_remotely`](Self::issues_remotely)), resolving
    /// to the token.
    #[napi]
    pub fn issue_token(
        &self,
        env: &Env,
        remote: bool,
        agent: String,
        user_context: Option<String>,
        agent_context: Option<String>,
        policy: Option<String>,
        ttl: Option<f64>,
        holder_key: Option<String>,
    ) -> Result<Either<String, AsyncTask<Work>>> {
        shield(env, || {
            let (u, a, p, h) = (user_context, agent_context, policy, holder_key);
            let req = core::issue_request(agent, u.as_deref(), a.as_deref(), p.as_deref(), ttl, h.as_deref())?;
            Ok(match remote {
                false => Either::A(self.client.issue_token(&req)?),
                true => Either::B(self.work(Job::IssueToken(req))),
            })
        })
    }

    /// True when `issueToken` goes through the endpoint (endpoint mode, no local signing key).
    #[napi]
    pub fn issues_remotely(&self, env: &Env) -> Result<bool> {
        shield(env, || self.client.issues_remotely())
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

    /// Long-polls the endpoint for a decision on `id`, at most `timeout_ms` (default: the
    /// core's); resolves to the approval, rejects with `approval_denied` or `approval_timeout`.
    #[napi]
    pub fn wait_for_approval(&self, env: &Env, id: String, timeout_ms: Option<f64>) -> Result<AsyncTask<Work>> {
        shield(env, || {
            let t = core::timeout_ms(timeout_ms, core::DEFAULT_APPROVAL_TIMEOUT)?;
            Ok(self.work(Job::WaitForApproval(id, t)))
        })
    }

    /// The verified claims of a token: `{ jti, agent, subject, expiresAt, chain }`.
    #[napi]
    pub fn inspect_token(&self, env: &Env, token: String) -> Result<Value> {
        shield(env, || {
            let info = self.client.inspect_token(&token)?;
            let chain: Vec<Value> = info.chain.iter().map(|c| c.to_json()).collect();
            let (jti, agent, subject, exp) = (info.jti(), info.agent(), info.subject(), info.expires_at());
            Ok(json!({"jti": jti, "agent": agent, "subject": subject, "expiresAt": exp, "chain": chain}))
        })
    }

    /// This SDK instance's id (`X-Act-Instance`).
    #[napi]
    pub fn instance_id(&self) -> String {
        self.client.instance_id().to_string()
    }

    /// Waits (off the event loop) until shipped audit records were delivered; resolves to a bool.
    #[napi]
    pub fn wait_audit_delivered(&self, env: &Env, timeout_ms: Option<f64>) -> Result<AsyncTask<Work>> {
        shield(env, || {
            let t = core::timeout_ms(timeout_ms, core::DEFAULT_AUDIT_DELIVERY_TIMEOUT)?;
            Ok(self.work(Job::WaitAuditDelivered(t)))
        })
    }

    /// Delegates a narrower token to a sub-agent, signed by `holder`; objects come as JSON text.
    #[napi]
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
            let (a, p, n) = (agent_context.as_deref(), policy.as_deref(), next_holder_key.as_deref());
            let spec = core::delegation_spec(agent, a, p, ttl, n)?;
            self.client.engine()?.delegate(&parent, &holder.inner, &spec)
        })
    }

    /// Seals `token` (whose last link names `holder`'s key) so its holder can present it.
    #[napi]
    pub fn seal(&self, env: &Env, token: String, holder: ClassInstance<NativeSigningKey>, ttl: f64) -> Result<String> {
        shield(env, || {
            let ttl = core::seconds("ttl", ttl)?;
            self.client.engine()?.seal(&token, &holder.inner, ttl)
        })
    }

    /// Signs an approval for the request with id `request_id`.
    #[napi]
    pub fn approve(&self, env: &Env, request_id: String, approver: String, ttl: f64) -> Result<String> {
        shield(env, || {
            let ttl = core::seconds("ttl", ttl)?;
            self.client.engine()?.approve(&request_id, &approver, ttl)
        })
    }

    /// Re-reads the policy source and swaps it in (off the event loop); resolves to the new version.
    #[napi]
    pub fn reload(&self) -> AsyncTask<Work> {
        self.work(Job::Reload)
    }

    /// Waits (off the event loop) until every audit record so far reached its sinks;
    /// resolves to the number of records handed to the JS callback so far.
    #[napi]
    pub fn flush_audit(&self) -> AsyncTask<Work> {
        self.work(Job::FlushAudit)
    }

    /// Waits (off the event loop) until a snapshot serves, at most `timeout_ms` (default: the
    /// core's); resolves to the version serving then (0: none yet, validations deny `no_snapshot`).
    #[napi]
    pub fn ready(&self, env: &Env, timeout_ms: Option<f64>) -> Result<AsyncTask<Work>> {
        shield(env, || {
            let t = core::timeout_ms(timeout_ms, core::DEFAULT_READY_TIMEOUT)?;
            Ok(self.work(Job::Ready(t)))
        })
    }

    /// Stops the client: flushes and closes its audit sinks (off the event loop).
    /// Resolves to the number of records handed to the JS callback in all.
    #[napi]
    pub fn close(&self) -> AsyncTask<Work> {
        self.work(Job::Close)
    }

    /// The core's status (`STATUS_FIELDS`) with camelCase keys.
    #[napi]
    pub fn status(&self, env: &Env) -> Result<Value> {
        shield(env, || Ok(camel_case_keys(self.client.status().to_json())))
    }

    fn work(&self, job: Job) -> AsyncTask<Work> {
        AsyncTask::new(Work {
            client: self.client.clone(),
            sent: self.sent.clone(),
            job,
            failure: None,
        })
    }
}

/// An [`AsyncTask`] around a core [`Job`]; a core error is kept to be thrown with its fields.
pub struct Work {
    client: Arc<Client>,
    sent: Arc<AtomicU64>,
    job: Job,
    failure: Option<act_core::Error>,
}

/// Results cross as JSON text (`index.js` parses them), camelCase; flushing and closing
/// resolve to the records handed to the JS callback, which `index.js` waits to see delivered.
impl Task for Work {
    type Output = String;
    type JsValue = String;

    fn compute(&mut self) -> Result<String> {
        let run = core::catch_panic(|| self.client.run(&self.job), act_core::Error::Internal);
        match (run, &self.job) {
            (Ok(_), Job::FlushAudit | Job::Close) => Ok(self.sent.load(Ordering::SeqCst).to_string()),
            (Ok(v), _) => Ok(camel_case_keys(v).to_string()),
            (Err(e), _) => {
                self.failure = Some(e);
                Err(Error::from_reason("failed"))
            }
        }
    }

    fn resolve(&mut self, _env: Env, output: String) -> Result<String> {
        Ok(output)
    }

    fn reject(&mut self, env: Env, err: Error) -> Result<String> {
        Err(self.failure.take().map_or(err, |e| to_js(&env, &e)))
    }
}

/// One audit record as handed to a JS audit callback: the core's fields with camelCase names
/// (a record's own `context` keys are the host's data and keep their spelling).
fn audit_record(r: &AuditRecord) -> Value {
    let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
    let context = v.as_object_mut().and_then(|o| o.remove("context"));
    let mut v = camel_case_keys(v);
    if let (Some(o), Some(c)) = (v.as_object_mut(), context) {
        o.insert("context".into(), c);
    }
    v
}
