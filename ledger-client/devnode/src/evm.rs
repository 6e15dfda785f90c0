//! EVM execution with revm under the rules FISCO BCOS 3.x applies to Solidity contracts:
//! Paris (merge) rules, no gas price and no balances, `block.timestamp` in milliseconds,
//! a transaction gas limit of 3,000,000,000 (FISCO's default `txGasLimit`).

use revm::context::result::{ExecutionResult, HaltReason, Output};
use revm::context::{BlockEnv, CfgEnv, Context, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::handler::{MainBuilder, MainContext, MainnetContext, MainnetEvm};
use revm::primitives::hardfork::SpecId;
use revm::primitives::{Address, Bytes, Log, TxKind, U256};
use revm::{ExecuteCommitEvm, ExecuteEvm};

/// FISCO BCOS's default per-transaction gas limit (`txGasLimit` in the genesis config).
pub const TX_GAS_LIMIT: u64 = 3_000_000_000;

/// FISCO BCOS `TransactionStatus` values used in receipts.
pub mod status {
    pub const SUCCESS: i32 = 0;
    pub const UNKNOWN: i32 = 1;
    pub const BAD_INSTRUCTION: i32 = 10;
    pub const BAD_JUMP_DESTINATION: i32 = 11;
    pub const OUT_OF_GAS: i32 = 12;
    pub const OUT_OF_STACK: i32 = 13;
    pub const STACK_UNDERFLOW: i32 = 14;
    pub const REVERT_INSTRUCTION: i32 = 16;
    pub const CONTRACT_ADDRESS_ALREADY_USED: i32 = 17;
}

/// What one execution produced, in the terms of a FISCO receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// FISCO transaction status (0 success, 16 revert, ...).
    pub status: i32,
    /// Return data, or the revert data (`Error(string)` or a custom error) when status is 16.
    pub output: Bytes,
    pub logs: Vec<Log>,
    pub gas_used: u64,
    /// Set for a successful deployment.
    pub contract_address: Option<Address>,
}

impl Outcome {
    pub fn is_success(&self) -> bool {
        self.status == status::SUCCESS
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EvmError {
    #[error("transaction rejected by the EVM: {0}")]
    Invalid(String),
}

/// The block context one transaction runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockContext {
    pub number: u64,
    /// Milliseconds since the Unix epoch, as FISCO BCOS sets `block.timestamp`.
    pub timestamp_ms: u64,
}

type Db = CacheDB<EmptyDB>;

/// A world state plus the EVM that runs transactions against it.
pub struct Executor {
    evm: MainnetEvm<MainnetContext<Db>>,
}

impl Default for Executor {
    fn default() -> Self {
        Self::new()
    }
}

impl Executor {
    pub fn new() -> Self {
        let mut cfg = CfgEnv::new_with_spec(SpecId::MERGE);
        cfg.disable_nonce_check = true;
        cfg.disable_balance_check = true;
        cfg.disable_base_fee = true;
        // FISCO has no chain id in the EVM sense; leave the tx chain id unchecked.
        cfg.tx_chain_id_check = false;
        let block = BlockEnv { gas_limit: u64::MAX, ..BlockEnv::default() };
        let evm = Context::mainnet()
            .with_db(Db::new(EmptyDB::default()))
            .with_cfg(cfg)
            .with_block(block)
            .build_mainnet();
        Self { evm }
    }

    fn set_block(&mut self, block: BlockContext) {
        self.evm.ctx.modify_block(|b| {
            b.number = U256::from(block.number);
            b.timestamp = U256::from(block.timestamp_ms);
        });
    }

    fn tx(caller: Address, to: Option<Address>, input: Bytes) -> TxEnv {
        TxEnv {
            caller,
            gas_limit: TX_GAS_LIMIT,
            gas_price: 0,
            kind: match to {
                Some(address) => TxKind::Call(address),
                None => TxKind::Create,
            },
            value: U256::ZERO,
            data: input,
            gas_priority_fee: None,
            chain_id: None,
            ..TxEnv::default()
        }
    }

