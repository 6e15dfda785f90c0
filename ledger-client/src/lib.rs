//! linli-ledger-client: a FISCO BCOS 3.x client that agrees with the official SDKs byte for byte.
//!
//! - [`tars`]: TARS `TransactionData` / `Transaction` encoding and a total decoder.
//! - [`crypto`]: the Keccak/secp256k1 and SM3/SM2 suites, signing, sender recovery, addresses.
//! - [`keys`]: private keys from hex or PEM.
//! - [`tx`]: hashing, building and checking signed transactions.

pub mod crypto;
pub mod governance;
pub mod keys;
pub mod tars;
pub mod tx;

pub use crypto::{Address, CryptoSuite, Signer, recover_sender, verify};
pub use tars::{Transaction, TransactionData};
pub use tx::{SignedTx, TxRequest, build_signed, data_hash, decode_and_check};
