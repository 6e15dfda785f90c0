//! The chain: admission checks of a FISCO BCOS 3.x transaction pool, block sealing, execution and
//! the indexes the RPC reads (blocks, transactions, receipts, nonces).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use alloy_primitives::{Address as EvmAddress, Bytes};
use linli_ledger_client::crypto::{Address, CryptoSuite};
use linli_ledger_client::tars::Transaction;
use linli_ledger_client::tx::decode_and_check;

use crate::evm::{BlockContext, Executor, Outcome};
use crate::store::{BlockLog, StoreError, StoredBlock};

/// FISCO BCOS's block-limit window: a transaction is valid while current < blockLimit <= current + 1000.
pub const BLOCK_LIMIT_WINDOW: i64 = 1000;
/// FISCO BCOS's default `tx_count_limit` per block.
pub const MAX_TXS_PER_BLOCK: usize = 1000;
/// Largest signed transaction accepted (bytes); larger ones are refused as malformed.
pub const MAX_TX_BYTES: usize = 2 * 1024 * 1024;
/// Pool capacity; beyond it submissions get 10002 TxPoolIsFull.
pub const MAX_POOL: usize = 15_000;

/// Rejections with FISCO BCOS 3.x `TransactionStatus` codes; the message is the status name, as a
/// node puts it in the JSON-RPC error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("NonceCheckFail")]
    NonceCheckFail,
    #[error("BlockLimitCheckFail")]
    BlockLimitCheckFail,
    #[error("TxPoolIsFull")]
    TxPoolIsFull,
    #[error("Malform")]
    Malform,
    #[error("AlreadyInTxPool")]
    AlreadyInTxPool,
    #[error("TxAlreadyInChain")]
    TxAlreadyInChain,
    #[error("InvalidChainId")]
    InvalidChainId,
    #[error("InvalidGroupId")]
    InvalidGroupId,
    #[error("InvalidSignature")]
    InvalidSignature,
}

impl Rejection {
    pub fn code(self) -> i64 {
        match self {
            Rejection::NonceCheckFail => 10000,
            Rejection::BlockLimitCheckFail => 10001,
            Rejection::TxPoolIsFull => 10002,
            Rejection::Malform => 10003,
            Rejection::AlreadyInTxPool => 10004,
            Rejection::TxAlreadyInChain => 10005,
            Rejection::InvalidChainId => 10006,
            Rejection::InvalidGroupId => 10007,
            Rejection::InvalidSignature => 10008,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("replaying block {block}: {reason}")]
    Replay { block: u64, reason: String },
}

#[derive(Debug, Clone)]
pub struct Config {
    pub chain_id: String,
    pub group_id: String,
    pub suite: CryptoSuite,
}

/// A transaction that passed admission.
#[derive(Debug, Clone)]
pub struct Admitted {
    pub hash: [u8; 32],
    pub raw: Vec<u8>,
    pub tx: Transaction,
    pub sender: Address,
    pub to: Option<EvmAddress>,
}

#[derive(Debug, Clone)]
pub struct TxRecord {
    pub admitted: Admitted,
    pub block: u64,
    pub index: usize,
    pub outcome: Outcome,
    pub receipt_hash: [u8; 32],
}

#[derive(Debug, Clone)]
pub struct Block {
    pub number: u64,
    pub timestamp_ms: u64,
    pub hash: [u8; 32],
    pub parent_hash: [u8; 32],
    pub tx_hashes: Vec<[u8; 32]>,
    pub gas_used: u64,
    pub txs_root: [u8; 32],
    pub receipts_root: [u8; 32],
}

pub struct Chain {
    pub config: Config,
    exec: Executor,
    log: BlockLog,
    blocks: Vec<Block>,
    txs: HashMap<[u8; 32], TxRecord>,
    chain_nonces: HashSet<String>,
    pool: Vec<Admitted>,
    pool_hashes: HashSet<[u8; 32]>,
    pool_nonces: HashSet<String>,
    failed_count: u64,
}

impl Chain {
    /// Opens the chain in `data_dir`, replaying every committed block.
    pub fn open(config: Config, data_dir: &Path) -> Result<Self, NodeError> {
        let (log, stored) = BlockLog::open(data_dir)?;
        let genesis = genesis_block(config.suite);
        let mut chain = Chain {
            config,
            exec: Executor::new(),
            log,
            blocks: vec![genesis],
            txs: HashMap::new(),
            chain_nonces: HashSet::new(),
            pool: Vec::new(),
            pool_hashes: HashSet::new(),
            pool_nonces: HashSet::new(),
            failed_count: 0,
        };
        for block in stored {
            let mut admitted = Vec::with_capacity(block.txs.len());
            for raw_hex in &block.txs {
                let raw = hex::decode(raw_hex)
                    .map_err(|e| NodeError::Replay { block: block.number, reason: e.to_string() })?;
                let a = chain
                    .decode(&raw)
                    .map_err(|r| NodeError::Replay { block: block.number, reason: r.to_string() })?;
                admitted.push(a);
            }
            chain.apply_block(block.number, block.timestamp_ms, admitted);
        }
        Ok(chain)
    }

