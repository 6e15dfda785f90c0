//! The statements every ballot sheet runs use an index whatever the tables hold: a sequential scan of
//! `ballot_sheets` would make each voter of each community pay a pass over every sheet ever cast. Checked on the
//! generic plan of the prepared statement (what PostgreSQL settles on after a few executions of diesel's cached
//! statement), with sequential scans disabled, so that the answer does not depend on the empty table's statistics.

use diesel::pg::Pg;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use linli_server::testing::TestDb;
use uuid::Uuid;

#[derive(diesel::QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
    line: String,
}

/// The generic plan of `sql` (with `$n` parameters) executed with `args` (SQL literals).
async fn generic_plan(conn: &mut AsyncPgConnection, sql: &str, args: &str) -> String {
    diesel::sql_query("SET plan_cache_mode = force_generic_plan").execute(conn).await.unwrap();
    diesel::sql_query("SET enable_seqscan = off").execute(conn).await.unwrap();
    diesel::sql_query(format!("PREPARE plan_under_test AS {sql}")).execute(conn).await.unwrap();
    let lines: Vec<PlanLine> = diesel::sql_query(format!("EXPLAIN EXECUTE plan_under_test({args})")).load(conn).await.unwrap();
    diesel::sql_query("DEALLOCATE plan_under_test").execute(conn).await.unwrap();
    lines.into_iter().map(|l| l.line).collect::<Vec<_>>().join("\n")
}

/// The SQL diesel sends for `query`, without its bind list.
fn sql_of<T: diesel::query_builder::QueryFragment<Pg>>(query: &T) -> String {
    let text = diesel::debug_query::<Pg, _>(query).to_string();
    text.split(" -- binds:").next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn sheet_queries_use_indexes() {
    let db = TestDb::new().await.unwrap();
    let mut conn = AsyncPgConnection::establish(db.url()).await.unwrap();
    let (meeting, account) = (Uuid::now_v7(), Uuid::now_v7());
    for proxy in [None, Some(Uuid::now_v7())] {
        let sql = sql_of(&linli_server::governance::store::live_sheet_query(meeting, account, proxy));
        let proxy = proxy.map_or("NULL".to_owned(), |p| format!("'{p}'"));
        let plan = generic_plan(&mut conn, &sql, &format!("'{meeting}', '{account}', {proxy}")).await;
        assert!(!plan.contains("Seq Scan"), "{sql}\n{plan}");
    }
}
