//! WeChat Pay API v3, partner (service-provider) mode: each property company is a sub-merchant (DESIGN §8).
//!
//! Requests carry `Authorization: WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",signature="…",timestamp="…",
//! serial_no="…"` where signature = base64 RSA-SHA256 (PKCS#1 v1.5) with the merchant key over
//! `METHOD\nURL-path-with-query\ntimestamp\nnonce\nbody\n`. Answers and notifications are signed by WeChat Pay over
//! `timestamp\nnonce\nbody\n` (headers `Wechatpay-Timestamp`, `Wechatpay-Nonce`, `Wechatpay-Signature`,
//! `Wechatpay-Serial`); the serial names a platform certificate or a platform public key (`PUB_KEY_ID_…`), and
//! during a rotation several are valid. Notification resources are `AEAD_AES_256_GCM` with the APIv3 key.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, UnparsedPublicKey};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer, SubjectPublicKeyInfoDer};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// The `[wechatpay]` configuration section. Absent = payments are off (bills can still be generated and listed).
#[derive(Debug, Deserialize)]
pub struct WeChatPayConfig {
    /// `https://api.mch.weixin.qq.com` in production, the sandbox in tests and demos.
    pub base_url: String,
    /// The service provider's AppID (the mini-program's AppID) and merchant id.
    pub sp_appid: String,
    pub sp_mchid: String,
    /// Serial number of the merchant API certificate whose key signs our requests.
    pub merchant_serial_no: String,
    /// PKCS#8 PEM of the merchant API private key (RSA 2048).
    pub merchant_key_file: PathBuf,
    /// The APIv3 key (32 characters) that encrypts notification resources.
    pub apiv3_key: SecretString,
    /// Where WeChat Pay sends payment notifications: `https://…/v1/payments/wechat/notify`.
    pub notify_url: String,
    /// Keys that sign WeChat Pay's answers and notifications, by serial (certificate serial or `PUB_KEY_ID_…`);
    /// list the old and the new one during a rotation.
    pub platform_keys: Vec<PlatformKeyConfig>,
    /// Sub-merchant id of each community's property company, by community code.
    #[serde(default)]
    pub sub_mchids: HashMap<String, String>,
    /// Notifications whose `Wechatpay-Timestamp` differs from our clock by more are refused (replays).
    #[serde(default = "default_max_skew")]
    pub notify_max_skew_secs: u64,
}

fn default_max_skew() -> u64 {
    300
}

#[derive(Debug, Deserialize)]
pub struct PlatformKeyConfig {
    pub serial: String,
    /// PEM: `PUBLIC KEY` (platform public key) or `CERTIFICATE` (platform certificate).
    pub file: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum WeChatPayError {
    #[error("key file {0}: {1}")]
    Key(PathBuf, String),
    #[error("configuration: {0}")]
    Config(&'static str),
    #[error("crypto failure")]
    Crypto,
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    #[error("WeChat Pay answered {status} {code}")]
    Api { status: u16, code: String, message: String },
    #[error("answer not signed by a known platform key: {0}")]
    BadAnswerSignature(VerifyError),
    #[error("malformed answer: {0}")]
    BadAnswer(String),
}

/// Why a signed message (notification or answer) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("missing Wechatpay-* header")]
    MissingHeader,
    #[error("signature probe")]
    Probe,
    #[error("timestamp outside the window")]
    Stale,
    #[error("unknown serial")]
    UnknownSerial,
    #[error("bad signature")]
    BadSignature,
}

/// The `Wechatpay-*` headers of a signed message.
#[derive(Debug, Clone)]
pub struct SignedHeaders {
    pub timestamp: String,
    pub nonce: String,
    pub signature: String,
    pub serial: String,
}

impl SignedHeaders {
    pub fn from_map(get: impl Fn(&str) -> Option<String>) -> Result<Self, VerifyError> {
        let h = |name: &str| get(name).filter(|v| !v.is_empty() && v.len() <= 1024).ok_or(VerifyError::MissingHeader);
        Ok(Self {
            timestamp: h("Wechatpay-Timestamp")?,
            nonce: h("Wechatpay-Nonce")?,
            signature: h("Wechatpay-Signature")?,
            serial: h("Wechatpay-Serial")?,
        })
    }
}

/// A `Wechatpay-Timestamp`: unix seconds, 1–12 plain digits (no sign, no leading zero), so any value is far
/// inside `i64` and its distance to our clock is computed without overflow ([`i64::abs_diff`]).
fn parse_timestamp_secs(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let canonical = (1..=12).contains(&b.len()) && b.iter().all(u8::is_ascii_digit) && (b[0] != b'0' || b.len() == 1);
    if canonical { text.parse().ok() } else { None }
}

/// An encrypted resource of a notification.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Resource {
    pub algorithm: String,
    pub ciphertext: String,
    #[serde(default)]
    pub associated_data: String,
    pub nonce: String,
    #[serde(default)]
    pub original_type: String,
}

