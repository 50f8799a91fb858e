//! Stable machine codes for decisions.
//!
//! Every [`Decision`](crate::Decision) carries one [`Reason`]. Its string form
//! (`Reason::as_str`) is part of the public contract: bindings expose it
//! as-is, the conformance vectors assert it, and it never changes meaning.

use serde::{Deserialize, Serialize};

macro_rules! reasons {
    ($($(#[$doc:meta])* $variant:ident => $code:literal,)*) => {
        /// Why a decision came out the way it did. See the crate docs for the table.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[non_exhaustive]
        pub enum Reason {
            $($(#[$doc])* $variant,)*
        }

        impl Reason {
            /// Every reason, in declaration order.
            pub const ALL: &'static [Reason] = &[$(Reason::$variant,)*];

            /// The stable snake_case code, e.g. `"rate_limited"`.
            pub const fn as_str(self) -> &'static str {
                match self { $(Reason::$variant => $code,)* }
            }

            /// Parses a code produced by [`Reason::as_str`].
            pub fn from_code(code: &str) -> Option<Reason> {
                match code { $($code => Some(Reason::$variant),)* _ => None }
            }
        }
    };
}

reasons! {
    /// A grant covered the request and every constraint held.
    Allowed => "allowed",
    /// Allowed because a valid approval for exactly this request was presented.
    Approved => "approved",
    /// A constraint asks a human to approve this request first.
    ApprovalRequired => "approval_required",

    /// The token is not a well-formed compact JWS with JSON header and claims.
    TokenMalformed => "token_malformed",
    /// The token is larger than the size cap (16 KiB).
    TokenTooLarge => "token_too_large",
    /// The header names an algorithm other than `EdDSA` (e.g. `none`, `HS256`).
    TokenAlgNotAllowed => "token_alg_not_allowed",
    /// The header lacks `kid` or has a wrong `typ`.
    TokenHeaderInvalid => "token_header_invalid",
    /// The header carries `jwk`, `jku`, `x5u`, `x5c` or `crit`.
    TokenHeaderForbidden => "token_header_forbidden",
    /// The header or the claims repeat a JSON key.
    TokenDuplicateKey => "token_duplicate_key",
    /// A claim is missing or has the wrong type.
    TokenClaimInvalid => "token_claim_invalid",
    /// No trusted key has the token's `kid`.
    TokenUnknownKey => "token_unknown_key",
    /// The root's issuer key is trusted, but its scope (`issuerScopes`) does not let it mint
    /// this token: another agent, or an inline capability the key may not carry.
    IssuerNotAllowed => "issuer_not_allowed",
    /// The signature does not verify.
    TokenSignatureInvalid => "token_signature_invalid",
    /// `exp` is in the past (beyond the leeway).
    TokenExpired => "token_expired",
    /// `nbf` is in the future (beyond the leeway).
    TokenNotYetValid => "token_not_yet_valid",
    /// The token's `aud` does not include this service's audience.
    TokenAudienceMismatch => "token_audience_mismatch",
    /// The token (or a parent in its delegation chain) was revoked.
    TokenRevoked => "token_revoked",
    /// A delegated token is not a valid child of its parent.
    DelegationInvalid => "delegation_invalid",
    /// The delegation chain is longer than allowed.
    DelegationTooDeep => "delegation_too_deep",
    /// The chain's last link names a holder key (`cnf`): it may delegate but not act until its
    /// holder seals it (so a prefix of a delegated chain never acts on its own).
    DelegationUnsealed => "delegation_unsealed",

    /// The agent was revoked.
    AgentRevoked => "agent_revoked",
    /// The user the agent acts for was revoked.
    SubjectRevoked => "subject_revoked",
    /// This single grant (agent and action) was revoked.
    GrantRevoked => "grant_revoked",
    /// A kill switch stops this agent, action, or everything.
    KillSwitch => "kill_switch",
    /// The agent's circuit breaker is open after too many denials.
    CircuitOpen => "circuit_open",

    /// No policy exists for this agent and the token carries no capability.
    UnknownAgent => "unknown_agent",
    /// No grant of the agent lists this action.
    ActionNotAllowed => "action_not_allowed",
    /// The action is granted, but not on this resource.
    ResourceNotAllowed => "resource_not_allowed",
    /// The resource string is not acceptable (`..` segment, control characters, too long).
    ResourceInvalid => "resource_invalid",
    /// A `{{...}}` template in a resource pattern has no value in the token.
    TemplateUnresolved => "template_unresolved",
    /// A constraint evaluated to false.
    ConstraintFailed => "constraint_failed",
    /// A condition could not be evaluated: a context field is missing or has the wrong type.
    ContextInvalid => "context_invalid",
    /// A rate limit of the grant is used up for this window.
    RateLimited => "rate_limited",
    /// The approval token is malformed, not signed by a trusted issuer, expired,
    /// or bound to a different request.
    ApprovalInvalid => "approval_invalid",
    /// The approval was already used.
    ApprovalReplayed => "approval_replayed",
    /// The counter store could not be reached; limited rules fail closed.
    CounterStoreUnavailable => "counter_store_unavailable",
    /// No policy snapshot has been loaded yet.
    NoSnapshot => "no_snapshot",
    /// The snapshot is older than the configured maximum staleness.
    SnapshotStale => "snapshot_stale",
    /// A request argument is unusable (e.g. an empty action, context not an object).
    RequestInvalid => "request_invalid",
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for r in Reason::ALL {
            assert!(seen.insert(r.as_str()), "duplicate code {}", r.as_str());
            assert_eq!(Reason::from_code(r.as_str()), Some(*r));
            let json = serde_json::to_string(r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.as_str()));
        }
    }
}
