//! The real `bcos-devnode` binary over JSON-RPC: the official go-sdk and documentation transactions,
//! FISCO's rejection codes, receipts, restart after SIGKILL and the fault switches.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use alloy_sol_types::SolCall;
use common::{Devnode, error_code, fixture, go_sdk, http, result, rpc};
use linli_ledger_client::crypto::{Address, CryptoSuite, Signer};
use linli_ledger_client::governance::HelloWorld;
use linli_ledger_client::tx::{SignedTx, TxRequest, build_signed};
use serde_json::{Value, json};

fn tx_hex(v: &Value) -> String {
    format!("0x{}", v["signed_tx_tars_hex"].as_str().unwrap())
}

fn sign(signer: &Signer, chain: &str, group: &str, block_limit: i64, nonce: &str, to: Option<Address>, input: Vec<u8>) -> SignedTx {
    let req = TxRequest {
        chain_id: chain.into(),
        group_id: group.into(),
        block_limit,
        nonce: nonce.into(),
        to,
        input,
        abi: String::new(),
    };
    build_signed(signer, &req).unwrap()
}

fn hex0x(b: &[u8]) -> String {
    format!("0x{}", hex::encode(b))
}

async fn send(c: &reqwest::Client, url: &str, raw: &str) -> Value {
    rpc(c, url, "sendTransaction", json!(["group0", "", raw, false])).await
}

async fn call(c: &reqwest::Client, url: &str, group: &str, to: &str, data: &[u8]) -> Value {
    result(&rpc(c, url, "call", json!([group, "", to, hex0x(data)])).await).clone()
}

fn call_output(v: &Value) -> Vec<u8> {
    assert_eq!(v["status"], 0, "call failed: {v}");
    hex::decode(v["output"].as_str().unwrap().trim_start_matches("0x")).unwrap()
}

async fn hello_get(c: &reqwest::Client, url: &str, group: &str, contract: &str) -> String {
    let out = call(c, url, group, contract, &HelloWorld::getCall {}.abi_encode()).await;
    HelloWorld::getCall::abi_decode_returns(&call_output(&out)).unwrap()
}

#[tokio::test]
async fn go_sdk_secp256k1_transactions_are_accepted_with_their_documented_signer() {
    let dir = tempfile::tempdir().unwrap();
    let node = Devnode::start(dir.path(), &["--chain-id", "chain0", "--group-id", "group0"]);
    let c = http();
    let deploy = go_sdk("DEPLOY_HELLOWORLD_TX");
    let r = send(&c, &node.url, &tx_hex(&deploy)).await;
    let receipt = result(&r).clone();
    assert_eq!(receipt["from"], deploy["signer_address"]);
    assert_eq!(receipt["status"], 0);
    assert_eq!(receipt["blockNumber"], 1);
    assert_eq!(receipt["to"], "");
    assert_eq!(receipt["transactionHash"], format!("0x{}", deploy["dataHash"].as_str().unwrap()));
    let contract = receipt["contractAddress"].as_str().unwrap();
    assert!(contract.starts_with("0x") && contract.len() == 42, "{contract}");
    // gasUsed is a decimal string.
    assert!(receipt["gasUsed"].as_str().unwrap().parse::<u64>().unwrap() > 21_000);
    assert_eq!(receipt["input"], format!("0x{}", deploy["fields"]["input_hex"].as_str().unwrap()));
    // The old HelloWorld of the go-sdk: get() (Keccak selector 6d4ce63c) answers its constructor's text.
    let out = call_output(&call(&c, &node.url, "group0", contract, &hex::decode("6d4ce63c").unwrap()).await);
    assert_eq!(HelloWorld::getCall::abi_decode_returns(&out).unwrap(), "Hello, World!");

    // FISCO names the first contract deployed in block 1 Keccak("1_0_0")[..20]: the 3.x quick start
    // deploys HelloWorld in block 1 and prints "contract address: 0x6849F21D1E455e9f0712b1e99Fa4FCD23758E8F1".
    assert_eq!(contract, "0x6849f21d1e455e9f0712b1e99fa4fcd23758e8f1");
    assert_eq!(receipt["checksumContractAddress"], "0x6849F21D1E455e9f0712b1e99Fa4FCD23758E8F1");
    let set = go_sdk("HELLOWORLD_SET_TX");
    let r = send(&c, &node.url, &tx_hex(&set)).await;
    let set_receipt = result(&r).clone();
    assert_eq!(set_receipt["from"], set["signer_address"]);
    assert_eq!(set_receipt["to"], format!("0x{}", set["fields"]["to"].as_str().unwrap()));
    assert_eq!(set_receipt["transactionHash"], format!("0x{}", set["dataHash"].as_str().unwrap()));
    assert_eq!(set_receipt["blockNumber"], 2);

    // Reads agree with what sendTransaction answered.
    let by_hash = rpc(&c, &node.url, "getTransactionReceipt", json!(["group0", "", receipt["transactionHash"], false])).await;
    assert_eq!(result(&by_hash), &receipt);
    let tx = rpc(&c, &node.url, "getTransaction", json!(["group0", "", set_receipt["transactionHash"], false])).await;
    let tx = result(&tx);
    assert_eq!(tx["from"], set["signer_address"]);
    assert_eq!(tx["nonce"], set["fields"]["nonce"]);
    assert_eq!(tx["blockLimit"], set["fields"]["blockLimit"]);
    assert_eq!(tx["chainID"], "chain0");
    let block = rpc(&c, &node.url, "getBlockByNumber", json!(["group0", "", 2, false, true])).await;
    assert_eq!(result(&block)["transactions"], json!([set_receipt["transactionHash"]]));
    assert_eq!(result(&block)["number"], 2);
    let count = rpc(&c, &node.url, "getTotalTransactionCount", json!(["group0", ""])).await;
    assert_eq!(result(&count)["transactionCount"], 2);
    assert_eq!(result(&rpc(&c, &node.url, "getBlockNumber", json!(["group0", ""])).await), 2);
    let groups = rpc(&c, &node.url, "getGroupList", json!([])).await;
    assert_eq!(result(&groups)["groupList"], json!(["group0"]));
}

