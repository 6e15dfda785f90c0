//! `bcos-devnode --listen ADDR --data-dir DIR --chain-id ID --group-id ID [--sm] [--block-interval-ms N]`
//!
//! Prints `bcos-devnode listening on <addr>` on stdout once it accepts connections (use port 0 to let
//! the system choose, then read the address from that line).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use bcos_devnode::node::Config;
use bcos_devnode::server::{Options, Server};
use clap::Parser;
use linli_ledger_client::crypto::CryptoSuite;

#[derive(Debug, Parser)]
#[command(name = "bcos-devnode", about = "Single-node FISCO BCOS 3.x-compatible chain for development and tests")]
struct Args {
    /// Address for JSON-RPC over HTTP (FISCO's default RPC port is 20200).
    #[arg(long, default_value = "127.0.0.1:20200")]
    listen: String,
    /// Directory holding the block log; created if missing, replayed on start.
    #[arg(long)]
    data_dir: PathBuf,
    #[arg(long, default_value = "chain0")]
    chain_id: String,
    #[arg(long, default_value = "group0")]
    group_id: String,
    /// SM (国密) chain: SM3 hashes and SM2 signatures.
    #[arg(long)]
    sm: bool,
    /// Seal at most every N ms (0: seal as soon as a transaction arrives).
    #[arg(long, default_value_t = 0)]
    block_interval_ms: u64,
    /// Fault switch: start with sealing paused.
    #[arg(long)]
    pause_sealing: bool,
    /// Fault switch: delay every RPC answer by N ms.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Fault switch: commit sent transactions but drop the sendTransaction answer.
    #[arg(long)]
    drop_responses: bool,
}

fn main() -> ExitCode {
    // No TLS is served, but every binary of the project pins the ring provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bcos-devnode: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(args))
}

async fn run(args: Args) -> ExitCode {
    let config = Config { chain_id: args.chain_id, group_id: args.group_id, suite: CryptoSuite::from_sm_flag(args.sm) };
    let server = match Server::open(Options {
        config,
        data_dir: args.data_dir.clone(),
        block_interval_ms: args.block_interval_ms,
    }) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bcos-devnode: cannot open {}: {e}", args.data_dir.display());
            return ExitCode::FAILURE;
        }
    };
    server.faults.pause_sealing.store(args.pause_sealing, Ordering::SeqCst);
    server.faults.latency_ms.store(args.latency_ms, Ordering::SeqCst);
    server.faults.drop_responses.store(args.drop_responses, Ordering::SeqCst);
    let listener = match tokio::net::TcpListener::bind(&args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("bcos-devnode: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or(args.listen);
    println!("bcos-devnode listening on {addr}");
    let _ = std::io::stdout().flush();
    server.run(listener).await;
    ExitCode::SUCCESS
}
