//! RPC: every fixture of the documentation decodes into its typed result, and the send/poll logic
//! behaves as specified against a scripted node on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use linli_ledger_client::abi::RevertReason;
use linli_ledger_client::client::{ChainClient, TxOutcome};
use linli_ledger_client::crypto::{CryptoSuite, Signer};
use linli_ledger_client::rpc::types::{
    Block, CallResult, ConsensusStatus, GroupInfo, GroupList, GroupNodeInfo, HexBytes, Peers, Receipt, Sealer,
    SyncStatus, SystemConfig, TotalTransactionCount, double_encoded,
};
use linli_ledger_client::rpc::{RpcConfig, RpcError, decode_response, decode_result};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn doc() -> Value {
    let path = format!("{}/../fixtures/fisco/rpc-doc-examples.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn result_of(example: &Value) -> Value {
    decode_response(example["response"].to_string().as_bytes()).unwrap()
}

#[test]
fn every_documented_response_decodes() {
    let doc = doc();
    for (method, examples) in doc.as_object().unwrap() {
        if method.starts_with('_') || method == "retcode_examples" {
            continue;
        }
        for ex in examples.as_array().unwrap() {
            let r = result_of(ex);
            match method.as_str() {
                // Documented as "0x1", but real 3.x nodes return the receipt (see fixtures README): the
                // request side is checked in tests/vectors.rs.
                "sendTransaction" => assert_eq!(r, json!("0x1")),
                "call" => {
                    let c: CallResult = decode_result(r).unwrap();
                    assert_eq!((c.block_number, c.status, c.output.0.len()), (8, 16, 0));
                }
                "getCode" => assert!(!serde_json::from_value::<HexBytes>(r).unwrap().0.is_empty()),
                "getBlockNumber" => assert_eq!(r.as_i64(), Some(8)),
                "getTotalTransactionCount" => {
                    let t: TotalTransactionCount = decode_result(r).unwrap();
                    assert_eq!((t.block_number, t.transaction_count, t.failed_transaction_count), (8, 8, 0));
                }
                "getBlockByNumber" | "getBlockByHash" => {
                    let b: Block = decode_result(r.clone()).unwrap();
                    assert_eq!(b.number, r["number"].as_i64().unwrap());
                    assert_eq!(b.hash.0.len(), 32);
                    assert_eq!(b.sealer_list.len(), r["sealerList"].as_array().unwrap().len());
                    assert_eq!(b.signature_list.len(), r["signatureList"].as_array().unwrap().len());
                }
                "getBlockHashByNumber" => assert_eq!(serde_json::from_value::<HexBytes>(r).unwrap().0.len(), 32),
                "getTransactionReceipt" => {
                    let rc: Receipt = decode_result(r.clone()).unwrap();
                    assert_eq!(rc.status, 0);
                    assert_eq!(rc.block_number, 2);
                    assert_eq!(rc.gas_used, "24363");
                    assert_eq!(rc.from.unwrap().to_string(), r["from"].as_str().unwrap());
                    // checksummed and lowercase forms of the same address decode alike
                    assert_eq!(rc.contract_address.unwrap().to_string(), r["contractAddress"].as_str().unwrap());
                    assert_eq!(rc.to, None);
                }
                "getPendingTxSize" | "getPbftView" => assert!(r.as_i64().is_some()),
                "getPeers" => {
                    let p: Peers = decode_result(r.clone()).unwrap();
                    assert_eq!(p.peers.len(), r["peers"].as_array().unwrap().len());
                    assert_eq!(p.end_point, "0.0.0.0:30300");
                }
                "getSyncStatus" => {
                    let s: SyncStatus = double_encoded(r).unwrap();
                    assert_eq!(s.block_number, 7);
                    assert!(!s.is_syncing);
                    assert_eq!(s.peers.len(), 3);
                }
                "getConsensusStatus" => {
                    let s: ConsensusStatus = double_encoded(r).unwrap();
                    assert_eq!((s.block_number, s.view, s.consensus_node_list.len()), (7, 3, 4));
                }
                "getSystemConfigByKey" => {
                    let s: SystemConfig = decode_result(r).unwrap();
                    assert_eq!(s.value, "1000");
                }
                "getObserverList" | "getGroupPeers" => {
                    assert!(!decode_result::<Vec<String>>(r).unwrap().is_empty());
                }
                "getSealerList" => assert_eq!(decode_result::<Vec<Sealer>>(r).unwrap().len(), 3),
                "getGroupInfo" => {
                    let g: GroupInfo = decode_result(r).unwrap();
                    assert_eq!((g.chain_id.as_str(), g.group_id.as_str()), ("chain0", "group0"));
                    assert!(!g.node_list.is_empty());
                }
                "getGroupInfoList" => assert!(!decode_result::<Vec<GroupInfo>>(r).unwrap().is_empty()),
                "getGroupList" => {
                    let g: GroupList = decode_result(r).unwrap();
                    assert_eq!(g.group_list, vec!["group0".to_owned()]);
                }
                "getGroupNodeInfo" => assert_eq!(decode_result::<Option<GroupNodeInfo>>(r).unwrap(), None),
                other => panic!("fixture method {other} has no typed decoding"),
            }
        }
    }
}

#[test]
fn retcode_examples_decode_as_error_and_failed_receipt() {
    let doc = doc();
    let ex = doc["retcode_examples"].as_array().unwrap();
    match decode_response(ex[0].to_string().as_bytes()) {
        Err(RpcError::Node { code, message }) => assert_eq!((code, message.as_str()), (10002, "TxPoolIsFull")),
        other => panic!("{other:?}"),
    }
    let receipt: Receipt = decode_result(decode_response(ex[1].to_string().as_bytes()).unwrap()).unwrap();
    assert_eq!(receipt.status, 16);
    assert!(receipt.hash.0.is_empty(), "hash \"0x\" on failure");
    match linli_ledger_client::client::classify_receipt(receipt, &|_| None) {
        TxOutcome::Reverted { reason, .. } => {
            assert_eq!(reason, RevertReason::Message("Bytes array is less than 2".into()))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn tolerant_forms_decode() {
    let r: Receipt = serde_json::from_value(json!({
        "blockNumber": "0x1f", "status": "16", "gasUsed": 100, "hash": "0x", "output": "",
        "logEntries": [{"address": "C0523DBDD94BA27E14B0336D799489340CA24CDF", "data": "0x01", "topics": []}]
    }))
    .unwrap();
    assert_eq!((r.block_number, r.status, r.gas_used.as_str()), (31, 16, "100"));
    assert_eq!(r.log_entries[0].address.unwrap().to_string(), "0xc0523dbdd94ba27e14b0336d799489340ca24cdf");
    assert!(decode_response(b"not json").is_err());
    assert!(decode_response(b"[1]").is_err());
    assert!(decode_response(br#"{"id":1}"#).is_err());
}

// ---------------------------------------------------------------------------------------------------
// Scripted node

type Handler = Arc<dyn Fn(&str, &Value) -> Value + Send + Sync>;

async fn serve(handler: Handler) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let handler = handler.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let body = loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..pos]).to_lowercase();
                        let len: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
                            .unwrap_or(0);
                        if buf.len() >= pos + 4 + len {
                            break buf[pos + 4..pos + 4 + len].to_vec();
                        }
                    }
                };
                let req: Value = serde_json::from_slice(&body).unwrap();
                let mut resp = handler(req["method"].as_str().unwrap(), &req["params"]);
                resp["jsonrpc"] = json!("2.0");
                resp["id"] = req["id"].clone();
                let text = resp.to_string();
                let out = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                    text.len(),
                    text
                );
                let _ = sock.write_all(out.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}")
}

