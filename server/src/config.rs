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
    #[serde(default)]
    pub governance: GovernanceConfig,
    #[serde(default)]
    pub parking: ParkingConfig,
    /// Door access (gateway timeout, opening rate, log retention).
    #[serde(default)]
    pub access: crate::access::AccessConfig,
    /// Verifiable logs: checkpoint key name and signing key, checkpoint interval (`crate::logs::LogsConfig`).
    #[serde(default)]
    pub logs: crate::logs::LogsConfig,
    /// Disclosure categories (`crate::disclosure::DisclosureConfig`).
    #[serde(default)]
    pub disclosure: crate::disclosure::DisclosureConfig,
    /// Identity services (WeChat, FaceID, registry, device CA, PINs). Required by `linli serve`; commands that do
    /// not serve requests (migrate, import-register) run without it.
    pub identity: Option<IdentityConfig>,
    /// Chain forwarding (registry, keys, platform signing key). Absent = the outbox only fills.
    pub chain: Option<crate::chain::ChainConfig>,
    /// WeChat Pay v3 (partner mode). Absent = payments off.
    pub wechatpay: Option<crate::clients::wechatpay::WeChatPayConfig>,
    /// TEST-ONLY fault injection (`crate::fault`): never set in a real deployment. `kill_at = "<point>[:<nth>]"`
    /// makes the process SIGKILL itself the nth time it reaches the point (`order.after_wechat_prepay`,
    /// `notify.before_commit`, `notify.after_commit_before_answer`).
    #[serde(default)]
    pub fault: crate::fault::FaultConfig,
}

#[derive(Debug, Deserialize)]
pub struct IdentityConfig {
    /// Version of the enrollment consent text the client must have shown; a different version is refused.
    pub consent_version: String,
    /// Version of the separate face-processing consent text.
    pub face_consent_version: String,
    /// HMAC key (64 hex) for WeChat openids: account look-up and the certificate's `urn:linli:wx:` SAN.
    pub openid_key: SecretString,
    /// Server-side secret (64 hex) mixed into every PIN hash (Argon2id secret parameter).
    pub pin_pepper: SecretString,
    /// Argon2id memory cost in KiB and passes; the defaults cost about 18 ms per verification in release.
    #[serde(default = "default_pin_m_cost")]
    pub pin_m_cost_kib: u32,
    #[serde(default = "default_pin_t_cost")]
    pub pin_t_cost: u32,
    /// PIN hash computations allowed at once (each uses `pin_m_cost_kib` of memory and a core).
    #[serde(default = "default_pin_concurrency")]
    pub pin_concurrency: usize,
    /// Session lifetime in seconds, extended on each use.
    #[serde(default = "default_session_ttl")]
    pub session_ttl_secs: u64,
    pub wechat: WeChatSettings,
    pub faceid: FaceIdSettings,
    pub registry: RegistrySettings,
    pub device_ca: DeviceCaSettings,
}

#[derive(Debug, Deserialize)]
pub struct WeChatSettings {
    /// `https://api.weixin.qq.com` in production, the sandbox in tests and demos.
    pub base_url: String,
    pub appid: String,
    pub secret: SecretString,
    /// The subscribe-message templates this mini-program picked in the WeChat console (订阅消息 → 我的模板).
    #[serde(default)]
    pub templates: SubscribeTemplates,
}

/// Template ids of the subscribe messages we send. Each template chosen in the console must have the keywords
/// the message fills (`thing` ≤ 20 characters, `time` a date and time):
/// - `meeting_notice`: thing1 meeting title, time2 voting starts, time3 voting ends, thing4 instruction;
/// - `binding_reset`, `registry_review`, `proxy`, `co_owner_voter`: thing1 outcome, thing2 what to do next (or
///   who holds a co-owned unit's vote), time3 when.
///
/// The defaults are placeholders the sandbox accepts; production sets the console's ids.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SubscribeTemplates {
    pub meeting_notice: String,
    pub binding_reset: String,
    pub registry_review: String,
    pub proxy: String,
    pub co_owner_voter: String,
}

impl Default for SubscribeTemplates {
    fn default() -> Self {
        Self {
            meeting_notice: "linli_meeting_notice".into(),
            binding_reset: "linli_binding_reset".into(),
            registry_review: "linli_registry_review".into(),
            proxy: "linli_meeting_proxy".into(),
            co_owner_voter: "linli_co_owner_voter".into(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct FaceIdSettings {
    /// `https://faceid.tencentcloudapi.com` in production.
    pub endpoint: String,
    pub secret_id: String,
    pub secret_key: SecretString,
    #[serde(default)]
    pub region: Option<String>,
    /// A face matches at `Sim >= pass_score` (0–100).
    #[serde(default = "default_pass_score")]
    pub pass_score: f64,
}

#[derive(Debug, Deserialize)]
pub struct RegistrySettings {
    /// The housing registry's HTTPS base URL.
    pub base_url: String,
    /// PEM files: the registry's CA, our client certificate and its key (mutual TLS).
    pub ca_file: std::path::PathBuf,
    pub client_cert_file: std::path::PathBuf,
    pub client_key_file: std::path::PathBuf,
}

#[derive(Debug, Deserialize)]
pub struct DeviceCaSettings {
    /// PEM files of the device CA (`linli ca init` creates them).
    pub cert_file: std::path::PathBuf,
    pub key_file: std::path::PathBuf,
}

fn default_pin_m_cost() -> u32 {
    linli_identity::pin::PRODUCTION_M_COST_KIB
}
fn default_pin_t_cost() -> u32 {
    linli_identity::pin::PRODUCTION_T_COST
}
fn default_pin_concurrency() -> usize {
    2
}
fn default_session_ttl() -> u64 {
    7 * 24 * 3600
}
fn default_pass_score() -> f64 {
    70.0
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
    /// Uploads decoded (images re-encoded, PDFs scanned) at once by this process; each may take ~200 MiB.
    #[serde(default = "default_upload_decode_slots")]
    pub upload_decode_slots: usize,
    /// Uploads one account may have decoded per `upload_decode_window_secs`, counted in Redis.
    #[serde(default = "default_upload_decodes_per_window")]
    pub upload_decodes_per_window: u32,
    #[serde(default = "default_upload_decode_window")]
    pub upload_decode_window_secs: u64,
}

/// Owners' meetings.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct GovernanceConfig {
    /// How long before voting starts a meeting may still be opened, in seconds (default 600). Opening queues
    /// `openMeeting` and the proposals for the chain, which refuses them once the window has started; the margin
    /// is the time the forwarder has to get them there.
    #[serde(default = "default_opening_margin")]
    pub opening_margin_secs: u64,
}

impl Default for GovernanceConfig {
    fn default() -> Self {
        Self { opening_margin_secs: default_opening_margin() }
    }
}

fn default_opening_margin() -> u64 {
    600
}

/// Parking (`[parking]`).
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct ParkingConfig {
    /// How many vehicles a unit may register at once (default 3).
    #[serde(default = "default_vehicles_per_unit")]
    pub vehicles_per_unit: u32,
}

impl Default for ParkingConfig {
    fn default() -> Self {
        Self { vehicles_per_unit: default_vehicles_per_unit() }
    }
}

fn default_vehicles_per_unit() -> u32 {
    3
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
            upload_decode_slots: default_upload_decode_slots(),
            upload_decodes_per_window: default_upload_decodes_per_window(),
            upload_decode_window_secs: default_upload_decode_window(),
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
fn default_upload_decode_slots() -> usize {
    2
}
fn default_upload_decodes_per_window() -> u32 {
    30
}
fn default_upload_decode_window() -> u64 {
    600
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
