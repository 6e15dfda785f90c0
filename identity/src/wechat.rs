//! WeChat server APIs used by the identity flow: `jscode2session` (login), `stable_token` (the access token),
//! `message/subscribe/send` (notifications). The base URL is configurable so tests point it at the sandbox.

use crate::http_util::{MAX_RESPONSE_BYTES, read_capped};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

pub const DEFAULT_BASE_URL: &str = "https://api.weixin.qq.com";

/// WeChat `errcode`s with a meaning for us; anything else is kept as `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeChatErrorCode {
    /// −1: system busy, retry later.
    SystemBusy,
    /// 40029: invalid js_code.
    InvalidCode,
    /// 45011: API rate limit (per user).
    RateLimited,
    /// 40163: js_code already used.
    CodeUsed,
    /// 40226: high-risk user, login blocked by WeChat.
    HighRiskUser,
    Other(i64),
}

impl WeChatErrorCode {
    pub fn from_errcode(code: i64) -> Self {
        match code {
            -1 => Self::SystemBusy,
            40029 => Self::InvalidCode,
            45011 => Self::RateLimited,
            40163 => Self::CodeUsed,
            40226 => Self::HighRiskUser,
            other => Self::Other(other),
        }
    }

    pub fn errcode(self) -> i64 {
        match self {
            Self::SystemBusy => -1,
            Self::InvalidCode => 40029,
            Self::RateLimited => 45011,
            Self::CodeUsed => 40163,
            Self::HighRiskUser => 40226,
            Self::Other(c) => c,
        }
    }

    /// Stable problem code.
    pub fn code(self) -> &'static str {
        match self {
            Self::SystemBusy => "wechat_busy",
            Self::InvalidCode => "wechat_code_invalid",
            Self::RateLimited => "wechat_rate_limited",
            Self::CodeUsed => "wechat_code_used",
            Self::HighRiskUser => "wechat_user_high_risk",
            Self::Other(_) => "wechat_error",
        }
    }

    /// Whether retrying later can help (−1 and 45011); the others need a new code or never succeed.
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::SystemBusy | Self::RateLimited)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeChatError {
    #[error("WeChat could not be reached: {0}")]
    Transport(String),
    #[error("WeChat answered errcode {}", .code.errcode())]
    Api { code: WeChatErrorCode, errmsg: String },
    #[error("WeChat's answer could not be read")]
    Malformed,
}

impl WeChatError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Transport(_) => "wechat_unreachable",
            Self::Api { code, .. } => code.code(),
            Self::Malformed => "wechat_malformed",
        }
    }
}

/// The result of `jscode2session`. `session_key` never leaves the server and never prints.
#[derive(Clone)]
pub struct WxSession {
    pub openid: String,
    pub unionid: Option<String>,
    pub session_key: SecretString,
}

impl fmt::Debug for WxSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WxSession").field("openid", &self.openid).field("unionid", &self.unionid).finish_non_exhaustive()
    }
}

#[derive(Clone)]
pub struct AccessToken {
    pub token: SecretString,
    pub expires_in: u64,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken").field("expires_in", &self.expires_in).finish_non_exhaustive()
    }
}

/// A subscribe message (`data` = template keyword → value).
#[derive(Debug, Clone, Serialize)]
pub struct SubscribeMessage {
    pub touser: String,
    pub template_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    /// `developer`, `trial` or `formal`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub miniprogram_state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    pub data: BTreeMap<String, TemplateValue>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TemplateValue {
    pub value: String,
}

#[derive(Clone)]
pub struct WeChatConfig {
    pub base_url: String,
    pub appid: String,
    pub secret: SecretString,
}

impl fmt::Debug for WeChatConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeChatConfig").field("base_url", &self.base_url).field("appid", &self.appid).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct WeChatClient {
    http: reqwest::Client,
    config: WeChatConfig,
}

#[derive(Deserialize)]
struct RawReply {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    openid: Option<String>,
    unionid: Option<String>,
    session_key: Option<String>,
    access_token: Option<String>,
    expires_in: Option<u64>,
}

