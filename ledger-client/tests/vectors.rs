//! Official vectors: the go-sdk signed transactions and the sendTransaction request of the RPC documentation
//! (fixtures/fisco/, copied from the FISCO BCOS sources). Every expected value comes from those files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use linli_ledger_client::crypto::{CryptoSuite, Signer, recover_sender};
use linli_ledger_client::tars::{Transaction, TransactionData};
use linli_ledger_client::tx::{data_hash, decode_and_check, sign_data};
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!("{}/../fixtures/fisco/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn go_vectors() -> Vec<(String, Value)> {
    let v = fixture("go-sdk-tx-vectors.json");
    v["go_sdk_vectors"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn suite_of(v: &Value) -> CryptoSuite {
    match v["crypto"].as_str().unwrap() {
        "secp256k1/keccak256" => CryptoSuite::Ecdsa,
        "sm2/sm3" => CryptoSuite::Sm,
        other => panic!("unknown suite {other}"),
    }
}

fn fields_of(v: &Value) -> TransactionData {
    let f = &v["fields"];
    TransactionData {
        version: f["version"].as_i64().unwrap() as i32,
        chain_id: f["chainID"].as_str().unwrap().into(),
        group_id: f["groupID"].as_str().unwrap().into(),
        block_limit: f["blockLimit"].as_i64().unwrap(),
        nonce: f["nonce"].as_str().unwrap().into(),
        to: f["to"].as_str().unwrap().into(),
        input: hex::decode(f["input_hex"].as_str().unwrap()).unwrap(),
        abi: f["abi"].as_str().unwrap().into(),
        ..TransactionData::default()
    }
}

fn hexs(v: &Value, key: &str) -> Vec<u8> {
    hex::decode(v[key].as_str().unwrap()).unwrap()
}

#[test]
fn go_sdk_transaction_data_encodes_byte_exact() {
    for (name, v) in go_vectors() {
        let data = fields_of(&v);
        assert_eq!(hex::encode(data.encode()), v["tx_data_tars_hex"].as_str().unwrap(), "{name}");
        assert_eq!(TransactionData::decode(&hexs(&v, "tx_data_tars_hex")).unwrap(), data, "{name}");
    }
}

#[test]
fn go_sdk_data_hashes_match_both_suites() {
    for (name, v) in go_vectors() {
        let hash = data_hash(suite_of(&v), &fields_of(&v));
        assert_eq!(hex::encode(hash), v["dataHash"].as_str().unwrap(), "{name}");
    }
}

#[test]
fn go_sdk_signed_transactions_decode_to_their_fields() {
    for (name, v) in go_vectors() {
        let tx = Transaction::decode(&hexs(&v, "signed_tx_tars_hex")).unwrap();
        assert_eq!(tx.data, fields_of(&v), "{name}");
        assert_eq!(hex::encode(&tx.data_hash), v["dataHash"].as_str().unwrap(), "{name}");
        assert_eq!(hex::encode(&tx.signature), v["signature"].as_str().unwrap(), "{name}");
        // Re-encoding what was decoded gives the same bytes (no field lost or reordered).
        assert_eq!(hex::encode(tx.encode()), v["signed_tx_tars_hex"].as_str().unwrap(), "{name}");
    }
}

#[test]
fn go_sdk_secp256k1_transactions_rebuild_byte_for_byte() {
    let mut checked = 0;
    for (name, v) in go_vectors() {
        if suite_of(&v) != CryptoSuite::Ecdsa {
            continue;
        }
        let signer = Signer::from_secret_bytes(CryptoSuite::Ecdsa, &hexs(&v, "signer_private_key")).unwrap();
        assert_eq!(signer.address().to_string(), v["signer_address"].as_str().unwrap(), "{name}");
        let signed = sign_data(&signer, fields_of(&v)).unwrap();
        assert_eq!(hex::encode(signed.hash), v["dataHash"].as_str().unwrap(), "{name}");
        assert_eq!(hex::encode(&signed.tx.signature), v["signature"].as_str().unwrap(), "{name}");
        assert_eq!(hex::encode(&signed.bytes), v["signed_tx_tars_hex"].as_str().unwrap(), "{name}");
        checked += 1;
    }
    assert_eq!(checked, 2);
}

#[test]
fn go_sdk_sm2_transactions_verify_and_recover_signer() {
    let mut checked = 0;
    for (name, v) in go_vectors() {
        if suite_of(&v) != CryptoSuite::Sm {
            continue;
        }
        let checked_tx = decode_and_check(CryptoSuite::Sm, &hexs(&v, "signed_tx_tars_hex")).unwrap();
        assert!(checked_tx.hash_valid, "{name}");
        assert!(checked_tx.signature_valid, "{name}");
        assert_eq!(checked_tx.sender.unwrap().to_string(), v["signer_address"].as_str().unwrap(), "{name}");
        assert_eq!(hex::encode(checked_tx.sender_public_key.unwrap()), v["signer_pubkey"].as_str().unwrap());
        checked += 1;
    }
    assert_eq!(checked, 2);
}

#[test]
fn go_sdk_secp256k1_senders_recover() {
    for (name, v) in go_vectors() {
        if suite_of(&v) != CryptoSuite::Ecdsa {
            continue;
        }
        let (_, addr) = recover_sender(CryptoSuite::Ecdsa, &hexs(&v, "dataHash"), &hexs(&v, "signature")).unwrap();
        assert_eq!(addr.to_string(), v["signer_address"].as_str().unwrap(), "{name}");
    }
}

#[test]
fn tampered_transactions_fail_checks() {
    for (name, v) in go_vectors() {
        let suite = suite_of(&v);
        let mut tx = Transaction::decode(&hexs(&v, "signed_tx_tars_hex")).unwrap();
        tx.data.block_limit += 1;
        let c = decode_and_check(suite, &tx.encode()).unwrap();
        assert!(!c.hash_valid, "{name}");
        // The signature was over the old hash: it must not yield the original signer.
        assert_ne!(c.sender.map(|a| a.to_string()), Some(v["signer_address"].as_str().unwrap().to_owned()), "{name}");
    }
}

#[test]
fn the_wrong_suite_does_not_validate() {
    for (name, v) in go_vectors() {
        let other = match suite_of(&v) {
            CryptoSuite::Ecdsa => CryptoSuite::Sm,
            CryptoSuite::Sm => CryptoSuite::Ecdsa,
        };
        let c = decode_and_check(other, &hexs(&v, "signed_tx_tars_hex")).unwrap();
        assert!(!c.hash_valid && !c.signature_valid, "{name}");
    }
}

#[test]
fn rpc_doc_send_transaction_is_sm_signed_by_the_documented_sender() {
    let doc = fixture("rpc-doc-examples.json");
    let params = &doc["sendTransaction"][0]["request"]["params"];
    let tx_hex = params[2].as_str().unwrap().strip_prefix("0x").unwrap();
    let c = decode_and_check(CryptoSuite::Sm, &hex::decode(tx_hex).unwrap()).unwrap();
    assert_eq!(c.tx.data.chain_id, "chain0");
    assert_eq!(c.tx.data.group_id, params[0].as_str().unwrap());
    assert!(c.tx.data.to.is_empty(), "a deployment");
    assert!(c.hash_valid);
    assert!(c.signature_valid);
    let from = doc["getTransactionReceipt"][0]["response"]["result"]["from"].as_str().unwrap();
    assert_eq!(c.sender.unwrap().to_string(), from);
    // The receipt example is this deployment: its input is the transaction's input.
    let input = doc["getTransactionReceipt"][0]["response"]["result"]["input"].as_str().unwrap();
    assert_eq!(format!("0x{}", hex::encode(&c.tx.data.input)), input);
}

#[test]
fn to_with_0x_is_hashed_verbatim() {
    let derived = fixture("derived-vectors.json");
    let case = &derived["to_with_0x_prefix"];
    let base = go_vectors().into_iter().find(|(n, _)| n == case["base_vector"].as_str().unwrap()).unwrap().1;
    let mut data = fields_of(&base);
    data.to = case["to"].as_str().unwrap().into();
    assert_eq!(hex::encode(data_hash(CryptoSuite::Sm, &data)), case["dataHash"].as_str().unwrap());
    // and the prefix is kept through TARS, so a node recomputes the same hash
    assert_eq!(TransactionData::decode(&data.encode()).unwrap().to, case["to"].as_str().unwrap());
}
