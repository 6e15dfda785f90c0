//! E-receipts: a printable HTML page per settled order, with a verification code anyone can check at
//! `GET /v1/billing/receipts/{code}` (no personal data is shown there).

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rand::Rng;
use uuid::Uuid;

use super::fees::yuan;
use super::store::OrderRow;
use crate::schema::receipts;

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    community: String,
    #[diesel(sql_type = Text)]
    building: String,
    #[diesel(sql_type = Text)]
    unit: String,
    #[diesel(sql_type = Text)]
    item: String,
    #[diesel(sql_type = Text)]
    period: String,
    #[diesel(sql_type = BigInt)]
    amount_fen: i64,
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// 16 characters from an alphabet without look-alikes (0/O, 1/I/L), about 80 bits.
fn verification_code() -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    let mut rng = rand::thread_rng();
    (0..16).map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())])).collect()
}

/// Writes the receipt of a just-settled order (once: the order id is unique in `receipts`).
pub async fn issue(conn: &mut AsyncPgConnection, order: &OrderRow, transaction_id: Option<&str>) -> QueryResult<()> {
    let lines: Vec<Line> = diesel::sql_query(
        "SELECT c.name AS community, bl.name AS building, u.number AS unit, f.name AS item, b.period, pob.amount_fen \
         FROM payment_order_bills pob JOIN bills b ON b.id = pob.bill_id JOIN fee_items f ON f.id = b.fee_item_id \
         JOIN units u ON u.id = b.unit_id JOIN buildings bl ON bl.id = u.building_id \
         JOIN communities c ON c.id = b.community_id WHERE pob.order_id = $1 ORDER BY b.period, bl.code, u.number, f.code",
    )
    .bind::<SqlUuid, _>(order.id)
    .load(conn)
    .await?;
    let number = format!("R{}", order.out_trade_no);
    let code = verification_code();
    let community = match lines.as_slice() {
        [l, ..] => l.community.clone(),
        [] => String::new(),
    };
    let mut rows = String::new();
    for l in &lines {
        rows.push_str(&format!(
            "<tr><td>{} {}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>\n",
            escape(&l.building),
            escape(&l.unit),
            escape(&l.item),
            escape(&l.period),
            yuan(l.amount_fen)
        ));
    }
    // Shown in Asia/Shanghai (UTC+8, no daylight saving).
    let now = (chrono::Utc::now() + chrono::Duration::hours(8)).naive_utc();
    let html = format!(
        "<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>电子收据 {number}</title>\
         <style>body{{font-family:sans-serif;max-width:40em;margin:2em auto}}td,th{{padding:.3em .6em;border-bottom:1px solid #ccc}}\
         .n{{text-align:right}}@media print{{button{{display:none}}}}</style></head><body>\n\
         <h1>{community} 电子收据</h1>\n<p>收据编号 {number}<br>微信支付订单号 {transaction}<br>开具时间 {issued} (北京时间)</p>\n\
         <table><tr><th>房屋</th><th>项目</th><th>期间</th><th class=\"n\">金额 (元)</th></tr>\n{rows}\
         <tr><th colspan=\"3\">合计</th><th class=\"n\">{total}</th></tr></table>\n\
         <p>验证码 <strong>{code}</strong> (在小程序或 /v1/billing/receipts/{code} 核验)</p>\n\
         <button onclick=\"window.print()\">打印</button></body></html>\n",
        community = escape(&community),
        transaction = escape(transaction_id.unwrap_or("")),
        issued = now.format("%Y-%m-%d %H:%M:%S"),
        total = yuan(order.amount_fen),
    );
    diesel::insert_into(receipts::table)
        .values((
            receipts::id.eq(Uuid::now_v7()),
            receipts::order_id.eq(order.id),
            receipts::number.eq(&number),
            receipts::verification_code.eq(&code),
            receipts::html.eq(&html),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(())
}
