//! The layers of a verified chain: what each link contributes to the intersection that decides,
//! and the owner-protecting settings (audit, redaction) the whole chain answers to.
//!
//! Every link is a layer: its agent's policy from the snapshot (once per agent: a policy
//! intersected with itself is itself) and its inline capability. A link whose agent has
//! neither a policy nor a capability (at its first link in the chain) denies `unknown_agent`;
//! it is never skipped, the root included. Limits are keyed by stable identity, never by a
//! layer's position (see [`limit_key_prefix`]), so reshaping a chain never multiplies a limit.

use crate::limits::encode_key;
use crate::policy::CompiledPolicy;
use crate::snapshot::Snapshot;
use crate::token::Claims;
use std::sync::Arc;

/// One layer of the intersection.
pub(super) struct Layer<'a> {
    /// The policy or compiled capability.
    pub policy: &'a CompiledPolicy,
    /// The link it belongs to (its agent attributes fill `{{agent.X}}`).
    pub claims: &'a Claims,
    /// `true` for a link's inline capability, `false` for an agent's snapshot policy.
    pub capability: bool,
}

impl Layer<'_> {
    /// Words naming the layer in a denial, for every layer but the first.
    pub fn words(&self) -> String {
        if self.capability {
            format!(
                "the capability of agent `{}`'s link in the token's chain",
                self.claims.agent
            )
        } else {
            format!(
                "agent `{}`'s own policy, a link in the token's chain",
                self.claims.agent
            )
        }
    }
}

/// The layers of `links` (root first), with `caps[i]` the compiled capability of link `i`;
/// `root_cap_grants`: the root's capability stands in for its agent's policy (an issuer scope
/// with `capabilities: grant`); `root_policy`: the root agent's policy in `snap`. Fails with the
/// message of an `unknown_agent` denial.
pub(super) fn build<'a>(
    snap: &'a Snapshot,
    root_policy: Option<&'a Arc<CompiledPolicy>>,
    links: &'a [Claims],
    caps: &'a [Option<Arc<CompiledPolicy>>],
    root_cap_grants: bool,
) -> Result<Vec<Layer<'a>>, String> {
    if caps.len() != links.len() {
        // Unreachable (a verified chain caches one entry per link); fail closed all the same.
        return Err("the token's capabilities were not compiled".into());
    }
    let mut layers = Vec::with_capacity(links.len() + 1);
    for (i, (link, cap)) in links.iter().zip(caps).enumerate() {
        // A later link of an agent already seen (a seal, or the agent again further down)
        // adds its capability only: the agent's policy is a layer once.
        let granted = i == 0 && root_cap_grants && cap.is_some();
        if !granted && !links[..i].iter().any(|l| l.agent == link.agent) {
            // The root's policy was looked up already (for its breaker).
            let policy = if i == 0 { root_policy } else { snap.agent(&link.agent) };
            match policy {
                Some(p) => layers.push(Layer {
                    policy: p,
                    claims: link,
                    capability: false,
                }),
                // Known by its own capability, never by one a later link adds: a link below
                // could otherwise make its unknown parent act (a prefix decides as it would alone).
                None if cap.is_some() => {}
                None => {
                    let which = if i == 0 {
                        "the token's agent".to_string()
                    } else {
                        format!("link {i} of the token's delegation chain names agent")
                    };
                    return Err(format!(
                        "{which} `{}` has no policy and no capability in the token, so it may do nothing",
                        link.agent
                    ));
                }
            }
        }
        if let Some(c) = cap {
            layers.push(Layer {
                policy: c,
                claims: link,
                capability: true,
            });
        }
    }
    Ok(layers)
}

/// What a layer's limit counters are keyed by, besides the constraint id, agent and subject.
///
/// An agent's snapshot policy keys by (constraint, agent, subject) alone, whatever chain the
/// agent holds; a link's capability also by the root token's `jti` (a capability is handed
/// down with one token), never by the layer's position.
pub(super) fn limit_key_prefix(layer: &Layer<'_>, root: &Claims) -> Option<String> {
    layer.capability.then(|| encode_key(&["cap", root.jti.as_str()]))
}

/// Whether an allowed decision is audited: unless every agent in the chain has a policy that
/// turns `logAllActions` off. The root's setting holds below it; a link can only tighten it
/// (a sub-agent named like a quiet agent changes nothing).
pub(super) fn log_allowed(snap: &Snapshot, agents: &[Arc<str>]) -> bool {
    agents.is_empty()
        || agents
            .iter()
            .any(|a| snap.agent(a).is_none_or(|p| p.audit.log_all_actions))
}

/// The fields redacted from audit records and approval requests: every chain agent's list
/// (the root's first), so a link can add fields but never drop the root's.
pub(super) fn redaction(snap: &Snapshot, agents: &[Arc<str>]) -> Option<Arc<[String]>> {
    let mut lists = agents
        .iter()
        .filter_map(|a| snap.agent(a).and_then(|p| p.redact.clone()));
    let first = lists.next()?;
    let mut rest = lists.peekable();
    if rest.peek().is_none() {
        return Some(first);
    }
    let mut all: Vec<String> = first.to_vec();
    for list in rest {
        for f in list.iter() {
            if !all.contains(f) {
                all.push(f.clone());
            }
        }
    }
    Some(all.into())
}
