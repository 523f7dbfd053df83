//! Fresh stores for tests, on every backend the machine offers (feature `test-support`).
//!
//! SQLite always runs. PostgreSQL runs when `STEWARD_TEST_POSTGRES_URL` names a server
//! (`scripts/test-postgres.sh` starts one); each store gets its own new database there. Set
//! `STEWARD_REQUIRE_POSTGRES=1` (CI does) to fail instead of skipping when the URL is missing.

use crate::Store;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A store plus whatever keeps it alive (the SQLite temp directory).
pub struct TestStore {
    pub store: Store,
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
    /// The PostgreSQL database's URL.
    url: Option<String>,
}

impl TestStore {
    /// A second store over the same database, as after a restart: nothing in memory carried
    /// over.
    pub async fn reopen(&self) -> Store {
        match (&self._dir, &self.url) {
            (Some(dir), _) => Store::open_sqlite_dir(dir.path())
                .await
                .expect("reopen sqlite"),
            (None, Some(url)) => Store::open_url(url).await.expect("reopen postgres"),
            (None, None) => unreachable!("a test store has a directory or a URL"),
        }
    }
}

/// The backends to run a test on.
pub fn backends() -> Vec<Backend> {
    let mut out = vec![Backend::Sqlite];
    match std::env::var("STEWARD_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => out.push(Backend::Postgres),
        _ if std::env::var("STEWARD_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") => {
            panic!(
                "STEWARD_REQUIRE_POSTGRES=1 but STEWARD_TEST_POSTGRES_URL is not set; run scripts/test-postgres.sh"
            )
        }
        _ => {}
    }
    out
}

/// An empty, migrated store on `backend`.
pub async fn fresh(backend: Backend) -> TestStore {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let store = Store::open_sqlite_dir(dir.path())
                .await
                .expect("open sqlite");
            TestStore {
                store,
                backend,
                _dir: Some(dir),
                url: None,
            }
        }
        Backend::Postgres => {
            let admin_url =
                std::env::var("STEWARD_TEST_POSTGRES_URL").expect("STEWARD_TEST_POSTGRES_URL");
            let name = format!("steward_test_{}", uuid::Uuid::now_v7().simple());
            {
                use sqlx::Connection;
                let mut admin = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .expect("connect to test PostgreSQL");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut admin)
                    .await
                    .expect("create test database");
            }
            let base = admin_url
                .rsplit_once('/')
                .map_or(admin_url.as_str(), |(base, _)| base);
            let url = format!("{base}/{name}");
            let store = Store::open_url(&url).await.expect("open postgres");
            TestStore {
                store,
                backend,
                _dir: None,
                url: Some(url),
            }
        }
    }
}