/// js_code values are short opaque tokens; refuse anything odd before it reaches a URL.
fn valid_code(code: &str) -> bool {
    (1..=128).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl WeChatClient {
    pub fn new(http: reqwest::Client, config: WeChatConfig) -> Self {
        Self { http, config }
    }

    /// What an access token belongs to: the WeChat endpoint and the appid (a cache key, not a secret).
    pub fn token_scope(&self) -> String {
        format!("{}|{}", self.config.base_url, self.config.appid)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.config.base_url.trim_end_matches('/'), path)
    }

    async fn read(resp: Result<reqwest::Response, reqwest::Error>) -> Result<RawReply, WeChatError> {
        // `without_url`: the URL may carry the secret or the access token.
        let resp = resp.map_err(|e| WeChatError::Transport(e.without_url().to_string()))?;
        let body = read_capped(resp, MAX_RESPONSE_BYTES).await.map_err(WeChatError::Transport)?;
        let reply: RawReply = serde_json::from_slice(&body).map_err(|_| WeChatError::Malformed)?;
        if reply.errcode != 0 {
            return Err(WeChatError::Api { code: WeChatErrorCode::from_errcode(reply.errcode), errmsg: reply.errmsg });
        }
        Ok(reply)
    }

    /// `GET /sns/jscode2session?appid=&secret=&js_code=&grant_type=authorization_code`.
    pub async fn jscode2session(&self, js_code: &str) -> Result<WxSession, WeChatError> {
        if !valid_code(js_code) {
            return Err(WeChatError::Api { code: WeChatErrorCode::InvalidCode, errmsg: "invalid code".into() });
        }
        let resp = self
            .http
            .get(self.url("/sns/jscode2session"))
            .query(&[
                ("appid", self.config.appid.as_str()),
                ("secret", self.config.secret.expose_secret()),
                ("js_code", js_code),
                ("grant_type", "authorization_code"),
            ])
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await;
        let r = Self::read(resp).await?;
        match (r.openid, r.session_key) {
            (Some(openid), Some(key)) if !openid.is_empty() && openid.len() <= 128 => {
                Ok(WxSession { openid, unionid: r.unionid.filter(|u| !u.is_empty()), session_key: key.into() })
            }
            _ => Err(WeChatError::Malformed),
        }
    }

    /// `POST /cgi-bin/stable_token {grant_type: client_credential, appid, secret, force_refresh}`.
    pub async fn stable_token(&self, force_refresh: bool) -> Result<AccessToken, WeChatError> {
        let body = serde_json::json!({
            "grant_type": "client_credential",
            "appid": self.config.appid,
            "secret": self.config.secret.expose_secret(),
            "force_refresh": force_refresh,
        });
        let resp = self
            .http
            .post(self.url("/cgi-bin/stable_token"))
            .json(&body)
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await;
        let r = Self::read(resp).await?;
        match (r.access_token, r.expires_in) {
            (Some(t), Some(e)) if !t.is_empty() => Ok(AccessToken { token: t.into(), expires_in: e }),
            _ => Err(WeChatError::Malformed),
        }
    }

    /// `POST /cgi-bin/message/subscribe/send?access_token=…`.
    pub async fn send_subscribe_message(&self, access_token: &AccessToken, message: &SubscribeMessage) -> Result<(), WeChatError> {
        let resp = self
            .http
            .post(self.url("/cgi-bin/message/subscribe/send"))
            .query(&[("access_token", access_token.token.expose_secret())])
            .json(message)
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await;
        Self::read(resp).await.map(|_| ())
    }
}

#[derive(Deserialize)]
struct SoterReply {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    is_ok: Option<bool>,
}

impl WeChatClient {
    /// `POST /cgi-bin/soter/verify_signature?access_token=… {openid, json_string, json_signature}`: WeChat checks
    /// the SOTER signature (`resultJSON`/`resultJSONSignature` of `wx.startSoterAuthentication`). True = valid.
    pub async fn soter_verify_signature(
        &self,
        access_token: &AccessToken,
        openid: &str,
        json_string: &str,
        json_signature: &str,
    ) -> Result<bool, WeChatError> {
        let resp = self
            .http
            .post(self.url("/cgi-bin/soter/verify_signature"))
            .query(&[("access_token", access_token.token.expose_secret())])
            .json(&serde_json::json!({ "openid": openid, "json_string": json_string, "json_signature": json_signature }))
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| WeChatError::Transport(e.without_url().to_string()))?;
        let body = read_capped(resp, MAX_RESPONSE_BYTES).await.map_err(WeChatError::Transport)?;
        let r: SoterReply = serde_json::from_slice(&body).map_err(|_| WeChatError::Malformed)?;
        if r.errcode != 0 {
            return Err(WeChatError::Api { code: WeChatErrorCode::from_errcode(r.errcode), errmsg: r.errmsg });
        }
        r.is_ok.ok_or(WeChatError::Malformed)
    }
}

