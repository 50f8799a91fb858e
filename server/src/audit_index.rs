//! A bounded, indexed copy of the ingested audit records, for queries (the console's audit
//! explorer and its JSONL export). The audit log file stays the append-only evidence and the
//! chains ([`crate::audit_chains`]) are still checked from it; this index only answers "which
//! records match": by agent, subject, outcome, reason, action and time.
//!
//! It lives in the server's database (table `audit_records`; SQLite migration `0002`, or
//! PostgreSQL), in memory for `act serve` without `--state-dir` (gone at exit, like its approvals). At most
//! [`MAX_INDEXED`] records are kept; the oldest by arrival are deleted beyond it.

use crate::audit_chains::{ChainKey, UNKNOWN_INSTANCE};
use act_core::audit::AuditRecord;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::AnyPool;
use std::io::BufRead;
use std::path::Path;

/// Most records kept in the index.
pub const MAX_INDEXED: i64 = 1_000_000;

/// Most records one query returns.
pub const MAX_RESULTS: i64 = 10_000;

/// The index.
#[derive(Clone, Debug)]
pub struct AuditIndex {
    pool: AnyPool,
    max: i64,
}

/// What to look for; every member set must match (text members match exactly).
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Agent id.
    pub agent: Option<String>,
    /// Subject (user id).
    pub subject: Option<String>,
    /// `allow`, `deny` or `approval_required`.
    pub outcome: Option<String>,
    /// Reason code, e.g. `constraint_failed`.
    pub reason: Option<String>,
    /// Action.
    pub action: Option<String>,
    /// Decided at or after, ms.
    pub from_ms: Option<i64>,
    /// Decided before, ms.
    pub to_ms: Option<i64>,
    /// Most records (capped at [`MAX_RESULTS`]).
    pub limit: i64,
}

/// A search as people and scripts send it (query string; every member optional, blank = any):
/// the console's audit form and `GET /v1/audit/records` read the same one.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Search {
    /// Agent id.
    #[serde(default)]
    pub agent: String,
    /// Subject (user id).
    #[serde(default)]
    pub user: String,
    /// `allow`, `deny` or `approval_required`.
    #[serde(default)]
    pub outcome: String,
    /// Reason code.
    #[serde(default)]
    pub reason: String,
    /// Action.
    #[serde(default)]
    pub action: String,
    /// From (inclusive): RFC 3339 (`2026-12-02T00:30:00Z`) or a date and time read as UTC
    /// (`2026-12-02T00:30`, what a `datetime-local` field sends).
    #[serde(default)]
    pub from: String,
    /// To (exclusive), as `from`.
    #[serde(default)]
    pub to: String,
    /// Most records.
    #[serde(default)]
    pub limit: String,
}

fn opt(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

/// A time as [`Search::from`] takes it, in ms.
pub fn parse_time(s: &str) -> Option<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(s, f).ok())
        .map(|t| t.and_utc().timestamp_millis())
}

impl Search {
    /// The filter it asks for (`Err` names the member that is wrong).
    pub fn filter(&self, default_limit: i64) -> Result<Filter, String> {
        let time = |s: &str, what: &str| match opt(s) {
            None => Ok(None),
            Some(t) => parse_time(&t)
                .map(Some)
                .ok_or_else(|| format!("`{what}` must be a time like 2026-12-02T00:30:00Z or 2026-12-02T00:30 (UTC)")),
        };
        Ok(Filter {
            agent: opt(&self.agent),
            subject: opt(&self.user),
            outcome: opt(&self.outcome),
            reason: opt(&self.reason),
            action: opt(&self.action),
            from_ms: time(&self.from, "from")?,
            to_ms: time(&self.to, "to")?,
            limit: match opt(&self.limit) {
                None => default_limit,
                Some(l) => l.parse().map_err(|_| "`limit` must be a whole number".to_string())?,
            },
        })
    }

    /// The query string that asks for it again.
    pub fn query_string(&self) -> String {
        serde_urlencoded::to_string(self).unwrap_or_default()
    }
}

/// The records as JSON Lines (one record as ingested per line).
pub fn jsonl(found: &[Indexed]) -> String {
    let mut body = String::new();
    for i in found {
        body.push_str(&i.record.to_string());
        body.push('\n');
    }
    body
}

/// One indexed record.
#[derive(Clone, Debug)]
pub struct Indexed {
    /// The chain it was posted on.
    pub chain: ChainKey,
    /// The record as posted (hash-verified at ingest).
    pub record: Value,
}

impl AuditIndex {
    /// The index in an open (already migrated) database.
    pub fn in_pool(pool: AnyPool) -> AuditIndex {
        AuditIndex { pool, max: MAX_INDEXED }
    }

    /// An in-memory database of its own (see [`crate::store::Store::memory`]).
    pub async fn in_memory() -> Result<AuditIndex, String> {
        Ok(AuditIndex::in_pool(crate::store::Store::memory().await?.pool().clone()))
    }

    /// Keeps at most `max` records (tests use a small bound).
    pub fn with_max(mut self, max: i64) -> AuditIndex {
        self.max = max.max(1);
        self
    }

