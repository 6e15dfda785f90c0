//! `linli-gate`: the reader at a door. `sync` fetches the key set and revocation list, `verify <text>` decides
//! one pass and prints the decision as JSON, `run` serves a scanner: one pass text per line on standard input,
//! one decision per line on standard output (`!sync` and `!upload` lines sync or upload at once).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use linli_gate::state::{Event, GateState, Synced};
use linli_gate::{Decision, decide};
use linli_identity::org_app::{AppSecret, authorization_header};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::sync::{Mutex, Notify};
use uuid::Uuid;

#[derive(Parser)]
#[command(name = "linli-gate", version, about = "The Linli reader at a door or barrier")]
struct Cli {
    /// Where the reader keeps its key set, revocation list, use counts and buffered events.
    #[arg(long, env = "LINLI_GATE_STATE_DIR")]
    state_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct ServerArgs {
    /// The Linli server, e.g. https://api.example.com
    #[arg(long, env = "LINLI_GATE_SERVER")]
    server: String,
    /// The `door_gateway` app of this reader.
    #[arg(long, env = "LINLI_GATE_APP_ID")]
    app_id: String,
    /// Its secret (from the environment only).
    #[arg(long, env = "LINLI_GATE_APP_SECRET", hide_env_values = true)]
    app_secret: String,
    #[arg(long, env = "LINLI_GATE_COMMUNITY")]
    community: Uuid,
}

#[derive(Subcommand)]
enum Command {
    /// Fetch the key set and revocation list once.
    Sync(ServerArgs),
    /// Decide one pass text with what was synced last and print the decision as JSON (counts no use, records no
    /// event).
    Verify {
        #[arg(long, env = "LINLI_GATE_DOOR_CODE")]
        door_code: u32,
        text: String,
    },
    /// Serve a scanner on standard input until it closes.
    Run {
        #[command(flatten)]
        server: ServerArgs,
        #[arg(long, env = "LINLI_GATE_DOOR_CODE")]
        door_code: u32,
        /// Run with `sh -c` to open the lock (the door code in `LINLI_GATE_DOOR_CODE`); without it the opening is
        /// a log line.
        #[arg(long, env = "LINLI_GATE_LOCK_COMMAND")]
        lock_command: Option<String>,
        #[arg(long, default_value_t = 60)]
        sync_secs: u64,
        #[arg(long, default_value_t = 10)]
        upload_secs: u64,
    },
}

fn main() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    tracing_subscriber::fmt().with_writer(std::io::stderr).with_env_filter(
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
    ).init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("linli-gate: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("linli-gate: {e:#}");
            ExitCode::FAILURE
        }
    }
}

struct Server {
    http: reqwest::Client,
    args: ServerArgs,
    uploading: Mutex<()>,
}

impl Server {
    fn new(args: ServerArgs) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
        Ok(Self { http, args, uploading: Mutex::new(()) })
    }

    fn auth(&self, method: &str, path: &str, body: &[u8]) -> String {
        let nonce = Uuid::new_v4().simple().to_string();
        authorization_header(
            &self.args.app_id,
            &AppSecret::from_text(&self.args.app_secret),
            method,
            path,
            chrono::Utc::now().timestamp_millis(),
            &nonce,
            body,
        )
    }

    async fn sync(&self) -> anyhow::Result<Synced> {
        let path = format!("/openapi/v1/communities/{}/access/sync", self.args.community);
        let resp = self
            .http
            .get(format!("{}{path}", self.args.server.trim_end_matches('/')))
            .header("authorization", self.auth("GET", &path, b""))
            .send()
            .await?;
        anyhow::ensure!(resp.status().is_success(), "sync answered {}", resp.status());
        Ok(resp.json().await?)
    }

    /// Uploads events in batches of at most 500; returns the ids the server took (recorded now or before).
    async fn upload(&self, events: &[Event]) -> anyhow::Result<Vec<Uuid>> {
        let path = "/openapi/v1/access/events";
        let mut taken = Vec::new();
        for chunk in events.chunks(500) {
            let body = serde_json::to_vec(&serde_json::json!({ "community_id": self.args.community, "events": chunk }))?;
            let resp = self
                .http
                .post(format!("{}{path}", self.args.server.trim_end_matches('/')))
                .header("authorization", self.auth("POST", path, &body))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await?;
            anyhow::ensure!(resp.status().is_success(), "the server answered {}", resp.status());
            taken.extend(chunk.iter().map(|e| e.id));
        }
        Ok(taken)
    }
}

async fn sync_into(server: &Server, state: &Mutex<GateState>) -> anyhow::Result<()> {
    let synced = server.sync().await?;
    state.lock().await.store_synced(synced)
}

