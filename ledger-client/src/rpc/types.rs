//! Typed results of the FISCO BCOS 3.x JSON-RPC, decoded tolerantly: real nodes send integers as numbers
//! or decimal/hex strings, some results as JSON encoded inside a string (`getSyncStatus`,
//! `getConsensusStatus`), nonces as hex since 3.3, `hash: "0x"` in failed receipts, log addresses without `0x`.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::crypto::Address;

/// Bytes given as hex, with or without `0x`; `""` and `"0x"` are empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HexBytes(pub Vec<u8>);

impl HexBytes {
    pub fn parse(s: &str) -> Result<Self, hex::FromHexError> {
        let t = s.trim();
        let t = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")).unwrap_or(t);
        hex::decode(t).map(HexBytes)
    }
}

impl<'de> Deserialize<'de> for HexBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Option::<String>::deserialize(d)?.unwrap_or_default();
        HexBytes::parse(&v).map_err(serde::de::Error::custom)
    }
}

impl Serialize for HexBytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(&self.0)))
    }
}

/// An integer from a JSON number, a decimal string or a `0x` hex string.
pub fn flex_i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let v = Value::deserialize(d)?;
    value_to_i64(&v).ok_or_else(|| serde::de::Error::custom(format!("not an integer: {v}")))
}

pub(crate) fn value_to_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Null => Some(0),
        Value::Number(n) => n.as_i64().or_else(|| n.as_u64().and_then(|u| i64::try_from(u).ok())),
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                Some(0)
            } else if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                if h.is_empty() { Some(0) } else { i64::from_str_radix(h, 16).ok() }
            } else {
                t.parse().ok()
            }
        }
        _ => None,
    }
}

/// A string from a JSON string or number (nonces, gas values and similar change type between versions).
pub fn flex_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => String::new(),
        Value::String(s) => s,
        other => other.to_string(),
    })
}

/// An address that may be absent (`""`, `"0x"`, null), without `0x`, or in mixed case.
pub fn opt_address<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Address>, D::Error> {
    let s = Option::<String>::deserialize(d)?.unwrap_or_default();
    let t = s.trim();
    if t.is_empty() || t == "0x" {
        return Ok(None);
    }
    t.parse().map(Some).map_err(serde::de::Error::custom)
}

/// A value that is either the JSON object itself or a string holding its JSON (double encoding).
pub fn double_encoded<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned>(d: D) -> Result<T, D::Error> {
    let v = Value::deserialize(d)?;
    let v = match v {
        Value::String(s) => serde_json::from_str(&s).map_err(serde::de::Error::custom)?,
        other => other,
    };
    serde_json::from_value(v).map_err(serde::de::Error::custom)
}

/// An event log of a receipt.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    #[serde(default, deserialize_with = "opt_address")]
    pub address: Option<Address>,
    #[serde(default)]
    pub data: HexBytes,
    #[serde(default)]
    pub topics: Vec<HexBytes>,
}

/// A transaction receipt: the result of `getTransactionReceipt`, and of `sendTransaction` in 3.x (which
/// also carries `from`, `to`, `input`, `extraData`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    #[serde(default, deserialize_with = "flex_i64")]
    pub version: i64,
    #[serde(default, deserialize_with = "flex_i64")]
    pub block_number: i64,
    #[serde(default, deserialize_with = "opt_address")]
    pub contract_address: Option<Address>,
    #[serde(default, deserialize_with = "opt_address")]
    pub from: Option<Address>,
    #[serde(default, deserialize_with = "opt_address")]
    pub to: Option<Address>,
    #[serde(default, deserialize_with = "flex_string")]
    pub gas_used: String,
    /// Receipt hash; `0x` (empty) on failure.
    #[serde(default)]
    pub hash: HexBytes,
    #[serde(default)]
    pub transaction_hash: HexBytes,
    #[serde(default)]
    pub input: HexBytes,
    #[serde(default)]
    pub output: HexBytes,
    #[serde(default, deserialize_with = "flex_i64")]
    pub status: i64,
    #[serde(default, deserialize_with = "flex_string")]
    pub message: String,
    #[serde(default, deserialize_with = "flex_string")]
    pub extra_data: String,
    #[serde(default)]
    pub log_entries: Vec<LogEntry>,
}

/// Result of `call`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallResult {
    #[serde(default, deserialize_with = "flex_i64")]
    pub block_number: i64,
    #[serde(default)]
    pub output: HexBytes,
    #[serde(default, deserialize_with = "flex_i64")]
    pub status: i64,
}

