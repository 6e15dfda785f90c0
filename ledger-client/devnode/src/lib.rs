//! bcos-devnode: a single-node FISCO BCOS 3.x-compatible chain for development and tests.
//!
//! It speaks the JSON-RPC subset of DESIGN §7 over HTTP, checks transactions like a node
//! (TARS decoding, hash, signature, chain and group, block limit, nonce, duplicates), runs the
//! real bytecode in revm with millisecond timestamps and keeps its chain in an fsynced log.

pub mod evm;
pub mod node;
pub mod server;
pub mod store;
