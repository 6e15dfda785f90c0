//! `linli`: the server and its operator commands.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;

use linli_server::cli::import_register::{self, ImportError};
use linli_server::config::Config;
use linli_server::http::{self, AppState};
use linli_server::pii::Pii;
use diesel_async::AsyncConnection;
use linli_server::auth::org_app::{OrgRole, create_app};
use linli_server::auth::roles::{Role, grant};
use linli_server::community::store::community_by_code;
use linli_server::{db, telemetry};

#[derive(Parser)]
#[command(name = "linli", version, about = "Linli community services: API server and operator commands")]
struct Cli {
    /// Configuration file (TOML). Environment variables `LINLI_<SECTION>__<KEY>` override it.
    #[arg(long, global = true, env = "LINLI_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API until SIGTERM (in-flight requests finish first).
    Serve,
    /// Apply pending database migrations.
    Migrate,
    /// Print the OpenAPI document (JSON) generated from the route registrations.
    Openapi,
    /// Import a community register from CSV (format: fixtures/README.md). All or nothing; idempotent.
    ImportRegister {
        /// The CSV file.
        file: PathBuf,
        /// Retire the register's units the file no longer lists (they leave rolls and totals). Without it such a
        /// file is refused with the list of those units.
        #[arg(long)]
        allow_removals: bool,
    },
    /// The device CA.
    #[command(subcommand)]
    Ca(CaCommand),
    /// Organisation apps (property company, bank, bureau, parking system, door gateway).
    #[command(subcommand)]
    Apps(AppsCommand),
    /// Fee items and bills.
    #[command(subcommand)]
    Bills(linli_server::billing::cli::BillsCommand),
    /// Chain deployments (governance contract per community).
    #[command(subcommand)]
    Chain(linli_server::chain::cli::ChainCommand),
    /// Doors (door access).
    #[command(subcommand)]
    Doors(linli_server::access::cli::DoorsCommand),
    /// The communities' access keys (offline passes): rotate with overlap, retire.
    #[command(subcommand)]
    AccessKeys(linli_server::access::cli::AccessKeysCommand),
    /// Grant a per-community role to an account (audited).
    GrantRole {
        #[arg(long)]
        account: uuid::Uuid,
        /// Community code, e.g. SH-PD-0001.
        #[arg(long)]
        community: String,
        /// committee, support or admin.
        #[arg(long)]
        role: String,
    },
}

#[derive(Subcommand)]
enum CaCommand {
    /// Create the device CA key and self-signed certificate for a new deployment (refuses to overwrite).
    Init {
        #[arg(long)]
        cert: PathBuf,
        #[arg(long)]
        key: PathBuf,
        #[arg(long, default_value = "Linli Device CA")]
        common_name: String,
    },
}

#[derive(Subcommand)]
enum AppsCommand {
    /// Create an app; prints its id and secret once (the secret is stored sealed, never shown again).
    Create {
        #[arg(long)]
        org: String,
        /// property, bank, bureau, parking_system or door_gateway.
        #[arg(long)]
        role: String,
        /// Community codes in the app's scope (repeat the flag).
        #[arg(long = "community", required = true)]
        communities: Vec<String>,
    },
}

