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
    },
}

fn main() -> ExitCode {
    // One TLS crypto provider for the whole process, chosen here and nowhere else.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
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

async fn run(command: Command, config: Config) -> anyhow::Result<ExitCode> {
    match command {
        Command::Openapi => Ok(ExitCode::SUCCESS),
        Command::Migrate => {
            let applied = db::run_migrations(config.database.url.expose_secret()).await?;
            println!("{}", serde_json::json!({ "applied": applied }));
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve => {
            if config.database.migrate_on_start {
                let applied = db::run_migrations(config.database.url.expose_secret()).await?;
                tracing::info!(count = applied.len(), "migrations applied");
            }
            let state = AppState::from_config(&config).await?;
            http::serve(&config, state).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::ImportRegister { file } => {
            let pool = db::pool(config.database.url.expose_secret(), 2).context("building the pool")?;
            let pii = Pii::from_config(&config.pii).context("loading the personal-data keys")?;
            match import_register::run(&pool, &pii, &file).await {
                Ok(report) => {
                    println!(
                        "{}",
                        serde_json::json!({
                            "community_id": report.community_id,
                            "buildings": report.buildings,
                            "units": report.units,
                            "owners": report.owners,
                            "persons": report.persons,
                            "changed_rows": report.changed_rows,
                        })
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(ImportError::Invalid(problems)) => {
                    for p in &problems {
                        eprintln!("{}: {p}", file.display());
                    }
                    eprintln!("{} problem(s); nothing was imported", problems.len());
                    Ok(ExitCode::FAILURE)
                }
                Err(ImportError::Other(e)) => Err(e),
            }
        }
    }
}
