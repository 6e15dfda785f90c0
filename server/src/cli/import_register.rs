//! `linli import-register <file> [--allow-removals]`: validate the whole file, then import it in one transaction,
//! or nothing. A file that leaves out units of the register is refused with their list unless removals are allowed.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sha2::{Digest, Sha256};

use crate::community::register_file::{LineError, parse_register};
use crate::community::store::{ImportOptions, ImportReport, StoreError, import_register};
use crate::db::DbPool;
use crate::pii::Pii;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the register file is invalid ({} problem{})", .0.len(), if .0.len() == 1 { "" } else { "s" })]
    Invalid(Vec<LineError>),
    /// Units of the register the file does not list (`B01-0102`), refused without `--allow-removals`.
    #[error("{} unit(s) of the register are missing from the file", .0.len())]
    MissingUnits(Vec<String>),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

pub async fn run(pool: &DbPool, pii: &Pii, file: &Path, options: ImportOptions) -> Result<ImportReport, ImportError> {
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
    let report = match import_register(&mut conn, pii, &register, &digest, options, &|n| bar.set_position(n)).await {
        Ok(report) => report,
        Err(StoreError::MissingUnits(units)) => {
            bar.finish_and_clear();
            return Err(ImportError::MissingUnits(units));
        }
        Err(e) => return Err(anyhow::Error::new(e).context("writing the register").into()),
    };
    bar.finish_and_clear();
    tracing::info!(
        community = %report.community_id,
        units = report.units,
        owners = report.owners,
        changed_rows = report.changed_rows,
        retired_units = report.retired_units.len(),
        reinstated_units = report.reinstated_units.len(),
        area_conflicts = report.area_conflicts.len(),
        "register imported"
    );
    Ok(report)
}

/// The report the command prints on stdout (one JSON object). Areas as decimal m² strings, as in the file.
pub fn report_json(report: &ImportReport) -> serde_json::Value {
    serde_json::json!({
        "community_id": report.community_id,
        "buildings": report.buildings,
        "units": report.units,
        "owners": report.owners,
        "persons": report.persons,
        "changed_rows": report.changed_rows,
        "retired_units": report.retired_units,
        "reinstated_units": report.reinstated_units,
        "area_conflicts": report.area_conflicts.iter().map(|c| serde_json::json!({
            "unit": c.unit,
            "file": { "area_source": c.conflict.file_source, "area_m2": c.conflict.file_area.to_string() },
            "counted": {
                "area_source": c.conflict.counted.source,
                "area_m2": c.conflict.counted.area.to_string(),
                "confirmed_by_registry": c.conflict.counted.by_registry,
            },
        })).collect::<Vec<_>>(),
    })
}
