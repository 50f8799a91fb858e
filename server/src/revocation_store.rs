//! Revocations and kill switches in the database (tables `revoked`, `kill_switches`,
//! `revocation_events`; SQLite migration `0005`): what is in effect now, one row per item with who
//! added it, when and why, and the history of every add and lift.
//!
//! A change ([`crate::state::App::change_revocations`]) is one transaction: the snapshot revision
//! is bumped first (which serialises changes across replicas), the state is read back inside the
//! transaction, the change is applied to it by [`RevocationState`]'s checks, and only the
//! difference is written, with its event. A `revocations.json` left by an earlier version is
//! imported once ([`import_file`]).

use crate::revocations::{Event, RevocationState};
use crate::store::{Store, Tx};
use act_core::policy::{GrantRevocation, KillSwitches};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::path::Path;

fn db(e: sqlx::Error) -> String {
    format!("revocations: {e}")
}

/// Reads what is in effect (and, with `history`, every event) through `ex`.
pub async fn load(conn: &mut AnyConnection, history: bool) -> Result<RevocationState, String> {
    let mut s = RevocationState::default();
    let rows: Vec<AnyRow> = sqlx::query("SELECT kind, value FROM revoked ORDER BY seq")
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
    for r in rows {
        let value: String = r.get("value");
        match r.get::<String, _>("kind").as_str() {
            "token" => s.tokens.push(value),
            "agent" => s.agents.push(value),
            "subject" => s.subjects.push(value),
            _ => s.grants.push(
                serde_json::from_str(&value).map_err(|e| format!("a stored grant revocation is unreadable: {e}"))?,
            ),
        }
    }
    let rows: Vec<AnyRow> = sqlx::query("SELECT kind, name FROM kill_switches ORDER BY seq")
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
    let mut ks = KillSwitches::default();
    for r in &rows {
        let name: String = r.get("name");
        match r.get::<String, _>("kind").as_str() {
            "all" => ks.all = true,
            "agent" => ks.agents.push(name),
            _ => ks.actions.push(name),
        }
    }
    if history {
        let rows: Vec<AnyRow> =
            sqlx::query("SELECT at_ms, by_identity, action, target, reason FROM revocation_events ORDER BY seq")
                .fetch_all(&mut *conn)
                .await
                .map_err(db)?;
        for r in rows {
            s.history.push(Event {
                at_ms: r.get("at_ms"),
                by: r.get("by_identity"),
                action: r.get("action"),
                target: serde_json::from_str(&r.get::<String, _>("target")).unwrap_or_default(),
                reason: r.get("reason"),
            });
        }
    }
    // `null` until a switch was ever changed, as the JSON file had it.
    if !rows.is_empty() || s.history.iter().any(|e| e.action.starts_with("kill_switch")) {
        s.kill_switches = Some(ks);
    }
    Ok(s)
}

