//! Durable storage through sqlx, on one of two backends behind one code path (sqlx's `Any`
//! driver, with `$1`-style placeholders, which both SQLite and PostgreSQL read):
//!
//! - **SQLite**, the embedded default: one file (`<state-dir>/act.sqlite`, WAL, `synchronous =
//!   FULL`), or an in-memory database without a state folder. Migrations: `server/migrations/sqlite`.
//! - **PostgreSQL** (`--database-url postgres://...`), for several replicas on one database.
//!   Migrations: `server/migrations/postgres`. Every change is announced with `NOTIFY` on
//!   [`CHANNEL`] in the transaction that makes it ([`Store::notify`]), so other replicas wake their long
//!   polls ([`crate::replicas`]).
//!
//! It holds everything the server must not lose: approval requests and their decisions, the audit
//! index ([`crate::audit_index`]), published policy versions ([`crate::policy_store`]), managed
//! API keys ([`crate::keys`]), revocations and kill switches with their history
//! ([`crate::revocation_store`]) and the snapshot revision ([`Store::bump_revision`]).
//!
//! sqlx because it is the maintained async SQL toolkit for tokio (which the server already runs
//! on), with SQLite and PostgreSQL drivers behind one API, a migration runner, and `PgListener`.

use crate::approvals::{Entry, MAX_ENTRIES};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Any, AnyPool, ConnectOptions, Connection, Executor, Row, Transaction};
use std::path::Path;

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The `NOTIFY` channel every change is announced on (PostgreSQL only).
pub const CHANNEL: &str = "act_changes";

/// Which database the server runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// One file or memory; one process.
    Sqlite,
    /// Shared by replicas.
    Postgres,
}

/// A database transaction.
pub type Tx = Transaction<'static, Any>;

/// The database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The PostgreSQL URL (the change listener opens its own connection); `None` on SQLite.
    url: Option<String>,
}

