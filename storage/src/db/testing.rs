//! Test databases: every store test runs once on SQLite and once on PostgreSQL.
//! Shared by the tests of every crate (the `testing` feature); not in the
//! running app.
//!
//! SQLite gets a fresh file in a temporary directory. PostgreSQL gets a fresh
//! database on the server at `TEST_POSTGRES_URL` (default: the local server,
//! 127.0.0.1:5432, user postgres), dropped afterwards. When that server is
//! unreachable the PostgreSQL half is skipped with a message, except under
//! `CI=true`, where it fails: CI must prove both backends.

use super::Db;
use sqlx::Connection;
use std::sync::atomic::{AtomicU32, Ordering};

/// A fresh database, removed by [`TestDb::close`], or when dropped (a test
/// that panicked) so that no test database is left behind.
pub struct TestDb {
    pub db: Db,
    cleanup: Option<Cleanup>,
}

enum Cleanup {
    Dir(std::path::PathBuf),
    PgDatabase { admin_url: String, name: String },
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}_{}_{n}_{nanos}", std::process::id())
}

pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn in_ci() -> bool {
    matches!(std::env::var("CI").as_deref(), Ok("true" | "1"))
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = std::env::temp_dir().join(unique("notif_sqlite"));
        std::fs::create_dir_all(&dir).unwrap();
        Self::sqlite_in(dir, "").await
    }

    /// SQLite on a disk that refuses writes when told to.
    pub async fn sqlite_on_faulty_disk() -> (TestDb, super::faulty::FaultyDisk) {
        let dir = std::env::temp_dir().join(unique("notif_faulty"));
        std::fs::create_dir_all(&dir).unwrap();
        let disk = super::faulty::FaultyDisk::under(&dir);
        let vfs = format!("?vfs={}", super::faulty::VFS);
        (Self::sqlite_in(dir, &vfs).await, disk)
    }

    async fn sqlite_in(dir: std::path::PathBuf, query: &str) -> TestDb {
        let url = format!("sqlite:{}{query}", dir.join("test.db").display());
        let db = Db::connect(&url, 5).await.expect("open sqlite");
        db.migrate().await.expect("migrate sqlite");
        TestDb {
            db,
            cleanup: Some(Cleanup::Dir(dir)),
        }
    }

    /// `None` when PostgreSQL is unreachable outside CI.
    pub async fn postgres() -> Option<TestDb> {
        let admin_url = postgres_admin_url();
        let mut admin = match sqlx::PgConnection::connect(&admin_url).await {
            Ok(c) => c,
            Err(e) if !in_ci() => {
                eprintln!("SKIPPED: PostgreSQL at {admin_url} is unreachable ({e}); set TEST_POSTGRES_URL");
                return None;
            }
            Err(e) => panic!("CI=true but PostgreSQL at {admin_url} is unreachable: {e}"),
        };
        let name = unique("notif_test");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create test database");
        let url = match admin_url.rfind('/') {
            Some(i) => format!("{}/{name}", &admin_url[..i]),
            None => panic!("TEST_POSTGRES_URL needs a database path"),
        };
        let db = Db::connect(&url, 5).await.expect("open postgres");
        db.migrate().await.expect("migrate postgres");
        Some(TestDb {
            db,
            cleanup: Some(Cleanup::PgDatabase { admin_url, name }),
        })
    }

    pub async fn close(mut self) {
        self.db.close().await;
        if let Some(cleanup) = self.cleanup.take() {
            cleanup.run().await;
        }
    }
}

impl Cleanup {
    async fn run(self) {
        match self {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::PgDatabase { admin_url, name } => {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await;
                }
            }
        }
    }
}

impl Drop for TestDb {
    /// Not closed: the test panicked. The cleanup runs on a thread of its
    /// own (the test's runtime may be unwinding), and is waited for.
    fn drop(&mut self) {
        if let Some(cleanup) = self.cleanup.take() {
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(cleanup.run());
                }
            })
            .join();
        }
    }
}

/// Declares `async fn $name(db: &Db)` as two tests, `$name::sqlite` and
/// `$name::postgres`.
#[macro_export]
macro_rules! store_test {
    ($name:ident, |$db:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($db: &$crate::db::Db) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let t = $crate::db::testing::TestDb::sqlite().await;
                run(&t.db).await;
                t.close().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(t) = $crate::db::testing::TestDb::postgres().await else { return };
                run(&t.db).await;
                t.close().await;
            }
        }
    };
}

/// The single number a `SELECT COUNT(*) …` (or any one-integer query)
/// answers, for tests' assertions.
pub async fn count(db: &Db, sql: &'static str) -> i64 {
    crate::on_db!(db, |pool| sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(pool)
        .await
        .unwrap())
}

/// A bare enabled WhatsApp provider account of `kind` (no credentials),
/// for tests of tables that refer to one; answers its id.
pub async fn provider_account(db: &Db, kind: &str) -> i64 {
    use crate::providers::{insert, NewAccount};
    let kind = domain::providers::ProviderKind::parse(kind).expect("a provider kind");
    let account = NewAccount {
        channel: domain::Channel::Whatsapp,
        timeout_ms: 1000,
        ..NewAccount::new(kind.as_str(), kind)
    };
    insert(db, &account, 0).await.expect("provider account").0
}

/// A URL another process can open the same test database with.
pub async fn url_of(db: &Db) -> String {
    match db {
        Db::Sqlite(pool, _) => {
            let rows: Vec<(i64, String, String)> = sqlx::query_as("PRAGMA database_list")
                .fetch_all(pool)
                .await
                .expect("database_list");
            let file = rows
                .into_iter()
                .find(|(_, name, _)| name == "main")
                .map(|(_, _, f)| f)
                .expect("main database");
            format!("sqlite:{file}")
        }
        Db::Postgres(pool) => {
            let name: String = sqlx::query_scalar("SELECT current_database()::text")
                .fetch_one(pool)
                .await
                .expect("current_database");
            let admin = postgres_admin_url();
            let i = admin.rfind('/').expect("a database path");
            format!("{}/{name}", &admin[..i])
        }
    }
}
