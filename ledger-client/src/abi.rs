//! Generic ABI pieces for both suites: function selectors and event topics (Keccak-256, or SM3 on SM
//! chains), revert decoding (`Error(string)` under either selector, `Panic(uint256)`, custom errors through
//! a hook) and event decoding helpers for `alloy-sol-types` bindings.

use alloy_primitives::B256;
use alloy_sol_types::{SolEvent, SolType, sol_data};
use thiserror::Error;

use crate::crypto::CryptoSuite;
use crate::rpc::types::LogEntry;

/// `Error(string)` selector under Keccak-256 (what solc emits for `require(cond, "reason")`).
pub const ERROR_STRING_SELECTOR_KECCAK: [u8; 4] = [0x08, 0xc3, 0x79, 0xa0];
/// `Panic(uint256)` selector under Keccak-256 (solc ≥ 0.8 for asserts, overflow, division by zero).
pub const PANIC_SELECTOR_KECCAK: [u8; 4] = [0x4e, 0x48, 0x7b, 0x71];

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AbiError {
    #[error("log has no topics or wrong topic size")]
    BadTopics,
    #[error("log topic0 does not match the event")]
    WrongEvent,
    #[error("ABI decoding: {0}")]
    Decode(String),
}

/// First 4 bytes of H(signature), e.g. `selector(Ecdsa, "transfer(address,uint256)")`.
pub fn selector(suite: CryptoSuite, signature: &str) -> [u8; 4] {
    let h = suite.hash(signature.as_bytes());
    [h[0], h[1], h[2], h[3]]
}

/// H(signature): topic 0 of a non-anonymous event.
pub fn event_topic(suite: CryptoSuite, signature: &str) -> [u8; 32] {
    suite.hash(signature.as_bytes())
}

/// Why a call or transaction reverted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevertReason {
    /// Empty revert data (`revert()`, out of gas, or a failed precondition without message).
    Empty,
    /// `Error(string)`.
    Message(String),
    /// `Panic(uint256)` with the solc panic code (0x01 assert, 0x11 overflow, 0x12 division by zero, ...).
    Panic(u64),
    /// A custom error the caller's hook recognised.
    Custom(String),
    /// Anything else: raw revert data.
    Raw(Vec<u8>),
}

impl std::fmt::Display for RevertReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RevertReason::Empty => f.write_str("reverted without reason"),
            RevertReason::Message(m) => write!(f, "{m}"),
            RevertReason::Panic(c) => write!(f, "panic 0x{c:02x}"),
            RevertReason::Custom(c) => write!(f, "{c}"),
            RevertReason::Raw(r) => write!(f, "revert data 0x{}", hex::encode(r)),
        }
    }
}

/// Decode revert data. Both `Error(string)` selectors are recognised whatever the suite (a contract
/// compiled by standard solc emits the Keccak one even on an SM chain; the SM solc emits the SM3 one).
pub fn decode_revert(output: &[u8]) -> RevertReason {
    decode_revert_with(output, |_| None)
}

/// As [`decode_revert`], trying `custom` first (e.g. the `sol!`-generated errors enum of a contract:
/// `|d| MyContract::MyContractErrors::abi_decode(d).ok().map(|e| format!("{e:?}"))`).
pub fn decode_revert_with(output: &[u8], custom: impl Fn(&[u8]) -> Option<String>) -> RevertReason {
    if output.is_empty() {
        return RevertReason::Empty;
    }
    if let Some(c) = custom(output) {
        return RevertReason::Custom(c);
    }
    let Some((sel, body)) = output.split_first_chunk::<4>() else {
        return RevertReason::Raw(output.to_vec());
    };
    if *sel == ERROR_STRING_SELECTOR_KECCAK || *sel == selector(CryptoSuite::Sm, "Error(string)") {
        if let Ok(m) = sol_data::String::abi_decode(body) {
            return RevertReason::Message(m);
        }
    } else if (*sel == PANIC_SELECTOR_KECCAK || *sel == selector(CryptoSuite::Sm, "Panic(uint256)"))
        && let Ok(code) = <sol_data::Uint<256> as SolType>::abi_decode(body)
    {
        return RevertReason::Panic(u64::try_from(code).unwrap_or(u64::MAX));
    }
    RevertReason::Raw(output.to_vec())
}