async fn upload_pending(server: &Server, state: &Mutex<GateState>) -> anyhow::Result<usize> {
    // One upload at a time (the background task and `!upload`), so no event is sent twice by this reader.
    let _one = server.uploading.lock().await;
    let pending = state.lock().await.pending()?;
    if pending.is_empty() {
        return Ok(0);
    }
    let taken = server.upload(&pending).await?;
    state.lock().await.forget(&taken)?;
    Ok(taken.len())
}

fn open_lock(lock_command: Option<&str>, door_code: u32) {
    match lock_command {
        None => tracing::info!(door_code, "lock: open"),
        Some(cmd) => match std::process::Command::new("sh").arg("-c").arg(cmd).env("LINLI_GATE_DOOR_CODE", door_code.to_string()).status() {
            Ok(s) if s.success() => tracing::info!(door_code, "lock: opened by the lock command"),
            Ok(s) => tracing::error!(door_code, status = %s, "lock command failed"),
            Err(e) => tracing::error!(door_code, error = %e, "lock command could not run"),
        },
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut state = GateState::open(&cli.state_dir)?;
    match cli.command {
        Command::Sync(args) => {
            let server = Server::new(args)?;
            state.store_synced(server.sync().await?)?;
            println!("{}", serde_json::json!({ "keys": state.synced.keys.keys.len(), "revoked": state.synced.revoked.len() }));
            Ok(())
        }
        Command::Verify { door_code, text } => {
            let decision = decide(&text, &state.synced, &|p| state.used(p), door_code, chrono::Utc::now().timestamp_millis());
            println!("{}", serde_json::to_string(&decision)?);
            Ok(())
        }
        Command::Run { server, door_code, lock_command, sync_secs, upload_secs } => {
            let server = Arc::new(Server::new(server)?);
            let state = Arc::new(Mutex::new(state));
            if let Err(e) = sync_into(&server, &state).await {
                tracing::warn!(error = %format!("{e:#}"), "sync failed; deciding with the last synced state");
            }
            let kick = Arc::new(Notify::new());
            let (s, st) = (server.clone(), state.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(sync_secs.max(1))).await;
                    if let Err(e) = sync_into(&s, &st).await {
                        tracing::warn!(error = %format!("{e:#}"), "sync failed");
                    }
                }
            });
            let (s, st, k) = (server.clone(), state.clone(), kick.clone());
            tokio::spawn(async move {
                loop {
                    let _ = tokio::time::timeout(Duration::from_secs(upload_secs.max(1)), k.notified()).await;
                    if let Err(e) = upload_pending(&s, &st).await {
                        tracing::warn!(error = %format!("{e:#}"), "upload failed; the events stay buffered");
                    }
                }
            });
            let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
            let mut out = tokio::io::stdout();
            while let Some(line) = lines.next_line().await? {
                let answer = match line.trim() {
                    "" => continue,
                    "!sync" => match sync_into(&server, &state).await {
                        Ok(()) => serde_json::json!({ "synced": true }),
                        Err(e) => serde_json::json!({ "synced": false, "error": format!("{e:#}") }),
                    },
                    "!upload" => match upload_pending(&server, &state).await {
                        Ok(n) => serde_json::json!({ "uploaded": n }),
                        Err(e) => serde_json::json!({ "uploaded": 0, "error": format!("{e:#}") }),
                    },
                    text => serde_json::to_value(scan(&state, text, door_code, lock_command.as_deref()).await?)?,
                };
                out.write_all(format!("{answer}\n").as_bytes()).await?;
                out.flush().await?;
                kick.notify_one();
            }
            // Standard input closed: one last upload attempt; what fails stays buffered for the next start.
            if let Err(e) = upload_pending(&server, &state).await {
                tracing::warn!(error = %format!("{e:#}"), "final upload failed; the events stay buffered");
            }
            Ok(())
        }
    }
}

/// One scan: decide, count the use, buffer the event (both on disk) and only then open the lock.
async fn scan(state: &Mutex<GateState>, text: &str, door_code: u32, lock_command: Option<&str>) -> anyhow::Result<Decision> {
    let now = chrono::Utc::now();
    let mut st = state.lock().await;
    let decision = decide(text, &st.synced, &|p| st.used(p), door_code, now.timestamp_millis());
    if let (true, Some("visitor"), Some(p)) = (decision.admitted(), decision.kind, decision.pass_id) {
        st.count_use(p)?;
    }
    st.buffer(&decision.event(now))?;
    drop(st);
    if decision.admitted() {
        open_lock(lock_command, door_code);
    }
    Ok(decision)
}
