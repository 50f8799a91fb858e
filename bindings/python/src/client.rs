//! The native client behind `act_sdk.ACT` (which subclasses it to add `guard`
//! and friendlier audit arguments): a wrapper over `act_core::client::Client`, which owns
//! every option rule, default, source, the status shape and the control-plane calls.
//!
//! The GIL is released around every call that may block or run long: construction (loading
//! policies, connecting to Redis, waiting for the first snapshot), `validate` when it may wait
//! (a Redis counter store, or a Python audit callback with a full queue), reload, readiness,
//! the control-plane calls, flushing and closing. `check` and `explain` never wait and keep it.

use crate::clock::PyManualClock;
use crate::convert;
use crate::decision::{PyApprovalRequest, PyDecision};
use crate::errors::{self, shield, IntoPyResult};
use crate::keys::{public_key_arg, PySigningKey};
use act_core::client::{
    positive_seconds, timeout_secs, Client, ClientOptions, EngineArgs, Mode, PolicySource, SourceArgs,
    DEFAULT_APPROVAL_TIMEOUT, DEFAULT_AUDIT_DELIVERY_TIMEOUT, DEFAULT_READY_TIMEOUT,
};
use act_core::token::DelegationSpec;
use act_core::{Engine, IssueRequest, Request};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt, PyString};
use std::path::PathBuf;
use std::time::Duration;

/// The embedded ACT engine. Use `act_sdk.ACT`, which subclasses it.
#[pyclass(frozen, subclass, module = "act_sdk", name = "Engine")]
pub struct PyEngine {
    client: Client,
    /// `validate` may wait: a Python audit callback or a Redis counter store is configured.
    may_block: bool,
}

/// A pending approval request at the control endpoint (`request_approval`'s answer).
#[pyclass(frozen, module = "act_sdk", name = "ApprovalHandle")]
pub struct PyApprovalHandle {
    #[pyo3(get)]
    id: String,
    #[pyo3(get)]
    status: String,
    #[pyo3(get)]
    expires_at_ms: Option<i64>,
}

#[pymethods]
impl PyApprovalHandle {
    /// A handle from a stored id (e.g. after a restart), to wait on again.
    #[new]
    fn new(id: String) -> Self {
        PyApprovalHandle {
            id,
            status: "pending".into(),
            expires_at_ms: None,
        }
    }

    fn __repr__(&self) -> String {
        format!("ApprovalHandle(id={:?}, status={:?})", self.id, self.status)
    }
}

/// The verified claims of a token (`inspect_token`'s answer).
#[pyclass(frozen, module = "act_sdk", name = "TokenInfo")]
pub struct PyTokenInfo {
    #[pyo3(get)]
    jti: String,
    #[pyo3(get)]
    agent: String,
    #[pyo3(get)]
    subject: String,
    /// Earliest `exp` of the chain, seconds since the epoch.
    #[pyo3(get)]
    expires_at: i64,
    chain: Vec<serde_json::Value>,
}

#[pymethods]
impl PyTokenInfo {
    /// Every link's claims as a dict, root first (a plain token has one).
    #[getter]
    fn chain<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        self.chain.iter().map(|c| convert::to_py(py, c)).collect()
    }
    fn __repr__(&self) -> String {
        format!(
            "TokenInfo(jti={:?}, agent={:?}, subject={:?}, expires_at={})",
            self.jti, self.agent, self.subject, self.expires_at
        )
    }
}

/// An int that is not a bool (Python's `bool` subclasses `int`), or `TypeError` naming `name`.
fn int_arg(v: &Bound<'_, PyAny>, name: &str) -> PyResult<i64> {
    if !v.is_instance_of::<PyInt>() || v.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(format!("{name} must be an int (seconds)")));
    }
    v.extract::<i64>()
        .map_err(|_| errors::config(v.py(), format!("{name} {v} is out of range")))
}

/// A positive whole number of seconds (the core's rule); `None` stays `None`.
fn seconds(py: Python<'_>, value: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Option<u64>> {
    value
        .filter(|v| !v.is_none())
        .map(|v| positive_seconds(int_arg(v, name)?, name).py(py))
        .transpose()
}

