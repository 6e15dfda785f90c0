//! Bills and WeChat Pay: the server against the sandbox's WeChat Pay v3 over real HTTP on 127.0.0.1.
//!
//! Expected amounts are computed here by hand from the register file (decimal m² × rate, half-up), never taken
//! from the server; notification signatures in the forged cases are made here with the test platform key.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use linli_server::billing::fees::{Method, Period};
use linli_server::billing::store;
use linli_server::clients::wechatpay::{PlatformKeyConfig, WeChatPay, WeChatPayConfig};
use linli_server::schema::{accounts, bills, ledger_entries, payment_orders, receipts};
use uuid::Uuid;

use crate::common::{TestApp, demo_register, repo_root};

const SUB_MCHID: &str = "1900000109";
const OPENID: &str = "o-billing-test-openid";

fn keys(name: &str) -> std::path::PathBuf {
    repo_root().join("fixtures/test-keys").join(name)
}

fn wechatpay_config(base_url: &str, notify_url: &str) -> WeChatPayConfig {
    WeChatPayConfig {
        base_url: base_url.to_owned(),
        sp_appid: linli_sandbox::Credentials::default().wechat_appid,
        sp_mchid: linli_sandbox::wechatpay::SP_MCHID.to_owned(),
        merchant_serial_no: linli_sandbox::wechatpay::MERCHANT_SERIAL.to_owned(),
        merchant_key_file: keys("test-wechatpay-merchant.key"),
        apiv3_key: linli_sandbox::wechatpay::APIV3_KEY.to_owned().into(),
        notify_url: notify_url.to_owned(),
        platform_keys: vec![
            PlatformKeyConfig {
                serial: linli_sandbox::wechatpay::PLATFORM_PUB_KEY_ID.to_owned(),
                file: keys("test-wechatpay-platform.pub"),
            },
            PlatformKeyConfig {
                serial: linli_sandbox::wechatpay::PLATFORM_CERT_SERIAL.to_owned(),
                file: keys("test-wechatpay-platform-cert.pem"),
            },
        ],
        sub_mchids: HashMap::from([("SH-PD-0001".to_owned(), SUB_MCHID.to_owned())]),
        notify_max_skew_secs: 300,
    }
}

/// Half-up fen of `rate_fen × area` where the area is the register's decimal text (`89.35`), computed on the
/// decimal digits directly.
fn hand_fee(rate_fen: i64, area_text: &str) -> i64 {
    let (whole, frac) = area_text.split_once('.').unwrap_or((area_text, ""));
    let frac = format!("{frac:0<2}");
    let hundredths = rate_fen * (whole.parse::<i64>().unwrap() * 100 + frac.parse::<i64>().unwrap());
    let (q, r) = (hundredths / 100, hundredths % 100);
    if r >= 50 { q + 1 } else { q }
}

/// A person owning exactly one unit, a residence: (id number, area text).
fn single_residence_owner() -> (String, String) {
    let mut rdr = csv::Reader::from_path(demo_register()).unwrap();
    let mut units = HashMap::new();
    let mut owned: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for rec in rdr.records() {
        let r = rec.unwrap();
        let key = format!("{}/{}", &r[2], &r[3]);
        match &r[0] {
            "unit" => {
                units.insert(key, (r[5].to_owned(), r[6].to_owned()));
            }
            "owner" if &r[9] == "person" => owned.entry(r[10].to_owned()).or_default().push((key, String::new())),
            _ => {}
        }
    }
    let mut ids: Vec<_> = owned.iter().filter(|(_, u)| u.len() == 1).collect();
    ids.sort();
    for (id, u) in ids {
        let (kind, area) = &units[&u[0].0];
        if kind == "residence" {
            return (id.clone(), area.clone());
        }
    }
    panic!("no single-residence owner in the demo register");
}

struct Fixture {
    t: TestApp,
    sandbox_url: String,
    server_url: String,
    token: String,
    /// The owner's two bills (2026-11 and 2026-12 property fee) and their hand-computed amount each.
    bills: Vec<Uuid>,
    fee: i64,
    http: reqwest::Client,
    _sandbox: linli_sandbox::Sandbox,
}

const PROPERTY_RATE_FEN: i64 = 250;

