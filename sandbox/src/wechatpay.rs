//! WeChat Pay API v3, partner (service-provider) mode, as the server sees it.
//!
//! - `POST /v3/pay/partner/transactions/jsapi` → `{prepay_id}` (same `out_trade_no` + same content → same id)
//! - `GET /v3/pay/partner/transactions/out-trade-no/{out_trade_no}?sp_mchid=…&sub_mchid=…`
//! - `POST /v3/pay/partner/transactions/out-trade-no/{out_trade_no}/close` → 204
//! - `POST /v3/refund/domestic/refunds` (same `out_refund_no` → same refund; answered PROCESSING) and
//!   `GET /v3/refund/domestic/refunds/{out_refund_no}?sub_mchid=…`
//! - `GET /v3/bill/tradebill?bill_date=…&sub_mchid=…` → `{hash_type: "SHA1", hash_value, download_url}`, and
//!   `GET /v3/billdownload/file?token=…` → the CSV (successful payments of the day, Asia/Shanghai)
//!
//! Every request must carry `Authorization: WECHATPAY2-SHA256-RSA2048 mchid=…,nonce_str=…,signature=…,
//! timestamp=…,serial_no=…`, checked here against the merchant's public key (fixtures) over
//! `METHOD\nURL\ntimestamp\nnonce\nbody\n`; bad ones get 401 `SIGN_ERROR`. Answers are signed with the platform
//! key (`Wechatpay-*` headers over `timestamp\nnonce\nbody\n`).
//!
//! Control (tests and demos): `POST /sandbox/wechatpay/orders/{out_trade_no}/pay` with an optional JSON body
//! `{copies, repeat_after_ms, retry_scale, platform_serial, deliver}` pays the order as the user would and sends the
//! `TRANSACTION.SUCCESS` notification to its `notify_url`, signed and `AEAD_AES_256_GCM`-encrypted like WeChat
//! Pay: `copies` concurrent deliveries (duplicates), one more after `repeat_after_ms`, each retried on failure
//! on WeChat Pay's schedule (15 s, 15 s, 30 s, 3 m, 10 m, 20 m, 30 m ×3, 60 m, 3 h ×3, 6 h ×2) multiplied by
//! `retry_scale`; `deliver: false` loses every notification. `GET /sandbox/wechatpay/orders/{out_trade_no}` shows
//! the order, its JSAPI requests and its deliveries; `GET /sandbox/wechatpay/orders` lists every order.
//! `POST /sandbox/wechatpay/refunds/{out_refund_no}/complete` `{status, copies, retry_scale, deliver}` completes a
//! processing refund (SUCCESS by default) and sends `REFUND.SUCCESS`/`REFUND.CLOSED` to the refund's
//! `notify_url`; `GET /sandbox/wechatpay/refunds/{out_refund_no}` shows it and its deliveries.
//!
//! Own code only (DESIGN §2): the DER reading and the message formats here are written independently of the
//! server's client.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, UnparsedPublicKey};
use serde::Deserialize;

use crate::AppState;

/// The service provider merchant id the sandbox accepts.
pub const SP_MCHID: &str = "1900000100";
/// The APIv3 key the sandbox encrypts notifications with (32 characters).
pub const APIV3_KEY: &str = "linli-sandbox-apiv3-key-32-bytes";
/// Serial of the merchant API certificate (fixtures/test-keys/test-wechatpay-gen.sh).
pub const MERCHANT_SERIAL: &str = "3775B6A45ACD588826D15E583A95F5DD5BBAB6A0";
/// Platform public key id (the current mode) and the older platform certificate's serial.
pub const PLATFORM_PUB_KEY_ID: &str = "PUB_KEY_ID_0119000000000000000000000000000001";
pub const PLATFORM_CERT_SERIAL: &str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";

/// WeChat Pay's notification retry intervals in seconds.
const RETRY_SCHEDULE: [u64; 15] = [15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600];

#[derive(Debug, Clone, serde::Serialize)]
pub struct Order {
    pub sp_appid: String,
    pub sub_mchid: String,
    pub description: String,
    pub out_trade_no: String,
    pub notify_url: String,
    pub total: i64,
    pub sp_openid: String,
    pub prepay_id: String,
    pub trade_state: String,
    pub transaction_id: Option<String>,
    pub success_time: Option<String>,
    /// Notifications attempted and acknowledged (2xx) by the server.
    pub deliveries_attempted: u32,
    pub deliveries_acknowledged: u32,
    /// Status codes the server answered, in order (0 = no answer: connection refused or reset).
    pub answers: Vec<u16>,
    /// JSAPI order requests received for this `out_trade_no` (a retry gets the same prepay id).
    pub prepay_requests: u32,
}

