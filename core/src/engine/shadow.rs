//! Shadow decisions: the agent's shadow policy (or shadow rules) evaluated beside the enforced
//! decision, as a dry run — no counters, approvals, breaker or audit record of its own — so
//! the enforced decision and the audit record can say what the shadow would have decided.

use super::{Engine, Mode, Verdict, Who};
use crate::decision::{Outcome, ShadowOutcome};
use crate::engine::request::Request;
use crate::reason::Reason;
use crate::snapshot::Snapshot;

impl Engine {
    /// What the root agent's shadow would decide on `req`, when it has one.
    pub(super) fn shadow_outcome(
        &self,
        req: &Request<'_>,
        snap: &Snapshot,
        now_ms: i64,
        who: &Who,
    ) -> Option<ShadowOutcome> {
        let view = snap.shadow()?;
        let agent = who.root_agent.as_deref().or(who.agent.as_deref())?;
        if !view.covers(agent) {
            return None;
        }
        let mut shadow_who = Who::default();
        let result = self.evaluate(req, &view.snapshot, now_ms, Mode::DryRun, &mut None, &mut shadow_who);
        Some(match result {
            Ok(Verdict::Allow { reason, rule, message }) => ShadowOutcome {
                outcome: Outcome::Allow,
                reason,
                message,
                rule: Some(rule.to_string()),
                constraint: None,
            },
            Ok(Verdict::Approval {
                rule,
                constraint,
                message,
                ..
            }) => ShadowOutcome {
                outcome: Outcome::ApprovalRequired,
                reason: Reason::ApprovalRequired,
                message,
                rule: Some(rule.to_string()),
                constraint: Some(constraint.to_string()),
            },
            Err(d) => ShadowOutcome {
                outcome: Outcome::Deny,
                reason: d.reason,
                message: d.message,
                rule: d.rule.map(|r| r.to_string()),
                constraint: d.constraint.map(|c| c.to_string()),
            },
        })
    }
}
