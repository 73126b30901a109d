//! `server backup FILE`: a consistent copy of a live SQLite database.

use storage::db::testing::TestDb;
use storage::db::BackupError;
use storage::{on_db, on_db_write, Db};

async fn zones(db: &Db) -> i64 {
    on_db!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM work_zones"
    )
    .fetch_one(pool)
    .await
    .unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_is_the_live_database_at_one_instant_and_never_overwrites() {
    let t = TestDb::sqlite().await;
    let db = &t.db;
    on_db_write!(db, |pool| sqlx::query(
        "INSERT INTO work_zones (code, name) VALUES ('karawang', 'Karawang'), ('bekasi', 'Bekasi')"
    )
    .execute(pool)
    .await
    .map(drop)
    .unwrap());
    let dir = std::env::temp_dir().join(format!("notif-backup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("copy.db");
    db.backup_to(&file).await.unwrap();
    // Written after the backup: not in it.
    on_db_write!(db, |pool| sqlx::query(
        "INSERT INTO work_zones (code, name) VALUES ('cikampek', 'Cikampek')"
    )
    .execute(pool)
    .await
    .map(drop)
    .unwrap());
    let copy = Db::connect(&format!("sqlite:{}", file.display()), 1)
        .await
        .unwrap();
    assert_eq!(zones(&copy).await, 2);
    assert_eq!(zones(db).await, 3);
    copy.close().await;
    assert_eq!(db.backup_to(&file).await, Err(BackupError::Exists));
    std::fs::remove_dir_all(&dir).unwrap();
    t.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_is_pointed_to_its_own_tool() {
    let Some(t) = TestDb::postgres().await else {
        return;
    };
    let file = std::env::temp_dir().join("notif-never-written.db");
    match t.db.backup_to(&file).await {
        Err(e @ BackupError::NotSqlite) => assert!(e.to_string().contains("pg_dump")),
        other => panic!("{other:?}"),
    }
    assert!(!file.exists());
    t.close().await;
}
