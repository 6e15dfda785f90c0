//! JSON-RPC 2.0 over HTTP/1.1 with the FISCO BCOS 3.x method set and response shapes, the sealer
//! task, and the fault switches.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use alloy_primitives::{Address as EvmAddress, Bytes};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::node::{Block, Chain, Config, NodeError, Rejection, TxRecord};
use linli_ledger_client::crypto::CryptoSuite;


const MAX_HEADER_BYTES: u64 = 16 * 1024;
/// Request bodies above this are refused (a 2 MiB transaction is 4 MiB of hex plus the envelope).
const MAX_BODY_BYTES: usize = 5 * 1024 * 1024;
const MAX_BATCH: usize = 100;
/// The node ID reported by the group and consensus methods (a single node, no P2P identity).
const NODE_ID: &str = "devnode";

/// Switches for fault tests; set by flags at start or by `devnode_setFaults`.
#[derive(Debug, Default)]
pub struct Faults {
    /// Blocks are not sealed while set: transactions wait in the pool and `sendTransaction` hangs.
    pub pause_sealing: AtomicBool,
    /// Delay added before every RPC answer.
    pub latency_ms: AtomicU64,
    /// `sendTransaction` commits the transaction, then closes the connection without answering.
    pub drop_responses: AtomicBool,
}

pub struct Options {
    pub config: Config,
    pub data_dir: PathBuf,
    /// 0 seals as soon as a transaction arrives; N > 0 seals at most every N ms.
    pub block_interval_ms: u64,
}

/// Everything the chain thread owns. revm's EVM is not `Send`, so the chain lives on one thread
/// and the async side talks to it with jobs.
struct Core {
    chain: Chain,
    waiters: HashMap<[u8; 32], Vec<oneshot::Sender<()>>>,
    last_seal: Instant,
}

type Job = Box<dyn FnOnce(&mut Core) + Send>;

/// Milliseconds since the epoch plus the offset set by `devnode_advanceTime`.
#[derive(Debug, Default)]
struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    fn now_ms(&self) -> u64 {
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
        let wall = i64::try_from(wall).unwrap_or(i64::MAX);
        u64::try_from(wall.saturating_add(self.offset_ms.load(Ordering::SeqCst))).unwrap_or(0)
    }
}

pub struct Server {
    jobs: mpsc::Sender<Job>,
    group_id: String,
    pub faults: Arc<Faults>,
    clock: Arc<Clock>,
}

fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

