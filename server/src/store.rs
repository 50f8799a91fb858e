//! Durable storage through sqlx: SQLite, one file (`<state-dir>/act.sqlite`, WAL), with versioned
//! migrations (`server/migrations/NNNN_*.sql`, embedded with `sqlx::migrate!`). Today it holds
//! approval requests and their decisions, the audit index ([`crate::audit_index`]) and the published
//! policy versions ([`crate::policy_store`]); PostgreSQL for replicas is planned (`docs/server.md`).
//!
//! sqlx because it is the maintained async SQL toolkit for tokio (which the server already runs
//! on), with SQLite and PostgreSQL drivers behind one API and a migration runner.

use crate::approvals::{Entry, MAX_ENTRIES};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::path::Path;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Runs the embedded migrations on `pool`.
pub async fn migrate(pool: &SqlitePool) -> Result<(), String> {
    MIGRATOR.run(pool).await.map_err(|e| e.to_string())
}

/// An in-memory database, migrated (without a state folder): one connection that never closes
/// (closing it would drop the database).
pub async fn memory_pool() -> Result<SqlitePool, String> {
    let pool = SqlitePoolOptions::new()
        .min_connections(1)
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(SqliteConnectOptions::new().in_memory(true))
        .await
        .map_err(|e| format!("cannot open the in-memory database: {e}"))?;
    migrate(&pool).await?;
    Ok(pool)
}

/// The database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub async fn open(path: &Path) -> Result<Store, String> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // Every committed decision survives a power loss, not only a crash.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(std::time::Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        migrate(&pool)
            .await
            .map_err(|e| format!("cannot migrate {}: {e}", path.display()))?;
        Ok(Store { pool })
    }

    /// The connection pool (the audit index shares the database).
    pub fn pool(&self) -> SqlitePool {
        self.pool.clone()
    }

    /// The most recent approval entries (at most [`MAX_ENTRIES`]), oldest first.
    pub async fn approvals(&self) -> Result<Vec<Entry>, String> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT entry FROM (SELECT entry, created_at_ms FROM approvals ORDER BY created_at_ms DESC LIMIT ?) ORDER BY created_at_ms")
                .bind(MAX_ENTRIES as i64)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| format!("cannot read approvals: {e}"))?;
        rows.into_iter()
            .map(|(text,)| serde_json::from_str(&text).map_err(|e| format!("a stored approval is unreadable: {e}")))
            .collect()
    }

    /// Inserts or replaces one entry, in one transaction (committed when this returns `Ok`).
    pub async fn put_approval(&self, e: &Entry) -> Result<(), String> {
        let text = serde_json::to_string(e).map_err(|e| e.to_string())?;
        let status = serde_json::to_value(e.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        sqlx::query(
            "INSERT INTO approvals (id, status, requested_by, created_at_ms, expires_at_ms, decided_by, decided_at_ms, entry)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, requested_by = excluded.requested_by,
               created_at_ms = excluded.created_at_ms, expires_at_ms = excluded.expires_at_ms,
               decided_by = excluded.decided_by, decided_at_ms = excluded.decided_at_ms, entry = excluded.entry",
        )
        .bind(&e.request.id)
        .bind(status)
        .bind(&e.requested_by)
        .bind(e.created_at_ms)
        .bind(e.expires_at_ms)
        .bind(&e.decided_by)
        .bind(e.decided_at_ms)
        .bind(text)
        .execute(&self.pool)
        .await
        .map_err(|e| format!("cannot store the approval: {e}"))?;
        Ok(())
    }
}