/// Result of `getTransaction` (and the transaction objects of full blocks).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionInfo {
    #[serde(default, deserialize_with = "flex_i64")]
    pub version: i64,
    #[serde(default)]
    pub hash: HexBytes,
    /// Decimal in older nodes, hex since 3.3: kept as sent.
    #[serde(default, deserialize_with = "flex_string")]
    pub nonce: String,
    #[serde(default, deserialize_with = "flex_i64")]
    pub block_limit: i64,
    #[serde(default, deserialize_with = "flex_string")]
    pub to: String,
    #[serde(default, deserialize_with = "opt_address")]
    pub from: Option<Address>,
    #[serde(default)]
    pub input: HexBytes,
    #[serde(default, rename = "chainID", deserialize_with = "flex_string")]
    pub chain_id: String,
    #[serde(default, rename = "groupID", deserialize_with = "flex_string")]
    pub group_id: String,
    #[serde(default)]
    pub signature: HexBytes,
    #[serde(default, deserialize_with = "flex_i64")]
    pub import_time: i64,
    #[serde(default, deserialize_with = "flex_string")]
    pub abi: String,
    #[serde(default, deserialize_with = "flex_string")]
    pub extra_data: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParentInfo {
    #[serde(default)]
    pub block_hash: HexBytes,
    #[serde(default, deserialize_with = "flex_i64")]
    pub block_number: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SealerSignature {
    #[serde(default, deserialize_with = "flex_i64")]
    pub sealer_index: i64,
    #[serde(default)]
    pub signature: HexBytes,
}

/// A transaction entry of a block: a hash, or the full object when requested.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum BlockTransaction {
    Hash(HexBytes),
    Full(Box<TransactionInfo>),
}

/// Result of `getBlockByNumber` / `getBlockByHash`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Block {
    #[serde(default, deserialize_with = "flex_i64")]
    pub version: i64,
    #[serde(default, deserialize_with = "flex_i64")]
    pub number: i64,
    #[serde(default)]
    pub hash: HexBytes,
    #[serde(default, deserialize_with = "flex_i64")]
    pub timestamp: i64,
    #[serde(default, deserialize_with = "flex_string")]
    pub gas_used: String,
    #[serde(default)]
    pub extra_data: HexBytes,
    #[serde(default)]
    pub parent_info: Vec<ParentInfo>,
    #[serde(default)]
    pub receipts_root: HexBytes,
    #[serde(default)]
    pub state_root: HexBytes,
    #[serde(default)]
    pub txs_root: HexBytes,
    #[serde(default, deserialize_with = "flex_i64")]
    pub sealer: i64,
    #[serde(default)]
    pub sealer_list: Vec<HexBytes>,
    #[serde(default)]
    pub signature_list: Vec<SealerSignature>,
    #[serde(default)]
    pub consensus_weights: Vec<i64>,
    #[serde(default)]
    pub transactions: Vec<BlockTransaction>,
}

/// Result of `getTotalTransactionCount`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TotalTransactionCount {
    #[serde(default, deserialize_with = "flex_i64")]
    pub block_number: i64,
    #[serde(default, deserialize_with = "flex_i64")]
    pub failed_transaction_count: i64,
    #[serde(default, deserialize_with = "flex_i64")]
    pub transaction_count: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerSyncStatus {
    #[serde(default, deserialize_with = "flex_i64")]
    pub block_number: i64,
    #[serde(default, deserialize_with = "flex_string")]
    pub genesis_hash: String,
    #[serde(default, deserialize_with = "flex_string")]
    pub latest_hash: String,
    #[serde(default, rename = "nodeID", deserialize_with = "flex_string")]
    pub node_id: String,
}

/// Result of `getSyncStatus` (a JSON string holding this object).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    #[serde(default, deserialize_with = "flex_i64")]
    pub block_number: i64,
    #[serde(default, deserialize_with = "flex_i64")]
    pub archived_block_number: i64,
    #[serde(default, deserialize_with = "flex_string")]
    pub genesis_hash: String,
    #[serde(default)]
    pub is_syncing: bool,
    #[serde(default, deserialize_with = "flex_i64")]
    pub known_highest_number: i64,
    #[serde(default, deserialize_with = "flex_string")]
    pub known_latest_hash: String,
    #[serde(default, deserialize_with = "flex_string")]
    pub latest_hash: String,
    #[serde(default, rename = "nodeID", deserialize_with = "flex_string")]
    pub node_id: String,
    #[serde(default)]
    pub peers: Vec<PeerSyncStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsensusNode {
    #[serde(default, deserialize_with = "flex_i64")]
    pub index: i64,
    #[serde(default, rename = "nodeID", deserialize_with = "flex_string")]
    pub node_id: String,
    #[serde(default, deserialize_with = "flex_i64")]
    pub weight: i64,
}

