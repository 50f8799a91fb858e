//! Verification of tokens and delegation chains from untrusted input.
//!
//! Order of checks: size, shape, header (alg allow-list first, so `none` and
//! HMAC never reach a key lookup), claims types, key lookup, signature, then
//! chain rules. Times are checked separately by [`check_time`] on every use,
//! because a verified chain is cached and reused.

use super::{Claims, MAX_TOKEN_BYTES, TOKEN_TYP};
use crate::json::{parse_strict, StrictJsonError};
use crate::keys::VerifyingKey;
use crate::reason::Reason;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;

type Fail = (Reason, String);

fn fail(reason: Reason, msg: impl Into<String>) -> Fail {
    (reason, msg.into())
}

/// Checks that do not depend on the time of the call.
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    /// When set, `aud` must contain it.
    pub audience: Option<String>,
    /// Longest chain accepted, root included (default 4).
    pub max_depth: usize,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            audience: None,
            max_depth: 4,
        }
    }
}

/// A token whose every signature and chain rule checked out.
#[derive(Clone, Debug)]
pub struct VerifiedChain {
    /// Root first; a plain token has one link.
    pub links: Vec<Claims>,
    /// The `kid` of the issuer key that signed the root.
    pub root_kid: String,
}

impl VerifiedChain {
    /// The root token's claims (signed by a trusted issuer).
    pub fn root(&self) -> &Claims {
        &self.links[0]
    }
    /// The last link: the agent presenting the token.
    #[expect(clippy::expect_used, reason = "verify_chain builds chains of one link or more only")]
    pub fn leaf(&self) -> &Claims {
        self.links.last().expect("a chain has at least one link")
    }
    /// The earliest `exp` of the chain.
    pub fn exp(&self) -> i64 {
        self.links.iter().map(|c| c.exp).min().unwrap_or(i64::MIN)
    }
    /// The latest `nbf` (or `iat` when absent) of the chain.
    pub fn nbf(&self) -> Option<i64> {
        self.links.iter().filter_map(|c| c.nbf).max()
    }
}

/// Fails unless `now` lies within every link's validity, give or take `leeway` seconds.
pub fn check_time(chain: &VerifiedChain, now: i64, leeway: i64) -> Result<(), Fail> {
    let exp = chain.exp();
    if now >= exp.saturating_add(leeway) {
        return Err(fail(
            Reason::TokenExpired,
            format!("the token expired {}s ago", now - exp),
        ));
    }
    if let Some(nbf) = chain.nbf() {
        if now.saturating_add(leeway) < nbf {
            return Err(fail(
                Reason::TokenNotYetValid,
                format!("the token is valid only in {}s", nbf - now),
            ));
        }
    }
    Ok(())
}

/// One link decoded: header kid, claims, signing input, signature.
pub(crate) type Decoded<'t> = (String, Claims, &'t str, Vec<u8>);

fn b64(part: &str, what: &str) -> Result<Vec<u8>, Fail> {
    URL_SAFE_NO_PAD.decode(part).map_err(|_| {
        fail(
            Reason::TokenMalformed,
            format!("the token {what} is not base64url without padding"),
        )
    })
}

fn json(bytes: &[u8], what: &str) -> Result<Value, Fail> {
    parse_strict(bytes, 32).map_err(|e| match e {
        StrictJsonError::DuplicateKey(k) => fail(
            Reason::TokenDuplicateKey,
            format!("the token {what} repeats the key `{k}`"),
        ),
        other => fail(Reason::TokenMalformed, format!("the token {what}: {other}")),
    })
}

/// Decodes one compact JWS and checks its header; does not verify the signature.
pub(crate) fn decode_link(link: &str) -> Result<Decoded<'_>, Fail> {
    decode_typed(link, TOKEN_TYP)
}

/// Like [`decode_link`] for a given `typ` (approvals use their own).
pub(crate) fn decode_typed<'t>(link: &'t str, typ: &str) -> Result<(String, Claims, &'t str, Vec<u8>), Fail> {
    let (kid, claims, input, sig) = decode_raw(link, typ)?;
    let claims = Claims::from_json(&claims)?;
    Ok((kid, claims, input, sig))
}

/// A decoded compact JWS: header `kid`, raw claims, signing input, signature.
pub(crate) type RawJws<'t> = (String, Value, &'t str, Vec<u8>);

/// Decodes a compact JWS of the given `typ` into its header kid and raw claims JSON.
pub(crate) fn decode_raw<'t>(link: &'t str, typ: &str) -> Result<RawJws<'t>, Fail> {
    let mut parts = link.split('.');
    let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(fail(Reason::TokenMalformed, "a token has three dot-separated parts"));
    };
    let header = json(&b64(h, "header")?, "header")?;
    let header = header
        .as_object()
        .ok_or_else(|| fail(Reason::TokenMalformed, "the token header is not a JSON object"))?;
    match header.get("alg") {
        Some(Value::String(a)) if a == "EdDSA" => {}
        Some(Value::String(a)) => {
            return Err(fail(
                Reason::TokenAlgNotAllowed,
                format!("algorithm `{a}` is not accepted; only EdDSA is"),
            ))
        }
        _ => {
            return Err(fail(
                Reason::TokenAlgNotAllowed,
                "the header has no string `alg`; only EdDSA is accepted",
            ))
        }
    }
    for forbidden in ["jwk", "jku", "x5u", "x5c", "crit"] {
        if header.contains_key(forbidden) {
            return Err(fail(
                Reason::TokenHeaderForbidden,
                format!("header parameter `{forbidden}` is not accepted: keys come from trusted configuration only"),
            ));
        }
    }
    if let Some(k) = header.keys().find(|k| !matches!(k.as_str(), "alg" | "typ" | "kid")) {
        return Err(fail(
            Reason::TokenHeaderInvalid,
            format!("unknown header parameter `{k}`"),
        ));
    }
    match header.get("typ") {
        Some(Value::String(t))
            if t.eq_ignore_ascii_case(typ) || t.eq_ignore_ascii_case(&format!("application/{typ}")) => {}
        Some(Value::String(t)) => {
            return Err(fail(
                Reason::TokenHeaderInvalid,
                format!("header `typ` is `{t}`, expected `{typ}`"),
            ))
        }
        _ => {
            return Err(fail(
                Reason::TokenHeaderInvalid,
                format!("header `typ` must be the string `{typ}`"),
            ))
        }
    }
    let kid = match header.get("kid") {
        Some(Value::String(k)) if !k.is_empty() => k.clone(),
        _ => {
            return Err(fail(
                Reason::TokenHeaderInvalid,
                "header `kid` is missing; it names the signing key",
            ))
        }
    };
    let claims = json(&b64(c, "claims")?, "claims")?;
    let sig = b64(s, "signature")?;
    if sig.len() != 64 {
        return Err(fail(Reason::TokenSignatureInvalid, "an Ed25519 signature is 64 bytes"));
    }
    let input = &link[..h.len() + 1 + c.len()];
    Ok((kid, claims, input, sig))
}