/// `msg_sec_check` v2 scenes (WeChat's enumeration): 1 profile, 2 comment, 3 forum, 4 social log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecScene {
    Profile = 1,
    Comment = 2,
    Forum = 3,
    SocialLog = 4,
}

/// WeChat's suggestion for a text, ordered by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Suggest {
    Pass,
    Review,
    Risky,
}

/// The most content `msg_sec_check` takes in one call (characters).
pub const MSG_SEC_CHECK_MAX_CHARS: usize = 2500;

/// One strategy's finding (`detail[]`): `keyword` for the keyword strategy, `prob` for the model.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct SecCheckDetail {
    pub strategy: String,
    #[serde(default)]
    pub errcode: i64,
    pub suggest: Option<Suggest>,
    pub label: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keyword: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prob: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<i64>,
}

/// The answer of `msg_sec_check` v2: the overall `result` and the per-strategy `detail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecCheckResult {
    pub suggest: Suggest,
    /// 100 normal, 10001 ads, 20001 politics, 20002 porn, 20003 abuse, 20006 crime, 20008 fraud, 20012 vulgar,
    /// 20013 copyright, 21000 other.
    pub label: i64,
    pub detail: Vec<SecCheckDetail>,
    pub trace_id: Option<String>,
}

/// The human name of a `msg_sec_check` label.
pub fn sec_label_name(label: i64) -> &'static str {
    match label {
        100 => "正常",
        10001 => "广告",
        20001 => "时政",
        20002 => "色情",
        20003 => "辱骂",
        20006 => "违法犯罪",
        20008 => "欺诈",
        20012 => "低俗",
        20013 => "版权",
        21000 => "其他",
        _ => "未知",
    }
}

#[derive(Deserialize)]
struct SecCheckOverall {
    suggest: Suggest,
    label: i64,
}

#[derive(Deserialize)]
struct SecCheckReply {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    result: Option<SecCheckOverall>,
    #[serde(default)]
    detail: Vec<SecCheckDetail>,
    trace_id: Option<String>,
}

impl WeChatClient {
    /// `POST /wxa/msg_sec_check?access_token=… {version: 2, openid, scene, content}`: WeChat's content-security
    /// check of a text written by `openid` (who must have used the mini-program in the last two hours).
    /// At most [`MSG_SEC_CHECK_MAX_CHARS`] characters per call; split longer texts.
    pub async fn msg_sec_check(
        &self,
        access_token: &AccessToken,
        openid: &str,
        scene: SecScene,
        content: &str,
    ) -> Result<SecCheckResult, WeChatError> {
        let resp = self
            .http
            .post(self.url("/wxa/msg_sec_check"))
            .query(&[("access_token", access_token.token.expose_secret())])
            .json(&serde_json::json!({ "version": 2, "openid": openid, "scene": scene as u8, "content": content }))
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| WeChatError::Transport(e.without_url().to_string()))?;
        let body = read_capped(resp, MAX_RESPONSE_BYTES).await.map_err(WeChatError::Transport)?;
        let r: SecCheckReply = serde_json::from_slice(&body).map_err(|_| WeChatError::Malformed)?;
        if r.errcode != 0 {
            return Err(WeChatError::Api { code: WeChatErrorCode::from_errcode(r.errcode), errmsg: r.errmsg });
        }
        let overall = r.result.ok_or(WeChatError::Malformed)?;
        Ok(SecCheckResult { suggest: overall.suggest, label: overall.label, detail: r.detail, trace_id: r.trace_id })
    }
}

/// Splits a text into pieces of at most `max` characters (never inside a character).
pub fn split_chars(text: &str, max: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(max.max(1)).map(|c| c.iter().collect()).collect()
}

