//! The native engine behind `act_sdk.ACT` (which subclasses it to add `guard`
//! and friendlier audit arguments).
//!
//! `validate`, `check` and `explain` hold the GIL: they never wait, except
//! when a Python audit callback is configured and the audit queue is full,
//! so in that configuration they release the GIL (the audit thread needs it
//! to drain the queue). Loading and reloading policies, flushing and closing
//! always release it. The engine sits in an `ArcSwapOption` so `close` can
//! take it away while other threads keep their own reference until their
//! call returns.

use crate::clock::PyManualClock;
use crate::convert;
use crate::decision::{PyApprovalRequest, PyDecision};
use crate::errors::{self, shield, IntoPyResult};
use crate::keys::{public_key_arg, PySigningKey};
use act_core::sync::{HttpSyncOptions, SyncHandle};
use act_core::token::DelegationSpec;
use act_core::{Decision, Engine, EngineOptions, IssueRequest, Request};
use arc_swap::ArcSwapOption;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyInt, PyString};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The embedded ACT engine. Use `act_sdk.ACT`, which subclasses it.
#[pyclass(frozen, subclass, module = "act_sdk", name = "Engine")]
pub struct PyEngine {
    engine: ArcSwapOption<Engine>,
    /// The policy file or folder (embedded mode), or `None` with a control endpoint.
    policy_file: Option<PathBuf>,
    /// The background source keeping the engine current (endpoint, or a watched policy file).
    sync: Mutex<Option<SyncHandle>>,
    /// A Python audit callback is configured (see the module docs).
    calls_python: bool,
    /// Serializes reloads: each compiles "current version + 1".
    reload_lock: Mutex<()>,
}

#[derive(Clone, Copy)]
enum Mode {
    Validate,
    Check,
    Explain,
}

/// A non-negative whole number of seconds; `None` stays `None`.
fn seconds(py: Python<'_>, value: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Option<u64>> {
    let Some(v) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    if !v.is_instance_of::<PyInt>() || v.is_instance_of::<pyo3::types::PyBool>() {
        return Err(PyTypeError::new_err(format!("{name} must be an int (seconds)")));
    }
    match v.extract::<i64>() {
        Ok(n) if n >= 1 => Ok(Some(n as u64)),
        _ => Err(errors::config(
            py,
            format!("{name} must be a positive number of seconds, got {v}"),
        )),
    }
}

fn text_arg(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<String> {
    obj.cast::<PyString>()
        .map_err(|_| PyTypeError::new_err(format!("{name} must be a str")))?
        .to_cow()
        .map(|c| c.into_owned())
}

impl PyEngine {
    fn engine(&self, py: Python<'_>) -> PyResult<Arc<Engine>> {
        self.engine
            .load_full()
            .ok_or_else(|| errors::config(py, "this ACT instance was closed"))
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
            let guard = self.engine.load();
            let engine = guard
                .as_ref()
                .ok_or_else(|| errors::config(py, "this ACT instance was closed"))?;
            let context = convert::to_map(context, "context")?;
            let req = Request {
                token,
                action,
                resource,
                context: &context,
                approval,
            };
            let run = |e: &Engine| -> Decision {
                match mode {
                    Mode::Validate => e.validate(&req),
                    Mode::Check => e.check(&req),
                    Mode::Explain => e.explain(&req),
                }
            };
            let inner = if self.calls_python && matches!(mode, Mode::Validate) {
                py.detach(|| run(engine))
            } else {
                run(engine)
            };
            Ok(PyDecision { inner })
        })
    }
}

