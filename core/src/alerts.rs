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
//! - `kill_switch_changed`: the snapshot swapped in (a sync or a reload) has other kill switches
//!   on than the one it replaced. `reason` is `kill_switch`, `message` says what turned on and
//!   off, `resource` is `kill_switch:all`, `kill_switch:agent:<id>`... for each switch now on.

use crate::audit::Pending;
use crate::decision::Outcome;
use crate::engine::Request;
use crate::policy::{BreakerScope, BreakerSettings};
use crate::reason::Reason;

static EMPTY: std::sync::LazyLock<serde_json::Map<String, serde_json::Value>> =
    std::sync::LazyLock::new(serde_json::Map::new);

/// The `event` of a breaker-opened alert.
pub const BREAKER_OPENED: &str = "breaker_opened";

/// The `event` of a kill-switch alert.
pub const KILL_SWITCH_CHANGED: &str = "kill_switch_changed";

type Kills = (bool, Vec<String>, Vec<String>);

/// The alert for kill switches going from `before` to `after`, if they differ.
pub(crate) fn kill_switch_changed(before: &Kills, after: &Kills) -> Option<Alert> {
    if before == after {
        return None;
    }
    let mut changes = Vec::new();
    if before.0 != after.0 {
        changes.push(format!("global {}", if after.0 { "on" } else { "off" }));
    }
    for (what, b, a) in [("agent", &before.1, &after.1), ("action", &before.2, &after.2)] {
        for on in a.iter().filter(|x| !b.contains(x)) {
            changes.push(format!("{what} `{on}` on"));
        }
        for off in b.iter().filter(|x| !a.contains(x)) {
            changes.push(format!("{what} `{off}` off"));
        }
    }
    let mut now_on: Vec<String> = Vec::new();
    if after.0 {
        now_on.push("kill_switch:all".into());
    }
    now_on.extend(after.1.iter().map(|a| format!("kill_switch:agent:{a}")));
    now_on.extend(after.2.iter().map(|a| format!("kill_switch:action:{a}")));
    Some(Alert {
        event: KILL_SWITCH_CHANGED,
        message: format!("kill switches changed: {}", changes.join(", ")),
        agent_wide: false,
        reason: Reason::KillSwitch,
        resource: now_on.join(" "),
    })
}

/// An alert waiting to be written.
pub(crate) struct Alert {
    event: &'static str,
    message: String,
    /// An agent-wide breaker: the record's subject is `*`.
    agent_wide: bool,
    reason: Reason,
    /// For alerts without a request: what the record's `resource` names.
    resource: String,
}

/// The alert for `agent`'s breaker opening for `subject`.
pub(crate) fn breaker_opened(agent: &str, subject: &str, b: &BreakerSettings) -> Alert {
    let agent_wide = b.scope != BreakerScope::Subject;
    let subject = if agent_wide { "every user" } else { subject };
    Alert {
        agent_wide,
        reason: Reason::CircuitOpen,
        resource: String::new(),
        event: BREAKER_OPENED,
        message: format!(
            "circuit breaker of agent `{agent}` opened for `{subject}` after {} denial(s) within {} s: its requests are \
             denied `circuit_open` for {} s",
            b.max_denials, b.window_secs, b.cool_down_secs
        ),
    }
}

impl Alert {
    /// Fills the record buffer with an alert that no request caused (no agent, user or action).
    pub(crate) fn fill_plain(&self, p: &mut Pending, prefix: &str, seq: u64, now_ms: i64, snapshot_version: u64) {
        let req = Request {
            token: "",
            action: "",
            resource: &self.resource,
            context: &EMPTY,
            approval: None,
        };
        self.fill(p, prefix, seq, now_ms, None, None, &req, snapshot_version);
    }

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
        p.reason = self.reason;
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
