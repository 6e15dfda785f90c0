//! JSON-RPC response decoding never panics, whatever the node sends.
#![no_main]

use libfuzzer_sys::fuzz_target;
use linli_ledger_client::rpc::types::{Block, CallResult, Receipt, SyncStatus, TransactionInfo, double_encoded};
use linli_ledger_client::rpc::{decode_response, decode_result};

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = decode_response(data) {
        let _ = decode_result::<Receipt>(v.clone());
        let _ = decode_result::<CallResult>(v.clone());
        let _ = decode_result::<Block>(v.clone());
        let _ = decode_result::<TransactionInfo>(v.clone());
        let _: Result<SyncStatus, serde_json::Error> = double_encoded(v);
    }
});
