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
    fn secrets_do_not_print() {
        let s = WxSession { openid: "o1".into(), unionid: None, session_key: "SESSIONKEY".to_string().into() };
        assert!(!format!("{s:?}").contains("SESSIONKEY"));
        let c = WeChatConfig { base_url: "u".into(), appid: "wx1".into(), secret: "APPSECRET".to_string().into() };
        assert!(!format!("{c:?}").contains("APPSECRET"));
    }
}
