//! `bcos`: FISCO BCOS 3.x operator and test tool. Every command prints one JSON object on stdout; byte
//! strings are lowercase hex without `0x`, addresses `0x`-prefixed lowercase. Errors: one line on stderr,
//! non-zero exit.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use linli_ledger_client::abi::selector;
use linli_ledger_client::client::{ChainClient, PreparedTx, TxOutcome};
use linli_ledger_client::crypto::{Address, CryptoSuite, Signer};
use linli_ledger_client::keys::load_signer;
use linli_ledger_client::registry::{ChainRegistry, ChainTarget};
use linli_ledger_client::rpc::tls::TlsFiles;
use linli_ledger_client::rpc::{RpcClient, RpcConfig};
use linli_ledger_client::tars::TransactionData;
use linli_ledger_client::tx::{decode_and_check, random_nonce, sign_data};
use serde_json::{Value, json};

#[derive(Parser)]
#[command(name = "bcos", version, about = "FISCO BCOS 3.x client tool (JSON output)")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Keys: address of a key, new key.
    #[command(subcommand)]
    Key(KeyCmd),
    /// Transactions: build and sign offline, decode and check.
    #[command(subcommand)]
    Tx(TxCmd),
    /// ABI helpers.
    #[command(subcommand)]
    Abi(AbiCmd),
    /// Raw JSON-RPC call; prints the result.
    Rpc {
        #[command(flatten)]
        conn: Conn,
        method: String,
        /// JSON array of parameters (default `[]`).
        params: Option<String>,
    },
    /// Sign and send an ABI-encoded transaction; waits for the receipt.
    Send {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        chain_id: Option<String>,
        /// Contract address (or a contract name of the registry); omit to deploy `--input` as bytecode.
        #[arg(long)]
        to: Option<String>,
        /// ABI-encoded call data (hex).
        #[arg(long)]
        input: String,
        #[arg(long)]
        key: String,
        #[arg(long)]
        sm: bool,
        /// Seconds to wait for the receipt.
        #[arg(long, default_value_t = 30)]
        wait: u64,
    },
    /// Read-only ABI-encoded call.
    Call {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        to: String,
        #[arg(long)]
        input: String,
    },
}

#[derive(Args)]
struct Conn {
    /// Node RPC URL, `http://host:20200` or `https://...` with the TLS files.
    #[arg(long, required_unless_present = "registry")]
    url: Option<String>,
    /// Chain registry file (TOML); with `--community`, replaces `--url`, `--group-id`, the TLS files,
    /// `--chain-id` and `--sm`, and lets `--to` name a contract.
    #[arg(long, requires = "community", conflicts_with = "url")]
    registry: Option<PathBuf>,
    #[arg(long)]
    community: Option<String>,
    #[arg(long, default_value = "group0")]
    group_id: String,
    /// Chain CA certificate (PEM) for HTTPS.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// SDK certificate (PEM) for HTTPS.
    #[arg(long)]
    cert: Option<PathBuf>,
    /// SDK private key (PEM) for HTTPS.
    #[arg(long)]
    tls_key: Option<PathBuf>,
    #[arg(long, default_value_t = 30)]
    timeout: u64,
}

#[derive(Subcommand)]
enum KeyCmd {
    /// Address and public key of a private key.
    Address {
        /// 64 hex digits, or a PEM file.
        #[arg(long)]
        key: String,
        #[arg(long)]
        sm: bool,
    },
    /// A fresh random key.
    New {
        #[arg(long)]
        sm: bool,
    },
}

#[derive(Subcommand)]
enum TxCmd {
    /// Build and sign a version-0 transaction from its fields (`--to` hashed verbatim).
    Build {
        #[arg(long)]
        chain_id: String,
        #[arg(long)]
        group_id: String,
        #[arg(long, allow_hyphen_values = true)]
        block_limit: i64,
        /// Decimal string; random when omitted.
        #[arg(long)]
        nonce: Option<String>,
        #[arg(long, default_value = "")]
        to: String,
        #[arg(long, default_value = "")]
        input: String,
        #[arg(long, default_value = "")]
        abi: String,
        #[arg(long)]
        sm: bool,
        #[arg(long)]
        key: String,
    },
    /// Decode a signed transaction and check its hash and signature.
    Decode {
        signed_tx: String,
        #[arg(long)]
        sm: bool,
    },
}

#[derive(Subcommand)]
enum AbiCmd {
    /// Function selector of a signature such as `transfer(address,uint256)`.
    Selector {
        signature: String,
        #[arg(long)]
        sm: bool,
    },
    /// Event topic of a signature.
    Topic {
        signature: String,
        #[arg(long)]
        sm: bool,
    },
}

