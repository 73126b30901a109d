//! The database: SQLite (embedded, the default) or PostgreSQL (scale-out),
//! chosen by the URL's scheme.
//!
//! Every query is written once, in the SQL both understand (`$1` parameters,
//! `RETURNING`, `ON CONFLICT`, BIGINT millisecond timestamps), and compiled for
//! both backends by [`on_db!`] and [`in_tx!`]. There is no `sqlx::Any`: each
//! backend gets its own typed code, and a query that only one backend accepts
//! fails that backend's test, since every store test runs on both.

pub mod direct;
pub mod exec;
#[cfg(feature = "testing")]
pub mod faulty;
#[cfg(feature = "testing")]
pub mod testing;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool, WriteGate),
    Postgres(PgPool),
}

/// SQLite has one writer at a time: the direct writer's thread
/// ([`direct`], the outbox's hot transactions) or else this one sqlx
/// connection. Writers queue on an async mutex, which hands the lock over the
/// moment it is free (SQLite's busy handler sleeps in steps of up to 100 ms).
/// The one connection keeps its page cache: a connection's cache is emptied
/// whenever another connection has committed, so writes spread over the
/// pool's connections (which it hands out in turn) each re-read the indexes'
/// pages they touch. Every write transaction (`in_tx!`) and hot
/// single-statement write (`on_db_write!`) goes through it; reads use the
/// pool. PostgreSQL needs none of this.
#[derive(Clone, Debug)]
pub struct WriteGate {
    turn: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// A pool of exactly one connection, used only under `turn`.
    writer: SqlitePool,
    /// The connection the outbox's hot transactions run on, whole (`None`
    /// for an in-memory database, which another connection cannot open).
    direct: Option<direct::Direct>,
}

impl WriteGate {
    /// Waits for the writer's turn; while the guard lives, [`Self::writer`]
    /// is this caller's alone and the direct writer waits between two
    /// transactions.
    pub async fn lock(&self) -> WriteTurn<'_> {
        let asked = std::time::Instant::now();
        let turn = self.turn.lock().await;
        let paused = match &self.direct {
            Some(direct) => direct.pause().await,
            None => None,
        };
        metrics::histogram!(WRITE_WAIT_METRIC, "writer" => "gate").record(asked.elapsed());
        WriteTurn {
            _paused: paused,
            _turn: turn,
        }
    }

    /// The writer connection's pool. Use it only while holding [`Self::lock`].
    pub fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// The writer for whole transactions on its own thread, if the database
    /// is a file. Not under [`Self::lock`]: that would wait for itself.
    pub fn direct(&self) -> Option<&direct::Direct> {
        self.direct.as_ref()
    }
}

/// How long SQLite writes waited for the writer (seconds, a histogram by
/// `writer`: `gate` for the sqlx connection, `direct` for the outbox's
/// thread); the server exports it at `/metrics`.
pub const WRITE_WAIT_METRIC: &str = "notifikasi_sqlite_write_wait_seconds";

/// The sqlx writer's turn ([`WriteGate::lock`]).
pub struct WriteTurn<'a> {
    _paused: Option<direct::Paused>,
    _turn: tokio::sync::MutexGuard<'a, ()>,
}

/// Runs `$body` with `$pool` bound to the backend's pool. The body is compiled
/// once per backend.
#[macro_export]
macro_rules! on_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool, _) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

/// [`on_db!`] for a statement that writes: on SQLite it waits for the
/// [`WriteGate`] first.
#[macro_export]
macro_rules! on_db_write {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite(_, gate) => {
                let _turn = gate.lock().await;
                let $pool = gate.writer();
                $body
            }
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` inside a write transaction bound to `$tx` and commits it; an
/// early return (`?`) rolls back. SQLite takes its write lock up front
/// (`BEGIN IMMEDIATE`), so two writers queue on `busy_timeout` instead of one
/// failing with "database is locked" when it upgrades a read lock.
#[macro_export]
macro_rules! in_tx {
    ($db:expr, |$tx:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite(_, gate) => {
                let _turn = gate.lock().await;
                let mut $tx = gate.writer().begin_with("BEGIN IMMEDIATE").await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            $crate::db::Db::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}

/// The server-side secret `name` of `server_keys`: `fresh` is stored (sealed
/// with `keys`) if there is none yet, so instances starting together agree
/// on one.
pub async fn server_key(
    db: &Db,
    keys: &crate::secrets::Keyring,
    name: &str,
    fresh: &[u8],
    now: i64,
) -> Result<Vec<u8>, crate::Error> {
    let label = crate::secrets::server_key_label(name);
    let value: String = on_db_write!(db, |pool| {
        sqlx::query(
            "INSERT INTO server_keys (name, value, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(keys.seal(&label, &hex::encode(fresh)))
        .bind(now)
        .execute(pool)
        .await?;
        sqlx::query_scalar("SELECT value FROM server_keys WHERE name = $1")
            .bind(name)
            .fetch_one(pool)
            .await?
    });
    let plain = keys
        .open(&label, &value)
        .map_err(|e| crate::error::internal(&label, &e))?;
    hex::decode(plain.trim()).map_err(|e| crate::error::internal(&label, &e))
}

/// `$from, $from+1, …`: `n` parameters for an `IN (…)` list.
pub fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($1, …, $cols), ($cols+1, …), …` for `rows` rows.
pub fn value_rows(rows: usize, cols: usize) -> String {
    rows_of(rows, cols, true)
}

/// `rows` rows of `cols` parameters each, `$n` if `numbered`, else `?`.
pub fn rows_of(rows: usize, cols: usize, numbered: bool) -> String {
    let mut out = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        out.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..cols {
            if c > 0 {
                out.push_str(", ");
            }
            out.push_str(&placeholder(numbered, r * cols + c + 1));
        }
        out.push(')');
    }
    out
}

