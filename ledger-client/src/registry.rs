//! The chain registry: which chain, group, suite, endpoints, TLS files and contracts serve each community.
//!
//! ```toml
//! [communities.sunshine-garden]
//! endpoints = ["https://10.0.0.5:20200", "https://10.0.0.6:20200"]
//! chain_id = "chain0"
//! group_id = "group0"
//! crypto = "ecdsa"            # or "sm"
//! node_name = ""              # optional
//! timeout_ms = 30000          # optional
//! tls = { ca = "sdk/ca.crt", cert = "sdk/sdk.crt", key = "sdk/sdk.key" }   # paths relative to this file
//! contracts = { governance = "0x1234...abcd" }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

use crate::crypto::{Address, CryptoSuite};
use crate::rpc::RpcConfig;
use crate::rpc::tls::TlsFiles;

#[derive(Debug, Error)]
pub enum RegistryError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("registry TOML: {0}")]
    Toml(String),
    #[error("community {0:?} is not in the registry")]
    UnknownCommunity(String),
    #[error("community {community:?}: {problem}")]
    Invalid { community: String, problem: String },
}

/// One chain target.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainTarget {
    pub endpoints: Vec<String>,
    pub chain_id: String,
    pub group_id: String,
    #[serde(default)]
    pub crypto: CryptoSuite,
    #[serde(default)]
    pub node_name: String,
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    #[serde(default)]
    pub tls: Option<TlsFiles>,
    #[serde(default)]
    pub contracts: BTreeMap<String, Address>,
}

impl ChainTarget {
    /// The RPC transport settings of this target.
    pub fn rpc_config(&self) -> RpcConfig {
        let mut c = RpcConfig::plain(String::new(), self.group_id.clone());
        c.endpoints = self.endpoints.clone();
        c.node_name = self.node_name.clone();
        if let Some(ms) = self.timeout_ms {
            c.timeout = Duration::from_millis(ms);
        }
        c.tls = self.tls.clone();
        c
    }

    pub fn contract(&self, name: &str) -> Option<Address> {
        self.contracts.get(name).copied()
    }

    fn validate(&self, community: &str) -> Result<(), RegistryError> {
        let bad = |problem: &str| RegistryError::Invalid { community: community.into(), problem: problem.into() };
        if self.endpoints.is_empty() {
            return Err(bad("no endpoints"));
        }
        for e in &self.endpoints {
            if !(e.starts_with("http://") || e.starts_with("https://")) {
                return Err(bad(&format!("endpoint {e:?} is not http(s)://")));
            }
            if e.starts_with("https://") && self.tls.is_none() {
                return Err(bad("https endpoint without tls files"));
            }
        }
        if self.chain_id.is_empty() || self.group_id.is_empty() {
            return Err(bad("empty chain_id or group_id"));
        }
        Ok(())
    }
}

/// All communities' targets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainRegistry {
    #[serde(default)]
    pub communities: BTreeMap<String, ChainTarget>,
}

impl ChainRegistry {
    /// Parse TOML text; relative TLS paths are resolved against `base_dir`.
    pub fn from_toml(text: &str, base_dir: &Path) -> Result<Self, RegistryError> {
        let mut reg: ChainRegistry = toml::from_str(text).map_err(|e| RegistryError::Toml(e.to_string()))?;
        for (name, t) in &mut reg.communities {
            t.validate(name)?;
            if let Some(tls) = &mut t.tls {
                for p in [&mut tls.ca, &mut tls.cert, &mut tls.key] {
                    if p.is_relative() {
                        *p = base_dir.join(&*p);
                    }
                }
            }
        }
        Ok(reg)
    }

    pub fn load(path: &Path) -> Result<Self, RegistryError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| RegistryError::Io { path: path.display().to_string(), source: e })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
        Self::from_toml(&text, &base)
    }

    pub fn target(&self, community: &str) -> Result<&ChainTarget, RegistryError> {
        self.communities.get(community).ok_or_else(|| RegistryError::UnknownCommunity(community.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOML: &str = r#"
[communities.sunshine]
endpoints = ["https://10.0.0.5:20200"]
chain_id = "chain0"
group_id = "group0"
crypto = "sm"
tls = { ca = "sdk/ca.crt", cert = "sdk/sdk.crt", key = "/etc/fisco/sdk.key" }
contracts = { governance = "0xC0523DBDD94BA27E14B0336D799489340CA24CDF" }

[communities.lakeside]
endpoints = ["http://127.0.0.1:20200"]
chain_id = "chain1"
group_id = "group0"
"#;

    #[test]
    fn parses_targets_and_resolves_relative_tls_paths() {
        let reg = ChainRegistry::from_toml(TOML, Path::new("/srv/linli")).unwrap();
        let s = reg.target("sunshine").unwrap();
        assert_eq!(s.crypto, CryptoSuite::Sm);
        let tls = s.tls.as_ref().unwrap();
        assert_eq!(tls.ca, PathBuf::from("/srv/linli/sdk/ca.crt"));
        assert_eq!(tls.key, PathBuf::from("/etc/fisco/sdk.key"));
        assert_eq!(
            s.contract("governance").unwrap().to_string(),
            "0xc0523dbdd94ba27e14b0336d799489340ca24cdf"
        );
        let l = reg.target("lakeside").unwrap();
        assert_eq!((l.crypto, l.chain_id.as_str()), (CryptoSuite::Ecdsa, "chain1"));
        assert!(matches!(reg.target("nowhere"), Err(RegistryError::UnknownCommunity(_))));
    }

    #[test]
    fn rejects_https_without_tls_and_unknown_keys() {
        let bad = "[communities.x]\nendpoints=[\"https://a:1\"]\nchain_id=\"c\"\ngroup_id=\"g\"\n";
        assert!(matches!(ChainRegistry::from_toml(bad, Path::new(".")), Err(RegistryError::Invalid { .. })));
        let typo = "[communities.x]\nendpoint=[\"http://a:1\"]\nchain_id=\"c\"\ngroup_id=\"g\"\n";
        assert!(matches!(ChainRegistry::from_toml(typo, Path::new(".")), Err(RegistryError::Toml(_))));
        let suite = "[communities.x]\nendpoints=[\"http://a:1\"]\nchain_id=\"c\"\ngroup_id=\"g\"\ncrypto=\"rsa\"\n";
        assert!(ChainRegistry::from_toml(suite, Path::new(".")).is_err());
    }
}
