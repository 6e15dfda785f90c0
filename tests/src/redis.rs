//! A Redis of a test's own, for tests that restart it (Redis losing what it holds must lose nothing that matters).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Redis {
    pub port: u16,
    child: Child,
}

impl Redis {
    /// Starts `redis-server` without persistence on `port` and waits until it accepts connections.
    pub async fn start(port: u16) -> anyhow::Result<Self> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let redis = Self { port, child };
        for _ in 0..50 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(redis);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("redis-server did not listen on port {port}")
    }

    /// The server's `LINLI_REDIS__URL` for this Redis.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills it (everything it held is gone) and starts a fresh one on the same port.
    pub async fn restart(mut self) -> anyhow::Result<Self> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        Self::start(self.port).await
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
