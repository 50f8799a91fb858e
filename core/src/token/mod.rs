//! ACT capability tokens: compact JWS (RFC 7515) with Ed25519, and delegation chains.
//!
//! A token is `header.claims.signature`, header `{"alg":"EdDSA","typ":"act+jwt","kid":...}`.
//! A delegated token is `parent~child[~grandchild...]`: each child is signed by
//! the key in its parent's `cnf.jwk`, names its parent's `jti` (`pjt`), acts for
//! the same subject, expires no later than its parent, and only narrows what its
//! parent may do (the engine evaluates every link as a layer and takes the
//! intersection).
//!
//! Chains are sealed (delegation format 2): a link that names a holder key is
//! attenuable, not presentable. Only a chain whose last link names no `cnf` acts,
//! so no prefix of a chain acts on its own: every proper prefix ends in a link
//! with a `cnf`, and only that key's holder can append to it. A holder acts with
//! its own token by [`seal`]ing it (a last link for itself, signed by its key).
//! See `docs/tokens.md` for the wire format.

mod claims;
mod verify;

pub use claims::Claims;
pub use verify::{check_time, verify_chain, VerifiedChain, VerifyOptions};

use crate::error::{Error, Result};
use crate::keys::{SigningKey, VerifyingKey};
use crate::reason::Reason;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};

/// The JOSE `typ` of a capability token.
pub const TOKEN_TYP: &str = "act+jwt";
/// The JOSE `typ` of an approval token (never accepted as a capability).
pub const APPROVAL_TYP: &str = "act-approval+jwt";
/// Tokens (whole delegation chains included) larger than this are rejected unread.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// The longest `ttl` a token may be issued with: 30 days.
pub const MAX_TTL_SECS: u64 = 30 * 24 * 3600;

/// What to put in a new root token.
#[derive(Clone, Debug, Default)]
pub struct TokenSpec {
    /// `iss`.
    pub issuer: String,
    /// The agent id (`act.sub`).
    pub agent: String,
    /// The user context (`ctx`); must contain a string `user_id`, which becomes `sub`.
    pub user_context: Map<String, Value>,
    /// Agent attributes (`act.ctx`) for `{{agent.X}}` templates.
    pub agent_context: Map<String, Value>,
    /// `aud`, possibly empty.
    pub audience: Vec<String>,
    /// Lifetime in seconds, 1..=30 days.
    pub ttl_secs: u64,
    /// An inline capability (`cap`), a policy body in the canonical or article form.
    pub capability: Option<Value>,
    /// A holder key (`cnf.jwk`) allowed to sign delegated child tokens.
    pub holder_key: Option<VerifyingKey>,
}

/// What to put in a delegated child token.
#[derive(Clone, Debug, Default)]
pub struct DelegationSpec {
    /// The sub-agent id (`act.sub` of the child).
    pub agent: String,
    /// Agent attributes of the sub-agent.
    pub agent_context: Map<String, Value>,
    /// The narrower capability handed down. `None` hands down the parent's grant unchanged.
    pub capability: Option<Value>,
    /// Lifetime in seconds; the child never outlives its parent.
    pub ttl_secs: u64,
    /// A holder key for further delegation by the sub-agent.
    pub holder_key: Option<VerifyingKey>,
}

/// A fresh random token id (128 bits, base64url).
pub fn new_jti() -> Result<String> {
    let mut bytes = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| Error::Internal("the system random source failed".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Signs `claims` as a compact JWS with `key`, with the given `typ`.
pub fn sign_jws(key: &SigningKey, typ: &str, claims: &Value) -> String {
    let header = serde_json::json!({"alg": "EdDSA", "typ": typ, "kid": key.kid()});
    let mut out = URL_SAFE_NO_PAD.encode(header.to_string());
    out.push('.');
    out.push_str(&URL_SAFE_NO_PAD.encode(claims.to_string()));
    let sig = key.sign(out.as_bytes());
    out.push('.');
    out.push_str(&URL_SAFE_NO_PAD.encode(sig));
    out
}

fn check_ttl(ttl: u64) -> Result<()> {
    if ttl == 0 || ttl > MAX_TTL_SECS {
        return Err(Error::Config(format!(
            "ttl must be between 1 and {MAX_TTL_SECS} seconds, got {ttl}"
        )));
    }
    Ok(())
}

/// Issues a root token signed by `key` at time `now` (seconds since the epoch).
pub fn issue(key: &SigningKey, spec: &TokenSpec, now: i64) -> Result<String> {
    if spec.agent.trim().is_empty() {
        return Err(Error::Config("agent must be a non-empty string".into()));
    }
    check_ttl(spec.ttl_secs)?;
    let sub = match spec.user_context.get("user_id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            return Err(Error::Config(
                "user_context needs a non-empty `user_id`: the user the agent acts for \
                 (use the agent's own id for an agent that acts for itself)"
                    .into(),
            ))
        }
    };
    let mut ctx = spec.user_context.clone();
    ctx.insert("user_id".into(), Value::String(sub.clone()));
    let claims = Claims {
        iss: if spec.issuer.is_empty() {
            "act".into()
        } else {
            spec.issuer.clone()
        },
        sub,
        agent: spec.agent.clone(),
        agent_context: spec.agent_context.clone(),
        aud: spec.audience.clone(),
        iat: now,
        nbf: Some(now),
        exp: now + spec.ttl_secs as i64,
        jti: new_jti()?,
        ctx,
        cap: spec.capability.clone(),
        cnf: spec.holder_key.clone(),
        pjt: None,
    };
    let token = sign_jws(key, TOKEN_TYP, &claims.to_json());
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Error::token(
            Reason::TokenTooLarge,
            format!(
            "the token would be {} bytes, over the {MAX_TOKEN_BYTES}-byte cap; shrink user_context or the capability",
            token.len()
        ),
        ));
    }
    Ok(token)
}