/// Topics of a log as 32-byte words.
pub fn log_topics(log: &LogEntry) -> Result<Vec<B256>, AbiError> {
    log.topics
        .iter()
        .map(|t| {
            let w: [u8; 32] = t.0.as_slice().try_into().map_err(|_| AbiError::BadTopics)?;
            Ok(B256::from(w))
        })
        .collect()
}

/// True when the log's topic 0 is the event `E` (by the Keccak topic the bindings carry).
pub fn is_event<E: SolEvent>(log: &LogEntry) -> bool {
    log.topics.first().is_some_and(|t| t.0.as_slice() == E::SIGNATURE_HASH.as_slice())
}

/// Decode a receipt log as the event `E` of an `alloy-sol-types` binding.
pub fn decode_event<E: SolEvent>(log: &LogEntry) -> Result<E, AbiError> {
    let topics = log_topics(log)?;
    if !E::ANONYMOUS && topics.first() != Some(&E::SIGNATURE_HASH) {
        return Err(AbiError::WrongEvent);
    }
    E::decode_raw_log(topics, &log.data.0).map_err(|e| AbiError::Decode(e.to_string()))
}

/// Every log of `logs` that is an `E`, decoded; logs of other events are skipped.
pub fn find_events<E: SolEvent>(logs: &[LogEntry]) -> Result<Vec<E>, AbiError> {
    logs.iter().filter(|l| is_event::<E>(l)).map(decode_event::<E>).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Body of `Error("Bytes array is less than 2")` from the documented failed receipt (retcode page).
    const BODY: &str = "0000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000001a4279746573206172726179206973206c657373207468616e2032000000000000";

    #[test]
    fn sm3_revert_selectors_are_the_sm_solc_ones() {
        // c703cb12 = SM3("Error(string)")[..4] per OpenSSL's SM3 and the java-sdk revert parser;
        // b95aa355 is the Panic selector in the SM-compiled HelloWorld bytecode of the RPC doc.
        assert_eq!(hex::encode(selector(CryptoSuite::Sm, "Error(string)")), "c703cb12");
        assert_eq!(hex::encode(selector(CryptoSuite::Sm, "Panic(uint256)")), "b95aa355");
        assert_eq!(selector(CryptoSuite::Ecdsa, "Error(string)"), ERROR_STRING_SELECTOR_KECCAK);
        assert_eq!(selector(CryptoSuite::Ecdsa, "Panic(uint256)"), PANIC_SELECTOR_KECCAK);
    }

    #[test]
    fn error_string_decodes_under_both_selectors() {
        for sel in ["08c379a0", "c703cb12"] {
            let data = hex::decode(format!("{sel}{BODY}")).unwrap();
            assert_eq!(decode_revert(&data), RevertReason::Message("Bytes array is less than 2".into()));
        }
    }

    #[test]
    fn panic_and_unknown_and_custom() {
        let code = format!("{:064x}", 0x22);
        for sel in ["4e487b71", "b95aa355"] {
            assert_eq!(decode_revert(&hex::decode(format!("{sel}{code}")).unwrap()), RevertReason::Panic(0x22));
        }
        assert_eq!(decode_revert(&[]), RevertReason::Empty);
        assert_eq!(decode_revert(&[1, 2]), RevertReason::Raw(vec![1, 2]));
        let truncated = hex::decode("08c379a000").unwrap();
        assert_eq!(decode_revert(&truncated), RevertReason::Raw(truncated.clone()));
        let custom = decode_revert_with(&[0xde, 0xad, 0xbe, 0xef], |d| (d[0] == 0xde).then(|| "Duplicate()".into()));
        assert_eq!(custom, RevertReason::Custom("Duplicate()".into()));
    }
}
