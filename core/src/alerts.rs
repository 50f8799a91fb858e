//! Alert records: events an operator wants to hear about as they happen, written to the audit
//! targets beside decisions (and forwarded by the server to its webhooks under the same name).
//!
//! An alert is an [`AuditRecord`](crate::audit::AuditRecord) whose `event` field is set; it is
//! chained and hashed like a decision, so it cannot be dropped from a log unnoticed.
//!
//! - `breaker_opened`: a circuit breaker opened (written once per opening, right after the
//!   denial that opened it, by the process that recorded that denial). Its `agent` and `subject`
//!   are the breaker's (the subject is `*` for `scope: agent`), `reason` is `circuit_open`, and
//!   `action`/`resource` are those of the denial that opened it.

use crate::audit::Pending;
use crate::decision::Outcome;
use crate::engine::Request;
use crate::policy::{BreakerScope, BreakerSettings};
use crate::reason::Reason;

/// The `event` of a breaker-opened alert.
pub const BREAKER_OPENED: &str = "breaker_opened";

/// An alert waiting to be written.
pub(crate) struct Alert {
    event: &'static str,
    message: String,
    /// An agent-wide breaker: the record's subject is `*`.
    agent_wide: bool,
}

/// The alert for `agent`'s breaker opening for `subject`.
pub(crate) fn breaker_opened(agent: &str, subject: &str, b: &BreakerSettings) -> Alert {
    let agent_wide = b.scope != BreakerScope::Subject;
    let subject = if agent_wide { "every user" } else { subject };
    Alert {
        agent_wide,
        event: BREAKER_OPENED,
        message: format!(
            "circuit breaker of agent `{agent}` opened for `{subject}` after {} denial(s) within {} s: its requests are \
             denied `circuit_open` for {} s",
            b.max_denials, b.window_secs, b.cool_down_secs
        ),
    }
}

impl Alert {
    /// Fills the audit pipeline's reused record buffer with this alert.
    #[allow(clippy::too_many_arguments, reason = "the fields of one record, filled in one place")]
    pub(crate) fn fill(
        &self,
        p: &mut Pending,
        prefix: &str,
        seq: u64,
        now_ms: i64,
        agent: Option<&str>,
        subject: Option<&str>,
        req: &Request<'_>,
        snapshot_version: u64,
    ) {
        if p.id_prefix.as_str() != prefix {
            p.id_prefix.clear();
            p.id_prefix.push_str(prefix);
        }
        p.seq = seq;
        p.time_ms = now_ms;
        p.outcome = Outcome::Deny;
        p.reason = Reason::CircuitOpen;
        p.message.clone_from(&self.message);
        crate::audit::set_text(&mut p.agent, agent);
        crate::audit::set_text(&mut p.subject, if self.agent_wide { Some("*") } else { subject });
        p.jti = None;
        p.action.clear();
        p.action.push_str(req.action);
        p.resource.clear();
        p.resource.push_str(req.resource);
        p.context_json.clear();
        p.context_json.extend_from_slice(b"{}");
        p.redact = None;
        p.rule = None;
        p.constraint = None;
        p.snapshot_version = snapshot_version;
        p.latency_us = 0;
        p.shadow = None;
        p.event = Some(self.event);
    }
}