fn ok(v: Value) -> Value {
    json!({ "result": v })
}

fn err(code: i64, msg: &str) -> Value {
    json!({ "error": { "code": code, "message": msg } })
}

fn client(url: &str) -> ChainClient {
    let mut c = ChainClient::new("chain0", "group0", CryptoSuite::Ecdsa, RpcConfig::plain(url, "group0")).unwrap();
    c.poll_interval = std::time::Duration::from_millis(10);
    c
}

fn key() -> Signer {
    Signer::from_secret_bytes(CryptoSuite::Ecdsa, &[7u8; 32]).unwrap()
}

#[tokio::test]
async fn prepare_uses_block_number_plus_500_and_the_target() {
    let url = serve(Arc::new(|m, p| {
        assert_eq!(m, "getBlockNumber");
        assert_eq!(p, &json!(["group0", ""]));
        ok(json!(8))
    }))
    .await;
    let c = client(&url);
    let p = c.prepare(&key(), None, vec![0x60, 0x80]).await.unwrap();
    assert_eq!(p.block_limit, 508);
    let checked = linli_ledger_client::decode_and_check(CryptoSuite::Ecdsa, &p.signed_bytes).unwrap();
    assert!(checked.hash_valid && checked.signature_valid);
    assert_eq!(checked.computed_hash, p.hash);
    assert_eq!(checked.tx.data.nonce, p.nonce);
    assert_eq!((checked.tx.data.chain_id.as_str(), checked.tx.data.group_id.as_str()), ("chain0", "group0"));
}

