//! Issuing tokens through the engine (checks the agent and capability first).

use super::Engine;
use crate::error::{Error, Result};
use crate::keys::{SigningKey, VerifyingKey};
use crate::policy::{compile_capability, parse_capability};
use crate::token::{self, DelegationSpec, TokenSpec};
use serde_json::{Map, Value};

/// What to issue.
#[derive(Clone, Debug, Default)]
pub struct IssueRequest {
    /// The agent id.
    pub agent: String,
    /// The user context; needs `user_id`.
    pub user_context: Map<String, Value>,
    /// Agent attributes for `{{agent.X}}`.
    pub agent_context: Map<String, Value>,
    /// An inline capability; `None` uses the agent's policy from the snapshot.
    pub policy: Option<Value>,
    /// Lifetime in seconds (default 3600 when 0).
    pub ttl_secs: u64,
    /// A holder key that may delegate.
    pub holder_key: Option<VerifyingKey>,
}

impl Engine {
    fn key(&self) -> Result<&SigningKey> {
        self.signing_key().ok_or_else(|| {
            Error::Config(
                "issuing tokens needs a local signing key (or use the control endpoint's POST /v1/tokens)".into(),
            )
        })
    }

    /// Issues a token for `req.agent`. Fails when the agent has no policy and no
    /// inline capability is given, or when the capability does not compile.
    pub fn issue_token(&self, req: &IssueRequest) -> Result<String> {
        let key = self.key()?;
        match &req.policy {
            Some(cap) => {
                if !cap.is_object() {
                    return Err(Error::Config(
                        "policy must be a map such as {\"actions\": [...], \"resources\": [...]}".into(),
                    ));
                }
                compile_capability(&parse_capability(&req.agent, cap)?)?;
            }
            None => {
                if self.snapshot().agent(&req.agent).is_none() {
                    return Err(Error::Config(format!(
                        "no policy for agent `{}` (known agents: {}); add one or pass policy=",
                        req.agent,
                        self.snapshot().agent_ids().join(", ")
                    )));
                }
            }
        }
        let spec = TokenSpec {
            issuer: self.options().issuer.clone(),
            agent: req.agent.clone(),
            user_context: req.user_context.clone(),
            agent_context: req.agent_context.clone(),
            audience: self.options().audience.clone().into_iter().collect(),
            ttl_secs: if req.ttl_secs == 0 { 3600 } else { req.ttl_secs },
            capability: req.policy.clone(),
            holder_key: req.holder_key.clone(),
        };
        token::issue(key, &spec, self.now_ms() / 1000)
    }

    /// Delegates a narrower token to a sub-agent, signed by `holder` (the key in the parent's `cnf`).
    /// Without `spec.holder_key` the child is sealed and presentable as is; with one, the
    /// sub-agent [`seal`](Engine::seal)s it with that key to act.
    pub fn delegate(&self, parent: &str, holder: &SigningKey, spec: &DelegationSpec) -> Result<String> {
        if let Some(cap) = &spec.capability {
            compile_capability(&parse_capability(&spec.agent, cap)?)?;
        }
        token::delegate(parent, holder, spec, self.now_ms() / 1000)
    }

    /// Seals `token` (whose last link names `holder`'s key in `cnf`) so its holder can present
    /// it, valid `ttl_secs` at most (never longer than the token). See [`token::seal`].
    pub fn seal(&self, token: &str, holder: &SigningKey, ttl_secs: u64) -> Result<String> {
        token::seal(token, holder, ttl_secs, self.now_ms() / 1000)
    }
}
