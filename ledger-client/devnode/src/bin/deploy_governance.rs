//! `bcos-deploy-governance`: deploys `LinliGovernance` for one community and grants each role to its key.
//!
//! ```text
//! bcos-deploy-governance --endpoint http://127.0.0.1:20200 --chain-id chain0 --group-id group0 [--sm]
//!     --admin-key KEY --forwarder ACCOUNT --committee ACCOUNT [--committee ACCOUNT ...]
//!     --property ACCOUNT --bank ACCOUNT --anchor ACCOUNT
//! ```
//! KEY is a key file (PEM or hex) or hex; ACCOUNT is an address (`0x` + 40 hex) or a key as KEY.
//! Prints `{"contract": "0x…", "grants": [...]}`. With `--registry FILE --community CODE` it also writes the
//! community's entry of the chain registry (endpoint, chain, group, suite and `contracts.governance`), keeping the
//! file's other communities and the entry's other fields (TLS files, node name). Plain HTTP only (the devnode).

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
    /// Chain registry file to record the deployment in (created if missing).
    #[arg(long, requires = "community")]
    registry: Option<std::path::PathBuf>,
    /// The community the contract serves (its key in the registry).
    #[arg(long, requires = "registry")]
    community: Option<String>,
}

/// Writes `communities.<community>` of the registry file: endpoint, chain, group, suite and the contract address.
fn record(args: &Args, contract: &str) -> Result<(), String> {
    let (Some(path), Some(community)) = (&args.registry, &args.community) else { return Ok(()) };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let mut doc: toml::Table = text.parse().map_err(|e| format!("{}: {e}", path.display()))?;
    let communities = doc
        .entry("communities")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        .as_table_mut()
        .ok_or("`communities` is not a table")?;
    let entry = communities
        .entry(community.clone())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        .as_table_mut()
        .ok_or("the community entry is not a table")?;
    entry.insert("endpoints".into(), toml::Value::Array(vec![toml::Value::String(args.endpoint.clone())]));
    entry.insert("chain_id".into(), toml::Value::String(args.chain_id.clone()));
    entry.insert("group_id".into(), toml::Value::String(args.group_id.clone()));
    entry.insert("crypto".into(), toml::Value::String(if args.sm { "sm" } else { "ecdsa" }.into()));
    let contracts = entry
        .entry("contracts")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        .as_table_mut()
        .ok_or("`contracts` is not a table")?;
    contracts.insert("governance".into(), toml::Value::String(contract.to_owned()));
    // Write a sibling file and rename it over the old one, so a crash never leaves half a registry.
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, toml::to_string_pretty(&doc).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, path).map_err(|e| e.to_string())
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
    let client = ChainClient::new(&args.chain_id, &args.group_id, suite, RpcConfig::plain(args.endpoint.clone(), args.group_id.clone()))
        .map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let contract = runtime.block_on(deploy_governance(&client, &admin, &grants)).map_err(|e| e.to_string())?;
    record(&args, &contract.to_string())?;
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
