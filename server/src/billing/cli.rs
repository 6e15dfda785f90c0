//! `linli bills …`: fee items, bill generation and reconciliation from the operator's shell.

use anyhow::Context;
use clap::Subcommand;
use secrecy::ExposeSecret;

use super::fees::{Method, Period};
use super::store;
use crate::config::Config;

#[derive(Subcommand, Debug)]
pub enum BillsCommand {
    /// Create or update a fee item of a community.
    SetItem {
        /// Community code, e.g. SH-PD-0001.
        #[arg(long)]
        community: String,
        /// Item code, `[a-z0-9_]{1,32}`, e.g. property.
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        /// per_area (fen per m² of exclusive area per month) or fixed (fen per unit per month).
        #[arg(long)]
        method: String,
        #[arg(long)]
        rate_fen: i64,
        /// residence, commercial, parking or any.
        #[arg(long, default_value = "any")]
        unit_kind: String,
        /// Income from common parts (e.g. parking on common spaces): booked as public income.
        #[arg(long)]
        public_income: bool,
    },
    /// Generate the bills of a period for every unit (idempotent: existing bills are kept).
    Generate {
        #[arg(long)]
        community: String,
        /// YYYY-MM
        #[arg(long)]
        period: String,
    },
    /// Query WeChat Pay for every order still open after `--older-than-secs` and settle or close it (what the
    /// server's job does every minute for orders older than five minutes). Needs the [wechatpay] section.
    Reconcile {
        #[arg(long, default_value_t = 300)]
        older_than_secs: i64,
    },
}

pub async fn run(command: BillsCommand, config: &Config) -> anyhow::Result<()> {
    let pool = crate::db::pool(config.database.url.expose_secret(), 2).context("building the pool")?;
    let mut conn = pool.get().await.context("connecting to PostgreSQL")?;
    match command {
        BillsCommand::SetItem { community, code, name, method, rate_fen, unit_kind, public_income } => {
            let method = Method::parse(&method).context("method must be per_area or fixed")?;
            let community_id = crate::community::store::community_by_code(&mut conn, &community)
                .await?
                .with_context(|| format!("no community {community}"))?;
            let id = store::upsert_fee_item(
                &mut conn,
                community_id,
                &code,
                &name,
                method,
                rate_fen,
                &unit_kind,
                public_income,
            )
            .await?;
            println!("{}", serde_json::json!({ "fee_item_id": id, "code": code }));
        }
        BillsCommand::Generate { community, period } => {
            let period = Period::parse(&period).context("period must be YYYY-MM")?;
            let report = store::generate_bills(&mut conn, &community, period).await?;
            println!("{}", serde_json::to_string(&report)?);
        }
        BillsCommand::Reconcile { older_than_secs } => {
            let cfg = config.wechatpay.as_ref().context("`bills reconcile` needs the [wechatpay] configuration section")?;
            let wx = crate::clients::wechatpay::WeChatPay::from_config(cfg).context("loading the WeChat Pay configuration")?;
            drop(conn);
            let report = super::reconcile::reconcile(&pool, &wx, older_than_secs).await?;
            println!("{}", serde_json::to_string(&report)?);
        }
    }
    Ok(())
}
