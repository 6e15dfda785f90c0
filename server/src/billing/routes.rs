//! Bills and payments: the owner's bills and orders (`/v1/billing/...`), WeChat Pay notifications
//! (`/v1/payments/wechat/notify`), receipt verification, and the property company's arrears and refunds
//! (`/openapi/v1/...`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::store::{self, BillView, OrderRow, RefundPrepared, SettleError, SettleRefusal};
use crate::clients::wechatpay::{
    Notification, PayParams, RefundReport, SignedHeaders, Transaction, VerifyError, WeChatPay, WeChatPayError,
};
use crate::auth::CurrentAccount;
use crate::auth::org_app::{OrgRole, verify_org_request};
use crate::error::{ApiError, Problem, extractors::parse_json};
use crate::fault::FaultPoint;
use crate::app::AppState;
use crate::idempotency::{self, Begin, Scope};
use crate::schema::{accounts, payment_order_bills, payment_orders, refunds};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(my_bills)
        .service(create_order)
        .service(get_order)
        .service(close_order)
        .service(order_receipt)
        .service(verify_receipt)
        .service(wechat_notify)
        .service(arrears)
        .service(create_refund)
        .service(daily_statement);
}

/// Most bills one order may pay.
const MAX_BILLS_PER_ORDER: usize = 24;

fn wechatpay(state: &AppState) -> Result<&WeChatPay, ApiError> {
    state.wechatpay.as_deref().ok_or_else(|| {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "payments_unavailable", "Payments are not configured")
    })
}

#[derive(Serialize, ToSchema)]
pub struct BillList {
    pub bills: Vec<BillView>,
}

/// The bills of the units the caller owns (verified owners; others get an empty list).
#[utoipa::path(
    tag = "billing",
    responses(
        (status = 200, body = BillList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []))
)]
#[get("/v1/billing/bills")]
async fn my_bills(state: web::Data<AppState>, account: CurrentAccount) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.get().await?;
    let bills = store::owner_bills(&mut conn, account.0).await?;
    Ok(HttpResponse::Ok().json(BillList { bills }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrder {
    /// 1–24 of the caller's unpaid bills, all of one community.
    pub bill_ids: Vec<Uuid>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct OrderView {
    pub id: Uuid,
    pub out_trade_no: String,
    pub amount_fen: i64,
    /// created, prepaid, paid or closed.
    pub status: String,
    /// `wx.requestPayment` parameters (while the order can be paid).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pay: Option<PayParams>,
}

fn view(order: &OrderRow, pay: Option<PayParams>) -> OrderView {
    OrderView {
        id: order.id,
        out_trade_no: order.out_trade_no.clone(),
        amount_fen: order.amount_fen,
        status: order.status.clone(),
        pay,
    }
}

/// 26 characters: `LL`, the UTC date and 16 random hex digits (WeChat allows 6–32 of `[0-9A-Za-z_-|*]`).
fn new_out_trade_no() -> String {
    use rand::RngCore;
    let mut raw = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut raw);
    format!("LL{}{}", chrono::Utc::now().format("%Y%m%d"), hex::encode_upper(raw))
}

/// Pays one or more of the caller's bills in one WeChat Pay order (`Idempotency-Key` required). The order and
/// its `out_trade_no` are stored before WeChat Pay is called; a bill is in at most one open order. Asking again
/// for exactly the bills of the caller's open order returns that order (fresh payment parameters).
#[utoipa::path(
    tag = "billing",
    params(("Idempotency-Key" = String, Header, description = "1–255 visible ASCII characters")),
    request_body = CreateOrder,
    responses(
        (status = 201, body = OrderView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "not the caller's bill"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "paid, or in another open order"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 502, body = Problem, content_type = "application/problem+json", description = "WeChat Pay refused or unreachable"),
    ),
    security(("session" = []))
)]
#[post("/v1/billing/orders")]
async fn create_order(
    state: web::Data<AppState>,
    account: CurrentAccount,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: CreateOrder = parse_json(&body)?;
    let mut bill_ids = input.bill_ids;
    bill_ids.sort();
    bill_ids.dedup();
    if bill_ids.is_empty() || bill_ids.len() > MAX_BILLS_PER_ORDER {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bills_invalid", "Give 1 to 24 bills"));
    }
    let wx = wechatpay(&state)?;
    let idem = idempotency::from_request(&state.pii, &req, &body, Scope::account(account.0))?;
    let mut conn = state.db.get().await?;
    if let Begin::Replay(resp) = idempotency::begin(&mut conn, &idem).await? {
        return Ok(resp);
    }
    match create_order_effect(&state, wx, &mut conn, account.0, &bill_ids).await {
        Ok((order, pay)) => {
            let body = serde_json::to_vec(&view(&order, Some(pay))).map_err(ApiError::internal)?;
            let prepay_id = order.prepay_id.clone();
            conn.transaction(async |conn| {
                diesel::update(payment_orders::table.find(order.id))
                    .filter(payment_orders::status.eq_any(["created", "prepaid"]))
                    .set((payment_orders::prepay_id.eq(&prepay_id), payment_orders::status.eq("prepaid")))
                    .execute(conn)
                    .await?;
                idempotency::complete(conn, &idem, StatusCode::CREATED, &body).await
            })
            .await?;
            Ok(HttpResponse::Created().content_type("application/json").body(body))
        }
        Err(e) => {
            idempotency::abandon(&mut conn, &idem).await?;
            Err(e)
        }
    }
}

