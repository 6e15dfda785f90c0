//! The TARS decoder is total: any bytes decode or give an error; a decoded transaction re-encodes to
//! something that decodes to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use linli_ledger_client::crypto::CryptoSuite;
use linli_ledger_client::tars::{Transaction, TransactionData};

fuzz_target!(|data: &[u8]| {
    if let Ok(tx) = Transaction::decode(data) {
        let again = Transaction::decode(&tx.encode()).expect("re-encoded transaction decodes");
        assert_eq!(again, tx);
        let _ = linli_ledger_client::tx::decode_and_check(CryptoSuite::Ecdsa, data);
        let _ = linli_ledger_client::tx::decode_and_check(CryptoSuite::Sm, data);
    }
    if let Ok(d) = TransactionData::decode(data) {
        assert_eq!(TransactionData::decode(&d.encode()).expect("re-encoded data decodes"), d);
    }
});