    /// Indexes records posted on `chain` (already checked by the ingest). A record id already
    /// indexed is skipped, so a batch retried after a failure here is indexed whole.
    pub async fn insert(&self, chain: &ChainKey, records: &[Value]) -> Result<(), String> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| format!("cannot index audit records: {e}"))?;
        for v in records {
            let Ok(r) = serde_json::from_value::<AuditRecord>(v.clone()) else {
                continue;
            };
            let at_ms = chrono::DateTime::parse_from_rfc3339(&r.time)
                .map(|t| t.timestamp_millis())
                .unwrap_or(0);
            sqlx::query(
                "INSERT INTO audit_records
                   (id, at_ms, credential, instance, agent, subject, action, outcome, reason, record)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING",
            )
            .bind(&r.id)
            .bind(at_ms)
            .bind(&chain.credential)
            .bind(&chain.instance)
            .bind(r.agent.clone())
            .bind(r.subject.clone())
            .bind(&r.action)
            .bind(r.outcome.as_str())
            .bind(r.reason.as_str())
            .bind(v.to_string())
            .execute(&mut *tx)
            .await
            .map_err(|e| format!("cannot index audit records: {e}"))?;
        }
        sqlx::query("DELETE FROM audit_records WHERE seq <= (SELECT MAX(seq) FROM audit_records) - $1")
            .bind(self.max)
            .execute(&mut *tx)
            .await
            .map_err(|e| format!("cannot bound the audit index: {e}"))?;
        tx.commit()
            .await
            .map_err(|e| format!("cannot index audit records: {e}"))
    }

    /// Fills an empty index from an audit log file written by the ingest (each line a record with
    /// its `ingest` note naming the chain): records ingested before the index existed, or by an
    /// `act serve` whose index was in memory, become searchable. Returns how many were indexed.
    pub async fn backfill(&self, log: &Path) -> Result<usize, String> {
        if self.count().await? > 0 {
            return Ok(0);
        }
        let Ok(file) = std::fs::File::open(log) else {
            return Ok(0);
        };
        let mut batch: Vec<Value> = Vec::new();
        let mut key: Option<ChainKey> = None;
        let mut done = 0;
        for line in std::io::BufReader::new(file).lines() {
            let line = line.map_err(|e| format!("{}: {e}", log.display()))?;
            let Ok(mut v) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            let note = v.as_object_mut().and_then(|o| o.remove("ingest")).unwrap_or_default();
            let k = ChainKey {
                credential: note["credential"].as_str().unwrap_or_default().to_string(),
                instance: note["instance"].as_str().unwrap_or(UNKNOWN_INSTANCE).to_string(),
            };
            if key.as_ref() != Some(&k) || batch.len() >= 1000 {
                if let Some(prev) = &key {
                    done += batch.len();
                    self.insert(prev, &batch).await?;
                }
                batch.clear();
                key = Some(k);
            }
            batch.push(v);
        }
        if let Some(k) = &key {
            done += batch.len();
            self.insert(k, &batch).await?;
        }
        Ok(done)
    }

    /// The matching records, newest first.
    pub async fn search(&self, f: &Filter) -> Result<Vec<Indexed>, String> {
        // Columns are fixed names; every value is a bound parameter.
        let mut sql = String::from("SELECT credential, instance, record FROM audit_records WHERE 1 = 1");
        let mut text: Vec<String> = Vec::new();
        for (column, value) in [
            ("agent", &f.agent),
            ("subject", &f.subject),
            ("outcome", &f.outcome),
            ("reason", &f.reason),
            ("action", &f.action),
        ] {
            if let Some(v) = value {
                text.push(v.clone());
                sql.push_str(&format!(" AND {column} = ${}", text.len()));
            }
        }
        let mut numbers: Vec<i64> = Vec::new();
        for (op, t) in [(">=", f.from_ms), ("<", f.to_ms)] {
            if let Some(t) = t {
                numbers.push(t);
                sql.push_str(&format!(" AND at_ms {op} ${}", text.len() + numbers.len()));
            }
        }
        numbers.push(f.limit.clamp(1, MAX_RESULTS));
        sql.push_str(&format!(
            " ORDER BY at_ms DESC, seq DESC LIMIT ${}",
            text.len() + numbers.len()
        ));
        let mut q = sqlx::query_as::<_, (String, String, String)>(&sql);
        for v in text {
            q = q.bind(v);
        }
        for n in numbers {
            q = q.bind(n);
        }
        let rows = q
            .fetch_all(&self.pool)
            .await
            .map_err(|e| format!("cannot search audit records: {e}"))?;
        Ok(rows.into_iter().filter_map(row).collect())
    }

    /// One record by id.
    pub async fn get(&self, id: &str) -> Result<Option<Indexed>, String> {
        let r: Option<(String, String, String)> =
            sqlx::query_as("SELECT credential, instance, record FROM audit_records WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| format!("cannot read the audit record: {e}"))?;
        Ok(r.and_then(row))
    }

    /// How many records the index holds.
    pub async fn count(&self) -> Result<i64, String> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_records")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| format!("cannot count audit records: {e}"))?;
        Ok(n)
    }
}

fn row((credential, instance, record): (String, String, String)) -> Option<Indexed> {
    Some(Indexed {
        chain: ChainKey { credential, instance },
        record: serde_json::from_str(&record).ok()?,
    })
}
