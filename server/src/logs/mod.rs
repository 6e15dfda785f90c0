//! Verifiable logs (DESIGN §12, issue 23 item 5), one module for every stream: per community and stream an
//! append-only RFC 9162 Merkle tree in PostgreSQL ([`store`]), its hashing and proofs as plain functions
//! ([`tree`]), checkpoints as C2SP signed notes with the platform's Ed25519 key ([`note`]), each anchored on chain
//! through the outbox (`anchorBatch(log, first, last, root)`), and the read routes ([`routes`]).

pub mod audit_feed;
pub mod note;
pub mod routes;
pub mod store;
pub mod tree;

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

/// The streams. Each community has one log of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogName {
    /// Disclosure items (issue 23 item 6).
    Disclosure,
    /// Fund plan, approval, disbursement and bank events.
    Funds,
    /// Work-order events.
    Workorders,
    /// The audit rows that concern the community (see [`audit_feed`]).
    Audit,
}

impl LogName {
    pub const ALL: [LogName; 4] = [Self::Disclosure, Self::Funds, Self::Workorders, Self::Audit];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disclosure => "disclosure",
            Self::Funds => "funds",
            Self::Workorders => "workorders",
            Self::Audit => "audit",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == text)
    }
}

/// The `[logs]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct LogsConfig {
    /// The key name of the checkpoint signatures and of the published verifier key (no spaces, no `+`).
    pub key_name: String,
    /// Ed25519 seed (64 hex) that signs checkpoints. Absent: the `[chain]` platform key, which also signs
    /// meeting results (one platform key). Neither: logs fill but no checkpoint is signed.
    pub signing_key_hex: Option<secrecy::SecretString>,
    /// How often each instance cuts checkpoints of the logs that grew (and queues their anchors), milliseconds.
    pub checkpoint_interval_ms: u64,
}

impl Default for LogsConfig {
    fn default() -> Self {
        Self { key_name: "linli".into(), signing_key_hex: None, checkpoint_interval_ms: 5_000 }
    }
}

/// The checkpoint signer the configuration names, if any.
pub fn signer_from_config(config: &crate::config::Config) -> anyhow::Result<Option<Arc<note::NoteSigner>>> {
    use anyhow::Context;
    use secrecy::ExposeSecret;
    let seed = match (&config.logs.signing_key_hex, &config.chain) {
        (Some(k), _) => k,
        (None, Some(chain)) => &chain.platform_key_hex,
        (None, None) => return Ok(None),
    };
    let seed = hex::decode(seed.expose_secret().trim()).context("the log signing key is not hex")?;
    Ok(Some(Arc::new(note::NoteSigner::new(&config.logs.key_name, &seed).context("[logs] key")?)))
}

/// Cuts checkpoints every interval (see [`store::checkpoint_due`]).
pub fn spawn_checkpointer(state: crate::app::AppState, interval: Duration) -> Option<tokio::task::JoinHandle<()>> {
    let signer = state.log_signer.clone()?;
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval.max(Duration::from_millis(100)));
        loop {
            tick.tick().await;
            let result = async {
                let mut conn = state.db.get().await?;
                Ok::<_, anyhow::Error>(store::checkpoint_due(&mut conn, &signer).await?)
            }
            .await;
            if let Err(e) = result {
                tracing::warn!(error = %e, "cutting log checkpoints failed");
            }
        }
    }))
}