#[derive(Debug, Clone, serde::Serialize)]
struct Refund {
    refund_id: String,
    out_refund_no: String,
    out_trade_no: String,
    sub_mchid: String,
    refund: i64,
    total: i64,
    /// PROCESSING until the control endpoint completes it (SUCCESS or CLOSED).
    status: String,
    success_time: Option<String>,
    create_time: String,
    notify_url: Option<String>,
    deliveries_attempted: u32,
    deliveries_acknowledged: u32,
    answers: Vec<u16>,
}

pub struct WeChatPayState {
    sp_appid: String,
    merchant_key: Vec<u8>,
    platform: HashMap<String, RsaKeyPair>,
    orders: Mutex<HashMap<String, Order>>,
    refunds: Mutex<HashMap<String, Refund>>,
    nonces: Mutex<HashSet<String>>,
    bills: Mutex<HashMap<String, Vec<u8>>>,
    http: reqwest::Client,
    rng: SystemRandom,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0}: {1}")]
    File(String, std::io::Error),
    #[error("{0}: not a PEM key of the expected kind")]
    Pem(String),
    #[error("http client: {0}")]
    Http(#[from] reqwest::Error),
}

fn pem_body(text: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = text[start..].find(&end)? + start;
    let b64: String = text[start..stop].chars().filter(|c| !c.is_whitespace()).collect();
    B64.decode(b64).ok()
}

/// One DER TLV: (tag, content, rest).
fn der(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        (rest[..n].iter().fold(0usize, |a, &b| (a << 8) | usize::from(b)), &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// SubjectPublicKeyInfo → the RSAPublicKey inside its BIT STRING.
fn rsa_public_key_from_spki(spki: &[u8]) -> Option<Vec<u8>> {
    let (tag, seq, _) = der(spki)?;
    if tag != 0x30 {
        return None;
    }
    let (alg_tag, _alg, rest) = der(seq)?;
    let (bits_tag, bits, _) = der(rest)?;
    if alg_tag != 0x30 || bits_tag != 0x03 || bits.first() != Some(&0) {
        return None;
    }
    Some(bits[1..].to_vec())
}

fn read(dir: &Path, name: &str) -> Result<String, LoadError> {
    let p = dir.join(name);
    std::fs::read_to_string(&p).map_err(|e| LoadError::File(p.display().to_string(), e))
}

impl WeChatPayState {
    /// Loads the merchant public key and the platform keys from `test-keys/`.
    pub fn load(keys: &Path, sp_appid: &str) -> Result<Self, LoadError> {
        let merchant_pem = read(keys, "test-wechatpay-merchant.pub")?;
        let merchant_key = pem_body(&merchant_pem, "PUBLIC KEY")
            .and_then(|d| rsa_public_key_from_spki(&d))
            .ok_or_else(|| LoadError::Pem("test-wechatpay-merchant.pub".into()))?;
        let mut platform = HashMap::new();
        for (serial, file) in [
            (PLATFORM_PUB_KEY_ID, "test-wechatpay-platform.key"),
            (PLATFORM_CERT_SERIAL, "test-wechatpay-platform-cert.key"),
        ] {
            let key = pem_body(&read(keys, file)?, "PRIVATE KEY")
                .and_then(|d| RsaKeyPair::from_pkcs8(&d).ok())
                .ok_or_else(|| LoadError::Pem(file.into()))?;
            platform.insert(serial.to_owned(), key);
        }
        Ok(Self {
            sp_appid: sp_appid.to_owned(),
            merchant_key,
            platform,
            orders: Mutex::new(HashMap::new()),
            refunds: Mutex::new(HashMap::new()),
            nonces: Mutex::new(HashSet::new()),
            bills: Mutex::new(HashMap::new()),
            http: reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?,
            rng: SystemRandom::new(),
        })
    }

    /// base64 RSA-SHA256 signature with a platform key.
    fn sign(&self, serial: &str, message: &[u8]) -> Option<String> {
        let key = self.platform.get(serial)?;
        let mut sig = vec![0; key.public().modulus_len()];
        key.sign(&RSA_PKCS1_SHA256, &self.rng, message, &mut sig).ok()?;
        Some(B64.encode(sig))
    }

    /// The `Wechatpay-*` headers for a body.
    fn signed_headers(&self, serial: &str, body: &[u8]) -> Option<Vec<(&'static str, String)>> {
        let timestamp = chrono::Utc::now().timestamp().to_string();
        let nonce = hex::encode_upper(rand::random::<[u8; 16]>());
        let mut message = format!("{timestamp}\n{nonce}\n").into_bytes();
        message.extend_from_slice(body);
        message.push(b'\n');
        let signature = self.sign(serial, &message)?;
        Some(vec![
            ("Wechatpay-Timestamp", timestamp),
            ("Wechatpay-Nonce", nonce),
            ("Wechatpay-Signature", signature),
            ("Wechatpay-Serial", serial.to_owned()),
        ])
    }

    pub fn order(&self, out_trade_no: &str) -> Option<Order> {
        self.orders.lock().ok()?.get(out_trade_no).cloned()
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v3/pay/partner/transactions/jsapi", web::post().to(jsapi))
        .route("/v3/pay/partner/transactions/out-trade-no/{otn}", web::get().to(query))
        .route("/v3/pay/partner/transactions/out-trade-no/{otn}/close", web::post().to(close))
        .route("/v3/refund/domestic/refunds", web::post().to(refund))
        .route("/v3/refund/domestic/refunds/{out_refund_no}", web::get().to(refund_query))
        .route("/sandbox/wechatpay/refunds/{out_refund_no}/complete", web::post().to(complete_refund))
        .route("/sandbox/wechatpay/refunds/{out_refund_no}", web::get().to(show_refund))
        .route("/v3/bill/tradebill", web::get().to(trade_bill))
        .route("/v3/billdownload/file", web::get().to(bill_file))
        .route("/sandbox/wechatpay/orders/{otn}/pay", web::post().to(pay))
        .route("/sandbox/wechatpay/orders/{otn}", web::get().to(show))
        .route("/sandbox/wechatpay/orders", web::get().to(list));
}

fn wx_error(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "code": code, "message": message }))
}