/// Stores (or finds) the order, then obtains its prepay id. Returns the order with `prepay_id` set.
async fn create_order_effect(
    state: &AppState,
    wx: &WeChatPay,
    conn: &mut diesel_async::AsyncPgConnection,
    account: Uuid,
    bill_ids: &[Uuid],
) -> Result<(OrderRow, PayParams), ApiError> {
    let openid_enc: Option<String> =
        accounts::table.find(account).select(accounts::wx_openid_enc).first(conn).await.optional()?.flatten();
    let openid_enc = openid_enc.ok_or_else(|| {
        ApiError::new(StatusCode::CONFLICT, "wechat_login_required", "Log in with WeChat to pay")
    })?;
    let openid = state.pii.decrypt(crate::pii::Column::AccountOpenid, &openid_enc).map_err(ApiError::internal)?;

    let (mut order, community_code) = conn
        .transaction(async |conn| {
            let locked = store::lock_owner_bills(conn, account, bill_ids).await?;
            if locked.len() != bill_ids.len() {
                return Err(ApiError::not_found());
            }
            if locked.iter().any(|b| b.status != "unpaid") {
                return Err(ApiError::new(StatusCode::CONFLICT, "bill_paid", "A bill is already paid"));
            }
            let community = locked[0].community_id;
            if locked.iter().any(|b| b.community_id != community) {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "bills_of_several_communities",
                    "Pay the bills of one community per order",
                ));
            }
            let code = locked[0].community_code.clone();
            let open = store::open_orders_for(conn, bill_ids).await?;
            if let [(existing, held), ..] = open.as_slice() {
                let same = open.len() == 1 && held.as_slice() == bill_ids;
                let order = store::order_by_id(conn, *existing).await?.ok_or_else(ApiError::not_found)?;
                if same && order.account_id == account && matches!(order.status.as_str(), "created" | "prepaid") {
                    return Ok((order, code));
                }
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "bill_in_open_order",
                    "A bill is in another open order; close that order first",
                ));
            }
            let sub_mchid = wx.sub_mchid(&code).ok_or_else(|| {
                ApiError::new(StatusCode::CONFLICT, "payments_not_enabled", "This community does not take payments")
            })?;
            let total: i64 = locked.iter().map(|b| b.amount_fen).sum();
            let id = Uuid::now_v7();
            let out_trade_no = new_out_trade_no();
            diesel::insert_into(payment_orders::table)
                .values((
                    payment_orders::id.eq(id),
                    payment_orders::out_trade_no.eq(&out_trade_no),
                    payment_orders::community_id.eq(community),
                    payment_orders::account_id.eq(account),
                    payment_orders::sp_mchid.eq(&wx.sp_mchid),
                    payment_orders::sub_mchid.eq(sub_mchid),
                    payment_orders::amount_fen.eq(total),
                ))
                .execute(conn)
                .await?;
            let rows: Vec<_> = locked
                .iter()
                .map(|b| {
                    (
                        payment_order_bills::order_id.eq(id),
                        payment_order_bills::bill_id.eq(b.id),
                        payment_order_bills::amount_fen.eq(b.amount_fen),
                    )
                })
                .collect();
            diesel::insert_into(payment_order_bills::table).values(&rows).execute(conn).await?;
            let order = store::order_by_id(conn, id).await?.ok_or_else(ApiError::not_found)?;
            Ok::<_, ApiError>((order, code))
        })
        .await?;

    if order.prepay_id.is_none() {
        let description = format!("物业缴费 {community_code}");
        match wx.jsapi(&order.sub_mchid, &description, &order.out_trade_no, order.amount_fen, &openid).await {
            Ok(prepay_id) => {
                order.prepay_id = Some(prepay_id);
                state.faults.reached(FaultPoint::OrderAfterWechatPrepay);
            }
            Err(WeChatPayError::Api { status, code, .. }) if (400..500).contains(&status) => {
                tracing::warn!(order = %order.id, code, "WeChat Pay refused the order");
                store::mark_closed(conn, order.id).await?;
                return Err(ApiError::new(StatusCode::BAD_GATEWAY, "wechatpay_refused", "WeChat Pay refused the order"));
            }
            Err(e) => {
                // Unknown outcome: the order stays open; a retry re-sends the same out_trade_no, and the
                // reconciliation job settles or closes it.
                tracing::warn!(order = %order.id, error = %e, "WeChat Pay order call failed");
                return Err(ApiError::new(StatusCode::BAD_GATEWAY, "wechatpay_unavailable", "WeChat Pay is unavailable"));
            }
        }
    }
    let prepay_id = order.prepay_id.clone().unwrap_or_default();
    let pay = wx.pay_params(&prepay_id, chrono::Utc::now().timestamp()).map_err(ApiError::internal)?;
    order.status = "prepaid".into();
    Ok((order, pay))
}

