//! Event decoding helpers on a hand-built ERC-20 `Transfer` log (topic 0 = the well-known
//! Keccak-256 of `Transfer(address,address,uint256)`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alloy_primitives::{Address as AlloyAddress, U256};
use linli_ledger_client::abi::{AbiError, decode_event, event_topic, find_events, is_event};
use linli_ledger_client::crypto::CryptoSuite;
use linli_ledger_client::rpc::types::{HexBytes, LogEntry};

alloy_sol_types::sol! {
    #[derive(Debug)]
    event Transfer(address indexed from, address indexed to, uint256 value);
    #[derive(Debug)]
    event Approval(address indexed owner, address indexed spender, uint256 value);
}

const TRANSFER_TOPIC: &str = "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

fn word(hex_tail: &str) -> HexBytes {
    HexBytes::parse(&format!("{hex_tail:0>64}")).unwrap()
}

fn transfer_log() -> LogEntry {
    LogEntry {
        address: None,
        data: word("2a"),
        topics: vec![
            HexBytes::parse(TRANSFER_TOPIC).unwrap(),
            word("f3293c3452b3b0479e64a4c612e8c1b0da5fe1af"),
            word("c0523dbdd94ba27e14b0336d799489340ca24cdf"),
        ],
    }
}

#[test]
fn topic_and_decode() {
    assert_eq!(hex::encode(event_topic(CryptoSuite::Ecdsa, "Transfer(address,address,uint256)")), TRANSFER_TOPIC);
    let log = transfer_log();
    assert!(is_event::<Transfer>(&log));
    assert!(!is_event::<Approval>(&log));
    let t: Transfer = decode_event(&log).unwrap();
    assert_eq!(t.from, "0xf3293c3452b3b0479e64a4c612e8c1b0da5fe1af".parse::<AlloyAddress>().unwrap());
    assert_eq!(t.to, "0xc0523dbdd94ba27e14b0336d799489340ca24cdf".parse::<AlloyAddress>().unwrap());
    assert_eq!(t.value, U256::from(42u64));
    assert_eq!(decode_event::<Approval>(&log).unwrap_err(), AbiError::WrongEvent);
}

#[test]
fn find_skips_other_events_and_bad_topics_are_errors() {
    let mut other = transfer_log();
    other.topics[0] = HexBytes(vec![0; 32]);
    let found: Vec<Transfer> = find_events(&[other, transfer_log()]).unwrap();
    assert_eq!(found.len(), 1);
    let mut short = transfer_log();
    short.topics[1] = HexBytes(vec![1; 31]);
    assert_eq!(decode_event::<Transfer>(&short).unwrap_err(), AbiError::BadTopics);
}