/// Bind parameter `n` (from 1): `$n`, or `?` when not `numbered` (then the
/// SQL must name each parameter once, in binding order).
pub fn placeholder(numbered: bool, n: usize) -> String {
    if numbered {
        format!("${n}")
    } else {
        "?".to_owned()
    }
}

/// Why [`Db::backup_to`] made no backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackupError {
    NotSqlite,
    /// The target file exists: a backup never overwrites.
    Exists,
    /// The path is not valid text.
    Path,
    Failed(String),
}

impl std::fmt::Display for BackupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BackupError::NotSqlite => f.write_str(
                "this is PostgreSQL: back it up with pg_dump -Fc (see the README), not with this command",
            ),
            BackupError::Exists => f.write_str("the file exists; a backup never overwrites one"),
            BackupError::Path => f.write_str("the file name is not valid text"),
            BackupError::Failed(e) => write!(f, "the backup failed: {e}"),
        }
    }
}

/// Which backend a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Result<Self, String> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err("DATABASE_URL must start with sqlite: or postgres://".into())
        }
    }
}

/// A URL safe to log: the password is replaced.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}://{}:***@{}", &url[..scheme_end], user, &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// How long an SQLite connection waits for another one's write lock.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Every SQLite connection's settings besides WAL, `synchronous = NORMAL`,
/// foreign keys and the busy timeout (which sqlx sets by name).
const SQLITE_PRAGMAS: [(&str, &str); 4] = [
    // 32 MiB of page cache per connection (default 2 MiB): the delivery
    // log's indexes stay in memory.
    ("cache_size", "-32768"),
    ("temp_store", "memory"),
    // Pages of the database file are read through a memory map (up to 256
    // MiB) instead of a copy per read: a connection's cache is emptied
    // whenever another one has written, and under load the re-reads showed
    // in profiles.
    ("mmap_size", "268435456"),
    // Checkpoint the WAL every ~40 MB instead of ~4 MB: fewer stalls of the
    // writer under load.
    ("wal_autocheckpoint", "10000"),
];

/// The settings of sqlx's connections, for the direct writer's.
fn direct_pragmas() -> String {
    let mut sql = format!(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {};",
        SQLITE_BUSY_TIMEOUT.as_millis()
    );
    for (name, value) in SQLITE_PRAGMAS {
        sql.push_str(&format!(" PRAGMA {name} = {value};"));
    }
    sql
}

/// The `vfs=` of an SQLite URL (sqlx reads it too, but does not say).
fn vfs_of(url: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("vfs="))
        .map(str::to_owned)
}

