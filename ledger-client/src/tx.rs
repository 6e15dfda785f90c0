//! Building, hashing, signing and checking transactions.
//!
//! The hash is not taken over the TARS bytes but over the concatenation
//! `be32(version) ‖ chainID ‖ groupID ‖ be64(blockLimit) ‖ nonce ‖ to ‖ input ‖ abi`, then, from version 1,
//! `‖ value ‖ gasPrice ‖ be64(gasLimit) ‖ maxFeePerGas ‖ maxPriorityFeePerGas`, and from version 2
//! `‖ extension`. Strings are hashed as their UTF-8 bytes, verbatim (a `to` written with `0x` hashes
//! differently from one without).

use thiserror::Error;

use crate::crypto::{Address, CryptoError, CryptoSuite, Hasher, Signer, recover_sender};
use crate::tars::{TarsError, Transaction, TransactionData};

#[derive(Debug, Error)]
pub enum TxError {
    #[error("TARS: {0}")]
    Tars(#[from] TarsError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

/// The data hash of a transaction on `suite`.
pub fn data_hash(suite: CryptoSuite, d: &TransactionData) -> [u8; 32] {
    let mut h = Hasher::new(suite);
    h.update(&d.version.to_be_bytes());
    h.update(d.chain_id.as_bytes());
    h.update(d.group_id.as_bytes());
    h.update(&d.block_limit.to_be_bytes());
    h.update(d.nonce.as_bytes());
    h.update(d.to.as_bytes());
    h.update(&d.input);
    h.update(d.abi.as_bytes());
    if d.version >= 1 {
        h.update(d.value.as_bytes());
        h.update(d.gas_price.as_bytes());
        h.update(&d.gas_limit.to_be_bytes());
        h.update(d.max_fee_per_gas.as_bytes());
        h.update(d.max_priority_fee_per_gas.as_bytes());
    }
    if d.version >= 2 {
        h.update(&d.extension);
    }
    h.finalize()
}

/// A random nonce in the SDKs' style: a decimal integer (here 128 random bits).
pub fn random_nonce() -> String {
    rand::random::<u128>().to_string()
}

/// The fields of a version-0 call or deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxRequest {
    pub chain_id: String,
    pub group_id: String,
    pub block_limit: i64,
    pub nonce: String,
    /// `None` deploys `input` as bytecode.
    pub to: Option<Address>,
    pub input: Vec<u8>,
    /// Only for deployments, and only if the node should record the ABI; usually empty.
    pub abi: String,
}

impl TxRequest {
    /// The `TransactionData` v0 of this request, `to` as lowercase hex without `0x`.
    pub fn to_data(&self) -> TransactionData {
        TransactionData {
            version: 0,
            chain_id: self.chain_id.clone(),
            group_id: self.group_id.clone(),
            block_limit: self.block_limit,
            nonce: self.nonce.clone(),
            to: self.to.map(|a| a.to_plain_hex()).unwrap_or_default(),
            input: self.input.clone(),
            abi: self.abi.clone(),
            ..TransactionData::default()
        }
    }
}

/// A signed transaction, ready to persist and send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTx {
    pub tx: Transaction,
    /// TARS bytes for `sendTransaction` (hex-encode with `0x`).
    pub bytes: Vec<u8>,
    pub hash: [u8; 32],
    pub sender: Address,
}

impl SignedTx {
    /// `0x` + lowercase hex of the hash: the form the node's RPC uses.
    pub fn hash_hex(&self) -> String {
        format!("0x{}", hex::encode(self.hash))
    }
}

/// Hash and sign arbitrary `TransactionData` (any `to` string, hashed verbatim).
pub fn sign_data(signer: &Signer, data: TransactionData) -> Result<SignedTx, TxError> {
    let hash = data_hash(signer.suite(), &data);
    let signature = signer.sign_hash(&hash)?;
    let tx = Transaction { data, data_hash: hash.to_vec(), signature, ..Transaction::default() };
    let bytes = tx.encode();
    Ok(SignedTx { tx, bytes, hash, sender: signer.address() })
}

/// Build → hash → sign a version-0 transaction.
pub fn build_signed(signer: &Signer, req: &TxRequest) -> Result<SignedTx, TxError> {
    sign_data(signer, req.to_data())
}

/// What a received transaction says and whether it is genuine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedTx {
    pub tx: Transaction,
    /// Hash recomputed from the fields.
    pub computed_hash: [u8; 32],
    /// The carried `dataHash` equals the recomputed one.
    pub hash_valid: bool,
    /// The signature verifies over the recomputed hash.
    pub signature_valid: bool,
    /// Signer, when the signature verifies.
    pub sender: Option<Address>,
    pub sender_public_key: Option<[u8; 64]>,
}

/// Decode TARS bytes and check hash and signature. A malformed encoding is an error; a wrong hash or
/// signature is reported in the flags (so a node can answer with the precise rejection code).
pub fn decode_and_check(suite: CryptoSuite, bytes: &[u8]) -> Result<CheckedTx, TxError> {
    let tx = Transaction::decode(bytes)?;
    let computed_hash = data_hash(suite, &tx.data);
    let hash_valid = tx.data_hash.as_slice() == computed_hash.as_slice();
    let recovered = recover_sender(suite, &computed_hash, &tx.signature).ok();
    Ok(CheckedTx {
        computed_hash,
        hash_valid,
        signature_valid: recovered.is_some(),
        sender: recovered.map(|(_, a)| a),
        sender_public_key: recovered.map(|(p, _)| p),
        tx,
    })
}