async fn own_order(state: &AppState, account: Uuid, id: Uuid) -> Result<OrderRow, ApiError> {
    let mut conn = state.db.get().await?;
    store::order_by_id(&mut conn, id).await?.filter(|o| o.account_id == account).ok_or_else(ApiError::not_found)
}

/// One of the caller's orders.
#[utoipa::path(
    tag = "billing",
    params(("order_id" = Uuid, Path, description = "order id")),
    responses(
        (status = 200, body = OrderView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []))
)]
#[get("/v1/billing/orders/{order_id}")]
async fn get_order(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let order = own_order(&state, account.0, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view(&order, None)))
}

/// Closes an unpaid order at WeChat Pay and here, so its bills can be ordered again. An order WeChat Pay reports
/// paid is settled instead (409 `order_paid`).
#[utoipa::path(
    tag = "billing",
    params(("order_id" = Uuid, Path, description = "order id")),
    responses(
        (status = 200, body = OrderView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "the order is paid"),
        (status = 502, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []))
)]
#[post("/v1/billing/orders/{order_id}/close")]
async fn close_order(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let order = own_order(&state, account.0, path.into_inner()).await?;
    let paid = || ApiError::new(StatusCode::CONFLICT, "order_paid", "The order is paid");
    match order.status.as_str() {
        "closed" => return Ok(HttpResponse::Ok().json(view(&order, None))),
        "paid" => return Err(paid()),
        _ => {}
    }
    let wx = wechatpay(&state)?;
    let mut conn = state.db.get().await?;
    // Ask WeChat Pay first: an order paid there must be settled, never closed.
    match wx.query(&order.sub_mchid, &order.out_trade_no).await {
        Ok(Some(tx)) if tx.trade_state == "SUCCESS" => {
            store::settle(&mut conn, &tx).await.map_err(settle_api_error)?;
            return Err(paid());
        }
        Ok(Some(_)) => match wx.close(&order.sub_mchid, &order.out_trade_no).await {
            Ok(()) => {}
            Err(WeChatPayError::Api { code, .. }) if code == "ORDERPAID" || code == "ORDER_PAID" => return Err(paid()),
            Err(e) => return Err(upstream(e)),
        },
        Ok(None) => {}
        Err(e) => return Err(upstream(e)),
    }
    store::mark_closed(&mut conn, order.id).await?;
    let order = store::order_by_id(&mut conn, order.id).await?.ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(view(&order, None)))
}

