//! `Decision`: the core's decision as a JS class whose getters convert one field when it is read.
//!
//! `validate` is the hot path. Through Node-API every created string and set property is a
//! call of its own, so building a whole object per decision costs more than the decision
//! itself; a class instance holds the core value and a caller pays only for what it reads
//! (most read `allowed` or `outcome`). `node/index.js` adds `toJSON` and `inspect` on the
//! prototype, so the decision prints and serialises as the plain object it describes.

use act_core::approval::ApprovalCondition;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde_json::{Map, Value};

/// One decision (`validate`, `check`, `explain`); read-only.
#[napi]
pub struct Decision {
    pub(crate) inner: act_core::Decision,
}

/// What a human is asked to approve (`approvalRequest`).
#[napi(object, object_from_js = false)]
pub struct ApprovalRequest {
    pub id: String,
    pub agent: String,
    pub subject: String,
    pub action: String,
    pub resource: String,
    pub constraint: String,
    pub condition: String,
    pub token_id: String,
    pub context_hash: String,
    /// The argument values the approver sees (after redaction); `contextHash` is over them.
    pub context: Map<String, Value>,
    /// Every approval rule that fired, the first (`constraint`, `condition`) included.
    pub conditions: Vec<Condition>,
    /// The agents of the token's delegation chain, root first.
    pub chain: Vec<String>,
}

/// One approval rule that fired.
#[napi(object, object_from_js = false)]
pub struct Condition {
    pub constraint: String,
    pub condition: String,
}

/// What the agent's shadow policy would have decided (never enforced).
#[napi(object, object_from_js = false)]
pub struct Shadow {
    pub outcome: &'static str,
    pub reason: &'static str,
    pub rule: Option<String>,
    pub message: String,
    pub constraint: Option<String>,
}

/// One step of `explain`.
#[napi(object, object_from_js = false)]
pub struct TraceStep {
    pub stage: String,
    pub detail: String,
}

#[napi]
impl Decision {
    #[napi(getter)]
    pub fn outcome(&self) -> &'static str {
        self.inner.outcome.as_str()
    }

    #[napi(getter)]
    pub fn allowed(&self) -> bool {
        self.inner.allowed()
    }

    #[napi(getter)]
    pub fn reason(&self) -> &'static str {
        self.inner.reason.as_str()
    }

    #[napi(getter)]
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    #[napi(getter)]
    pub fn rule(&self) -> Option<&str> {
        self.inner.rule.as_deref()
    }

    #[napi(getter)]
    pub fn constraint(&self) -> Option<&str> {
        self.inner.constraint.as_deref()
    }

    #[napi(getter)]
    pub fn audit_id(&self) -> &str {
        &self.inner.audit_id
    }

    #[napi(getter)]
    pub fn snapshot_version(&self) -> f64 {
        self.inner.snapshot_version as f64
    }

    #[napi(getter)]
    pub fn agent(&self) -> Option<&str> {
        self.inner.agent.as_deref()
    }

    #[napi(getter)]
    pub fn subject(&self) -> Option<&str> {
        self.inner.subject.as_deref()
    }

    /// A new object at each read (a getter cannot hand out the core's own).
    #[napi(getter)]
    pub fn approval_request(&self) -> Option<ApprovalRequest> {
        let r = self.inner.approval_request.as_ref()?;
        let condition = |c: &ApprovalCondition| Condition {
            constraint: c.constraint.clone(),
            condition: c.condition.clone(),
        };
        Some(ApprovalRequest {
            id: r.id.clone(),
            agent: r.agent.clone(),
            subject: r.subject.clone(),
            action: r.action.clone(),
            resource: r.resource.clone(),
            constraint: r.constraint.clone(),
            condition: r.condition.clone(),
            token_id: r.token_id.clone(),
            context_hash: r.context_hash.clone(),
            context: r.context.clone(),
            conditions: r.conditions.iter().map(condition).collect(),
            chain: r.chain.clone(),
        })
    }

    #[napi(getter)]
    pub fn shadow(&self) -> Option<Shadow> {
        self.inner.shadow.as_ref().map(|s| Shadow {
            outcome: s.outcome.as_str(),
            reason: s.reason.as_str(),
            rule: s.rule.clone(),
            message: s.message.clone(),
            constraint: s.constraint.clone(),
        })
    }

    /// Only `explain` has one; `undefined` otherwise.
    #[napi(getter)]
    pub fn trace(&self) -> Either<Vec<TraceStep>, Undefined> {
        match &self.inner.trace {
            Some(steps) => Either::A(
                steps
                    .iter()
                    .map(|s| TraceStep {
                        stage: s.stage.clone(),
                        detail: s.detail.clone(),
                    })
                    .collect(),
            ),
            None => Either::B(()),
        }
    }
}