    /// Runs a transaction and commits its state changes (none when it reverted or halted).
    /// `to == None` deploys `input` as creation code.
    pub fn transact(
        &mut self,
        block: BlockContext,
        caller: Address,
        to: Option<Address>,
        input: Bytes,
    ) -> Result<Outcome, EvmError> {
        self.set_block(block);
        let result = self
            .evm
            .transact_commit(Self::tx(caller, to, input))
            .map_err(|e| EvmError::Invalid(e.to_string()))?;
        Ok(outcome(result))
    }

    /// Deploys `init_code` and places the new contract at `address` instead of revm's
    /// CREATE address, the way FISCO BCOS 3.x names contracts (see `node::fisco_contract_address`).
    /// The constructor runs at revm's address; its logs are rewritten to `address`. Refused with
    /// status 17 when `address` already holds code.
    pub fn deploy_at(
        &mut self,
        block: BlockContext,
        caller: Address,
        init_code: Bytes,
        address: Address,
    ) -> Result<Outcome, EvmError> {
        let accounts = &self.evm.ctx.journaled_state.database.cache.accounts;
        if accounts.get(&address).and_then(|a| a.info.code.as_ref()).is_some_and(|c| !c.is_empty()) {
            return Ok(Outcome {
                status: status::CONTRACT_ADDRESS_ALREADY_USED,
                output: Bytes::new(),
                logs: Vec::new(),
                gas_used: 0,
                contract_address: None,
            });
        }
        let mut out = self.transact(block, caller, None, init_code)?;
        if let Some(created) = out.contract_address {
            let accounts = &mut self.evm.ctx.journaled_state.database.cache.accounts;
            if let Some(account) = accounts.remove(&created) {
                accounts.insert(address, account);
            }
            for log in &mut out.logs {
                if log.address == created {
                    log.address = address;
                }
            }
            out.contract_address = Some(address);
        }
        Ok(out)
    }

    /// Runs a read-only call against the current state and discards every change.
    pub fn call(
        &mut self,
        block: BlockContext,
        caller: Address,
        to: Address,
        input: Bytes,
    ) -> Result<Outcome, EvmError> {
        self.set_block(block);
        let result = self
            .evm
            .transact(Self::tx(caller, Some(to), input))
            .map_err(|e| EvmError::Invalid(e.to_string()))?;
        Ok(outcome(result.result))
    }

    /// The runtime code stored at `address` (empty when there is none).
    pub fn code(&self, address: Address) -> Bytes {
        self.evm
            .ctx
            .journaled_state
            .database
            .cache
            .accounts
            .get(&address)
            .and_then(|a| a.info.code.as_ref().map(|c| c.original_bytes()))
            .unwrap_or_default()
    }
}

fn outcome(result: ExecutionResult) -> Outcome {
    match result {
        ExecutionResult::Success { gas, logs, output, .. } => {
            let (output, contract_address) = match output {
                // FISCO's deploy receipt carries an empty output and the new address.
                Output::Create(_, address) => (Bytes::new(), address),
                Output::Call(data) => (data, None),
            };
            Outcome { status: status::SUCCESS, output, logs, gas_used: gas.tx_gas_used(), contract_address }
        }
        ExecutionResult::Revert { gas, output, .. } => Outcome {
            status: status::REVERT_INSTRUCTION,
            output,
            logs: Vec::new(),
            gas_used: gas.tx_gas_used(),
            contract_address: None,
        },
        ExecutionResult::Halt { reason, gas, .. } => Outcome {
            status: halt_status(&reason),
            output: Bytes::new(),
            logs: Vec::new(),
            gas_used: gas.tx_gas_used(),
            contract_address: None,
        },
    }
}

fn halt_status(reason: &HaltReason) -> i32 {
    match reason {
        HaltReason::OutOfGas(_) => status::OUT_OF_GAS,
        HaltReason::OpcodeNotFound | HaltReason::InvalidFEOpcode | HaltReason::NotActivated => {
            status::BAD_INSTRUCTION
        }
        HaltReason::InvalidJump => status::BAD_JUMP_DESTINATION,
        HaltReason::StackOverflow | HaltReason::CallTooDeep => status::OUT_OF_STACK,
        HaltReason::StackUnderflow => status::STACK_UNDERFLOW,
        HaltReason::CreateCollision => status::CONTRACT_ADDRESS_ALREADY_USED,
        _ => status::UNKNOWN,
    }
}
