//! Credentials with roles (protocol: roles): every API key has exactly one role and names an
//! identity; the server keeps only the keys' SHA-256, and every route names the roles it admits.
//!
//! Keys are random 128-bit strings (or operator-chosen), so an unsalted SHA-256 is enough to make a
//! stolen credentials file useless for calling the server; lookups are by digest, so no comparison
//! runs over the key's bytes.

use crate::error::error;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt::Write as _;

/// What a credential may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// An agent's host: snapshot, audit ingest, its own approval requests.
    Agent,
    /// Mints tokens for the agents it is allowed.
    Issuer,
    /// A human who decides approval requests.
    Approver,
    /// Revocations, kill switches, the approval list.
    Admin,
}

impl Role {
    /// Every role, in the order `act serve` prints their keys.
    pub const ALL: [Role; 4] = [Role::Agent, Role::Issuer, Role::Approver, Role::Admin];

    /// The role's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Issuer => "issuer",
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }
}

/// Who is calling: the identity and role of the credential presented.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// A stable name (a person's address, a service's name); approvals record it as `decided_by`.
    pub identity: String,
    /// The credential's one role.
    pub role: Role,
    /// Issuer only: the agents it may mint for (`["*"]` = any).
    #[serde(default)]
    pub agents: Vec<String>,
}

impl Principal {
    /// Whether this issuer may mint tokens for `agent`.
    pub fn may_mint_for(&self, agent: &str) -> bool {
        self.role == Role::Issuer && self.agents.iter().any(|a| a == "*" || a == agent)
    }
}

/// The SHA-256 of an API key, as stored.
pub fn hash_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

pub(crate) fn unhex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// One entry of a credentials file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    identity: String,
    role: Role,
    key_sha256: String,
    #[serde(default)]
    agents: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    credentials: Vec<FileEntry>,
}

/// The credentials a server accepts, by key digest: the bootstrap ones (the credentials file, or
/// dev mode's keys), fixed for the server's life, and the managed ones made with
/// `POST /v1/admin/keys` (stored in the database, [`crate::keys`]), which can be revoked.
#[derive(Default, Debug)]
pub struct Credentials {
    by_hash: HashMap<[u8; 32], Principal>,
    managed: std::sync::RwLock<HashMap<[u8; 32], Principal>>,
}

impl Credentials {
    /// Adds a key (kept only as its digest). Keys must be non-blank, without whitespace, and distinct.
    pub fn add_key(&mut self, key: &str, principal: Principal) -> Result<(), String> {
        if key.trim().is_empty() || key.contains(char::is_whitespace) {
            return Err(format!(
                "the {} key must be non-empty and without spaces",
                principal.role.name()
            ));
        }
        self.add_hash(hash_key(key), principal)
    }

    /// Adds a credential by the SHA-256 of its key.
    pub fn add_hash(&mut self, hash: [u8; 32], principal: Principal) -> Result<(), String> {
        if principal.identity.trim().is_empty() {
            return Err("every credential needs an identity".into());
        }
        if principal.role == Role::Issuer && principal.agents.is_empty() {
            return Err(format!(
                "issuer `{}` lists no `agents` it may mint for (use [\"*\"] for any)",
                principal.identity
            ));
        }
        if let Some(other) = self.by_hash.get(&hash) {
            return Err(format!(
                "the same key is given to `{}` ({}) and `{}` ({}): every credential needs its own key",
                other.identity,
                other.role.name(),
                principal.identity,
                principal.role.name()
            ));
        }
        self.by_hash.insert(hash, principal);
        Ok(())
    }

    /// Reads `{"credentials": [{"identity", "role", "key_sha256", "agents"?}]}`.
    pub fn from_json(text: &str) -> Result<Credentials, String> {
        let file: File = serde_json::from_str(text).map_err(|e| format!("invalid credentials file: {e}"))?;
        let mut c = Credentials::default();
        for (i, e) in file.credentials.into_iter().enumerate() {
            let hash = unhex(&e.key_sha256.to_ascii_lowercase())
                .ok_or_else(|| format!("credential {i}: `key_sha256` must be 64 hex digits"))?;
            c.add_hash(
                hash,
                Principal {
                    identity: e.identity,
                    role: e.role,
                    agents: e.agents,
                },
            )
            .map_err(|m| format!("credential {i}: {m}"))?;
        }
        if c.by_hash.is_empty() {
            return Err("the credentials file lists no credential".into());
        }
        Ok(c)
    }