    pub fn block_number(&self) -> u64 {
        self.blocks.len() as u64 - 1
    }

    pub fn block(&self, number: u64) -> Option<&Block> {
        self.blocks.get(usize::try_from(number).ok()?)
    }

    pub fn block_by_hash(&self, hash: &[u8; 32]) -> Option<&Block> {
        self.blocks.iter().find(|b| &b.hash == hash)
    }

    pub fn tx(&self, hash: &[u8; 32]) -> Option<&TxRecord> {
        self.txs.get(hash)
    }

    pub fn total_tx_count(&self) -> u64 {
        self.txs.len() as u64
    }

    pub fn failed_tx_count(&self) -> u64 {
        self.failed_count
    }

    pub fn pending_count(&self) -> usize {
        self.pool.len()
    }

    fn decode(&self, raw: &[u8]) -> Result<Admitted, Rejection> {
        if raw.len() > MAX_TX_BYTES {
            return Err(Rejection::Malform);
        }
        let checked = decode_and_check(self.config.suite, raw).map_err(|_| Rejection::Malform)?;
        let to = parse_to(&checked.tx.data.to)?;
        if !checked.hash_valid || !checked.signature_valid {
            return Err(Rejection::InvalidSignature);
        }
        let sender = checked.sender.ok_or(Rejection::InvalidSignature)?;
        Ok(Admitted { hash: checked.computed_hash, raw: raw.to_vec(), tx: checked.tx, sender, to })
    }

    /// Admission as a FISCO BCOS 3.x node does it; on success the transaction waits in the pool.
    pub fn admit(&mut self, raw: &[u8]) -> Result<[u8; 32], Rejection> {
        let a = self.decode(raw)?;
        let d = &a.tx.data;
        if d.chain_id != self.config.chain_id {
            return Err(Rejection::InvalidChainId);
        }
        if d.group_id != self.config.group_id {
            return Err(Rejection::InvalidGroupId);
        }
        if self.pool_hashes.contains(&a.hash) {
            return Err(Rejection::AlreadyInTxPool);
        }
        if self.txs.contains_key(&a.hash) {
            return Err(Rejection::TxAlreadyInChain);
        }
        if self.pool_nonces.contains(&d.nonce) || self.chain_nonces.contains(&d.nonce) {
            return Err(Rejection::NonceCheckFail);
        }
        let current = i64::try_from(self.block_number()).unwrap_or(i64::MAX);
        if d.block_limit <= current || d.block_limit > current.saturating_add(BLOCK_LIMIT_WINDOW) {
            return Err(Rejection::BlockLimitCheckFail);
        }
        if self.pool.len() >= MAX_POOL {
            return Err(Rejection::TxPoolIsFull);
        }
        let hash = a.hash;
        self.pool_hashes.insert(hash);
        self.pool_nonces.insert(d.nonce.clone());
        self.pool.push(a);
        Ok(hash)
    }

