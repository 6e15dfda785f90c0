//! bcos-devnode: a single-node FISCO BCOS 3.x-compatible chain for development and tests.
//!
//! `bcos-devnode --listen ADDR --data-dir DIR --chain-id ID --group-id ID [--sm] [--block-interval-ms N]`
//! (fault flags: `--pause-sealing`, `--latency-ms N`, `--drop-responses`). With `--listen 127.0.0.1:0`
//! the first stdout line, `bcos-devnode listening on <addr>`, gives the port.
//!
//! - JSON-RPC 2.0 over plain HTTP, `params` an array, group-scoped methods `[group, node, ...]`:
//!   `getBlockNumber`, `sendTransaction` (answers with the receipt once the block is on disk), `call`,
//!   `getTransactionReceipt` / `getTransaction` (3008 while unknown), `getBlockByNumber`,
//!   `getBlockByHash`, `getBlockHashByNumber`, `getCode`, `getPendingTxSize`, `getTotalTransactionCount`,
//!   `getGroupList`, `getGroupInfo`, `getGroupNodeInfo`.
//! - Admission as a node does it ([`node::Chain::admit`]): TARS decoding, hash recomputed from the fields,
//!   signature and sender (secp256k1 or SM2), chain and group, block limit `current < limit ≤ current +
//!   1000`, nonce unique in the group, identical bytes 10004 (pool) / 10005 (chain), with FISCO's codes
//!   and status names as messages.
//! - Execution in revm under Paris rules with `block.timestamp` in milliseconds ([`evm`]); contracts are
//!   placed at FISCO's addresses (`H("<block>_<index>_0")[..20]`); receipts have FISCO's shape (status 0,
//!   16 with the revert data as `output`, `logEntries`, `gasUsed` as a decimal string).
//! - Persistence ([`store`]): every block is appended to `DIR/blocks.log` and fsynced before any of its
//!   receipts is answered; the state is rebuilt by replaying the log on start.
//! - Test-only methods: `devnode_setFaults [{"pauseSealing": bool, "latencyMs": n, "dropResponses":
//!   bool}]` (any subset; answers the current switches) and `devnode_advanceTime [ms]` (moves the
//!   clock used for block timestamps forward, to open and close voting windows without waiting).

pub mod evm;
pub mod node;
pub mod server;
pub mod store;
