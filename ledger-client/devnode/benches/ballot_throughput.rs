//! Ballot-sheet throughput of the devnode through the full RPC path (sign, send, wait for the committed
//! receipt), compared with bare revm execution of the same calls. Each sheet covers its own roll key (registered
//! before the start, in batches) and commits to its choices; reveals are not measured.
//!
//! `cargo bench -p bcos-devnode --bench ballot_throughput` (env `SHEETS`, default 2000; `IN_FLIGHT`,
//! default 64 concurrent sendTransaction requests).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use alloy_primitives::{B256, Bytes, keccak256};
use alloy_sol_types::SolCall;
use bcos_devnode::evm::{BlockContext, Executor};
use linli_ledger_client::client::ChainClient;
use linli_ledger_client::crypto::{CryptoSuite, Signer};
use linli_ledger_client::governance::{LinliGovernance as G, RoleGrant, decode_error, deploy_governance, role};
use linli_ledger_client::rpc::RpcConfig;
use linli_ledger_client::tx::random_nonce;
use serde_json::json;

/// Roll keys registered per addRollKeys transaction.
const ROLL_BATCH: usize = 250;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Sheet `i`'s roll key: ascending with `i`.
fn roll_key(i: usize) -> B256 {
    B256::left_padding_from(&(i as u64 + 1).to_be_bytes())
}

fn area(i: usize) -> u64 {
    9_000 + (i as u64 % 5_000)
}

/// The roll of `sheets` keys (one person each) in addRollKeys batches, and its totals.
fn roll(meeting: B256, sheets: usize) -> (Vec<G::addRollKeysCall>, u64, u32) {
    let batches = (0..sheets)
        .step_by(ROLL_BATCH)
        .map(|first| {
            let range = first..sheets.min(first + ROLL_BATCH);
            G::addRollKeysCall {
                meetingId: meeting,
                keys: range.clone().map(roll_key).collect(),
                areaCm2: range.clone().map(area).collect(),
                heads: range.map(|_| 1).collect(),
            }
        })
        .collect();
    (batches, (0..sheets).map(area).sum(), u32::try_from(sheets).unwrap())
}

