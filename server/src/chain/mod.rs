//! Forwarding to the chain (DESIGN §7): the outbox table and its worker, the `[chain]` configuration, the
//! per-community contract registry.

pub mod cli;
pub mod outbox;
pub mod worker;

use std::path::PathBuf;

use serde::Deserialize;

/// The optional `[chain]` section. Absent: nothing is forwarded (rows wait in the outbox).
#[derive(Debug, Clone, Deserialize)]
pub struct ChainConfig {
    /// The chain registry (ledger-client TOML format): `[communities.<CODE>]` with endpoints, chain_id, group_id,
    /// crypto; the governance contract address is taken from the table `chain_contracts` (written by
    /// `linli chain deploy`) or else from the registry's `contracts.governance`.
    pub registry_file: PathBuf,
    /// The forwarder key (role 1: casts sheets, finalizes), PEM or hex file.
    pub forwarder_key_file: PathBuf,
    /// The committee key (role 2: opens meetings, adds proposals), PEM or hex file.
    pub committee_key_file: PathBuf,
    /// The contract admin key used by `linli chain deploy` (deploys and grants the two roles above).
    #[serde(default)]
    pub admin_key_file: Option<PathBuf>,
    /// Ed25519 seed (64 hex) of the platform key that signs result documents.
    pub platform_key_hex: secrecy::SecretString,
    /// Worker idle poll interval and receipt poll interval, milliseconds.
    #[serde(default = "default_poll_ms")]
    pub poll_ms: u64,
}

fn default_poll_ms() -> u64 {
    300
}