/// The device fingerprint carried by a verified SOTER `resultJSON`: `soter:<cpu_id>:<uid>` (the TEE's machine id
/// and the app uid). None when either field is missing or the JSON is not an object. Only use it after
/// [`WeChatClient::soter_verify_signature`] returned true.
pub fn soter_device_fingerprint(json_string: &str) -> Option<String> {
    if json_string.len() > 8192 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(json_string).ok()?;
    let field = |k: &str| match v.get(k)? {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    Some(format!("soter:{}:{}", field("cpu_id")?, field("uid")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_login_errors_map_to_codes() {
        // errcodes from the jscode2session documentation.
        assert_eq!(WeChatErrorCode::from_errcode(-1), WeChatErrorCode::SystemBusy);
        assert_eq!(WeChatErrorCode::from_errcode(40029), WeChatErrorCode::InvalidCode);
        assert_eq!(WeChatErrorCode::from_errcode(45011), WeChatErrorCode::RateLimited);
        assert_eq!(WeChatErrorCode::from_errcode(40163), WeChatErrorCode::CodeUsed);
        assert_eq!(WeChatErrorCode::from_errcode(40226), WeChatErrorCode::HighRiskUser);
        assert_eq!(WeChatErrorCode::from_errcode(40013), WeChatErrorCode::Other(40013));
        assert!(WeChatErrorCode::SystemBusy.is_retryable() && !WeChatErrorCode::CodeUsed.is_retryable());
        for c in [-1, 40029, 45011, 40163, 40226] {
            assert_eq!(WeChatErrorCode::from_errcode(c).errcode(), c);
        }
    }

    #[test]
    fn soter_fingerprint_from_result_json() {
        // Field names from the wx.startSoterAuthentication documentation's resultJSON example.
        let j = r#"{"raw":"msg","fid":"2","counter":123,"tee_n":"TEE Name","tee_v":"TEE Version","fp_n":"F","fp_v":"V","cpu_id":"CPU Id","uid":"21"}"#;
        assert_eq!(soter_device_fingerprint(j).as_deref(), Some("soter:CPU Id:21"));
        assert_eq!(soter_device_fingerprint(r#"{"uid":"21"}"#), None);
        assert_eq!(soter_device_fingerprint("not json"), None);
    }

    #[test]
    fn sec_check_reply_in_wechats_shape_parses() {
        // The documented v2 answer: result {suggest, label (a number)}, detail[] per strategy, trace_id.
        let body = r#"{"errcode":0,"errmsg":"ok","result":{"suggest":"risky","label":20001},
            "detail":[{"strategy":"content_model","errcode":0,"suggest":"risky","label":20006,"prob":90},
                      {"strategy":"keyword","errcode":0,"suggest":"pass","label":20006,"level":20,"keyword":"命中的关键词1"}],
            "trace_id":"60ae120f-371d5872-7941a05b"}"#;
        let r: SecCheckReply = serde_json::from_str(body).unwrap();
        let o = r.result.unwrap();
        assert_eq!((o.suggest, o.label), (Suggest::Risky, 20001));
        assert_eq!(r.detail[1].keyword.as_deref(), Some("命中的关键词1"));
        assert_eq!(r.detail[0].prob, Some(90));
        assert!(Suggest::Risky > Suggest::Review && Suggest::Review > Suggest::Pass);
        assert_eq!(sec_label_name(20001), "时政");
    }

    #[test]
    fn long_texts_split_on_character_boundaries() {
        let text = "电梯".repeat(1300);
        let parts = split_chars(&text, MSG_SEC_CHECK_MAX_CHARS);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].chars().count(), 2500);
        assert_eq!(parts.concat(), text);
        assert!(split_chars("", 10).is_empty());
    }

    #[test]
    fn secrets_do_not_print() {
        let s = WxSession { openid: "o1".into(), unionid: None, session_key: "SESSIONKEY".to_string().into() };
        assert!(!format!("{s:?}").contains("SESSIONKEY"));
        let c = WeChatConfig { base_url: "u".into(), appid: "wx1".into(), secret: "APPSECRET".to_string().into() };
        assert!(!format!("{c:?}").contains("APPSECRET"));
    }
}
