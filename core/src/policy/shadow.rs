//! Shadow mode: the candidate policies evaluated beside the enforced ones, never enforced.
//!
//! An agent has a shadow when a `shadow: true` document names it (the candidate replaces its
//! whole policy in the shadow) or when one of its rules is marked `shadow: true` (the enforced
//! policy leaves that rule out; the shadow keeps it).

use super::model::{AgentPolicy, PolicySet};

/// The policy set the shadow decisions are made with, and the agents that have a shadow;
/// `None` when no agent has one.
pub fn shadow_set(set: &PolicySet) -> Option<(PolicySet, Vec<String>)> {
    let mut agents = Vec::new();
    let mut out = PolicySet {
        agents: Vec::with_capacity(set.agents.len()),
        shadows: Vec::new(),
        ..set.clone()
    };
    for p in &set.agents {
        if set.shadows.iter().any(|s| s.agent == p.agent) {
            continue;
        }
        if p.grants.iter().any(|g| g.shadow) {
            agents.push(p.agent.clone());
        }
        out.agents.push(unmarked(p));
    }
    for s in &set.shadows {
        agents.push(s.agent.clone());
        out.agents.push(unmarked(s));
    }
    (!agents.is_empty()).then_some((out, agents))
}

/// `p` with every rule enforced.
fn unmarked(p: &AgentPolicy) -> AgentPolicy {
    let mut p = p.clone();
    for g in &mut p.grants {
        g.shadow = false;
    }
    p
}