/// Verifies a token or delegation chain. `issuer_key` resolves a root `kid` to a trusted key.
pub fn verify_chain(
    token: &str,
    issuer_key: &dyn Fn(&str) -> Option<VerifyingKey>,
    opts: &VerifyOptions,
) -> Result<VerifiedChain, Fail> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(fail(
            Reason::TokenTooLarge,
            format!(
                "the token is {} bytes, over the {MAX_TOKEN_BYTES}-byte cap",
                token.len()
            ),
        ));
    }
    if token.is_empty() {
        return Err(fail(Reason::TokenMalformed, "the token is empty"));
    }
    let link_count = token.split('~').count();
    if link_count > opts.max_depth.max(1) {
        return Err(fail(
            Reason::DelegationTooDeep,
            format!(
                "the delegation chain has {link_count} links, more than the {} allowed",
                opts.max_depth
            ),
        ));
    }
    let mut links: Vec<Claims> = Vec::with_capacity(link_count);
    let mut root_kid = String::new();
    for (i, link) in token.split('~').enumerate() {
        let (kid, claims, input, sig) = decode_link(link)?;
        let key = match links.last() {
            None => {
                root_kid = kid.clone();
                issuer_key(&kid).ok_or_else(|| {
                    fail(
                        Reason::TokenUnknownKey,
                        format!("no trusted issuer key has kid `{kid}`"),
                    )
                })?
            }
            Some(parent) => {
                let holder = parent.cnf.clone().ok_or_else(|| {
                    fail(
                        Reason::DelegationInvalid,
                        format!("link {i}'s parent has no `cnf` holder key to delegate with"),
                    )
                })?;
                if holder.kid() != kid {
                    return Err(fail(
                        Reason::DelegationInvalid,
                        format!("link {i} is not signed by its parent's holder key"),
                    ));
                }
                holder
            }
        };
        if !key.verify(input.as_bytes(), &sig) {
            let what = if links.is_empty() {
                "the token"
            } else {
                "a delegated link"
            };
            return Err(fail(
                Reason::TokenSignatureInvalid,
                format!("the signature of {what} does not verify"),
            ));
        }
        if let Some(parent) = links.last() {
            check_child(parent, &claims, i)?;
        }
        links.push(claims);
    }
    let chain = VerifiedChain { links, root_kid };
    if let Some(key) = &chain.leaf().cnf {
        let what = if chain.links.len() == 1 {
            "the token"
        } else {
            "the delegation chain's last link"
        };
        return Err(fail(
            Reason::DelegationUnsealed,
            format!(
                "{what} names a holder key (`cnf`, kid `{}`), so it may delegate but not act: its holder \
                 presents it sealed (`seal` with that key, or a child delegated without `holder_key`)",
                key.kid()
            ),
        ));
    }
    if let Some(aud) = &opts.audience {
        if !chain.root().aud.iter().any(|a| a == aud) {
            return Err(fail(
                Reason::TokenAudienceMismatch,
                format!("the token is not for audience `{aud}`"),
            ));
        }
    }
    Ok(chain)
}

fn check_child(parent: &Claims, child: &Claims, i: usize) -> Result<(), Fail> {
    match &child.pjt {
        Some(pjt) if *pjt == parent.jti => {}
        Some(_) => {
            return Err(fail(
                Reason::DelegationInvalid,
                format!("link {i} was made for another parent token (its `pjt` is not its parent's `jti`)"),
            ))
        }
        None => {
            return Err(fail(
                Reason::DelegationInvalid,
                format!(
                    "link {i} names no parent `jti` (`pjt`): delegation format 1 chains are no longer \
                     accepted; delegate again with this version"
                ),
            ))
        }
    }
    if child.sub != parent.sub {
        return Err(fail(
            Reason::DelegationInvalid,
            format!("link {i} acts for `{}`, its parent for `{}`", child.sub, parent.sub),
        ));
    }
    if child.iss != parent.agent {
        return Err(fail(
            Reason::DelegationInvalid,
            format!("link {i} must be issued by its parent agent `{}`", parent.agent),
        ));
    }
    if child.exp > parent.exp {
        return Err(fail(
            Reason::DelegationInvalid,
            format!("link {i} expires after its parent"),
        ));
    }
    if !child.ctx.is_empty() {
        return Err(fail(
            Reason::DelegationInvalid,
            format!("link {i} sets user context; only the root token may"),
        ));
    }
    Ok(())
}
