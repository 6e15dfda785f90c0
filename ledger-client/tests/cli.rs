//! The `bcos` binary, run as a process. Expected values come from the official vectors in fixtures/fisco.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::process::{Command, Output};

use base64::Engine as _;
use serde_json::Value;

fn bcos(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bcos")).args(args).output().unwrap()
}

fn ok_json(args: &[&str]) -> Value {
    let out = bcos(args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.trim_end().lines().count(), 1, "one JSON object on one line");
    serde_json::from_str(&text).unwrap()
}

fn fails_with_one_line(args: &[&str]) -> String {
    let out = bcos(args);
    assert!(!out.status.success(), "{args:?} should fail");
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    err
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/../fixtures/fisco/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn go(name: &str) -> Value {
    fixture("go-sdk-tx-vectors.json")["go_sdk_vectors"][name].clone()
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap()
}

#[test]
fn key_address_from_hex() {
    let v = go("HELLOWORLD_SET_TX");
    let out = ok_json(&["key", "address", "--key", s(&v, "signer_private_key")]);
    assert_eq!(out["address"], v["signer_address"]);
    let j = fixture("java-sdk-vectors.json");
    let c = &j["private_key_to_public_key"][0];
    let out = ok_json(&["key", "address", "--key", &format!("0x{}", s(c, "private_key"))]);
    assert_eq!(out["public_key"], c["public_key"]);
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    format!("-----BEGIN {label}-----\n{b64}\n-----END {label}-----\n")
}

#[test]
fn key_address_from_pem_files_sec1_and_pkcs8() {
    let v = go("HELLOWORLD_SET_TX");
    let key = hex::decode(s(&v, "signer_private_key")).unwrap();
    // RFC 5915 ECPrivateKey { 1, key, [0] secp256k1 } and its RFC 5208 PKCS#8 wrapping, built by hand.
    let mut sec1 = hex::decode("302e0201010420").unwrap();
    sec1.extend_from_slice(&key);
    sec1.extend_from_slice(&hex::decode("a00706052b8104000a").unwrap());
    let mut pkcs8 = hex::decode("303e020100301006072a8648ce3d020106052b8104000a042730250201010420").unwrap();
    pkcs8.extend_from_slice(&key);
    let dir = tempfile::tempdir().unwrap();
    let p1 = dir.path().join("k1.pem");
    std::fs::write(&p1, format!("-----BEGIN EC PARAMETERS-----\nBgUrgQQACg==\n-----END EC PARAMETERS-----\n{}", pem("EC PRIVATE KEY", &sec1))).unwrap();
    let p2 = dir.path().join("k2.pem");
    std::fs::write(&p2, pem("PRIVATE KEY", &pkcs8)).unwrap();
    for p in [&p1, &p2] {
        let out = ok_json(&["key", "address", "--key", p.to_str().unwrap()]);
        assert_eq!(out["address"], v["signer_address"], "{}", p.display());
    }
    // A secp256k1 key file used for an SM chain is refused, not silently misread.
    fails_with_one_line(&["key", "address", "--sm", "--key", p1.to_str().unwrap()]);
}

#[test]
fn tx_build_reproduces_go_sdk_bytes() {
    for name in ["HELLOWORLD_SET_TX", "DEPLOY_HELLOWORLD_TX"] {
        let v = go(name);
        let f = &v["fields"];
        let block_limit = f["blockLimit"].as_i64().unwrap().to_string();
        let out = ok_json(&[
            "tx", "build", "--chain-id", s(f, "chainID"), "--group-id", s(f, "groupID"), "--block-limit",
            &block_limit, "--nonce", s(f, "nonce"), "--to", s(f, "to"), "--input", s(f, "input_hex"), "--abi",
            s(f, "abi"), "--key", s(&v, "signer_private_key"),
        ]);
        assert_eq!(out["data_hash"], v["dataHash"], "{name}");
        assert_eq!(out["signature"], v["signature"], "{name}");
        assert_eq!(out["signed_tx"], v["signed_tx_tars_hex"], "{name}");
        assert_eq!(out["sender"], v["signer_address"], "{name}");
    }
}

#[test]
fn tx_decode_of_the_documented_sm_transaction() {
    let doc = fixture("rpc-doc-examples.json");
    let tx = doc["sendTransaction"][0]["request"]["params"][2].as_str().unwrap().to_owned();
    let out = ok_json(&["tx", "decode", &tx, "--sm"]);
    assert_eq!(out["version"], 0);
    assert_eq!(out["chain_id"], "chain0");
    assert_eq!(out["group_id"], "group0");
    assert_eq!(out["to"], "");
    assert_eq!(out["hash_valid"], true);
    assert_eq!(out["signature_valid"], true);
    assert_eq!(out["sender"], doc["getTransactionReceipt"][0]["response"]["result"]["from"]);
    assert_eq!(out["signature"].as_str().unwrap().len(), 256);
    // The same bytes checked with the wrong suite are not valid.
    let wrong = ok_json(&["tx", "decode", &tx]);
    assert_eq!((wrong["hash_valid"].clone(), wrong["signature_valid"].clone()), (false.into(), false.into()));
}

#[test]
fn tx_decode_of_go_sdk_sm_transaction() {
    let v = go("HELLOWORLD_SET_TX_GM");
    let out = ok_json(&["tx", "decode", s(&v, "signed_tx_tars_hex"), "--sm"]);
    assert_eq!(out["sender"], v["signer_address"]);
    assert_eq!(out["data_hash"], v["dataHash"]);
    assert_eq!(out["to"], v["fields"]["to"]);
    assert_eq!(out["nonce"], v["fields"]["nonce"]);
    assert_eq!(out["block_limit"], v["fields"]["blockLimit"]);
}

#[test]
fn abi_selector_both_suites() {
    let j = fixture("java-sdk-vectors.json");
    for c in j["selectors"].as_array().unwrap() {
        let mut args = vec!["abi", "selector", s(c, "signature")];
        if s(c, "suite") == "sm" {
            args.push("--sm");
        }
        assert_eq!(ok_json(&args)["selector"], c["selector"]);
    }
}

#[test]
fn bad_input_is_one_line_and_non_zero() {
    fails_with_one_line(&["tx", "decode", "abc"]);
    fails_with_one_line(&["tx", "decode", "zz"]);
    fails_with_one_line(&["tx", "decode", "1a0b"]);
    fails_with_one_line(&["key", "address", "--key", "0011"]);
    fails_with_one_line(&["key", "address", "--key", "00", "--frobnicate"]);
    fails_with_one_line(&["abi", "selector"]);
    assert!(fails_with_one_line(&["tx"]).contains("subcommand"));
    let e = fails_with_one_line(&[
        "tx", "build", "--chain-id", "c", "--group-id", "g", "--block-limit", "1", "--input", "abc", "--key",
        "0101010101010101010101010101010101010101010101010101010101010101",
    ]);
    assert!(e.contains("odd"), "{e}");
}

#[test]
fn rpc_prints_the_raw_result() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        // Read headers and the (small) body.
        while !String::from_utf8_lossy(&buf).contains("getBlockNumber") {
            let n = sock.read(&mut chunk).unwrap();
            assert!(n > 0);
            buf.extend_from_slice(&chunk[..n]);
        }
        let req = String::from_utf8_lossy(&buf).to_string();
        let body = r#"{"id":1,"jsonrpc":"2.0","result":8}"#;
        write!(sock, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}", body.len(), body).unwrap();
        req
    });
    let out = ok_json(&["rpc", "--url", &url, "getBlockNumber", r#"["group0",""]"#]);
    assert_eq!(out, 8);
    let req = server.join().unwrap();
    assert!(req.contains(r#""params":["group0",""]"#), "{req}");
}

/// A node that answers `getBlockNumber` 8, `sendTransaction` with a committed deployment receipt and
/// `call` with a fixed output; it records the requests.
fn scripted_node(connections: usize) -> (String, std::thread::JoinHandle<Vec<Value>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..connections {
            let (mut sock, _) = listener.accept().unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 65536];
            let req: Value = loop {
                let n = sock.read(&mut chunk).unwrap();
                assert!(n > 0);
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(pos) = text.find("\r\n\r\n")
                    && let Ok(v) = serde_json::from_str::<Value>(&text[pos + 4..])
                {
                    break v;
                }
            };
            let result = match req["method"].as_str().unwrap() {
                "getBlockNumber" => serde_json::json!(8),
                "sendTransaction" => serde_json::json!({
                    "status": 0, "blockNumber": 9, "output": "0x", "hash": "0x", "logEntries": [],
                    "contractAddress": "0x82a3c3289a9f234a38aceed3016d1ff0e0f922b3",
                    "transactionHash": "0x00",
                }),
                "call" => serde_json::json!({"blockNumber": 9, "output": "0x00000000000000000000000000000000000000000000000000000000000000ff", "status": 0}),
                m => panic!("unexpected {m}"),
            };
            let body = serde_json::json!({"id": req["id"], "jsonrpc": "2.0", "result": result}).to_string();
            write!(sock, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}", body.len(), body).unwrap();
            seen.push(req);
        }
        seen
    });
    (url, handle)
}

