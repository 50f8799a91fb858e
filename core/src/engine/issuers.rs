//! Issuer authority: what a trusted key may mint, by its scope in the policy folder or snapshot
//! (`issuerScopes`). Checked when a token is first verified; the token cache is re-verified
//! when the scopes change (they are part of the snapshot's key epoch).

use crate::keys::VerifyingKey;
use crate::policy::pattern::Pattern;
use crate::policy::CapabilityAuthority;
use crate::snapshot::Snapshot;
use crate::token::VerifiedChain;

/// The authority of `chain`'s root capability, or why its issuer may not have minted it.
/// A key without a scope: [`CapabilityAuthority::Narrow`], any agent.
pub(super) fn authority(snap: &Snapshot, chain: &VerifiedChain) -> Result<CapabilityAuthority, String> {
    let scopes = &snap.source.issuer_scopes;
    if scopes.is_empty() {
        return Ok(CapabilityAuthority::Narrow);
    }
    let root = chain.root();
    let kid = chain.root_kid.as_str();
    let Some(scope) = scopes
        .iter()
        .find(|s| VerifyingKey::parse(&s.key).is_ok_and(|k| k.kid() == kid))
    else {
        return Ok(CapabilityAuthority::Narrow);
    };
    if !scope.agents.is_empty()
        && !scope
            .agents
            .iter()
            .any(|a| Pattern::compile(a).is_ok_and(|p| p.matches_name(&root.agent)))
    {
        return Err(format!(
            "issuer key `{kid}` may mint tokens only for {} (issuerScopes), not for agent `{}`",
            scope.agents.join(", "),
            root.agent
        ));
    }
    if scope.capabilities == CapabilityAuthority::Forbid && root.cap.is_some() {
        return Err(format!(
            "issuer key `{kid}` may not put a capability in its tokens (issuerScopes: capabilities: forbid)"
        ));
    }
    Ok(scope.capabilities)
}
