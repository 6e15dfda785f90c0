//! Persistence of fee items, bills, orders, settlement, ledger entries and receipts.

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::fees::{self, FeeItem, Method, Period};
use crate::clients::wechatpay::{RefundReport, Transaction};
use crate::schema::{bills, communities, fee_items, ledger_entries, payment_order_bills, payment_orders, receipts, refunds, units};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no community {0}")]
    UnknownCommunity(String),
    #[error("fee calculation: {0}")]
    Fee(#[from] fees::FeeError),
    #[error("unknown fee method {0}")]
    BadMethod(String),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Creates or updates a fee item of a community (by code).
#[allow(clippy::too_many_arguments)]
pub async fn upsert_fee_item(
    conn: &mut AsyncPgConnection,
    community_id: Uuid,
    code: &str,
    name: &str,
    method: Method,
    rate_fen: i64,
    unit_kind: &str,
    public_income: bool,
) -> QueryResult<Uuid> {
    diesel::insert_into(fee_items::table)
        .values((
            fee_items::id.eq(Uuid::now_v7()),
            fee_items::community_id.eq(community_id),
            fee_items::code.eq(code),
            fee_items::name.eq(name),
            fee_items::method.eq(method.as_str()),
            fee_items::rate_fen.eq(rate_fen),
            fee_items::unit_kind.eq(unit_kind),
            fee_items::public_income.eq(public_income),
        ))
        .on_conflict((fee_items::community_id, fee_items::code))
        .do_update()
        .set((
            fee_items::name.eq(name),
            fee_items::method.eq(method.as_str()),
            fee_items::rate_fen.eq(rate_fen),
            fee_items::unit_kind.eq(unit_kind),
            fee_items::public_income.eq(public_income),
            fee_items::active.eq(true),
        ))
        .returning(fee_items::id)
        .get_result(conn)
        .await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct GenerateReport {
    pub created: usize,
    pub already_present: usize,
}

/// Generates the bills of `period` for every unit of the community and every active item that applies to it.
/// Idempotent: one bill per unit, item and period (unique key); existing bills are left as they are.
pub async fn generate_bills(
    conn: &mut AsyncPgConnection,
    community_code: &str,
    period: Period,
) -> Result<GenerateReport, StoreError> {
    let community_id: Uuid = communities::table
        .filter(communities::code.eq(community_code))
        .select(communities::id)
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| StoreError::UnknownCommunity(community_code.to_owned()))?;
    let items: Vec<(Uuid, String, i64, String)> = fee_items::table
        .filter(fee_items::community_id.eq(community_id))
        .filter(fee_items::active.eq(true))
        .select((fee_items::id, fee_items::method, fee_items::rate_fen, fee_items::unit_kind))
        .load(conn)
        .await?;
    // A unit the register retired before the period began (merged away, issue 24 item 7) is billed no more; one
    // retired during the period is billed for it.
    let unit_rows: Vec<(Uuid, String, i64)> = units::table
        .filter(units::community_id.eq(community_id))
        .filter(units::retired_at.is_null().or(units::retired_at.ge(period.starts_at())))
        .select((units::id, units::kind, units::exclusive_area_centi_m2))
        .load(conn)
        .await?;
    let period_text = period.to_string();
    let mut rows = Vec::new();
    for (item_id, method, rate_fen, unit_kind) in &items {
        let method = Method::parse(method).ok_or_else(|| StoreError::BadMethod(method.clone()))?;
        let item = FeeItem { method, rate_fen: *rate_fen, unit_kind: unit_kind.clone() };
        for (unit_id, kind, area) in &unit_rows {
            if !item.applies_to(kind) {
                continue;
            }
            let amount = fees::monthly_amount(&item, *area)?;
            if amount > 0 {
                rows.push((
                    bills::id.eq(Uuid::now_v7()),
                    bills::community_id.eq(community_id),
                    bills::unit_id.eq(*unit_id),
                    bills::fee_item_id.eq(*item_id),
                    bills::period.eq(period_text.clone()),
                    bills::amount_fen.eq(amount),
                ));
            }
        }
    }
    let total = rows.len();
    let created = conn
        .transaction(async |conn| {
            let mut created = 0;
            for chunk in rows.chunks(2000) {
                created += diesel::insert_into(bills::table).values(chunk).on_conflict_do_nothing().execute(conn).await?;
            }
            Ok::<_, diesel::result::Error>(created)
        })
        .await?;
    Ok(GenerateReport { created, already_present: total - created })
}

#[derive(Debug, Clone, QueryableByName, serde::Serialize, utoipa::ToSchema)]
pub struct BillView {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub community_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub unit_id: Uuid,
    #[diesel(sql_type = Text)]
    pub building: String,
    #[diesel(sql_type = Text)]
    pub unit: String,
    #[diesel(sql_type = Text)]
    pub item_code: String,
    #[diesel(sql_type = Text)]
    pub item_name: String,
    #[diesel(sql_type = Text)]
    pub period: String,
    #[diesel(sql_type = BigInt)]
    pub amount_fen: i64,
    #[diesel(sql_type = Text)]
    pub status: String,
}

const BILL_COLUMNS: &str = "b.id, b.community_id, b.unit_id, bl.code AS building, u.number AS unit, f.code AS item_code, \
     f.name AS item_name, b.period, b.amount_fen, b.status \
     FROM bills b JOIN fee_items f ON f.id = b.fee_item_id JOIN units u ON u.id = b.unit_id \
     JOIN buildings bl ON bl.id = u.building_id";

/// Units an account owns as a verified owner (enrollment linked it to the register person).
const OWNED_UNITS: &str = "SELECT o.unit_id FROM ownerships o JOIN account_persons ap ON ap.person_id = o.person_id \
     JOIN units ou ON ou.id = o.unit_id AND ou.community_id = ap.community_id WHERE ap.account_id = $1";

/// The bills of the units the account owns (verified owners only).
pub async fn owner_bills(conn: &mut AsyncPgConnection, account: Uuid) -> QueryResult<Vec<BillView>> {
    diesel::sql_query(format!(
        "SELECT {BILL_COLUMNS} WHERE b.unit_id IN ({OWNED_UNITS}) ORDER BY b.period, bl.code, u.number, f.code LIMIT 500"
    ))
    .bind::<SqlUuid, _>(account)
    .load(conn)
    .await
}

/// Unpaid bills of a community (arrears), oldest period first.
pub async fn arrears(conn: &mut AsyncPgConnection, community: Uuid, limit: i64) -> QueryResult<Vec<BillView>> {
    diesel::sql_query(format!(
        "SELECT {BILL_COLUMNS} WHERE b.community_id = $1 AND b.status = 'unpaid' \
         ORDER BY b.period, bl.code, u.number, f.code LIMIT $2"
    ))
    .bind::<SqlUuid, _>(community)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

#[derive(Debug, Clone, QueryableByName)]
pub struct LockedBill {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub community_id: Uuid,
    #[diesel(sql_type = Text)]
    pub community_code: String,
    #[diesel(sql_type = BigInt)]
    pub amount_fen: i64,
    #[diesel(sql_type = Text)]
    pub status: String,
}

/// The owner's bills among `ids`, locked for the rest of the transaction.
pub async fn lock_owner_bills(conn: &mut AsyncPgConnection, account: Uuid, ids: &[Uuid]) -> QueryResult<Vec<LockedBill>> {
    diesel::sql_query(format!(
        "SELECT b.id, b.community_id, c.code AS community_code, b.amount_fen, b.status FROM bills b \
         JOIN communities c ON c.id = b.community_id \
         WHERE b.id = ANY($2) AND b.unit_id IN ({OWNED_UNITS}) ORDER BY b.id FOR UPDATE OF b"
    ))
    .bind::<SqlUuid, _>(account)
    .bind::<Array<SqlUuid>, _>(ids)
    .load(conn)
    .await
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = payment_orders)]
pub struct OrderRow {
    pub id: Uuid,
    pub out_trade_no: String,
    pub community_id: Uuid,
    pub account_id: Uuid,
    pub sp_mchid: String,
    pub sub_mchid: String,
    pub amount_fen: i64,
    pub status: String,
    pub prepay_id: Option<String>,
    pub transaction_id: Option<String>,
}

pub async fn order_by_id(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<OrderRow>> {
    payment_orders::table.find(id).select(OrderRow::as_select()).first(conn).await.optional()
}

/// The open (created or prepaid) orders holding any of `bill_ids`, with the bills each holds.
pub async fn open_orders_for(conn: &mut AsyncPgConnection, bill_ids: &[Uuid]) -> QueryResult<Vec<(Uuid, Vec<Uuid>)>> {
    let order_ids: Vec<Uuid> = payment_order_bills::table
        .filter(payment_order_bills::bill_id.eq_any(bill_ids))
        .filter(payment_order_bills::open.eq(true))
        .select(payment_order_bills::order_id)
        .distinct()
        .load(conn)
        .await?;
    let mut out = Vec::new();
    for id in order_ids {
        let mut held: Vec<Uuid> = payment_order_bills::table
            .filter(payment_order_bills::order_id.eq(id))
            .select(payment_order_bills::bill_id)
            .load(conn)
            .await?;
        held.sort();
        out.push((id, held));
    }
    Ok(out)
}

/// Marks an order closed and frees its bills for a new order (only while it is not paid).
pub async fn mark_closed(conn: &mut AsyncPgConnection, order: Uuid) -> QueryResult<bool> {
    conn.transaction(async |conn| {
        let n = diesel::update(payment_orders::table.find(order))
            .filter(payment_orders::status.eq_any(["created", "prepaid"]))
            .set((payment_orders::status.eq("closed"), payment_orders::closed_at.eq(diesel::dsl::now)))
            .execute(conn)
            .await?;
        if n == 1 {
            diesel::update(payment_order_bills::table.filter(payment_order_bills::order_id.eq(order)))
                .set(payment_order_bills::open.eq(false))
                .execute(conn)
                .await?;
        }
        Ok(n == 1)
    })
    .await
}

/// What applying a transaction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// This call credited the order.
    Applied,
    /// It was credited before (a duplicate notification or a second reconciliation).
    AlreadyPaid,
    /// WeChat Pay does not report it paid.
    NotPaid,
}

/// Why a transaction report was refused (nothing changed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SettleRefusal {
    #[error("unknown order")]
    UnknownOrder,
    #[error("merchant does not match")]
    Merchant,
    #[error("amount or currency does not match")]
    Amount,
    #[error("unknown refund")]
    UnknownRefund,
}

