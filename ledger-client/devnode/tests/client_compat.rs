//! Every typed read of `linli_ledger_client::rpc::RpcClient` decodes what the devnode answers, and the
//! values agree with the transaction that was sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Devnode;
use linli_ledger_client::crypto::{CryptoSuite, Signer};
use linli_ledger_client::governance::HelloWorld;
use linli_ledger_client::rpc::types::BlockTransaction;
use linli_ledger_client::rpc::{RpcClient, RpcConfig};
use linli_ledger_client::tx::{TxRequest, build_signed};

#[tokio::test]
async fn the_ledger_client_reads_everything_the_devnode_answers() {
    let dir = tempfile::tempdir().unwrap();
    let node = Devnode::start(dir.path(), &["--sm", "--chain-id", "chainX", "--group-id", "groupX"]);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rpc = RpcClient::new(RpcConfig::plain(node.url.clone(), "groupX")).unwrap();
    let signer = Signer::random(CryptoSuite::Sm);
    let req = TxRequest {
        chain_id: "chainX".into(),
        group_id: "groupX".into(),
        block_limit: 100,
        nonce: "42".into(),
        to: None,
        input: HelloWorld::BYTECODE.to_vec(),
        abi: String::new(),
    };
    let signed = build_signed(&signer, &req).unwrap();
    assert_eq!(rpc.get_transaction_receipt(&signed.hash).await.unwrap(), None);
    let receipt = rpc.send_transaction(&signed.bytes).await.unwrap();
    assert_eq!((receipt.status, receipt.block_number), (0, 1));
    assert_eq!(receipt.from, Some(signer.address()));
    assert_eq!(receipt.transaction_hash.0, signed.hash.to_vec());
    assert!(receipt.contract_address.is_some());
    assert_eq!(rpc.get_transaction_receipt(&signed.hash).await.unwrap(), Some(receipt.clone()));

    let tx = rpc.get_transaction(&signed.hash).await.unwrap().unwrap();
    assert_eq!((tx.nonce.as_str(), tx.block_limit, tx.chain_id.as_str(), tx.group_id.as_str()), ("42", 100, "chainX", "groupX"));
    assert_eq!(tx.from, Some(signer.address()));
    assert_eq!(tx.input.0, HelloWorld::BYTECODE.to_vec());
    assert_eq!(tx.signature.0, signed.tx.signature);

    assert_eq!(rpc.get_block_number().await.unwrap(), 1);
    let block = rpc.get_block_by_number(1, false, true).await.unwrap();
    assert_eq!(block.number, 1);
    assert_eq!(block.parent_info[0].block_number, 0);
    assert!(matches!(&block.transactions[..], [BlockTransaction::Hash(h)] if h.0 == signed.hash.to_vec()));
    let full = rpc.get_block_by_number(1, false, false).await.unwrap();
    assert!(matches!(&full.transactions[..], [BlockTransaction::Full(t)] if t.nonce == "42"));
    let genesis = rpc.get_block_by_number(0, true, true).await.unwrap();
    assert_eq!(genesis.hash, block.parent_info[0].block_hash);

    let count = rpc.get_total_transaction_count().await.unwrap();
    assert_eq!((count.block_number, count.failed_transaction_count), (1, 0));
    let sync = rpc.get_sync_status().await.unwrap();
    assert_eq!((sync.block_number, sync.is_syncing), (1, false));
    assert_eq!(format!("0x{}", sync.latest_hash), format!("0x{}", hex::encode(&block.hash.0)));
    let consensus = rpc.get_consensus_status().await.unwrap();
    assert_eq!(consensus.block_number, 1);
    assert_eq!(rpc.get_group_list().await.unwrap().group_list, vec!["groupX".to_string()]);
    let info = rpc.get_group_info().await.unwrap();
    assert_eq!((info.chain_id.as_str(), info.group_id.as_str(), info.sm_crypto()), ("chainX", "groupX", Some(true)));
    assert!(rpc.get_group_node_info("").await.unwrap().is_some());
}