#[tokio::test]
async fn already_in_pool_is_accepted_and_polled_until_the_receipt() {
    let polls = Arc::new(Mutex::new(0));
    let polls2 = polls.clone();
    let url = serve(Arc::new(move |m, p| match m {
        "sendTransaction" => {
            assert_eq!(p[3], json!(false));
            err(10004, "AlreadyInTxPool")
        }
        "getTransactionReceipt" => {
            let mut n = polls2.lock().unwrap();
            *n += 1;
            if *n < 3 { err(3008, "not found") } else { ok(json!({"status": 0, "blockNumber": 9, "output": "0x"})) }
        }
        "getBlockNumber" => ok(json!(9)),
        other => panic!("{other}"),
    }))
    .await;
    let c = client(&url);
    let p = c.prepare_with(&key(), None, vec![1], 100, "1".into()).unwrap();
    let first = c.send_prepared(&p).await.unwrap();
    assert_eq!(first, TxOutcome::Pending);
    let done = c.wait(&p, std::time::Duration::from_secs(5)).await.unwrap();
    assert!(done.is_committed_ok(), "{done:?}");
    assert_eq!(*polls.lock().unwrap(), 3);
}

#[tokio::test]
async fn already_on_chain_returns_the_receipt() {
    let url = serve(Arc::new(|m, _| match m {
        "sendTransaction" => err(10005, "AlreadyOnChain"),
        "getTransactionReceipt" => ok(json!({"status": 18, "output": "0x"})),
        other => panic!("{other}"),
    }))
    .await;
    let c = client(&url);
    let p = c.prepare_with(&key(), None, vec![1], 100, "1".into()).unwrap();
    assert!(matches!(c.send_prepared(&p).await.unwrap(), TxOutcome::PermissionDenied(_)));
}

#[tokio::test]
async fn expired_block_limit_is_reported() {
    let url = serve(Arc::new(|m, _| match m {
        "sendTransaction" => err(10001, "BlockLimitCheckFail"),
        "getBlockNumber" => ok(json!(120)),
        other => panic!("{other}"),
    }))
    .await;
    let c = client(&url);
    let p = c.prepare_with(&key(), None, vec![1], 100, "1".into()).unwrap();
    assert_eq!(c.send_prepared(&p).await.unwrap(), TxOutcome::Expired { block_limit: 100, current_block: 120 });
}

#[tokio::test]
async fn unknown_receipt_past_the_limit_is_expired() {
    let url = serve(Arc::new(|m, _| match m {
        "getTransactionReceipt" => err(3008, "not found"),
        "getBlockNumber" => ok(json!(100)),
        other => panic!("{other}"),
    }))
    .await;
    let c = client(&url);
    let p = c.prepare_with(&key(), None, vec![1], 100, "1".into()).unwrap();
    let o = c.wait(&p, std::time::Duration::from_secs(5)).await.unwrap();
    assert_eq!(o, TxOutcome::Expired { block_limit: 100, current_block: 100 });
}

#[tokio::test]
async fn nonce_used_by_this_very_transaction_is_its_receipt() {
    let url = serve(Arc::new(|m, _| match m {
        "sendTransaction" => err(10000, "NonceCheckFail"),
        "getTransactionReceipt" => ok(json!({"status": 0, "output": "0x"})),
        other => panic!("{other}"),
    }))
    .await;
    let c = client(&url);
    let p = c.prepare_with(&key(), None, vec![1], 100, "1".into()).unwrap();
    assert!(c.send_prepared(&p).await.unwrap().is_committed_ok());
}

#[tokio::test]
async fn rejection_keeps_the_fisco_code() {
    let url = serve(Arc::new(|m, _| match m {
        "getTransactionReceipt" => err(3008, "not found"),
        _ => err(10000, "NonceCheckFail"),
    }))
    .await;
    let c = client(&url);
    let p = c.prepare_with(&key(), None, vec![1], 100, "1".into()).unwrap();
    assert_eq!(
        c.send_prepared(&p).await.unwrap(),
        TxOutcome::Rejected { code: 10000, message: "NonceCheckFail".into() }
    );
}

#[tokio::test]
async fn committed_revert_is_decoded() {
    let doc = doc();
    let receipt = doc["retcode_examples"][1]["result"].clone();
    let url = serve(Arc::new(move |_, _| ok(receipt.clone()))).await;
    let c = client(&url);
    let p = c.prepare_with(&key(), None, vec![1], 100, "1".into()).unwrap();
    match c.send_prepared(&p).await.unwrap() {
        TxOutcome::Reverted { reason, .. } => assert_eq!(reason.to_string(), "Bytes array is less than 2"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn unreachable_node_is_pending_not_an_error() {
    // Bind then drop a listener to get a port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = client(&format!("http://127.0.0.1:{port}"));
    let p = c.prepare_with(&key(), None, vec![1], 100, "1".into()).unwrap();
    assert_eq!(c.send_prepared(&p).await.unwrap(), TxOutcome::Pending);
}