#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    #[error(transparent)]
    Refused(SettleRefusal),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Applies a transaction reported by WeChat Pay (notification or query), exactly once: the order row is locked,
/// checked against the report (merchant, amount, currency), and credited only if not yet paid. Bills, ledger
/// entries and the receipt are written in the same transaction; their unique keys make a second write impossible.
pub async fn settle(conn: &mut AsyncPgConnection, tx: &Transaction) -> Result<Settled, SettleError> {
    settle_with(conn, tx, &|| {}).await
}

/// [`settle`], calling `before_commit` once everything is written and the transaction is about to commit (the
/// notification handler's fault-injection point).
pub async fn settle_with(
    conn: &mut AsyncPgConnection,
    tx: &Transaction,
    before_commit: &(dyn Fn() + Sync),
) -> Result<Settled, SettleError> {
    conn.transaction(async |conn| {
        let order: Option<OrderRow> = payment_orders::table
            .filter(payment_orders::out_trade_no.eq(&tx.out_trade_no))
            .select(OrderRow::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()?;
        let order = order.ok_or(SettleError::Refused(SettleRefusal::UnknownOrder))?;
        if order.sp_mchid != tx.sp_mchid || order.sub_mchid != tx.sub_mchid {
            return Err(SettleError::Refused(SettleRefusal::Merchant));
        }
        if tx.trade_state != "SUCCESS" {
            return Ok(Settled::NotPaid);
        }
        let amount_ok = tx.amount.as_ref().is_some_and(|a| a.total == order.amount_fen && a.currency == "CNY");
        if !amount_ok {
            return Err(SettleError::Refused(SettleRefusal::Amount));
        }
        if order.status == "paid" {
            if order.transaction_id.as_deref() != tx.transaction_id.as_deref() {
                tracing::warn!(order = %order.id, "paid order reported again with another transaction id");
            }
            return Ok(Settled::AlreadyPaid);
        }
        if order.status == "closed" {
            // Paid at WeChat after we closed it locally (a race with close): the money is in, so credit it.
            tracing::warn!(order = %order.id, "payment for a locally closed order");
        }
        diesel::update(payment_orders::table.find(order.id))
            .set((
                payment_orders::status.eq("paid"),
                payment_orders::transaction_id.eq(&tx.transaction_id),
                payment_orders::paid_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
        let bill_ids: Vec<Uuid> = payment_order_bills::table
            .filter(payment_order_bills::order_id.eq(order.id))
            .select(payment_order_bills::bill_id)
            .load(conn)
            .await?;
        diesel::update(bills::table.filter(bills::id.eq_any(&bill_ids)).filter(bills::status.eq("unpaid")))
            .set((bills::status.eq("paid"), bills::paid_order_id.eq(order.id), bills::paid_at.eq(diesel::dsl::now)))
            .execute(conn)
            .await?;
        write_ledger_entries(conn, order.id, order.community_id).await?;
        super::receipt::issue(conn, &order, tx.transaction_id.as_deref()).await?;
        before_commit();
        Ok(Settled::Applied)
    })
    .await
}

/// One income entry per book: common-part items (public income) apart from the community's other income.
async fn write_ledger_entries(conn: &mut AsyncPgConnection, order: Uuid, community: Uuid) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO ledger_entries (id, community_id, book, amount_fen, source, order_id) \
         SELECT gen_random_uuid(), $2, CASE WHEN f.public_income THEN 'public_income' ELSE 'community_income' END, \
                sum(pob.amount_fen), 'wechatpay', $1 \
         FROM payment_order_bills pob JOIN bills b ON b.id = pob.bill_id JOIN fee_items f ON f.id = b.fee_item_id \
         WHERE pob.order_id = $1 GROUP BY f.public_income \
         ON CONFLICT (order_id, book) WHERE refund_id IS NULL DO NOTHING",
    )
    .bind::<SqlUuid, _>(order)
    .bind::<SqlUuid, _>(community)
    .execute(conn)
    .await?;
    Ok(())
}

/// What applying a refund report did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundSettled {
    /// This call booked the refund (status success, negative ledger entries).
    Applied,
    /// It was booked before (a duplicate notification or a second query).
    AlreadyDone,
    /// WeChat Pay closed it or flagged it abnormal: nothing booked.
    Failed,
    /// Still processing at WeChat Pay.
    Pending,
}

