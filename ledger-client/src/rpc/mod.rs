//! JSON-RPC client of a FISCO BCOS 3.x node: HTTP, or HTTPS with mutual TLS (rustls, ring provider).
//!
//! Group-scoped methods take `[groupID, nodeName, ...]`; `nodeName` is usually `""`.

pub mod tls;
pub mod types;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use thiserror::Error;

use crate::crypto::Address;
use types::{
    Block, CallResult, ConsensusStatus, GroupInfo, GroupList, Receipt, SyncStatus, TotalTransactionCount,
    TransactionInfo, double_encoded,
};

/// FISCO error code of `getTransactionReceipt`/`getTransaction` for a hash the node does not know (yet).
pub const CODE_TX_NOT_FOUND: i64 = 3008;
/// Nonce already used (in the pool or on chain).
pub const CODE_NONCE_USED: i64 = 10000;
/// Block limit out of the window (expired or too far ahead).
pub const CODE_BLOCK_LIMIT: i64 = 10001;
pub const CODE_POOL_FULL: i64 = 10002;
/// The same transaction is already in the pool: accepted.
pub const CODE_ALREADY_IN_POOL: i64 = 10004;
/// The same transaction is already on chain: accepted.
pub const CODE_ALREADY_ON_CHAIN: i64 = 10005;
pub const CODE_WRONG_CHAIN: i64 = 10006;
pub const CODE_WRONG_GROUP: i64 = 10007;
pub const CODE_BAD_SIGNATURE: i64 = 10008;

/// Longest response body accepted (a block with full transactions can be large, but not unbounded).
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Error)]
pub enum RpcError {
    /// Connection refused, TLS failure, timeout: the request may or may not have reached the node.
    #[error("transport: {0}")]
    Transport(String),
    #[error("timeout")]
    Timeout,
    #[error("HTTP status {0}")]
    Http(u16),
    /// A JSON-RPC error object: the node refused or could not serve the request.
    #[error("node error {code}: {message}")]
    Node { code: i64, message: String },
    /// The response is not JSON-RPC or its result has an unexpected shape.
    #[error("bad response: {0}")]
    BadResponse(String),
    #[error("TLS configuration: {0}")]
    Tls(String),
}

impl RpcError {
    /// The FISCO/JSON-RPC code, when the node answered with an error object.
    pub fn code(&self) -> Option<i64> {
        match self {
            RpcError::Node { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// True when the request may not have been processed and can be retried as is.
    pub fn is_transient(&self) -> bool {
        matches!(self, RpcError::Transport(_) | RpcError::Timeout | RpcError::Http(_))
    }
}

/// Decode a complete JSON-RPC response body into its `result` (total: any bytes give a value or an error).
pub fn decode_response(body: &[u8]) -> Result<Value, RpcError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| RpcError::BadResponse(e.to_string()))?;
    let Value::Object(mut obj) = v else {
        return Err(RpcError::BadResponse("response is not an object".into()));
    };
    if let Some(err) = obj.remove("error").filter(|e| !e.is_null()) {
        let code = err.get("code").and_then(types::value_to_i64).unwrap_or(0);
        let message = match err.get("message") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        };
        return Err(RpcError::Node { code, message });
    }
    obj.remove("result").ok_or_else(|| RpcError::BadResponse("neither result nor error".into()))
}

/// Decode a typed result.
pub fn decode_result<T: DeserializeOwned>(result: Value) -> Result<T, RpcError> {
    serde_json::from_value(result).map_err(|e| RpcError::BadResponse(e.to_string()))
}

/// Transport settings of one node endpoint set.
#[derive(Debug, Clone)]
pub struct RpcConfig {
    /// `http://host:port` or `https://host:port`; tried in order on transport failures.
    pub endpoints: Vec<String>,
    pub group_id: String,
    /// `nodeName` parameter; empty lets the RPC pick.
    pub node_name: String,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Mutual TLS material; required for `https` endpoints.
    pub tls: Option<tls::TlsFiles>,
}

impl RpcConfig {
    pub fn plain(endpoint: impl Into<String>, group_id: impl Into<String>) -> Self {
        RpcConfig {
            endpoints: vec![endpoint.into()],
            group_id: group_id.into(),
            node_name: String::new(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            tls: None,
        }
    }
}

/// A JSON-RPC client bound to one group.
#[derive(Debug)]
pub struct RpcClient {
    http: reqwest::Client,
    cfg: RpcConfig,
    next_id: AtomicU64,
}

impl RpcClient {
    pub fn new(cfg: RpcConfig) -> Result<Self, RpcError> {
        if cfg.endpoints.is_empty() {
            return Err(RpcError::Transport("no endpoint configured".into()));
        }
        let mut b = reqwest::Client::builder().timeout(cfg.timeout).connect_timeout(cfg.connect_timeout);
        if let Some(files) = &cfg.tls {
            b = b.use_preconfigured_tls(tls::client_config(files)?);
        } else if cfg.endpoints.iter().any(|e| e.starts_with("https")) {
            return Err(RpcError::Tls("https endpoint without TLS files".into()));
        } else {
            // Plain HTTP: still hand reqwest a ring-based config so it never looks for a process-wide
            // default provider (it panics when none is installed).
            b = b.use_preconfigured_tls(tls::no_tls_config()?);
        }
        let http = b.build().map_err(|e| RpcError::Tls(e.to_string()))?;
        Ok(RpcClient { http, cfg, next_id: AtomicU64::new(1) })
    }

    pub fn config(&self) -> &RpcConfig {
        &self.cfg
    }

