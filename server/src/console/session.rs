//! Console sessions: a login with an approver or admin key opens a server-side session; the
//! browser holds only a random session id in a cookie (`HttpOnly`, `SameSite=Strict`, `Secure`
//! under TLS, `Path=/console`). Sessions end at logout, after [`IDLE_MS`] without a page or form
//! (background polling does not count), or [`MAX_AGE_MS`] after login, whichever comes first.
//!
//! Every state-changing request (every `POST`) carries the session's CSRF token as the form field
//! `csrf`, compared with the one the server keeps; the login form carries one too, bound to a
//! short-lived pre-login cookie (double submit), so a third-party page cannot log a browser in
//! under the attacker's key. `SameSite=Strict` already keeps the cookie off cross-site posts; the
//! token is the second, independent lock.

use crate::auth::{hash_key, Principal, Role};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};
use std::collections::HashMap;
use std::sync::Mutex;

/// The session cookie.
pub const COOKIE: &str = "act_console";
/// The pre-login cookie that binds the login form's CSRF token.
pub const LOGIN_COOKIE: &str = "act_console_login";
/// A session ends after this long without a page or form (polling does not count).
pub const IDLE_MS: i64 = 30 * 60 * 1000;
/// A session ends this long after login, however active.
pub const MAX_AGE_MS: i64 = 12 * 60 * 60 * 1000;
/// Most sessions kept; beyond it the least recently used is ended.
pub const MAX_SESSIONS: usize = 10_000;
/// The roles that may log in.
pub const CONSOLE_ROLES: [Role; 2] = [Role::Approver, Role::Admin];

/// One logged-in operator.
#[derive(Clone, Debug)]
pub struct Session {
    /// Who, with which role (from the credential used at login).
    pub principal: Principal,
    /// The token every form of this session must carry.
    pub csrf: String,
    /// Login time, ms.
    pub created_ms: i64,
    /// Last request, ms.
    pub last_ms: i64,
    /// The SHA-256 of the key used at login: a session ends when its key is revoked.
    pub key_digest: [u8; 32],
}

/// Every open session, by the SHA-256 of its id (the ids themselves are not kept).
#[derive(Default)]
pub struct Sessions {
    by_digest: Mutex<HashMap<[u8; 32], Session>>,
}

/// 32 random bytes, base64url (256 bits: not guessable).
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    // The system RNG failing is not recoverable; an all-zero token would be guessable, so refuse.
    if SystemRandom::new().fill(&mut b).is_err() {
        std::process::abort();
    }
    URL_SAFE_NO_PAD.encode(b)
}

/// Compares two secrets by their digests (no early exit over the secret's bytes).
pub fn same_secret(a: &str, b: &str) -> bool {
    hash_key(a) == hash_key(b)
}

impl Sessions {
    /// Opens a session for `principal`; returns its id (for the cookie) and the session.
    pub fn open(&self, principal: Principal, key_digest: [u8; 32], now_ms: i64) -> (String, Session) {
        let id = random_token();
        let s = Session {
            principal,
            key_digest,
            csrf: random_token(),
            created_ms: now_ms,
            last_ms: now_ms,
        };
        let mut map = self.lock();
        map.retain(|_, s| live(s, now_ms));
        if map.len() >= MAX_SESSIONS {
            if let Some(k) = map.iter().min_by_key(|(_, s)| s.last_ms).map(|(k, _)| *k) {
                map.remove(&k);
            }
        }
        map.insert(hash_key(&id), s.clone());
        (id, s)
    }

    /// The live session with this id, its last use set to now; an expired one is ended.
    pub fn touch(&self, id: &str, now_ms: i64) -> Option<Session> {
        let mut map = self.lock();
        let k = hash_key(id);
        match map.get_mut(&k) {
            Some(s) if live(s, now_ms) => {
                s.last_ms = now_ms;
                Some(s.clone())
            }
            Some(_) => {
                map.remove(&k);
                None
            }
            None => None,
        }
    }

    /// Like [`Sessions::touch`] without counting as activity: background polling does not keep
    /// an unattended console logged in.
    pub fn peek(&self, id: &str, now_ms: i64) -> Option<Session> {
        let map = self.lock();
        map.get(&hash_key(id)).filter(|s| live(s, now_ms)).cloned()
    }

    /// Ends the session with this id.
    pub fn close(&self, id: &str) {
        self.lock().remove(&hash_key(id));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Session>> {
        self.by_digest.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn live(s: &Session, now_ms: i64) -> bool {
    now_ms - s.last_ms < IDLE_MS && now_ms - s.created_ms < MAX_AGE_MS
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value for the console (`max_age_s` 0 deletes it).
pub fn set_cookie(name: &str, value: &str, max_age_s: i64, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approver() -> Principal {
        Principal {
            identity: "alice".into(),
            role: Role::Approver,
            agents: vec![],
        }
    }

    #[test]
    fn sessions_expire_when_idle_or_old_and_end_at_logout() {
        let s = Sessions::default();
        let (id, _) = s.open(approver(), [0; 32], 0);
        assert!(s.touch(&id, IDLE_MS - 1).is_some());
        assert!(
            s.touch(&id, 2 * IDLE_MS - 2).is_some(),
            "each request extends the idle limit"
        );
        assert!(s.touch(&id, 4 * IDLE_MS).is_none(), "idle too long");
        let (id, _) = s.open(approver(), [0; 32], 0);
        let mut t = 0;
        while t < MAX_AGE_MS - IDLE_MS {
            t += IDLE_MS / 2;
            assert!(s.touch(&id, t).is_some());
        }
        assert!(s.touch(&id, MAX_AGE_MS).is_none(), "older than the maximum age");
        let (id, _) = s.open(approver(), [0; 32], 0);
        assert!(s.peek(&id, IDLE_MS - 1).is_some());
        assert!(
            s.peek(&id, IDLE_MS).is_none(),
            "peeking (polling) does not extend the session"
        );
        let (id, _) = s.open(approver(), [0; 32], 0);
        s.close(&id);
        assert!(s.touch(&id, 1).is_none());
        assert!(s.touch("unknown", 1).is_none());
    }

    #[test]
    fn tokens_are_random_and_cookies_strict() {
        assert_ne!(random_token(), random_token());
        assert_eq!(random_token().len(), 43);
        let c = set_cookie(COOKIE, "v", 60, true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.ends_with("; Secure"));
        assert!(!set_cookie(COOKIE, "v", 60, false).contains("Secure"));
    }
}
