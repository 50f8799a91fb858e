//! Published policy versions in the server's database (table `policy_versions`, migration
//! `0003`): one row per publish, numbered from 1, written in one transaction that also picks the
//! number, so two publishes can never share one.

use crate::policies::TestReport;
use crate::store::Store;
use act_core::policy::PolicySet;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::BTreeMap;

/// Where a version came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// `POST /v1/policies` (`act policy push`).
    Push,
    /// `POST /v1/policies/{v}/rollback`.
    Rollback,
    /// The policy folder the server watches (at start, or when it changed).
    Folder,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::Push => "push",
            Source::Rollback => "rollback",
            Source::Folder => "folder",
        }
    }

    fn parse(s: &str) -> Source {
        match s {
            "push" => Source::Push,
            "rollback" => Source::Rollback,
            _ => Source::Folder,
        }
    }
}

/// A version's record (without its content).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionInfo {
    /// 1, 2, 3, ...
    pub version: u64,
    /// When, ms since the epoch.
    pub published_at_ms: i64,
    /// The identity of the admin credential (or `dev` for the watched folder).
    pub published_by: String,
    /// Why, as given.
    pub reason: String,
    /// Where it came from.
    pub source: Source,
    /// For a rollback: the version whose content it re-published.
    pub rolled_back_from: Option<u64>,
    /// SHA-256 (hex) of the canonical policy set.
    pub digest: String,
    /// How many suites and cases ran, and how many passed.
    pub tests: TestCounts,
}

/// The counts of a [`TestReport`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TestCounts {
    /// Suites run.
    pub suites: usize,
    /// Cases passed.
    pub passed: usize,
    /// Cases failed.
    pub failed: usize,
}

/// A version with its content.
#[derive(Clone, Debug, Serialize)]
pub struct Version {
    /// Its record.
    #[serde(flatten)]
    pub info: VersionInfo,
    /// The canonical policy set served.
    pub policy_set: PolicySet,
    /// The pushed files (empty for a folder change).
    pub files: BTreeMap<String, String>,
    /// Every case's result.
    pub test_results: TestReport,
}

/// What a new version is made of.
pub struct NewVersion {
    /// Who.
    pub by: String,
    /// Why.
    pub reason: String,
    /// From where.
    pub source: Source,
    /// For a rollback.
    pub rolled_back_from: Option<u64>,
    /// The set to serve.
    pub set: PolicySet,
    /// The pushed files.
    pub files: BTreeMap<String, String>,
    /// The suites' report.
    pub tests: TestReport,
}

/// Most versions listed by [`PolicyStore::list`].
pub const MAX_LISTED: i64 = 1000;

/// The versions table.
#[derive(Clone, Debug)]
pub struct PolicyStore {
    store: Store,
}

fn db(e: sqlx::Error) -> String {
    format!("policy versions: {e}")
}

const COLUMNS: &str =
    "version, published_at_ms, published_by, reason, source, rolled_back_from, digest, policy_set, files, tests";

fn row_info(r: &AnyRow) -> Result<(VersionInfo, TestReport), String> {
    let tests: TestReport = serde_json::from_str(&r.get::<String, _>("tests")).map_err(|e| e.to_string())?;
    let info = VersionInfo {
        version: r.get::<i64, _>("version") as u64,
        published_at_ms: r.get("published_at_ms"),
        published_by: r.get("published_by"),
        reason: r.get("reason"),
        source: Source::parse(&r.get::<String, _>("source")),
        rolled_back_from: r.get::<Option<i64>, _>("rolled_back_from").map(|v| v as u64),
        digest: r.get("digest"),
        tests: TestCounts {
            suites: tests.suites,
            passed: tests.passed,
            failed: tests.failed,
        },
    };
    Ok((info, tests))
}

