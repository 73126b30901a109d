//! SQLite's writer for the outbox's hot transactions (ingestion's group
//! commit, claims, recorded outcomes): one connection on a thread of its own
//! that runs a whole transaction per request.
//!
//! Through sqlx every statement, and BEGIN and COMMIT, is a round trip
//! between a tokio task and the connection's thread, each a wake-up that on
//! two busy cores waits for the scheduler, all while the write lock is held:
//! profiles showed the lock held all the time and the writer's thread busy
//! only about half of it. Here the transactions queue on the thread and run
//! back to back, the next one already waiting when one commits. Writers
//! through sqlx take [`super::WriteGate::lock`], which pauses this thread
//! between two transactions, so the two connections never write at once.

use crate::Error;
use rusqlite::{Connection, OpenFlags};
use std::path::PathBuf;
use std::sync::mpsc;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

enum Msg {
    Run(Job),
    /// Close the connection (checkpointing the WAL) and end the thread.
    Close(tokio::sync::oneshot::Sender<()>),
}

#[derive(Clone, Debug)]
pub struct Direct {
    jobs: mpsc::Sender<Msg>,
}

/// How the writer's connection is opened (again, after a failure).
pub struct Opener {
    /// The database file, which sqlx has created and set to WAL.
    pub path: PathBuf,
    /// The SQLite VFS the pool uses (`None`: the system's).
    pub vfs: Option<String>,
    /// The pool's connection settings.
    pub pragmas: String,
}

impl Opener {
    fn open(&self) -> Result<Connection, Error> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = match &self.vfs {
            Some(vfs) => Connection::open_with_flags_and_vfs(&self.path, flags, vfs.as_str())?,
            None => Connection::open_with_flags(&self.path, flags)?,
        };
        conn.execute_batch(&self.pragmas)?;
        // Statements are built per batch size (`outbox::chunks`): a few dozen.
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }
}

/// After a job: a transaction still open means its COMMIT or ROLLBACK
/// failed (a disk refusing writes); the next BEGIN would fail too, for
/// ever. Roll it back, or if even that fails, start on a fresh connection.
fn recover(conn: &mut Connection, opener: &Opener) {
    if conn.is_autocommit() {
        return;
    }
    let _ = conn.execute_batch("ROLLBACK");
    if conn.is_autocommit() {
        return;
    }
    tracing::warn!(
        "sqlite direct writer: a transaction outlived its job; reopening the connection"
    );
    match opener.open() {
        Ok(fresh) => *conn = fresh,
        Err(e) => tracing::error!("sqlite direct writer: cannot reopen: {e}"),
    }
}

impl Direct {
    /// Opens the writer's connection on a new thread that lives until
    /// [`Self::close`] or until every handle is gone.
    pub fn open(opener: Opener) -> Result<Self, Error> {
        let conn = opener.open()?;
        let (jobs, queue) = mpsc::channel::<Msg>();
        std::thread::Builder::new()
            .name("sqlite-direct".into())
            .spawn(move || {
                let mut conn = conn;
                while let Ok(msg) = queue.recv() {
                    match msg {
                        // A panicking job has rolled back (its transaction
                        // is dropped) and its caller gets an error; the
                        // writer goes on.
                        Msg::Run(job) => {
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                job(&mut conn)
                            }));
                            recover(&mut conn, &opener);
                        }
                        Msg::Close(done) => {
                            drop(conn);
                            let _ = done.send(());
                            return;
                        }
                    }
                }
            })
            .map_err(|e| crate::error::internal("sqlite writer thread", &e))?;
        Ok(Direct { jobs })
    }

    /// Stops the thread between two transactions until the returned value is
    /// dropped, so that another connection can write ([`super::WriteGate::lock`]).
    /// `None` if the writer is closed.
    pub async fn pause(&self) -> Option<Paused> {
        let (started, running) = tokio::sync::oneshot::channel();
        let (resume, resumed) = mpsc::channel::<()>();
        let job: Job = Box::new(move |_| {
            // If the caller gave up waiting, `resume` is gone: go on at once.
            if started.send(()).is_ok() {
                let _ = resumed.recv();
            }
        });
        self.jobs.send(Msg::Run(job)).ok()?;
        running.await.ok()?;
        Some(Paused { _resume: resume })
    }

    /// Closes the connection; later transactions fail.
    pub async fn close(&self) {
        let (done, closed) = tokio::sync::oneshot::channel();
        if self.jobs.send(Msg::Close(done)).is_ok() {
            let _ = closed.await;
        }
    }

    /// Runs `work` in one immediate transaction on the writer's thread and
    /// commits it; an error rolls it back. Transactions queue on the thread
    /// and run back to back: no write gate to take (the gate pauses the
    /// thread instead).
    pub async fn transaction<R, F>(&self, work: F) -> Result<R, Error>
    where
        R: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<R, Error> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let asked = std::time::Instant::now();
        let job: Job = Box::new(move |conn| {
            metrics::histogram!(super::WRITE_WAIT_METRIC, "writer" => "direct")
                .record(asked.elapsed());
            let run = || {
                let tx =
                    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let out = work(&tx)?;
                tx.commit()?;
                Ok(out)
            };
            let _ = reply.send(run());
        });
        let gone = || crate::error::internal("sqlite writer", &"its thread has stopped");
        self.jobs.send(Msg::Run(job)).map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

/// The direct writer held between transactions (see [`Direct::pause`]).
pub struct Paused {
    _resume: mpsc::Sender<()>,
}

/// A value bound to a statement by either driver: the outbox's row writers
/// list a row's values once (as these) and each backend binds them.
#[derive(Debug, Clone, Copy)]
pub enum Val<'a> {
    Int(Option<i64>),
    Text(Option<&'a str>),
}