fn hex_arg(name: &str, s: &str) -> Result<Vec<u8>, String> {
    let t = s.trim();
    let t = t.strip_prefix("0x").unwrap_or(t);
    if !t.len().is_multiple_of(2) {
        return Err(format!("{name}: odd number of hex digits"));
    }
    hex::decode(t).map_err(|e| format!("{name}: invalid hex: {e}"))
}

fn signer(key: &str, sm: bool) -> Result<Signer, String> {
    load_signer(CryptoSuite::from_sm_flag(sm), key).map_err(|e| format!("key: {e}"))
}

/// The registry target named by `--registry`/`--community`, if any.
fn target(conn: &Conn) -> Result<Option<ChainTarget>, String> {
    match (&conn.registry, &conn.community) {
        (Some(path), Some(community)) => {
            let reg = ChainRegistry::load(path).map_err(|e| e.to_string())?;
            reg.target(community).cloned().map(Some).map_err(|e| e.to_string())
        }
        _ => Ok(None),
    }
}

fn rpc_config(conn: &Conn, target: Option<&ChainTarget>) -> Result<RpcConfig, String> {
    if let Some(t) = target {
        return Ok(t.rpc_config());
    }
    let url = conn.url.clone().ok_or("--url or --registry is required")?;
    let mut c = RpcConfig::plain(url, conn.group_id.clone());
    c.timeout = Duration::from_secs(conn.timeout);
    c.tls = match (&conn.ca, &conn.cert, &conn.tls_key) {
        (Some(ca), Some(cert), Some(key)) => Some(TlsFiles { ca: ca.clone(), cert: cert.clone(), key: key.clone() }),
        (None, None, None) => None,
        _ => return Err("--ca, --cert and --tls-key go together".into()),
    };
    Ok(c)
}

/// An address, or a contract name of the registry target.
fn contract_arg(to: &str, target: Option<&ChainTarget>) -> Result<Address, String> {
    match to.parse::<Address>() {
        Ok(a) => Ok(a),
        Err(e) => target.and_then(|t| t.contract(to)).ok_or_else(|| e.to_string()),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())
}

fn outcome_json(o: &TxOutcome) -> Value {
    let receipt = o.receipt().map(|r| {
        json!({
            "block_number": r.block_number,
            "status": r.status,
            "output": hex::encode(&r.output.0),
            "contract_address": r.contract_address.map(|a| a.to_string()),
            "transaction_hash": hex::encode(&r.transaction_hash.0),
            "logs": r.log_entries.len(),
        })
    });
    let (kind, extra) = match o {
        TxOutcome::Committed(_) => ("committed", json!(null)),
        TxOutcome::Reverted { reason, .. } => ("reverted", json!(reason.to_string())),
        TxOutcome::PermissionDenied(_) => ("permission_denied", json!(null)),
        TxOutcome::Failed { status, .. } => ("failed", json!(status)),
        TxOutcome::Rejected { code, message } => ("rejected", json!({"code": code, "message": message})),
        TxOutcome::Pending => ("pending", json!(null)),
        TxOutcome::Expired { block_limit, current_block } => {
            ("expired", json!({"block_limit": block_limit, "current_block": current_block}))
        }
    };
    json!({"outcome": kind, "detail": extra, "receipt": receipt})
}