#[tokio::test]
async fn sm_transactions_of_the_go_sdk_and_the_documentation_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let node = Devnode::start(dir.path(), &["--chain-id", "chain0", "--group-id", "group0", "--sm"]);
    let c = http();
    let deploy = go_sdk("DEPLOY_HELLOWORLD_TX_GM");
    let r = send(&c, &node.url, &tx_hex(&deploy)).await;
    let receipt = result(&r).clone();
    assert_eq!(receipt["from"], deploy["signer_address"]);
    assert_eq!(receipt["transactionHash"], format!("0x{}", deploy["dataHash"].as_str().unwrap()));
    // SM3("1_0_0")[..20]: the contract the go-sdk's SM set() transaction targets.
    let set = go_sdk("HELLOWORLD_SET_TX_GM");
    let go_contract = format!("0x{}", set["fields"]["to"].as_str().unwrap());
    assert_eq!(receipt["contractAddress"], go_contract);

    // The SM deployment printed in the 3.x RPC documentation, here in block 2 as in the documentation,
    // whose receipt example names the sender and the contract address.
    let doc = fixture("rpc-doc-examples.json");
    let documented = &doc["getTransactionReceipt"][0]["response"]["result"];
    let raw = doc["sendTransaction"][0]["request"]["params"][2].as_str().unwrap().to_string();
    let r = send(&c, &node.url, &raw).await;
    let receipt = result(&r).clone();
    assert_eq!(receipt["from"], documented["from"]);
    assert_eq!(receipt["status"], 0);
    assert_eq!(receipt["blockNumber"], documented["blockNumber"]);
    assert_eq!(receipt["contractAddress"], documented["contractAddress"]);
    assert_eq!(receipt["checksumContractAddress"], documented["checksumContractAddress"]);

    let doc_contract = receipt["contractAddress"].as_str().unwrap().to_string();
    // The documentation's `call` example: data "aaaa" (no such function) to c0523d… answers status 16
    // with empty output.
    let call_doc = &doc["call"][0];
    let answer = rpc(&c, &node.url, "call", call_doc["request"]["params"].clone()).await;
    assert_eq!(result(&answer)["status"], call_doc["response"]["result"]["status"]);
    assert_eq!(result(&answer)["output"], call_doc["response"]["result"]["output"]);

    // The go-sdk's set("hello, world") reaches the contract its deployment created.
    let r = send(&c, &node.url, &tx_hex(&set)).await;
    let set_receipt = result(&r).clone();
    assert_eq!(set_receipt["from"], set["signer_address"]);
    assert_eq!(set_receipt["status"], 0);
    assert_eq!(set_receipt["transactionHash"], format!("0x{}", set["dataHash"].as_str().unwrap()));
    // set() emits setValue(string) from that contract; nodes print log addresses without 0x.
    assert_eq!(set_receipt["logEntries"][0]["address"], go_contract.trim_start_matches("0x"));
    // The go-sdk deploys the same standard-solc bytecode on its SM chain: its get() dispatches on the
    // Keccak selector 6d4ce63c (visible in the vector's bytecode), as our contracts do.
    let out = call_output(&call(&c, &node.url, "group0", &go_contract, &hex::decode("6d4ce63c").unwrap()).await);
    assert_eq!(HelloWorld::getCall::abi_decode_returns(&out).unwrap(), "hello, world");
    // That bytecode was compiled for SM chains: get() dispatches on SM3("get()") = 299f7f9d,
    // a constant visible in the documented bytecode.
    let out = call_output(&call(&c, &node.url, "group0", &doc_contract, &hex::decode("299f7f9d").unwrap()).await);
    assert_eq!(HelloWorld::getCall::abi_decode_returns(&out).unwrap(), "Hello, World!");
    // A secp256k1 transaction is not valid on an SM chain.
    let secp = send(&c, &node.url, &tx_hex(&go_sdk("DEPLOY_HELLOWORLD_TX"))).await;
    assert_eq!(error_code(&secp), 10008);
    assert_eq!(secp["error"]["message"], "InvalidSignature");
}