impl rusqlite::ToSql for Val<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value, ValueRef};
        Ok(match *self {
            Val::Int(Some(v)) => ToSqlOutput::Owned(Value::Integer(v)),
            Val::Text(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Val::Int(None) | Val::Text(None) => ToSqlOutput::Owned(Value::Null),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::db::Db;

    async fn temp_db() -> (Db, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "notif-direct-{}-{}",
            std::process::id(),
            crate::now_ms()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite:{}", dir.join("t.db").display());
        let db = Db::connect(&url, 2).await.unwrap();
        (db, dir)
    }

    #[tokio::test]
    async fn the_direct_writer_has_the_pools_settings_and_survives_a_failed_job() {
        let (db, dir) = temp_db().await;
        let Db::Sqlite(_, gate) = &db else {
            unreachable!()
        };
        let direct = gate.direct().expect("a file database has a direct writer");
        let settings = direct
            .transaction(|tx| {
                let get = |p: &str| -> Result<i64, crate::Error> {
                    Ok(tx.query_row(&format!("PRAGMA {p}"), [], |r| r.get(0))?)
                };
                Ok((
                    get("foreign_keys")?,
                    get("synchronous")?,
                    get("busy_timeout")?,
                    get("cache_size")?,
                ))
            })
            .await
            .unwrap();
        // foreign keys on, synchronous NORMAL (1), 10 s, 32 MiB.
        assert_eq!(settings, (1, 1, 10_000, -32768));

        // A failing and a panicking job roll back; the writer goes on.
        let create = |tx: &rusqlite::Transaction<'_>| -> Result<(), crate::Error> {
            tx.execute_batch("CREATE TABLE IF NOT EXISTS t (x INTEGER)")?;
            Ok(())
        };
        direct.transaction(create).await.unwrap();
        let failed = direct
            .transaction(|tx| {
                tx.execute("INSERT INTO t VALUES (1)", [])?;
                tx.execute("INSERT INTO no_such_table VALUES (1)", [])?;
                Ok(())
            })
            .await;
        assert!(failed.is_err());
        let panicked = direct
            .transaction(|tx| -> Result<(), crate::Error> {
                tx.execute("INSERT INTO t VALUES (2)", [])?;
                panic!("a bug in a job")
            })
            .await;
        assert!(panicked.is_err());
        let rows: i64 = direct
            .transaction(|tx| Ok(tx.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(rows, 0, "both jobs rolled back");

        db.close().await;
        assert!(direct.transaction(create).await.is_err(), "closed");
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A COMMIT or ROLLBACK that failed (a disk refusing writes) leaves the
    /// connection inside a transaction; without `recover` every later BEGIN
    /// fails with it, for good.
    #[tokio::test]
    async fn a_transaction_a_job_left_open_is_rolled_back_before_the_next() {
        let (db, dir) = temp_db().await;
        let Db::Sqlite(_, gate) = &db else {
            unreachable!()
        };
        let direct = gate.direct().expect("a file database has a direct writer");
        direct
            .transaction(|tx| Ok(tx.execute_batch("CREATE TABLE t (x INTEGER)")?))
            .await
            .unwrap();
        let (done, finished) = tokio::sync::oneshot::channel();
        let job: super::Job = Box::new(move |conn| {
            conn.execute_batch("BEGIN IMMEDIATE; INSERT INTO t VALUES (1);")
                .unwrap();
            let _ = done.send(conn.is_autocommit());
        });
        direct.jobs.send(super::Msg::Run(job)).unwrap();
        assert!(
            !finished.await.unwrap(),
            "the job left its transaction open"
        );

        let rows: i64 = direct
            .transaction(|tx| Ok(tx.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))?))
            .await
            .expect("the next transaction begins");
        assert_eq!(rows, 0, "the open transaction was rolled back, not kept");
        db.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[cfg(test)]
mod gate_tests {
    use crate::db::Db;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_write_gate_pauses_the_direct_writer_and_both_writers_take_turns() {
        let dir = std::env::temp_dir().join(format!(
            "notif-gate-{}-{}",
            std::process::id(),
            crate::now_ms()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let db = Db::connect(&format!("sqlite:{}", dir.join("t.db").display()), 2)
            .await
            .unwrap();
        let Db::Sqlite(_, gate) = db.clone() else {
            unreachable!()
        };
        let direct = gate.direct().unwrap().clone();
        direct
            .transaction(|tx| Ok(tx.execute_batch("CREATE TABLE t (x INTEGER)")?))
            .await
            .unwrap();

        // While an sqlx writer has its turn, the direct writer waits.
        let turn = gate.lock().await;
        let waiting = tokio::spawn({
            let direct = direct.clone();
            async move {
                direct
                    .transaction(|tx| Ok(tx.execute("INSERT INTO t VALUES (0)", [])?))
                    .await
            }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!waiting.is_finished(), "ran during another writer's turn");
        drop(turn);
        waiting.await.unwrap().unwrap();

        // Both writers at once, many times: no "database is locked".
        let mut tasks = Vec::new();
        for i in 1..=50_i64 {
            let (direct, db) = (direct.clone(), db.clone());
            tasks.push(tokio::spawn(async move {
                direct
                    .transaction(move |tx| Ok(tx.execute("INSERT INTO t VALUES (?1)", [i])?))
                    .await?;
                crate::in_tx!(&db, |tx| {
                    sqlx::query("INSERT INTO t VALUES ($1)")
                        .bind(-i)
                        .execute(&mut *tx)
                        .await?;
                });
                Ok::<_, crate::Error>(())
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let Db::Sqlite(pool, _) = &db else {
            unreachable!()
        };
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(rows, 101);
        db.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
