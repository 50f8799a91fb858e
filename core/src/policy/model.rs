//! The canonical policy form every accepted spelling compiles into.
//!
//! It is plain data (serializable, comparable) so `act policy check --print`
//! can show users exactly what their YAML means, and so snapshots can carry it.

use serde::{Deserialize, Serialize};

/// Everything loaded from a policy file, folder or snapshot.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PolicySet {
    /// Agent policies, by agent id (unique).
    pub agents: Vec<AgentPolicy>,
    /// Shadow (candidate) policies, by agent id (`shadow: true` documents): evaluated beside the
    /// agent's enforced policy and audited, never enforced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shadows: Vec<AgentPolicy>,
    /// Extra trusted issuer keys (`ed25519:...`).
    #[serde(default)]
    pub trusted_issuers: Vec<String>,
    /// Revocations.
    #[serde(default)]
    pub revocations: Revocations,
    /// Kill switches.
    #[serde(default)]
    pub kill_switches: KillSwitches,
    /// What trusted issuer keys may mint (`issuerScopes`); a key without a scope mints for any
    /// agent, its inline capabilities only narrowing the agent's policy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issuer_scopes: Vec<IssuerScope>,
}

/// The authority of one issuer key over the root tokens it signs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerScope {
    /// The key (`ed25519:...`), matched by its `kid` against a root token's header.
    pub key: String,
    /// Agent ids (or globs such as `support-*`) it may mint roots for; empty: any agent.
    #[serde(default)]
    pub agents: Vec<String>,
    /// What its inline capabilities (`cap` in a root) may do.
    #[serde(default)]
    pub capabilities: CapabilityAuthority,
}

/// What a root token's inline capability may do, by its issuer's scope.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapabilityAuthority {
    /// Where the agent has a policy, the capability only narrows it (intersection); where it
    /// has none, the capability alone is the grant. The default, for every key.
    #[default]
    Narrow,
    /// The capability replaces the agent's snapshot policy (it may exceed it). For a key that
    /// is itself the authority over its agents, such as a control plane minting ad-hoc grants.
    Grant,
    /// Roots from this key may carry no capability: the agent's snapshot policy decides.
    Forbid,
}

/// The policy of one agent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentPolicy {
    /// The agent id tokens name in `act.sub`.
    pub agent: String,
    /// Where it was written.
    pub source: Location,
    /// The grants; a request must be covered by one.
    pub grants: Vec<Grant>,
    /// What to record.
    pub audit: AuditSettings,
    /// Optional circuit breaker.
    pub circuit_breaker: Option<BreakerSettings>,
}

/// One `policy:` body: actions on resources, under constraints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Grant {
    /// Stable id: the agent id, or `agent#N` for the N-th of several grants.
    pub id: String,
    /// Action names or globs (`read_*`, `*`).
    pub actions: Vec<String>,
    /// Resource patterns with `{{...}}` templates.
    pub resources: Vec<String>,
    /// Patterns that are never covered, even when a resource pattern matches.
    pub exclude_resources: Vec<String>,
    /// Constraints, in source order.
    pub constraints: Vec<Constraint>,
    /// A shadow rule (`shadow: true`): left out of the enforced policy, kept in its shadow.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shadow: bool,
}

/// One constraint of a grant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Constraint {
    /// Stable id: `<grant id>/<action or *>/<key>`, e.g. `customer-support-bot/process_refund/maxAmount`.
    pub id: String,
    /// The key as the user wrote it, e.g. `maxAmount`.
    pub key: String,
    /// The action it applies to; `None` applies to every action of the grant.
    pub action: Option<String>,
    /// What it does.
    pub kind: ConstraintKind,
    /// Where it was written.
    pub source: Location,
}