    /// One raw call: `params` as given; returns `result`. Endpoints are tried in order while the failure
    /// is a transport one.
    pub async fn request(&self, method: &str, params: Vec<Value>) -> Result<Value, RpcError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = json!({"jsonrpc": "2.0", "method": method, "params": params, "id": id});
        let mut last = RpcError::Transport("no endpoint".into());
        for url in &self.cfg.endpoints {
            match self.post(url, &body).await {
                Ok(bytes) => return decode_response(&bytes),
                Err(e) if e.is_transient() => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    async fn post(&self, url: &str, body: &Value) -> Result<Vec<u8>, RpcError> {
        let resp = self.http.post(url).json(body).send().await.map_err(map_reqwest)?;
        if !resp.status().is_success() {
            return Err(RpcError::Http(resp.status().as_u16()));
        }
        if resp.content_length().is_some_and(|l| l > MAX_RESPONSE_BYTES as u64) {
            return Err(RpcError::BadResponse("response too large".into()));
        }
        let bytes = resp.bytes().await.map_err(map_reqwest)?;
        if bytes.len() > MAX_RESPONSE_BYTES {
            return Err(RpcError::BadResponse("response too large".into()));
        }
        Ok(bytes.to_vec())
    }

    fn group_params(&self, rest: Vec<Value>) -> Vec<Value> {
        let mut p = vec![json!(self.cfg.group_id), json!(self.cfg.node_name)];
        p.extend(rest);
        p
    }

    pub async fn get_block_number(&self) -> Result<i64, RpcError> {
        let v = self.request("getBlockNumber", self.group_params(vec![])).await?;
        types::value_to_i64(&v).ok_or_else(|| RpcError::BadResponse(format!("block number {v}")))
    }

    /// `sendTransaction [group, node, 0x<tx>, false]`: in 3.x this waits for the commit and returns the
    /// receipt.
    pub async fn send_transaction(&self, signed_tx: &[u8]) -> Result<Receipt, RpcError> {
        let hex_tx = format!("0x{}", hex::encode(signed_tx));
        let v = self.request("sendTransaction", self.group_params(vec![json!(hex_tx), json!(false)])).await?;
        decode_result(v)
    }

    /// `call [group, node, to, 0x<data>]`.
    pub async fn call(&self, to: &Address, data: &[u8]) -> Result<CallResult, RpcError> {
        let params = self.group_params(vec![json!(to.to_string()), json!(format!("0x{}", hex::encode(data)))]);
        decode_result(self.request("call", params).await?)
    }

    /// The receipt of `hash`, or `None` while the node does not know it (error 3008 or a null result).
    pub async fn get_transaction_receipt(&self, hash: &[u8; 32]) -> Result<Option<Receipt>, RpcError> {
        let params = self.group_params(vec![json!(format!("0x{}", hex::encode(hash))), json!(false)]);
        match self.request("getTransactionReceipt", params).await {
            Ok(Value::Null) => Ok(None),
            Ok(v) => decode_result(v).map(Some),
            Err(RpcError::Node { code: CODE_TX_NOT_FOUND, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn get_transaction(&self, hash: &[u8; 32]) -> Result<Option<TransactionInfo>, RpcError> {
        let params = self.group_params(vec![json!(format!("0x{}", hex::encode(hash))), json!(false)]);
        match self.request("getTransaction", params).await {
            Ok(Value::Null) => Ok(None),
            Ok(v) => decode_result(v).map(Some),
            Err(RpcError::Node { code: CODE_TX_NOT_FOUND, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn get_block_by_number(&self, number: i64, only_header: bool, only_tx_hash: bool) -> Result<Block, RpcError> {
        let params = self.group_params(vec![json!(number), json!(only_header), json!(only_tx_hash)]);
        decode_result(self.request("getBlockByNumber", params).await?)
    }

    pub async fn get_total_transaction_count(&self) -> Result<TotalTransactionCount, RpcError> {
        decode_result(self.request("getTotalTransactionCount", self.group_params(vec![])).await?)
    }

    pub async fn get_sync_status(&self) -> Result<SyncStatus, RpcError> {
        let v = self.request("getSyncStatus", self.group_params(vec![])).await?;
        double_encoded(v).map_err(|e: serde_json::Error| RpcError::BadResponse(e.to_string()))
    }

    pub async fn get_consensus_status(&self) -> Result<ConsensusStatus, RpcError> {
        let v = self.request("getConsensusStatus", self.group_params(vec![])).await?;
        double_encoded(v).map_err(|e: serde_json::Error| RpcError::BadResponse(e.to_string()))
    }

    /// `getGroupList []` (not group-scoped).
    pub async fn get_group_list(&self) -> Result<GroupList, RpcError> {
        decode_result(self.request("getGroupList", vec![]).await?)
    }

    /// `getGroupInfo [group]`.
    pub async fn get_group_info(&self) -> Result<GroupInfo, RpcError> {
        decode_result(self.request("getGroupInfo", vec![json!(self.cfg.group_id)]).await?)
    }

    /// `getGroupNodeInfo [group, node]`: `None` when the node answers null.
    pub async fn get_group_node_info(&self, node_name: &str) -> Result<Option<types::GroupNodeInfo>, RpcError> {
        let v = self.request("getGroupNodeInfo", vec![json!(self.cfg.group_id), json!(node_name)]).await?;
        if v.is_null() { Ok(None) } else { decode_result(v).map(Some) }
    }
}

fn map_reqwest(e: reqwest::Error) -> RpcError {
    if e.is_timeout() {
        RpcError::Timeout
    } else {
        // The source chain carries the useful part (connection refused, certificate unknown, ...).
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        RpcError::Transport(msg)
    }
}