    /// Seals the pending transactions (up to the per-block limit) into a new block, executes them,
    /// writes the block to disk and returns the hashes it committed. `now_ms` is the wall clock; the
    /// block time never goes backwards.
    pub fn seal(&mut self, now_ms: u64) -> Result<Vec<[u8; 32]>, NodeError> {
        if self.pool.is_empty() {
            return Ok(Vec::new());
        }
        let take = self.pool.len().min(MAX_TXS_PER_BLOCK);
        let batch: Vec<Admitted> = self.pool.drain(..take).collect();
        let number = self.block_number() + 1;
        let timestamp_ms = now_ms.max(self.blocks.last().map(|b| b.timestamp_ms).unwrap_or(0));
        let stored = StoredBlock {
            number,
            timestamp_ms,
            txs: batch.iter().map(|a| hex::encode(&a.raw)).collect(),
        };
        // Durable first: a block is answered only once it would survive a crash.
        if let Err(e) = self.log.append(&stored) {
            // Put the batch back so nothing is silently lost; the caller reports the error.
            let mut rest = std::mem::take(&mut self.pool);
            self.pool = batch;
            self.pool.append(&mut rest);
            return Err(e.into());
        }
        for a in &batch {
            self.pool_hashes.remove(&a.hash);
            self.pool_nonces.remove(&a.tx.data.nonce);
        }
        let hashes = batch.iter().map(|a| a.hash).collect();
        self.apply_block(number, timestamp_ms, batch);
        Ok(hashes)
    }

    fn apply_block(&mut self, number: u64, timestamp_ms: u64, batch: Vec<Admitted>) {
        let suite = self.config.suite;
        let ctx = BlockContext { number, timestamp_ms };
        let mut gas_used = 0u64;
        let mut tx_hashes = Vec::with_capacity(batch.len());
        let mut receipt_hashes = Vec::with_capacity(batch.len());
        for (index, a) in batch.into_iter().enumerate() {
            let caller = EvmAddress::from_slice(a.sender.as_bytes());
            let input = Bytes::from(a.tx.data.input.clone());
            let executed = match a.to {
                Some(to) => self.exec.transact(ctx, caller, Some(to), input),
                None => self.exec.deploy_at(ctx, caller, input, fisco_contract_address(suite, number, index)),
            };
            let outcome = executed.unwrap_or_else(|e| Outcome {
                    status: crate::evm::status::UNKNOWN,
                    output: Bytes::from(e.to_string().into_bytes()),
                    logs: Vec::new(),
                    gas_used: 0,
                    contract_address: None,
                });
            if !outcome.is_success() {
                self.failed_count += 1;
            }
            gas_used = gas_used.saturating_add(outcome.gas_used);
            let receipt_hash = receipt_hash(suite, &a.hash, number, &outcome);
            tx_hashes.push(a.hash);
            receipt_hashes.push(receipt_hash);
            self.chain_nonces.insert(a.tx.data.nonce.clone());
            self.txs.insert(a.hash, TxRecord { admitted: a, block: number, index, outcome, receipt_hash });
        }
        let parent_hash = self.blocks.last().map(|b| b.hash).unwrap_or([0u8; 32]);
        let txs_root = list_root(suite, &tx_hashes);
        let receipts_root = list_root(suite, &receipt_hashes);
        let mut header = Vec::with_capacity(8 * 3 + 32 * 3);
        header.extend_from_slice(&number.to_be_bytes());
        header.extend_from_slice(&timestamp_ms.to_be_bytes());
        header.extend_from_slice(&gas_used.to_be_bytes());
        header.extend_from_slice(&parent_hash);
        header.extend_from_slice(&txs_root);
        header.extend_from_slice(&receipts_root);
        let hash = suite.hash(&header);
        self.blocks.push(Block { number, timestamp_ms, hash, parent_hash, tx_hashes, gas_used, txs_root, receipts_root });
    }

