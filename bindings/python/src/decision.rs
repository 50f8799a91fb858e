//! `Decision`, `ApprovalRequest`, `ShadowOutcome`, `ApprovalCondition` and `TraceStep`: frozen
//! views of the core's results.
//!
//! A `Decision` wraps the core value as is and converts a field only when it
//! is read, so `validate` pays for one small object, not eleven attributes.

use crate::convert::to_py;
use act_core::{ApprovalRequest, Decision, TraceStep};
use pyo3::prelude::*;

/// A core value's serde form (the same keys as its JSON) as a plain dict.
fn to_dict<'py>(py: Python<'py>, value: serde_json::Result<serde_json::Value>) -> PyResult<Bound<'py, PyAny>> {
    let value = value.map_err(|e| crate::errors::internal(py, format!("a result did not serialize: {e}")))?;
    to_py(py, &value)
}

/// What the agent's shadow policy would have decided (`Decision.shadow`).
#[pyclass(frozen, get_all, module = "act_sdk", name = "ShadowOutcome")]
pub struct PyShadowOutcome {
    outcome: &'static str,
    reason: &'static str,
    rule: Option<String>,
    constraint: Option<String>,
    message: String,
}

#[pymethods]
impl PyShadowOutcome {
    fn __repr__(&self) -> String {
        format!("ShadowOutcome(outcome='{}', reason='{}')", self.outcome, self.reason)
    }
}

/// One approval rule that fired on a request (`ApprovalRequest.conditions`).
#[pyclass(frozen, get_all, module = "act_sdk", name = "ApprovalCondition")]
pub struct PyApprovalCondition {
    constraint: String,
    condition: String,
}

#[pymethods]
impl PyApprovalCondition {
    fn __repr__(&self) -> String {
        format!(
            "ApprovalCondition(constraint={:?}, condition={:?})",
            self.constraint, self.condition
        )
    }
}

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
    /// What the agent's shadow policy would have decided, or None when it has none.
    #[getter]
    fn shadow(&self) -> Option<PyShadowOutcome> {
        self.inner.shadow.as_ref().map(|s| PyShadowOutcome {
            outcome: s.outcome.as_str(),
            reason: s.reason.as_str(),
            rule: s.rule.clone(),
            constraint: s.constraint.clone(),
            message: s.message.clone(),
        })
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
        to_dict(py, serde_json::to_value(&self.inner))
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
    /// SHA-256 of the canonical `context` (base64url).
    #[getter]
    fn context_hash(&self) -> &str {
        &self.inner.context_hash
    }
    /// The argument values the approver sees (after the policy's redaction), as a dict.
    #[getter]
    fn context<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &serde_json::Value::Object(self.inner.context.clone()))
    }
    /// Every approval rule that fired, in policy order; the first is `constraint`/`condition`.
    #[getter]
    fn conditions(&self) -> Vec<PyApprovalCondition> {
        let c = &self.inner.conditions;
        c.iter()
            .map(|c| PyApprovalCondition {
                constraint: c.constraint.clone(),
                condition: c.condition.clone(),
            })
            .collect()
    }
    /// The agents of the token's delegation chain, root first.
    #[getter]
    fn chain(&self) -> Vec<String> {
        self.inner.chain.clone()
    }

    /// The request as a plain dict (JSON-ready, every field above).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_dict(py, serde_json::to_value(&self.inner))
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