impl Server {
    /// Opens the chain (replaying the block log) on its own thread and returns the RPC front.
    pub fn open(opts: Options) -> Result<Arc<Self>, NodeError> {
        let (jobs, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), NodeError>>();
        let faults = Arc::new(Faults::default());
        let clock = Arc::new(Clock::default());
        let group_id = opts.config.group_id.clone();
        let (thread_faults, thread_clock) = (Arc::clone(&faults), Arc::clone(&clock));
        let spawned = std::thread::Builder::new().name("chain".into()).spawn(move || {
            let chain = match Chain::open(opts.config, &opts.data_dir) {
                Ok(c) => {
                    let _ = ready_tx.send(Ok(()));
                    c
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let core = Core { chain, waiters: HashMap::new(), last_seal: Instant::now() };
            chain_thread(core, rx, opts.block_interval_ms, &thread_faults, &thread_clock);
        });
        if let Err(e) = spawned {
            return Err(NodeError::Replay { block: 0, reason: format!("cannot start the chain thread: {e}") });
        }
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(NodeError::Replay { block: 0, reason: "chain thread ended".into() }),
        }
        Ok(Arc::new(Server { jobs, group_id, faults, clock }))
    }

    /// Runs `f` on the chain thread and returns its result.
    async fn with_core<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Core) -> R + Send + 'static,
    ) -> Result<R, RpcError> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |core| {
            let _ = tx.send(f(core));
        });
        self.jobs.send(job).map_err(|_| RpcError::internal())?;
        rx.await.map_err(|_| RpcError::internal())
    }

    /// Serves HTTP until the process ends.
    pub async fn run(self: Arc<Self>, listener: TcpListener) {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let server = Arc::clone(&self);
                    tokio::spawn(async move { server.serve_connection(stream).await });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    async fn serve_connection(self: Arc<Self>, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let (read, mut write) = stream.into_split();
        let mut reader = BufReader::new(read);
        loop {
            let Some(request) = read_request(&mut reader).await else { return };
            let (status, body, close) = match request {
                Ok((body, close)) => match self.handle_body(&body).await {
                    Some(answer) => ("200 OK", answer, close),
                    // Fault switch: the work is done, the answer is lost.
                    None => return,
                },
                Err(HttpError::TooLarge) => ("413 Payload Too Large", Vec::new(), true),
                Err(HttpError::Bad) => ("400 Bad Request", Vec::new(), true),
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n",
                body.len(),
                if close { "Connection: close\r\n" } else { "" }
            );
            if write.write_all(head.as_bytes()).await.is_err() || write.write_all(&body).await.is_err() {
                return;
            }
            if close {
                let _ = write.shutdown().await;
                return;
            }
        }
    }

    /// Answers one HTTP body (a request or a batch); `None` means "drop the connection".
    async fn handle_body(&self, body: &[u8]) -> Option<Vec<u8>> {
        let parsed: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(_) => return Some(rpc_error(Value::Null, -32700, "Parse error").to_string().into_bytes()),
        };
        let latency = self.faults.latency_ms.load(Ordering::SeqCst);
        if latency > 0 {
            tokio::time::sleep(Duration::from_millis(latency)).await;
        }
        let answer = match parsed {
            Value::Array(items) if items.len() <= MAX_BATCH && !items.is_empty() => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.handle_request(item).await?);
                }
                Value::Array(out)
            }
            Value::Array(_) => rpc_error(Value::Null, -32600, "Invalid Request"),
            single => self.handle_request(single).await?,
        };
        Some(answer.to_string().into_bytes())
    }

    async fn handle_request(&self, req: Value) -> Option<Value> {
        let id = req.get("id").cloned().unwrap_or(Value::Null);
        let Some(method) = req.get("method").and_then(Value::as_str) else {
            return Some(rpc_error(id, -32600, "Invalid Request"));
        };
        let params = match req.get("params") {
            Some(Value::Array(p)) => p.clone(),
            None | Some(Value::Null) => Vec::new(),
            Some(_) => return Some(rpc_error(id, -32602, "Invalid params: params must be an array")),
        };
        let result = self.dispatch(method, params).await;
        Some(match result {
            Ok(Some(value)) => json!({"jsonrpc": "2.0", "id": id, "result": value}),
            Ok(None) => return None,
            Err(RpcError { code, message }) => rpc_error(id, code, &message),
        })
    }

    fn check_group(&self, params: &[Value]) -> Result<(), RpcError> {
        match params.first() {
            None => Ok(()),
            Some(Value::String(g)) if *g == self.group_id => Ok(()),
            Some(Value::String(g)) => Err(RpcError::params(format!("group {g} does not exist"))),
            Some(_) => Err(RpcError::params("groupID must be a string")),
        }
    }

    async fn dispatch(&self, method: &str, params: Vec<Value>) -> Result<Option<Value>, RpcError> {
        match method {
            "sendTransaction" => return self.send_transaction(&params).await,
            "devnode_setFaults" => return Ok(Some(self.set_faults(&params)?)),
            "devnode_advanceTime" => {
                let ms = params.first().and_then(Value::as_i64).ok_or_else(|| RpcError::params("milliseconds"))?;
                let total = self.clock.offset_ms.fetch_add(ms, Ordering::SeqCst).saturating_add(ms);
                return Ok(Some(json!({"timeOffsetMs": total})));
            }
            "getGroupList" => {
                return Ok(Some(json!({"code": 0, "groupList": [self.group_id], "msg": "success"})));
            }
            _ => {}
        }
        self.check_group(&params)?;
        let method = method.to_string();
        let clock = Arc::clone(&self.clock);
        self.with_core(move |core| query(&mut core.chain, &method, &params, &clock)).await?.map(Some)
    }

    async fn send_transaction(&self, params: &[Value]) -> Result<Option<Value>, RpcError> {
        self.check_group(params)?;
        let raw = param_bytes(params, 2)?;
        let (hash, done) = self
            .with_core(move |core| {
                let hash = core.chain.admit(&raw)?;
                let (tx, rx) = oneshot::channel();
                core.waiters.entry(hash).or_default().push(tx);
                Ok::<_, Rejection>((hash, rx))
            })
            .await?
            .map_err(RpcError::from)?;
        // Answered once the block holding it is on disk.
        done.await.map_err(|_| RpcError::internal())?;
        if self.faults.drop_responses.load(Ordering::SeqCst) {
            return Ok(None);
        }
        let receipt = self
            .with_core(move |core| core.chain.tx(&hash).map(|r| receipt_json(r, core.chain.config.suite)))
            .await?;
        receipt.map(Some).ok_or_else(RpcError::not_found)
    }

    fn set_faults(&self, params: &[Value]) -> Result<Value, RpcError> {
        let spec = params.first().and_then(Value::as_object).ok_or_else(|| RpcError::params("an object"))?;
        if let Some(v) = spec.get("pauseSealing").and_then(Value::as_bool) {
            self.faults.pause_sealing.store(v, Ordering::SeqCst);
        }
        if let Some(v) = spec.get("latencyMs").and_then(Value::as_u64) {
            self.faults.latency_ms.store(v, Ordering::SeqCst);
        }
        if let Some(v) = spec.get("dropResponses").and_then(Value::as_bool) {
            self.faults.drop_responses.store(v, Ordering::SeqCst);
        }
        Ok(json!({
            "pauseSealing": self.faults.pause_sealing.load(Ordering::SeqCst),
            "latencyMs": self.faults.latency_ms.load(Ordering::SeqCst),
            "dropResponses": self.faults.drop_responses.load(Ordering::SeqCst),
        }))
    }
}

