//! A real PostgreSQL for the `postgres_*` tests: `ACT_TEST_DATABASE_URL` when given (a server
//! the tests may create databases on), else one started here with `scripts/postgres.sh start`
//! (which installs the Debian package `postgresql` when initdb is missing) and stopped by its
//! pid on drop. A PostgreSQL that cannot be started FAILS the test; only
//! `ACT_TEST_SKIP_POSTGRES=1` skips these tests, and says so.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/postgres.sh");

/// A PostgreSQL server for this test (stopped on drop when started here).
pub struct Postgres {
    /// `postgres://postgres@127.0.0.1:PORT/postgres`: the admin database.
    pub url: String,
    dir: Option<PathBuf>,
}

/// `None` only when `ACT_TEST_SKIP_POSTGRES=1` opted out (printed); panics when PostgreSQL
/// cannot be started.
pub fn postgres() -> Option<Postgres> {
    if std::env::var("ACT_TEST_SKIP_POSTGRES").as_deref() == Ok("1") {
        eprintln!("ACT_TEST_SKIP_POSTGRES=1: the PostgreSQL tests are SKIPPED");
        return None;
    }
    if let Ok(url) = std::env::var("ACT_TEST_DATABASE_URL") {
        return Some(Postgres { url, dir: None });
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("act-pg-{}-{nanos}", std::process::id()));
    let out = Command::new("bash")
        .arg(SCRIPT)
        .arg("start")
        .arg(&dir)
        .output()
        .expect("run scripts/postgres.sh");
    let url = String::from_utf8_lossy(&out.stdout).trim().to_string();
    // The guard exists before the check, so a half-started server is still stopped.
    let pg = Postgres { url, dir: Some(dir) };
    assert!(
        out.status.success() && pg.url.starts_with("postgres://"),
        "PostgreSQL did not start (set ACT_TEST_DATABASE_URL to use a running one, or \
         ACT_TEST_SKIP_POSTGRES=1 to skip these tests): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(pg)
}

impl Postgres {
    /// A new, empty database on this server; returns its URL.
    pub fn database(&self, rt: &tokio::runtime::Runtime) -> String {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "act_test_{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
        );
        rt.block_on(async {
            use sqlx::Connection;
            let mut c = sqlx::PgConnection::connect(&self.url)
                .await
                .expect("connect to PostgreSQL");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut c)
                .await
                .expect("create a test database");
        });
        let (base, _) = self.url.rsplit_once('/').expect("a database URL ends in /name");
        format!("{base}/{name}")
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = Command::new("bash").arg(SCRIPT).arg("stop").arg(dir).status();
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