/// A required `ttl`.
fn required_ttl(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<u64> {
    seconds(py, Some(value), "ttl")?.ok_or_else(|| PyTypeError::new_err("ttl must be an int (seconds)"))
}

fn text_arg(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<String> {
    obj.cast::<PyString>()
        .map_err(|_| PyTypeError::new_err(format!("{name} must be a str")))?
        .to_cow()
        .map(|c| c.into_owned())
}

/// A timeout in seconds (int or float); the default and the bounds are the core's.
fn timeout_arg(py: Python<'_>, value: Option<&Bound<'_, PyAny>>, default: Duration) -> PyResult<Duration> {
    let secs = match value.filter(|v| !v.is_none()) {
        Some(v) if !v.is_instance_of::<PyBool>() => Some(
            v.extract::<f64>()
                .map_err(|_| PyTypeError::new_err("timeout must be a number of seconds"))?,
        ),
        Some(_) => return Err(PyTypeError::new_err("timeout must be a number of seconds")),
        None => None,
    };
    timeout_secs(secs, default).py(py)
}

/// The id of an approval: an `ApprovalHandle`, an `ApprovalRequest` or the id itself.
fn approval_id(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    if let Ok(h) = obj.cast::<PyApprovalHandle>() {
        return Ok(h.get().id.clone());
    }
    if let Ok(r) = obj.cast::<PyApprovalRequest>() {
        return Ok(r.get().inner.id.clone());
    }
    obj.cast::<PyString>()
        .map_err(|_| PyTypeError::new_err(format!("{what} (or its id, a str)")))?
        .to_cow()
        .map(|c| c.into_owned())
}

fn optional<T>(v: Option<&Bound<'_, PyAny>>, f: impl FnOnce(&Bound<'_, PyAny>) -> PyResult<T>) -> PyResult<Option<T>> {
    v.filter(|v| !v.is_none()).map(f).transpose()
}

impl PyEngine {
    fn engine(&self, py: Python<'_>) -> PyResult<std::sync::Arc<Engine>> {
        self.client.engine().py(py)
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "the keyword arguments of the host-language API, one parameter each"
    )]
    fn decide(
        &self,
        py: Python<'_>,
        mode: Mode,
        token: &str,
        action: &str,
        resource: &str,
        context: Option<&Bound<'_, PyAny>>,
        approval: Option<&str>,
    ) -> PyResult<PyDecision> {
        shield(py, || {
            let context = convert::to_map(context, "context")?;
            let req = Request {
                token,
                action,
                resource,
                context: &context,
                approval,
            };
            let inner = if self.may_block && mode == Mode::Validate {
                py.detach(|| self.client.decide(mode, &req))
            } else {
                self.client.decide(mode, &req)
            }
            .py(py)?;
            Ok(PyDecision { inner })
        })
    }
}