/// Result of `getConsensusStatus` (a JSON string holding this object).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsensusStatus {
    #[serde(default, deserialize_with = "flex_i64")]
    pub block_number: i64,
    #[serde(default)]
    pub consensus_node_list: Vec<ConsensusNode>,
    #[serde(default, deserialize_with = "flex_string")]
    pub hash: String,
    #[serde(default)]
    pub is_consensus_node: bool,
    #[serde(default, deserialize_with = "flex_i64")]
    pub leader_index: i64,
    #[serde(default, rename = "nodeID", deserialize_with = "flex_string")]
    pub node_id: String,
    #[serde(default, deserialize_with = "flex_i64")]
    pub view: i64,
}

/// An entry of `getSealerList`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sealer {
    #[serde(default, rename = "nodeID", deserialize_with = "flex_string")]
    pub node_id: String,
    #[serde(default, deserialize_with = "flex_i64")]
    pub weight: i64,
}

/// Result of `getSystemConfigByKey`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemConfig {
    #[serde(default, deserialize_with = "flex_i64")]
    pub block_number: i64,
    #[serde(default, deserialize_with = "flex_string")]
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupNodeIds {
    #[serde(default)]
    pub group: String,
    #[serde(default, rename = "nodeIDList")]
    pub node_id_list: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerInfo {
    #[serde(default)]
    pub end_point: String,
    #[serde(default, rename = "groupNodeIDInfo")]
    pub group_node_id_info: Vec<GroupNodeIds>,
    #[serde(default, rename = "p2pNodeID")]
    pub p2p_node_id: String,
}

/// Result of `getPeers`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Peers {
    #[serde(default)]
    pub end_point: String,
    #[serde(default, rename = "groupNodeIDInfo")]
    pub group_node_id_info: Vec<GroupNodeIds>,
    #[serde(default, rename = "p2pNodeID")]
    pub p2p_node_id: String,
    #[serde(default)]
    pub peers: Vec<PeerInfo>,
}

/// Result of `getGroupList`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupList {
    #[serde(default, deserialize_with = "flex_i64")]
    pub code: i64,
    #[serde(default)]
    pub group_list: Vec<String>,
    #[serde(default, deserialize_with = "flex_string")]
    pub msg: String,
}

/// A node of `getGroupInfo`; `iniConfig` and the protocol details are JSON strings, kept as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupNodeInfo {
    #[serde(default, deserialize_with = "flex_string")]
    pub name: String,
    #[serde(default, rename = "nodeID", deserialize_with = "flex_string")]
    pub node_id: String,
    #[serde(default, deserialize_with = "flex_string")]
    pub ini_config: String,
    #[serde(default, rename = "type", deserialize_with = "flex_i64")]
    pub node_type: i64,
    #[serde(default)]
    pub protocol: Value,
    #[serde(default, rename = "featureKeys")]
    pub feature_keys: Vec<String>,
    #[serde(default, rename = "supportConfigs")]
    pub support_configs: Vec<String>,
    #[serde(default, rename = "serviceInfo")]
    pub service_info: Value,
}

/// Result of `getGroupInfo` (and each entry of `getGroupInfoList`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupInfo {
    #[serde(default, rename = "chainID", deserialize_with = "flex_string")]
    pub chain_id: String,
    #[serde(default, rename = "groupID", deserialize_with = "flex_string")]
    pub group_id: String,
    #[serde(default, deserialize_with = "flex_string")]
    pub genesis_config: String,
    #[serde(default, deserialize_with = "flex_string")]
    pub ini_config: String,
    #[serde(default)]
    pub node_list: Vec<GroupNodeInfo>,
}

impl GroupInfo {
    /// `sm_crypto` of the group as the node reports it in a node's `iniConfig`, when present.
    pub fn sm_crypto(&self) -> Option<bool> {
        self.node_list.iter().find_map(|n| {
            let v: Value = serde_json::from_str(&n.ini_config).ok()?;
            v.get("smCryptoType").or_else(|| v.get("sm_crypto")).and_then(Value::as_bool)
        })
    }
}
