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

/// A custom error of `LinliGovernance` decoded from revert data, e.g.
/// `OverBudget(OverBudget { requestedFen: 1, remainingFen: 0 })`; `None` for anything else. Pass it to
/// [`crate::client::ChainClient::send_prepared_with`] to get readable revert reasons.
pub fn decode_error(output: &[u8]) -> Option<String> {
    use alloy_sol_types::SolInterface;
    LinliGovernance::LinliGovernanceErrors::abi_decode(output).ok().map(|e| format!("{e:?}"))
}

/// Why a deployment did not complete.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Client(#[from] crate::client::ClientError),
    #[error(transparent)]
    Rpc(#[from] crate::rpc::RpcError),
    #[error("{step}: {outcome:?}")]
    NotCommitted { step: String, outcome: Box<crate::client::TxOutcome> },
    #[error("deployment receipt has no contract address")]
    NoContractAddress,
}

/// One key and the role it is granted (see [`role`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleGrant {
    pub account: crate::crypto::Address,
    pub role: u8,
}

/// Deploys `LinliGovernance` with `admin` (who becomes its admin) and grants every role in `grants`,
/// each one transaction, each waited for. Returns the contract address, to be written into the chain
/// registry under the community. Not idempotent as a whole: a failure after the deployment leaves a
/// contract whose address is in the error's receipt; deploy again rather than resume.
pub async fn deploy_governance(
    client: &crate::client::ChainClient,
    admin: &crate::crypto::Signer,
    grants: &[RoleGrant],
) -> Result<crate::crypto::Address, DeployError> {
    use crate::client::TxOutcome;
    use alloy_sol_types::SolCall;

    let deploy = client.prepare(admin, None, LinliGovernance::BYTECODE.to_vec()).await?;
    let outcome = client.send_prepared_with(&deploy, &decode_error).await?;
    let contract = match outcome {
        TxOutcome::Committed(ref receipt) => receipt.contract_address.ok_or(DeployError::NoContractAddress)?,
        other => return Err(DeployError::NotCommitted { step: "deploy".into(), outcome: Box::new(other) }),
    };
    for grant in grants {
        let call = LinliGovernance::grantRoleCall {
            account: alloy_primitives::Address::from(grant.account.0),
            role: grant.role,
        };
        let tx = client.prepare(admin, Some(contract), call.abi_encode()).await?;
        let outcome = client.send_prepared_with(&tx, &decode_error).await?;
        if !outcome.is_committed_ok() {
            return Err(DeployError::NotCommitted {
                step: format!("grantRole({}, {})", grant.account, grant.role),
                outcome: Box::new(outcome),
            });
        }
    }
    Ok(contract)
}
