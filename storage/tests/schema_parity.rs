//! The two migration histories must describe the same schema: same tables,
//! same columns, same indexes. A column added to one backend only fails here.

use std::collections::BTreeSet;
use storage::db::testing::TestDb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_schemas_have_the_same_tables_columns_and_indexes() {
    let sqlite = TestDb::sqlite().await;
    let Some(pg) = TestDb::postgres().await else {
        return;
    };

    let storage::db::Db::Sqlite(sp, _) = &sqlite.db else {
        unreachable!()
    };
    let storage::db::Db::Postgres(pp) = &pg.db else {
        unreachable!()
    };

    let sqlite_columns: BTreeSet<(String, String)> = sqlx::query_as(
        "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%'",
    )
    .fetch_all(sp)
    .await
    .unwrap()
    .into_iter()
    .collect();
    let pg_columns: BTreeSet<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx%'",
    )
    .fetch_all(pp)
    .await
    .unwrap()
    .into_iter()
    .collect();
    assert!(
        sqlite_columns.len() > 100,
        "schema looks empty: {}",
        sqlite_columns.len()
    );
    assert_eq!(sqlite_columns, pg_columns);

    let sqlite_indexes: BTreeSet<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
    )
    .fetch_all(sp)
    .await
    .unwrap()
    .into_iter()
    .collect();
    let pg_indexes: BTreeSet<String> = sqlx::query_scalar(
        "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey'",
    )
    .fetch_all(pp)
    .await
    .unwrap()
    .into_iter()
    .collect();
    assert_eq!(sqlite_indexes, pg_indexes);

    sqlite.close().await;
    pg.close().await;
}