/// The chain thread: runs jobs, and seals whenever transactions wait (at most every
/// `block_interval_ms` when that is set), unless sealing is paused.
fn chain_thread(mut core: Core, jobs: mpsc::Receiver<Job>, block_interval_ms: u64, faults: &Faults, clock: &Clock) {
    let tick = Duration::from_millis(if block_interval_ms > 0 { block_interval_ms.min(100) } else { 100 });
    loop {
        match jobs.recv_timeout(tick) {
            Ok(job) => {
                job(&mut core);
                // Take every job already queued, so concurrent submissions share a block.
                while let Ok(job) = jobs.try_recv() {
                    job(&mut core);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
        if faults.pause_sealing.load(Ordering::SeqCst) || core.chain.pending_count() == 0 {
            continue;
        }
        if block_interval_ms > 0 && core.last_seal.elapsed() < Duration::from_millis(block_interval_ms) {
            continue;
        }
        loop {
            match core.chain.seal(clock.now_ms()) {
                Ok(hashes) if hashes.is_empty() => break,
                Ok(hashes) => {
                    core.last_seal = Instant::now();
                    for h in hashes {
                        for w in core.waiters.remove(&h).unwrap_or_default() {
                            let _ = w.send(());
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "sealing failed; transactions stay pending");
                    break;
                }
            }
            if block_interval_ms > 0 {
                break;
            }
        }
    }
}

fn query(chain: &mut Chain, method: &str, params: &[Value], clock: &Clock) -> Result<Value, RpcError> {
    Ok(match method {
        "getBlockNumber" => json!(chain.block_number()),
        "getTotalTransactionCount" => json!({
            "blockNumber": chain.block_number(),
            "failedTransactionCount": chain.failed_tx_count(),
            "transactionCount": chain.total_tx_count(),
        }),
        "getPendingTxSize" => json!(chain.pending_count()),
        "getTransactionReceipt" => {
            let hash = param_hash(params, 2)?;
            receipt_json(chain.tx(&hash).ok_or_else(RpcError::not_found)?, chain.config.suite)
        }
        "getTransaction" => {
            let hash = param_hash(params, 2)?;
            tx_json(chain.tx(&hash).ok_or_else(RpcError::not_found)?)
        }
        "getBlockByNumber" => {
            let n = param_u64(params, 2)?;
            let block = chain.block(n).ok_or_else(|| RpcError::ledger(format!("block {n} not found")))?;
            block_json(chain, block, param_bool(params, 3), param_bool(params, 4))
        }
        "getBlockByHash" => {
            let hash = param_hash(params, 2)?;
            let block = chain.block_by_hash(&hash).ok_or_else(|| RpcError::ledger("block not found"))?;
            block_json(chain, block, param_bool(params, 3), param_bool(params, 4))
        }
        "getBlockHashByNumber" => {
            let n = param_u64(params, 2)?;
            let block = chain.block(n).ok_or_else(|| RpcError::ledger(format!("block {n} not found")))?;
            json!(hex0x(&block.hash))
        }
        "call" => {
            let to = param_address(params, 2)?;
            let data = param_bytes(params, 3)?;
            let out = chain.call(to, Bytes::from(data), clock.now_ms());
            json!({"blockNumber": chain.block_number(), "output": hex0x(&out.output), "status": out.status})
        }
        "getCode" => {
            let address = param_address(params, 2)?;
            json!(hex0x(&chain.code(address)))
        }
        "getSyncStatus" => {
            let latest = chain.block(chain.block_number()).map(|b| hex::encode(b.hash)).unwrap_or_default();
            let genesis = chain.block(0).map(|b| hex::encode(b.hash)).unwrap_or_default();
            // FISCO answers this one as a JSON document inside a string.
            json!(json!({
                "archivedBlockNumber": 0,
                "blockNumber": chain.block_number(),
                "genesisHash": genesis,
                "isSyncing": false,
                "knownHighestNumber": chain.block_number(),
                "knownLatestHash": latest,
                "latestHash": latest,
                "nodeID": NODE_ID,
                "peers": [],
            })
            .to_string())
        }
        "getConsensusStatus" => {
            let latest = chain.block(chain.block_number()).map(|b| hex::encode(b.hash)).unwrap_or_default();
            json!(json!({
                "blockNumber": chain.block_number(),
                "changeCycle": 0,
                "connectedNodeList": 1,
                "consensusNodeList": [{"index": 0, "nodeID": NODE_ID, "weight": 1}],
                "consensusNodesNum": 1,
                "hash": latest,
                "index": 0,
                "isConsensusNode": true,
                "leaderIndex": 0,
                "maxFaultyQuorum": 0,
                "minRequiredQuorum": 1,
                "nodeID": NODE_ID,
                "timeout": false,
                "view": chain.block_number(),
            })
            .to_string())
        }
        "getSealerList" => json!([{"nodeID": NODE_ID, "weight": 1}]),
        "getObserverList" => json!([]),
        "getPbftView" => json!(chain.block_number()),
        "getGroupPeers" => json!([NODE_ID]),
        "getSystemConfigByKey" => {
            let value = match param_str(params, 2)? {
                "tx_count_limit" => crate::node::MAX_TXS_PER_BLOCK.to_string(),
                "tx_gas_limit" => crate::evm::TX_GAS_LIMIT.to_string(),
                "consensus_leader_period" => "1".to_string(),
                other => return Err(RpcError::params(format!("unknown system config {other}"))),
            };
            json!({"blockNumber": 0, "value": value})
        }
        "getGroupInfo" => group_info_json(chain),
        "getGroupNodeInfo" => node_info_json(chain),
        _ => return Err(RpcError { code: -32601, message: "Method not found".into() }),
    })
}

#[derive(Debug)]
struct RpcError {
    code: i64,
    message: String,
}

impl RpcError {
    fn params(what: impl std::fmt::Display) -> Self {
        RpcError { code: -32602, message: format!("Invalid params: {what}") }
    }
    /// FISCO's ledger answers 3008 (`GetStorageError`) for a hash it does not know (yet).
    fn not_found() -> Self {
        RpcError { code: 3008, message: "GetStorageError: transaction not found".into() }
    }
    fn ledger(message: impl Into<String>) -> Self {
        RpcError { code: 3008, message: message.into() }
    }
    fn internal() -> Self {
        RpcError { code: -32603, message: "Internal error: chain thread unavailable".into() }
    }
}

impl From<Rejection> for RpcError {
    fn from(r: Rejection) -> Self {
        RpcError { code: r.code(), message: r.to_string() }
    }
}

fn rpc_error(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

fn param_str(params: &[Value], i: usize) -> Result<&str, RpcError> {
    params.get(i).and_then(Value::as_str).ok_or_else(|| RpcError::params(format!("parameter {i} must be a string")))
}

fn param_bytes(params: &[Value], i: usize) -> Result<Vec<u8>, RpcError> {
    let s = param_str(params, i)?;
    if s.len() > MAX_BODY_BYTES {
        return Err(RpcError::params("too long"));
    }
    let digits = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s);
    hex::decode(digits).map_err(|_| RpcError::params(format!("parameter {i} must be hex")))
}

fn param_hash(params: &[Value], i: usize) -> Result<[u8; 32], RpcError> {
    let bytes = param_bytes(params, i)?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| RpcError::params("a 32-byte hash"))
}

fn param_address(params: &[Value], i: usize) -> Result<EvmAddress, RpcError> {
    let bytes = param_bytes(params, i)?;
    if bytes.len() != 20 {
        return Err(RpcError::params("a 20-byte address"));
    }
    Ok(EvmAddress::from_slice(&bytes))
}

fn param_u64(params: &[Value], i: usize) -> Result<u64, RpcError> {
    match params.get(i) {
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| RpcError::params("a block number")),
        Some(Value::String(s)) => match s.strip_prefix("0x") {
            Some(h) => u64::from_str_radix(h, 16).map_err(|_| RpcError::params("a block number")),
            None => s.parse().map_err(|_| RpcError::params("a block number")),
        },
        _ => Err(RpcError::params("a block number")),
    }
}

fn param_bool(params: &[Value], i: usize) -> bool {
    params.get(i).and_then(Value::as_bool).unwrap_or(false)
}

fn address_or_empty(a: Option<EvmAddress>) -> String {
    a.map(|a| format!("{a:#x}")).unwrap_or_default()
}

/// The receipt as `getTransactionReceipt` shows it on FISCO BCOS 3.x (and `sendTransaction` answers).
fn receipt_json(rec: &TxRecord, suite: CryptoSuite) -> Value {
    let o = &rec.outcome;
    let logs: Vec<Value> = o
        .logs
        .iter()
        .map(|l| {
            json!({
                // Nodes write log addresses without the 0x prefix.
                "address": hex::encode(l.address),
                "data": hex0x(&l.data.data),
                "topics": l.topics().iter().map(|t| hex0x(t.as_slice())).collect::<Vec<_>>(),
            })
        })
        .collect();
    let d = &rec.admitted.tx.data;
    json!({
        "blockNumber": rec.block,
        "checksumContractAddress": o.contract_address.map(|a| checksum_address(suite, &a)).unwrap_or_default(),
        "contractAddress": address_or_empty(o.contract_address),
        "extraData": rec.admitted.tx.extra_data,
        "from": rec.admitted.sender.to_string(),
        "gasUsed": o.gas_used.to_string(),
        "hash": hex0x(&rec.receipt_hash),
        "input": hex0x(&d.input),
        "logEntries": logs,
        "message": "",
        "output": hex0x(&o.output),
        "status": o.status,
        "to": address_or_empty(rec.admitted.to),
        "transactionHash": hex0x(&rec.admitted.hash),
        "version": 0,
    })
}

/// EIP-55 mixed-case form, with the chain's hash: Keccak-256 on standard chains, SM3 on SM chains
/// (the 3.x documentation's SM receipt shows 0x82A3c3289a9F234A38AcEED3016D1fF0E0F922B3).
fn checksum_address(suite: CryptoSuite, a: &EvmAddress) -> String {
    let lower = hex::encode(a.as_slice());
    let digest = suite.hash(lower.as_bytes());
    let mut out = String::with_capacity(42);
    out.push_str("0x");
    for (i, ch) in lower.chars().enumerate() {
        let nibble = (digest[i / 2] >> if i % 2 == 0 { 4 } else { 0 }) & 0x0f;
        out.push(if nibble >= 8 { ch.to_ascii_uppercase() } else { ch });
    }
    out
}

fn tx_json(rec: &TxRecord) -> Value {
    let t = &rec.admitted.tx;
    let d = &t.data;
    json!({
        "abi": d.abi,
        "blockLimit": d.block_limit,
        "chainID": d.chain_id,
        "extraData": t.extra_data,
        "from": rec.admitted.sender.to_string(),
        "groupID": d.group_id,
        "hash": hex0x(&rec.admitted.hash),
        "importTime": t.import_time,
        "input": hex0x(&d.input),
        "nonce": d.nonce,
        "signature": hex0x(&t.signature),
        "to": d.to,
        "version": d.version,
    })
}

fn block_json(chain: &Chain, b: &Block, only_header: bool, only_hash: bool) -> Value {
    let mut v = json!({
        "consensusWeights": [1],
        "extraData": "0x",
        "gasUsed": b.gas_used.to_string(),
        "hash": hex0x(&b.hash),
        "number": b.number,
        "parentInfo": if b.number == 0 { json!([]) } else {
            json!([{"blockHash": hex0x(&b.parent_hash), "blockNumber": b.number - 1}])
        },
        "receiptsRoot": hex0x(&b.receipts_root),
        "sealer": 0,
        "sealerList": [],
        "signatureList": [],
        "stateRoot": hex0x(&[0u8; 32]),
        "timestamp": b.timestamp_ms,
        "txsRoot": hex0x(&b.txs_root),
        "version": 50528256,
    });
    if !only_header {
        let txs: Vec<Value> = b
            .tx_hashes
            .iter()
            .map(|h| match (only_hash, chain.tx(h)) {
                (false, Some(rec)) => tx_json(rec),
                _ => json!(hex0x(h)),
            })
            .collect();
        v["transactions"] = Value::Array(txs);
    }
    v
}

fn node_info_json(chain: &Chain) -> Value {
    let c = &chain.config;
    let ini = json!({
        "binaryInfo": {"version": "3.x-devnode", "platform": "bcos-devnode"},
        "chainID": c.chain_id,
        "groupID": c.group_id,
        "isAuthCheck": false,
        "isSerialExecute": true,
        "isWasm": false,
        "nodeID": NODE_ID,
        "nodeName": NODE_ID,
        "smCryptoType": matches!(c.suite, CryptoSuite::Sm),
    });
    json!({
        "iniConfig": ini.to_string(),
        "microService": false,
        "name": NODE_ID,
        "nodeID": NODE_ID,
        "protocol": {"compatibilityVersion": 50528256, "maxSupportedVersion": 1, "minSupportedVersion": 0},
        "serviceInfo": [],
        "type": 1,
    })
}

fn group_info_json(chain: &Chain) -> Value {
    let c = &chain.config;
    let genesis = json!({
        "blockTxCountLimit": crate::node::MAX_TXS_PER_BLOCK,
        "consensusLeaderPeriod": 1,
        "consensusType": "pbft",
        "sealerList": [{"nodeID": NODE_ID, "weight": 1}],
        "txGasLimit": crate::evm::TX_GAS_LIMIT,
    });
    json!({
        "chainID": c.chain_id,
        "genesisConfig": genesis.to_string(),
        "groupID": c.group_id,
        "iniConfig": "",
        "nodeList": [node_info_json(chain)],
    })
}

enum HttpError {
    TooLarge,
    Bad,
}

/// Reads one request; `None` at a clean end of the connection. Returns the body and whether the
/// client asked to close.
async fn read_request<R: tokio::io::AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
) -> Option<Result<(Vec<u8>, bool), HttpError>> {
    let mut head_bytes = 0u64;
    let mut line = String::new();
    let mut content_length: Option<usize> = None;
    let mut close = false;
    let mut first = true;
    loop {
        line.clear();
        let n = match (&mut *reader).take(MAX_HEADER_BYTES - head_bytes.min(MAX_HEADER_BYTES)).read_line(&mut line).await {
            Ok(n) => n,
            Err(_) => return if first { None } else { Some(Err(HttpError::Bad)) },
        };
        if n == 0 {
            return if first { None } else { Some(Err(HttpError::Bad)) };
        }
        head_bytes += n as u64;
        if head_bytes >= MAX_HEADER_BYTES {
            return Some(Err(HttpError::TooLarge));
        }
        if first {
            first = false;
            if line.trim().is_empty() {
                // Tolerate a stray CRLF between pipelined requests.
                first = true;
                continue;
            }
            if line.split_whitespace().count() != 3 {
                return Some(Err(HttpError::Bad));
            }
            close = line.trim_end().ends_with("HTTP/1.0");
            continue;
        }
        let trimmed = line.trim_end_matches(['\r', '\n']);
        if trimmed.is_empty() {
            break;
        }
        let Some((name, value)) = trimmed.split_once(':') else { return Some(Err(HttpError::Bad)) };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            match value.parse::<usize>() {
                Ok(len) if len <= MAX_BODY_BYTES => content_length = Some(len),
                Ok(_) => return Some(Err(HttpError::TooLarge)),
                Err(_) => return Some(Err(HttpError::Bad)),
            }
        } else if name.eq_ignore_ascii_case("connection") {
            if value.eq_ignore_ascii_case("close") {
                close = true;
            } else if value.eq_ignore_ascii_case("keep-alive") {
                close = false;
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            // Chunked bodies are not supported by this small server.
            return Some(Err(HttpError::Bad));
        }
    }
    let len = content_length.unwrap_or(0);
    let mut body = vec![0u8; len];
    if reader.read_exact(&mut body).await.is_err() {
        return Some(Err(HttpError::Bad));
    }
    Some(Ok((body, close)))
}