/// Applies a refund reported by WeChat Pay (its answer, its query or a `REFUND.*` notification), exactly once:
/// the refund row is locked and checked against the report (order, merchant, amounts); a SUCCESS books the
/// refund as negative ledger entries, split over the books the payment was credited to
/// ([`super::ledger::allocate_refund`]), in the same transaction; their unique key makes a second booking
/// impossible.
pub async fn settle_refund(conn: &mut AsyncPgConnection, report: &RefundReport) -> Result<RefundSettled, SettleError> {
    conn.transaction(async |conn| {
        // A refund number is unique per sub-merchant, not platform-wide: the refund is found through its order.
        let order: Option<OrderRow> = payment_orders::table
            .filter(payment_orders::out_trade_no.eq(&report.out_trade_no))
            .select(OrderRow::as_select())
            .first(conn)
            .await
            .optional()?;
        let order = order.ok_or(SettleError::Refused(SettleRefusal::UnknownRefund))?;
        let row: Option<(Uuid, i64, String, Option<String>)> = refunds::table
            .filter(refunds::order_id.eq(order.id))
            .filter(refunds::out_refund_no.eq(&report.out_refund_no))
            .select((refunds::id, refunds::amount_fen, refunds::status, refunds::refused_code))
            .for_update()
            .first(conn)
            .await
            .optional()?;
        let (refund, amount, status, refused_code) = row.ok_or(SettleError::Refused(SettleRefusal::UnknownRefund))?;
        let merchant_ok = report.sp_mchid.as_ref().is_none_or(|m| *m == order.sp_mchid)
            && report.sub_mchid.as_ref().is_none_or(|m| *m == order.sub_mchid);
        if !merchant_ok {
            return Err(SettleError::Refused(SettleRefusal::Merchant));
        }
        let currency_ok = report.amount.currency.as_deref().is_none_or(|c| c == "CNY");
        if report.amount.refund != amount || report.amount.total != order.amount_fen || !currency_ok {
            return Err(SettleError::Refused(SettleRefusal::Amount));
        }
        if status == "success" {
            return Ok(RefundSettled::AlreadyDone);
        }
        let (interim, outcome) = match report.refund_status.as_str() {
            "SUCCESS" => ("", RefundSettled::Applied),
            "CLOSED" => ("closed", RefundSettled::Failed),
            "ABNORMAL" => ("abnormal", RefundSettled::Failed),
            _ => ("processing", RefundSettled::Pending),
        };
        // A refusal's code describes a closed refund only (WeChat Pay reporting it after all supersedes it).
        let refused_code = refused_code.filter(|_| interim == "closed");
        if outcome != RefundSettled::Applied {
            diesel::update(refunds::table.find(refund))
                .set((
                    refunds::status.eq(interim),
                    refunds::refund_id.eq(&report.refund_id),
                    refunds::refused_code.eq(&refused_code),
                ))
                .execute(conn)
                .await?;
            return Ok(outcome);
        }
        let credited: Vec<(String, i64)> = ledger_entries::table
            .filter(ledger_entries::order_id.eq(order.id))
            .filter(ledger_entries::refund_id.is_null())
            .order(ledger_entries::book)
            .select((ledger_entries::book, ledger_entries::amount_fen))
            .load(conn)
            .await?;
        let parts = super::ledger::allocate_refund(amount, &credited).ok_or(SettleError::Refused(SettleRefusal::Amount))?;
        for (book, fen) in parts {
            diesel::sql_query(
                "INSERT INTO ledger_entries (id, community_id, book, amount_fen, source, order_id, refund_id) \
                 VALUES (gen_random_uuid(), $1, $2, $3, 'wechatpay_refund', $4, $5) \
                 ON CONFLICT (refund_id, book) WHERE refund_id IS NOT NULL DO NOTHING",
            )
            .bind::<SqlUuid, _>(order.community_id)
            .bind::<Text, _>(book)
            .bind::<BigInt, _>(-fen)
            .bind::<SqlUuid, _>(order.id)
            .bind::<SqlUuid, _>(refund)
            .execute(conn)
            .await?;
        }
        diesel::update(refunds::table.find(refund))
            .set((
                refunds::status.eq("success"),
                refunds::refund_id.eq(&report.refund_id),
                refunds::refused_code.eq(None::<String>),
                refunds::succeeded_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
        Ok(RefundSettled::Applied)
    })
    .await
}

/// Refunds asked of WeChat Pay and not yet final, with the order's sub-merchant (the reconciliation job's list).
pub async fn pending_refunds(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<(String, String)>> {
    refunds::table
        .filter(refunds::status.eq_any(["requested", "processing"]))
        .order(refunds::created_at)
        .limit(limit)
        .select((refunds::out_refund_no, refunds::sub_mchid))
        .load(conn)
        .await
}

/// A refund as its number names it within one sub-merchant (where WeChat Pay keeps numbers unique).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refunds)]
pub struct RefundRow {
    pub id: Uuid,
    pub order_id: Uuid,
    pub amount_fen: i64,
    pub status: String,
    pub refund_id: Option<String>,
    pub refused_code: Option<String>,
}

/// What [`prepare_refund`] decided.
#[derive(Debug)]
pub enum RefundPrepared {
    /// The refund row (new, or the one this number already names on this order): ask WeChat Pay.
    Ready(RefundRow),
    /// The number names a refund of another order; `community` is that order's.
    OtherOrder { community: Uuid },
    /// The number names a refund of this order with another amount.
    OtherAmount,
    /// With this refund, the order's open and booked refunds would exceed its payment.
    TooLarge,
}

/// Stores a refund of a paid order before WeChat Pay is asked, or finds the one its number already names (a
/// retry). The order row is locked first, so parallel refunds of one order are summed one after the other; a
/// refund that does not fit is not stored.
pub async fn prepare_refund(
    conn: &mut AsyncPgConnection,
    order: &OrderRow,
    out_refund_no: &str,
    amount_fen: i64,
    reason: &str,
) -> QueryResult<RefundPrepared> {
    /// Ends the transaction with a rollback: the new row of a refund that does not fit is not kept.
    enum Abort {
        TooLarge,
        Db(diesel::result::Error),
    }
    impl From<diesel::result::Error> for Abort {
        fn from(e: diesel::result::Error) -> Self {
            Self::Db(e)
        }
    }
    let outcome = conn.transaction(async |conn| {
        payment_orders::table.find(order.id).select(payment_orders::id).for_update().first::<Uuid>(conn).await?;
        diesel::insert_into(refunds::table)
            .values((
                refunds::id.eq(Uuid::now_v7()),
                refunds::out_refund_no.eq(out_refund_no),
                refunds::order_id.eq(order.id),
                refunds::sub_mchid.eq(&order.sub_mchid),
                refunds::amount_fen.eq(amount_fen),
                refunds::reason.eq(reason),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        let row: RefundRow = refunds::table
            .filter(refunds::sub_mchid.eq(&order.sub_mchid))
            .filter(refunds::out_refund_no.eq(out_refund_no))
            .select(RefundRow::as_select())
            .first(conn)
            .await?;
        if row.order_id != order.id {
            let community =
                payment_orders::table.find(row.order_id).select(payment_orders::community_id).first(conn).await?;
            return Ok::<_, Abort>(RefundPrepared::OtherOrder { community });
        }
        if row.amount_fen != amount_fen {
            return Ok(RefundPrepared::OtherAmount);
        }
        let amounts: Vec<i64> = refunds::table
            .filter(refunds::order_id.eq(order.id))
            .filter(refunds::status.ne("closed"))
            .select(refunds::amount_fen)
            .load(conn)
            .await?;
        if amounts.iter().sum::<i64>() > order.amount_fen {
            return Err(Abort::TooLarge);
        }
        Ok(RefundPrepared::Ready(row))
    })
    .await;
    match outcome {
        Ok(prepared) => Ok(prepared),
        Err(Abort::TooLarge) => Ok(RefundPrepared::TooLarge),
        Err(Abort::Db(e)) => Err(e),
    }
}

/// Closes a refund WeChat Pay refused outright (it made none), keeping its error code, so it neither counts
/// against the payment nor waits for a confirmation. Only a refund WeChat Pay never accepted is closed.
pub async fn close_refused_refund(conn: &mut AsyncPgConnection, refund: Uuid, code: &str) -> QueryResult<bool> {
    let n = diesel::update(refunds::table.find(refund))
        .filter(refunds::status.eq("requested"))
        .set((refunds::status.eq("closed"), refunds::refused_code.eq(code)))
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// Orders still open after `older_than_secs` (the reconciliation job's work list).
pub async fn pending_orders(conn: &mut AsyncPgConnection, older_than_secs: i64, limit: i64) -> QueryResult<Vec<OrderRow>> {
    payment_orders::table
        .filter(payment_orders::status.eq_any(["created", "prepaid"]))
        .filter(payment_orders::created_at.lt(chrono::Utc::now() - chrono::Duration::seconds(older_than_secs)))
        .order(payment_orders::created_at)
        .limit(limit)
        .select(OrderRow::as_select())
        .load(conn)
        .await
}

pub async fn receipt_html(conn: &mut AsyncPgConnection, order: Uuid) -> QueryResult<Option<String>> {
    receipts::table.filter(receipts::order_id.eq(order)).select(receipts::html).first(conn).await.optional()
}

#[derive(Debug, QueryableByName, serde::Serialize, utoipa::ToSchema)]
pub struct ReceiptCheck {
    #[diesel(sql_type = Text)]
    pub number: String,
    #[diesel(sql_type = Text)]
    pub community: String,
    #[diesel(sql_type = BigInt)]
    pub amount_fen: i64,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub issued_at: chrono::DateTime<chrono::Utc>,
    #[diesel(sql_type = Bool)]
    pub refunded: bool,
}

/// What anyone holding a receipt's verification code may see (no personal data).
pub async fn check_receipt(conn: &mut AsyncPgConnection, code: &str) -> QueryResult<Option<ReceiptCheck>> {
    diesel::sql_query(
        "SELECT r.number, c.name AS community, o.amount_fen, r.issued_at, \
         EXISTS (SELECT 1 FROM refunds f WHERE f.order_id = o.id AND f.status = 'success') AS refunded \
         FROM receipts r JOIN payment_orders o ON o.id = r.order_id JOIN communities c ON c.id = o.community_id \
         WHERE r.verification_code = $1",
    )
    .bind::<Text, _>(code)
    .get_result(conn)
    .await
    .optional()
}

/// Seconds since the order was created.
pub async fn order_age_secs(
    conn: &mut AsyncPgConnection,
    order: Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> QueryResult<i64> {
    let created: chrono::DateTime<chrono::Utc> =
        payment_orders::table.find(order).select(payment_orders::created_at).first(conn).await?;
    Ok((now - created).num_seconds())
}
