//! PostgreSQL access: the async connection pool (diesel-async + deadpool) and the embedded migrations.

use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod};
use diesel_async::pooled_connection::deadpool::{BuildError, Pool};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub type DbPool = Pool<AsyncPgConnection>;
pub type PoolError = diesel_async::pooled_connection::deadpool::PoolError;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// A pooled connection is handed out without a `SELECT 1` first (`RecyclingMethod::Fast`): the pool still drops
/// a connection whose socket has closed or whose transaction was left broken, which covers a PostgreSQL restart
/// (the server closes every session); only a peer that vanished without closing costs one failed request. The
/// ping would be one more round trip on every request.
pub fn pool(url: &str, size: usize) -> Result<DbPool, BuildError> {
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    Pool::builder(manager).max_size(size).build()
}

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("cannot connect to the database")]
    Connect(#[source] diesel::ConnectionError),
    #[error("a migration failed")]
    Run(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the migration task failed")]
    Join(#[source] tokio::task::JoinError),
}

/// Runs every pending migration and returns the versions applied.
///
/// diesel's migration harness is synchronous; it runs on a blocking thread through the async connection wrapper
/// (never `block_in_place` on a runtime worker).
pub async fn run_migrations(url: &str) -> Result<Vec<String>, MigrationError> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        use diesel::Connection;
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url).map_err(MigrationError::Connect)?;
        let applied = conn.run_pending_migrations(MIGRATIONS).map_err(MigrationError::Run)?;
        Ok(applied.iter().map(|v| v.to_string()).collect())
    })
    .await
    .map_err(MigrationError::Join)?
}

/// Reverts the most recent migration (used by the test that proves every `down.sql` works).
pub async fn revert_all(url: &str) -> Result<usize, MigrationError> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        use diesel::Connection;
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url).map_err(MigrationError::Connect)?;
        let reverted = conn.revert_all_migrations(MIGRATIONS).map_err(MigrationError::Run)?;
        Ok(reverted.len())
    })
    .await
    .map_err(MigrationError::Join)?
}
