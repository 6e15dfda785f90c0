//! The reconciliation job: orders left open (the owner never paid, a notification was lost, the server died
//! between the WeChat Pay call and its commit) are queried by `out_trade_no` and settled or closed; refunds not
//! yet final are queried by `out_refund_no` and booked or closed.

use std::time::Duration;

use super::store::{self, Settled};
use crate::clients::wechatpay::WeChatPay;
use crate::db::DbPool;
use crate::app::AppState;

/// An unpaid order is closed once it is this old (WeChat Pay's prepay id is valid for two hours).
pub const ORDER_TTL_SECS: i64 = 2 * 3600;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub checked: usize,
    pub settled: usize,
    pub closed: usize,
    pub still_open: usize,
    pub failed: usize,
    /// Refunds asked of WeChat Pay and not final here, queried by `out_refund_no`.
    pub refunds_checked: usize,
    /// Of those, booked now (SUCCESS) or found closed/abnormal.
    pub refunds_booked: usize,
    pub refunds_closed: usize,
}

/// Queries every order still open after `older_than_secs` and settles or closes it. Safe to run anywhere at
/// any time, also twice at once: settling and closing are idempotent under the order's row lock.
pub async fn reconcile(db: &DbPool, wx: &WeChatPay, older_than_secs: i64) -> anyhow::Result<Report> {
    let mut conn = db.get().await?;
    let orders = store::pending_orders(&mut conn, older_than_secs, 500).await?;
    let mut report = Report { checked: orders.len(), ..Report::default() };
    let now = chrono::Utc::now();
    for order in orders {
        let age = store::order_age_secs(&mut conn, order.id, now).await?;
        match wx.query(&order.sub_mchid, &order.out_trade_no).await {
            Ok(Some(tx)) if tx.trade_state == "SUCCESS" => match store::settle(&mut conn, &tx).await {
                Ok(Settled::Applied | Settled::AlreadyPaid) => report.settled += 1,
                Ok(Settled::NotPaid) => report.still_open += 1,
                Err(e) => {
                    tracing::error!(order = %order.id, error = %e, "reconciliation could not settle");
                    report.failed += 1;
                }
            },
            Ok(Some(tx)) if matches!(tx.trade_state.as_str(), "CLOSED" | "REVOKED" | "PAYERROR") => {
                store::mark_closed(&mut conn, order.id).await?;
                report.closed += 1;
            }
            Ok(Some(_)) if age >= ORDER_TTL_SECS => match wx.close(&order.sub_mchid, &order.out_trade_no).await {
                Ok(()) => {
                    store::mark_closed(&mut conn, order.id).await?;
                    report.closed += 1;
                }
                Err(e) => {
                    tracing::warn!(order = %order.id, error = %e, "closing an expired order failed");
                    report.failed += 1;
                }
            },
            Ok(Some(_)) => report.still_open += 1,
            // WeChat Pay never received the order (we died before or during the call): nobody can pay it.
            Ok(None) => {
                store::mark_closed(&mut conn, order.id).await?;
                report.closed += 1;
            }
            Err(e) => {
                tracing::warn!(order = %order.id, error = %e, "order query failed");
                report.failed += 1;
            }
        }
    }
    for (out_refund_no, sub_mchid) in store::pending_refunds(&mut conn, 500).await? {
        report.refunds_checked += 1;
        match wx.refund_query(&sub_mchid, &out_refund_no).await {
            Ok(Some(answer)) => match store::settle_refund(&mut conn, &answer).await {
                Ok(store::RefundSettled::Applied | store::RefundSettled::AlreadyDone) => report.refunds_booked += 1,
                Ok(store::RefundSettled::Failed) => report.refunds_closed += 1,
                Ok(store::RefundSettled::Pending) => {}
                Err(e) => {
                    tracing::error!(out_refund_no, error = %e, "reconciliation could not apply a refund");
                    report.failed += 1;
                }
            },
            // Never reached WeChat Pay: the property company's retry with the same number sends it.
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(out_refund_no, error = %e, "refund query failed");
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

/// Runs [`reconcile`] every minute for orders older than five minutes (spawned by `serve`).
pub async fn run(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        let Some(wx) = state.wechatpay.as_deref() else { return };
        match reconcile(&state.db, wx, 300).await {
            Ok(r) if r.checked > 0 || r.refunds_checked > 0 => tracing::info!(?r, "payment reconciliation"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "payment reconciliation failed"),
        }
    }
}