#[tokio::test]
async fn hello_world_deploys_and_answers_get_and_set() {
    let dir = tempfile::tempdir().unwrap();
    let node = Devnode::start(dir.path(), &["--chain-id", "chain7", "--group-id", "group7"]);
    let c = http();
    let signer = Signer::random(CryptoSuite::Ecdsa);
    let deploy = sign(&signer, "chain7", "group7", 500, "1", None, HelloWorld::BYTECODE.to_vec());
    let r = rpc(&c, &node.url, "sendTransaction", json!(["group7", "", hex0x(&deploy.bytes), false])).await;
    let receipt = result(&r).clone();
    assert_eq!(receipt["from"], signer.address().to_string());
    assert_eq!(receipt["transactionHash"], deploy.hash_hex());
    let contract = receipt["contractAddress"].as_str().unwrap().to_string();
    assert_eq!(hello_get(&c, &node.url, "group7", &contract).await, "Hello, World!");
    let code = rpc(&c, &node.url, "getCode", json!(["group7", "", contract])).await;
    assert_eq!(result(&code), &json!(format!("0x{}", hex::encode(HelloWorld::DEPLOYED_BYTECODE.as_ref()))));

    let to: Address = contract.parse().unwrap();
    let set = sign(&signer, "chain7", "group7", 500, "2", Some(to), HelloWorld::setCall { n: "邻里".into() }.abi_encode());
    let r = rpc(&c, &node.url, "sendTransaction", json!(["group7", "", hex0x(&set.bytes), false])).await;
    assert_eq!(result(&r)["status"], 0);
    assert_eq!(result(&r)["to"], contract);
    assert_eq!(hello_get(&c, &node.url, "group7", &contract).await, "邻里");
    // A group this node does not serve.
    let wrong = rpc(&c, &node.url, "getBlockNumber", json!(["group0", ""])).await;
    assert_eq!(error_code(&wrong), -32602);
}