fn upstream(e: WeChatPayError) -> ApiError {
    tracing::warn!(error = %e, "WeChat Pay call failed");
    ApiError::new(StatusCode::BAD_GATEWAY, "wechatpay_unavailable", "WeChat Pay is unavailable")
}

fn settle_api_error(e: SettleError) -> ApiError {
    match e {
        SettleError::Refused(r) => ApiError::internal(anyhow::anyhow!("WeChat Pay report refused: {r}")),
        SettleError::Db(e) => ApiError::from(e),
    }
}

/// The e-receipt of a paid order (printable HTML).
#[utoipa::path(
    tag = "billing",
    params(("order_id" = Uuid, Path, description = "order id")),
    responses(
        (status = 200, content_type = "text/html", body = String),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []))
)]
#[get("/v1/billing/orders/{order_id}/receipt")]
async fn order_receipt(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let order = own_order(&state, account.0, path.into_inner()).await?;
    let mut conn = state.db.get().await?;
    let html = store::receipt_html(&mut conn, order.id).await?.ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(html))
}

/// Checks a receipt by its verification code (public; shows no personal data).
#[utoipa::path(
    tag = "billing",
    params(("code" = String, Path, description = "the verification code printed on the receipt")),
    responses(
        (status = 200, body = store::ReceiptCheck),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/billing/receipts/{code}")]
async fn verify_receipt(state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let code = path.into_inner();
    if code.len() != 16 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ApiError::not_found());
    }
    let mut conn = state.db.get().await?;
    let found = store::check_receipt(&mut conn, &code.to_ascii_uppercase()).await?.ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(found))
}

/// WeChat Pay's failure answer: a 4xx/5xx status with `{"code":"FAIL","message":…}`; WeChat Pay retries later.
fn notify_fail(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "code": "FAIL", "message": message }))
}

/// Payment and refund notifications from WeChat Pay. Verified with the platform key named by `Wechatpay-Serial`;
/// signature probes (`WECHATPAY/SIGNTEST/…`), stale timestamps, undecryptable resources and reports that do
/// not match our order or refund are refused with a 4xx and change nothing. `TRANSACTION.SUCCESS` settles the
/// order, `REFUND.*` books or closes the refund; each at most once; answers 204. Counted by event and outcome in
/// `linli_wechatpay_notifications_total`.
#[utoipa::path(
    tag = "billing",
    request_body(content = String, content_type = "application/json", description = "WeChat Pay notification"),
    responses(
        (status = 204, description = "received (also for a duplicate)"),
        (status = 400, description = "malformed or not matching our order or refund: `{\"code\":\"FAIL\"}`"),
        (status = 401, description = "signature, serial, timestamp or probe refused: `{\"code\":\"FAIL\"}`"),
        (status = 404, description = "unknown order or refund: `{\"code\":\"FAIL\"}`"),
        (status = 500, description = "temporary failure, WeChat Pay retries: `{\"code\":\"FAIL\"}`"),
    )
)]
#[post("/v1/payments/wechat/notify")]
async fn wechat_notify(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let (event, outcome, answer) = handle_notification(&state, &req, &body).await;
    state.metrics.wechatpay_notifications.with_label_values(&[event, outcome]).inc();
    answer
}