#[test]
fn send_signs_with_block_number_plus_500_and_reports_the_receipt() {
    let v = go("DEPLOY_HELLOWORLD_TX");
    let (url, node) = scripted_node(2);
    let out = ok_json(&[
        "send", "--url", &url, "--chain-id", "chain0", "--input", "6080604052", "--key", s(&v, "signer_private_key"),
    ]);
    assert_eq!(out["outcome"], "committed");
    assert_eq!(out["block_limit"], 508);
    assert_eq!(out["receipt"]["contract_address"], "0x82a3c3289a9f234a38aceed3016d1ff0e0f922b3");
    let reqs = node.join().unwrap();
    assert_eq!(reqs[0]["method"], "getBlockNumber");
    let p = &reqs[1]["params"];
    assert_eq!((p[0].as_str(), p[1].as_str(), p[3].as_bool()), (Some("group0"), Some(""), Some(false)));
    // What went over the wire is what `tx decode` accepts as signed by the key, with the reported hash.
    let sent = p[2].as_str().unwrap();
    let decoded = ok_json(&["tx", "decode", sent]);
    assert_eq!(decoded["sender"], v["signer_address"]);
    assert_eq!(decoded["signature_valid"], true);
    assert_eq!(decoded["block_limit"], 508);
    assert_eq!(decoded["data_hash"], out["hash"]);
    assert_eq!(decoded["input"], "6080604052");
}

