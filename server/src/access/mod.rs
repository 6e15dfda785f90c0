//! Door access (DESIGN §8, issue 13): doors and the residents who may open them, online opening through the door
//! gateway (Hikvision ISAPI), and the access log. Arrears never block a door (Civil Code art. 944) and nothing
//! here uses face recognition.

pub mod cli;
pub mod domain;
pub mod isapi;
pub mod keys;
pub mod opening;
pub mod pass_routes;
pub mod passes;
pub mod routes;
pub mod store;

use std::time::Duration;

use serde::Deserialize;

/// `[access]`.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct AccessConfig {
    /// The whole exchange with a door gateway (challenge and command), in milliseconds (default 3000). The command
    /// is never sent twice, so a slow terminal is reported as a timeout.
    #[serde(default = "default_gateway_timeout")]
    pub gateway_timeout_ms: u64,
    /// Online openings per account per minute (default 12).
    #[serde(default = "default_opens_per_minute")]
    pub opens_per_minute: u32,
    /// Days access events are kept (default 400; at least 183, six months).
    #[serde(default = "default_retention")]
    pub event_retention_days: u32,
}

impl Default for AccessConfig {
    fn default() -> Self {
        Self {
            gateway_timeout_ms: default_gateway_timeout(),
            opens_per_minute: default_opens_per_minute(),
            event_retention_days: default_retention(),
        }
    }
}

fn default_gateway_timeout() -> u64 {
    3000
}
fn default_opens_per_minute() -> u32 {
    12
}
fn default_retention() -> u32 {
    400
}

/// Least retention of access events: six months.
pub const MIN_RETENTION_DAYS: u32 = 183;

/// What the access area needs at run time: its settings and the gateway client.
pub struct AccessServices {
    pub config: AccessConfig,
    pub isapi: isapi::IsapiClient,
}

impl AccessServices {
    pub fn new(config: AccessConfig) -> anyhow::Result<Self> {
        anyhow::ensure!(
            config.event_retention_days >= MIN_RETENTION_DAYS,
            "access.event_retention_days must be at least {MIN_RETENTION_DAYS}"
        );
        anyhow::ensure!((100..=30_000).contains(&config.gateway_timeout_ms), "access.gateway_timeout_ms must be 100..=30000");
        let isapi = isapi::IsapiClient::new(Duration::from_millis(config.gateway_timeout_ms))?;
        Ok(Self { config, isapi })
    }
}
