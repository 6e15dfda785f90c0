//! End-to-end harness: starts the real `linli` binary (built by `cargo build --bins`, as `deploy/test.sh` does)
//! on a free port against a fresh database, and talks HTTP to it.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use linli_server::testing::{TestDb, redis_url};

pub mod chain;
pub mod client;
pub mod cutter;
pub mod fault;
pub mod meeting;
pub mod org;
pub mod owner;
pub mod redis;
pub mod voters;
pub mod world;

#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("binary {0} not found next to the test executable: run `cargo build --workspace --bins` first")]
    MissingBinary(PathBuf),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("the server did not become ready in time; its log:\n{0}")]
    NotReady(String),
}

/// The directory holding the workspace's binaries (`target/<profile>`), found from the running test executable
/// (`target/<profile>/deps/<test>`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent().map(PathBuf::from).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

pub fn binary(name: &str) -> Result<PathBuf, HarnessError> {
    let path = bin_dir().join(name);
    if path.exists() { Ok(path) } else { Err(HarnessError::MissingBinary(path)) }
}

pub fn free_port() -> Result<u16, std::io::Error> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// What every `linli` command of a test needs: the database, Redis and the test personal-data keys.
pub fn base_env(db: &TestDb) -> Vec<(String, String)> {
    [
        ("LINLI_DATABASE__URL", db.url().to_owned()),
        ("LINLI_REDIS__URL", redis_url()),
        ("LINLI_PII__ACTIVE_KEY_ID", "test1".to_owned()),
        ("LINLI_PII__ENCRYPTION_KEY", "0f".repeat(32)),
        ("LINLI_PII__BLIND_INDEX_KEY", "1e".repeat(32)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// A running `linli serve`. Killed (SIGKILL) when dropped if still running.
pub struct LinliServer {
    child: Child,
    pub base_url: String,
    pub port: u16,
    log_path: PathBuf,
    _log_dir: TempDir,
}

/// A minimal temp dir (removed on drop) so the harness needs no extra dependency.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl LinliServer {
    /// Starts the server against `db` (already migrated: `TestDb::new` clones a migrated template) with extra
    /// `LINLI_*` environment. `linli serve` needs the identity section: [`world::World`] supplies it (and a sandbox).
    pub async fn start_with(db: &TestDb, extra_env: &[(String, String)]) -> Result<Self, HarnessError> {
        Self::start_on(db, extra_env, free_port()?).await
    }

    /// As [`Self::start_with`], on a given port (a restart after [`Self::kill`] keeps the clients' base URL).
    pub async fn start_on(db: &TestDb, extra_env: &[(String, String)], port: u16) -> Result<Self, HarnessError> {
        let dir = std::env::temp_dir().join(format!("linli-e2e-{}-{port}-{}", std::process::id(), uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir)?;
        let log_path = dir.join("linli.log");
        let log = std::fs::File::create(&log_path)?;
        let child = Command::new(binary("linli")?)
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LINLI_HTTP__LISTEN", format!("127.0.0.1:{port}"))
            .env("LINLI_HTTP__WORKERS", "2")
            .env("LINLI_HTTP__SHUTDOWN_TIMEOUT_SECS", "20")
            .envs(base_env(db))
            .env("LINLI_DATABASE__POOL_SIZE", "4")
            .env("LINLI_LOG__FORMAT", "json")
            .env("RUST_LOG", "debug")
            .envs(extra_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()?;
        let server =
            Self { child, base_url: format!("http://127.0.0.1:{port}"), port, log_path, _log_dir: TempDir(dir) };
        server.wait_ready(Duration::from_secs(30)).await?;
        Ok(server)
    }

    async fn wait_ready(&self, within: Duration) -> Result<(), HarnessError> {
        let client = client();
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(resp) = client.get(format!("{}/readyz", self.base_url)).send().await
                && resp.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(HarnessError::NotReady(self.log()))
    }

    /// Whether the process has exited (killed or crashed).
    pub fn has_exited(&mut self) -> std::io::Result<bool> {
        Ok(self.child.try_wait()?.is_some())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Sends SIGTERM (via the `kill` command: no unsafe code here).
    pub fn terminate(&self) -> std::io::Result<()> {
        Command::new("kill").arg("-TERM").arg(self.pid().to_string()).status().map(|_| ())
    }

    /// Waits for the process to end and tells whether SIGKILL ended it (`None`: still running after `within`).
    pub fn wait_killed(&mut self, within: Duration) -> std::io::Result<Option<bool>> {
        use std::os::unix::process::ExitStatusExt;
        Ok(self.wait(within)?.map(|status| status.signal() == Some(9)))
    }

    /// SIGKILL now (if still running) and reap: no shutdown hook runs, requests in flight are cut off.
    pub fn kill(&mut self) -> std::io::Result<()> {
        if self.child.try_wait()?.is_none() {
            self.child.kill()?;
        }
        self.child.wait().map(|_| ())
    }

    pub fn wait(&mut self, within: Duration) -> std::io::Result<Option<ExitStatus>> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Ok(Some(status));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(None)
    }
}

impl Drop for LinliServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn client() -> reqwest::Client {
    // reqwest is built without a bundled crypto provider: the process chooses ring, as every binary does.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default()
}

/// A one-page PDF carrying `marker` in its text: what an owner's or a staff member's scan of a signed paper (a
/// property certificate, a written proxy) looks like to the upload checks.
pub fn one_page_pdf(marker: &str) -> Vec<u8> {
    format!(
        "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
         2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n\
         3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >> endobj\n\
         4 0 obj << /Length 44 >> stream\nBT /F1 12 Tf 72 712 Td ({marker}) Tj ET\nendstream endobj\n\
         trailer << /Root 1 0 R >>\nstartxref\n0\n%%EOF\n"
    )
    .into_bytes()
}
