//! `linli import-register <file>`: validate the whole file, then import it in one transaction, or nothing.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sha2::{Digest, Sha256};

use crate::community::register_file::{LineError, parse_register};
use crate::community::store::{ImportReport, apply_register};
use crate::db::DbPool;
use crate::pii::Pii;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the register file is invalid ({} problem{})", .0.len(), if .0.len() == 1 { "" } else { "s" })]
    Invalid(Vec<LineError>),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

pub async fn run(pool: &DbPool, pii: &Pii, file: &Path) -> Result<ImportReport, ImportError> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let register = parse_register(&bytes).map_err(ImportError::Invalid)?;
    let digest = Sha256::digest(&bytes);
    let total = (register.units.len() + register.owners.len()) as u64;
    let bar = ProgressBar::with_draw_target(
        Some(total),
        if std::io::stderr().is_terminal() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() },
    );
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(format!("importing {}", register.community_code));
    let mut conn = pool.get().await.context("connecting to PostgreSQL")?;
    let report = apply_register(&mut conn, pii, &register, &digest, &|n| bar.set_position(n))
        .await
        .context("writing the register")?;
    bar.finish_and_clear();
    tracing::info!(
        community = %report.community_id,
        units = report.units,
        owners = report.owners,
        changed_rows = report.changed_rows,
        "register imported"
    );
    Ok(report)
}