#[pymethods]
impl PyEngine {
    /// Embedded: loads `policy_file` (a YAML/JSON file or a folder of them); with `watch=True`
    /// it is re-read when it changes. Control endpoint: `endpoint=`, `api_key=` and the pinned
    /// snapshot key `trust_key=`; waits up to `initial_sync` seconds for the first snapshot
    /// (then validations deny `no_snapshot` until one arrives).
    #[new]
    #[pyo3(signature = (policy_file=None, *, signing_key=None, audience=None, leeway=None, audit=None, trusted_keys=None,
                        issuer=None, clock=None, endpoint=None, api_key=None, trust_key=None, cache_dir=None,
                        max_staleness=None, watch=false, initial_sync=None, counters=None))]
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
    ) -> PyResult<Self> {
        shield(py, || {
            match (&policy_file, &endpoint) {
                (Some(_), Some(_)) => return Err(errors::config(py, "pass either policy_file or endpoint, not both")),
                (None, None) => {
                    return Err(errors::config(
                        py,
                        "pass policy_file (embedded) or endpoint (control endpoint)",
                    ))
                }
                _ => {}
            }
            let trust = match trust_key.filter(|k| !k.is_none()) {
                Some(k) => Some(public_key_arg(k, "trust_key")?),
                None => None,
            };
            if endpoint.is_some() && trust.is_none() {
                return Err(errors::config(
                    py,
                    "endpoint= needs trust_key= (the control plane's public key, `ed25519:...`)",
                ));
            }
            if endpoint.is_none() && (api_key.is_some() || cache_dir.is_some() || trust.is_some()) {
                return Err(errors::config(
                    py,
                    "api_key, trust_key and cache_dir only apply with endpoint=",
                ));
            }
            let staleness = seconds(py, max_staleness, "max_staleness")?;
            let initial_wait = seconds(py, initial_sync, "initial_sync")?.unwrap_or(5);
            let mut options = EngineOptions {
                max_staleness_ms: staleness.map(|s| s as i64 * 1000),
                ..Default::default()
            };
            if let Some(aud) = audience {
                options.audience = Some(aud);
            }
            if let Some(iss) = issuer {
                options.issuer = iss;
            }
            if let Some(l) = leeway.filter(|l| !l.is_none()) {
                if !l.is_instance_of::<PyInt>() || l.is_instance_of::<pyo3::types::PyBool>() {
                    return Err(PyTypeError::new_err("leeway must be an int (seconds)"));
                }
                options.leeway_secs = l
                    .extract::<i64>()
                    .map_err(|_| errors::config(py, format!("leeway {l} is out of range")))?;
            }
            let mut trusted = Vec::new();
            if let Some(keys) = trusted_keys.filter(|k| !k.is_none()) {
                if keys.is_instance_of::<PyString>() {
                    return Err(PyTypeError::new_err(
                        "trusted_keys must be a list of keys, not a single str",
                    ));
                }
                for k in keys.try_iter()? {
                    trusted.push(public_key_arg(&k?, "each trusted key")?);
                }
            }
            let (sinks, calls_python) = crate::audit::sinks(py, audit)?;
            let mut builder = match &policy_file {
                Some(path) => {
                    let path = path.clone();
                    let set = py.detach(|| act_core::policy::load_path(&path)).py(py)?;
                    Engine::builder().policies(set)
                }
                None => Engine::builder().without_snapshot(),
            }
            .options(options);
            if let Some(spec) = counters {
                // Connecting may wait on the network: release the GIL.
                builder = builder.counters(py.detach(|| act_core::limits::open_store(&spec)).py(py)?);
            }
            if let Some(k) = signing_key {
                builder = builder.signing_key(k.get().inner.clone());
            }
            for k in trusted {
                builder = builder.trust(k);
            }
            if let Some(c) = clock {
                builder = builder.clock(c.get().inner.clone());
            }
            for s in sinks {
                builder = builder.audit_sink(s);
            }
            let engine = Arc::new(builder.build().py(py)?);
            let handle = match (&policy_file, endpoint) {
                (Some(path), None) if watch => Some(
                    act_core::sync::watch_path(engine.clone(), path.clone(), act_core::sync::DEFAULT_FILE_POLL)
                        .py(py)?,
                ),
                (None, Some(endpoint)) => {
                    let Some(trust) = trust else {
                        return Err(errors::config(py, "endpoint= needs trust_key="));
                    };
                    let mut opts = HttpSyncOptions::new(endpoint, trust);
                    opts.api_key = api_key;
                    opts.cache_dir = cache_dir;
                    let h = act_core::sync::start_http(engine.clone(), opts).py(py)?;
                    py.detach(|| h.wait_for_version(1, Duration::from_secs(initial_wait)));
                    Some(h)
                }
                _ => None,
            };
            Ok(PyEngine {
                engine: ArcSwapOption::new(Some(engine)),
                sync: Mutex::new(handle),
                policy_file,
                calls_python,
                reload_lock: Mutex::new(()),
            })
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
                policy: policy
                    .filter(|p| !p.is_none())
                    .map(|p| convert::to_json(p, "policy"))
                    .transpose()?,
                // 0 asks the core for its default lifetime.
                ttl_secs: seconds(py, ttl, "ttl")?.unwrap_or(0),
                holder_key: holder_key
                    .filter(|k| !k.is_none())
                    .map(|k| public_key_arg(k, "holder_key"))
                    .transpose()?,
            };
            engine.issue_token(&req).py(py)
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
                capability: policy
                    .filter(|p| !p.is_none())
                    .map(|p| convert::to_json(p, "policy"))
                    .transpose()?,
                ttl_secs: seconds(py, Some(ttl), "ttl")?
                    .ok_or_else(|| PyTypeError::new_err("ttl must be an int (seconds)"))?,
                holder_key: next_holder_key
                    .filter(|k| !k.is_none())
                    .map(|k| public_key_arg(k, "next_holder_key"))
                    .transpose()?,
            };
            engine.delegate(token, &holder.get().inner, &spec).py(py)
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
            let id = if let Ok(r) = request.cast::<PyApprovalRequest>() {
                r.get().inner.id.clone()
            } else if let Ok(s) = request.cast::<PyString>() {
                s.to_cow()?.into_owned()
            } else {
                return Err(PyTypeError::new_err(
                    "request must be an ApprovalRequest or its id (str)",
                ));
            };
            let approver = text_arg(approver, "approver")?;
            let ttl =
                seconds(py, Some(ttl), "ttl")?.ok_or_else(|| PyTypeError::new_err("ttl must be an int (seconds)"))?;
            engine.approve(&id, &approver, ttl).py(py)
        })
    }

    /// Re-reads the policy file and swaps the new policies in; returns the new snapshot version.
    /// On any error the current policies keep serving.
    fn reload(&self, py: Python<'_>) -> PyResult<u64> {
        shield(py, || {
            let engine = self.engine(py)?;
            let Some(path) = self.policy_file.clone() else {
                return Err(errors::config(
                    py,
                    "reload() re-reads a policy file; with endpoint= snapshots arrive by themselves",
                ));
            };
            py.detach(|| {
                let _one_at_a_time = self.reload_lock.lock().unwrap_or_else(|p| p.into_inner());
                act_core::policy::load_path(&path).and_then(|set| engine.reload(set))
            })
            .py(py)
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
        shield(py, || {
            let sync = self.sync.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(mut h) = sync {
                py.detach(move || h.stop());
            }
            if let Some(engine) = self.engine.swap(None) {
                // Dropping the last reference joins the audit thread, which may need the GIL.
                py.detach(move || {
                    engine.flush_audit();
                    drop(engine);
                });
            }
            Ok(())
        })
    }

    /// True once `close` ran.
    #[getter]
    fn closed(&self) -> bool {
        self.engine.load().is_none()
    }

    /// A snapshot of the engine's state (policy version, agents, audit counters).
    #[getter]
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        shield(py, || {
            let d = PyDict::new(py);
            d.set_item(
                "mode",
                if self.policy_file.is_some() {
                    "embedded"
                } else {
                    "endpoint"
                },
            )?;
            d.set_item(
                "policy_file",
                self.policy_file.as_ref().map(|p| p.display().to_string()),
            )?;
            let sync = self
                .sync
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
                .map(SyncHandle::status);
            match sync {
                Some(st) => {
                    d.set_item("source", st.source)?;
                    d.set_item("age_ms", st.age_ms)?;
                    d.set_item("last_success_ms", st.last_success_ms)?;
                    d.set_item("last_error", st.last_error)?;
                    d.set_item("sync_running", st.running)?;
                    d.set_item("updates", st.updates)?;
                }
                None => {
                    d.set_item(
                        "source",
                        self.policy_file.as_ref().map(|p| format!("file:{}", p.display())),
                    )?;
                    d.set_item("last_error", py.None())?;
                    d.set_item("sync_running", false)?;
                }
            }
            match self.engine.load_full() {
                None => {
                    d.set_item("closed", true)?;
                    d.set_item("snapshot_version", py.None())?;
                    d.set_item("agents", Vec::<String>::new())?;
                    d.set_item("audit_written", 0)?;
                    d.set_item("audit_errors", 0)?;
                    d.set_item("audit_last_error", py.None())?;
                }
                Some(engine) => {
                    let snap = engine.snapshot();
                    let (written, sink_errors, last_error) = engine.audit_status();
                    d.set_item("closed", false)?;
                    d.set_item("snapshot_version", snap.version)?;
                    d.set_item("agents", snap.agent_ids())?;
                    d.set_item("audit_written", written)?;
                    d.set_item("audit_errors", sink_errors)?;
                    d.set_item("audit_last_error", last_error)?;
                }
            }
            Ok(d)
        })
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
        let sync = self.sync.get_mut().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(mut h) = sync {
            Python::attach(|py| py.detach(move || h.stop()));
        }
        if let Some(engine) = self.engine.swap(None) {
            // Joining the audit thread may wait for the GIL it needs for a Python callback.
            Python::attach(|py| py.detach(move || drop(engine)));
        }
    }
}