/// The notification's kind, what became of it (metric labels), and WeChat Pay's answer.
async fn handle_notification(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> (&'static str, &'static str, HttpResponse) {
    let unknown = "unknown";
    let Some(wx) = state.wechatpay.as_deref() else {
        return (unknown, "unavailable", notify_fail(StatusCode::SERVICE_UNAVAILABLE, "payments not configured"));
    };
    if body.len() > 64 * 1024 {
        return (unknown, "too_large", notify_fail(StatusCode::PAYLOAD_TOO_LARGE, "too large"));
    }
    let headers = SignedHeaders::from_map(|n| req.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_owned));
    let verified = headers.and_then(|h| wx.verify(&h, body, chrono::Utc::now().timestamp()));
    if let Err(e) = verified {
        let reason = refusal_label(e);
        tracing::warn!(reason, "WeChat Pay notification refused");
        return (unknown, reason, notify_fail(StatusCode::UNAUTHORIZED, "signature refused"));
    }
    let Ok(notification) = serde_json::from_slice::<Notification>(body) else {
        return (unknown, "malformed", notify_fail(StatusCode::BAD_REQUEST, "malformed"));
    };
    let event = match notification.event_type.as_str() {
        "TRANSACTION.SUCCESS" => "transaction",
        "REFUND.SUCCESS" | "REFUND.ABNORMAL" | "REFUND.CLOSED" => "refund",
        _ => {
            // Nothing we act on; acknowledge so it stops.
            tracing::info!(event = %notification.event_type, "WeChat Pay notification ignored");
            return ("other", "ignored", HttpResponse::NoContent().finish());
        }
    };
    let Ok(plain) = wx.decrypt(&notification.resource) else {
        return (event, "undecryptable", notify_fail(StatusCode::BAD_REQUEST, "cannot decrypt"));
    };
    let mut conn = match state.db.get().await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "no database connection for a notification");
            return (event, "error", notify_fail(StatusCode::INTERNAL_SERVER_ERROR, "try later"));
        }
    };
    let before_commit = || state.faults.reached(FaultPoint::NotifyBeforeCommit);
    let outcome = if event == "transaction" {
        let Ok(tx) = serde_json::from_slice::<Transaction>(&plain) else {
            return (event, "malformed", notify_fail(StatusCode::BAD_REQUEST, "malformed resource"));
        };
        if tx.sp_mchid != wx.sp_mchid {
            return (event, "mismatch", notify_fail(StatusCode::BAD_REQUEST, "merchant mismatch"));
        }
        store::settle_with(&mut conn, &tx, &before_commit).await.map(|s| match s {
            store::Settled::Applied => "applied",
            store::Settled::AlreadyPaid => "duplicate",
            store::Settled::NotPaid => "not_paid",
        })
    } else {
        let Ok(report) = serde_json::from_slice::<RefundReport>(&plain) else {
            return (event, "malformed", notify_fail(StatusCode::BAD_REQUEST, "malformed resource"));
        };
        if report.sp_mchid.as_deref() != Some(wx.sp_mchid.as_str()) {
            return (event, "mismatch", notify_fail(StatusCode::BAD_REQUEST, "merchant mismatch"));
        }
        store::settle_refund(&mut conn, &report).await.map(|s| match s {
            store::RefundSettled::Applied => "applied",
            store::RefundSettled::AlreadyDone => "duplicate",
            store::RefundSettled::Failed => "refund_failed",
            store::RefundSettled::Pending => "pending",
        })
    };
    match outcome {
        Ok(outcome) => {
            state.faults.reached(FaultPoint::NotifyAfterCommitBeforeAnswer);
            tracing::info!(outcome, notification = %notification.id, "WeChat Pay notification applied");
            (event, outcome, HttpResponse::NoContent().finish())
        }
        Err(SettleError::Refused(SettleRefusal::UnknownOrder | SettleRefusal::UnknownRefund)) => {
            (event, "unknown", notify_fail(StatusCode::NOT_FOUND, "unknown order or refund"))
        }
        Err(SettleError::Refused(r)) => {
            tracing::warn!(reason = %r, "WeChat Pay notification does not match our records");
            (event, "mismatch", notify_fail(StatusCode::BAD_REQUEST, "does not match the order"))
        }
        Err(SettleError::Db(e)) => {
            tracing::error!(error = %e, "settling a notification failed");
            (event, "error", notify_fail(StatusCode::INTERNAL_SERVER_ERROR, "try later"))
        }
    }
}

