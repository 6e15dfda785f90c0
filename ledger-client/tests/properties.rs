//! Property tests: TARS round trip for arbitrary fields, sign → recover on both suites, and decoders that
//! never panic on arbitrary or mutated input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use linli_ledger_client::crypto::{CryptoSuite, Signer, recover_sender};
use linli_ledger_client::rpc::decode_response;
use linli_ledger_client::tars::{Transaction, TransactionData};
use linli_ledger_client::tx::{data_hash, decode_and_check, sign_data};
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    // Short and long strings (over 255 bytes switches to the 4-byte length form), any Unicode.
    prop_oneof![".{0,20}", ".{250,300}"]
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![proptest::collection::vec(any::<u8>(), 0..40), proptest::collection::vec(any::<u8>(), 120..400)]
}

prop_compose! {
    fn tx_data()(
        version in 0i32..=2,
        chain_id in text(), group_id in text(), block_limit in any::<i64>(), nonce in text(),
        to in text(), input in bytes(), abi in text(),
        value in text(), gas_price in text(), gas_limit in any::<i64>(),
        max_fee in text(), max_prio in text(), extension in bytes(),
    ) -> TransactionData {
        let v1 = version >= 1;
        TransactionData {
            version, chain_id, group_id, block_limit, nonce, to, input, abi,
            value: if v1 { value } else { String::new() },
            gas_price: if v1 { gas_price } else { String::new() },
            gas_limit: if v1 { gas_limit } else { 0 },
            max_fee_per_gas: if v1 { max_fee } else { String::new() },
            max_priority_fee_per_gas: if v1 { max_prio } else { String::new() },
            extension: if version >= 2 { extension } else { Vec::new() },
        }
    }
}

fn suite() -> impl Strategy<Value = CryptoSuite> {
    prop_oneof![Just(CryptoSuite::Ecdsa), Just(CryptoSuite::Sm)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn transaction_data_round_trips(d in tx_data()) {
        prop_assert_eq!(TransactionData::decode(&d.encode()).unwrap(), d);
    }

    #[test]
    fn transaction_round_trips(
        d in tx_data(), hash in bytes(), sig in bytes(), import_time in any::<i64>(), attribute in any::<i32>(),
        sender in bytes(), extra in text(),
    ) {
        let tx = Transaction {
            data: d, data_hash: hash, signature: sig, import_time, attribute, source: String::new(), sender,
            extra_data: extra,
        };
        prop_assert_eq!(Transaction::decode(&tx.encode()).unwrap(), tx);
    }

    #[test]
    fn decoders_never_panic_on_random_bytes(b in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Transaction::decode(&b);
        let _ = TransactionData::decode(&b);
        let _ = decode_and_check(CryptoSuite::Ecdsa, &b);
        let _ = decode_and_check(CryptoSuite::Sm, &b);
        let _ = decode_response(&b);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn sign_then_recover(suite in suite(), secret in any::<[u8; 32]>(), hash in any::<[u8; 32]>()) {
        let Ok(signer) = Signer::from_secret_bytes(suite, &secret) else { return Ok(()) };
        let sig = signer.sign_hash(&hash).unwrap();
        prop_assert_eq!(sig.len(), suite.signature_len());
        let (pk, addr) = recover_sender(suite, &hash, &sig).unwrap();
        prop_assert_eq!(pk, signer.public_key());
        prop_assert_eq!(addr, signer.address());
        if suite == CryptoSuite::Ecdsa {
            // low-s: s ≤ n/2, i.e. the top bit of s is clear after normalisation and v is 0 or 1.
            prop_assert!(sig[64] <= 1);
            let half_n = hex::decode("7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0").unwrap();
            prop_assert!(sig[32..64] <= half_n[..]);
        }
        let mut other = hash;
        other[0] ^= 1;
        prop_assert_ne!(recover_sender(suite, &other, &sig).ok().map(|r| r.1), Some(signer.address()));
    }

    #[test]
    fn signed_transactions_check_and_mutations_never_panic(
        suite in suite(), d in tx_data(), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
    ) {
        let signer = Signer::from_secret_bytes(suite, &[0x42; 32]).unwrap();
        let signed = sign_data(&signer, d.clone()).unwrap();
        prop_assert_eq!(signed.hash, data_hash(suite, &d));
        let c = decode_and_check(suite, &signed.bytes).unwrap();
        prop_assert!(c.hash_valid && c.signature_valid);
        prop_assert_eq!(c.sender, Some(signer.address()));
        let mut b = signed.bytes.clone();
        for (i, x) in flips {
            let n = b.len();
            b[i % n] ^= x;
        }
        let _ = decode_and_check(suite, &b);
    }
}