fn row_version(r: &AnyRow) -> Result<Version, String> {
    let (info, test_results) = row_info(r)?;
    let unreadable = |e: serde_json::Error| format!("stored policy version {} is unreadable: {e}", info.version);
    Ok(Version {
        policy_set: serde_json::from_str(&r.get::<String, _>("policy_set")).map_err(unreadable)?,
        files: serde_json::from_str(&r.get::<String, _>("files")).map_err(unreadable)?,
        info,
        test_results,
    })
}

impl PolicyStore {
    /// The table in `store`.
    pub fn in_store(store: Store) -> PolicyStore {
        PolicyStore { store }
    }

    /// Stores `v` as the next version, in one transaction that also moves the snapshot revision
    /// (returned beside its record) and announces the change to the other replicas.
    pub async fn insert(&self, v: NewVersion, now_ms: i64) -> Result<(VersionInfo, u64), String> {
        let canonical = crate::policies::canonical(&v.set);
        let digest = crate::auth::hex(&sha2::Digest::finalize(
            <sha2::Sha256 as sha2::Digest>::new_with_prefix(canonical.as_bytes()),
        ));
        let files = serde_json::to_string(&v.files).map_err(|e| e.to_string())?;
        let tests = serde_json::to_string(&v.tests).map_err(|e| e.to_string())?;
        let set = serde_json::to_string(&v.set).map_err(|e| e.to_string())?;
        let mut tx = self.store.begin().await?;
        // First: the revision row's lock makes a concurrent publish (another replica) wait here,
        // so the number picked next is never picked twice.
        let revision = Store::bump_revision(&mut tx, now_ms).await?;
        let (next,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(version), 0) + 1 FROM policy_versions")
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query(&format!(
            "INSERT INTO policy_versions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(next)
        .bind(now_ms)
        .bind(&v.by)
        .bind(&v.reason)
        .bind(v.source.name())
        .bind(v.rolled_back_from.map(|x| x as i64))
        .bind(&digest)
        .bind(set)
        .bind(files)
        .bind(tests)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        self.store.notify(&mut tx, "snapshot").await?;
        tx.commit().await.map_err(db)?;
        let info = VersionInfo {
            version: next as u64,
            published_at_ms: now_ms,
            published_by: v.by,
            reason: v.reason,
            source: v.source,
            rolled_back_from: v.rolled_back_from,
            digest,
            tests: TestCounts {
                suites: v.tests.suites,
                passed: v.tests.passed,
                failed: v.tests.failed,
            },
        };
        Ok((info, revision))
    }

    /// One version with its content.
    pub async fn get(&self, version: u64) -> Result<Option<Version>, String> {
        let r = sqlx::query(&format!("SELECT {COLUMNS} FROM policy_versions WHERE version = $1"))
            .bind(version as i64)
            .fetch_optional(self.store.pool())
            .await
            .map_err(db)?;
        r.as_ref().map(row_version).transpose()
    }

    /// The newest version (of `source`, if given).
    pub async fn latest(&self, source: Option<Source>) -> Result<Option<Version>, String> {
        let sql = match source {
            Some(_) => format!("SELECT {COLUMNS} FROM policy_versions WHERE source = $1 ORDER BY version DESC LIMIT 1"),
            None => format!("SELECT {COLUMNS} FROM policy_versions ORDER BY version DESC LIMIT 1"),
        };
        let mut q = sqlx::query(&sql);
        if let Some(s) = source {
            q = q.bind(s.name());
        }
        let r = q.fetch_optional(self.store.pool()).await.map_err(db)?;
        r.as_ref().map(row_version).transpose()
    }

    /// The newest [`MAX_LISTED`] versions' records, newest first.
    pub async fn list(&self) -> Result<Vec<VersionInfo>, String> {
        let rows = sqlx::query(
            "SELECT version, published_at_ms, published_by, reason, source, rolled_back_from, digest, tests
             FROM policy_versions ORDER BY version DESC LIMIT $1",
        )
        .bind(MAX_LISTED)
        .fetch_all(self.store.pool())
        .await
        .map_err(db)?;
        rows.iter().map(|r| row_info(r).map(|(i, _)| i)).collect()
    }
}
