//! One client per chain target: prepare (sign once, persist), send the same bytes as often as needed,
//! and classify what happened.
//!
//! Idempotent forwarding: [`ChainClient::prepare`] returns a [`PreparedTx`] (nonce, block limit, signed
//! bytes, hash) that the caller stores **before** [`ChainClient::send_prepared`]. A retry re-sends the
//! stored bytes: 10004 (already in pool) and 10005 (already on chain) mean accepted, and the receipt is then
//! polled by hash (3008 = not yet); 10000 (nonce used) is checked the same way, since a re-send of bytes
//! already on chain may meet the nonce check first. When the chain passes the block limit without a receipt, the outcome is
//! [`TxOutcome::Expired`]: sign anew with a new nonce.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::abi::{RevertReason, decode_revert_with};
use crate::crypto::{Address, CryptoSuite, Signer};
use crate::registry::ChainTarget;
use crate::rpc::types::{CallResult, Receipt};
use crate::rpc::{
    CODE_ALREADY_IN_POOL, CODE_ALREADY_ON_CHAIN, CODE_BLOCK_LIMIT, CODE_NONCE_USED, RpcClient, RpcConfig, RpcError,
};
use crate::tx::{TxError, TxRequest, build_signed, random_nonce};

/// How far ahead of the current block a new transaction's block limit is set (the node accepts
/// `current < limit ≤ current + 1000`).
pub const BLOCK_LIMIT_MARGIN: i64 = 500;

/// Receipt status of a successful transaction.
pub const STATUS_OK: i64 = 0;
/// Receipt status of a revert (`output` holds the revert data).
pub const STATUS_REVERT: i64 = 16;
/// Receipt status when the sender lacks permission (FISCO ACL / auth check).
pub const STATUS_PERMISSION_DENIED: i64 = 18;

/// A signed transaction to persist before sending; everything needed to re-send or poll it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreparedTx {
    pub nonce: String,
    pub block_limit: i64,
    #[serde(with = "hex_bytes")]
    pub signed_bytes: Vec<u8>,
    #[serde(with = "hex_array")]
    pub hash: [u8; 32],
}

/// What became of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxOutcome {
    /// Committed with status 0.
    Committed(Box<Receipt>),
    /// Committed with status 16: the contract reverted.
    Reverted { receipt: Box<Receipt>, reason: RevertReason },
    /// Committed with status 18.
    PermissionDenied(Box<Receipt>),
    /// Committed with another non-zero status (out of gas, bad instruction, ...).
    Failed { receipt: Box<Receipt>, status: i64 },
    /// The node refused it (JSON-RPC error, e.g. 10000 nonce used, 10006 wrong chain, 10008 bad signature).
    Rejected { code: i64, message: String },
    /// Accepted or possibly accepted, no receipt yet: poll again or re-send the same bytes later.
    Pending,
    /// The chain reached the block limit without including it: sign anew (new nonce, new limit).
    Expired { block_limit: i64, current_block: i64 },
}

impl TxOutcome {
    pub fn is_committed_ok(&self) -> bool {
        matches!(self, TxOutcome::Committed(_))
    }