/// A signed 2xx answer.
fn answer(st: &WeChatPayState, status: StatusCode, body: Option<serde_json::Value>) -> HttpResponse {
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let Some(headers) = st.signed_headers(PLATFORM_PUB_KEY_ID, &bytes) else {
        return wx_error(StatusCode::INTERNAL_SERVER_ERROR, "SYSTEM_ERROR", "signing failed");
    };
    let mut resp = HttpResponse::build(status);
    for (k, v) in headers {
        resp.insert_header((k, v));
    }
    if bytes.is_empty() { resp.finish() } else { resp.content_type("application/json").body(bytes) }
}

/// Checks the merchant's request signature; `Err` says why (answered 401 `SIGN_ERROR`).
fn check_signature(st: &WeChatPayState, req: &HttpRequest, body: &[u8]) -> Result<(), String> {
    let fail = |m: &str| Err(m.to_owned());
    let Some(header) = req.headers().get("Authorization").and_then(|v| v.to_str().ok()) else {
        return fail("missing Authorization");
    };
    let Some(params) = header.strip_prefix("WECHATPAY2-SHA256-RSA2048 ") else {
        return fail("unknown authorization scheme");
    };
    let mut fields = HashMap::new();
    for part in params.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            return fail("malformed Authorization");
        };
        let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(v);
        fields.insert(k.to_owned(), v.to_owned());
    }
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let (mchid, nonce, signature, timestamp, serial) =
        (get("mchid"), get("nonce_str"), get("signature"), get("timestamp"), get("serial_no"));
    if mchid != SP_MCHID {
        return fail("mchid is not the service provider");
    }
    if serial != MERCHANT_SERIAL {
        return fail("unknown serial_no");
    }
    let Some(ts) = crate::parse_unix_secs(&timestamp) else {
        return fail("bad timestamp");
    };
    if chrono::Utc::now().timestamp().abs_diff(ts) > 300 || nonce.is_empty() || nonce.len() > 32 {
        return fail("timestamp expired or nonce invalid");
    }
    let path = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut message = format!("{}\n{path}\n{timestamp}\n{nonce}\n", req.method().as_str()).into_bytes();
    message.extend_from_slice(body);
    message.push(b'\n');
    let Ok(sig) = B64.decode(signature) else {
        return fail("signature is not base64");
    };
    if UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &st.merchant_key).verify(&message, &sig).is_err() {
        return fail("signature does not verify");
    }
    let Ok(mut seen) = st.nonces.lock() else {
        return fail("nonce store unavailable");
    };
    if !seen.insert(format!("{ts}:{nonce}")) {
        return fail("nonce replayed");
    }
    Ok(())
}

#[derive(Deserialize)]
struct JsapiAmount {
    total: i64,
    currency: Option<String>,
}
#[derive(Deserialize)]
struct JsapiPayer {
    sp_openid: String,
}
#[derive(Deserialize)]
struct JsapiRequest {
    sp_appid: String,
    sp_mchid: String,
    sub_mchid: String,
    description: String,
    out_trade_no: String,
    notify_url: String,
    amount: JsapiAmount,
    payer: JsapiPayer,
}