/// Appends a child to `parent` (a token or chain whose leaf names `holder`'s key in `cnf`).
///
/// The parent is decoded, not verified: verification happens when the chain
/// is validated. The child names the parent leaf's `jti` (`pjt`), so it cannot be
/// moved onto another parent. Without `spec.holder_key` the result is sealed and
/// presentable as is; with one, its holder [`seal`]s it to act.
pub fn delegate(parent: &str, holder: &SigningKey, spec: &DelegationSpec, now: i64) -> Result<String> {
    if spec.agent.trim().is_empty() {
        return Err(Error::Config("agent must be a non-empty string".into()));
    }
    check_ttl(spec.ttl_secs)?;
    let parent = unseal(parent, holder)?;
    let leaf = decode_unverified(parent)?
        .pop()
        .ok_or_else(|| Error::Config("empty parent token".into()))?;
    match &leaf.cnf {
        Some(k) if k.kid() == holder.kid() => {}
        Some(_) => {
            return Err(Error::token(
                Reason::DelegationInvalid,
                "the holder key is not the one named in the parent token's `cnf`",
            ))
        }
        None => {
            return Err(Error::token(
                Reason::DelegationInvalid,
                "the parent token has no `cnf` holder key, so it cannot delegate",
            ))
        }
    }
    let claims = Claims {
        iss: leaf.agent.clone(),
        sub: leaf.sub.clone(),
        agent: spec.agent.clone(),
        agent_context: spec.agent_context.clone(),
        aud: leaf.aud.clone(),
        iat: now,
        nbf: Some(now),
        exp: (now + spec.ttl_secs as i64).min(leaf.exp),
        jti: new_jti()?,
        ctx: Map::new(),
        cap: spec.capability.clone(),
        cnf: spec.holder_key.clone(),
        pjt: Some(leaf.jti.clone()),
    };
    let child = sign_jws(holder, TOKEN_TYP, &claims.to_json());
    let token = format!("{parent}~{child}");
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Error::token(
            Reason::TokenTooLarge,
            format!(
                "the delegated token would be {} bytes, over the {MAX_TOKEN_BYTES}-byte cap",
                token.len()
            ),
        ));
    }
    Ok(token)
}

/// The attenuable chain under `token` when `token` is that chain sealed by `holder` (its last
/// link a seal: same agent as its parent, no capability, no `cnf`, the parent naming
/// `holder`'s key), so a holder that keeps only its sealed token can still delegate from it.
/// Anything else is returned as is.
fn unseal<'t>(token: &'t str, holder: &SigningKey) -> Result<&'t str> {
    let Some((prefix, _)) = token.rsplit_once('~') else {
        return Ok(token);
    };
    let links = decode_unverified(token)?;
    let (leaf, parent) = (&links[links.len() - 1], &links[links.len() - 2]);
    let sealed_by_holder = leaf.cnf.is_none()
        && leaf.cap.is_none()
        && leaf.agent == parent.agent
        && parent.cnf.as_ref().is_some_and(|k| k.kid() == holder.kid());
    Ok(if sealed_by_holder { prefix } else { token })
}

/// Seals `token` (a token or chain whose last link names `holder`'s key in `cnf`) so
/// its holder can present it: appends a last link for the same agent, with no
/// capability (it narrows nothing) and no `cnf` (nothing can be appended after it),
/// signed by `holder`, living `ttl_secs` at most and never longer than the token.
///
/// This is the holder's proof of possession: a sub-agent that holds a chain built
/// on `token` lacks `holder`'s private key, so it cannot present `token` itself.
pub fn seal(token: &str, holder: &SigningKey, ttl_secs: u64, now: i64) -> Result<String> {
    let leaf = decode_unverified(token)?
        .pop()
        .ok_or_else(|| Error::Config("empty token".into()))?;
    if leaf.cnf.is_none() {
        return Err(Error::token(
            Reason::DelegationInvalid,
            "the token is already sealed (its last link names no holder key): present it as is",
        ));
    }
    let spec = DelegationSpec {
        agent: leaf.agent,
        ttl_secs,
        ..Default::default()
    };
    delegate(token, holder, &spec, now)
}

/// A decoded compact JWS (header kid, raw claims, signing input, signature), or why it is malformed.
pub(crate) type DecodedJws<'a> = std::result::Result<verify::RawJws<'a>, (Reason, String)>;

/// Decodes an approval JWS (header checks included), returning kid, raw claims, signing input, signature.
pub(crate) fn decode_approval(jws: &str) -> DecodedJws<'_> {
    verify::decode_raw(jws, APPROVAL_TYP)
}

/// Decodes a snapshot document JWS (header checks included), returning kid, raw claims, signing input, signature.
pub(crate) fn decode_snapshot_jws(jws: &str) -> DecodedJws<'_> {
    verify::decode_raw(jws, crate::snapshot::SNAPSHOT_TYP)
}

/// Decodes every link of a token without checking signatures or times (for `act token inspect`).
pub fn decode_unverified(token: &str) -> Result<Vec<Claims>> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Error::token(Reason::TokenTooLarge, "token over 16 KiB"));
    }
    token
        .split('~')
        .map(|link| {
            verify::decode_link(link)
                .map(|(_, claims, _, _)| claims)
                .map_err(|(reason, message)| Error::token(reason, message))
        })
        .collect()
}

#[cfg(test)]
mod tests;