impl Db {
    /// Opens a pool; an SQLite file is created if missing. Does not migrate.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, sqlx::Error> {
        match Backend::of_url(url).map_err(|e| sqlx::Error::Configuration(e.into()))? {
            Backend::Sqlite => {
                let mut options = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(SQLITE_BUSY_TIMEOUT)
                    .foreign_keys(true);
                for (name, value) in SQLITE_PRAGMAS {
                    options = options.pragma(name, value);
                }
                let writer = SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    // Kept for the process's life: its warm cache is the point.
                    .idle_timeout(None)
                    .max_lifetime(None)
                    // ...unless a transaction outlived its use: a COMMIT or
                    // ROLLBACK the disk refused leaves sqlx counting an open
                    // transaction, and every later BEGIN on this connection
                    // would fail. Such a connection is closed and the pool
                    // opens a fresh one.
                    .after_release(|conn, _| {
                        Box::pin(async move {
                            use sqlx::Connection as _;
                            if conn.is_in_transaction() {
                                // A dropped transaction's ROLLBACK may still
                                // be queued on the connection: let it run.
                                conn.ping().await?;
                            }
                            let healthy = !conn.is_in_transaction();
                            if !healthy {
                                tracing::warn!("sqlite writer: a transaction outlived its commit or rollback; reopening the connection");
                            }
                            Ok(healthy)
                        })
                    })
                    .connect_with(options.clone())
                    .await?;
                // Reads only: every write goes through the writer above, so
                // a stray write through the pool fails at once (in tests)
                // instead of racing the writer for SQLite's lock. (An
                // in-memory database is one per connection: kept writable.)
                let in_memory = url.contains(":memory:") || url.contains("mode=memory");
                let pool = SqlitePoolOptions::new()
                    .max_connections(max_connections)
                    .connect_with(options.clone().read_only(!in_memory))
                    .await?;
                let file = options.get_filename();
                let direct = if file.exists() {
                    let opener = direct::Opener {
                        path: file.to_owned(),
                        vfs: vfs_of(url),
                        pragmas: direct_pragmas(),
                    };
                    Some(
                        direct::Direct::open(opener)
                            .map_err(|e| sqlx::Error::Configuration(format!("{e}").into()))?,
                    )
                } else {
                    None
                };
                let gate = WriteGate {
                    turn: Default::default(),
                    writer,
                    direct,
                };
                Ok(Db::Sqlite(pool, gate))
            }
            Backend::Postgres => {
                let options = PgConnectOptions::from_str(url)?;
                let pool = PgPoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await?;
                Ok(Db::Postgres(pool))
            }
        }
    }

    /// Brings the schema up to date. Safe to run from several instances at once:
    /// sqlx takes an advisory lock on PostgreSQL.
    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        match self {
            Db::Sqlite(_, gate) => {
                let _turn = gate.lock().await;
                sqlx::migrate!("../migrations/sqlite")
                    .run(gate.writer())
                    .await
            }
            Db::Postgres(pool) => sqlx::migrate!("../migrations/postgres").run(pool).await,
        }
    }

    /// Whether this database takes writes now: one small write through
    /// the same path every write takes (on SQLite, the write gate and the
    /// writer connection).
    pub async fn check_writes(&self, now: i64) -> Result<(), crate::Error> {
        in_tx!(self, |tx| sqlx::query(
            "INSERT INTO readiness (id, checked_at) VALUES (1, $1)
             ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at"
        )
        .bind(now)
        .execute(&mut *tx)
        .await
        .map(drop)?);
        Ok(())
    }

    /// A consistent copy of a live SQLite database in a new file `to`
    /// (`VACUUM INTO`: one read transaction, so writers go on meanwhile and
    /// the copy is the database at one instant, compacted), checked with
    /// SQLite's quick check before it is called done. A plain file copy of
    /// a database in WAL mode is not a backup. PostgreSQL: `Err` with the
    /// tool to use instead.
    pub async fn backup_to(&self, to: &std::path::Path) -> Result<(), BackupError> {
        let Db::Sqlite(pool, _) = self else {
            return Err(BackupError::NotSqlite);
        };
        if to.exists() {
            return Err(BackupError::Exists);
        }
        let target = to.to_str().ok_or(BackupError::Path)?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(pool)
            .await
            .map_err(|e| BackupError::Failed(e.to_string()))?;
        let options = SqliteConnectOptions::new().filename(to).read_only(true);
        let mut copy = sqlx::SqliteConnection::connect_with(&options)
            .await
            .map_err(|e| BackupError::Failed(e.to_string()))?;
        let check: String = sqlx::query_scalar("PRAGMA quick_check")
            .fetch_one(&mut copy)
            .await
            .map_err(|e| BackupError::Failed(e.to_string()))?;
        use sqlx::Connection as _;
        let _ = copy.close().await;
        if check != "ok" {
            return Err(BackupError::Failed(format!(
                "the copy fails SQLite's check: {check}"
            )));
        }
        Ok(())
    }

    /// Whether every migration this build knows has been applied.
    pub async fn schema_current(&self) -> Result<bool, crate::Error> {
        let known = match self {
            Db::Sqlite(..) => sqlx::migrate!("../migrations/sqlite").iter().count(),
            Db::Postgres(_) => sqlx::migrate!("../migrations/postgres").iter().count(),
        };
        let applied: i64 = on_db!(self, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM _sqlx_migrations WHERE success"
        )
        .fetch_one(pool)
        .await?);
        Ok(applied as usize >= known)
    }

    /// This pool's connections: (open, idle).
    pub fn pool_use(&self) -> (u32, usize) {
        on_db!(self, |pool| (pool.size(), pool.num_idle()))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(..) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(pool, gate) => {
                pool.close().await;
                gate.writer.close().await;
                if let Some(direct) = &gate.direct {
                    direct.close().await;
                }
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_is_chosen_by_scheme() {
        assert_eq!(Backend::of_url("sqlite:data/x.db"), Ok(Backend::Sqlite));
        assert_eq!(Backend::of_url("postgres://u@h/db"), Ok(Backend::Postgres));
        assert_eq!(
            Backend::of_url("postgresql://u@h/db"),
            Ok(Backend::Postgres)
        );
        assert!(Backend::of_url("mysql://u@h/db").is_err());
    }

    #[test]
    fn value_rows_are_numbered_for_postgres_and_anonymous_for_sqlite() {
        assert_eq!(value_rows(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(rows_of(2, 2, false), "(?, ?), (?, ?)");
    }

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/n"),
            "postgres://app:***@db:5432/n"
        );
        assert_eq!(
            redact_url("sqlite:data/notifikasi.db"),
            "sqlite:data/notifikasi.db"
        );
    }
}