fn valid_out_trade_no(s: &str) -> bool {
    (6..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-|*".contains(&b))
}

async fn jsapi(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let st = &state.wechatpay;
    if let Err(why) = check_signature(st, &req, &body) {
        return wx_error(StatusCode::UNAUTHORIZED, "SIGN_ERROR", &why);
    }
    let Ok(r) = serde_json::from_slice::<JsapiRequest>(&body) else {
        return wx_error(StatusCode::BAD_REQUEST, "PARAM_ERROR", "malformed request body");
    };
    if r.sp_mchid != SP_MCHID || r.sp_appid != st.sp_appid {
        return wx_error(StatusCode::BAD_REQUEST, "PARAM_ERROR", "sp_appid or sp_mchid does not match");
    }
    if !valid_out_trade_no(&r.out_trade_no)
        || r.description.is_empty()
        || r.description.len() > 127
        || r.amount.total <= 0
        || r.amount.currency.as_deref().is_some_and(|c| c != "CNY")
        || r.sub_mchid.is_empty()
        || r.payer.sp_openid.is_empty()
        || !(r.notify_url.starts_with("https://") || r.notify_url.starts_with("http://"))
    {
        return wx_error(StatusCode::BAD_REQUEST, "PARAM_ERROR", "invalid parameter");
    }
    let Ok(mut orders) = st.orders.lock() else {
        return wx_error(StatusCode::INTERNAL_SERVER_ERROR, "SYSTEM_ERROR", "lock");
    };
    if let Some(o) = orders.get_mut(&r.out_trade_no) {
        if o.total != r.amount.total || o.sub_mchid != r.sub_mchid || o.sp_openid != r.payer.sp_openid {
            return wx_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "out_trade_no used with other parameters");
        }
        return match o.trade_state.as_str() {
            "SUCCESS" => wx_error(StatusCode::BAD_REQUEST, "ORDERPAID", "order paid"),
            "CLOSED" => wx_error(StatusCode::BAD_REQUEST, "ORDER_CLOSED", "order closed"),
            _ => {
                let prepay_id = o.prepay_id.clone();
                o.prepay_requests += 1;
                drop(orders);
                answer(st, StatusCode::OK, Some(serde_json::json!({ "prepay_id": prepay_id })))
            }
        };
    }
    let prepay_id = format!("wx{}{}", chrono::Utc::now().format("%d%H%M%S"), hex::encode(rand::random::<[u8; 12]>()));
    orders.insert(
        r.out_trade_no.clone(),
        Order {
            sp_appid: r.sp_appid,
            sub_mchid: r.sub_mchid,
            description: r.description,
            out_trade_no: r.out_trade_no,
            notify_url: r.notify_url,
            total: r.amount.total,
            sp_openid: r.payer.sp_openid,
            prepay_id: prepay_id.clone(),
            trade_state: "NOTPAY".into(),
            transaction_id: None,
            success_time: None,
            deliveries_attempted: 0,
            deliveries_acknowledged: 0,
            answers: vec![],
            prepay_requests: 1,
        },
    );
    drop(orders);
    answer(st, StatusCode::OK, Some(serde_json::json!({ "prepay_id": prepay_id })))
}

/// The transaction as the query and the notification resource show it.
fn transaction_json(o: &Order) -> serde_json::Value {
    let mut v = serde_json::json!({
        "sp_appid": o.sp_appid,
        "sp_mchid": SP_MCHID,
        "sub_mchid": o.sub_mchid,
        "out_trade_no": o.out_trade_no,
        "trade_type": "JSAPI",
        "trade_state": o.trade_state,
        "trade_state_desc": match o.trade_state.as_str() { "SUCCESS" => "支付成功", "CLOSED" => "已关闭", _ => "未支付" },
        "payer": { "sp_openid": o.sp_openid },
        "amount": { "total": o.total, "currency": "CNY", "payer_currency": "CNY" },
    });
    if let Some(id) = &o.transaction_id {
        v["transaction_id"] = id.clone().into();
        v["bank_type"] = "OTHERS".into();
        v["amount"]["payer_total"] = o.total.into();
    }
    if let Some(t) = &o.success_time {
        v["success_time"] = t.clone().into();
    }
    v
}

async fn query(
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let st = &state.wechatpay;
    if let Err(why) = check_signature(st, &req, b"") {
        return wx_error(StatusCode::UNAUTHORIZED, "SIGN_ERROR", &why);
    }
    if q.get("sp_mchid").map(String::as_str) != Some(SP_MCHID) || q.get("sub_mchid").is_none() {
        return wx_error(StatusCode::BAD_REQUEST, "PARAM_ERROR", "sp_mchid and sub_mchid are required");
    }
    let Some(o) = st.order(&path.into_inner()) else {
        return wx_error(StatusCode::NOT_FOUND, "ORDER_NOT_EXIST", "order does not exist");
    };
    if q.get("sub_mchid") != Some(&o.sub_mchid) {
        return wx_error(StatusCode::NOT_FOUND, "ORDER_NOT_EXIST", "order does not exist");
    }
    answer(st, StatusCode::OK, Some(transaction_json(&o)))
}

