//! A compiled, immutable policy snapshot: what one version of the world allows.
//!
//! The engine holds the current snapshot in an `ArcSwap`: a validation loads
//! it once and decides entirely against that version; a swap never pauses a
//! validation and never mixes two versions in one decision.
//!
//! [`document`] is the signed wire form a control endpoint serves: a compact
//! JWS (`typ: act-snapshot+jwt`) whose claims carry the canonical
//! [`PolicySet`] with a version and issue time.

pub mod document;
pub mod freshness;

pub use document::{
    decode_snapshot, decode_snapshot_with, encode_snapshot, verify_document, SnapshotDocument, MAX_SNAPSHOT_BYTES,
    SNAPSHOT_TYP,
};
pub use freshness::{sign_freshness, verify_freshness, Freshness, FRESHNESS_HEADER, FRESHNESS_TYP};

use crate::error::{Diagnostic, Error, PolicyError, Result};
use crate::keys::VerifyingKey;
use crate::policy::{compile_agent, CompiledPolicy, PolicySet};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
type FastSet<K> = HashSet<K, foldhash::fast::RandomState>;

/// One compiled version of policies, keys, revocations and kill switches.
pub struct Snapshot {
    /// Monotonic version; a snapshot older than the one serving is rejected.
    pub version: u64,
    /// When it was issued (ms since the epoch).
    pub issued_at_ms: i64,
    /// When it stops being trusted (ms), if set.
    pub expires_at_ms: Option<i64>,
    keys: FastMap<String, VerifyingKey>,
    /// Changes exactly when the trusted key set or its scopes change (cached tokens are re-verified then).
    pub keys_epoch: u64,
    agents: FastMap<Arc<str>, Arc<CompiledPolicy>>,
    revoked_tokens: FastSet<String>,
    revoked_agents: FastSet<String>,
    revoked_subjects: FastSet<String>,
    revoked_grants: Vec<crate::policy::GrantRevocation>,
    kill_all: bool,
    killed_agents: FastSet<String>,
    killed_actions: FastSet<String>,
    /// The canonical source it was compiled from.
    pub source: PolicySet,
    /// The shadow decisions' view, when an agent has a shadow policy or rule.
    shadow: Option<Box<ShadowView>>,
}

/// The snapshot shadow decisions are made against, and the agents that have a shadow.
pub struct ShadowView {
    /// Compiled from the shadow policy set (same keys, revocations and kill switches).
    pub snapshot: Snapshot,
    agents: FastSet<String>,
}

impl ShadowView {
    /// Whether `agent` has a shadow policy or rule.
    pub fn covers(&self, agent: &str) -> bool {
        self.agents.contains(agent)
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("version", &self.version)
            .field("agents", &self.agents.len())
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl Snapshot {
    /// Compiles `set` as version `version`, trusting its issuer keys plus `extra_keys`.
    pub fn compile(set: PolicySet, version: u64, issued_at_ms: i64, extra_keys: &[VerifyingKey]) -> Result<Snapshot> {
        let mut diagnostics: Vec<Diagnostic> = Vec::new();
        let mut agents = FastMap::default();
        for a in &set.agents {
            match compile_agent(a) {
                Ok(c) => {
                    agents.insert(c.agent.clone(), Arc::new(c));
                }
                Err(e) => diagnostics.extend(e.diagnostics),
            }
        }
        if !diagnostics.is_empty() {
            return Err(PolicyError { diagnostics }.into());
        }
        let mut keys = FastMap::default();
        for k in &set.trusted_issuers {
            let k = VerifyingKey::parse(k).map_err(|e| Error::Config(format!("trusted issuer key: {e}")))?;
            keys.insert(k.kid().to_string(), k);
        }
        for k in extra_keys {
            keys.insert(k.kid().to_string(), k.clone());
        }
        let mut kids: Vec<&String> = keys.keys().collect();
        kids.sort();
        let keys_epoch = {
            use std::hash::{BuildHasher, Hasher};
            let mut h = foldhash::fast::FixedState::with_seed(7).build_hasher();
            for k in kids {
                h.write(k.as_bytes());
                h.write_u8(0);
            }
            // What the keys may mint is part of trusting them: a changed scope re-verifies too.
            h.write(format!("{:?}", set.issuer_scopes).as_bytes());
            h.finish()
        };
        let set_of = |v: &[String]| v.iter().cloned().collect::<FastSet<String>>();
        let shadow = match crate::policy::shadow::shadow_set(&set) {
            Some((shadow_set, agents)) => Some(Box::new(ShadowView {
                snapshot: Snapshot::compile(shadow_set, version, issued_at_ms, extra_keys)?,
                agents: agents.into_iter().collect(),
            })),
            None => None,
        };
        Ok(Snapshot {
            shadow,
            version,
            issued_at_ms,
            expires_at_ms: None,
            keys_epoch,
            revoked_tokens: set_of(&set.revocations.tokens),
            revoked_agents: set_of(&set.revocations.agents),
            revoked_subjects: set_of(&set.revocations.subjects),
            revoked_grants: set.revocations.grants.clone(),
            kill_all: set.kill_switches.all,
            killed_agents: set_of(&set.kill_switches.agents),
            killed_actions: set_of(&set.kill_switches.actions),
            keys,
            agents,
            source: set,
        })
    }

    /// The empty snapshot of version 0: every validation against it denies `no_snapshot`.
    #[expect(
        clippy::expect_used,
        reason = "an empty policy set has nothing that can fail to compile"
    )]
    pub fn empty(issued_at_ms: i64) -> Snapshot {
        Snapshot::compile(PolicySet::default(), 0, issued_at_ms, &[]).expect("an empty policy set compiles")
    }

