//! A TCP relay the test can cut: placed between the server and PostgreSQL, it closes every relayed connection
//! at once, as a PostgreSQL restart ends every session, and while held down it closes new connections on arrival
//! (a database that is not back yet). The server sees exactly what a restart shows a client: its sockets close,
//! open transactions are rolled back by PostgreSQL, and a commit whose answer was in flight may or may not have
//! happened.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct Cutter {
    pub addr: SocketAddr,
    cuts: watch::Sender<u64>,
    down: Arc<AtomicBool>,
    relayed: Arc<AtomicU64>,
    accept: tokio::task::JoinHandle<()>,
}

impl Cutter {
    /// A relay in front of the database at `url` (`postgres://…`), and the URL that goes through it.
    pub async fn in_front_of(url: &str) -> anyhow::Result<(Self, String)> {
        let parsed = reqwest::Url::parse(url)?;
        let host = parsed.host_str().ok_or_else(|| anyhow::anyhow!("{url} has no host"))?;
        let upstream = tokio::net::lookup_host((host, parsed.port().unwrap_or(5432)))
            .await?
            .next()
            .ok_or_else(|| anyhow::anyhow!("{host} does not resolve"))?;
        let cutter = Self::start(upstream).await?;
        let through = cutter.url_through(url)?;
        Ok((cutter, through))
    }

    /// Relays connections made to [`Self::addr`] to `upstream`.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (cuts, _) = watch::channel(0u64);
        let (down, relayed) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
        let accept = tokio::spawn({
            let (cuts, down, relayed) = (cuts.clone(), down.clone(), relayed.clone());
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    if down.load(Ordering::SeqCst) {
                        drop(client);
                        continue;
                    }
                    let mut cut = cuts.subscribe();
                    relayed.fetch_add(1, Ordering::SeqCst);
                    tokio::spawn(async move {
                        let Ok(server) = TcpStream::connect(upstream).await else { return };
                        let (mut client, mut server) = (client, server);
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                            _ = cut.changed() => {}
                        }
                        // Both sockets close here.
                    });
                }
            }
        });
        Ok(Self { addr, cuts, down, relayed, accept })
    }

    /// Closes every connection relayed so far.
    pub fn cut(&self) {
        self.cuts.send_modify(|n| *n += 1);
    }

    /// Down: every open connection is cut and new ones are closed on arrival until [`Self::set_down`]`(false)`.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
        if down {
            self.cut();
        }
    }

    /// Connections relayed so far (each a new database session of the server).
    pub fn connections(&self) -> u64 {
        self.relayed.load(Ordering::SeqCst)
    }

    /// `url` (a `postgres://` URL) pointed at this relay.
    fn url_through(&self, url: &str) -> anyhow::Result<String> {
        let mut u = reqwest::Url::parse(url)?;
        u.set_host(Some(&self.addr.ip().to_string()))?;
        u.set_port(Some(self.addr.port())).map_err(|()| anyhow::anyhow!("{url} takes no port"))?;
        Ok(u.to_string())
    }
}

impl Drop for Cutter {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}
