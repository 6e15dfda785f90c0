//! Every migration applies on an empty database, every down.sql reverts it, and they apply again.

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use linli_server::testing::TestDb;

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

async fn user_tables(url: &str) -> i64 {
    let mut conn = AsyncPgConnection::establish(url).await.unwrap();
    let c: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public' \
         AND table_name <> '__diesel_schema_migrations'",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    c.n
}

#[tokio::test]
async fn migrations_go_up_down_and_up_again() {
    let db = TestDb::empty().await.unwrap();
    let applied = linli_server::db::run_migrations(db.url()).await.unwrap();
    assert!(!applied.is_empty());
    assert!(user_tables(db.url()).await >= 10);
    let reverted = linli_server::db::revert_all(db.url()).await.unwrap();
    assert_eq!(reverted, applied.len());
    assert_eq!(user_tables(db.url()).await, 0);
    let again = linli_server::db::run_migrations(db.url()).await.unwrap();
    assert_eq!(again, applied);
    assert!(linli_server::db::run_migrations(db.url()).await.unwrap().is_empty(), "second run applies nothing");
}
