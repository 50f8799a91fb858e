//! Replaying recorded decisions against a candidate policy set: what would a policy change have
//! done to last week's traffic?
//!
//! Each audit record is decided again, in time order, by an engine holding the candidate policies,
//! on a clock set to the record's own time, so rolling-window limits and circuit breakers see the
//! same sequence they saw live. The engine enforces (an allow consumes its limit slot) but writes
//! no audit. What a record does not hold is never guessed:
//!
//! - a record whose context holds a redacted value (`[redacted:...]`) cannot be replayed: the value
//!   the policy would test is gone;
//! - a decision about the token itself (malformed, expired, bad signature, delegation), or one with
//!   no agent or subject, is not a policy decision and is skipped;
//! - the token is re-minted for the record's agent and subject with `user_id` as its only user
//!   context: a candidate that needs more of the user's or agent's context (`{{user.region}}`) denies
//!   `template_unresolved`, reported as "cannot replay";
//! - a decision that was allowed with a human's approval (`approved`) counts as `approval_required`
//!   (what the policy said); the approval itself cannot be replayed, so its limit slot is not taken.

use crate::audit::{AuditRecord, REDACTED};
use crate::clock::ManualClock;
use crate::decision::Outcome;
use crate::engine::{Engine, IssueRequest, Request};
use crate::keys::SigningKey;
use crate::policy::PolicySet;
use crate::reason::Reason;
use crate::{Error, Result};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Lifetime of a re-minted token; one is reused for its agent and subject until near expiry.
const TOKEN_TTL_SECS: u64 = 3600;

/// One recorded decision and how the candidate decides it.
#[derive(Clone, Debug, Serialize)]
pub struct Replayed {
    /// The record's id.
    pub id: String,
    /// The record's time (RFC 3339).
    pub time: String,
    /// Agent.
    pub agent: String,
    /// Subject.
    pub subject: String,
    /// Action.
    pub action: String,
    /// Resource.
    pub resource: String,
    /// The recorded decision.
    pub old: Verdict,
    /// The candidate's decision.
    pub new: Verdict,
}

/// An outcome with its reason and deciding rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// `allow`, `deny` or `approval_required`.
    pub outcome: Outcome,
    /// The reason code.
    pub reason: Reason,
    /// The deciding grant.
    pub rule: Option<String>,
    /// The human sentence (the candidate's; the record's for the old one).
    pub message: String,
}

/// A record that was not replayed, and why.
#[derive(Clone, Debug, Serialize)]
pub struct NotReplayed {
    /// The record's id.
    pub id: String,
    /// One sentence.
    pub why: String,
}

/// Everything a replay found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ReplayReport {
    /// Records decided again.
    pub replayed: usize,
    /// Decisions whose outcome or reason changed, in time order.
    pub changed: Vec<Replayed>,
    /// Records that could not be replayed (redacted values, context the record lacks).
    pub cannot_replay: Vec<NotReplayed>,
    /// Records skipped as not policy decisions (token errors, no agent).
    pub skipped: Vec<NotReplayed>,
    /// Changes per rule (the candidate's deciding rule, else the recorded one, else `-`), then
    /// per `old -> new` outcome.
    pub by_rule: BTreeMap<String, BTreeMap<String, usize>>,
}

impl Replayed {
    /// `old -> new`, e.g. `deny -> allow`.
    pub fn change(&self) -> String {
        format!("{} -> {}", self.old.outcome.as_str(), self.new.outcome.as_str())
    }
}

