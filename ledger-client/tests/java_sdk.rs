//! java-sdk test cases (fixtures/fisco/java-sdk-vectors.json): digests, key → address, selectors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use linli_ledger_client::abi::selector;
use linli_ledger_client::crypto::{Address, CryptoSuite, Signer};
use serde_json::Value;

fn vectors() -> Value {
    let path = format!("{}/../fixtures/fisco/java-sdk-vectors.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn suite(v: &Value) -> CryptoSuite {
    match v["suite"].as_str().unwrap() {
        "ecdsa" => CryptoSuite::Ecdsa,
        "sm" => CryptoSuite::Sm,
        s => panic!("suite {s}"),
    }
}

#[test]
fn digests_match_java_sdk() {
    let v = vectors();
    let cases = v["hashes"].as_array().unwrap();
    assert_eq!(cases.len(), 6);
    for c in cases {
        let d = suite(c).hash(c["message"].as_str().unwrap().as_bytes());
        assert_eq!(hex::encode(d), c["digest"].as_str().unwrap(), "{c}");
    }
}

#[test]
fn public_key_to_address_matches_java_sdk_both_suites() {
    let v = vectors();
    for c in v["public_key_to_address"].as_array().unwrap() {
        let pk: [u8; 64] = hex::decode(c["public_key"].as_str().unwrap()).unwrap().try_into().unwrap();
        assert_eq!(Address::from_public_key(suite(c), &pk).to_string(), c["address"].as_str().unwrap(), "{c}");
    }
}

#[test]
fn private_key_to_public_key_matches_java_sdk() {
    let v = vectors();
    for c in v["private_key_to_public_key"].as_array().unwrap() {
        let s = Signer::from_secret_bytes(suite(c), &hex::decode(c["private_key"].as_str().unwrap()).unwrap()).unwrap();
        assert_eq!(hex::encode(s.public_key()), c["public_key"].as_str().unwrap());
    }
}

#[test]
fn selectors_match_java_sdk_both_suites() {
    let v = vectors();
    for c in v["selectors"].as_array().unwrap() {
        let sel = selector(suite(c), c["signature"].as_str().unwrap());
        assert_eq!(hex::encode(sel), c["selector"].as_str().unwrap(), "{c}");
    }
}

#[test]
fn legacy_receipt_forms_decode_and_revert_message_is_read() {
    use linli_ledger_client::abi::{RevertReason, decode_revert};
    use linli_ledger_client::rpc::types::Receipt;
    use linli_ledger_client::rpc::{decode_response, decode_result};
    let v = vectors();
    let case = &v["receipt_with_legacy_forms"];
    let r: Receipt = decode_result(decode_response(case["response"].to_string().as_bytes()).unwrap()).unwrap();
    let e = &case["expected"];
    assert_eq!(r.status, e["status"].as_i64().unwrap());
    assert_eq!(r.block_number, e["block_number"].as_i64().unwrap());
    assert_eq!(r.to.unwrap().to_string(), e["to"].as_str().unwrap());
    assert_eq!(decode_revert(&r.output.0), RevertReason::Message(e["revert_message"].as_str().unwrap().into()));
}