fn db(what: &str) -> impl Fn(sqlx::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// `sqlite://<path>` with the bytes a URL cannot hold percent-encoded (sqlx decodes them).
fn sqlite_url(path: &Path) -> Result<String, String> {
    let text = path
        .to_str()
        .ok_or_else(|| format!("{}: the database path must be UTF-8", path.display()))?;
    let mut url = String::from("sqlite://");
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"/._-~".contains(&b) {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(url)
}

impl Store {
    /// Opens (creating if needed) and migrates the SQLite database at `path`.
    pub async fn open(path: &Path) -> Result<Store, String> {
        sqlx::any::install_default_drivers();
        // WAL is a property of the file: set it once with the native driver before pooling.
        let native = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full);
        native
            .connect()
            .await
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?
            .close()
            .await
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    // Every committed decision survives a power loss, not only a crash.
                    conn.execute("PRAGMA synchronous = FULL").await?;
                    Ok(())
                })
            })
            .connect(&sqlite_url(path)?)
            .await
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let store = Store {
            pool,
            backend: Backend::Sqlite,
            url: None,
        };
        store
            .migrate()
            .await
            .map_err(|e| format!("cannot migrate {}: {e}", path.display()))?;
        Ok(store)
    }

    /// An in-memory SQLite database, migrated (without a state folder): one connection that never
    /// closes (closing it would drop the database).
    pub async fn memory() -> Result<Store, String> {
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .min_connections(1)
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect("sqlite::memory:")
            .await
            .map_err(|e| format!("cannot open the in-memory database: {e}"))?;
        let store = Store {
            pool,
            backend: Backend::Sqlite,
            url: None,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Connects to and migrates the PostgreSQL database at `url` (`postgres://` or
    /// `postgresql://`). Replicas may start at once: sqlx's migrator holds an advisory lock.
    pub async fn connect(url: &str) -> Result<Store, String> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(
                "--database-url must be a PostgreSQL URL (postgres://user@host:port/database); \
                        SQLite is the default in the state folder"
                    .into(),
            );
        }
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(|e| format!("cannot connect to PostgreSQL: {e}"))?;
        let store = Store {
            pool,
            backend: Backend::Postgres,
            url: Some(url.to_string()),
        };
        store
            .migrate()
            .await
            .map_err(|e| format!("cannot migrate the PostgreSQL database: {e}"))?;
        Ok(store)
    }

    /// Runs the backend's embedded migrations.
    pub async fn migrate(&self) -> Result<(), String> {
        let m = match self.backend {
            Backend::Sqlite => &SQLITE,
            Backend::Postgres => &POSTGRES,
        };
        m.run(&self.pool).await.map_err(|e| e.to_string())
    }

    /// The connection pool.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Which backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The PostgreSQL URL (for the change listener).
    pub(crate) fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }

    /// Starts a transaction.
    pub async fn begin(&self) -> Result<Tx, String> {
        self.pool.begin().await.map_err(db("cannot start a transaction"))
    }

    /// Moves the snapshot revision forward (to `now_ms`, or one more than it was) inside `tx` and
    /// returns it. It is a write of one row, so it also serialises changes: on PostgreSQL the row
    /// lock makes a concurrent change on another replica wait for this transaction's end; on
    /// SQLite it takes the write lock.
    pub async fn bump_revision(tx: &mut Tx, now_ms: i64) -> Result<u64, String> {
        let (v,): (i64,) = sqlx::query_as(
            "UPDATE snapshot_revision SET version = CASE WHEN version + 1 > $1 THEN version + 1 ELSE $1 END
             WHERE id = 1 RETURNING version",
        )
        .bind(now_ms)
        .fetch_one(&mut **tx)
        .await
        .map_err(db("cannot move the snapshot revision"))?;
        Ok(v as u64)
    }

    /// The snapshot revision now.
    pub async fn revision(&self) -> Result<u64, String> {
        let (v,): (i64,) = sqlx::query_as("SELECT version FROM snapshot_revision WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(db("cannot read the snapshot revision"))?;
        Ok(v as u64)
    }

    /// Announces a change to the other replicas when `tx` commits (PostgreSQL delivers a
    /// `NOTIFY` only on commit, and not at all on rollback); nothing on SQLite (one process).
    pub async fn notify(&self, tx: &mut Tx, payload: &str) -> Result<(), String> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(payload)
                .execute(&mut **tx)
                .await
                .map_err(db("cannot announce the change"))?;
        }
        Ok(())
    }

    /// The most recent approval entries (at most [`MAX_ENTRIES`]), oldest first.
    pub async fn approvals(&self) -> Result<Vec<Entry>, String> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT entry FROM (SELECT entry, created_at_ms FROM approvals ORDER BY created_at_ms DESC LIMIT $1) AS recent
             ORDER BY created_at_ms",
        )
        .bind(MAX_ENTRIES as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(db("cannot read approvals"))?;
        rows.into_iter().map(|(t,)| entry(&t)).collect()
    }

    /// Entries asked or decided at or after `since_ms` (what another replica may have changed).
    pub async fn approvals_since(&self, since_ms: i64) -> Result<Vec<Entry>, String> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT entry FROM approvals WHERE created_at_ms >= $1 OR decided_at_ms >= $1 ORDER BY created_at_ms LIMIT $2",
        )
        .bind(since_ms)
        .bind(MAX_ENTRIES as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(db("cannot read approvals"))?;
        rows.into_iter().map(|(t,)| entry(&t)).collect()
    }

    /// One entry.
    pub async fn approval(&self, id: &str) -> Result<Option<Entry>, String> {
        let row: Option<AnyRow> = sqlx::query("SELECT entry FROM approvals WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db("cannot read the approval"))?;
        row.map(|r| entry(&r.get::<String, _>("entry"))).transpose()
    }

    /// Stores a new (or re-asked, expired) request, in one transaction announced to the other replicas.
    pub async fn put_approval(&self, e: &Entry) -> Result<(), String> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO approvals (id, status, requested_by, created_at_ms, expires_at_ms, decided_by, decided_at_ms, entry)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, requested_by = excluded.requested_by,
               created_at_ms = excluded.created_at_ms, expires_at_ms = excluded.expires_at_ms,
               decided_by = excluded.decided_by, decided_at_ms = excluded.decided_at_ms, entry = excluded.entry",
        )
        .bind(&e.request.id)
        .bind(status_name(e))
        .bind(&e.requested_by)
        .bind(e.created_at_ms)
        .bind(e.expires_at_ms)
        .bind(e.decided_by.clone())
        .bind(e.decided_at_ms)
        .bind(serde_json::to_string(e).map_err(|e| e.to_string())?)
        .execute(&mut *tx)
        .await
        .map_err(db("cannot store the approval"))?;
        self.notify(&mut tx, &format!("approval:{}", e.request.id)).await?;
        tx.commit().await.map_err(db("cannot store the approval"))
    }

    /// Stores a decision only if the stored request is still pending and unexpired at
    /// `now_ms`: `Ok(false)` when it is not (decided meanwhile, perhaps on another replica), and
    /// nothing changed. One transaction, announced to the other replicas.
    pub async fn decide_approval(&self, e: &Entry, now_ms: i64) -> Result<bool, String> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE approvals SET status = $1, decided_by = $2, decided_at_ms = $3, entry = $4
             WHERE id = $5 AND status = 'pending' AND expires_at_ms > $6",
        )
        .bind(status_name(e))
        .bind(e.decided_by.clone())
        .bind(e.decided_at_ms)
        .bind(serde_json::to_string(e).map_err(|e| e.to_string())?)
        .bind(&e.request.id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(db("cannot store the decision"))?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        self.notify(&mut tx, &format!("approval:{}", e.request.id)).await?;
        tx.commit().await.map_err(db("cannot store the decision"))?;
        Ok(true)
    }
}

fn status_name(e: &Entry) -> String {
    serde_json::to_value(e.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn entry(text: &str) -> Result<Entry, String> {
    serde_json::from_str(text).map_err(|e| format!("a stored approval is unreadable: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_escape_what_a_url_cannot_hold() {
        assert_eq!(
            sqlite_url(Path::new("/tmp/a b/c?#%.sqlite")).unwrap(),
            "sqlite:///tmp/a%20b/c%3F%23%25.sqlite"
        );
    }
}