    /// The principal whose key this is.
    pub fn lookup(&self, key: &str) -> Option<Principal> {
        self.lookup_hash(&hash_key(key))
    }

    /// The principal whose key has this digest.
    pub fn lookup_hash(&self, hash: &[u8; 32]) -> Option<Principal> {
        if let Some(p) = self.by_hash.get(hash) {
            return Some(p.clone());
        }
        self.managed().get(hash).cloned()
    }

    fn managed(&self) -> std::sync::RwLockReadGuard<'_, HashMap<[u8; 32], Principal>> {
        self.managed.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Accepts a managed key (by digest) from now on.
    pub fn add_managed(&self, hash: [u8; 32], principal: Principal) {
        self.managed
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(hash, principal);
    }

    /// Refuses a managed key from now on.
    pub fn remove_managed(&self, hash: &[u8; 32]) {
        self.managed.write().unwrap_or_else(|p| p.into_inner()).remove(hash);
    }

    /// Accepts exactly these managed keys from now on (what the database holds, re-read when
    /// another replica made or revoked one).
    pub fn replace_managed(&self, keys: HashMap<[u8; 32], Principal>) {
        *self.managed.write().unwrap_or_else(|p| p.into_inner()) = keys;
    }

    /// Whether a digest is one of the bootstrap credentials (never revoked through the API).
    pub fn is_bootstrap(&self, hash: &[u8; 32]) -> bool {
        self.by_hash.contains_key(hash)
    }

    /// The bootstrap credentials' principals, sorted by role and identity.
    pub fn bootstrap(&self) -> Vec<Principal> {
        let mut v: Vec<Principal> = self.by_hash.values().cloned().collect();
        v.sort_by(|a, b| (a.role.name(), &a.identity).cmp(&(b.role.name(), &b.identity)));
        v
    }

    /// How many credentials of `role` there are.
    pub fn count(&self, role: Role) -> usize {
        self.by_hash.values().filter(|p| p.role == role).count()
    }
}

/// Checks the bearer key and that its role is one of `allowed`: `401 unauthorized` for a missing
/// or unknown key, `403 forbidden_role` for a known key of another role.
#[expect(clippy::result_large_err, reason = "see `error::parse`")]
pub fn authorize(credentials: &Credentials, headers: &HeaderMap, allowed: &[Role]) -> Result<Principal, Response> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(principal) = presented.and_then(|k| credentials.lookup(k)) else {
        let mut r = error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or unknown `Authorization: Bearer <api key>`",
        );
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return Err(r);
    };
    if !allowed.contains(&principal.role) {
        let wanted: Vec<&str> = allowed.iter().map(|r| r.name()).collect();
        return Err(error(
            StatusCode::FORBIDDEN,
            "forbidden_role",
            format!(
                "this route needs a key with the role {}; this key has the role {}",
                wanted.join(" or "),
                principal.role.name()
            ),
        ));
    }
    Ok(principal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_by_digest_and_must_be_distinct() {
        let mut c = Credentials::default();
        let p = |role| Principal {
            identity: "x".into(),
            role,
            agents: vec!["*".into()],
        };
        c.add_key("k1", p(Role::Agent)).unwrap();
        assert_eq!(c.lookup("k1").map(|p| p.role), Some(Role::Agent));
        assert!(c.lookup("k2").is_none());
        assert!(c.add_key("k1", p(Role::Admin)).unwrap_err().contains("its own key"));
        let file = format!(
            r#"{{"credentials":[{{"identity":"alice","role":"approver","key_sha256":"{}"}}]}}"#,
            hex(&hash_key("secret"))
        );
        let c = Credentials::from_json(&file).unwrap();
        assert_eq!(c.lookup("secret").unwrap().identity, "alice");
        assert!(!format!("{c:?}").contains("secret"));
    }
}