/// A place in a policy source.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// File name, or `<inline>` for capabilities carried in tokens.
    pub file: String,
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// 1-based column, 0 when unknown.
    pub column: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Who shares one rate-limit counter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitScope {
    /// One counter per (constraint, agent, subject): the default.
    #[default]
    Subject,
    /// One counter per (constraint, token): a budget for one agent session.
    Token,
    /// One counter per (constraint, agent): every user of the agent shares it.
    Agent,
    /// One counter per constraint: the whole fleet shares it, whichever agent or user asks.
    Global,
}

/// What a request weighs on a budget.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "of", rename_all = "snake_case")]
pub enum Weight {
    /// The value of a numeric context field (0 or more).
    Sum {
        /// The context field.
        field: String,
    },
    /// The number of items in list context fields (a string counts 1, an absent field 0).
    Count {
        /// The context fields.
        fields: Vec<String>,
    },
}

/// What a constraint does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ConstraintKind {
    /// Deny (`constraint_failed`) unless the CEL condition is true.
    Require {
        /// CEL source.
        cel: String,
    },
    /// Ask for approval (`approval_required`) when the CEL condition is true.
    ApprovalIf {
        /// CEL source.
        cel: String,
    },
    /// At most `limit` allowed requests per rolling `window_secs`, per (constraint, agent, subject).
    RateLimit {
        /// Requests allowed in the window.
        limit: u64,
        /// Window length in seconds.
        window_secs: u64,
        /// Who shares the counter.
        #[serde(default)]
        scope: LimitScope,
    },
    /// A weighted limit: the request weights allowed within a rolling `window_secs` sum to at
    /// most `max` (exact to the millionth).
    Budget {
        /// What each request weighs.
        weight: Weight,
        /// The most allowed in the window.
        max: f64,
        /// Window length in seconds.
        window_secs: u64,
        /// Who shares the budget.
        #[serde(default)]
        scope: LimitScope,
    },
}

/// Audit options of an agent policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditSettings {
    /// Record allows too (default); when false only denials and approvals are recorded.
    pub log_all_actions: bool,
    /// How long the control plane should keep records, in days (informational for local sinks).
    pub retain_days: Option<u64>,
    /// Context fields replaced by `"[redacted]"` in records.
    pub redact: Vec<String>,
}

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings {
            log_all_actions: true,
            retain_days: None,
            redact: Vec::new(),
        }
    }
}

/// Who shares one circuit breaker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerScope {
    /// One breaker per (root agent, user): one user's denials pause only that user's use of
    /// the agent. The default.
    #[default]
    Subject,
    /// One breaker per root agent: any user's denials pause it for everyone.
    Agent,
}

/// A circuit breaker of the agent a token was issued to (the chain's root): `max_denials`
/// denials within `window_secs` open it for `cool_down_secs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BreakerSettings {
    /// Who shares it (default: per user).
    #[serde(default)]
    pub scope: BreakerScope,
    /// Denials that open the breaker.
    pub max_denials: u64,
    /// Window over which denials are counted.
    pub window_secs: u64,
    /// How long it stays open.
    pub cool_down_secs: u64,
}

/// Revoked tokens, agents, subjects and single grants.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Revocations {
    /// Token ids (`jti`); revoking a parent revokes its delegated children.
    #[serde(default)]
    pub tokens: Vec<String>,
    /// Agent ids.
    #[serde(default)]
    pub agents: Vec<String>,
    /// Subjects (user ids).
    #[serde(default)]
    pub subjects: Vec<String>,
    /// Single grants: one action of one agent, optionally for one subject.
    #[serde(default)]
    pub grants: Vec<GrantRevocation>,
}

/// One revoked grant.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GrantRevocation {
    /// The agent.
    pub agent: String,
    /// The action.
    pub action: String,
    /// Only for this subject, when set.
    #[serde(default)]
    pub subject: Option<String>,
}

/// Emergency stops.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KillSwitches {
    /// Deny everything.
    #[serde(default)]
    pub all: bool,
    /// Deny every action of these agents.
    #[serde(default)]
    pub agents: Vec<String>,
    /// Deny these actions for every agent.
    #[serde(default)]
    pub actions: Vec<String>,
}
