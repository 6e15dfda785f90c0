//! Test support: every test gets its own PostgreSQL database cloned from a migrated template, dropped afterwards,
//! so tests run in parallel (also across processes, as nextest runs them) and leave nothing behind.
//!
//! The admin URL comes from `LINLI_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`),
//! Redis from `LINLI_TEST_REDIS_URL` (default `redis://127.0.0.1:6379/`). The template is named after a hash of
//! the migration files, so changing a migration builds a new one.

use std::path::Path;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use secrecy::SecretString;
use sha2::{Digest, Sha256};

use crate::config::PiiConfig;

pub fn admin_url() -> String {
    std::env::var("LINLI_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

pub fn redis_url() -> String {
    std::env::var("LINLI_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned())
}

/// The URL of database `name` on the same server as the admin URL.
pub fn url_for(name: &str) -> String {
    let admin = admin_url();
    match admin.rfind('/') {
        Some(i) if !admin[..i].ends_with('/') => format!("{}/{}", &admin[..i], name),
        _ => format!("{}/{}", admin.trim_end_matches('/'), name),
    }
}

/// Test-only personal-data keys (never used outside tests).
pub fn test_pii_config() -> PiiConfig {
    PiiConfig {
        active_key_id: "test1".to_owned(),
        encryption_key: SecretString::from("0f".repeat(32)),
        previous_keys: Default::default(),
        blind_index_key: SecretString::from("1e".repeat(32)),
    }
}

/// Names the template after the migrations: the files on disk (an edited migration) and the names this binary
/// embedded (a binary built before a migration was added must not reuse, or create, the newer template).
fn migrations_fingerprint() -> String {
    use diesel::migration::MigrationSource;
    let embedded: Vec<String> = MigrationSource::<diesel::pg::Pg>::migrations(&crate::db::MIGRATIONS)
        .map(|ms| ms.iter().map(|m| m.name().to_string()).collect())
        .unwrap_or_default();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        if let Ok(entries) = std::fs::read_dir(&d) {
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() { stack.push(p) } else { files.push(p) }
            }
        }
    }
    files.sort();
    let mut h = Sha256::new();
    for name in embedded {
        h.update(name.as_bytes());
    }
    for f in files {
        h.update(f.to_string_lossy().as_bytes());
        h.update(std::fs::read(&f).unwrap_or_default());
    }
    hex::encode(&h.finalize()[..6])
}

#[derive(Debug, thiserror::Error)]
pub enum TestDbError {
    #[error("cannot connect to PostgreSQL at the admin URL (is it running? see deploy/test.sh)")]
    Connect(#[from] diesel::ConnectionError),
    #[error("SQL failed")]
    Sql(#[from] diesel::result::Error),
    #[error("migrations failed")]
    Migrate(#[from] crate::db::MigrationError),
}

const TEMPLATE_LOCK: i64 = 0x4c49_4e4c_4954_4d50; // "LINLITMP"

async fn ensure_template() -> Result<String, TestDbError> {
    let name = format!("linli_tmpl_{}", migrations_fingerprint());
    let mut admin = AsyncPgConnection::establish(&admin_url()).await?;
    diesel::sql_query(format!("SELECT pg_advisory_lock({TEMPLATE_LOCK})")).execute(&mut admin).await?;
    let result = async {
        #[derive(diesel::QueryableByName)]
        struct Exists {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            exists: bool,
        }
        let found: Exists = diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
            .bind::<diesel::sql_types::Text, _>(&name)
            .get_result(&mut admin)
            .await?;
        if !found.exists {
            // Build under a temporary name and rename when complete, so a crash never leaves a half template.
            let building = format!("{name}_building");
            diesel::sql_query(format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)")).execute(&mut admin).await?;
            diesel::sql_query(format!("CREATE DATABASE {building}")).execute(&mut admin).await?;
            crate::db::run_migrations(&url_for(&building)).await?;
            diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {name}")).execute(&mut admin).await?;
        }
        Ok::<_, TestDbError>(())
    }
    .await;
    diesel::sql_query(format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK})")).execute(&mut admin).await?;
    result.map(|()| name)
}

/// A fresh, migrated database for one test. Dropped (forcefully) when this value is dropped.
pub struct TestDb {
    name: String,
    url: String,
}

impl TestDb {
    pub async fn new() -> Result<Self, TestDbError> {
        let template = ensure_template().await?;
        let name = format!("linli_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = AsyncPgConnection::establish(&admin_url()).await?;
        diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}")).execute(&mut admin).await?;
        Ok(Self { url: url_for(&name), name })
    }

    /// An empty database with no migrations applied (for migration tests).
    pub async fn empty() -> Result<Self, TestDbError> {
        let name = format!("linli_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = AsyncPgConnection::establish(&admin_url()).await?;
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
        Ok(Self { url: url_for(&name), name })
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop may run inside or outside a runtime; a short-lived thread with its own runtime works in both.
        let handle = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async {
                if let Ok(mut admin) = AsyncPgConnection::establish(&admin_url()).await {
                    let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut admin)
                        .await;
                }
            });
        });
        let _ = handle.join();
    }
}