/// Replays `records` (sorted here by time, then by their order) against `policies`.
pub fn replay(records: Vec<AuditRecord>, policies: PolicySet) -> Result<ReplayReport> {
    let mut timed = Vec::with_capacity(records.len());
    for r in records {
        let ms = chrono::DateTime::parse_from_rfc3339(&r.time)
            .map_err(|e| {
                Error::Config(format!(
                    "audit record `{}`: time `{}` is not RFC 3339: {e}",
                    r.id, r.time
                ))
            })?
            .timestamp_millis();
        timed.push((ms, r));
    }
    timed.sort_by_key(|(ms, _)| *ms);
    let clock = Arc::new(ManualClock::new(timed.first().map_or(0, |(ms, _)| *ms)));
    let engine = Engine::builder()
        .signing_key(SigningKey::generate()?)
        .policies(policies)
        .clock(clock.clone())
        .build()?;
    let mut tokens: HashMap<(String, String), (i64, String)> = HashMap::new();
    let mut report = ReplayReport::default();
    for (ms, r) in timed {
        let (Some(agent), Some(subject)) = (r.agent.clone(), r.subject.clone()) else {
            report.skipped.push(NotReplayed {
                id: r.id,
                why: "no agent or subject: the token could not be read".into(),
            });
            continue;
        };
        if !is_policy_decision(r.reason) {
            report.skipped.push(NotReplayed {
                id: r.id,
                why: format!("`{}` is about the token or the request, not the policy", r.reason),
            });
            continue;
        }
        let Value::Object(context) = &r.context else {
            report.cannot_replay.push(NotReplayed {
                id: r.id,
                why: "the recorded context is not an object".into(),
            });
            continue;
        };
        if let Some(field) = redacted_field(context, "") {
            report.cannot_replay.push(NotReplayed {
                id: r.id,
                why: format!("`{field}` was redacted in the record; its value cannot be replayed"),
            });
            continue;
        }
        clock.set_ms(ms);
        let key = (agent.clone(), subject.clone());
        let token = match tokens.get(&key) {
            Some((at, t)) if *at <= ms && ms < at + (TOKEN_TTL_SECS as i64 - 60) * 1000 => t.clone(),
            _ => match engine.issue_token(&IssueRequest {
                agent: agent.clone(),
                user_context: Map::from_iter([("user_id".to_string(), Value::String(subject.clone()))]),
                agent_context: Map::new(),
                policy: None,
                ttl_secs: TOKEN_TTL_SECS,
                holder_key: None,
            }) {
                Ok(t) => {
                    tokens.insert(key, (ms, t.clone()));
                    t
                }
                Err(e) => {
                    // The candidate has no policy for this agent: every request of it is denied.
                    let d = Verdict {
                        outcome: Outcome::Deny,
                        reason: Reason::UnknownAgent,
                        rule: None,
                        message: e.to_string(),
                    };
                    report.record(&r, agent, subject, d);
                    continue;
                }
            },
        };
        let d = engine.validate(&Request {
            token: &token,
            action: &r.action,
            resource: &r.resource,
            context,
            approval: None,
        });
        if d.reason == Reason::TemplateUnresolved {
            report.cannot_replay.push(NotReplayed {
                id: r.id,
                why: format!("the candidate needs context the record does not hold: {}", d.message),
            });
            continue;
        }
        let new = Verdict {
            outcome: d.outcome,
            reason: d.reason,
            rule: d.rule.as_deref().map(str::to_string),
            message: d.message.clone(),
        };
        report.record(&r, agent, subject, new);
    }
    Ok(report)
}

impl ReplayReport {
    fn record(&mut self, r: &AuditRecord, agent: String, subject: String, new: Verdict) {
        self.replayed += 1;
        let (outcome, reason) = match r.reason {
            Reason::Approved => (Outcome::ApprovalRequired, Reason::ApprovalRequired),
            reason => (r.outcome, reason),
        };
        let old = Verdict {
            outcome,
            reason,
            rule: r.rule.clone(),
            message: r.message.clone(),
        };
        if old.outcome == new.outcome && old.reason == new.reason {
            return;
        }
        let entry = Replayed {
            id: r.id.clone(),
            time: r.time.clone(),
            agent,
            subject,
            action: r.action.clone(),
            resource: r.resource.clone(),
            old,
            new,
        };
        let rule = entry
            .new
            .rule
            .clone()
            .or_else(|| entry.old.rule.clone())
            .unwrap_or_else(|| "-".into());
        *self.by_rule.entry(rule).or_default().entry(entry.change()).or_default() += 1;
        self.changed.push(entry);
    }
}

/// Whether a recorded reason came from the policy (and so can change with it).
fn is_policy_decision(reason: Reason) -> bool {
    let code = reason.as_str();
    !(code.starts_with("token_")
        || code.starts_with("delegation_")
        || matches!(
            reason,
            Reason::RequestInvalid
                | Reason::NoSnapshot
                | Reason::SnapshotStale
                | Reason::CounterStoreUnavailable
                | Reason::ApprovalInvalid
                | Reason::ApprovalReplayed
        ))
}

/// The first field (dotted path) holding a redacted value, if any.
fn redacted_field(map: &Map<String, Value>, prefix: &str) -> Option<String> {
    map.iter().find_map(|(k, v)| {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        redacted_in(v, path)
    })
}

fn redacted_in(v: &Value, path: String) -> Option<String> {
    match v {
        Value::String(s) if s == REDACTED || s.starts_with("[redacted:") => Some(path),
        Value::Object(m) => redacted_field(m, &path),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| redacted_in(v, format!("{path}[{i}]"))),
        _ => None,
    }
}