fn refusal_label(e: VerifyError) -> &'static str {
    match e {
        VerifyError::MissingHeader => "missing_header",
        VerifyError::Probe => "probe",
        VerifyError::Stale => "stale",
        VerifyError::UnknownSerial => "unknown_serial",
        VerifyError::BadSignature => "bad_signature",
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ArrearsQuery {
    /// At most this many bills (1–1000, default 200).
    pub limit: Option<i64>,
}

/// Unpaid bills of a community, oldest first (property company app). Arrears never block door access.
#[utoipa::path(
    tag = "billing",
    params(("community_id" = Uuid, Path, description = "community id"), ArrearsQuery),
    responses(
        (status = 200, body = BillList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("app_hmac" = []))
)]
#[get("/openapi/v1/communities/{community_id}/arrears")]
async fn arrears(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    query: web::Query<ArrearsQuery>,
) -> Result<HttpResponse, ApiError> {
    let community = path.into_inner();
    let mut conn = state.db.get().await?;
    let app = verify_org_request(&state, &mut conn, &req, b"").await?;
    app.require(&[OrgRole::Property], community)?;
    let limit = query.limit.unwrap_or(200).clamp(1, 1000);
    let bills = store::arrears(&mut conn, community, limit).await?;
    Ok(HttpResponse::Ok().json(BillList { bills }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRefund {
    pub out_trade_no: String,
    /// Chosen by the caller; sending the same number again is the same refund (safe retry).
    pub out_refund_no: String,
    pub amount_fen: i64,
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct RefundView {
    pub out_refund_no: String,
    pub refund_id: Option<String>,
    /// processing (WeChat Pay confirms later, then it is booked), success (booked as negative ledger entries),
    /// closed or abnormal.
    pub status: String,
}

/// Refunds (part of) a paid order (property company app). Stored before WeChat Pay is called; a retry with the
/// same `out_refund_no` re-sends the same refund. Refund numbers are the caller's within the order's sub-merchant
/// (as at WeChat Pay): a number another order of it uses is 409, or 404 when that order is outside the caller's
/// communities. Refunds of one order are checked against its payment one after the other. A refund WeChat Pay
/// refuses is closed (it does not count against the payment) and answered 409 `refund_not_enough` (WeChat Pay
/// has not that much left to refund) or 422 `refund_refused`, again for a retry of its number.
#[utoipa::path(
    tag = "billing",
    request_body = CreateRefund,
    responses(
        (status = 200, body = RefundView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "the number is used for another refund, or WeChat Pay cannot refund that much (`refund_not_enough`)"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "invalid, more than was paid, or refused by WeChat Pay (`refund_refused`)"),
        (status = 502, body = Problem, content_type = "application/problem+json", description = "WeChat Pay unreachable or busy: retry with the same number"),
    ),
    security(("app_hmac" = []))
)]
#[post("/openapi/v1/billing/refunds")]
async fn create_refund(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.get().await?;
    let app = verify_org_request(&state, &mut conn, &req, &body).await?;
    let input: CreateRefund = parse_json(&body)?;
    let no_ok = |s: &str, max: usize| {
        !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-|*@".contains(&b))
    };
    if !no_ok(&input.out_trade_no, 32)
        || !no_ok(&input.out_refund_no, 64)
        || input.amount_fen <= 0
        || input.reason.chars().count() > 80
    {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "refund_invalid", "Check the refund fields"));
    }
    let order: OrderRow = payment_orders::table
        .filter(payment_orders::out_trade_no.eq(&input.out_trade_no))
        .select(OrderRow::as_select())
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(ApiError::not_found)?;
    app.require(&[OrgRole::Property], order.community_id)?;
    if order.status != "paid" {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "order_not_paid", "Only a paid order is refunded"));
    }
    let wx = wechatpay(&state)?;
    let refund = match store::prepare_refund(&mut conn, &order, &input.out_refund_no, input.amount_fen, &input.reason).await? {
        RefundPrepared::Ready(refund) => refund,
        // Never say whether a number is used outside the caller's communities.
        RefundPrepared::OtherOrder { community } if !app.communities.contains(&community) => return Err(ApiError::not_found()),
        RefundPrepared::OtherOrder { .. } | RefundPrepared::OtherAmount => {
            return Err(ApiError::new(StatusCode::CONFLICT, "out_refund_no_used", "This refund number is used for another refund"));
        }
        RefundPrepared::TooLarge => {
            return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "refund_too_large", "More than was paid"));
        }
    };
    if let Some(code) = &refund.refused_code {
        return Err(refund_refused(code));
    }
    let answer = match wx
        .refund(&order.sub_mchid, &order.out_trade_no, &input.out_refund_no, &input.reason, refund.amount_fen, order.amount_fen)
        .await
    {
        Ok(answer) => answer,
        // A 4xx other than rate limiting: WeChat Pay made no refund and will not on a retry.
        Err(WeChatPayError::Api { status, code, .. }) if (400..500).contains(&status) && status != 429 => {
            // Error answers are not signed: keep the code only if it looks like one.
            let code = if !code.is_empty() && code.len() <= 64 && code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
                code
            } else {
                "UNKNOWN".to_owned()
            };
            tracing::warn!(refund = %refund.id, code, "WeChat Pay refused the refund");
            store::close_refused_refund(&mut conn, refund.id, &code).await?;
            return Err(refund_refused(&code));
        }
        Err(e) => return Err(upstream(e)),
    };
    // WeChat Pay's signed answer is a report like any other: applied the same way (booked if already SUCCESS).
    store::settle_refund(&mut conn, &answer).await.map_err(settle_api_error)?;
    let status: String = refunds::table.find(refund.id).select(refunds::status).first(&mut conn).await?;
    Ok(HttpResponse::Ok().json(RefundView {
        out_refund_no: answer.out_refund_no,
        refund_id: Some(answer.refund_id),
        status,
    }))
}

