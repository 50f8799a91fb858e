//! Revocations and kill switches made through the API, with their history (who, when, why): the
//! rules of a change (what may be added or lifted). They are stored in the database
//! ([`crate::revocation_store`]), so a lifted switch stays lifted after a restart; servers before
//! it kept them in `<state-dir>/revocations.json`, which is imported once.
//!
//! Policy files may carry revocations and kill switches of their own; those are merged into every
//! snapshot too, and are changed by editing the files, not here.

use act_core::policy::{GrantRevocation, KillSwitches, PolicySet};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;

/// One recorded change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When, ms since the epoch.
    pub at_ms: i64,
    /// The identity of the admin credential that made it.
    pub by: String,
    /// `revoke`, `kill_switch_on` or `kill_switch_off`.
    pub action: String,
    /// What it applied to (the body's lists).
    pub target: Value,
    /// Why, as given.
    pub reason: String,
}

/// What the API added, plus the history. The first five members are the file format `act serve`
/// wrote before history existed, so an old `revocations.json` still loads.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RevocationState {
    /// Token ids (`jti`).
    #[serde(default)]
    pub tokens: Vec<String>,
    /// Agent ids.
    #[serde(default)]
    pub agents: Vec<String>,
    /// Subjects (user ids).
    #[serde(default)]
    pub subjects: Vec<String>,
    /// Single grants.
    #[serde(default)]
    pub grants: Vec<GrantRevocation>,
    /// Kill switches on now.
    #[serde(default)]
    pub kill_switches: Option<KillSwitches>,
    /// Every change, oldest first.
    #[serde(default)]
    pub history: Vec<Event>,
}

/// `POST /v1/revocations`: lists are added to what is already revoked.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeBody {
    /// Token ids (`jti`).
    #[serde(default)]
    pub tokens: Vec<String>,
    /// Agent ids.
    #[serde(default)]
    pub agents: Vec<String>,
    /// Subjects (user ids).
    #[serde(default)]
    pub subjects: Vec<String>,
    /// Single grants.
    #[serde(default)]
    pub grants: Vec<GrantRevocation>,
    /// No longer accepted here (kill switches have their own route); kept to answer clearly.
    #[serde(default, skip_serializing)]
    pub kill_switches: Option<Value>,
    /// Why (required).
    #[serde(default, skip_serializing)]
    pub reason: Option<String>,
}

/// `POST /v1/kill-switches`: turn switches on or lift them.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KillSwitchBody {
    /// `true` turns the listed switches on, `false` lifts them.
    pub on: bool,
    /// The switch that denies everything.
    #[serde(default)]
    pub all: bool,
    /// Agents whose every action is denied.
    #[serde(default)]
    pub agents: Vec<String>,
    /// Actions denied for every agent.
    #[serde(default)]
    pub actions: Vec<String>,
    /// Why (required).
    #[serde(default, skip_serializing)]
    pub reason: Option<String>,
}

fn push_unique<T: PartialEq + Clone>(into: &mut Vec<T>, from: &[T]) {
    for x in from {
        if !into.contains(x) {
            into.push(x.clone());
        }
    }
}

impl RevocationState {
    /// Adds a revocation; `Err` names what is wrong and nothing changes.
    pub fn revoke(&mut self, b: &RevokeBody, by: &str, reason: &str, now_ms: i64) -> Result<(), String> {
        if b.kill_switches.is_some() {
            return Err("kill switches are turned on and off with `POST /v1/kill-switches`".into());
        }
        if b.tokens.is_empty() && b.agents.is_empty() && b.subjects.is_empty() && b.grants.is_empty() {
            return Err("nothing to revoke: give `tokens`, `agents`, `subjects` or `grants`".into());
        }
        let blank = |v: &[String]| v.iter().any(|s| s.trim().is_empty());
        if blank(&b.tokens) || blank(&b.agents) || blank(&b.subjects) {
            return Err("revoked ids must not be blank".into());
        }
        push_unique(&mut self.tokens, &b.tokens);
        push_unique(&mut self.agents, &b.agents);
        push_unique(&mut self.subjects, &b.subjects);
        push_unique(&mut self.grants, &b.grants);
        self.record(
            by,
            "revoke",
            serde_json::to_value(b).unwrap_or_default(),
            reason,
            now_ms,
        );
        Ok(())
    }

    /// Turns switches on or lifts them; lifting one that is not on (through the API) is an error.
    pub fn kill_switch(&mut self, b: &KillSwitchBody, by: &str, reason: &str, now_ms: i64) -> Result<(), String> {
        if !b.all && b.agents.is_empty() && b.actions.is_empty() {
            return Err("name a switch: `all`, `agents` or `actions`".into());
        }
        let ks = self.kill_switches.get_or_insert_with(KillSwitches::default);
        if b.on {
            ks.all |= b.all;
            push_unique(&mut ks.agents, &b.agents);
            push_unique(&mut ks.actions, &b.actions);
        } else {
            let not_on: Vec<String> = b
                .agents
                .iter()
                .filter(|a| !ks.agents.contains(a))
                .map(|a| format!("agent `{a}`"))
                .chain(
                    b.actions
                        .iter()
                        .filter(|a| !ks.actions.contains(a))
                        .map(|a| format!("action `{a}`")),
                )
                .chain((b.all && !ks.all).then(|| "`all`".to_string()))
                .collect();
            if !not_on.is_empty() {
                return Err(format!(
                    "not on through the API: {} (switches in policy files are lifted by editing the files)",
                    not_on.join(", ")
                ));
            }
            ks.all &= !b.all;
            ks.agents.retain(|a| !b.agents.contains(a));
            ks.actions.retain(|a| !b.actions.contains(a));
        }
        let action = if b.on { "kill_switch_on" } else { "kill_switch_off" };
        self.record(by, action, serde_json::to_value(b).unwrap_or_default(), reason, now_ms);
        Ok(())
    }

    fn record(&mut self, by: &str, action: &str, mut target: Value, reason: &str, at_ms: i64) {
        if let Some(o) = target.as_object_mut() {
            o.retain(|_, v| !(v.as_array().is_some_and(Vec::is_empty) || v == &Value::Bool(false)));
        }
        self.history.push(Event {
            at_ms,
            by: by.to_string(),
            action: action.to_string(),
            target,
            reason: reason.to_string(),
        });
    }

    /// Adds these revocations and switches to a policy set (the files' own stay).
    pub fn merge_into(&self, set: &mut PolicySet) {
        push_unique(&mut set.revocations.tokens, &self.tokens);
        push_unique(&mut set.revocations.agents, &self.agents);
        push_unique(&mut set.revocations.subjects, &self.subjects);
        push_unique(&mut set.revocations.grants, &self.grants);
        if let Some(k) = &self.kill_switches {
            set.kill_switches.all |= k.all;
            push_unique(&mut set.kill_switches.agents, &k.agents);
            push_unique(&mut set.kill_switches.actions, &k.actions);
        }
    }

    /// Reads a `revocations.json` an earlier version left (`None`: there is none).
    pub fn load_file(path: &Path) -> Result<Option<RevocationState>, String> {
        match std::fs::read_to_string(path) {
            Ok(t) => serde_json::from_str(&t)
                .map(Some)
                .map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }
}