#[pymethods]
impl PyEngine {
    /// Embedded: loads `policy_file` (a YAML/JSON file or a folder of them; `watch=True`
    /// re-reads it when it changes) or `policy_text`; with neither, tokens carry their own
    /// inline policy. Control endpoint: `endpoint=`, `api_key=`, the pinned snapshot key
    /// `trust_key=` (each from `ACT_ENDPOINT`, `ACT_API_KEY`, `ACT_TRUST_KEY` when not passed);
    /// waits up to `initial_sync` seconds for the first snapshot. The rules are the core's.
    #[new]
    #[pyo3(signature = (policy_file=None, *, signing_key=None, audience=None, leeway=None, audit=None, trusted_keys=None,
                        issuer=None, clock=None, endpoint=None, api_key=None, trust_key=None, cache_dir=None,
                        max_staleness=None, watch=false, initial_sync=None, counters=None, policy_text=None,
                        issuer_api_key=None, ship_audit=None, audit_key=None))]
    #[allow(
        clippy::too_many_arguments,
        reason = "the keyword arguments of the host-language API, one parameter each"
    )]
    fn new(
        py: Python<'_>,
        policy_file: Option<PathBuf>,
        signing_key: Option<&Bound<'_, PySigningKey>>,
        audience: Option<String>,
        leeway: Option<&Bound<'_, PyAny>>,
        audit: Option<&Bound<'_, PyAny>>,
        trusted_keys: Option<&Bound<'_, PyAny>>,
        issuer: Option<String>,
        clock: Option<&Bound<'_, PyManualClock>>,
        endpoint: Option<String>,
        api_key: Option<String>,
        trust_key: Option<&Bound<'_, PyAny>>,
        cache_dir: Option<PathBuf>,
        max_staleness: Option<&Bound<'_, PyAny>>,
        watch: bool,
        initial_sync: Option<&Bound<'_, PyAny>>,
        counters: Option<String>,
        policy_text: Option<String>,
        issuer_api_key: Option<String>,
        ship_audit: Option<bool>,
        audit_key: Option<&Bound<'_, PySigningKey>>,
    ) -> PyResult<Self> {
        shield(py, || {
            let trust_key = optional(trust_key, |k| public_key_arg(k, "trust_key"))?;
            let args = SourceArgs {
                policy_file,
                policy_text,
                policy_name: None,
                watch,
                endpoint,
                api_key,
                trust_key,
                issuer_api_key,
                cache_dir,
                initial_sync: seconds(py, initial_sync, "initial_sync")?.map(Duration::from_secs),
            };
            let policy = PolicySource::select(args, &|name| std::env::var(name).ok()).py(py)?;
            let mut opts = ClientOptions::new(policy);
            opts.engine = EngineArgs {
                audience,
                issuer,
                leeway_secs: optional(leeway, |l| int_arg(l, "leeway"))?,
                max_staleness: seconds(py, max_staleness, "max_staleness")?.map(Duration::from_secs),
            }
            .options();
            if let Some(keys) = trusted_keys.filter(|k| !k.is_none()) {
                if keys.is_instance_of::<PyString>() {
                    return Err(PyTypeError::new_err(
                        "trusted_keys must be a list of keys, not a single str",
                    ));
                }
                for k in keys.try_iter()? {
                    opts.trusted_keys.push(public_key_arg(&k?, "each trusted key")?);
                }
            }
            opts.audit = crate::audit::sinks(audit)?;
            opts.counters = counters;
            opts.ship_audit = ship_audit;
            opts.signing_key = signing_key.map(|k| k.get().inner.clone());
            opts.audit_key = audit_key.map(|k| k.get().inner.clone());
            opts.clock = clock.map(|c| c.get().inner.clone() as std::sync::Arc<dyn act_core::Clock>);
            let may_block = opts.validate_may_wait();
            opts.sdk_language = "python".into();
            opts.sdk_version = env!("CARGO_PKG_VERSION").into();
            // Loading files, connecting to Redis and waiting for the first snapshot: no GIL held.
            let client = py.detach(|| Client::start(opts)).py(py)?;
            Ok(PyEngine { client, may_block })
        })
    }

    /// Decides and enforces: consumes rate limits and approvals, writes the audit record.
    #[pyo3(signature = (*, token, action, resource, context=None, approval=None))]
    fn validate(
        &self,
        py: Python<'_>,
        token: &str,
        action: &str,
        resource: &str,
        context: Option<&Bound<'_, PyAny>>,
        approval: Option<&str>,
    ) -> PyResult<PyDecision> {
        self.decide(py, Mode::Validate, token, action, resource, context, approval)
    }

    /// Decides without side effects: no counters, approvals, audit or circuit breaker.
    #[pyo3(signature = (*, token, action, resource, context=None, approval=None))]
    fn check(
        &self,
        py: Python<'_>,
        token: &str,
        action: &str,
        resource: &str,
        context: Option<&Bound<'_, PyAny>>,
        approval: Option<&str>,
    ) -> PyResult<PyDecision> {
        self.decide(py, Mode::Check, token, action, resource, context, approval)
    }

    /// Like `check`, with `decision.trace` listing every rule and constraint looked at.
    #[pyo3(signature = (*, token, action, resource, context=None, approval=None))]
    fn explain(
        &self,
        py: Python<'_>,
        token: &str,
        action: &str,
        resource: &str,
        context: Option<&Bound<'_, PyAny>>,
        approval: Option<&str>,
    ) -> PyResult<PyDecision> {
        self.decide(py, Mode::Explain, token, action, resource, context, approval)
    }

    /// Issues a token for `agent` acting for the user in `user_context` (which needs `user_id`).
    #[pyo3(signature = (*, agent, user_context, agent_context=None, policy=None, ttl=None, holder_key=None))]
    #[allow(
        clippy::too_many_arguments,
        reason = "the keyword arguments of the host-language API, one parameter each"
    )]
    fn issue_token(
        &self,
        py: Python<'_>,
        agent: &Bound<'_, PyAny>,
        user_context: &Bound<'_, PyAny>,
        agent_context: Option<&Bound<'_, PyAny>>,
        policy: Option<&Bound<'_, PyAny>>,
        ttl: Option<&Bound<'_, PyAny>>,
        holder_key: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<String> {
        shield(py, || {
            let engine = self.engine(py)?;
            if user_context.is_none() {
                return Err(PyTypeError::new_err(
                    "user_context must be a dict with the user's `user_id`",
                ));
            }
            let req = IssueRequest {
                agent: text_arg(agent, "agent")?,
                user_context: convert::to_map(Some(user_context), "user_context")?,
                agent_context: convert::to_map(agent_context, "agent_context")?,
                policy: optional(policy, |p| convert::to_json(p, "policy"))?,
                // 0 asks the core for its default lifetime.
                ttl_secs: seconds(py, ttl, "ttl")?.unwrap_or(0),
                holder_key: optional(holder_key, |k| public_key_arg(k, "holder_key"))?,
            };
            drop(engine);
            // In endpoint mode without a signing key this is an HTTP call: no GIL held.
            py.detach(|| self.client.issue_token(&req)).py(py)
        })
    }

    /// Appends a narrower child token for sub-agent `agent`, signed by `holder_key`
    /// (the private key whose public half the parent names in `cnf`).
    #[pyo3(signature = (token, *, holder_key, agent, ttl, policy=None, agent_context=None, next_holder_key=None))]
    #[allow(
        clippy::too_many_arguments,
        reason = "the keyword arguments of the host-language API, one parameter each"
    )]
    fn delegate(
        &self,
        py: Python<'_>,
        token: &str,
        holder_key: &Bound<'_, PyAny>,
        agent: &Bound<'_, PyAny>,
        ttl: &Bound<'_, PyAny>,
        policy: Option<&Bound<'_, PyAny>>,
        agent_context: Option<&Bound<'_, PyAny>>,
        next_holder_key: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<String> {
        shield(py, || {
            let engine = self.engine(py)?;
            let holder = holder_key.cast::<PySigningKey>().map_err(|_| {
                PyTypeError::new_err("holder_key must be the SigningKey named in the parent token's holder key")
            })?;
            let spec = DelegationSpec {
                agent: text_arg(agent, "agent")?,
                agent_context: convert::to_map(agent_context, "agent_context")?,
                capability: optional(policy, |p| convert::to_json(p, "policy"))?,
                ttl_secs: required_ttl(py, ttl)?,
                holder_key: optional(next_holder_key, |k| public_key_arg(k, "next_holder_key"))?,
            };
            engine.delegate(token, &holder.get().inner, &spec).py(py)
        })
    }

    /// Seals `token` (whose last link names `holder_key`'s public key as its holder) so the
    /// sub-agent holding that key can present it, valid `ttl` seconds at most.
    #[pyo3(signature = (token, *, holder_key, ttl))]
    fn seal(
        &self,
        py: Python<'_>,
        token: &str,
        holder_key: &Bound<'_, PyAny>,
        ttl: &Bound<'_, PyAny>,
    ) -> PyResult<String> {
        shield(py, || {
            let holder = holder_key
                .cast::<PySigningKey>()
                .map_err(|_| PyTypeError::new_err("holder_key must be the SigningKey the token names as its holder"))?;
            self.engine(py)?
                .seal(token, &holder.get().inner, required_ttl(py, ttl)?)
                .py(py)
        })
    }

    /// Signs an approval for an `ApprovalRequest` (or its id) by `approver`, valid `ttl` seconds.
    /// Pass the returned string as `approval=` with the same request.
    #[pyo3(signature = (request, *, approver, ttl))]
    fn approve(
        &self,
        py: Python<'_>,
        request: &Bound<'_, PyAny>,
        approver: &Bound<'_, PyAny>,
        ttl: &Bound<'_, PyAny>,
    ) -> PyResult<String> {
        shield(py, || {
            let engine = self.engine(py)?;
            let id = approval_id(request, "request must be an ApprovalRequest")?;
            let approver = text_arg(approver, "approver")?;
            engine.approve(&id, &approver, required_ttl(py, ttl)?).py(py)
        })
    }

    /// Re-reads the policy file (or text) and swaps the new policies in; returns the new
    /// snapshot version. One reload at a time (the core serialises them); on any error the
    /// current policies keep serving.
    fn reload(&self, py: Python<'_>) -> PyResult<u64> {
        shield(py, || py.detach(|| self.client.reload()).py(py))
    }

    /// Waits up to `timeout` seconds until a snapshot serves; True if one does.
    #[pyo3(signature = (timeout=None))]
    fn ready(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<bool> {
        shield(py, || {
            let t = timeout_arg(py, timeout, DEFAULT_READY_TIMEOUT)?;
            Ok(py.detach(|| self.client.ready(t)))
        })
    }

    /// Asks the control endpoint for a human approval of an `approval_required` decision (its
    /// request with the argument values the approver sees); returns an `ApprovalHandle`.
    fn request_approval(&self, py: Python<'_>, decision: &Bound<'_, PyDecision>) -> PyResult<PyApprovalHandle> {
        shield(py, || {
            let d = &decision.get().inner;
            let h = py.detach(|| self.client.request_approval(d)).py(py)?;
            Ok(PyApprovalHandle {
                id: h.id,
                status: h.status,
                expires_at_ms: h.expires_at_ms,
            })
        })
    }

    /// Long-polls the endpoint until the approval is decided or `timeout` seconds pass (GIL
    /// released). Returns the approval to pass as `validate(approval=...)`; raises
    /// `ApprovalDenied` (with the approver's `reason`) or `ApprovalTimeout`.
    #[pyo3(signature = (handle, timeout=None))]
    fn wait_for_approval(
        &self,
        py: Python<'_>,
        handle: &Bound<'_, PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<String> {
        shield(py, || {
            let id = approval_id(handle, "handle must be the ApprovalHandle request_approval returned")?;
            let t = timeout_arg(py, timeout, DEFAULT_APPROVAL_TIMEOUT)?;
            py.detach(|| self.client.wait_for_approval(&id, t)).py(py)
        })
    }

    /// Verifies `token` against the keys trusted now and returns its claims (`TokenInfo`:
    /// `jti`, `agent`, `subject`, `expires_at`, `chain`). Raises `TokenError` when it does not verify.
    fn inspect_token(&self, py: Python<'_>, token: &str) -> PyResult<PyTokenInfo> {
        shield(py, || {
            let info = self.client.inspect_token(token).py(py)?;
            Ok(PyTokenInfo {
                jti: info.jti().into(),
                agent: info.agent().into(),
                subject: info.subject().into(),
                expires_at: info.expires_at(),
                chain: info.chain.iter().map(|c| c.to_json()).collect(),
            })
        })
    }

    /// Waits up to `timeout` seconds until audit records shipped to the endpoint were all
    /// delivered (True), flushing local sinks first; True at once when nothing ships.
    #[pyo3(signature = (timeout=None))]
    fn wait_audit_delivered(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<bool> {
        shield(py, || {
            let t = timeout_arg(py, timeout, DEFAULT_AUDIT_DELIVERY_TIMEOUT)?;
            Ok(py.detach(|| self.client.wait_audit_delivered(t)))
        })
    }

    /// Waits until every audit record so far reached its sinks (releases the GIL meanwhile).
    fn flush_audit(&self, py: Python<'_>) -> PyResult<()> {
        shield(py, || {
            let engine = self.engine(py)?;
            py.detach(|| engine.flush_audit());
            Ok(())
        })
    }

    /// Flushes the audit trail and stops the engine; later calls raise `ConfigError`. Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        // The audit thread may need the GIL for a Python callback while it drains.
        shield(py, || {
            py.detach(|| self.client.close());
            Ok(())
        })
    }

    /// True once `close` ran.
    #[getter]
    fn closed(&self) -> bool {
        self.client.is_closed()
    }

    /// The core's status (`act_core::client::ClientStatus`) as a dict: the same fields in every language.
    #[getter]
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        shield(py, || convert::to_py(py, &self.client.status().to_json()))
    }

    /// This SDK instance's id (sent to the endpoint as `X-Act-Instance`).
    #[getter]
    fn instance_id(&self) -> &str {
        self.client.instance_id()
    }

    /// The public key tokens are issued with, when a signing key was given.
    #[getter]
    fn public_key(&self, py: Python<'_>) -> PyResult<Option<crate::keys::PyVerifyingKey>> {
        let engine = self.engine(py)?;
        Ok(engine.signing_key().map(|k| crate::keys::PyVerifyingKey {
            inner: k.verifying_key().clone(),
        }))
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }
}

impl Drop for PyEngine {
    fn drop(&mut self) {
        // Joining the audit thread may wait for the GIL it needs for a Python callback.
        Python::attach(|py| py.detach(|| self.client.close()));
    }
}