fn sheet(meeting: B256, i: usize, cast_at_ms: u64) -> G::castSheetCall {
    let voter = B256::left_padding_from(&(i as u64 + 1).to_be_bytes());
    let sheet_hash = B256::left_padding_from(&(i as u64 + 7).to_be_bytes());
    let salt = keccak256((i as u64).to_be_bytes());
    let choices = [(i % 3) as u8, ((i + 1) % 3) as u8];
    let packed = [meeting.as_slice(), voter.as_slice(), sheet_hash.as_slice(), salt.as_slice(), &choices].concat();
    G::castSheetCall {
        meetingId: meeting,
        voter,
        keys: vec![roll_key(i)],
        commitment: keccak256(packed),
        sheetHash: sheet_hash,
        castAtMs: cast_at_ms,
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// Sheets per second executed by revm alone (no signing, no RPC, no disk).
fn bare_revm(sheets: usize) -> f64 {
    let mut exec = Executor::new();
    let (admin, forwarder, committee) = (alloy_primitives::Address::repeat_byte(0xad), alloy_primitives::Address::repeat_byte(1), alloy_primitives::Address::repeat_byte(2));
    let t0 = 1_700_000_000_000u64;
    let ctx = |n: u64, t: u64| BlockContext { number: n, timestamp_ms: t };
    let deployed = exec.transact(ctx(1, t0), admin, None, G::BYTECODE.clone()).unwrap();
    let contract = deployed.contract_address.unwrap();
    let mut run = |n: u64, t: u64, from, data: Vec<u8>| {
        let out = exec.transact(ctx(n, t), from, Some(contract), Bytes::from(data)).unwrap();
        assert!(out.is_success(), "{:?}", decode_error(&out.output));
    };
    run(2, t0, admin, G::grantRoleCall { account: forwarder, role: role::FORWARDER }.abi_encode());
    run(3, t0, admin, G::grantRoleCall { account: committee, role: role::COMMITTEE }.abi_encode());
    let meeting = B256::repeat_byte(9);
    let (batches, total_area, total_heads) = roll(meeting, sheets);
    run(4, t0, committee, G::openMeetingCall { meetingId: meeting, rollHash: B256::ZERO, totalAreaCm2: total_area, totalHeads: total_heads, startMs: t0 + 10, endMs: t0 + 1_000_000, voteChangeAllowed: false, tallyRules: 0 }.abi_encode());
    for p in 0..2u8 {
        run(5, t0, committee, G::addProposalCall { meetingId: meeting, proposalIndex: p, matter: 9, contentHash: B256::ZERO, candidates: 0, seats: 0 }.abi_encode());
    }
    for batch in batches {
        run(5, t0, committee, batch.abi_encode());
    }
    let calls: Vec<Vec<u8>> = (0..sheets).map(|i| sheet(meeting, i, t0 + 20).abi_encode()).collect();
    let started = Instant::now();
    for (i, data) in calls.into_iter().enumerate() {
        run(6 + i as u64, t0 + 20, forwarder, data);
    }
    sheets as f64 / started.elapsed().as_secs_f64()
}

async fn full_rpc(sheets: usize, in_flight: usize) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_bcos-devnode"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = format!("http://{}", line.trim().trim_start_matches("bcos-devnode listening on "));
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = Arc::new(ChainClient::new("chain0", "group0", CryptoSuite::Ecdsa, RpcConfig::plain(url, "group0")).unwrap());
    let [admin, forwarder, committee] = std::array::from_fn(|_| Signer::random(CryptoSuite::Ecdsa));
    let grants = [
        RoleGrant { account: forwarder.address(), role: role::FORWARDER },
        RoleGrant { account: committee.address(), role: role::COMMITTEE },
    ];
    let contract = deploy_governance(&client, &admin, &grants).await.unwrap();
    let meeting = B256::repeat_byte(9);
    // The roll's batches go in before the start too.
    let start = now_ms() + 30_000;
    let (batches, total_area, total_heads) = roll(meeting, sheets);
    let setup = [
        G::openMeetingCall { meetingId: meeting, rollHash: B256::ZERO, totalAreaCm2: total_area, totalHeads: total_heads, startMs: start, endMs: start + 86_400_000, voteChangeAllowed: false, tallyRules: 0 }.abi_encode(),
        G::addProposalCall { meetingId: meeting, proposalIndex: 0, matter: 9, contentHash: B256::ZERO, candidates: 0, seats: 0 }.abi_encode(),
        G::addProposalCall { meetingId: meeting, proposalIndex: 1, matter: 9, contentHash: B256::ZERO, candidates: 0, seats: 0 }.abi_encode(),
    ];
    for data in setup.into_iter().chain(batches.iter().map(SolCall::abi_encode)) {
        let tx = client.prepare(&committee, Some(contract), data).await.unwrap();
        let outcome = client.send_prepared_with(&tx, &decode_error).await.unwrap();
        assert!(outcome.is_committed_ok(), "{outcome:?}");
    }
    assert!(now_ms() < start, "setup took longer than the 30 s before the start");
    client.rpc().request("devnode_advanceTime", vec![json!(35_000)]).await.unwrap();
    let block_limit = client.rpc().get_block_number().await.unwrap() + 900;

    let forwarder = Arc::new(forwarder);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..in_flight {
        let (client, forwarder, next) = (Arc::clone(&client), Arc::clone(&forwarder), Arc::clone(&next));
        workers.spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if i >= sheets {
                    return;
                }
                let tx = client
                    .prepare_with(&forwarder, Some(contract), sheet(meeting, i, start).abi_encode(), block_limit, random_nonce())
                    .unwrap();
                // RpcClient directly: ChainClient::send_prepared* futures hold a `&dyn Fn` that is not
                // `Sync`, so they cannot run in spawned tasks.
                let receipt = client.rpc().send_transaction(&tx.signed_bytes).await.unwrap();
                assert_eq!(receipt.status, 0, "{:?}", decode_error(&receipt.output.0));
            }
        });
    }
    while let Some(r) = workers.join_next().await {
        r.unwrap();
    }
    let rate = sheets as f64 / started.elapsed().as_secs_f64();
    let _ = child.kill();
    let _ = child.wait();
    rate
}

fn main() {
    let sheets = env_usize("SHEETS", 2_000);
    let in_flight = env_usize("IN_FLIGHT", 64);
    let bare = bare_revm(sheets);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let rpc = runtime.block_on(full_rpc(sheets, in_flight));
    println!("ballot sheets: {sheets}, in flight: {in_flight}");
    println!("bare revm execution:          {bare:>10.0} sheets/s");
    println!("devnode, sign+send+commit:    {rpc:>10.0} sheets/s");
    println!("ratio devnode / bare revm:    {:>10.4}", rpc / bare);
}