/// The items of a state as (kind, value) rows.
fn revoked_rows(s: &RevocationState) -> Vec<(&'static str, String)> {
    let grant = |g: &GrantRevocation| serde_json::to_string(g).unwrap_or_default();
    let mut v: Vec<(&'static str, String)> = Vec::new();
    v.extend(s.tokens.iter().map(|t| ("token", t.clone())));
    v.extend(s.agents.iter().map(|t| ("agent", t.clone())));
    v.extend(s.subjects.iter().map(|t| ("subject", t.clone())));
    v.extend(s.grants.iter().map(|g| ("grant", grant(g))));
    v
}

fn switch_rows(s: &RevocationState) -> Vec<(&'static str, String)> {
    let Some(k) = &s.kill_switches else {
        return Vec::new();
    };
    let mut v: Vec<(&'static str, String)> = Vec::new();
    if k.all {
        v.push(("all", String::new()));
    }
    v.extend(k.agents.iter().map(|a| ("agent", a.clone())));
    v.extend(k.actions.iter().map(|a| ("action", a.clone())));
    v
}

/// Who added rows, when and why.
pub struct Origin<'a> {
    /// When, ms.
    pub at_ms: i64,
    /// The identity.
    pub by: &'a str,
    /// Why.
    pub reason: &'a str,
}

/// One table of current rows (`revoked` or `kill_switches`): its name and the names of its columns.
struct RowTable {
    table: &'static str,
    value: &'static str,
    added_at: &'static str,
    added_by: &'static str,
}

const REVOKED: RowTable = RowTable {
    table: "revoked",
    value: "value",
    added_at: "added_at_ms",
    added_by: "added_by",
};

const SWITCHES: RowTable = RowTable {
    table: "kill_switches",
    value: "name",
    added_at: "on_at_ms",
    added_by: "on_by",
};

/// Inserts the rows of `new` that `old` lacks (marked with `origin`) and deletes the rows of `old`
/// that `new` lacks. Table and column names are the constants above, never input.
async fn sync_rows(
    tx: &mut Tx,
    t: &RowTable,
    old: &[(&'static str, String)],
    new: &[(&'static str, String)],
    origin: &Origin<'_>,
) -> Result<(), String> {
    let insert = format!(
        "INSERT INTO {} (kind, {}, {}, {}, reason) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (kind, {}) DO NOTHING",
        t.table, t.value, t.added_at, t.added_by, t.value
    );
    for (kind, value) in new.iter().filter(|r| !old.contains(r)) {
        sqlx::query(&insert)
            .bind(*kind)
            .bind(value)
            .bind(origin.at_ms)
            .bind(origin.by)
            .bind(origin.reason)
            .execute(&mut **tx)
            .await
            .map_err(db)?;
    }
    let delete = format!("DELETE FROM {} WHERE kind = $1 AND {} = $2", t.table, t.value);
    for (kind, value) in old.iter().filter(|r| !new.contains(r)) {
        sqlx::query(&delete)
            .bind(*kind)
            .bind(value)
            .execute(&mut **tx)
            .await
            .map_err(db)?;
    }
    Ok(())
}

/// Writes the difference between `before` and `after` and the events `after.history` holds
/// beyond `before.history`, inside `tx`; new rows are marked with `origin`.
pub async fn write(
    tx: &mut Tx,
    before: &RevocationState,
    after: &RevocationState,
    origin: Origin<'_>,
) -> Result<(), String> {
    sync_rows(tx, &REVOKED, &revoked_rows(before), &revoked_rows(after), &origin).await?;
    sync_rows(tx, &SWITCHES, &switch_rows(before), &switch_rows(after), &origin).await?;
    for e in &after.history[before.history.len().min(after.history.len())..] {
        sqlx::query(
            "INSERT INTO revocation_events (at_ms, by_identity, action, target, reason) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(e.at_ms)
        .bind(&e.by)
        .bind(&e.action)
        .bind(e.target.to_string())
        .bind(&e.reason)
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    }
    Ok(())
}

/// Imports `<dir>/revocations.json` (what servers before the database wrote) when the database
/// holds no revocation state yet, in one transaction, then renames the file
/// `revocations.json.imported` so it is not read again. A file found beside a database that
/// already has state (another replica imported its own, or the rename failed) is left alone
/// with a warning: the database is the truth. Returns whether it imported.
pub async fn import_file(store: &Store, dir: &Path, now_ms: i64) -> Result<bool, String> {
    let path = dir.join("revocations.json");
    let Some(old) = RevocationState::load_file(&path)? else {
        return Ok(false);
    };
    let mut tx = store.begin().await?;
    Store::bump_revision(&mut tx, now_ms).await?;
    let (n,): (i64,) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM revoked) + (SELECT COUNT(*) FROM kill_switches) + (SELECT COUNT(*) FROM revocation_events)",
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    if n > 0 {
        eprintln!(
            "warning: {} is not imported: the database holds revocations already (it is the truth)",
            path.display()
        );
        return Ok(false);
    }
    let origin = Origin {
        at_ms: now_ms,
        by: "import",
        reason: "imported from revocations.json",
    };
    write(&mut tx, &RevocationState::default(), &old, origin).await?;
    store.notify(&mut tx, "snapshot").await?;
    tx.commit().await.map_err(db)?;
    let done = dir.join("revocations.json.imported");
    std::fs::rename(&path, &done).map_err(|e| format!("imported {} but cannot rename it: {e}", path.display()))?;
    eprintln!(
        "revocations: imported {} into the database (kept as {})",
        path.display(),
        done.display()
    );
    Ok(true)
}
