//! Shadow mode: the candidate policies evaluated beside the enforced ones, never enforced.
//!
//! An agent has a shadow when a `shadow: true` document names it, or when one of its rules is
//! marked `shadow: true`: the parser then moves the agent's whole policy, that rule included,
//! to [`PolicySet::shadows`] and leaves the rule out of the enforced policy.

use super::model::PolicySet;

/// The policy set the shadow decisions are made with (each shadowed agent's policy replaced by
/// its shadow), and the agents that have a shadow; `None` when no agent has one.
pub fn shadow_set(set: &PolicySet) -> Option<(PolicySet, Vec<String>)> {
    if set.shadows.is_empty() {
        return None;
    }
    let agents: Vec<String> = set.shadows.iter().map(|s| s.agent.clone()).collect();
    let mut out = PolicySet {
        agents: Vec::with_capacity(set.agents.len() + set.shadows.len()),
        shadows: Vec::new(),
        ..set.clone()
    };
    out.agents
        .extend(set.agents.iter().filter(|p| !agents.contains(&p.agent)).cloned());
    out.agents.extend(set.shadows.iter().cloned());
    Some((out, agents))
}
