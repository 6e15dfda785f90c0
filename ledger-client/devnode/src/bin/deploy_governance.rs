//! `bcos-deploy-governance`: deploys `LinliGovernance` for one community and grants each role to its key.
//!
//! ```text
//! bcos-deploy-governance --endpoint http://127.0.0.1:20200 --chain-id chain0 --group-id group0 [--sm]
//!     --admin-key KEY --forwarder ACCOUNT --committee ACCOUNT [--committee ACCOUNT ...]
//!     --property ACCOUNT --bank ACCOUNT --anchor ACCOUNT
//! ```
//! KEY is a key file (PEM or hex) or hex; ACCOUNT is an address (`0x` + 40 hex) or a key as KEY.
//! Prints `{"contract": "0x…", "grants": [...]}`: store the address in the chain registry under
//! `contracts.governance` of the community. Plain HTTP only (the devnode); use the server's CLI for TLS.

use std::process::ExitCode;

use clap::Parser;
use linli_ledger_client::client::ChainClient;
use linli_ledger_client::crypto::{Address, CryptoSuite};
use linli_ledger_client::governance::{RoleGrant, deploy_governance, role};
use linli_ledger_client::keys::load_signer;
use linli_ledger_client::rpc::RpcConfig;
use serde_json::json;

#[derive(Debug, Parser)]
#[command(name = "bcos-deploy-governance", about = "Deploy LinliGovernance and grant its roles")]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:20200")]
    endpoint: String,
    #[arg(long, default_value = "chain0")]
    chain_id: String,
    #[arg(long, default_value = "group0")]
    group_id: String,
    /// SM (国密) chain.
    #[arg(long)]
    sm: bool,
    /// The deployer, who becomes the contract's admin.
    #[arg(long)]
    admin_key: String,
    #[arg(long)]
    forwarder: Vec<String>,
    #[arg(long)]
    committee: Vec<String>,
    #[arg(long)]
    property: Vec<String>,
    #[arg(long)]
    bank: Vec<String>,
    #[arg(long)]
    anchor: Vec<String>,
}

fn account(suite: CryptoSuite, arg: &str) -> Result<Address, String> {
    let hex_part = arg.strip_prefix("0x").unwrap_or(arg);
    if hex_part.len() == 40 && hex_part.chars().all(|c| c.is_ascii_hexdigit()) {
        return arg.parse().map_err(|e| format!("{arg}: {e:?}"));
    }
    load_signer(suite, arg).map(|s| s.address()).map_err(|e| format!("key {arg}: {e}"))
}

fn run(args: Args) -> Result<serde_json::Value, String> {
    let suite = CryptoSuite::from_sm_flag(args.sm);
    let admin = load_signer(suite, &args.admin_key).map_err(|e| format!("admin key: {e}"))?;
    let mut grants = Vec::new();
    for (accounts, r) in [
        (&args.forwarder, role::FORWARDER),
        (&args.committee, role::COMMITTEE),
        (&args.property, role::PROPERTY),
        (&args.bank, role::BANK),
        (&args.anchor, role::ANCHOR),
    ] {
        for a in accounts {
            grants.push(RoleGrant { account: account(suite, a)?, role: r });
        }
    }
    let client = ChainClient::new(&args.chain_id, &args.group_id, suite, RpcConfig::plain(args.endpoint, args.group_id.clone()))
        .map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let contract = runtime.block_on(deploy_governance(&client, &admin, &grants)).map_err(|e| e.to_string())?;
    Ok(json!({
        "contract": contract.to_string(),
        "admin": admin.address().to_string(),
        "grants": grants.iter().map(|g| json!({"account": g.account.to_string(), "role": g.role})).collect::<Vec<_>>(),
    }))
}

fn main() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    match run(Args::parse()) {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bcos-deploy-governance: {e}");
            ExitCode::FAILURE
        }
    }
}
