//! What `/readyz` asks of the database, on both backends: a write through
//! the whole write path, and every migration of this build applied.

use storage::{on_db, on_db_write, store_test};

store_test!(the_readiness_checks_write_and_see_every_migration, |db| {
    db.check_writes(1).await.unwrap();
    db.check_writes(2).await.unwrap();
    assert!(db.schema_current().await.unwrap());
    let checked: i64 = on_db!(db, |pool| sqlx::query_scalar(
        "SELECT checked_at FROM readiness WHERE id = 1"
    )
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(checked, 2);
    // A build that knows a migration the database lacks is not ready.
    on_db_write!(db, |pool| sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)"
    )
    .execute(pool)
    .await
    .map(drop)
    .unwrap());
    assert!(!db.schema_current().await.unwrap());
});
