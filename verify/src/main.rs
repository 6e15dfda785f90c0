//! `linli-verify`: does a checkpoint, an entry with its inclusion proof, a consistency proof from an older
//! checkpoint and the chain's anchor agree? Every check is printed; exit 0 when all pass, 1 when one fails,
//! 2 on unusable input.
//!
//! ```text
//! linli-verify --key KEY --checkpoint cp.txt [--entry entry.json --inclusion proof.json]
//!              [--old-checkpoint old.txt --consistency proof.json]
//!              [--rpc http://127.0.0.1:20200 --group group0 --contract 0x…]
//! ```
//! KEY is the verifier key text or `@file`; the JSON files are the answers of the log routes as saved.

use std::process::ExitCode;

use alloy_sol_types::SolCall;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use clap::Parser;
use linli_ledger_client::governance::LinliGovernance;
use linli_verify::{Checkpoint, VerifierKey, leaf_hash, open_note, parse_checkpoint, proof_hashes, verify_consistency, verify_inclusion};

#[derive(Parser)]
#[command(name = "linli-verify", about = "Verify a Linli log checkpoint, an entry, a consistency proof and the on-chain anchor")]
struct Cli {
    /// The C2SP verifier key (`name+keyid+base64`), or `@file`.
    #[arg(long)]
    key: String,
    /// The signed checkpoint (a file).
    #[arg(long)]
    checkpoint: std::path::PathBuf,
    /// An entry as `GET …/entries/{index}` answers it (`{"index", "entry"}`).
    #[arg(long, requires = "inclusion")]
    entry: Option<std::path::PathBuf>,
    /// Its inclusion proof as `GET …/proof/inclusion` answers it, against the checkpoint's size.
    #[arg(long, requires = "entry")]
    inclusion: Option<std::path::PathBuf>,
    /// An older signed checkpoint of the same log.
    #[arg(long, requires = "consistency")]
    old_checkpoint: Option<std::path::PathBuf>,
    /// The consistency proof from the older checkpoint's size to this one's.
    #[arg(long, requires = "old_checkpoint")]
    consistency: Option<std::path::PathBuf>,
    /// A FISCO BCOS JSON-RPC endpoint: check that the contract anchored the checkpoint's size and root.
    #[arg(long, requires = "contract")]
    rpc: Option<String>,
    #[arg(long, default_value = "group0")]
    group: String,
    /// The community's governance contract.
    #[arg(long)]
    contract: Option<String>,
}