async fn close(req: HttpRequest, path: web::Path<String>, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let st = &state.wechatpay;
    if let Err(why) = check_signature(st, &req, &body) {
        return wx_error(StatusCode::UNAUTHORIZED, "SIGN_ERROR", &why);
    }
    #[derive(Deserialize)]
    struct CloseRequest {
        sp_mchid: String,
        sub_mchid: String,
    }
    let Ok(r) = serde_json::from_slice::<CloseRequest>(&body) else {
        return wx_error(StatusCode::BAD_REQUEST, "PARAM_ERROR", "malformed request body");
    };
    let Ok(mut orders) = st.orders.lock() else {
        return wx_error(StatusCode::INTERNAL_SERVER_ERROR, "SYSTEM_ERROR", "lock");
    };
    let Some(o) = orders.get_mut(&path.into_inner()).filter(|o| r.sp_mchid == SP_MCHID && o.sub_mchid == r.sub_mchid)
    else {
        return wx_error(StatusCode::NOT_FOUND, "ORDER_NOT_EXIST", "order does not exist");
    };
    if o.trade_state == "SUCCESS" {
        return wx_error(StatusCode::BAD_REQUEST, "ORDERPAID", "order paid");
    }
    o.trade_state = "CLOSED".into();
    drop(orders);
    answer(st, StatusCode::NO_CONTENT, None)
}

async fn refund(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let st = &state.wechatpay;
    if let Err(why) = check_signature(st, &req, &body) {
        return wx_error(StatusCode::UNAUTHORIZED, "SIGN_ERROR", &why);
    }
    #[derive(Deserialize)]
    struct Amount {
        refund: i64,
        total: i64,
        currency: String,
    }
    #[derive(Deserialize)]
    struct RefundRequest {
        sub_mchid: String,
        out_trade_no: String,
        out_refund_no: String,
        #[serde(default)]
        notify_url: Option<String>,
        amount: Amount,
    }
    let Ok(r) = serde_json::from_slice::<RefundRequest>(&body) else {
        return wx_error(StatusCode::BAD_REQUEST, "PARAM_ERROR", "malformed request body");
    };
    let Some(o) = st.order(&r.out_trade_no).filter(|o| o.sub_mchid == r.sub_mchid) else {
        return wx_error(StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS", "order does not exist");
    };
    if o.trade_state != "SUCCESS" && o.trade_state != "REFUND" {
        return wx_error(StatusCode::FORBIDDEN, "NOT_ENOUGH", "order not paid");
    }
    if r.amount.total != o.total || r.amount.currency != "CNY" || r.amount.refund <= 0 {
        return wx_error(StatusCode::BAD_REQUEST, "PARAM_ERROR", "amount does not match the order");
    }
    let Ok(mut refunds) = st.refunds.lock() else {
        return wx_error(StatusCode::INTERNAL_SERVER_ERROR, "SYSTEM_ERROR", "lock");
    };
    let refunded: i64 =
        refunds.values().filter(|f| f.out_trade_no == r.out_trade_no && f.out_refund_no != r.out_refund_no).map(|f| f.refund).sum();
    let entry = match refunds.get(&r.out_refund_no) {
        Some(f) if f.out_trade_no != r.out_trade_no || f.refund != r.amount.refund => {
            return wx_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "out_refund_no used with other parameters");
        }
        Some(f) => f.clone(),
        None => {
            if refunded + r.amount.refund > o.total {
                return wx_error(StatusCode::FORBIDDEN, "NOT_ENOUGH", "refund exceeds the payment");
            }
            let f = Refund {
                refund_id: format!("50{}", (0..28).map(|_| char::from(b'0' + rand::random::<u8>() % 10)).collect::<String>()),
                out_refund_no: r.out_refund_no.clone(),
                out_trade_no: r.out_trade_no.clone(),
                sub_mchid: r.sub_mchid.clone(),
                refund: r.amount.refund,
                total: o.total,
                status: "PROCESSING".into(),
                success_time: None,
                create_time: shanghai_now(),
                notify_url: r.notify_url.clone(),
                deliveries_attempted: 0,
                deliveries_acknowledged: 0,
                answers: vec![],
            };
            refunds.insert(r.out_refund_no.clone(), f.clone());
            f
        }
    };
    drop(refunds);
    answer(st, StatusCode::OK, Some(refund_json(&entry, o.transaction_id.as_deref(), false)))
}

fn shanghai_now() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(8)).format("%Y-%m-%dT%H:%M:%S+08:00").to_string()
}

/// A refund as the refund answer and query show it (`status`), or as a notification resource (`refund_status`
/// and the merchant ids).
fn refund_json(f: &Refund, transaction_id: Option<&str>, as_notification: bool) -> serde_json::Value {
    let mut v = serde_json::json!({
        "refund_id": f.refund_id,
        "out_refund_no": f.out_refund_no,
        "transaction_id": transaction_id,
        "out_trade_no": f.out_trade_no,
        "channel": "ORIGINAL",
        "user_received_account": "支付用户零钱",
        "create_time": f.create_time,
        "amount": { "refund": f.refund, "total": f.total, "payer_total": f.total, "payer_refund": f.refund, "currency": "CNY" },
    });
    if let Some(t) = &f.success_time {
        v["success_time"] = t.clone().into();
    }
    if as_notification {
        v["sp_mchid"] = SP_MCHID.into();
        v["sub_mchid"] = f.sub_mchid.clone().into();
        v["refund_status"] = f.status.clone().into();
    } else {
        v["status"] = f.status.clone().into();
    }
    v
}

