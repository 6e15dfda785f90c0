//! The daily statement: our settled orders of a day compared with WeChat Pay's trade bill of that day
//! (`GET /v3/bill/tradebill`, then its `download_url`; SHA1 checked). Differences are listed, never corrected
//! automatically: an order WeChat Pay has and we do not is settled by the reconciliation job, anything else is
//! for a person to look at.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::schema::payment_orders;

/// One transaction line of WeChat Pay's trade bill.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BillLine {
    pub sub_mchid: String,
    pub transaction_id: String,
    pub out_trade_no: String,
    pub trade_state: String,
    pub amount_fen: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BillParseError {
    #[error("the bill has no header line")]
    NoHeader,
    #[error("column {0} is missing")]
    MissingColumn(&'static str),
    #[error("line {0} is malformed")]
    BadLine(usize),
}

/// Yuan text with up to two decimals (`0.01`, `123.4`, `15`) → fen.
pub fn yuan_to_fen(text: &str) -> Option<i64> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || frac.len() > 2 || !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().ok()? };
    whole.checked_mul(100)?.checked_add(frac)
}

/// Parses the CSV of a trade bill: a header line, transaction lines whose fields start with a backtick, then a
/// summary introduced by a line starting `总交易单数`. Columns are found by their header names.
pub fn parse_trade_bill(text: &str) -> Result<Vec<BillLine>, BillParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().ok_or(BillParseError::NoHeader)?.split(',').map(str::trim).collect();
    let col = |name: &'static str| header.iter().position(|h| *h == name).ok_or(BillParseError::MissingColumn(name));
    let (sub, tx, otn, state, amount) = (col("特约商户号")?, col("微信订单号")?, col("商户订单号")?, col("交易状态")?, col("应结订单金额")?);
    let mut out = Vec::new();
    for (i, line) in lines.enumerate() {
        if line.starts_with("总交易单数") {
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(|f| f.trim().trim_start_matches('`')).collect();
        let get = |c: usize| fields.get(c).copied().ok_or(BillParseError::BadLine(i + 2));
        out.push(BillLine {
            sub_mchid: get(sub)?.to_owned(),
            transaction_id: get(tx)?.to_owned(),
            out_trade_no: get(otn)?.to_owned(),
            trade_state: get(state)?.to_owned(),
            amount_fen: yuan_to_fen(get(amount)?).ok_or(BillParseError::BadLine(i + 2))?,
        });
    }
    Ok(out)
}

/// An order as we recorded it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OurPayment {
    pub out_trade_no: String,
    pub transaction_id: Option<String>,
    pub amount_fen: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Difference {
    /// Paid at WeChat Pay, not paid in our records.
    MissingHere { out_trade_no: String, amount_fen: i64 },
    /// Paid in our records, absent from WeChat Pay's bill.
    MissingAtWechat { out_trade_no: String, amount_fen: i64 },
    /// Both have it, with different amounts or transaction ids.
    Mismatch { out_trade_no: String, ours_fen: i64, theirs_fen: i64 },
}

/// Compares WeChat Pay's successful transactions with our paid orders of the same day and sub-merchant.
pub fn compare(ours: &[OurPayment], theirs: &[BillLine]) -> Vec<Difference> {
    use std::collections::BTreeMap;
    let ours: BTreeMap<&str, &OurPayment> = ours.iter().map(|o| (o.out_trade_no.as_str(), o)).collect();
    let theirs: BTreeMap<&str, &BillLine> =
        theirs.iter().filter(|l| l.trade_state == "SUCCESS").map(|l| (l.out_trade_no.as_str(), l)).collect();
    let mut out = Vec::new();
    for (otn, t) in &theirs {
        match ours.get(otn) {
            None => out.push(Difference::MissingHere { out_trade_no: (*otn).to_owned(), amount_fen: t.amount_fen }),
            Some(o) if o.amount_fen != t.amount_fen || o.transaction_id.as_deref() != Some(t.transaction_id.as_str()) => {
                out.push(Difference::Mismatch { out_trade_no: (*otn).to_owned(), ours_fen: o.amount_fen, theirs_fen: t.amount_fen })
            }
            Some(_) => {}
        }
    }
    for (otn, o) in &ours {
        if !theirs.contains_key(otn) {
            out.push(Difference::MissingAtWechat { out_trade_no: (*otn).to_owned(), amount_fen: o.amount_fen });
        }
    }
    out
}

