//! Managed API keys (`POST /v1/admin/keys`, `act admin keys ...`): made by an admin, shown once,
//! stored as their SHA-256 in the database (table `api_keys`, migration `0004`), revocable and
//! rotatable. The credentials file's keys (or dev mode's) stay the bootstrap credentials: they
//! are how the first admin gets in, and they change only by editing the file.

use crate::auth::{hash_key, hex, Principal, Role};
use crate::store::Store;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::SecureRandom;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

/// A managed key's record (never the key).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KeyRecord {
    /// `key_...`: how commands name it.
    pub id: String,
    /// Who it authenticates.
    pub identity: String,
    /// Its one role.
    pub role: Role,
    /// Issuer only: the agents it may mint for.
    pub agents: Vec<String>,
    /// When, ms.
    pub created_at_ms: i64,
    /// The admin who made it.
    pub created_by: String,
    /// When it was revoked (none = live).
    pub revoked_at_ms: Option<i64>,
    /// The admin who revoked it (or rotated it away).
    pub revoked_by: Option<String>,
    /// The key this one replaced.
    pub rotated_from: Option<String>,
}

/// Why a key change was not made.
#[derive(Debug)]
pub enum KeyError {
    /// No such id (`404 key_not_found`).
    NotFound(String),
    /// Revoked already (`409 key_revoked`).
    Revoked(String),
    /// Invalid request (`400`).
    Invalid(String),
    /// Storage failed (`503`).
    Failed(String),
}

fn random(n: usize) -> Result<String, KeyError> {
    let mut b = vec![0u8; n];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| KeyError::Failed("the system random source failed".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(b))
}

fn db(e: sqlx::Error) -> KeyError {
    KeyError::Failed(format!("api keys: {e}"))
}

fn role_of(s: &str) -> Role {
    match s {
        "issuer" => Role::Issuer,
        "approver" => Role::Approver,
        "admin" => Role::Admin,
        _ => Role::Agent,
    }
}

fn record(r: &AnyRow) -> KeyRecord {
    KeyRecord {
        id: r.get("id"),
        identity: r.get("identity"),
        role: role_of(&r.get::<String, _>("role")),
        agents: serde_json::from_str(&r.get::<String, _>("agents")).unwrap_or_default(),
        created_at_ms: r.get("created_at_ms"),
        created_by: r.get("created_by"),
        revoked_at_ms: r.get("revoked_at_ms"),
        revoked_by: r.get("revoked_by"),
        rotated_from: r.get("rotated_from"),
    }
}

/// Checks what a new key is for.
pub fn check_principal(p: &Principal) -> Result<(), KeyError> {
    if p.identity.trim().is_empty() || p.identity.chars().count() > 200 {
        return Err(KeyError::Invalid("`identity` must be 1 to 200 characters".into()));
    }
    if p.role == Role::Issuer && p.agents.is_empty() {
        return Err(KeyError::Invalid(
            "an issuer key lists the `agents` it may mint for ([\"*\"] for any)".into(),
        ));
    }
    if p.role != Role::Issuer && !p.agents.is_empty() {
        return Err(KeyError::Invalid("only issuer keys take `agents`".into()));
    }
    if p.agents.len() > 1000 || p.agents.iter().any(|a| a.trim().is_empty()) {
        return Err(KeyError::Invalid(
            "`agents` must be at most 1000 non-blank names".into(),
        ));
    }
    Ok(())
}

/// The table.
#[derive(Clone, Debug)]
pub struct KeyStore {
    store: Store,
}

const SELECT: &str = "SELECT id, identity, role, agents, created_at_ms, created_by, revoked_at_ms, revoked_by, \
                      rotated_from FROM api_keys";

impl KeyStore {
    /// The table in `store`.
    pub fn in_store(store: Store) -> KeyStore {
        KeyStore { store }
    }

    /// Every live key's digest and principal (loaded at start).
    pub async fn live(&self) -> Result<Vec<([u8; 32], Principal)>, KeyError> {
        let rows = sqlx::query("SELECT key_sha256, identity, role, agents FROM api_keys WHERE revoked_at_ms IS NULL")
            .fetch_all(self.store.pool())
            .await
            .map_err(db)?;
        let mut out = Vec::new();
        for r in rows {
            let Some(hash) = crate::auth::unhex(&r.get::<String, _>("key_sha256")) else {
                continue;
            };
            out.push((
                hash,
                Principal {
                    identity: r.get("identity"),
                    role: role_of(&r.get::<String, _>("role")),
                    agents: serde_json::from_str(&r.get::<String, _>("agents")).unwrap_or_default(),
                },
            ));
        }
        Ok(out)
    }