/// `GET /v3/refund/domestic/refunds/{out_refund_no}?sub_mchid=…`
async fn refund_query(
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let st = &state.wechatpay;
    if let Err(why) = check_signature(st, &req, b"") {
        return wx_error(StatusCode::UNAUTHORIZED, "SIGN_ERROR", &why);
    }
    let found = st.refunds.lock().ok().and_then(|r| r.get(&path.into_inner()).cloned());
    let Some(f) = found.filter(|f| q.get("sub_mchid") == Some(&f.sub_mchid)) else {
        return wx_error(StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS", "refund does not exist");
    };
    let transaction_id = st.order(&f.out_trade_no).and_then(|o| o.transaction_id);
    answer(st, StatusCode::OK, Some(refund_json(&f, transaction_id.as_deref(), false)))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RefundControl {
    /// SUCCESS (default) or CLOSED.
    status: Option<String>,
    copies: Option<u32>,
    retry_scale: Option<f64>,
    /// false: every notification is lost (only the refund query finds the outcome). Default true.
    deliver: Option<bool>,
}

/// Control: completes a PROCESSING refund as WeChat Pay's back office would, and notifies `REFUND.SUCCESS` (or
/// `REFUND.CLOSED`) to the refund's `notify_url`, signed and encrypted, with the usual retries.
async fn complete_refund(path: web::Path<String>, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let control: RefundControl = if body.is_empty() {
        RefundControl::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(c) => c,
            Err(e) => return HttpResponse::BadRequest().json(serde_json::json!({ "error": e.to_string() })),
        }
    };
    let status = control.status.unwrap_or_else(|| "SUCCESS".to_owned());
    if status != "SUCCESS" && status != "CLOSED" {
        return HttpResponse::BadRequest().json(serde_json::json!({ "error": "status is SUCCESS or CLOSED" }));
    }
    let refund = {
        let Ok(mut refunds) = state.wechatpay.refunds.lock() else {
            return HttpResponse::InternalServerError().finish();
        };
        let Some(f) = refunds.get_mut(&path.into_inner()) else {
            return HttpResponse::NotFound().json(serde_json::json!({ "error": "no such refund" }));
        };
        if f.status == "PROCESSING" {
            f.status = status;
            if f.status == "SUCCESS" {
                f.success_time = Some(shanghai_now());
            }
        }
        f.clone()
    };
    let transaction_id = state.wechatpay.order(&refund.out_trade_no).and_then(|o| o.transaction_id);
    let resource = refund_json(&refund, transaction_id.as_deref(), true);
    if let (Some(url), true) = (refund.notify_url.clone(), control.deliver != Some(false)) {
        let event = if refund.status == "SUCCESS" { "REFUND.SUCCESS" } else { "REFUND.CLOSED" };
        let state_arc: Arc<AppState> = state.clone().into_inner();
        for _ in 0..control.copies.unwrap_or(1).clamp(1, 32) {
            let target = Target::Refund(refund.out_refund_no.clone());
            let note = Note { url: url.clone(), event, resource: resource.clone(), target };
            tokio::spawn(deliver(
                state_arc.clone(),
                note,
                PLATFORM_PUB_KEY_ID.to_owned(),
                control.retry_scale.unwrap_or(1.0).clamp(0.0, 1.0),
                0,
            ));
        }
    }
    let mut shown = resource;
    shown["deliveries_attempted"] = refund.deliveries_attempted.into();
    HttpResponse::Ok().json(shown)
}

/// Control: a refund with its deliveries.
async fn show_refund(path: web::Path<String>, state: web::Data<AppState>) -> HttpResponse {
    match state.wechatpay.refunds.lock().ok().and_then(|r| r.get(&path.into_inner()).cloned()) {
        Some(f) => HttpResponse::Ok().json(f),
        None => HttpResponse::NotFound().json(serde_json::json!({ "error": "no such refund" })),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PayControl {
    /// Concurrent copies of the notification (1 = WeChat's usual single delivery).
    copies: Option<u32>,
    /// Send one more copy after this many milliseconds (a late duplicate).
    repeat_after_ms: Option<u64>,
    /// Multiplies the retry schedule (e.g. 0.001 turns 15 s into 15 ms).
    retry_scale: Option<f64>,
    /// Which platform key signs (default the platform public key).
    platform_serial: Option<String>,
    /// false: the payment succeeds but every notification is lost (only a query finds it). Default true.
    deliver: Option<bool>,
}

async fn pay(path: web::Path<String>, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let control: PayControl = if body.is_empty() {
        PayControl::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(c) => c,
            Err(e) => return HttpResponse::BadRequest().json(serde_json::json!({ "error": e.to_string() })),
        }
    };
    let copies = control.copies.unwrap_or(1).clamp(1, 32);
    let scale = control.retry_scale.unwrap_or(1.0).clamp(0.0, 1.0);
    let serial = control.platform_serial.unwrap_or_else(|| PLATFORM_PUB_KEY_ID.to_owned());
    if !state.wechatpay.platform.contains_key(&serial) {
        return HttpResponse::BadRequest().json(serde_json::json!({ "error": "unknown platform_serial" }));
    }
    let otn = path.into_inner();
    let order = {
        let Ok(mut orders) = state.wechatpay.orders.lock() else {
            return HttpResponse::InternalServerError().finish();
        };
        let Some(o) = orders.get_mut(&otn) else {
            return HttpResponse::NotFound().json(serde_json::json!({ "error": "no such order" }));
        };
        match o.trade_state.as_str() {
            "NOTPAY" => {
                o.trade_state = "SUCCESS".into();
                o.transaction_id = Some(format!(
                    "42000{}",
                    (0..23).map(|_| char::from(b'0' + rand::random::<u8>() % 10)).collect::<String>()
                ));
                o.success_time = Some((chrono::Utc::now() + chrono::Duration::hours(8)).format("%Y-%m-%dT%H:%M:%S+08:00").to_string());
            }
            "SUCCESS" => {} // paid already: this sends the notification again
            _ => return HttpResponse::Conflict().json(serde_json::json!({ "error": "order closed" })),
        }
        o.clone()
    };
    let state_arc: Arc<AppState> = state.into_inner();
    if control.deliver == Some(false) {
        return HttpResponse::Ok().json(transaction_json(&order));
    }
    let note = || Note {
        url: order.notify_url.clone(),
        event: "TRANSACTION.SUCCESS",
        resource: transaction_json(&order),
        target: Target::Order(order.out_trade_no.clone()),
    };
    for _ in 0..copies {
        tokio::spawn(deliver(state_arc.clone(), note(), serial.clone(), scale, 0));
    }
    if let Some(ms) = control.repeat_after_ms {
        tokio::spawn(deliver(state_arc.clone(), note(), serial.clone(), scale, ms));
    }
    HttpResponse::Ok().json(transaction_json(&order))
}

/// Whose delivery counters a notification updates.
#[derive(Clone)]
enum Target {
    Order(String),
    Refund(String),
}

/// A notification to send: where, which event, the resource in clear.
#[derive(Clone)]
struct Note {
    url: String,
    event: &'static str,
    resource: serde_json::Value,
    target: Target,
}

/// The notification body, with a freshly encrypted resource (associated data: "transaction" or "refund").
fn notification(note: &Note) -> Option<Vec<u8>> {
    let plain = note.resource.to_string();
    let nonce: String = (0..12)
        .map(|_| {
            const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
            char::from(A[usize::from(rand::random::<u8>()) % A.len()])
        })
        .collect();
    let (aad, summary) = match note.target {
        Target::Order(_) => ("transaction", "支付成功"),
        Target::Refund(_) => ("refund", "退款状态变更"),
    };
    let cipher = Aes256Gcm::new_from_slice(APIV3_KEY.as_bytes()).ok()?;
    let nonce_bytes: [u8; 12] = nonce.as_bytes().try_into().ok()?;
    let ct = cipher.encrypt(&Nonce::from(nonce_bytes), Payload { msg: plain.as_bytes(), aad: aad.as_bytes() }).ok()?;
    let body = serde_json::json!({
        "id": format!("EV-{}", hex::encode(rand::random::<[u8; 10]>())),
        "create_time": chrono::Utc::now().to_rfc3339(),
        "resource_type": "encrypt-resource",
        "event_type": note.event,
        "summary": summary,
        "resource": {
            "original_type": aad,
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": B64.encode(ct),
            "associated_data": aad,
            "nonce": nonce,
        },
    });
    Some(body.to_string().into_bytes())
}

/// Delivers one notification copy, retrying on WeChat Pay's schedule until the server answers 2xx.
async fn deliver(state: Arc<AppState>, note: Note, serial: String, scale: f64, delay_ms: u64) {
    if delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    }
    let st = &state.wechatpay;
    for attempt in 0..=RETRY_SCHEDULE.len() {
        if attempt > 0 {
            let secs = RETRY_SCHEDULE[attempt - 1] as f64 * scale;
            tokio::time::sleep(Duration::from_secs_f64(secs)).await;
        }
        let Some(body) = notification(&note) else { return };
        let Some(headers) = st.signed_headers(&serial, &body) else { return };
        let mut req = st.http.post(&note.url).header("Content-Type", "application/json").body(body);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let status = req.send().await.map(|r| r.status().as_u16()).unwrap_or(0);
        let ok = (200..300).contains(&status);
        let record = |attempted: &mut u32, acknowledged: &mut u32, answers: &mut Vec<u16>| {
            *attempted += 1;
            answers.push(status);
            if ok {
                *acknowledged += 1;
            }
        };
        match &note.target {
            Target::Order(otn) => {
                if let Ok(mut orders) = st.orders.lock()
                    && let Some(o) = orders.get_mut(otn)
                {
                    record(&mut o.deliveries_attempted, &mut o.deliveries_acknowledged, &mut o.answers);
                }
            }
            Target::Refund(no) => {
                if let Ok(mut refunds) = st.refunds.lock()
                    && let Some(f) = refunds.get_mut(no)
                {
                    record(&mut f.deliveries_attempted, &mut f.deliveries_acknowledged, &mut f.answers);
                }
            }
        }
        if ok {
            return;
        }
    }
}

/// Every order the sandbox holds, oldest `out_trade_no` first.
async fn list(state: web::Data<AppState>) -> HttpResponse {
    let Ok(orders) = state.wechatpay.orders.lock() else {
        return HttpResponse::InternalServerError().finish();
    };
    let mut all: Vec<&Order> = orders.values().collect();
    all.sort_by(|a, b| a.out_trade_no.cmp(&b.out_trade_no));
    HttpResponse::Ok().json(serde_json::json!({ "orders": all }))
}

async fn show(path: web::Path<String>, state: web::Data<AppState>) -> HttpResponse {
    match state.wechatpay.order(&path.into_inner()) {
        Some(o) => HttpResponse::Ok().json(o),
        None => HttpResponse::NotFound().json(serde_json::json!({ "error": "no such order" })),
    }
}

/// The trade bill's header (bill_type ALL).
const BILL_HEADER: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注";

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

async fn trade_bill(req: HttpRequest, q: web::Query<HashMap<String, String>>, state: web::Data<AppState>) -> HttpResponse {
    let st = &state.wechatpay;
    if let Err(why) = check_signature(st, &req, b"") {
        return wx_error(StatusCode::UNAUTHORIZED, "SIGN_ERROR", &why);
    }
    let (Some(date), Some(sub)) = (q.get("bill_date"), q.get("sub_mchid")) else {
        return wx_error(StatusCode::BAD_REQUEST, "PARAM_ERROR", "bill_date and sub_mchid are required");
    };
    let Ok(orders) = st.orders.lock() else {
        return wx_error(StatusCode::INTERNAL_SERVER_ERROR, "SYSTEM_ERROR", "lock");
    };
    let mut paid: Vec<&Order> = orders
        .values()
        .filter(|o| &o.sub_mchid == sub && o.success_time.as_deref().is_some_and(|t| t.starts_with(date.as_str())))
        .collect();
    paid.sort_by(|a, b| a.success_time.cmp(&b.success_time));
    let mut csv = format!("{BILL_HEADER}\n");
    let mut total = 0;
    for o in &paid {
        let time = o.success_time.as_deref().unwrap_or("").get(..19).unwrap_or("").replace('T', " ");
        let fee = o.total * 6; // 0.60 % in thousandths of a fen
        csv.push_str(&format!(
            "`{time},`{},`{SP_MCHID},`{},`,`{},`{},`{},`JSAPI,`SUCCESS,`OTHERS,`CNY,`{},`0.00,`0,`0,`0.00,`0.00,`,`,`{},`,`{}.{:05},`0.60%,`{},`0.00,`\n",
            o.sp_appid,
            o.sub_mchid,
            o.transaction_id.as_deref().unwrap_or(""),
            o.out_trade_no,
            o.sp_openid,
            yuan(o.total),
            o.description.replace(',', " "),
            fee / 100_000,
            fee % 100_000,
            yuan(o.total),
        ));
        total += o.total;
    }
    csv.push_str("总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n");
    csv.push_str(&format!("`{},`{},`0.00,`0.00,`0.00000,`{},`0.00\n", paid.len(), yuan(total), yuan(total)));
    drop(orders);
    let bytes = csv.into_bytes();
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &bytes);
    let token = hex::encode(rand::random::<[u8; 16]>());
    if let Ok(mut bills) = st.bills.lock() {
        bills.insert(token.clone(), bytes);
    }
    let host = req.connection_info().host().to_owned();
    answer(
        st,
        StatusCode::OK,
        Some(serde_json::json!({
            "hash_type": "SHA1",
            "hash_value": hex::encode(digest.as_ref()),
            "download_url": format!("http://{host}/v3/billdownload/file?token={token}"),
        })),
    )
}

async fn bill_file(req: HttpRequest, q: web::Query<HashMap<String, String>>, state: web::Data<AppState>) -> HttpResponse {
    let st = &state.wechatpay;
    if let Err(why) = check_signature(st, &req, b"") {
        return wx_error(StatusCode::UNAUTHORIZED, "SIGN_ERROR", &why);
    }
    let file = q.get("token").and_then(|t| st.bills.lock().ok()?.get(t).cloned());
    match file {
        Some(bytes) => HttpResponse::Ok().content_type("application/octet-stream").body(bytes),
        None => wx_error(StatusCode::NOT_FOUND, "NO_STATEMENT_EXIST", "no such bill"),
    }
}
