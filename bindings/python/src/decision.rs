//! `Decision`, `ApprovalRequest` and `TraceStep`: frozen views of the core's results.
//!
//! A `Decision` wraps the core value as is and converts a field only when it
//! is read, so `validate` pays for one small object, not eleven attributes.

use act_core::{ApprovalRequest, Decision, TraceStep};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The answer to one request. `bool(decision)` is `decision.allowed`.
#[pyclass(frozen, eq, module = "act_sdk", name = "Decision")]
#[derive(PartialEq)]
pub struct PyDecision {
    pub(crate) inner: Decision,
}

#[pymethods]
impl PyDecision {
    /// True only when the outcome is `"allow"`.
    #[getter]
    fn allowed(&self) -> bool {
        self.inner.allowed()
    }
    /// `"allow"`, `"deny"` or `"approval_required"`.
    #[getter]
    fn outcome(&self) -> &'static str {
        self.inner.outcome.as_str()
    }
    /// The stable machine code, e.g. `"constraint_failed"`.
    #[getter]
    fn reason(&self) -> &'static str {
        self.inner.reason.as_str()
    }
    /// One human sentence naming what decided.
    #[getter]
    fn message(&self) -> &str {
        &self.inner.message
    }
    /// The grant that decided, e.g. `"customer-support-bot"`.
    #[getter]
    fn rule(&self) -> Option<&str> {
        self.inner.rule.as_deref()
    }
    /// The constraint that decided, e.g. `"customer-support-bot/process_refund/maxAmount"`.
    #[getter]
    fn constraint(&self) -> Option<&str> {
        self.inner.constraint.as_deref()
    }
    /// The audit record's id (`""` for `check` and `explain`).
    #[getter]
    fn audit_id(&self) -> &str {
        &self.inner.audit_id
    }
    /// The policy snapshot version that decided.
    #[getter]
    fn snapshot_version(&self) -> u64 {
        self.inner.snapshot_version
    }
    /// The agent named by the token, when it could be read.
    #[getter]
    fn agent(&self) -> Option<&str> {
        self.inner.agent.as_deref()
    }
    /// The user the agent acts for, when the token could be read.
    #[getter]
    fn subject(&self) -> Option<&str> {
        self.inner.subject.as_deref()
    }
    /// What a human must approve, when the outcome is `"approval_required"`.
    #[getter]
    fn approval_request(&self) -> Option<PyApprovalRequest> {
        self.inner
            .approval_request
            .clone()
            .map(|inner| PyApprovalRequest { inner })
    }
    /// Every rule and constraint looked at (only from `explain`).
    #[getter]
    fn trace(&self) -> Option<Vec<PyTraceStep>> {
        self.inner
            .trace
            .as_ref()
            .map(|t| t.iter().cloned().map(|inner| PyTraceStep { inner }).collect())
    }

    /// The decision as a plain dict (JSON-ready).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let value = serde_json::to_value(&self.inner)
            .map_err(|e| crate::errors::internal(py, format!("a decision did not serialize: {e}")))?;
        crate::convert::to_py(py, &value)
    }

    fn __bool__(&self) -> bool {
        self.inner.allowed()
    }

    fn __repr__(&self) -> String {
        let d = &self.inner;
        let mut s = format!(
            "Decision(outcome='{}', reason='{}'",
            d.outcome.as_str(),
            d.reason.as_str()
        );
        if let Some(r) = &d.rule {
            s.push_str(&format!(", rule='{r}'"));
        }
        if let Some(c) = &d.constraint {
            s.push_str(&format!(", constraint='{c}'"));
        }
        s.push_str(&format!(", message={:?})", d.message));
        s
    }
}

/// What a human is asked to approve; pass it (or its `id`) to `ACT.approve`.
#[pyclass(frozen, eq, module = "act_sdk", name = "ApprovalRequest")]
#[derive(PartialEq)]
pub struct PyApprovalRequest {
    pub(crate) inner: ApprovalRequest,
}

#[pymethods]
impl PyApprovalRequest {
    /// The binding id of (token, action, resource, context).
    #[getter]
    fn id(&self) -> &str {
        &self.inner.id
    }
    /// The agent asking.
    #[getter]
    fn agent(&self) -> &str {
        &self.inner.agent
    }
    /// The user it acts for.
    #[getter]
    fn subject(&self) -> &str {
        &self.inner.subject
    }
    /// The action.
    #[getter]
    fn action(&self) -> &str {
        &self.inner.action
    }
    /// The resource.
    #[getter]
    fn resource(&self) -> &str {
        &self.inner.resource
    }
    /// The constraint that asked, e.g. `"customer-support-bot/process_refund/requireSecondApproval"`.
    #[getter]
    fn constraint(&self) -> &str {
        &self.inner.constraint
    }
    /// The condition as written, e.g. `"amount > 100"`.
    #[getter]
    fn condition(&self) -> &str {
        &self.inner.condition
    }
    /// `jti` of the token presented.
    #[getter]
    fn token_id(&self) -> &str {
        &self.inner.token_id
    }
    /// SHA-256 of the canonical context.
    #[getter]
    fn context_hash(&self) -> &str {
        &self.inner.context_hash
    }

    /// The request as a plain dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let r = &self.inner;
        let d = PyDict::new(py);
        for (k, v) in [
            ("id", &r.id),
            ("agent", &r.agent),
            ("subject", &r.subject),
            ("action", &r.action),
            ("resource", &r.resource),
            ("constraint", &r.constraint),
            ("condition", &r.condition),
            ("token_id", &r.token_id),
            ("context_hash", &r.context_hash),
        ] {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let r = &self.inner;
        format!(
            "ApprovalRequest(id='{}', agent='{}', action='{}', resource='{}', condition={:?})",
            r.id, r.agent, r.action, r.resource, r.condition
        )
    }
}

/// One step of an explanation.
#[pyclass(frozen, eq, module = "act_sdk", name = "TraceStep")]
#[derive(PartialEq)]
pub struct PyTraceStep {
    inner: TraceStep,
}

#[pymethods]
impl PyTraceStep {
    /// `token`, `revocation`, `grant`, `constraint`, `limit`, `approval`, `decision`, ...
    #[getter]
    fn stage(&self) -> &str {
        &self.inner.stage
    }
    /// What was checked and what came out.
    #[getter]
    fn detail(&self) -> &str {
        &self.inner.detail
    }
    fn __repr__(&self) -> String {
        format!(
            "TraceStep(stage='{}', detail={:?})",
            self.inner.stage, self.inner.detail
        )
    }
}