/// A notification envelope.
#[derive(Debug, Clone, Deserialize)]
pub struct Notification {
    pub id: String,
    pub event_type: String,
    #[serde(default)]
    pub resource_type: String,
    pub resource: Resource,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Amount {
    pub total: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_total: Option<i64>,
    pub currency: String,
}

/// A transaction as the partner order query and the payment notification describe it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Transaction {
    pub sp_mchid: String,
    pub sub_mchid: String,
    pub out_trade_no: String,
    #[serde(default)]
    pub transaction_id: Option<String>,
    pub trade_state: String,
    #[serde(default)]
    pub success_time: Option<String>,
    #[serde(default)]
    pub amount: Option<Amount>,
}

/// What `wx.requestPayment` needs.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PayParams {
    pub app_id: String,
    pub time_stamp: String,
    pub nonce_str: String,
    pub package: String,
    pub sign_type: String,
    pub pay_sign: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RefundAmount {
    pub total: i64,
    pub refund: i64,
    #[serde(default)]
    pub currency: Option<String>,
}

/// A refund as the refund answer, the refund query and the `REFUND.*` notification resource describe it (the
/// notification names the state `refund_status` and carries the merchant ids; the answers call it `status`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefundReport {
    #[serde(default)]
    pub sp_mchid: Option<String>,
    #[serde(default)]
    pub sub_mchid: Option<String>,
    pub out_trade_no: String,
    pub out_refund_no: String,
    pub refund_id: String,
    /// SUCCESS, CLOSED, PROCESSING or ABNORMAL.
    #[serde(alias = "status")]
    pub refund_status: String,
    #[serde(default)]
    pub success_time: Option<String>,
    pub amount: RefundAmount,
}

/// The client. Cheap to share (`Arc`).
pub struct WeChatPay {
    base_url: String,
    pub sp_appid: String,
    pub sp_mchid: String,
    serial_no: String,
    key: RsaKeyPair,
    apiv3_key: [u8; 32],
    pub notify_url: String,
    platform_keys: HashMap<String, Vec<u8>>,
    sub_mchids: HashMap<String, String>,
    max_skew_secs: u64,
    http: reqwest::Client,
    rng: SystemRandom,
}

impl std::fmt::Debug for WeChatPay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeChatPay").field("sp_mchid", &self.sp_mchid).finish_non_exhaustive()
    }
}

/// The RSAPublicKey inside a `PUBLIC KEY` or `CERTIFICATE` PEM file.
fn load_public_key(path: &PathBuf) -> Result<Vec<u8>, WeChatPayError> {
    use x509_parser::prelude::FromDer;
    let bad = |e: String| WeChatPayError::Key(path.clone(), e);
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    if text.contains("BEGIN CERTIFICATE") {
        let der = CertificateDer::from_pem_slice(text.as_bytes()).map_err(|e| bad(e.to_string()))?;
        let (_, cert) = x509_parser::certificate::X509Certificate::from_der(&der).map_err(|e| bad(e.to_string()))?;
        Ok(cert.public_key().subject_public_key.data.to_vec())
    } else {
        let der = SubjectPublicKeyInfoDer::from_pem_slice(text.as_bytes()).map_err(|e| bad(e.to_string()))?;
        let (_, spki) =
            x509_parser::x509::SubjectPublicKeyInfo::from_der(&der).map_err(|e| bad(e.to_string()))?;
        Ok(spki.subject_public_key.data.to_vec())
    }
}