#[tokio::test]
async fn identical_bytes_are_refused_with_10004_in_the_pool_and_10005_on_chain() {
    let dir = tempfile::tempdir().unwrap();
    let node = Devnode::start(dir.path(), &["--pause-sealing"]);
    let c = http();
    let raw = tx_hex(&go_sdk("DEPLOY_HELLOWORLD_TX"));
    let (url, c2, raw2) = (node.url.clone(), c.clone(), raw.clone());
    let first = tokio::spawn(async move { send(&c2, &url, &raw2).await });
    let deadline = Instant::now() + Duration::from_secs(10);
    while result(&rpc(&c, &node.url, "getPendingTxSize", json!(["group0", ""])).await) != 1 {
        assert!(Instant::now() < deadline, "transaction never reached the pool");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let again = send(&c, &node.url, &raw).await;
    assert_eq!(error_code(&again), 10004);
    assert_eq!(again["error"]["message"], "AlreadyInTxPool");
    assert_eq!(result(&rpc(&c, &node.url, "getBlockNumber", json!(["group0", ""])).await), 0);
    rpc(&c, &node.url, "devnode_setFaults", json!([{"pauseSealing": false}])).await;
    let receipt = first.await.unwrap();
    assert_eq!(result(&receipt)["status"], 0);
    let again = send(&c, &node.url, &raw).await;
    assert_eq!(error_code(&again), 10005);
    assert_eq!(again["error"]["message"], "TxAlreadyInChain");
    assert_eq!(result(&rpc(&c, &node.url, "getBlockNumber", json!(["group0", ""])).await), 1);
}

#[tokio::test]
async fn a_flipped_signature_or_hash_byte_is_refused_with_10008() {
    let c = http();
    // secp256k1: flipping bit 3 of the last byte of r gives an r that is not the x coordinate of any
    // point of the curve (x^3 + 7 is a non-residue mod p, checked by hand with Euler's criterion), so
    // no public key can be recovered.
    let dir = tempfile::tempdir().unwrap();
    let node = Devnode::start(dir.path(), &[]);
    let v = go_sdk("DEPLOY_HELLOWORLD_TX");
    let signed = v["signed_tx_tars_hex"].as_str().unwrap();
    let sig = v["signature"].as_str().unwrap();
    let mut bad_sig = hex::decode(sig).unwrap();
    bad_sig[31] ^= 0x08;
    let tampered = signed.replace(sig, &hex::encode(&bad_sig));
    assert_ne!(tampered, signed);
    let r = send(&c, &node.url, &format!("0x{tampered}")).await;
    assert_eq!(error_code(&r), 10008, "{r}");
    // A dataHash that does not match the fields.
    let hash = v["dataHash"].as_str().unwrap();
    let mut bad_hash = hex::decode(hash).unwrap();
    bad_hash[0] ^= 0x01;
    let tampered = signed.replace(hash, &hex::encode(&bad_hash));
    assert_eq!(error_code(&send(&c, &node.url, &format!("0x{tampered}")).await), 10008);
    // Not TARS at all.
    assert_eq!(error_code(&send(&c, &node.url, "0x1a2b3c").await), 10003);
    assert_eq!(result(&rpc(&c, &node.url, "getBlockNumber", json!(["group0", ""])).await), 0);
    drop(node);

    // SM2: the signature is verified against the appended public key; flip a byte of s, then of the key.
    let dir = tempfile::tempdir().unwrap();
    let node = Devnode::start(dir.path(), &["--sm"]);
    let v = go_sdk("HELLOWORLD_SET_TX_GM");
    let signed = v["signed_tx_tars_hex"].as_str().unwrap();
    let sig = v["signature"].as_str().unwrap();
    for index in [40usize, 100] {
        let mut bad = hex::decode(sig).unwrap();
        bad[index] ^= 0x01;
        let tampered = signed.replace(sig, &hex::encode(&bad));
        let r = send(&c, &node.url, &format!("0x{tampered}")).await;
        assert_eq!(error_code(&r), 10008, "byte {index}: {r}");
    }
    // The untouched transaction is fine.
    assert_eq!(result(&send(&c, &node.url, &tx_hex(&v)).await)["from"], v["signer_address"]);
}

#[tokio::test]
async fn chain_and_group_must_match_the_node() {
    let c = http();
    let raw = tx_hex(&go_sdk("DEPLOY_HELLOWORLD_TX")); // chain0 / group0
    let dir = tempfile::tempdir().unwrap();
    let node = Devnode::start(dir.path(), &["--chain-id", "chain1", "--group-id", "group0"]);
    let r = send(&c, &node.url, &raw).await;
    assert_eq!((error_code(&r), r["error"]["message"].as_str().unwrap()), (10006, "InvalidChainId"));
    drop(node);
    let dir = tempfile::tempdir().unwrap();
    let node = Devnode::start(dir.path(), &["--chain-id", "chain0", "--group-id", "group1"]);
    // The RPC group is the node's; the transaction names another one.
    let r = rpc(&c, &node.url, "sendTransaction", json!(["group1", "", raw, false])).await;
    assert_eq!((error_code(&r), r["error"]["message"].as_str().unwrap()), (10007, "InvalidGroupId"));
}

#[tokio::test]
async fn block_limit_window_and_nonce_uniqueness() {
    let dir = tempfile::tempdir().unwrap();
    let node = Devnode::start(dir.path(), &[]);
    let c = http();
    let s = Signer::random(CryptoSuite::Ecdsa);
    let deploy = |limit: i64, nonce: &str| hex0x(&sign(&s, "chain0", "group0", limit, nonce, None, HelloWorld::BYTECODE.to_vec()).bytes);
    // Current block 0: the limit must be in 1..=1000.
    let r = send(&c, &node.url, &deploy(0, "a")).await;
    assert_eq!((error_code(&r), r["error"]["message"].as_str().unwrap()), (10001, "BlockLimitCheckFail"));
    assert_eq!(error_code(&send(&c, &node.url, &deploy(1001, "a")).await), 10001);
    assert_eq!(result(&send(&c, &node.url, &deploy(1000, "a")).await)["blockNumber"], 1);
    // Current block 1: a limit of 1 has expired, 1001 is now inside the window.
    assert_eq!(error_code(&send(&c, &node.url, &deploy(1, "b")).await), 10001);
    assert_eq!(result(&send(&c, &node.url, &deploy(1001, "b")).await)["blockNumber"], 2);
    // Nonce "a" is used, whatever the other fields say.
    let r = send(&c, &node.url, &deploy(900, "a")).await;
    assert_eq!((error_code(&r), r["error"]["message"].as_str().unwrap()), (10000, "NonceCheckFail"));
}

#[tokio::test]
async fn unknown_hashes_answer_3008() {
    let dir = tempfile::tempdir().unwrap();
    let node = Devnode::start(dir.path(), &[]);
    let c = http();
    let hash = format!("0x{}", "ab".repeat(32));
    assert_eq!(error_code(&rpc(&c, &node.url, "getTransactionReceipt", json!(["group0", "", hash, false])).await), 3008);
    assert_eq!(error_code(&rpc(&c, &node.url, "getTransaction", json!(["group0", "", hash, false])).await), 3008);
    assert_eq!(error_code(&rpc(&c, &node.url, "noSuchMethod", json!([])).await), -32601);
    let genesis = rpc(&c, &node.url, "getBlockByNumber", json!(["group0", "", 0, false, false])).await;
    assert_eq!(result(&genesis)["number"], 0);
    assert_eq!(result(&genesis)["transactions"], json!([]));
    let info = rpc(&c, &node.url, "getGroupInfo", json!(["group0", ""])).await;
    assert_eq!(result(&info)["chainID"], "chain0");
    let node_info = rpc(&c, &node.url, "getGroupNodeInfo", json!(["group0", ""])).await;
    let ini: Value = serde_json::from_str(result(&node_info)["iniConfig"].as_str().unwrap()).unwrap();
    assert_eq!(ini["smCryptoType"], false);
}

#[tokio::test]
async fn sigkill_after_a_receipt_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let c = http();
    let s = Signer::random(CryptoSuite::Ecdsa);
    let mut node = Devnode::start(dir.path(), &["--block-interval-ms", "50"]);
    let deploy = sign(&s, "chain0", "group0", 500, "1", None, HelloWorld::BYTECODE.to_vec());
    let r = send(&c, &node.url, &hex0x(&deploy.bytes)).await;
    let contract = result(&r)["contractAddress"].as_str().unwrap().to_string();
    let set = sign(&s, "chain0", "group0", 500, "2", Some(contract.parse().unwrap()), HelloWorld::setCall { n: "persisted".into() }.abi_encode());
    let set_receipt = result(&send(&c, &node.url, &hex0x(&set.bytes)).await).clone();
    let height = result(&rpc(&c, &node.url, "getBlockNumber", json!(["group0", ""])).await).clone();
    let block = result(&rpc(&c, &node.url, "getBlockByNumber", json!(["group0", "", height, false, true])).await).clone();
    node.kill();

    let node = Devnode::start(dir.path(), &["--block-interval-ms", "50"]);
    assert_eq!(result(&rpc(&c, &node.url, "getBlockNumber", json!(["group0", ""])).await), &height);
    let again = rpc(&c, &node.url, "getTransactionReceipt", json!(["group0", "", set.hash_hex(), false])).await;
    assert_eq!(result(&again), &set_receipt);
    let block_again = rpc(&c, &node.url, "getBlockByNumber", json!(["group0", "", height, false, true])).await;
    assert_eq!(result(&block_again), &block);
    assert_eq!(hello_get(&c, &node.url, "group0", &contract).await, "persisted");
    // The replayed chain still knows what it holds, and keeps growing.
    assert_eq!(error_code(&send(&c, &node.url, &hex0x(&set.bytes)).await), 10005);
    let more = sign(&s, "chain0", "group0", 500, "3", Some(contract.parse().unwrap()), HelloWorld::setCall { n: "after".into() }.abi_encode());
    let r = send(&c, &node.url, &hex0x(&more.bytes)).await;
    assert_eq!(result(&r)["blockNumber"].as_u64().unwrap(), height.as_u64().unwrap() + 1);
    assert_eq!(hello_get(&c, &node.url, "group0", &contract).await, "after");
}