/// Our orders of a community paid on `date` (Asia/Shanghai, UTC+8).
pub async fn our_payments(
    conn: &mut AsyncPgConnection,
    community: uuid::Uuid,
    date: chrono::NaiveDate,
) -> QueryResult<Vec<OurPayment>> {
    let start = date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc() - chrono::Duration::hours(8);
    let end = start + chrono::Duration::days(1);
    let rows: Vec<(String, Option<String>, i64)> = payment_orders::table
        .filter(payment_orders::community_id.eq(community))
        .filter(payment_orders::status.eq("paid"))
        .filter(payment_orders::paid_at.ge(start))
        .filter(payment_orders::paid_at.lt(end))
        .select((payment_orders::out_trade_no, payment_orders::transaction_id, payment_orders::amount_fen))
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|(out_trade_no, transaction_id, amount_fen)| OurPayment { out_trade_no, transaction_id, amount_fen }).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Column layout of WeChat Pay's trade bill (ALL), fields prefixed with a backtick.
    const BILL: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\n\
`2026-12-01 10:00:00,`wx0000sandbox0000,`1900000100,`1900000109,`,`4200000000000000000000000001,`LL20261201AAAAAAAAAAAAAAAA,`o1,`JSAPI,`SUCCESS,`OTHERS,`CNY,`446.76,`0.00,`0,`0,`0.00,`0.00,`,`,`物业缴费,`,`2.68000,`0.60%,`446.76,`0.00,`\n\
`2026-12-01 11:00:00,`wx0000sandbox0000,`1900000100,`1900000109,`,`4200000000000000000000000002,`LL20261201BBBBBBBBBBBBBBBB,`o2,`JSAPI,`SUCCESS,`OTHERS,`CNY,`150,`0.00,`0,`0,`0.00,`0.00,`,`,`物业缴费,`,`0.90000,`0.60%,`150,`0.00,`\n\
总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n\
`2,`596.76,`0.00,`0.00,`3.58000,`596.76,`0.00\n";

    #[test]
    fn parses_the_trade_bill_layout() {
        let lines = parse_trade_bill(BILL).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].out_trade_no, "LL20261201AAAAAAAAAAAAAAAA");
        assert_eq!(lines[0].amount_fen, 44676);
        assert_eq!(lines[1].amount_fen, 15000);
        assert_eq!(lines[1].sub_mchid, "1900000109");
    }

    #[test]
    fn yuan_amounts_to_fen() {
        assert_eq!(yuan_to_fen("0.01"), Some(1));
        assert_eq!(yuan_to_fen("123.4"), Some(12340));
        assert_eq!(yuan_to_fen("15"), Some(1500));
        assert_eq!(yuan_to_fen("1.234"), None);
        assert_eq!(yuan_to_fen("-1.00"), None);
        assert_eq!(yuan_to_fen(""), None);
    }

    #[test]
    fn lists_every_kind_of_difference() {
        let theirs = parse_trade_bill(BILL).unwrap();
        let ours = vec![
            OurPayment { out_trade_no: "LL20261201AAAAAAAAAAAAAAAA".into(), transaction_id: Some("4200000000000000000000000001".into()), amount_fen: 44676 },
            OurPayment { out_trade_no: "LL20261201CCCCCCCCCCCCCCCC".into(), transaction_id: Some("42x".into()), amount_fen: 100 },
        ];
        assert_eq!(
            compare(&ours, &theirs),
            vec![
                Difference::MissingHere { out_trade_no: "LL20261201BBBBBBBBBBBBBBBB".into(), amount_fen: 15000 },
                Difference::MissingAtWechat { out_trade_no: "LL20261201CCCCCCCCCCCCCCCC".into(), amount_fen: 100 },
            ]
        );
        let mut wrong = ours.clone();
        wrong[0].amount_fen = 44675;
        assert!(compare(&wrong, &theirs).contains(&Difference::Mismatch {
            out_trade_no: "LL20261201AAAAAAAAAAAAAAAA".into(),
            ours_fen: 44675,
            theirs_fen: 44676
        }));
    }
}