impl WeChatPay {
    pub fn from_config(cfg: &WeChatPayConfig) -> Result<Self, WeChatPayError> {
        let key_der = PrivatePkcs8KeyDer::from_pem_file(&cfg.merchant_key_file)
            .map_err(|e| WeChatPayError::Key(cfg.merchant_key_file.clone(), e.to_string()))?;
        let key = RsaKeyPair::from_pkcs8(key_der.secret_pkcs8_der())
            .map_err(|e| WeChatPayError::Key(cfg.merchant_key_file.clone(), e.to_string()))?;
        let apiv3_key: [u8; 32] = cfg
            .apiv3_key
            .expose_secret()
            .as_bytes()
            .try_into()
            .map_err(|_| WeChatPayError::Config("apiv3_key must be 32 characters"))?;
        if cfg.platform_keys.is_empty() {
            return Err(WeChatPayError::Config("at least one platform key is required"));
        }
        let mut platform_keys = HashMap::new();
        for k in &cfg.platform_keys {
            platform_keys.insert(k.serial.clone(), load_public_key(&k.file)?);
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(3))
            .build()?;
        Ok(Self {
            base_url: cfg.base_url.trim_end_matches('/').to_owned(),
            sp_appid: cfg.sp_appid.clone(),
            sp_mchid: cfg.sp_mchid.clone(),
            serial_no: cfg.merchant_serial_no.clone(),
            key,
            apiv3_key,
            notify_url: cfg.notify_url.clone(),
            platform_keys,
            // Environment overrides arrive lower-cased (`LINLI_WECHATPAY__SUB_MCHIDS__SH-PD-0001`): match any case.
            sub_mchids: cfg.sub_mchids.iter().map(|(k, v)| (k.to_ascii_uppercase(), v.clone())).collect(),
            max_skew_secs: cfg.notify_max_skew_secs,
            http,
            rng: SystemRandom::new(),
        })
    }

    /// The sub-merchant of a community, by community code.
    pub fn sub_mchid(&self, community_code: &str) -> Option<&str> {
        self.sub_mchids.get(&community_code.to_ascii_uppercase()).map(String::as_str)
    }

    fn sign(&self, message: &[u8]) -> Result<String, WeChatPayError> {
        let mut sig = vec![0; self.key.public().modulus_len()];
        self.key.sign(&RSA_PKCS1_SHA256, &self.rng, message, &mut sig).map_err(|_| WeChatPayError::Crypto)?;
        Ok(B64.encode(sig))
    }

    /// 32 random characters from `[0-9A-Z]`.
    fn nonce(&self) -> Result<String, WeChatPayError> {
        let mut raw = [0u8; 16];
        self.rng.fill(&mut raw).map_err(|_| WeChatPayError::Crypto)?;
        Ok(hex::encode_upper(raw))
    }

    /// The `Authorization` header of a request.
    pub fn authorization(
        &self,
        method: &str,
        path_and_query: &str,
        body: &str,
        timestamp: i64,
        nonce: &str,
    ) -> Result<String, WeChatPayError> {
        let message = format!("{method}\n{path_and_query}\n{timestamp}\n{nonce}\n{body}\n");
        let signature = self.sign(message.as_bytes())?;
        Ok(format!(
            "WECHATPAY2-SHA256-RSA2048 mchid=\"{}\",nonce_str=\"{nonce}\",signature=\"{signature}\",timestamp=\"{timestamp}\",serial_no=\"{}\"",
            self.sp_mchid, self.serial_no
        ))
    }