#[test]
fn call_prints_output_and_status() {
    let (url, node) = scripted_node(1);
    let out = ok_json(&["call", "--url", &url, "--to", "0xc0523dbdd94ba27e14b0336d799489340ca24cdf", "--input", "0x6d4ce63c"]);
    assert_eq!(out["status"], 0);
    assert_eq!(out["output"], "00000000000000000000000000000000000000000000000000000000000000ff");
    let reqs = node.join().unwrap();
    assert_eq!(
        reqs[0]["params"],
        serde_json::json!(["group0", "", "0xc0523dbdd94ba27e14b0336d799489340ca24cdf", "0x6d4ce63c"])
    );
}

#[test]
fn call_through_the_registry_by_contract_name() {
    let (url, node) = scripted_node(1);
    let dir = tempfile::tempdir().unwrap();
    let reg = dir.path().join("chains.toml");
    std::fs::write(
        &reg,
        format!(
            "[communities.sunshine]\nendpoints = [\"{url}\"]\nchain_id = \"chain0\"\ngroup_id = \"group7\"\n\
             contracts = {{ governance = \"0xC0523DBDD94BA27E14B0336D799489340CA24CDF\" }}\n"
        ),
    )
    .unwrap();
    let out = ok_json(&[
        "call", "--registry", reg.to_str().unwrap(), "--community", "sunshine", "--to", "governance", "--input", "6d4ce63c",
    ]);
    assert_eq!(out["status"], 0);
    let reqs = node.join().unwrap();
    assert_eq!(
        reqs[0]["params"],
        serde_json::json!(["group7", "", "0xc0523dbdd94ba27e14b0336d799489340ca24cdf", "0x6d4ce63c"])
    );
    fails_with_one_line(&["call", "--registry", reg.to_str().unwrap(), "--community", "nowhere", "--to", "governance", "--input", "00"]);
    fails_with_one_line(&["call", "--to", "governance", "--input", "00"]);
}
