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
    /// The anchor key (role 5: anchors log checkpoints), PEM or hex file. Absent: anchor rows wait in the outbox
    /// (without holding back the community's other rows).
    #[serde(default)]
    pub anchor_key_file: Option<PathBuf>,
    /// The property-company key (role 3: registers the fund plans owners passed). Absent: those rows wait.
    #[serde(default)]
    pub property_key_file: Option<PathBuf>,
    /// The bank key (role 4: records executed disbursements). Absent: those rows wait.
    #[serde(default)]
    pub bank_key_file: Option<PathBuf>,
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