    pub fn receipt(&self) -> Option<&Receipt> {
        match self {
            TxOutcome::Committed(r) | TxOutcome::PermissionDenied(r) => Some(r),
            TxOutcome::Reverted { receipt, .. } | TxOutcome::Failed { receipt, .. } => Some(receipt),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Rpc(#[from] RpcError),
    #[error(transparent)]
    Tx(#[from] TxError),
}

/// Classify a committed receipt.
pub fn classify_receipt(receipt: Receipt, custom_errors: &dyn Fn(&[u8]) -> Option<String>) -> TxOutcome {
    match receipt.status {
        STATUS_OK => TxOutcome::Committed(Box::new(receipt)),
        STATUS_REVERT => {
            let reason = decode_revert_with(&receipt.output.0, custom_errors);
            TxOutcome::Reverted { receipt: Box::new(receipt), reason }
        }
        STATUS_PERMISSION_DENIED => TxOutcome::PermissionDenied(Box::new(receipt)),
        status => TxOutcome::Failed { receipt: Box::new(receipt), status },
    }
}

/// A client for one chain target (chain, group, suite, endpoints).
#[derive(Debug)]
pub struct ChainClient {
    rpc: RpcClient,
    chain_id: String,
    group_id: String,
    suite: CryptoSuite,
    /// Interval between receipt polls.
    pub poll_interval: Duration,
}

impl ChainClient {
    pub fn new(chain_id: &str, group_id: &str, suite: CryptoSuite, rpc: RpcConfig) -> Result<Self, RpcError> {
        Ok(ChainClient {
            rpc: RpcClient::new(rpc)?,
            chain_id: chain_id.into(),
            group_id: group_id.into(),
            suite,
            poll_interval: Duration::from_millis(500),
        })
    }

    pub fn from_target(t: &ChainTarget) -> Result<Self, RpcError> {
        Self::new(&t.chain_id, &t.group_id, t.crypto, t.rpc_config())
    }

    pub fn rpc(&self) -> &RpcClient {
        &self.rpc
    }

    pub fn suite(&self) -> CryptoSuite {
        self.suite
    }

    /// Sign offline with a given block limit and nonce.
    pub fn prepare_with(
        &self,
        signer: &Signer,
        to: Option<Address>,
        input: Vec<u8>,
        block_limit: i64,
        nonce: String,
    ) -> Result<PreparedTx, ClientError> {
        let req = TxRequest {
            chain_id: self.chain_id.clone(),
            group_id: self.group_id.clone(),
            block_limit,
            nonce,
            to,
            input,
            abi: String::new(),
        };
        let signed = build_signed(signer, &req)?;
        Ok(PreparedTx { nonce: req.nonce, block_limit, signed_bytes: signed.bytes, hash: signed.hash })
    }

    /// Sign with block limit = current block + 500 and a random nonce. Persist the result, then send it.
    pub async fn prepare(&self, signer: &Signer, to: Option<Address>, input: Vec<u8>) -> Result<PreparedTx, ClientError> {
        let current = self.rpc.get_block_number().await?;
        self.prepare_with(signer, to, input, current + BLOCK_LIMIT_MARGIN, random_nonce())
    }

    /// Send (or re-send) prepared bytes and report the outcome. Transport failures become `Pending` after a
    /// receipt check, so the caller simply retries later with the same bytes.
    pub async fn send_prepared(&self, p: &PreparedTx) -> Result<TxOutcome, RpcError> {
        self.send_prepared_with(p, &|_| None).await
    }

    /// As [`Self::send_prepared`], decoding custom revert errors with `custom_errors`.
    pub async fn send_prepared_with(
        &self,
        p: &PreparedTx,
        custom_errors: &(dyn Fn(&[u8]) -> Option<String> + Sync),
    ) -> Result<TxOutcome, RpcError> {
        match self.rpc.send_transaction(&p.signed_bytes).await {
            Ok(receipt) => Ok(classify_receipt(receipt, custom_errors)),
            Err(RpcError::Node { code: CODE_ALREADY_IN_POOL | CODE_ALREADY_ON_CHAIN, .. }) => {
                self.check(p, custom_errors).await
            }
            Err(RpcError::Node { code: CODE_BLOCK_LIMIT, .. }) => {
                // The limit is out of the window: expired if the chain passed it, else (too far ahead) a
                // plain rejection.
                let current = self.rpc.get_block_number().await?;
                if current >= p.block_limit {
                    Ok(TxOutcome::Expired { block_limit: p.block_limit, current_block: current })
                } else {
                    Ok(TxOutcome::Rejected { code: CODE_BLOCK_LIMIT, message: "block limit out of range".into() })
                }
            }
            Err(RpcError::Node { code: CODE_NONCE_USED, message }) => {
                // A re-send of bytes that already landed can meet the nonce check first: the receipt
                // by hash tells an earlier success from a genuine nonce clash.
                match self.rpc.get_transaction_receipt(&p.hash).await? {
                    Some(r) => Ok(classify_receipt(r, custom_errors)),
                    None => Ok(TxOutcome::Rejected { code: CODE_NONCE_USED, message }),
                }
            }
            Err(RpcError::Node { code, message }) => Ok(TxOutcome::Rejected { code, message }),
            Err(e) if e.is_transient() => match self.check(p, custom_errors).await {
                Ok(o) => Ok(o),
                Err(e2) if e2.is_transient() => Ok(TxOutcome::Pending),
                Err(e2) => Err(e2),
            },
            Err(e) => Err(e),
        }
    }

    /// One look at a sent transaction: its receipt if committed, `Expired` if the chain passed the
    /// block limit without it, else `Pending`.
    pub async fn check(
        &self,
        p: &PreparedTx,
        custom_errors: &(dyn Fn(&[u8]) -> Option<String> + Sync),
    ) -> Result<TxOutcome, RpcError> {
        if let Some(r) = self.rpc.get_transaction_receipt(&p.hash).await? {
            return Ok(classify_receipt(r, custom_errors));
        }
        let current = self.rpc.get_block_number().await?;
        if current >= p.block_limit {
            // Re-check: the receipt may have landed between the two calls.
            if let Some(r) = self.rpc.get_transaction_receipt(&p.hash).await? {
                return Ok(classify_receipt(r, custom_errors));
            }
            return Ok(TxOutcome::Expired { block_limit: p.block_limit, current_block: current });
        }
        Ok(TxOutcome::Pending)
    }

    /// Poll [`Self::check`] until the outcome is not `Pending` or `timeout` passes.
    pub async fn wait(&self, p: &PreparedTx, timeout: Duration) -> Result<TxOutcome, RpcError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let o = self.check(p, &|_| None).await?;
            if o != TxOutcome::Pending || tokio::time::Instant::now() >= deadline {
                return Ok(o);
            }
            tokio::time::sleep(self.poll_interval).await;
        }
    }

    /// A read-only call; a revert is returned as `Err(reason)` inside `Ok`.
    pub async fn call(&self, to: &Address, data: &[u8]) -> Result<Result<Vec<u8>, (i64, RevertReason)>, RpcError> {
        let CallResult { output, status, .. } = self.rpc.call(to, data).await?;
        if status == STATUS_OK {
            Ok(Ok(output.0))
        } else {
            Ok(Err((status, crate::abi::decode_revert(&output.0))))
        }
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(s.trim_start_matches("0x")).map_err(serde::de::Error::custom)
    }
}

mod hex_array {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = String::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(s.trim_start_matches("0x"), &mut out).map_err(serde::de::Error::custom)?;
        Ok(out)
    }
}