    /// Sets the expiry (ms since the epoch) after which validations deny `snapshot_stale`.
    pub fn with_expiry(mut self, expires_at_ms: Option<i64>) -> Snapshot {
        self.expires_at_ms = expires_at_ms;
        if let Some(view) = self.shadow.take() {
            let ShadowView { snapshot, agents } = *view;
            self.shadow = Some(Box::new(ShadowView {
                snapshot: snapshot.with_expiry(expires_at_ms),
                agents,
            }));
        }
        self
    }

    /// Whether this snapshot may replace `serving`: its version is greater.
    pub fn supersedes(&self, serving: &Snapshot) -> bool {
        self.version > serving.version
    }

    /// A trusted issuer key by `kid`.
    pub fn key(&self, kid: &str) -> Option<&VerifyingKey> {
        self.keys.get(kid)
    }

    /// Every trusted issuer key.
    pub fn keys(&self) -> impl Iterator<Item = &VerifyingKey> {
        self.keys.values()
    }

    /// The view shadow decisions are made against, when an agent has a shadow.
    pub fn shadow(&self) -> Option<&ShadowView> {
        self.shadow.as_deref()
    }

    /// The compiled policy of `agent`.
    pub fn agent(&self, agent: &str) -> Option<&Arc<CompiledPolicy>> {
        self.agents.get(agent)
    }

    /// Agent ids with a policy, sorted.
    pub fn agent_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.agents.keys().map(|a| a.to_string()).collect();
        ids.sort();
        ids
    }

    pub(crate) fn token_revoked(&self, jti: &str) -> bool {
        !self.revoked_tokens.is_empty() && self.revoked_tokens.contains(jti)
    }
    pub(crate) fn agent_revoked(&self, agent: &str) -> bool {
        !self.revoked_agents.is_empty() && self.revoked_agents.contains(agent)
    }
    pub(crate) fn subject_revoked(&self, sub: &str) -> bool {
        !self.revoked_subjects.is_empty() && self.revoked_subjects.contains(sub)
    }
    pub(crate) fn grant_revoked(&self, agent: &str, action: &str, sub: &str) -> bool {
        self.revoked_grants
            .iter()
            .any(|g| g.agent == agent && g.action == action && g.subject.as_deref().is_none_or(|s| s == sub))
    }
    /// The kill switches that are on, sorted: (all, agents, actions). Compared across a swap to
    /// write a `kill_switch_changed` alert ([`crate::alerts`]).
    pub(crate) fn kill_switches(&self) -> (bool, Vec<String>, Vec<String>) {
        let sorted = |s: &FastSet<String>| {
            let mut v: Vec<String> = s.iter().cloned().collect();
            v.sort();
            v
        };
        (self.kill_all, sorted(&self.killed_agents), sorted(&self.killed_actions))
    }

    /// The kill switch that stops (agent, action), if any.
    pub(crate) fn killed(&self, agent: &str, action: &str) -> Option<String> {
        if self.kill_all {
            Some("the global kill switch is on".into())
        } else if !self.killed_agents.is_empty() && self.killed_agents.contains(agent) {
            Some(format!("the kill switch for agent `{agent}` is on"))
        } else if !self.killed_actions.is_empty() && self.killed_actions.contains(action) {
            Some(format!("the kill switch for action `{action}` is on"))
        } else {
            None
        }
    }
}
