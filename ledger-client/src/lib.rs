//! linli-ledger-client: a FISCO BCOS 3.x client that agrees with the official SDKs byte for byte.
//!
//! - [`tars`]: TARS `TransactionData` / `Transaction` encoding and a total decoder.
//! - [`crypto`]: the Keccak/secp256k1 and SM3/SM2 suites, signing, sender recovery, addresses.
//! - [`keys`]: private keys from hex or PEM.
//! - [`tx`]: hashing, building and checking signed transactions.
//! - [`abi`]: selectors and event topics of both suites, revert and event decoding.
//! - [`rpc`]: the JSON-RPC client (HTTP or mutual TLS) and tolerant result types.
//! - [`client`]: one client per chain target; prepare → persist → send, with a clear outcome.
//! - [`registry`]: the community → chain target configuration file.
//!
//! Writing through an outbox (sign once, persist, re-send the same bytes):
//!
//! ```ignore
//! let target = ChainRegistry::load(path)?.target("sunshine")?.clone();
//! let client = ChainClient::from_target(&target)?;
//! let prepared = client.prepare(&signer, target.contract("governance"), calldata).await?;
//! outbox.store(serde_json::to_string(&prepared)?)?; // nonce, block limit, signed bytes, hash
//! match client.send_prepared(&prepared).await? {
//!     TxOutcome::Committed(receipt) => { /* done */ }
//!     TxOutcome::Pending => { /* retry later with the same bytes, or client.wait(..) */ }
//!     TxOutcome::Expired { .. } => { /* prepare again: new nonce, new block limit */ }
//!     TxOutcome::Reverted { reason, .. } => { /* contract said no */ }
//!     TxOutcome::PermissionDenied(_) | TxOutcome::Failed { .. } | TxOutcome::Rejected { .. } => { /* report */ }
//! }
//! ```

pub mod abi;
pub mod client;
pub mod crypto;
pub mod governance;
pub mod keys;
pub mod registry;
pub mod rpc;
pub mod tars;
pub mod tx;

pub use crypto::{Address, CryptoSuite, Signer, recover_sender, verify};
pub use client::{ChainClient, PreparedTx, TxOutcome};
pub use registry::{ChainRegistry, ChainTarget};
pub use tars::{Transaction, TransactionData};
pub use tx::{SignedTx, TxRequest, build_signed, data_hash, decode_and_check};