    /// Checks a message signed by WeChat Pay: probe refusal, timestamp window, key by serial, RSA-SHA256.
    pub fn verify(&self, h: &SignedHeaders, body: &[u8], now_secs: i64) -> Result<(), VerifyError> {
        if h.signature.starts_with("WECHATPAY/SIGNTEST/") {
            return Err(VerifyError::Probe);
        }
        let ts = parse_timestamp_secs(&h.timestamp).ok_or(VerifyError::Stale)?;
        if now_secs.abs_diff(ts) > self.max_skew_secs {
            return Err(VerifyError::Stale);
        }
        let key = self.platform_keys.get(&h.serial).ok_or(VerifyError::UnknownSerial)?;
        let sig = B64.decode(&h.signature).map_err(|_| VerifyError::BadSignature)?;
        let mut message = Vec::with_capacity(body.len() + 64);
        message.extend_from_slice(h.timestamp.as_bytes());
        message.push(b'\n');
        message.extend_from_slice(h.nonce.as_bytes());
        message.push(b'\n');
        message.extend_from_slice(body);
        message.push(b'\n');
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key)
            .verify(&message, &sig)
            .map_err(|_| VerifyError::BadSignature)
    }

    /// Decrypts an `AEAD_AES_256_GCM` resource with the APIv3 key.
    pub fn decrypt(&self, r: &Resource) -> Result<Vec<u8>, WeChatPayError> {
        if r.algorithm != "AEAD_AES_256_GCM" || r.nonce.len() != 12 || r.ciphertext.len() > 64 * 1024 {
            return Err(WeChatPayError::Crypto);
        }
        let data = B64.decode(&r.ciphertext).map_err(|_| WeChatPayError::Crypto)?;
        let cipher = Aes256Gcm::new_from_slice(&self.apiv3_key).map_err(|_| WeChatPayError::Crypto)?;
        let nonce: [u8; 12] = r.nonce.as_bytes().try_into().map_err(|_| WeChatPayError::Crypto)?;
        cipher
            .decrypt(&Nonce::from(nonce), Payload { msg: &data, aad: r.associated_data.as_bytes() })
            .map_err(|_| WeChatPayError::Crypto)
    }

    /// `wx.requestPayment` parameters: paySign = RSA-SHA256 over `appId\ntimeStamp\nnonceStr\npackage\n`.
    pub fn pay_params(&self, prepay_id: &str, timestamp: i64) -> Result<PayParams, WeChatPayError> {
        let nonce = self.nonce()?;
        let package = format!("prepay_id={prepay_id}");
        let message = format!("{}\n{timestamp}\n{nonce}\n{package}\n", self.sp_appid);
        Ok(PayParams {
            app_id: self.sp_appid.clone(),
            time_stamp: timestamp.to_string(),
            nonce_str: nonce,
            package,
            sign_type: "RSA".into(),
            pay_sign: self.sign(message.as_bytes())?,
        })
    }

    /// One signed call; a 2xx answer's signature is verified. Returns status and body.
    async fn call(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(u16, Vec<u8>), WeChatPayError> {
        self.call_checked(method, path_and_query, body, true).await
    }

    /// As [`Self::call`]; `verify_answer` false only for file downloads, which WeChat Pay does not sign (their
    /// integrity is checked against the hash given in the signed answer that named them).
    async fn call_checked(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
        body: Option<&serde_json::Value>,
        verify_answer: bool,
    ) -> Result<(u16, Vec<u8>), WeChatPayError> {
        let body_text = match body {
            Some(v) => serde_json::to_string(v).map_err(|e| WeChatPayError::BadAnswer(e.to_string()))?,
            None => String::new(),
        };
        let now = chrono::Utc::now().timestamp();
        let auth = self.authorization(method.as_str(), path_and_query, &body_text, now, &self.nonce()?)?;
        let mut req = self
            .http
            .request(method, format!("{}{path_and_query}", self.base_url))
            .header("Authorization", auth)
            .header("Accept", "application/json")
            .header("User-Agent", "linli-server");
        if body.is_some() {
            req = req.header("Content-Type", "application/json").body(body_text);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await?;
        if bytes.len() > 16 * 1024 * 1024 {
            return Err(WeChatPayError::BadAnswer("answer too large".into()));
        }
        if (200..300).contains(&status) && !verify_answer {
            return Ok((status, bytes.to_vec()));
        }
        if (200..300).contains(&status) {
            let signed = SignedHeaders::from_map(|n| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned))
                .map_err(WeChatPayError::BadAnswerSignature)?;
            self.verify(&signed, &bytes, now).map_err(WeChatPayError::BadAnswerSignature)?;
            return Ok((status, bytes.to_vec()));
        }
        #[derive(Deserialize)]
        struct ApiErrorBody {
            code: String,
            #[serde(default)]
            message: String,
        }
        let e: ApiErrorBody = serde_json::from_slice(&bytes)
            .unwrap_or(ApiErrorBody { code: "UNKNOWN".into(), message: String::new() });
        Err(WeChatPayError::Api { status, code: e.code, message: e.message })
    }

    /// `POST /v3/pay/partner/transactions/jsapi` → `prepay_id`. The same `out_trade_no` with the same content
    /// gets the same prepay id again, so a retry after a crash is safe.
    pub async fn jsapi(
        &self,
        sub_mchid: &str,
        description: &str,
        out_trade_no: &str,
        total_fen: i64,
        sp_openid: &str,
    ) -> Result<String, WeChatPayError> {
        let body = serde_json::json!({
            "sp_appid": self.sp_appid,
            "sp_mchid": self.sp_mchid,
            "sub_mchid": sub_mchid,
            "description": description,
            "out_trade_no": out_trade_no,
            "notify_url": self.notify_url,
            "amount": { "total": total_fen, "currency": "CNY" },
            "payer": { "sp_openid": sp_openid },
        });
        let (_, bytes) = self.call(reqwest::Method::POST, "/v3/pay/partner/transactions/jsapi", Some(&body)).await?;
        #[derive(Deserialize)]
        struct Prepay {
            prepay_id: String,
        }
        let p: Prepay = serde_json::from_slice(&bytes).map_err(|e| WeChatPayError::BadAnswer(e.to_string()))?;
        Ok(p.prepay_id)
    }

    /// `GET /v3/pay/partner/transactions/out-trade-no/{out_trade_no}`; `None` when WeChat Pay has no such order.
    pub async fn query(&self, sub_mchid: &str, out_trade_no: &str) -> Result<Option<Transaction>, WeChatPayError> {
        let path = format!(
            "/v3/pay/partner/transactions/out-trade-no/{out_trade_no}?sp_mchid={}&sub_mchid={sub_mchid}",
            self.sp_mchid
        );
        match self.call(reqwest::Method::GET, &path, None).await {
            Ok((_, bytes)) => {
                serde_json::from_slice(&bytes).map(Some).map_err(|e| WeChatPayError::BadAnswer(e.to_string()))
            }
            Err(WeChatPayError::Api { code, .. }) if code == "ORDER_NOT_EXIST" => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST /v3/pay/partner/transactions/out-trade-no/{out_trade_no}/close` (204).
    pub async fn close(&self, sub_mchid: &str, out_trade_no: &str) -> Result<(), WeChatPayError> {
        let path = format!("/v3/pay/partner/transactions/out-trade-no/{out_trade_no}/close");
        let body = serde_json::json!({ "sp_mchid": self.sp_mchid, "sub_mchid": sub_mchid });
        self.call(reqwest::Method::POST, &path, Some(&body)).await.map(|_| ())
    }

    /// `POST /v3/refund/domestic/refunds`. The same `out_refund_no` again is the same refund (safe retry). The
    /// outcome arrives later as a `REFUND.*` notification at `notify_url`, or by [`Self::refund_query`].
    pub async fn refund(
        &self,
        sub_mchid: &str,
        out_trade_no: &str,
        out_refund_no: &str,
        reason: &str,
        refund_fen: i64,
        total_fen: i64,
    ) -> Result<RefundReport, WeChatPayError> {
        let body = serde_json::json!({
            "sub_mchid": sub_mchid,
            "out_trade_no": out_trade_no,
            "out_refund_no": out_refund_no,
            "reason": reason,
            "notify_url": self.notify_url,
            "amount": { "refund": refund_fen, "total": total_fen, "currency": "CNY" },
        });
        let (_, bytes) = self.call(reqwest::Method::POST, "/v3/refund/domestic/refunds", Some(&body)).await?;
        serde_json::from_slice(&bytes).map_err(|e| WeChatPayError::BadAnswer(e.to_string()))
    }

    /// `GET /v3/refund/domestic/refunds/{out_refund_no}?sub_mchid=…`; `None` when WeChat Pay has no such refund.
    pub async fn refund_query(&self, sub_mchid: &str, out_refund_no: &str) -> Result<Option<RefundReport>, WeChatPayError> {
        let path = format!("/v3/refund/domestic/refunds/{out_refund_no}?sub_mchid={sub_mchid}");
        match self.call(reqwest::Method::GET, &path, None).await {
            Ok((_, bytes)) => {
                serde_json::from_slice(&bytes).map(Some).map_err(|e| WeChatPayError::BadAnswer(e.to_string()))
            }
            Err(WeChatPayError::Api { code, .. }) if code == "RESOURCE_NOT_EXISTS" => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The trade bill of a day (`GET /v3/bill/tradebill`, then the `download_url`), its SHA1 checked.
    pub async fn trade_bill(&self, sub_mchid: &str, bill_date: chrono::NaiveDate) -> Result<String, WeChatPayError> {
        let path = format!(
            "/v3/bill/tradebill?bill_date={}&sub_mchid={sub_mchid}&bill_type=ALL",
            bill_date.format("%Y-%m-%d")
        );
        let (_, bytes) = self.call(reqwest::Method::GET, &path, None).await?;
        #[derive(Deserialize)]
        struct BillAnswer {
            hash_type: String,
            hash_value: String,
            download_url: String,
        }
        let answer: BillAnswer =
            serde_json::from_slice(&bytes).map_err(|e| WeChatPayError::BadAnswer(e.to_string()))?;
        let download_path = answer
            .download_url
            .strip_prefix(&self.base_url)
            .filter(|p| p.starts_with('/'))
            .ok_or_else(|| WeChatPayError::BadAnswer("download_url is not on the API host".into()))?;
        let (_, file) = self.call_checked(reqwest::Method::GET, download_path, None, false).await?;
        let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &file);
        if answer.hash_type != "SHA1" || !hex::encode(digest.as_ref()).eq_ignore_ascii_case(&answer.hash_value) {
            return Err(WeChatPayError::BadAnswer("bill hash does not match".into()));
        }
        String::from_utf8(file).map_err(|_| WeChatPayError::BadAnswer("bill is not UTF-8".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> WeChatPay {
        // As every binary does at start-up (reqwest has no bundled provider).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let keys = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/test-keys");
        WeChatPay::from_config(&WeChatPayConfig {
            base_url: "http://127.0.0.1:1".into(),
            sp_appid: "wx0000sandbox0000".into(),
            sp_mchid: "1900000100".into(),
            merchant_serial_no: "3775B6A45ACD588826D15E583A95F5DD5BBAB6A0".into(),
            merchant_key_file: keys.join("test-wechatpay-merchant.key"),
            apiv3_key: "linli-sandbox-apiv3-key-32-bytes".to_owned().into(),
            notify_url: "https://example.invalid/v1/payments/wechat/notify".into(),
            platform_keys: vec![PlatformKeyConfig { serial: "S1".into(), file: keys.join("test-wechatpay-merchant.pub") }],
            sub_mchids: HashMap::from([("sh-pd-0001".to_owned(), "1900000109".to_owned())]),
            notify_max_skew_secs: 300,
        })
        .unwrap()
    }

    fn merchant_public_key() -> Vec<u8> {
        load_public_key(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/test-keys/test-wechatpay-merchant.pub"),
        )
        .unwrap()
    }

    #[test]
    fn authorization_signs_the_documented_message() {
        let wx = client();
        let header = wx.authorization("GET", "/v3/certificates", "", 1554208460, "593BEC0C930BF1AFEB40B4A08C8FB242").unwrap();
        let params = header.strip_prefix("WECHATPAY2-SHA256-RSA2048 ").unwrap();
        let fields: HashMap<&str, &str> = params
            .split(',')
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (k, v.trim_matches('"'))
            })
            .collect();
        assert_eq!(fields["mchid"], "1900000100");
        assert_eq!(fields["serial_no"], "3775B6A45ACD588826D15E583A95F5DD5BBAB6A0");
        assert_eq!(fields["timestamp"], "1554208460");
        assert_eq!(fields["nonce_str"], "593BEC0C930BF1AFEB40B4A08C8FB242");
        // METHOD\nURL\ntimestamp\nnonce\nbody\n with an empty body, as WeChat Pay's guide writes it.
        let message = "GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n";
        let sig = B64.decode(fields["signature"]).unwrap();
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, merchant_public_key())
            .verify(message.as_bytes(), &sig)
            .unwrap();
    }

    #[test]
    fn pay_sign_covers_app_id_timestamp_nonce_and_package() {
        let wx = client();
        let p = wx.pay_params("wx201410272009395522657a690389285100", 1414561699).unwrap();
        assert_eq!((p.sign_type.as_str(), p.package.as_str()), ("RSA", "prepay_id=wx201410272009395522657a690389285100"));
        let message = format!("wx0000sandbox0000\n1414561699\n{}\nprepay_id=wx201410272009395522657a690389285100\n", p.nonce_str);
        let sig = B64.decode(&p.pay_sign).unwrap();
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, merchant_public_key())
            .verify(message.as_bytes(), &sig)
            .unwrap();
    }

    #[test]
    fn verify_refuses_probes_stale_unknown_and_tampered() {
        let wx = client();
        // The test client trusts the merchant key as its "platform" key S1, so it can sign here.
        let body = br#"{"id":"EV-1"}"#;
        let sign = |ts: &str, nonce: &str, body: &[u8]| {
            let mut m = format!("{ts}\n{nonce}\n").into_bytes();
            m.extend_from_slice(body);
            m.push(b'\n');
            wx.sign(&m).unwrap()
        };
        let h = |ts: i64, sig: String, serial: &str| SignedHeaders {
            timestamp: ts.to_string(),
            nonce: "N1".into(),
            signature: sig,
            serial: serial.into(),
        };
        let now = 1_800_000_000;
        assert_eq!(wx.verify(&h(now, sign(&now.to_string(), "N1", body), "S1"), body, now), Ok(()));
        assert_eq!(wx.verify(&h(now, sign(&now.to_string(), "N1", body), "S1"), b"{\"id\":\"EV-2\"}", now), Err(VerifyError::BadSignature));
        assert_eq!(wx.verify(&h(now, sign(&now.to_string(), "N1", body), "S2"), body, now), Err(VerifyError::UnknownSerial));
        let old = now - 301;
        assert_eq!(wx.verify(&h(old, sign(&old.to_string(), "N1", body), "S1"), body, now), Err(VerifyError::Stale));
        assert_eq!(wx.verify(&h(now, "WECHATPAY/SIGNTEST/abc".into(), "S1"), body, now), Err(VerifyError::Probe));
        // Timestamps whose distance to the clock overflows an i64 (it wrapped to "in the window" in release
        // builds and panicked in debug ones), signs, padding and other non-canonical forms are stale.
        for ts in [now.wrapping_add(i64::MIN), i64::MIN, i64::MAX, -1] {
            let text = ts.to_string();
            let signed = SignedHeaders { timestamp: text.clone(), ..h(now, sign(&text, "N1", body), "S1") };
            assert_eq!(wx.verify(&signed, body, now), Err(VerifyError::Stale), "{text}");
        }
        for text in [format!("+{now}"), format!("0{now}"), format!(" {now}"), String::new(), "9".repeat(13)] {
            let signed = SignedHeaders { timestamp: text.clone(), ..h(now, sign(&text, "N1", body), "S1") };
            assert_eq!(wx.verify(&signed, body, now), Err(VerifyError::Stale), "{text:?}");
        }
        assert_eq!(wx.verify(&h(now, sign(&now.to_string(), "N1", body), "S1"), body, i64::MIN), Err(VerifyError::Stale));
        assert_eq!(wx.sub_mchid("SH-PD-0001"), Some("1900000109"));
    }
}