#[tokio::test]
async fn a_dropped_answer_still_commits_and_latency_delays_answers() {
    let dir = tempfile::tempdir().unwrap();
    let node = Devnode::start(dir.path(), &[]);
    let c = http();
    let s = Signer::random(CryptoSuite::Ecdsa);
    let tx = sign(&s, "chain0", "group0", 500, "1", None, HelloWorld::BYTECODE.to_vec());
    rpc(&c, &node.url, "devnode_setFaults", json!([{"dropResponses": true}])).await;
    let body = json!({"jsonrpc": "2.0", "method": "sendTransaction", "params": ["group0", "", hex0x(&tx.bytes), false], "id": 1});
    let lost = c.post(&node.url).json(&body).send().await;
    assert!(lost.is_err(), "the answer should have been dropped: {lost:?}");
    rpc(&c, &node.url, "devnode_setFaults", json!([{"dropResponses": false, "latencyMs": 300}])).await;
    let started = Instant::now();
    let receipt = rpc(&c, &node.url, "getTransactionReceipt", json!(["group0", "", tx.hash_hex(), false])).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(result(&receipt)["status"], 0);
    assert_eq!(result(&receipt)["from"], s.address().to_string());
}

#[tokio::test]
async fn a_revert_is_committed_with_status_16_and_the_revert_data() {
    use linli_ledger_client::governance::LinliGovernance as G;
    let dir = tempfile::tempdir().unwrap();
    let node = Devnode::start(dir.path(), &[]);
    let c = http();
    let admin = Signer::random(CryptoSuite::Ecdsa);
    let outsider = Signer::random(CryptoSuite::Ecdsa);
    let deploy = sign(&admin, "chain0", "group0", 500, "1", None, G::BYTECODE.to_vec());
    let r = send(&c, &node.url, &hex0x(&deploy.bytes)).await;
    let contract: Address = result(&r)["contractAddress"].as_str().unwrap().parse().unwrap();
    // The constructor's AdminTransferred event is reported from the contract's FISCO address.
    assert_eq!(result(&r)["logEntries"][0]["address"], hex::encode(contract.0));
    let grant = G::grantRoleCall { account: alloy_primitives::Address::from(outsider.address().0), role: 1 };
    let tx = sign(&outsider, "chain0", "group0", 500, "2", Some(contract), grant.abi_encode());
    let receipt = result(&send(&c, &node.url, &hex0x(&tx.bytes)).await).clone();
    assert_eq!(receipt["status"], 16);
    // NotAdmin(address): selector Keccak("NotAdmin(address)")[..4], then the caller as one word.
    let selector = &alloy_primitives::keccak256("NotAdmin(address)")[..4];
    let expected = format!("0x{}{:0>64}", hex::encode(selector), hex::encode(outsider.address().0));
    assert_eq!(receipt["output"], expected);
    assert_eq!(receipt["logEntries"], json!([]));
    // A reverted transaction is still on chain: same bytes again are a duplicate.
    assert_eq!(error_code(&send(&c, &node.url, &hex0x(&tx.bytes)).await), 10005);
    let count = rpc(&c, &node.url, "getTotalTransactionCount", json!(["group0", ""])).await;
    assert_eq!(result(&count)["failedTransactionCount"], 1);
    assert_eq!(result(&count)["transactionCount"], 2);
}
