//! `linli-sandbox --listen 127.0.0.1:PORT --fixtures DIR [--tls-listen 127.0.0.1:PORT]`

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "linli-sandbox", about = "Stand-ins for WeChat, Tencent FaceID and the housing registry")]
struct Args {
    /// Plain HTTP address: WeChat, FaceID, control endpoints.
    #[arg(long, default_value = "127.0.0.1:8900", env = "LINLI_SANDBOX_LISTEN")]
    listen: SocketAddr,
    /// HTTPS (mutual TLS) address for the housing registry.
    #[arg(long, env = "LINLI_SANDBOX_TLS_LISTEN")]
    tls_listen: Option<SocketAddr>,
    /// Fixtures folder (demo-register.csv, faces/, test-keys/).
    #[arg(long, default_value = "fixtures", env = "LINLI_SANDBOX_FIXTURES")]
    fixtures: PathBuf,
    /// Register CSV (default: <fixtures>/demo-register.csv).
    #[arg(long, env = "LINLI_SANDBOX_REGISTER")]
    register: Option<PathBuf>,
    #[arg(long, env = "LINLI_SANDBOX_WECHAT_APPID")]
    wechat_appid: Option<String>,
    #[arg(long, env = "LINLI_SANDBOX_WECHAT_SECRET")]
    wechat_secret: Option<String>,
    #[arg(long, env = "LINLI_SANDBOX_FACEID_SECRET_ID")]
    faceid_secret_id: Option<String>,
    #[arg(long, env = "LINLI_SANDBOX_FACEID_SECRET_KEY")]
    faceid_secret_key: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    let args = Args::parse();
    let mut credentials = linli_sandbox::Credentials::default();
    if let Some(v) = args.wechat_appid {
        credentials.wechat_appid = v;
    }
    if let Some(v) = args.wechat_secret {
        credentials.wechat_secret = v;
    }
    if let Some(v) = args.faceid_secret_id {
        credentials.faceid_secret_id = v;
    }
    if let Some(v) = args.faceid_secret_key {
        credentials.faceid_secret_key = v;
    }
    let sandbox = linli_sandbox::start(linli_sandbox::SandboxConfig {
        listen: args.listen,
        tls_listen: args.tls_listen,
        fixtures: args.fixtures,
        register: args.register,
        credentials,
    })
    .await?;
    // One line on stdout that scripts can wait for.
    println!(
        "linli-sandbox listening on http://{}{}",
        sandbox.http_addr,
        sandbox.tls_addr.map(|a| format!(" and https://{a} (registry, mutual TLS)")).unwrap_or_default()
    );
    tokio::select! {
        r = sandbox.wait() => r?,
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
