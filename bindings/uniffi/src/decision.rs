//! `Decision`, `Outcome`, `ApprovalRequest`, `ShadowOutcome` and `TraceStep`: the core's results as plain records.

use crate::value::{from_json, to_map, Context};

/// The three outcomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum Outcome {
    /// Go ahead.
    Allow,
    /// Do not.
    Deny,
    /// Ask a human first; `Decision.approval_request` says what to approve.
    ApprovalRequired,
}

impl From<act_core::Outcome> for Outcome {
    fn from(o: act_core::Outcome) -> Self {
        match o {
            act_core::Outcome::Allow => Outcome::Allow,
            act_core::Outcome::Deny => Outcome::Deny,
            act_core::Outcome::ApprovalRequired => Outcome::ApprovalRequired,
        }
    }
}

/// The stable code of an outcome: `"allow"`, `"deny"` or `"approval_required"`.
#[uniffi::export]
pub fn outcome_code(outcome: Outcome) -> String {
    match outcome {
        Outcome::Allow => act_core::Outcome::Allow,
        Outcome::Deny => act_core::Outcome::Deny,
        Outcome::ApprovalRequired => act_core::Outcome::ApprovalRequired,
    }
    .as_str()
    .to_string()
}

/// One approval rule that fired on a request.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ApprovalCondition {
    /// The constraint id, e.g. `support-bot/process_refund/requireApproval`.
    pub constraint: String,
    /// The condition as written, e.g. `amount > 100`.
    pub condition: String,
}

/// What a human is asked to approve; pass its `id` to `Act.approve`.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct ApprovalRequest {
    /// The binding id of (token, action, resource, context).
    pub id: String,
    /// The agent asking.
    pub agent: String,
    /// The user it acts for.
    pub subject: String,
    /// The action.
    pub action: String,
    /// The resource.
    pub resource: String,
    /// The (first) constraint that asked, e.g. `customer-support-bot/process_refund/requireSecondApproval`.
    pub constraint: String,
    /// The condition as written, e.g. `amount > 100`.
    pub condition: String,
    /// `jti` of the token presented.
    pub token_id: String,
    /// SHA-256 of the canonical `context` (base64url).
    pub context_hash: String,
    /// The argument values the approver sees, after the policy's redaction; `context_hash` is over them.
    pub context: Context,
    /// Every approval rule that fired, in policy order; the first is `constraint`/`condition`.
    pub conditions: Vec<ApprovalCondition>,
    /// The agents of the token's delegation chain, root first.
    pub chain: Vec<String>,
}

impl ApprovalRequest {
    /// The core's request (for `request_approval`); a context JSON cannot hold is refused.
    pub(crate) fn to_core(&self) -> crate::error::Result<act_core::ApprovalRequest> {
        let r = self.clone();
        Ok(act_core::ApprovalRequest {
            context: to_map(&r.context, "context")?,
            conditions: r
                .conditions
                .into_iter()
                .map(|c| act_core::approval::ApprovalCondition {
                    constraint: c.constraint,
                    condition: c.condition,
                })
                .collect(),
            chain: r.chain,
            id: r.id,
            agent: r.agent,
            subject: r.subject,
            action: r.action,
            resource: r.resource,
            constraint: r.constraint,
            condition: r.condition,
            token_id: r.token_id,
            context_hash: r.context_hash,
        })
    }
}

impl From<act_core::ApprovalRequest> for ApprovalRequest {
    fn from(r: act_core::ApprovalRequest) -> Self {
        ApprovalRequest {
            id: r.id,
            agent: r.agent,
            subject: r.subject,
            action: r.action,
            resource: r.resource,
            constraint: r.constraint,
            condition: r.condition,
            token_id: r.token_id,
            context_hash: r.context_hash,
            context: r.context.into_iter().map(|(k, v)| (k, from_json(v))).collect(),
            conditions: r
                .conditions
                .into_iter()
                .map(|c| ApprovalCondition {
                    constraint: c.constraint,
                    condition: c.condition,
                })
                .collect(),
            chain: r.chain,
        }
    }
}

/// What the agent's shadow policy would have decided (see docs/policy.md, "shadow").
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ShadowOutcome {
    /// Allow, deny or approval required.
    pub outcome: Outcome,
    /// The stable machine code.
    pub reason: String,
    /// The grant that would have decided.
    pub rule: Option<String>,
    /// The sentence the shadow decision would have given.
    pub message: String,
}

/// One step of an explanation.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct TraceStep {
    /// `token`, `revocation`, `grant`, `constraint`, `limit`, `approval`, `decision`, ...
    pub stage: String,
    /// What was checked and what came out.
    pub detail: String,
}

/// The answer to one request.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Decision {
    /// True only when the outcome is `Allow`.
    pub allowed: bool,
    /// Allow, deny or approval required.
    pub outcome: Outcome,
    /// The stable machine code, e.g. `constraint_failed`, `rate_limited`.
    pub reason: String,
    /// One human sentence naming what decided.
    pub message: String,
    /// The grant that decided, e.g. `customer-support-bot`.
    pub rule: Option<String>,
    /// The constraint that decided, e.g. `customer-support-bot/process_refund/maxAmount`.
    pub constraint: Option<String>,
    /// The audit record's id (empty for `check` and `explain`).
    pub audit_id: String,
    /// The policy snapshot version that decided.
    pub snapshot_version: u64,
    /// The agent named by the token, when it could be read.
    pub agent: Option<String>,
    /// The user the agent acts for, when the token could be read.
    pub subject: Option<String>,
    /// What a human must approve, when the outcome is approval required.
    pub approval_request: Option<ApprovalRequest>,
    /// Every rule and constraint looked at (only from `explain`).
    pub trace: Option<Vec<TraceStep>>,
    /// What the agent's shadow policy would have decided, when it has one.
    pub shadow: Option<ShadowOutcome>,
}

impl From<act_core::Decision> for Decision {
    fn from(d: act_core::Decision) -> Self {
        Decision {
            allowed: d.allowed(),
            outcome: d.outcome.into(),
            reason: d.reason.as_str().to_string(),
            message: d.message,
            rule: d.rule.as_deref().map(str::to_string),
            constraint: d.constraint.as_deref().map(str::to_string),
            audit_id: d.audit_id,
            snapshot_version: d.snapshot_version,
            agent: d.agent.as_deref().map(str::to_string),
            subject: d.subject.as_deref().map(str::to_string),
            approval_request: d.approval_request.map(Into::into),
            trace: d.trace.map(|t| {
                t.into_iter()
                    .map(|s| TraceStep {
                        stage: s.stage,
                        detail: s.detail,
                    })
                    .collect()
            }),
            shadow: d.shadow.map(|s| ShadowOutcome {
                outcome: s.outcome.into(),
                reason: s.reason.as_str().to_string(),
                rule: s.rule,
                message: s.message,
            }),
        }
    }
}