fn read(path: &std::path::Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn json(path: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    serde_json::from_str(&read(path)?).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

struct Report {
    failed: bool,
}

impl Report {
    fn check(&mut self, what: &str, result: Result<String, String>) {
        match result {
            Ok(detail) => println!("ok    {what}: {detail}"),
            Err(why) => {
                self.failed = true;
                println!("FAIL  {what}: {why}");
            }
        }
    }
}

fn opened(key: &VerifierKey, note: &str) -> Result<Checkpoint, String> {
    parse_checkpoint(&open_note(note, key)?)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(false) => ExitCode::SUCCESS,
        Ok(true) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<bool> {
    let key_text = match cli.key.strip_prefix('@') {
        Some(file) => read(std::path::Path::new(file))?,
        None => cli.key.clone(),
    };
    let key = VerifierKey::parse(&key_text).map_err(|e| anyhow::anyhow!("key: {e}"))?;
    let mut report = Report { failed: false };
    let cp = opened(&key, &read(&cli.checkpoint)?);
    report.check("checkpoint signature", cp.as_ref().map(|c| format!("{} size {}", c.origin, c.size)).map_err(Clone::clone));
    let Ok(cp) = cp else { return Ok(true) };

    if let (Some(entry), Some(proof)) = (&cli.entry, &cli.inclusion) {
        let (entry, proof) = (json(entry)?, json(proof)?);
        let result = (|| {
            let index = entry["index"].as_u64().ok_or("the entry has no index")?;
            let bytes = entry["entry"].as_str().and_then(|e| B64.decode(e).ok()).ok_or("the entry has no base64 bytes")?;
            if proof["leaf_index"].as_u64() != Some(index) {
                return Err(format!("the proof is for leaf {}, the entry is {index}", proof["leaf_index"]));
            }
            if proof["tree_size"].as_u64() != Some(cp.size) {
                return Err(format!("the proof is against size {}, the checkpoint has {}", proof["tree_size"], cp.size));
            }
            let hashes = proof_hashes(&proof)?;
            if verify_inclusion(index, cp.size, &leaf_hash(&bytes), &hashes, &cp.root) {
                Ok(format!("entry {index} is in the tree of {} entries", cp.size))
            } else {
                Err("the audit path does not lead to the checkpoint's root".into())
            }
        })();
        report.check("inclusion", result);
    }

    if let (Some(old), Some(proof)) = (&cli.old_checkpoint, &cli.consistency) {
        let old = opened(&key, &read(old)?);
        let proof = json(proof)?;
        let result = old.and_then(|old| {
            if old.origin != cp.origin {
                return Err(format!("the older checkpoint is of {}", old.origin));
            }
            if proof["first"].as_u64() != Some(old.size) || proof["second"].as_u64() != Some(cp.size) {
                return Err("the proof is not between the two checkpoints' sizes".into());
            }
            if verify_consistency(old.size, cp.size, &old.root, &cp.root, &proof_hashes(&proof)?) {
                Ok(format!("size {} is a prefix of size {}", old.size, cp.size))
            } else {
                Err("the trees are not consistent".into())
            }
        });
        report.check("consistency", result);
    }

    if let (Some(rpc), Some(contract)) = (&cli.rpc, &cli.contract) {
        let result = anchored(rpc, &cli.group, contract, &cp).await;
        report.check("anchor", result.map_err(|e| format!("{e:#}")));
    }
    Ok(report.failed)
}

/// Finds the contract's batch of the log's stream (the origin's last part) that ends at the checkpoint's size
/// (batches are contiguous and increasing, so a binary search) and compares its root.
async fn anchored(rpc: &str, group: &str, contract: &str, cp: &Checkpoint) -> anyhow::Result<String> {
    let stream = cp.origin.rsplit('/').next().unwrap_or_default().to_owned();
    let address: linli_ledger_client::Address =
        contract.parse().map_err(|e| anyhow::anyhow!("contract address: {e:?}"))?;
    let client = linli_ledger_client::ChainClient::new(
        "",
        group,
        linli_ledger_client::CryptoSuite::Ecdsa,
        linli_ledger_client::rpc::RpcConfig::plain(rpc, group),
    )?;
    let call = async |data: Vec<u8>| -> anyhow::Result<Vec<u8>> {
        client.call(&address, &data).await?.map_err(|(code, reason)| anyhow::anyhow!("the call reverted ({code}): {reason:?}"))
    };
    let count = LinliGovernance::batchCountCall::abi_decode_returns(
        &call(LinliGovernance::batchCountCall { stream: stream.clone() }.abi_encode()).await?,
    )?;
    let count: u64 = count.try_into().map_err(|_| anyhow::anyhow!("batch count out of range"))?;
    let (mut lo, mut hi) = (0u64, count);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let b = LinliGovernance::getBatchCall::abi_decode_returns(
            &call(LinliGovernance::getBatchCall { stream: stream.clone(), batchIndex: mid.try_into()? }.abi_encode()).await?,
        )?;
        if b.lastSeq == cp.size {
            let root: [u8; 32] = b.root.into();
            return if root == cp.root {
                Ok(format!("batch {mid} of stream {stream} anchors size {} with this root at {} ms", cp.size, b.anchoredAtMs))
            } else {
                Err(anyhow::anyhow!("batch {mid} anchors size {} with another root {}", cp.size, hex::encode(root)))
            };
        }
        if b.lastSeq < cp.size { lo = mid + 1 } else { hi = mid }
    }
    Err(anyhow::anyhow!("no batch of stream {stream} ends at size {} ({count} batches)", cp.size))
}
