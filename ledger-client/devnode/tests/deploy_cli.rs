//! `bcos-deploy-governance` against the real devnode: the contract exists and every key holds its role.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use alloy_sol_types::SolCall;
use common::{Devnode, http, result, rpc};
use linli_ledger_client::crypto::{CryptoSuite, Signer};
use linli_ledger_client::governance::{LinliGovernance as G, role};
use serde_json::{Value, json};

#[tokio::test]
async fn deploys_and_grants_every_role() {
    let dir = tempfile::tempdir().unwrap();
    let node = Devnode::start(dir.path(), &["--sm", "--chain-id", "c1", "--group-id", "g1"]);
    let keys: Vec<Signer> = (0..6).map(|_| Signer::random(CryptoSuite::Sm)).collect();
    let hex_key = |s: &Signer| hex::encode(s.secret_bytes());
    let key_file = dir.path().join("committee.key");
    std::fs::write(&key_file, hex_key(&keys[2])).unwrap();
    // A registry that already knows another community and a field of this one: both must survive.
    let registry = dir.path().join("chains.toml");
    std::fs::write(
        &registry,
        "[communities.OTHER]\nendpoints = [\"http://127.0.0.1:1\"]\nchain_id = \"x\"\ngroup_id = \"y\"\n\n\
         [communities.SH-PD-0001]\nendpoints = []\nchain_id = \"old\"\ngroup_id = \"old\"\nnode_name = \"node7\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bcos-deploy-governance"))
        .args(["--endpoint", &node.url, "--chain-id", "c1", "--group-id", "g1", "--sm"])
        .arg("--registry")
        .arg(&registry)
        .args(["--community", "SH-PD-0001"])
        .args(["--admin-key", &hex_key(&keys[0])])
        .args(["--forwarder", &keys[1].address().to_string()])
        .arg("--committee")
        .arg(&key_file)
        .args(["--property", &keys[3].address().to_string()])
        .args(["--bank", &keys[4].address().to_string()])
        .args(["--anchor", &hex_key(&keys[5])])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let contract = printed["contract"].as_str().unwrap();
    assert_eq!(printed["admin"], keys[0].address().to_string());
    let c = http();
    let expected = [
        (1, role::FORWARDER),
        (2, role::COMMITTEE),
        (3, role::PROPERTY),
        (4, role::BANK),
        (5, role::ANCHOR),
    ];
    for (i, r) in expected {
        let data = G::roleOfCall(alloy_primitives::Address::from(keys[i].address().0)).abi_encode();
        let answer = rpc(&c, &node.url, "call", json!(["g1", "", contract, format!("0x{}", hex::encode(data))])).await;
        let output = hex::decode(result(&answer)["output"].as_str().unwrap().trim_start_matches("0x")).unwrap();
        assert_eq!(G::roleOfCall::abi_decode_returns(&output).unwrap(), r, "key {i}");
    }
    // The registry now routes the community to this chain and contract.
    let loaded = linli_ledger_client::registry::ChainRegistry::load(&registry).unwrap();
    let target = loaded.target("SH-PD-0001").unwrap();
    assert_eq!((target.chain_id.as_str(), target.group_id.as_str(), target.node_name.as_str()), ("c1", "g1", "node7"));
    assert_eq!(target.endpoints, vec![node.url.clone()]);
    assert_eq!(target.crypto, CryptoSuite::Sm);
    assert_eq!(target.contracts["governance"].to_string(), contract);
    assert_eq!(loaded.target("OTHER").unwrap().chain_id, "x");
    // Deploy + five grants = six blocks.
    assert_eq!(result(&rpc(&c, &node.url, "getBlockNumber", json!(["g1", ""])).await), 6);
    // A wrong key file is reported, not a panic.
    let bad = Command::new(env!("CARGO_BIN_EXE_bcos-deploy-governance"))
        .args(["--endpoint", &node.url, "--chain-id", "c1", "--group-id", "g1", "--sm", "--admin-key", "zz"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("admin key"));
}
