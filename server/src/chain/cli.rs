//! `linli chain deploy --community CODE`: deploys `LinliGovernance` for a community with the admin key, grants
//! the forwarder, committee and (when configured) anchor, property and bank keys their roles, and records the address in `chain_contracts`.

use anyhow::Context;
use clap::Subcommand;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use linli_ledger_client::governance::{RoleGrant, deploy_governance, role};
use linli_ledger_client::{ChainClient, ChainRegistry};
use secrecy::ExposeSecret;
use uuid::Uuid;

use crate::config::Config;
use crate::schema::{chain_contracts, communities};

#[derive(Debug, Subcommand)]
pub enum ChainCommand {
    /// Deploy the governance contract for a community and record its address.
    Deploy {
        /// Community code, e.g. SH-PD-0001 (also its key in the chain registry).
        #[arg(long)]
        community: String,
        /// Replace an already recorded contract.
        #[arg(long)]
        force: bool,
    },
}

pub async fn run(cmd: ChainCommand, config: &Config) -> anyhow::Result<()> {
    let ChainCommand::Deploy { community, force } = cmd;
    let chain = config.chain.as_ref().context("the [chain] configuration section is required")?;
    let registry = ChainRegistry::load(&chain.registry_file)?;
    let target = registry.target(&community)?;
    let key = |p: &std::path::Path| {
        linli_ledger_client::keys::load_signer(target.crypto, &p.display().to_string())
            .with_context(|| format!("loading {}", p.display()))
    };
    let admin = key(chain.admin_key_file.as_deref().context("[chain] admin_key_file is required to deploy")?)?;
    let forwarder = key(&chain.forwarder_key_file)?;
    let committee = key(&chain.committee_key_file)?;
    let anchor = chain.anchor_key_file.as_deref().map(key).transpose()?;
    let property = chain.property_key_file.as_deref().map(key).transpose()?;
    let bank = chain.bank_key_file.as_deref().map(key).transpose()?;
    let pool = crate::db::pool(config.database.url.expose_secret(), 1)?;
    let mut conn = pool.get().await?;
    let community_id: Uuid = communities::table
        .filter(communities::code.eq(&community))
        .select(communities::id)
        .first(&mut conn)
        .await
        .optional()?
        .with_context(|| format!("no community {community} in the register"))?;
    let existing: Option<String> =
        chain_contracts::table.find(community_id).select(chain_contracts::address).first(&mut conn).await.optional()?;
    if let (Some(a), false) = (&existing, force) {
        anyhow::bail!("community {community} already has contract {a}; pass --force to replace it");
    }
    let client = ChainClient::from_target(target)?;
    let mut grants = vec![
        RoleGrant { account: forwarder.address(), role: role::FORWARDER },
        RoleGrant { account: committee.address(), role: role::COMMITTEE },
    ];
    for (signer, r) in [(&anchor, role::ANCHOR), (&property, role::PROPERTY), (&bank, role::BANK)] {
        if let Some(s) = signer {
            grants.push(RoleGrant { account: s.address(), role: r });
        }
    }
    let address = deploy_governance(&client, &admin, &grants).await?;
    diesel::insert_into(chain_contracts::table)
        .values((chain_contracts::community_id.eq(community_id), chain_contracts::address.eq(address.to_string())))
        .on_conflict(chain_contracts::community_id)
        .do_update()
        .set((chain_contracts::address.eq(address.to_string()), chain_contracts::deployed_at.eq(diesel::dsl::now)))
        .execute(&mut conn)
        .await?;
    println!("{address}");
    Ok(())
}
