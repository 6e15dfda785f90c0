//! Typed configuration: a TOML file (optional) overlaid by environment variables.
//!
//! Every setting is documented once, here, on its field; `deploy/linli.example.toml` shows them all. An
//! environment variable overrides a file value: `LINLI_` + section + `__` + key, upper case, e.g.
//! `LINLI_DATABASE__URL`, `LINLI_HTTP__LISTEN`, `LINLI_PII__ENCRYPTION_KEY`. Secrets are [`SecretString`]s, so
//! printing the configuration (Debug) never shows them.

use std::net::SocketAddr;
use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct Config {
    #[serde(default)]
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    pub redis: RedisConfig,
    pub pii: PiiConfig,
    #[serde(default)]
    pub log: LogConfig,
}

#[derive(Debug, Deserialize)]
pub struct HttpConfig {
    /// Address the API listens on (default `127.0.0.1:8080`).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Worker threads; 0 = one per core.
    #[serde(default)]
    pub workers: usize,
    /// Seconds in-flight requests get to finish after SIGTERM.
    #[serde(default = "default_shutdown_timeout")]
    pub shutdown_timeout_secs: u64,
    /// Largest JSON body accepted, in bytes.
    #[serde(default = "default_json_limit")]
    pub json_limit_bytes: usize,
}

#[derive(Debug, Deserialize)]
pub struct DatabaseConfig {
    /// PostgreSQL URL, e.g. `postgres://linli@127.0.0.1/linli`. Secret: it may carry a password.
    pub url: SecretString,
    /// Pool size per process.
    #[serde(default = "default_pool_size")]
    pub pool_size: usize,
    /// Run pending migrations when `linli serve` starts.
    #[serde(default)]
    pub migrate_on_start: bool,
}

#[derive(Debug, Deserialize)]
pub struct RedisConfig {
    /// Redis URL, e.g. `redis://127.0.0.1:6379/0`. Secret: it may carry a password.
    pub url: SecretString,
}

#[derive(Debug, Deserialize)]
pub struct PiiConfig {
    /// Id of the key new ciphertexts are written with (stored beside each ciphertext for rotation).
    pub active_key_id: String,
    /// AES-256-GCM key for personal data, 64 hex characters.
    pub encryption_key: SecretString,
    /// Keys of earlier rotations still needed to read old rows: `{ "<key id>" = "<64 hex>" }`.
    #[serde(default)]
    pub previous_keys: std::collections::BTreeMap<String, SecretString>,
    /// HMAC-SHA256 key of the blind indexes (ID and phone look-up), 64 hex characters. Never rotated in place:
    /// changing it requires re-indexing.
    pub blind_index_key: SecretString,
}

#[derive(Debug, Default, Deserialize)]
pub struct LogConfig {
    /// `json` for one JSON object per line (production), `text` otherwise.
    #[serde(default)]
    pub format: LogFormat,
    /// tracing filter, e.g. `info,linli_server=debug`; `RUST_LOG` overrides it.
    #[serde(default = "default_log_filter")]
    pub filter: String,
}

#[derive(Debug, Default, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            workers: 0,
            shutdown_timeout_secs: default_shutdown_timeout(),
            json_limit_bytes: default_json_limit(),
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_shutdown_timeout() -> u64 {
    30
}
fn default_json_limit() -> usize {
    256 * 1024
}
fn default_pool_size() -> usize {
    16
}
fn default_log_filter() -> String {
    "info".to_owned()
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(#[from] Box<figment::Error>);

impl Config {
    /// Loads the file (if given and present) and then the `LINLI_*` environment variables.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment
            .merge(Env::prefixed("LINLI_").split("__"))
            .extract()
            .map_err(|e| ConfigError(Box::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn secrets_never_print() {
        let cfg: Config = Figment::new()
            .merge(Toml::string(
                r#"
                [http]
                listen = "127.0.0.1:1"
                [database]
                url = "postgres://u:hunter2@h/db"
                [redis]
                url = "redis://:hunter3@h"
                [pii]
                active_key_id = "k1"
                encryption_key = "aa"
                blind_index_key = "bb"
                "#,
            ))
            .extract()
            .unwrap();
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("hunter3"), "{shown}");
        assert_eq!(cfg.database.url.expose_secret(), "postgres://u:hunter2@h/db");
    }
}
