//! `linli doors …`: registering and listing doors from the operator's shell.

use anyhow::Context;
use clap::Subcommand;
use secrecy::{ExposeSecret, SecretString};

use super::routes::{GatewayInput, RegisterDoor, door_error, parse_door};
use super::store;
use crate::config::Config;
use crate::pii::Pii;

#[derive(Subcommand, Debug)]
pub enum DoorsCommand {
    /// Register a door of a community (prints it as JSON).
    Add {
        /// Community code, e.g. SH-PD-0001.
        #[arg(long)]
        community: String,
        /// community_gate, building_door or garage_barrier.
        #[arg(long)]
        kind: String,
        /// Short door code, unique in the community.
        #[arg(long)]
        code: u32,
        #[arg(long)]
        name: String,
        /// The building code of a building door.
        #[arg(long)]
        building: Option<String>,
        /// `http(s)://host[:port]` of the Hikvision ISAPI terminal.
        #[arg(long)]
        gateway_url: String,
        #[arg(long)]
        gateway_username: String,
        /// The terminal password, read from this environment variable (never from the command line).
        #[arg(long, default_value = "LINLI_GATEWAY_PASSWORD")]
        gateway_password_env: String,
        #[arg(long)]
        door_no: i32,
        /// xml or json.
        #[arg(long, default_value = "xml")]
        format: String,
    },
    /// List the doors of a community as JSON.
    List {
        #[arg(long)]
        community: String,
    },
}

pub async fn run(command: DoorsCommand, config: &Config) -> anyhow::Result<()> {
    let pool = crate::db::pool(config.database.url.expose_secret(), 2).context("building the pool")?;
    let mut conn = pool.get().await.context("connecting to PostgreSQL")?;
    let pii = Pii::from_config(&config.pii).context("loading the personal-data keys")?;
    match command {
        DoorsCommand::Add {
            community,
            kind,
            code,
            name,
            building,
            gateway_url,
            gateway_username,
            gateway_password_env,
            door_no,
            format,
        } => {
            let community_id = crate::community::store::community_by_code(&mut conn, &community)
                .await?
                .with_context(|| format!("no community {community}"))?;
            let password = std::env::var(&gateway_password_env)
                .with_context(|| format!("set the terminal password in ${gateway_password_env}"))?;
            let input = RegisterDoor {
                kind,
                code,
                name,
                building,
                gateway: GatewayInput {
                    url: gateway_url,
                    username: gateway_username,
                    password: SecretString::from(password),
                    door_no,
                    format: Some(format),
                },
            };
            let new = parse_door(input, community_id).map_err(|e| anyhow::anyhow!("{e}"))?;
            let view = store::register_door(&mut conn, &pii, &new).await.map_err(|e| anyhow::anyhow!("{}", door_error(e)))?;
            println!("{}", serde_json::to_string(&view)?);
        }
        DoorsCommand::List { community } => {
            let community_id = crate::community::store::community_by_code(&mut conn, &community)
                .await?
                .with_context(|| format!("no community {community}"))?;
            let doors = store::door_views(&mut conn, &[community_id]).await?;
            println!("{}", serde_json::to_string_pretty(&doors)?);
        }
    }
    Ok(())
}

#[derive(Subcommand, Debug)]
pub enum AccessKeysCommand {
    /// A new signing key for the community; the previous one stays published and accepted for the overlap (longer
    /// than the longest pass, 7 days), so no pass in use stops working. Prints the new kid.
    Rotate {
        #[arg(long)]
        community: String,
        #[arg(long, default_value_t = super::keys::DEFAULT_OVERLAP_DAYS)]
        overlap_days: i64,
    },
    /// Retire a key at once (it leaked): it is no longer published and readers refuse its passes after their next
    /// sync; the next pass is signed by a new key.
    Retire {
        /// The kid in hex.
        #[arg(long)]
        kid: String,
    },
    /// The community's published keys as a JWK Set.
    List {
        #[arg(long)]
        community: String,
    },
}

pub async fn run_keys(command: AccessKeysCommand, config: &Config) -> anyhow::Result<()> {
    let pool = crate::db::pool(config.database.url.expose_secret(), 2).context("building the pool")?;
    let mut conn = pool.get().await.context("connecting to PostgreSQL")?;
    let pii = Pii::from_config(&config.pii).context("loading the personal-data keys")?;
    let community_id = async |conn: &mut diesel_async::AsyncPgConnection, code: &str| -> anyhow::Result<uuid::Uuid> {
        crate::community::store::community_by_code(conn, code).await?.with_context(|| format!("no community {code}"))
    };
    match command {
        AccessKeysCommand::Rotate { community, overlap_days } => {
            anyhow::ensure!(overlap_days >= super::passes::MAX_PASS_DAYS, "the overlap must cover the longest pass (7 days)");
            let id = community_id(&mut conn, &community).await?;
            let kid = super::keys::rotate(&mut conn, &pii, id, chrono::Duration::days(overlap_days)).await?;
            println!("{}", serde_json::json!({ "community": community, "kid": kid }));
        }
        AccessKeysCommand::Retire { kid } => {
            let retired = super::keys::retire_now(&mut conn, &kid.to_ascii_lowercase()).await?;
            anyhow::ensure!(retired, "no published key {kid}");
            println!("{}", serde_json::json!({ "retired": kid }));
        }
        AccessKeysCommand::List { community } => {
            let id = community_id(&mut conn, &community).await?;
            println!("{}", serde_json::to_string_pretty(&super::keys::jwk_set(&mut conn, id, chrono::Utc::now()).await?)?);
        }
    }
    Ok(())
}