    /// Every managed key, newest first.
    pub async fn list(&self) -> Result<Vec<KeyRecord>, KeyError> {
        let rows = sqlx::query(&format!("{SELECT} ORDER BY created_at_ms DESC, id"))
            .fetch_all(self.store.pool())
            .await
            .map_err(db)?;
        Ok(rows.iter().map(record).collect())
    }

    /// One key.
    pub async fn get(&self, id: &str) -> Result<KeyRecord, KeyError> {
        let r = sqlx::query(&format!("{SELECT} WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.store.pool())
            .await
            .map_err(db)?;
        r.as_ref()
            .map(record)
            .ok_or_else(|| KeyError::NotFound(format!("there is no managed key `{id}`")))
    }

    /// Makes a key for `p` (and, with `replaces`, revokes that one in the same transaction).
    /// Returns the record, the key (shown once) and its digest.
    pub async fn create(
        &self,
        p: &Principal,
        by: &str,
        replaces: Option<&str>,
        now_ms: i64,
    ) -> Result<(KeyRecord, String, [u8; 32]), KeyError> {
        check_principal(p)?;
        let key = format!("act_{}_{}", p.role.name(), random(32)?);
        let id = format!("key_{}", random(12)?);
        let digest = hash_key(&key);
        let agents = serde_json::to_string(&p.agents).map_err(|e| KeyError::Failed(e.to_string()))?;
        let mut tx = self.store.begin().await.map_err(KeyError::Failed)?;
        if let Some(old) = replaces {
            let done = sqlx::query(
                "UPDATE api_keys SET revoked_at_ms = $1, revoked_by = $2 WHERE id = $3 AND revoked_at_ms IS NULL",
            )
            .bind(now_ms)
            .bind(by)
            .bind(old)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            if done.rows_affected() != 1 {
                return Err(KeyError::Revoked(format!("key `{old}` is revoked already")));
            }
        }
        sqlx::query(
            "INSERT INTO api_keys (id, key_sha256, identity, role, agents, created_at_ms, created_by, rotated_from)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(hex(&digest))
        .bind(&p.identity)
        .bind(p.role.name())
        .bind(agents)
        .bind(now_ms)
        .bind(by)
        .bind(replaces.map(str::to_string))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        self.store.notify(&mut tx, "keys").await.map_err(KeyError::Failed)?;
        tx.commit().await.map_err(db)?;
        let rec = KeyRecord {
            id,
            identity: p.identity.clone(),
            role: p.role,
            agents: p.agents.clone(),
            created_at_ms: now_ms,
            created_by: by.to_string(),
            revoked_at_ms: None,
            revoked_by: None,
            rotated_from: replaces.map(str::to_string),
        };
        Ok((rec, key, digest))
    }

    /// Revokes a key; returns its record and digest.
    pub async fn revoke(&self, id: &str, by: &str, now_ms: i64) -> Result<(KeyRecord, [u8; 32]), KeyError> {
        let mut tx = self.store.begin().await.map_err(KeyError::Failed)?;
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at_ms = $1, revoked_by = $2 WHERE id = $3 AND revoked_at_ms IS NULL",
        )
        .bind(now_ms)
        .bind(by)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if done.rows_affected() == 1 {
            self.store.notify(&mut tx, "keys").await.map_err(KeyError::Failed)?;
        }
        tx.commit().await.map_err(db)?;
        let rec = self.get(id).await?;
        if done.rows_affected() != 1 {
            return Err(KeyError::Revoked(format!("key `{id}` is revoked already")));
        }
        Ok((rec, self.digest(id).await?))
    }

    /// A key's digest.
    pub async fn digest(&self, id: &str) -> Result<[u8; 32], KeyError> {
        let (h,): (String,) = sqlx::query_as("SELECT key_sha256 FROM api_keys WHERE id = $1")
            .bind(id)
            .fetch_optional(self.store.pool())
            .await
            .map_err(db)?
            .ok_or_else(|| KeyError::NotFound(format!("there is no managed key `{id}`")))?;
        crate::auth::unhex(&h).ok_or_else(|| KeyError::Failed(format!("key `{id}`: stored digest unreadable")))
    }
}
