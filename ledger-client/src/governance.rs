//! ABI bindings of the `LinliGovernance` and `HelloWorld` contracts, generated at compile time from
//! the committed artifacts in `contracts/artifacts/` (ABI + creation and runtime bytecode).
//!
//! Selectors and event topics are the Keccak-256 ones that solc 0.8.11 compiled into the bytecode;
//! they are the right ones on SM (国密) chains too, because dispatch compares the calldata with the
//! constants in the bytecode (see `contracts/README.md`).
//!
//! Deploying: send `LinliGovernance::BYTECODE` as the input of a transaction with an empty `to`;
//! the signer becomes the contract's admin and then calls `grantRole(account, ROLE_*)` once per key.

#![allow(missing_docs, clippy::too_many_arguments)]

alloy_sol_types::sol!(
    #[sol(all_derives)]
    LinliGovernance,
    "contracts/artifacts/LinliGovernance.json"
);

alloy_sol_types::sol!(
    #[sol(all_derives)]
    HelloWorld,
    "contracts/artifacts/HelloWorld.json"
);

/// Role numbers of `LinliGovernance.grantRole` (the contract's `ROLE_*` constants).
pub mod role {
    pub const FORWARDER: u8 = 1;
    pub const COMMITTEE: u8 = 2;
    pub const PROPERTY: u8 = 3;
    pub const BANK: u8 = 4;
    pub const ANCHOR: u8 = 5;
}

/// The option index that counts as "yes" in every proposal; every other option is participation only.
pub const YES_OPTION: u8 = 0;