fn run(cli: Cli) -> Result<Value, String> {
    match cli.cmd {
        Cmd::Key(KeyCmd::Address { key, sm }) => {
            let s = signer(&key, sm)?;
            Ok(json!({"address": s.address().to_string(), "public_key": hex::encode(s.public_key())}))
        }
        Cmd::Key(KeyCmd::New { sm }) => {
            let s = Signer::random(CryptoSuite::from_sm_flag(sm));
            Ok(json!({
                "private_key": hex::encode(s.secret_bytes()),
                "address": s.address().to_string(),
                "public_key": hex::encode(s.public_key()),
            }))
        }
        Cmd::Tx(TxCmd::Build { chain_id, group_id, block_limit, nonce, to, input, abi, sm, key }) => {
            let s = signer(&key, sm)?;
            let data = TransactionData {
                version: 0,
                chain_id,
                group_id,
                block_limit,
                nonce: nonce.unwrap_or_else(random_nonce),
                to,
                input: hex_arg("--input", &input)?,
                abi,
                ..TransactionData::default()
            };
            let signed = sign_data(&s, data).map_err(|e| e.to_string())?;
            Ok(json!({
                "data_hash": hex::encode(signed.hash),
                "signature": hex::encode(&signed.tx.signature),
                "signed_tx": hex::encode(&signed.bytes),
                "sender": signed.sender.to_string(),
            }))
        }
        Cmd::Tx(TxCmd::Decode { signed_tx, sm }) => {
            let bytes = hex_arg("signed-tx", &signed_tx)?;
            let c = decode_and_check(CryptoSuite::from_sm_flag(sm), &bytes).map_err(|e| e.to_string())?;
            let d = &c.tx.data;
            Ok(json!({
                "version": d.version,
                "chain_id": d.chain_id,
                "group_id": d.group_id,
                "block_limit": d.block_limit,
                "nonce": d.nonce,
                "to": d.to,
                "input": hex::encode(&d.input),
                "abi": d.abi,
                "data_hash": hex::encode(&c.tx.data_hash),
                "hash_valid": c.hash_valid,
                "signature": hex::encode(&c.tx.signature),
                "signature_valid": c.signature_valid,
                "sender": c.sender.map(|a| a.to_string()),
            }))
        }
        Cmd::Abi(AbiCmd::Selector { signature, sm }) => {
            Ok(json!({"selector": hex::encode(selector(CryptoSuite::from_sm_flag(sm), &signature))}))
        }
        Cmd::Abi(AbiCmd::Topic { signature, sm }) => {
            Ok(json!({"topic": hex::encode(CryptoSuite::from_sm_flag(sm).hash(signature.as_bytes()))}))
        }
        Cmd::Rpc { conn, method, params } => {
            let params: Vec<Value> = match params {
                Some(p) => serde_json::from_str(&p).map_err(|e| format!("params: not a JSON array: {e}"))?,
                None => vec![],
            };
            let t = target(&conn)?;
            let client = RpcClient::new(rpc_config(&conn, t.as_ref())?).map_err(|e| e.to_string())?;
            runtime()?.block_on(client.request(&method, params)).map_err(|e| e.to_string())
        }
        Cmd::Send { conn, chain_id, to, input, key, sm, wait } => {
            let t = target(&conn)?;
            let sm = sm || t.as_ref().is_some_and(|t| t.crypto == CryptoSuite::Sm);
            let s = signer(&key, sm)?;
            let to = to.map(|to| contract_arg(&to, t.as_ref())).transpose()?;
            let input = hex_arg("--input", &input)?;
            let chain_id = chain_id
                .or_else(|| t.as_ref().map(|t| t.chain_id.clone()))
                .ok_or("--chain-id or --registry is required")?;
            let cfg = rpc_config(&conn, t.as_ref())?;
            let client =
                ChainClient::new(&chain_id, &cfg.group_id.clone(), s.suite(), cfg).map_err(|e| e.to_string())?;
            runtime()?.block_on(async {
                let p: PreparedTx = client.prepare(&s, to, input).await.map_err(|e| e.to_string())?;
                let mut o = client.send_prepared(&p).await.map_err(|e| e.to_string())?;
                if o == TxOutcome::Pending {
                    o = client.wait(&p, Duration::from_secs(wait)).await.map_err(|e| e.to_string())?;
                }
                let mut v = outcome_json(&o);
                v["hash"] = json!(hex::encode(p.hash));
                v["nonce"] = json!(p.nonce);
                v["block_limit"] = json!(p.block_limit);
                Ok(v)
            })
        }
        Cmd::Call { conn, to, input } => {
            let t = target(&conn)?;
            let to = contract_arg(&to, t.as_ref())?;
            let input = hex_arg("--input", &input)?;
            let client = RpcClient::new(rpc_config(&conn, t.as_ref())?).map_err(|e| e.to_string())?;
            let r = runtime()?.block_on(client.call(&to, &input)).map_err(|e| e.to_string())?;
            let reason = (r.status != 0).then(|| linli_ledger_client::abi::decode_revert(&r.output.0).to_string());
            Ok(json!({
                "block_number": r.block_number,
                "status": r.status,
                "output": hex::encode(&r.output.0),
                "revert_reason": reason,
            }))
        }
    }
}

fn main() -> ExitCode {
    // The process-wide TLS provider is ring, never aws-lc-rs; "already installed" is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            if matches!(e.kind(), clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion) {
                print!("{e}");
                return ExitCode::SUCCESS;
            }
            if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                eprintln!("error: a subcommand is required (see bcos --help)");
                return ExitCode::from(2);
            }
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("{first}");
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", e.replace('\n', " "));
            ExitCode::from(1)
        }
    }
}
