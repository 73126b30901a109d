//! Storage failures: a disk that refuses writes for a while. Nothing the
//! refused transactions wrote is kept, the callers are told the storage is
//! unavailable (not that something broke), and both SQLite writers work
//! again by themselves once the disk does.

use std::sync::Arc;
use storage::db::testing::{count, TestDb};
use storage::outbox::{self, EventParts, NewEvent};
use storage::{in_tx, Db, Error};

/// A write through sqlx's writer connection (`in_tx!`).
async fn write_key(db: &Db, name: &str) -> Result<(), Error> {
    in_tx!(db, |tx| {
        sqlx::query("INSERT INTO server_keys (name, value, created_at) VALUES ($1, '00', 0)")
            .bind(name)
            .execute(&mut *tx)
            .await?;
    });
    Ok(())
}

/// A write through the direct writer (ingestion's group commit).
async fn write_event(db: &Db, key: &str) -> Result<(), Error> {
    let mut event = NewEvent::test_send(serde_json::json!({"test": key}));
    event.idempotency_key = Some(key.to_owned());
    let parts = EventParts {
        event,
        deliveries: Vec::new(),
        inbox: Vec::new(),
    };
    outbox::insert_events(db, Arc::new(vec![parts]), storage::now_ms(), None).await?;
    Ok(())
}

fn unavailable<T: std::fmt::Debug>(result: Result<T, Error>) -> bool {
    matches!(result, Err(Error::Unavailable { .. }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_writers_recover_by_themselves_after_the_disk_refused_writes() {
    let (t, disk) = TestDb::sqlite_on_faulty_disk().await;
    let db = &t.db;
    write_key(db, "before").await.unwrap();
    write_event(db, "before").await.unwrap();

    disk.refuse_writes(true);
    for round in 0..3 {
        let sqlx_write = write_key(db, &format!("refused-{round}")).await;
        assert!(unavailable(sqlx_write.clone()), "{sqlx_write:?}");
        let direct_write = write_event(db, &format!("refused-{round}")).await;
        assert!(unavailable(direct_write.clone()), "{direct_write:?}");
    }

    disk.refuse_writes(false);
    // Today's failure: "attempted to call begin_with at non-zero transaction
    // depth" on every later transaction of the sqlx writer, until restart.
    write_key(db, "after").await.unwrap();
    write_event(db, "after").await.unwrap();
    write_key(db, "after-2").await.unwrap();
    write_event(db, "after-2").await.unwrap();

    assert_eq!(count(db, "SELECT COUNT(*) FROM server_keys").await, 3);
    assert_eq!(count(db, "SELECT COUNT(*) FROM events").await, 3);
    t.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_read_pool_refuses_writes_so_every_write_goes_through_the_writer() {
    let t = TestDb::sqlite().await;
    let Db::Sqlite(readers, _) = &t.db else {
        unreachable!()
    };
    let err =
        sqlx::query("INSERT INTO server_keys (name, value, created_at) VALUES ('x', '00', 0)")
            .execute(readers)
            .await
            .unwrap_err();
    // SQLITE_READONLY (8).
    let code = err.as_database_error().and_then(|e| e.code()).unwrap();
    assert_eq!(code.parse::<i32>().unwrap() & 0xff, 8, "{err}");
    // Reading works, and the writer writes.
    write_key(&t.db, "through-the-writer").await.unwrap();
    assert_eq!(count(&t.db, "SELECT COUNT(*) FROM server_keys").await, 1);
    t.close().await;
}

/// A refusal is told by its SQLSTATE, never by its words: a PostgreSQL
/// server answering in German (`lc_messages`) names a taken row as a
/// conflict and a dangling reference as missing all the same.
#[tokio::test]
async fn constraint_refusals_are_known_by_their_code_in_any_language() {
    use domain::words::{Clash, Missing};
    let Some(t) = TestDb::postgres().await else {
        return;
    };
    let Db::Postgres(pool) = &t.db else {
        unreachable!()
    };
    let unique = sqlx::query(
        "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '23505',
           MESSAGE = 'doppelter Schlüsselwert verletzt Unique-Constraint'; END $$",
    )
    .execute(pool)
    .await
    .unwrap_err();
    assert_eq!(Error::from(unique), Error::Conflict(Clash::Exists));
    let foreign = sqlx::query(
        "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '23503',
           MESSAGE = 'Einfügen in Tabelle verletzt Fremdschlüssel-Constraint'; END $$",
    )
    .execute(pool)
    .await
    .unwrap_err();
    assert_eq!(Error::from(foreign), Error::NotFound(Missing::Referenced));
    t.close().await;
}