/// The answer to a refund WeChat Pay refused with `code` (its error code, shown as the detail).
fn refund_refused(code: &str) -> ApiError {
    let problem = if code == "NOT_ENOUGH" {
        ApiError::new(StatusCode::CONFLICT, "refund_not_enough", "WeChat Pay has not that much left to refund on this payment")
    } else {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "refund_refused", "WeChat Pay refused the refund")
    };
    problem.with_detail(format!("WeChat Pay: {code}; the refund is closed, use a new refund number"))
}

#[derive(Serialize, ToSchema)]
pub struct StatementView {
    /// The day (Asia/Shanghai).
    pub date: chrono::NaiveDate,
    /// Paid orders in our records and successful transactions in WeChat Pay's bill.
    pub ours: usize,
    pub theirs: usize,
    pub differences: Vec<super::statement::Difference>,
}

/// The daily statement of a community (property company app): our paid orders of the day against WeChat Pay's
/// trade bill of the community's sub-merchant, with every difference listed.
#[utoipa::path(
    tag = "billing",
    params(
        ("community_id" = Uuid, Path, description = "community id"),
        ("date" = String, Path, description = "YYYY-MM-DD (Asia/Shanghai)"),
    ),
    responses(
        (status = 200, body = StatementView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 502, body = Problem, content_type = "application/problem+json"),
    ),
    security(("app_hmac" = []))
)]
#[get("/openapi/v1/communities/{community_id}/statements/{date}")]
async fn daily_statement(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(Uuid, String)>,
) -> Result<HttpResponse, ApiError> {
    let (community, date) = path.into_inner();
    let mut conn = state.db.get().await?;
    let app = verify_org_request(&state, &mut conn, &req, b"").await?;
    app.require(&[OrgRole::Property], community)?;
    let date = chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d")
        .map_err(|_| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "date_invalid", "The date must be YYYY-MM-DD"))?;
    let wx = wechatpay(&state)?;
    let code: String = crate::schema::communities::table
        .find(community)
        .select(crate::schema::communities::code)
        .first(&mut conn)
        .await?;
    let sub_mchid = wx.sub_mchid(&code).ok_or_else(ApiError::not_found)?.to_owned();
    let ours = super::statement::our_payments(&mut conn, community, date).await?;
    let text = wx.trade_bill(&sub_mchid, date).await.map_err(upstream)?;
    let theirs = super::statement::parse_trade_bill(&text).map_err(|e| {
        tracing::warn!(error = %e, "unreadable trade bill");
        ApiError::new(StatusCode::BAD_GATEWAY, "trade_bill_unreadable", "WeChat Pay's bill could not be read")
    })?;
    let theirs: Vec<_> = theirs.into_iter().filter(|l| l.sub_mchid == sub_mchid).collect();
    let differences = super::statement::compare(&ours, &theirs);
    Ok(HttpResponse::Ok().json(StatementView {
        date,
        ours: ours.len(),
        theirs: theirs.iter().filter(|l| l.trade_state == "SUCCESS").count(),
        differences,
    }))
}