fn main() -> ExitCode {
    // One TLS crypto provider for the whole process, chosen here and nowhere else.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    if let Command::Ca(CaCommand::Init { cert, key, common_name }) = &cli.command {
        return ca_init(cert, key, common_name);
    }
    if let Command::Openapi = cli.command {
        return match serde_json::to_string_pretty(&http::openapi_document()) {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&config.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "command failed");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn ca_init(cert: &std::path::Path, key: &std::path::Path, common_name: &str) -> ExitCode {
    if cert.exists() || key.exists() {
        eprintln!("error: {} or {} exists; refusing to overwrite a CA", cert.display(), key.display());
        return ExitCode::FAILURE;
    }
    let result = linli_identity::ca::DeviceCa::generate(common_name, chrono::Utc::now())
        .and_then(|ca| ca.write_pem_files(cert, key));
    match result {
        Ok(()) => {
            println!("{}", serde_json::json!({ "certificate": cert, "key": key }));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<ExitCode> {
    match command {
        Command::Openapi | Command::Ca(_) => Ok(ExitCode::SUCCESS),
        Command::Bills(cmd) => linli_server::billing::cli::run(cmd, &config).await.map(|()| ExitCode::SUCCESS),
        Command::Chain(cmd) => linli_server::chain::cli::run(cmd, &config).await.map(|()| ExitCode::SUCCESS),
        Command::Doors(cmd) => linli_server::access::cli::run(cmd, &config).await.map(|()| ExitCode::SUCCESS),
        Command::AccessKeys(cmd) => linli_server::access::cli::run_keys(cmd, &config).await.map(|()| ExitCode::SUCCESS),
        Command::Apps(AppsCommand::Create { org, role, communities }) => {
            let role = OrgRole::parse(&role).context("role must be property, bank, bureau, parking_system or door_gateway")?;
            let pool = db::pool(config.database.url.expose_secret(), 2).context("building the pool")?;
            let pii = Pii::from_config(&config.pii).context("loading the personal-data keys")?;
            let mut conn = pool.get().await.context("connecting to PostgreSQL")?;
            let mut ids = Vec::new();
            for code in &communities {
                ids.push(community_by_code(&mut conn, code).await?.with_context(|| format!("no community {code}"))?);
            }
            let (id, secret) = create_app(&mut conn, &pii, &org, role, &ids).await?;
            println!("{}", serde_json::json!({ "app_id": id, "secret": secret.expose(), "role": role.as_str() }));
            Ok(ExitCode::SUCCESS)
        }
        Command::GrantRole { account, community, role } => {
            let role = match role.as_str() {
                "committee" => Role::Committee,
                "support" => Role::Support,
                "admin" => Role::Admin,
                _ => anyhow::bail!("role must be committee, support or admin"),
            };
            let pool = db::pool(config.database.url.expose_secret(), 2).context("building the pool")?;
            let mut conn = pool.get().await.context("connecting to PostgreSQL")?;
            let community_id = community_by_code(&mut conn, &community).await?.with_context(|| format!("no community {community}"))?;
            conn.transaction(async |conn| {
                grant(conn, account, community_id, role).await?;
                linli_server::audit::append(
                    conn,
                    "cli:grant-role",
                    "role.grant",
                    &format!("account:{account}"),
                    serde_json::json!({ "community": community_id, "role": role.as_str() }),
                )
                .await?;
                Ok::<_, diesel::result::Error>(())
            })
            .await?;
            println!("{}", serde_json::json!({ "account": account, "community": community_id, "role": role.as_str() }));
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let applied = db::run_migrations(config.database.url.expose_secret()).await?;
            println!("{}", serde_json::json!({ "applied": applied }));
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve => {
            if config.identity.is_none() {
                anyhow::bail!("`linli serve` needs the [identity] configuration section (see deploy/linli.example.toml)");
            }
            if config.database.migrate_on_start {
                let applied = db::run_migrations(config.database.url.expose_secret()).await?;
                tracing::info!(count = applied.len(), "migrations applied");
            }
            let state = AppState::from_config(&config).await?;
            http::serve(&config, state).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::ImportRegister { file, allow_removals } => {
            let pool = db::pool(config.database.url.expose_secret(), 2).context("building the pool")?;
            let pii = Pii::from_config(&config.pii).context("loading the personal-data keys")?;
            let options = linli_server::community::store::ImportOptions { allow_removals };
            match import_register::run(&pool, &pii, &file, options).await {
                Ok(report) => {
                    println!("{}", import_register::report_json(&report));
                    Ok(ExitCode::SUCCESS)
                }
                Err(ImportError::Invalid(problems)) => {
                    for p in &problems {
                        eprintln!("{}: {p}", file.display());
                    }
                    eprintln!("{} problem(s); nothing was imported", problems.len());
                    Ok(ExitCode::FAILURE)
                }
                Err(ImportError::MissingUnits(units)) => {
                    for u in &units {
                        eprintln!("{}: unit {u} is in the register but not in the file", file.display());
                    }
                    eprintln!(
                        "{} unit(s) missing from the file; nothing was imported (--allow-removals retires them)",
                        units.len()
                    );
                    Ok(ExitCode::FAILURE)
                }
                Err(ImportError::Other(e)) => Err(e),
            }
        }
    }
}
