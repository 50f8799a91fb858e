//! What `validate` returns.

use crate::approval::ApprovalRequest;
use crate::reason::Reason;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The three outcomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Go ahead.
    Allow,
    /// Do not.
    Deny,
    /// Ask a human first; `approval_request` says what to approve.
    ApprovalRequired,
}

impl Outcome {
    /// `"allow"`, `"deny"` or `"approval_required"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::Deny => "deny",
            Outcome::ApprovalRequired => "approval_required",
        }
    }
}

/// One step of an explanation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceStep {
    /// The stage: `token`, `revocation`, `grant`, `constraint`, `limit`, `approval`, ...
    pub stage: String,
    /// What was checked and what came out.
    pub detail: String,
}

/// What a shadow policy (or shadow rule) would have decided: evaluated and audited, never enforced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShadowOutcome {
    /// allow, deny or approval_required.
    pub outcome: Outcome,
    /// Stable machine code.
    pub reason: Reason,
    /// The sentence the shadow decision would have given.
    pub message: String,
    /// The grant that would have decided.
    #[serde(default)]
    pub rule: Option<String>,
    /// The constraint that would have decided.
    #[serde(default)]
    pub constraint: Option<String>,
}

/// A decision about one request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// allow, deny or approval_required.
    pub outcome: Outcome,
    /// Stable machine code.
    pub reason: Reason,
    /// One human sentence naming what decided.
    pub message: String,
    /// The grant that decided, e.g. `customer-support-bot`.
    pub rule: Option<Arc<str>>,
    /// The constraint that decided, e.g. `customer-support-bot/process_refund/maxAmount`.
    pub constraint: Option<Arc<str>>,
    /// Id of the audit record (empty for dry runs).
    pub audit_id: String,
    /// The snapshot version used (0 when there was none).
    pub snapshot_version: u64,
    /// The agent named by the token, when it could be read.
    pub agent: Option<Arc<str>>,
    /// The subject named by the token, when it could be read.
    pub subject: Option<Arc<str>>,
    /// What to approve, when the outcome is `approval_required`.
    pub approval_request: Option<ApprovalRequest>,
    /// The explanation, when asked for.
    pub trace: Option<Vec<TraceStep>>,
    /// What the agent's shadow policy would have decided, when it has one (see docs/policy.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow: Option<ShadowOutcome>,
}

impl Decision {
    /// True when a shadow policy was evaluated and would have decided otherwise (outcome or reason).
    pub fn shadow_disagrees(&self) -> bool {
        self.shadow
            .as_ref()
            .is_some_and(|s| s.outcome != self.outcome || s.reason != self.reason)
    }
}

impl Decision {
    /// True only for [`Outcome::Allow`].
    pub fn allowed(&self) -> bool {
        self.outcome == Outcome::Allow
    }
}