async fn setup(notify_override: Option<&str>) -> Fixture {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut t = TestApp::new().await;
    let community = t.import_demo().await;
    let mut conn = t.conn().await;
    store::upsert_fee_item(&mut conn, community, "property", "物业费", Method::PerArea, PROPERTY_RATE_FEN, "residence", false)
        .await
        .unwrap();
    store::upsert_fee_item(&mut conn, community, "parking", "车位管理费", Method::Fixed, 15000, "parking", true)
        .await
        .unwrap();
    for period in ["2026-11", "2026-12"] {
        store::generate_bills(&mut conn, "SH-PD-0001", Period::parse(period).unwrap()).await.unwrap();
    }

    let sandbox = linli_sandbox::start(linli_sandbox::SandboxConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls_listen: None,
        fixtures: repo_root().join("fixtures"),
        register: None,
        credentials: linli_sandbox::Credentials::default(),
    })
    .await
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server_url = format!("http://{}", listener.local_addr().unwrap());
    let notify_url = notify_override.map(str::to_owned).unwrap_or(format!("{server_url}/v1/payments/wechat/notify"));
    let wx = WeChatPay::from_config(&wechatpay_config(&sandbox.base_url(), &notify_url)).unwrap();
    t.state.wechatpay = Some(Arc::new(wx));
    let state = t.state.clone();
    let server = actix_web::HttpServer::new(move || linli_server::http::app(state.clone(), 64 * 1024))
        .workers(2)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
    tokio::spawn(server);

    let (account, token) = t.account().await;
    let enc = t.state.pii.encrypt(linli_server::pii::Column::AccountOpenid, OPENID).unwrap();
    diesel::update(accounts::table.find(account)).set(accounts::wx_openid_enc.eq(enc)).execute(&mut conn).await.unwrap();
    let (id_number, area) = single_residence_owner();
    t.link_person(account, community, &id_number).await;
    let http = reqwest::Client::new();
    let list: serde_json::Value = http
        .get(format!("{server_url}/v1/billing/bills"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fee = hand_fee(PROPERTY_RATE_FEN, &area);
    let owner_bills = list["bills"].as_array().unwrap();
    assert_eq!(owner_bills.len(), 2, "{list}");
    for b in owner_bills {
        assert_eq!(b["amount_fen"], fee, "{b}");
        assert_eq!(b["status"], "unpaid");
    }
    let bills = owner_bills.iter().map(|b| b["id"].as_str().unwrap().parse().unwrap()).collect();
    drop(conn);
    Fixture { t, sandbox_url: sandbox.base_url(), server_url, token, bills, fee, http, _sandbox: sandbox }
}

impl Fixture {
    async fn order(&self, bills: &[Uuid], key: &str) -> (u16, serde_json::Value) {
        let resp = self
            .http
            .post(format!("{}/v1/billing/orders", self.server_url))
            .bearer_auth(&self.token)
            .header("Idempotency-Key", key)
            .json(&serde_json::json!({ "bill_ids": bills }))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap_or(serde_json::Value::Null))
    }

    async fn counts(&self, out_trade_no: &str) -> (String, i64, i64, Vec<String>) {
        let mut conn = self.t.conn().await;
        let (id, status): (Uuid, String) = payment_orders::table
            .filter(payment_orders::out_trade_no.eq(out_trade_no))
            .select((payment_orders::id, payment_orders::status))
            .first(&mut conn)
            .await
            .unwrap();
        let ledger: i64 =
            ledger_entries::table.filter(ledger_entries::order_id.eq(id)).count().get_result(&mut conn).await.unwrap();
        let receipt: i64 = receipts::table.filter(receipts::order_id.eq(id)).count().get_result(&mut conn).await.unwrap();
        let bill_states: Vec<String> =
            bills::table.filter(bills::id.eq_any(&self.bills)).select(bills::status).load(&mut conn).await.unwrap();
        (status, ledger, receipt, bill_states)
    }

    async fn sandbox_order(&self, out_trade_no: &str) -> serde_json::Value {
        self.http
            .get(format!("{}/sandbox/wechatpay/orders/{out_trade_no}", self.sandbox_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// Verifies `paySign` with the merchant public key (openssl-generated file), as the WeChat client would.
fn check_pay_sign(pay: &serde_json::Value, appid: &str) {
    let pem = std::fs::read_to_string(keys("test-wechatpay-merchant.pub")).unwrap();
    let der = B64
        .decode(pem.lines().filter(|l| !l.starts_with("-----")).collect::<String>())
        .unwrap();
    // SPKI of an RSA-2048 key: a fixed 24-byte header, then the RSAPublicKey.
    let rsa = &der[24..];
    let message = format!(
        "{}\n{}\n{}\n{}\n",
        appid,
        pay["timeStamp"].as_str().unwrap(),
        pay["nonceStr"].as_str().unwrap(),
        pay["package"].as_str().unwrap()
    );
    let sig = B64.decode(pay["paySign"].as_str().unwrap()).unwrap();
    ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, rsa)
        .verify(message.as_bytes(), &sig)
        .expect("paySign verifies with the merchant public key");
}

#[actix_web::test]
async fn bill_generation_is_idempotent_and_matches_the_register() {
    let t = TestApp::new().await;
    let community = t.import_demo().await;
    let mut conn = t.conn().await;
    store::upsert_fee_item(&mut conn, community, "property", "物业费", Method::PerArea, 250, "residence", false)
        .await
        .unwrap();
    store::upsert_fee_item(&mut conn, community, "parking", "车位管理费", Method::Fixed, 15000, "parking", true)
        .await
        .unwrap();
    let period = Period::parse("2026-12").unwrap();
    let first = store::generate_bills(&mut conn, "SH-PD-0001", period).await.unwrap();
    // The demo register has 1,056 residences and 144 parking spaces (counted in fixtures/demo-register.csv).
    assert_eq!(first.created, 1056 + 144);
    let second = store::generate_bills(&mut conn, "SH-PD-0001", period).await.unwrap();
    assert_eq!((second.created, second.already_present), (0, 1200));
    // A unit the register retired before a period starts gets no bill for it; one retired during the period does.
    let residences: Vec<uuid::Uuid> = linli_server::schema::units::table
        .filter(linli_server::schema::units::community_id.eq(community))
        .filter(linli_server::schema::units::kind.eq("residence"))
        .order(linli_server::schema::units::id.asc())
        .select(linli_server::schema::units::id)
        .limit(2)
        .load(&mut conn)
        .await
        .unwrap();
    let next = Period::parse("2027-01").unwrap();
    for (unit, retired) in residences.iter().zip([next.starts_at() - chrono::Duration::seconds(1), next.starts_at()]) {
        diesel::update(linli_server::schema::units::table.find(unit))
            .set(linli_server::schema::units::retired_at.eq(retired))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let january = store::generate_bills(&mut conn, "SH-PD-0001", next).await.unwrap();
    assert_eq!(january.created, 1056 + 144 - 1, "the unit retired before January has no January bill");
    let billed = |unit: uuid::Uuid| bills::table.filter(bills::unit_id.eq(unit)).filter(bills::period.eq("2027-01")).count();
    assert_eq!(billed(residences[0]).get_result::<i64>(&mut conn).await.unwrap(), 0);
    assert_eq!(billed(residences[1]).get_result::<i64>(&mut conn).await.unwrap(), 1);
    diesel::update(linli_server::schema::units::table.filter(linli_server::schema::units::id.eq_any(&residences)))
        .set(linli_server::schema::units::retired_at.eq(None::<chrono::DateTime<chrono::Utc>>))
        .execute(&mut conn)
        .await
        .unwrap();
    // Every property bill equals the hand computation from the register's decimal area.
    let mut rdr = csv::Reader::from_path(demo_register()).unwrap();
    let mut expected = 0i64;
    for rec in rdr.records() {
        let r = rec.unwrap();
        if &r[0] == "unit" && &r[5] == "residence" {
            expected += hand_fee(250, &r[6]);
        }
    }
    let total: Vec<i64> = bills::table
        .inner_join(linli_server::schema::fee_items::table.on(linli_server::schema::fee_items::id.eq(bills::fee_item_id)))
        .filter(linli_server::schema::fee_items::code.eq("property"))
        .filter(bills::period.eq("2026-12"))
        .select(bills::amount_fen)
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(total.iter().sum::<i64>(), expected);
}

/// Acceptance: an owner pays two bills in one order; the sandbox notifies three times at once and once more
/// later; the bills are paid once, with one ledger entry and one receipt.
#[actix_web::test]
async fn an_owner_pays_two_bills_once_despite_duplicate_notifications() {
    let f = setup(None).await;
    let (status, order) = f.order(&f.bills, "pay-two-bills").await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["amount_fen"], 2 * f.fee);
    let pay = &order["pay"];
    assert_eq!(pay["signType"], "RSA");
    assert!(pay["package"].as_str().unwrap().starts_with("prepay_id=wx"), "{pay}");
    check_pay_sign(pay, &linli_sandbox::Credentials::default().wechat_appid);
    let otn = order["out_trade_no"].as_str().unwrap().to_owned();
    // The sandbox holds the order with our amount and payer (it checked our request signature to get here).
    let at_wechat = f.sandbox_order(&otn).await;
    assert_eq!(at_wechat["total"], 2 * f.fee);
    assert_eq!(at_wechat["sub_mchid"], SUB_MCHID);

    // A retry with the same key replays the stored answer.
    let (status, again) = f.order(&f.bills, "pay-two-bills").await;
    assert_eq!((status, &again["out_trade_no"]), (201, &order["out_trade_no"]));
    // One of the bills in a different order is refused while the first is open.
    let (status, other) = f.order(&f.bills[..1], "pay-one-bill").await;
    assert_eq!((status, other["code"].as_str()), (409, Some("bill_in_open_order")));

    let resp = f
        .http
        .post(format!("{}/sandbox/wechatpay/orders/{otn}/pay", f.sandbox_url))
        .json(&serde_json::json!({ "copies": 3, "repeat_after_ms": 700, "retry_scale": 0.001 }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut acknowledged = 0;
    for _ in 0..100 {
        acknowledged = f.sandbox_order(&otn).await["deliveries_acknowledged"].as_u64().unwrap();
        if acknowledged == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(acknowledged, 4, "{}", f.sandbox_order(&otn).await);
    let (status, ledger, receipt, bill_states) = f.counts(&otn).await;
    assert_eq!(status, "paid");
    assert_eq!((ledger, receipt), (1, 1));
    assert_eq!(bill_states, vec!["paid", "paid"]);
    let mut conn = f.t.conn().await;
    let amounts: Vec<(String, i64)> = ledger_entries::table
        .select((ledger_entries::book, ledger_entries::amount_fen))
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(amounts, vec![("community_income".to_owned(), 2 * f.fee)]);

    // The receipt: printable HTML with a verification code anyone can check.
    let order_id = order["id"].as_str().unwrap();
    let html = f
        .http
        .get(format!("{}/v1/billing/orders/{order_id}/receipt", f.server_url))
        .bearer_auth(&f.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let code: String = receipts::table.select(receipts::verification_code).first(&mut conn).await.unwrap();
    assert!(html.contains(&code) && html.contains(&otn), "{html}");
    let check: serde_json::Value = f
        .http
        .get(format!("{}/v1/billing/receipts/{code}", f.server_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(check["amount_fen"], 2 * f.fee);
    // A paid bill cannot be ordered again.
    let (status, paid) = f.order(&f.bills, "pay-again").await;
    assert_eq!((status, paid["code"].as_str()), (409, Some("bill_paid")));
}

#[actix_web::test]
async fn closing_an_order_frees_its_bills_for_a_new_one() {
    let f = setup(None).await;
    let (status, first) = f.order(&f.bills, "first").await;
    assert_eq!(status, 201);
    let id = first["id"].as_str().unwrap();
    let closed: serde_json::Value = f
        .http
        .post(format!("{}/v1/billing/orders/{id}/close", f.server_url))
        .bearer_auth(&f.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(closed["status"], "closed");
    let otn = first["out_trade_no"].as_str().unwrap();
    assert_eq!(f.sandbox_order(otn).await["trade_state"], "CLOSED");
    let (status, second) = f.order(&f.bills[..1], "second").await;
    assert_eq!(status, 201, "{second}");
    assert_ne!(second["out_trade_no"], first["out_trade_no"]);
    assert_eq!(second["amount_fen"], f.fee);
}

/// A notification that never arrives (the notify URL is dead): the reconciliation job finds the payment by
/// `out_trade_no` and settles it exactly once, even when run twice.
#[actix_web::test]
async fn reconciliation_settles_an_order_whose_notification_was_lost() {
    let f = setup(Some("http://127.0.0.1:9/v1/payments/wechat/notify")).await;
    let (status, order) = f.order(&f.bills, "lost").await;
    assert_eq!(status, 201);
    let otn = order["out_trade_no"].as_str().unwrap().to_owned();
    let resp = f
        .http
        .post(format!("{}/sandbox/wechatpay/orders/{otn}/pay", f.sandbox_url))
        .json(&serde_json::json!({ "retry_scale": 0.0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(f.counts(&otn).await.0, "prepaid");
    let report = linli_server::billing::reconcile::reconcile(&f.t.state.db, f.t.state.wechatpay.as_deref().unwrap(), 0).await.unwrap();
    assert_eq!((report.checked, report.settled), (1, 1));
    let again = linli_server::billing::reconcile::reconcile(&f.t.state.db, f.t.state.wechatpay.as_deref().unwrap(), 0).await.unwrap();
    assert_eq!(again.checked, 0);
    let (status, ledger, receipt, bill_states) = f.counts(&otn).await;
    assert_eq!((status.as_str(), ledger, receipt), ("paid", 1, 1));
    assert_eq!(bill_states, vec!["paid", "paid"]);
}

/// A notification as WeChat Pay would send it, signed here with a test platform key.
fn notification(otn: &str, total: i64, sub_mchid: &str) -> Vec<u8> {
    let resource = serde_json::json!({
        "sp_appid": linli_sandbox::Credentials::default().wechat_appid,
        "sp_mchid": linli_sandbox::wechatpay::SP_MCHID,
        "sub_mchid": sub_mchid,
        "out_trade_no": otn,
        "transaction_id": "4200000000000000000000000001",
        "trade_type": "JSAPI",
        "trade_state": "SUCCESS",
        "success_time": "2026-12-01T10:00:00+08:00",
        "payer": { "sp_openid": OPENID },
        "amount": { "total": total, "payer_total": total, "currency": "CNY", "payer_currency": "CNY" },
    });
    let key = aes_gcm::Aes256Gcm::new_from_slice(linli_sandbox::wechatpay::APIV3_KEY.as_bytes()).unwrap();
    let nonce = *b"abcdefghijkl";
    let ct = key
        .encrypt(&aes_gcm::Nonce::from(nonce), Payload { msg: resource.to_string().as_bytes(), aad: b"transaction" })
        .unwrap();
    serde_json::json!({
        "id": "EV-test",
        "create_time": "2026-12-01T10:00:01+08:00",
        "resource_type": "encrypt-resource",
        "event_type": "TRANSACTION.SUCCESS",
        "summary": "支付成功",
        "resource": { "original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
                      "ciphertext": B64.encode(ct), "associated_data": "transaction", "nonce": "abcdefghijkl" },
    })
    .to_string()
    .into_bytes()
}

fn rsa_sign(key_file: &str, message: &[u8]) -> String {
    let pem = std::fs::read_to_string(keys(key_file)).unwrap();
    let der = B64.decode(pem.lines().filter(|l| !l.starts_with("-----")).collect::<String>()).unwrap();
    let key = ring::signature::RsaKeyPair::from_pkcs8(&der).unwrap();
    let mut sig = vec![0; key.public().modulus_len()];
    key.sign(&ring::signature::RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), message, &mut sig).unwrap();
    B64.encode(sig)
}

async fn post_notification(
    f: &Fixture,
    body: &[u8],
    timestamp: i64,
    serial: &str,
    signature: Option<String>,
    key_file: &str,
) -> u16 {
    let nonce = "5K8264ILTKCH16CQ2502SI8ZNMTM67VS";
    let mut message = format!("{timestamp}\n{nonce}\n").into_bytes();
    message.extend_from_slice(body);
    message.push(b'\n');
    let signature = signature.unwrap_or_else(|| rsa_sign(key_file, &message));
    let resp = f
        .http
        .post(format!("{}/v1/payments/wechat/notify", f.server_url))
        .header("Content-Type", "application/json")
        .header("Wechatpay-Timestamp", timestamp.to_string())
        .header("Wechatpay-Nonce", nonce)
        .header("Wechatpay-Signature", signature)
        .header("Wechatpay-Serial", serial)
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    if status >= 400 {
        let answer: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(answer["code"], "FAIL", "WeChat Pay's failure shape: {answer}");
    }
    status
}

/// Forged or replayed notifications get the 4xx WeChat Pay expects and change nothing; then a genuine one
/// (signed with the older platform certificate, as during a key rotation) is applied.
#[actix_web::test]
async fn forged_notifications_change_nothing() {
    let f = setup(Some("http://127.0.0.1:9/v1/payments/wechat/notify")).await;
    let (_, order) = f.order(&f.bills, "forged").await;
    let otn = order["out_trade_no"].as_str().unwrap().to_owned();
    let total = 2 * f.fee;
    let now = chrono::Utc::now().timestamp();
    let pub_id = linli_sandbox::wechatpay::PLATFORM_PUB_KEY_ID;
    let good = notification(&otn, total, SUB_MCHID);

    // Bad signature: signed with the merchant's key, not WeChat Pay's.
    assert_eq!(post_notification(&f, &good, now, pub_id, None, "test-wechatpay-merchant.key").await, 401);
    // Wrong amount (correctly signed).
    let wrong_amount = notification(&otn, total - 1, SUB_MCHID);
    assert_eq!(post_notification(&f, &wrong_amount, now, pub_id, None, "test-wechatpay-platform.key").await, 400);
    // Another sub-merchant.
    let wrong_sub = notification(&otn, total, "1900000999");
    assert_eq!(post_notification(&f, &wrong_sub, now, pub_id, None, "test-wechatpay-platform.key").await, 400);
    // Unknown order.
    let unknown = notification("LL20261201FFFFFFFFFFFFFFFF", total, SUB_MCHID);
    assert_eq!(post_notification(&f, &unknown, now, pub_id, None, "test-wechatpay-platform.key").await, 404);
    // Replayed with an old timestamp (10 minutes).
    assert_eq!(post_notification(&f, &good, now - 600, pub_id, None, "test-wechatpay-platform.key").await, 401);
    // A timestamp whose distance to our clock overflows an i64 (it wrapped into the window): stale.
    assert_eq!(post_notification(&f, &good, now.wrapping_add(i64::MIN), pub_id, None, "test-wechatpay-platform.key").await, 401);
    // A signature probe.
    let probe = Some("WECHATPAY/SIGNTEST/8kIHSJ8wtYNuKvzQw5dlbg==".to_owned());
    assert_eq!(post_notification(&f, &good, now, pub_id, probe, "test-wechatpay-platform.key").await, 401);
    // An unknown serial.
    assert_eq!(
        post_notification(&f, &good, now, "PUB_KEY_ID_0000000000000000000000000000000009", None, "test-wechatpay-platform.key")
            .await,
        401
    );
    let (status, ledger, receipt, bill_states) = f.counts(&otn).await;
    assert_eq!((status.as_str(), ledger, receipt), ("prepaid", 0, 0));
    assert_eq!(bill_states, vec!["unpaid", "unpaid"]);

    // The genuine notification, signed with the platform certificate's key, is applied; its duplicate is a no-op.
    let cert = linli_sandbox::wechatpay::PLATFORM_CERT_SERIAL;
    assert_eq!(post_notification(&f, &good, now, cert, None, "test-wechatpay-platform-cert.key").await, 204);
    assert_eq!(post_notification(&f, &good, now, pub_id, None, "test-wechatpay-platform.key").await, 204);
    let (status, ledger, receipt, bill_states) = f.counts(&otn).await;
    assert_eq!((status.as_str(), ledger, receipt), ("paid", 1, 1));
    assert_eq!(bill_states, vec!["paid", "paid"]);
}

async fn org_request(
    f: &Fixture,
    app: &(String, linli_identity::org_app::AppSecret),
    method: reqwest::Method,
    path: &str,
    body: &[u8],
) -> (u16, serde_json::Value) {
    let nonce = Uuid::new_v4().simple().to_string();
    let auth = linli_identity::org_app::authorization_header(
        &app.0,
        &app.1,
        method.as_str(),
        path,
        chrono::Utc::now().timestamp_millis(),
        &nonce,
        body,
    );
    let resp = f
        .http
        .request(method, format!("{}{path}", f.server_url))
        .header("Authorization", auth)
        .header("Content-Type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(serde_json::Value::Null))
}

/// The property company's app sees the community's arrears (the owner's bills among them until paid) and
/// refunds a paid order by its `out_refund_no`; the same number again is the same refund, another amount under
/// it is refused. An app of another role sees nothing (404).
#[actix_web::test]
async fn arrears_and_refunds_for_the_property_company() {
    let f = setup(None).await;
    let mut conn = f.t.conn().await;
    let community =
        linli_server::community::store::community_by_code(&mut conn, "SH-PD-0001").await.unwrap().unwrap();
    let property = linli_server::auth::org_app::create_app(
        &mut conn,
        &f.t.state.pii,
        "阳光物业",
        linli_server::auth::org_app::OrgRole::Property,
        &[community],
    )
    .await
    .unwrap();
    let bank = linli_server::auth::org_app::create_app(
        &mut conn,
        &f.t.state.pii,
        "银行",
        linli_server::auth::org_app::OrgRole::Bank,
        &[community],
    )
    .await
    .unwrap();
    let path = format!("/openapi/v1/communities/{community}/arrears?limit=1000");
    let (status, list) = org_request(&f, &property, reqwest::Method::GET, &path, b"").await;
    assert_eq!(status, 200, "{list}");
    // Two periods of 1,056 residences and 144 parking spaces, capped at the limit of 1,000 rows.
    assert_eq!(list["bills"].as_array().unwrap().len(), 1000);
    let (status, _) = org_request(&f, &bank, reqwest::Method::GET, &path, b"").await;
    assert_eq!(status, 404);

    let (_, order) = f.order(&f.bills, "to-refund").await;
    let otn = order["out_trade_no"].as_str().unwrap().to_owned();
    f.http
        .post(format!("{}/sandbox/wechatpay/orders/{otn}/pay", f.sandbox_url))
        .json(&serde_json::json!({ "retry_scale": 0.001 }))
        .send()
        .await
        .unwrap();
    for _ in 0..50 {
        if f.counts(&otn).await.0 == "paid" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(f.counts(&otn).await.0, "paid");

    // The daily statement matches WeChat Pay's trade bill; a transaction id we recorded wrongly shows up.
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let statement_path = format!("/openapi/v1/communities/{community}/statements/{today}");
    let (status, statement) = org_request(&f, &property, reqwest::Method::GET, &statement_path, b"").await;
    assert_eq!(status, 200, "{statement}");
    assert_eq!((statement["ours"].as_u64(), statement["theirs"].as_u64()), (Some(1), Some(1)), "{statement}");
    assert_eq!(statement["differences"], serde_json::json!([]));
    diesel::update(payment_orders::table.filter(payment_orders::out_trade_no.eq(&otn)))
        .set(payment_orders::transaction_id.eq("4200000000000000000000009999"))
        .execute(&mut conn)
        .await
        .unwrap();
    let (_, statement) = org_request(&f, &property, reqwest::Method::GET, &statement_path, b"").await;
    assert_eq!(
        statement["differences"],
        serde_json::json!([{ "kind": "mismatch", "out_trade_no": otn, "ours_fen": 2 * f.fee, "theirs_fen": 2 * f.fee }])
    );

    let refund = serde_json::json!({ "out_trade_no": otn, "out_refund_no": "RF-1", "amount_fen": f.fee, "reason": "重复缴费" });
    let body = refund.to_string().into_bytes();
    let (status, first) = org_request(&f, &property, reqwest::Method::POST, "/openapi/v1/billing/refunds", &body).await;
    assert_eq!((status, first["status"].as_str()), (200, Some("processing")), "{first}");
    let (status, again) = org_request(&f, &property, reqwest::Method::POST, "/openapi/v1/billing/refunds", &body).await;
    assert_eq!(status, 200);
    assert_eq!(again["refund_id"], first["refund_id"], "a retry is the same refund");
    let other = serde_json::json!({ "out_trade_no": otn, "out_refund_no": "RF-1", "amount_fen": 1, "reason": "x" });
    let (status, refused) =
        org_request(&f, &property, reqwest::Method::POST, "/openapi/v1/billing/refunds", other.to_string().as_bytes()).await;
    assert_eq!((status, refused["code"].as_str()), (409, Some("out_refund_no_used")));
    let too_much = serde_json::json!({ "out_trade_no": otn, "out_refund_no": "RF-2", "amount_fen": 2 * f.fee, "reason": "x" });
    let (status, _) =
        org_request(&f, &property, reqwest::Method::POST, "/openapi/v1/billing/refunds", too_much.to_string().as_bytes()).await;
    assert_eq!(status, 422);

    // Nothing is booked until WeChat Pay confirms the refund.
    let order_id: Uuid = payment_orders::table
        .filter(payment_orders::out_trade_no.eq(&otn))
        .select(payment_orders::id)
        .first(&mut conn)
        .await
        .unwrap();
    let books = async || -> Vec<(String, i64)> {
        let mut conn = f.t.conn().await;
        ledger_entries::table
            .filter(ledger_entries::order_id.eq(order_id))
            .order((ledger_entries::created_at, ledger_entries::amount_fen))
            .select((ledger_entries::source, ledger_entries::amount_fen))
            .load(&mut conn)
            .await
            .unwrap()
    };
    assert_eq!(books().await, vec![("wechatpay".to_owned(), 2 * f.fee)]);
    // WeChat Pay completes it and notifies REFUND.SUCCESS twice at once: booked once, as a negative entry.
    let resp = f
        .http
        .post(format!("{}/sandbox/wechatpay/refunds/RF-1/complete", f.sandbox_url))
        .json(&serde_json::json!({ "copies": 2, "retry_scale": 0.001 }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut acknowledged = 0;
    for _ in 0..100 {
        let shown: serde_json::Value = f
            .http
            .get(format!("{}/sandbox/wechatpay/refunds/RF-1", f.sandbox_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        acknowledged = shown["deliveries_acknowledged"].as_u64().unwrap();
        if acknowledged == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(acknowledged, 2);
    assert_eq!(books().await, vec![("wechatpay".to_owned(), 2 * f.fee), ("wechatpay_refund".to_owned(), -f.fee)]);
    let (_, again) = org_request(&f, &property, reqwest::Method::POST, "/openapi/v1/billing/refunds", &body).await;
    assert_eq!(again["status"], "success", "{again}");
    let code: String = receipts::table.select(receipts::verification_code).first(&mut conn).await.unwrap();
    let check: serde_json::Value =
        f.http.get(format!("{}/v1/billing/receipts/{code}", f.server_url)).send().await.unwrap().json().await.unwrap();
    assert_eq!(check["refunded"], true, "{check}");

    // The rest is refunded and every notification of it is lost: the reconciliation job's refund query books it.
    let rest = serde_json::json!({ "out_trade_no": otn, "out_refund_no": "RF-3", "amount_fen": f.fee, "reason": "退房" });
    let (status, third) =
        org_request(&f, &property, reqwest::Method::POST, "/openapi/v1/billing/refunds", rest.to_string().as_bytes()).await;
    assert_eq!((status, third["status"].as_str()), (200, Some("processing")), "{third}");
    let resp = f
        .http
        .post(format!("{}/sandbox/wechatpay/refunds/RF-3/complete", f.sandbox_url))
        .json(&serde_json::json!({ "deliver": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let wx = f.t.state.wechatpay.as_deref().unwrap();
    let report = linli_server::billing::reconcile::reconcile(&f.t.state.db, wx, 0).await.unwrap();
    assert_eq!((report.refunds_checked, report.refunds_booked), (1, 1), "{report:?}");
    let report = linli_server::billing::reconcile::reconcile(&f.t.state.db, wx, 0).await.unwrap();
    assert_eq!(report.refunds_checked, 0, "{report:?}");
    let entries = books().await;
    assert_eq!(entries.iter().map(|e| e.1).sum::<i64>(), 0, "paid and refunded in full: {entries:?}");
    assert_eq!(entries.len(), 3, "{entries:?}");

    // The notifications were counted by outcome.
    let metrics = f.http.get(format!("{}/metrics", f.server_url)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains(r#"linli_wechatpay_notifications_total{event="refund",outcome="applied"} 1"#), "{metrics}");
    assert!(metrics.contains(r#"linli_wechatpay_notifications_total{event="refund",outcome="duplicate"} 1"#), "{metrics}");
    assert!(metrics.contains(r#"linli_wechatpay_notifications_total{event="transaction",outcome="applied"} 1"#), "{metrics}");
}

/// The server died after storing the order and before storing WeChat Pay's answer: the order row is there
/// without a prepay id. Asking again for the same bills reuses that order and its `out_trade_no`, and WeChat Pay
/// gives the same prepay id again, so nothing is doubled.
#[actix_web::test]
async fn an_order_interrupted_before_its_prepay_id_is_resumed_not_doubled() {
    let f = setup(None).await;
    let (status, first) = f.order(&f.bills, "crash-1").await;
    assert_eq!(status, 201);
    let otn = first["out_trade_no"].as_str().unwrap().to_owned();
    let mut conn = f.t.conn().await;
    // What a SIGKILL between the WeChat Pay call and the commit leaves behind.
    diesel::update(payment_orders::table.filter(payment_orders::out_trade_no.eq(&otn)))
        .set((payment_orders::status.eq("created"), payment_orders::prepay_id.eq(None::<String>)))
        .execute(&mut conn)
        .await
        .unwrap();
    let (status, resumed) = f.order(&f.bills, "crash-2").await;
    assert_eq!(status, 201, "{resumed}");
    assert_eq!(resumed["out_trade_no"], first["out_trade_no"]);
    assert_eq!(resumed["pay"]["package"], first["pay"]["package"]);
    let orders: i64 = payment_orders::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(orders, 1);
}

/// Eight concurrent requests (different keys) for the same bills make one order at WeChat Pay and here: every
/// request either gets that order or is told the bills are in an open order.
#[actix_web::test]
async fn concurrent_orders_for_the_same_bills_make_one_order() {
    let f = setup(None).await;
    let requests = (0..8).map(|i| {
        let f = &f;
        async move { f.order(&f.bills, &format!("race-{i}")).await }
    });
    let answers = futures_util::future::join_all(requests).await;
    let mut numbers = std::collections::BTreeSet::new();
    for (status, body) in &answers {
        match status {
            201 => {
                numbers.insert(body["out_trade_no"].as_str().unwrap().to_owned());
            }
            409 => assert!(
                matches!(body["code"].as_str(), Some("bill_in_open_order" | "idempotency_in_progress")),
                "{body}"
            ),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(numbers.len(), 1, "{answers:?}");
    let mut conn = f.t.conn().await;
    let orders: i64 = payment_orders::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(orders, 1);
}

/// The owner's two bills ordered and paid at the sandbox's WeChat Pay, the payment notified: the order's
/// `out_trade_no` once it is paid here.
async fn paid_order(f: &Fixture) -> String {
    let (_, order) = f.order(&f.bills, "to-refund").await;
    let otn = order["out_trade_no"].as_str().unwrap().to_owned();
    f.http
        .post(format!("{}/sandbox/wechatpay/orders/{otn}/pay", f.sandbox_url))
        .json(&serde_json::json!({ "retry_scale": 0.001 }))
        .send()
        .await
        .unwrap();
    for _ in 0..50 {
        if f.counts(&otn).await.0 == "paid" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(f.counts(&otn).await.0, "paid");
    otn
}

/// A property company app for the demo community.
async fn property_app(f: &Fixture) -> (String, linli_identity::org_app::AppSecret) {
    let mut conn = f.t.conn().await;
    let community =
        linli_server::community::store::community_by_code(&mut conn, "SH-PD-0001").await.unwrap().unwrap();
    linli_server::auth::org_app::create_app(
        &mut conn,
        &f.t.state.pii,
        "阳光物业",
        linli_server::auth::org_app::OrgRole::Property,
        &[community],
    )
    .await
    .unwrap()
}

async fn refund(
    f: &Fixture,
    app: &(String, linli_identity::org_app::AppSecret),
    otn: &str,
    out_refund_no: &str,
    amount_fen: i64,
) -> (u16, serde_json::Value) {
    let body = serde_json::json!({ "out_trade_no": otn, "out_refund_no": out_refund_no, "amount_fen": amount_fen, "reason": "退费" });
    org_request(f, app, reqwest::Method::POST, "/openapi/v1/billing/refunds", body.to_string().as_bytes()).await
}

/// The refunds stored for an order: (number, amount, status, WeChat Pay's refusal code).
async fn refund_rows(f: &Fixture, otn: &str) -> Vec<(String, i64, String, Option<String>)> {
    use linli_server::schema::refunds;
    let mut conn = f.t.conn().await;
    refunds::table
        .inner_join(payment_orders::table.on(payment_orders::id.eq(refunds::order_id)))
        .filter(payment_orders::out_trade_no.eq(otn))
        .order(refunds::out_refund_no)
        .select((refunds::out_refund_no, refunds::amount_fen, refunds::status, refunds::refused_code))
        .load(&mut conn)
        .await
        .unwrap()
}

/// Ten parallel full refunds of one order, each with its own number: the order's refunds are summed one after
/// the other, so exactly one is stored and sent to WeChat Pay and the nine others are refused as more than was
/// paid (no 5xx, nothing stored for them).
#[actix_web::test]
async fn parallel_full_refunds_of_one_order_refund_it_once() {
    let f = setup(None).await;
    let otn = paid_order(&f).await;
    let property = property_app(&f).await;
    let total = 2 * f.fee;
    let answers = futures_util::future::join_all((0..10).map(|i| {
        let (f, property, otn) = (&f, &property, &otn);
        async move { refund(f, property, otn, &format!("RACE-{i}"), total).await }
    }))
    .await;
    let accepted = answers.iter().filter(|(status, _)| *status == 200).count();
    for (status, body) in &answers {
        assert!(*status == 200 || (*status, body["code"].as_str()) == (422, Some("refund_too_large")), "{status} {body}");
    }
    assert_eq!(accepted, 1, "{answers:?}");
    let rows = refund_rows(&f, &otn).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0].1, rows[0].2.as_str()), (total, "processing"), "{rows:?}");
}

/// A refund WeChat Pay refuses (here NOT_ENOUGH: part of the payment was refunded in WeChat Pay's merchant
/// console, outside Linli) is closed and answered 409 `refund_not_enough`, again for a retry of its number; it
/// does not block a refund that fits.
#[actix_web::test]
async fn a_refund_wechat_pay_refuses_is_closed_and_blocks_nothing() {
    let f = setup(None).await;
    let otn = paid_order(&f).await;
    let property = property_app(&f).await;
    let total = 2 * f.fee;
    let wx = f.t.state.wechatpay.as_deref().unwrap();
    let outside = wx.refund(SUB_MCHID, &otn, "CONSOLE-1", "柜台退款", 100, total).await.unwrap();
    assert_eq!(outside.refund_status, "PROCESSING");

    for _ in 0..2 {
        let (status, body) = refund(&f, &property, &otn, "RF-ALL", total).await;
        assert_eq!((status, body["code"].as_str()), (409, Some("refund_not_enough")), "{body}");
    }
    assert_eq!(refund_rows(&f, &otn).await, vec![("RF-ALL".to_owned(), total, "closed".to_owned(), Some("NOT_ENOUGH".to_owned()))]);
    let wx_refunds = linli_server::billing::reconcile::reconcile(&f.t.state.db, wx, 0).await.unwrap();
    assert_eq!(wx_refunds.refunds_checked, 0, "a closed refund waits for nothing: {wx_refunds:?}");

    let (status, body) = refund(&f, &property, &otn, "RF-REST", total - 100).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("processing")), "{body}");
}

/// Refund numbers are unique per sub-merchant, as at WeChat Pay, not platform-wide. A number that an order of
/// another sub-merchant uses is free for this community's app; one that another community of the same
/// sub-merchant uses is answered 404 (as if nothing were there), never 409, so no app learns another's numbers.
/// Reports are matched to the refund through its order.
#[actix_web::test]
async fn refund_numbers_belong_to_the_sub_merchant_and_are_hidden_outside_the_callers_scope() {
    use linli_server::schema::{communities, refunds};
    let f = setup(None).await;
    let otn = paid_order(&f).await;
    let property = property_app(&f).await;
    let mut conn = f.t.conn().await;
    let account: Uuid = payment_orders::table
        .filter(payment_orders::out_trade_no.eq(&otn))
        .select(payment_orders::account_id)
        .first(&mut conn)
        .await
        .unwrap();
    // Two other communities, each with a paid order and a refund: one with its own sub-merchant, one sharing ours.
    for (code, sub_mchid, foreign_otn, number) in
        [("SH-PD-0002", "1900000110", "LL20261201AAAAAAAAAAAAAAAA", "RF-SHARED"), ("SH-PD-0003", SUB_MCHID, "LL20261201BBBBBBBBBBBBBBBB", "RF-SAME-MCH")]
    {
        let community = Uuid::now_v7();
        diesel::insert_into(communities::table)
            .values((communities::id.eq(community), communities::code.eq(code), communities::name.eq(code)))
            .execute(&mut conn)
            .await
            .unwrap();
        let order = Uuid::now_v7();
        diesel::insert_into(payment_orders::table)
            .values((
                payment_orders::id.eq(order),
                payment_orders::out_trade_no.eq(foreign_otn),
                payment_orders::community_id.eq(community),
                payment_orders::account_id.eq(account),
                payment_orders::sp_mchid.eq(linli_sandbox::wechatpay::SP_MCHID),
                payment_orders::sub_mchid.eq(sub_mchid),
                payment_orders::amount_fen.eq(5000),
                payment_orders::status.eq("paid"),
            ))
            .execute(&mut conn)
            .await
            .unwrap();
        diesel::insert_into(refunds::table)
            .values((
                refunds::id.eq(Uuid::now_v7()),
                refunds::out_refund_no.eq(number),
                refunds::order_id.eq(order),
                refunds::sub_mchid.eq(sub_mchid),
                refunds::amount_fen.eq(5000),
                refunds::reason.eq("x"),
            ))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let (status, body) = refund(&f, &property, &otn, "RF-SHARED", f.fee).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("processing")), "another merchant's number: {body}");
    let (status, body) = refund(&f, &property, &otn, "RF-SAME-MCH", f.fee).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")), "outside the caller's scope: {body}");
    // The other community's order is not the caller's to refund either.
    let (status, _) = refund(&f, &property, "LL20261201AAAAAAAAAAAAAAAA", "RF-X", 1).await;
    assert_eq!(status, 404);

    // WeChat Pay confirms our RF-SHARED: it is booked on our order; the other merchant's RF-SHARED is untouched.
    let resp = f
        .http
        .post(format!("{}/sandbox/wechatpay/refunds/RF-SHARED/complete", f.sandbox_url))
        .json(&serde_json::json!({ "deliver": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let wx = f.t.state.wechatpay.as_deref().unwrap();
    let report = linli_server::billing::reconcile::reconcile(&f.t.state.db, wx, 0).await.unwrap();
    assert_eq!(report.refunds_booked, 1, "{report:?}");
    assert_eq!(refund_rows(&f, &otn).await, vec![("RF-SHARED".to_owned(), f.fee, "success".to_owned(), None)]);
    assert_eq!(refund_rows(&f, "LL20261201AAAAAAAAAAAAAAAA").await[0].2, "requested");
}

/// The order row is locked before its refunds are summed: while one refund of the order is being stored
/// (its transaction open), another waits, then sees it and does not fit. Without the lock each saw only its own.
#[actix_web::test]
async fn a_refund_waits_for_another_refund_of_the_same_order() {
    use diesel_async::AsyncConnection;
    use linli_server::billing::store::RefundPrepared;
    let f = setup(None).await;
    let otn = paid_order(&f).await;
    let mut first = f.t.conn().await;
    let order: store::OrderRow = payment_orders::table
        .filter(payment_orders::out_trade_no.eq(&otn))
        .select(store::OrderRow::as_select())
        .first(&mut first)
        .await
        .unwrap();
    let mut second = f.t.conn().await;
    let total = order.amount_fen;
    let waiting = first
        .transaction(async |conn| {
            let prepared = store::prepare_refund(conn, &order, "RF-FIRST", total, "x").await?;
            assert!(matches!(prepared, RefundPrepared::Ready(_)), "{prepared:?}");
            let order = order.clone();
            let other = tokio::spawn(async move { store::prepare_refund(&mut second, &order, "RF-SECOND", total, "x").await });
            tokio::time::sleep(Duration::from_millis(500)).await;
            assert!(!other.is_finished(), "the second refund must wait for the first one's transaction");
            Ok::<_, diesel::result::Error>(other)
        })
        .await
        .unwrap();
    let second = tokio::time::timeout(Duration::from_secs(10), waiting).await.unwrap().unwrap().unwrap();
    assert!(matches!(second, RefundPrepared::TooLarge), "{second:?}");
    assert_eq!(refund_rows(&f, &otn).await.len(), 1);
}