    /// A read-only call against the latest state.
    pub fn call(&mut self, to: EvmAddress, input: Bytes, now_ms: u64) -> Outcome {
        let latest = self.blocks.last().map(|b| b.timestamp_ms).unwrap_or(0);
        let ctx = BlockContext { number: self.block_number(), timestamp_ms: now_ms.max(latest) };
        self.exec.call(ctx, EvmAddress::ZERO, to, input).unwrap_or_else(|e| Outcome {
            status: crate::evm::status::UNKNOWN,
            output: Bytes::from(e.to_string().into_bytes()),
            logs: Vec::new(),
            gas_used: 0,
            contract_address: None,
        })
    }

    pub fn code(&self, address: EvmAddress) -> Bytes {
        self.exec.code(address)
    }
}

/// The address FISCO BCOS 3.x gives a contract deployed by a transaction: the first 20 bytes of
/// `H("<block number>_<context id>_<seq>")`, with the transaction's index in its block as context id and
/// seq 0 for the transaction's own creation. Checked against the 3.x documentation (the SM deployment
/// in block 2 lands at SM3("2_0_0")[..20] = 0x82a3c3…22b3) and the go-sdk vectors, whose `set` calls
/// target H("1_0_0")[..20], the contract their deployment in block 1 created.
pub fn fisco_contract_address(suite: CryptoSuite, block: u64, index: usize) -> EvmAddress {
    let digest = suite.hash(format!("{block}_{index}_0").as_bytes());
    EvmAddress::from_slice(&digest[..20])
}

/// `to` as FISCO writes it: empty for a deployment, else 40 hex digits (a `0x` prefix is tolerated).
fn parse_to(to: &str) -> Result<Option<EvmAddress>, Rejection> {
    if to.is_empty() {
        return Ok(None);
    }
    let digits = to.strip_prefix("0x").or_else(|| to.strip_prefix("0X")).unwrap_or(to);
    let bytes = hex::decode(digits).map_err(|_| Rejection::Malform)?;
    if bytes.len() != 20 {
        return Err(Rejection::Malform);
    }
    Ok(Some(EvmAddress::from_slice(&bytes)))
}

fn genesis_block(suite: CryptoSuite) -> Block {
    Block {
        number: 0,
        timestamp_ms: 0,
        hash: suite.hash(b"bcos-devnode genesis"),
        parent_hash: [0u8; 32],
        tx_hashes: Vec::new(),
        gas_used: 0,
        txs_root: [0u8; 32],
        receipts_root: [0u8; 32],
    }
}

fn receipt_hash(suite: CryptoSuite, tx_hash: &[u8; 32], block: u64, o: &Outcome) -> [u8; 32] {
    let mut buf = Vec::with_capacity(32 + 8 + 4 + 8 + o.output.len());
    buf.extend_from_slice(tx_hash);
    buf.extend_from_slice(&block.to_be_bytes());
    buf.extend_from_slice(&o.status.to_be_bytes());
    buf.extend_from_slice(&o.gas_used.to_be_bytes());
    buf.extend_from_slice(&o.output);
    for log in &o.logs {
        buf.extend_from_slice(log.address.as_slice());
        for t in log.topics() {
            buf.extend_from_slice(t.as_slice());
        }
        buf.extend_from_slice(&log.data.data);
    }
    suite.hash(&buf)
}

/// A simple commitment to an ordered list of hashes (not FISCO's Merkle layout: nothing reads it).
fn list_root(suite: CryptoSuite, hashes: &[[u8; 32]]) -> [u8; 32] {
    if hashes.is_empty() {
        return [0u8; 32];
    }
    suite.hash(&hashes.concat())
}
