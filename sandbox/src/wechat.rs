//! WeChat stand-in: `GET /sns/jscode2session`, `POST /cgi-bin/stable_token`,
//! `POST /cgi-bin/message/subscribe/send?access_token=…`, `POST /wxa/msg_sec_check?access_token=…` (content
//! security v2). Errors use WeChat's `{errcode, errmsg}` shape.

use crate::AppState;
use actix_web::{HttpResponse, web};
use base64::Engine;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A `wx.login` code lives five minutes and works once.
pub const CODE_TTL: Duration = Duration::from_secs(300);
pub const TOKEN_TTL_SECONDS: u64 = 7200;

#[derive(Debug, Clone)]
pub struct IssuedCode {
    pub openid: String,
    pub unionid: Option<String>,
    /// When set, jscode2session answers with this errcode (to exercise −1, 45011, 40226 …).
    pub errcode: Option<i64>,
    pub expires: Instant,
    pub used: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RecordedMessage {
    pub touser: String,
    pub template_id: String,
    pub page: Option<String>,
    pub data: serde_json::Value,
    pub received_at: String,
}

#[derive(Debug, Default)]
pub struct WeChatState {
    pub codes: HashMap<String, IssuedCode>,
    /// token → expiry.
    pub tokens: HashMap<String, Instant>,
    pub current_token: Option<(String, Instant)>,
    pub messages: Vec<RecordedMessage>,
    /// Users who did not accept subscribe messages: a send to them answers 43101.
    pub refused_subscribers: std::collections::HashSet<String>,
    /// Words `msg_sec_check` flags (set by the control endpoint).
    pub sec_check_words: Vec<SecWord>,
}

/// A word the content-security check flags, with the label and suggestion it answers.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct SecWord {
    pub keyword: String,
    pub label: i64,
    /// `review` or `risky`.
    pub suggest: String,
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/sns/jscode2session", web::get().to(jscode2session))
        .route("/cgi-bin/stable_token", web::post().to(stable_token))
        .route("/cgi-bin/message/subscribe/send", web::post().to(subscribe_send))
        .route("/wxa/msg_sec_check", web::post().to(msg_sec_check));
}

fn err(code: i64, msg: &str) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "errcode": code, "errmsg": msg }))
}

fn random_token(bytes: usize) -> String {
    let v: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    hex::encode(v)
}

async fn jscode2session(q: web::Query<HashMap<String, String>>, state: web::Data<AppState>) -> HttpResponse {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    if get("appid") != state.credentials.wechat_appid {
        return err(40013, "invalid appid");
    }
    if get("secret") != state.credentials.wechat_secret {
        return err(40125, "invalid appsecret");
    }
    if get("grant_type") != "authorization_code" {
        return err(40002, "invalid grant_type");
    }
    let Ok(mut wx) = state.wechat.lock() else {
        return err(-1, "system error");
    };
    let Some(code) = wx.codes.get_mut(get("js_code")) else {
        return err(40029, "invalid code");
    };
    if code.used {
        return err(40163, "code been used");
    }
    if code.expires < Instant::now() {
        return err(40029, "invalid code");
    }
    code.used = true;
    if let Some(e) = code.errcode {
        return err(e, "sandbox: error requested for this code");
    }
    let key: [u8; 16] = rand::random();
    let mut body = serde_json::json!({
        "openid": code.openid,
        "session_key": base64::engine::general_purpose::STANDARD.encode(key),
    });
    if let Some(u) = &code.unionid {
        body["unionid"] = serde_json::json!(u);
    }
    HttpResponse::Ok().json(body)
}

#[derive(serde::Deserialize)]
struct StableTokenRequest {
    grant_type: Option<String>,
    appid: Option<String>,
    secret: Option<String>,
    #[serde(default)]
    force_refresh: bool,
}

async fn stable_token(body: web::Json<StableTokenRequest>, state: web::Data<AppState>) -> HttpResponse {
    if body.grant_type.as_deref() != Some("client_credential") {
        return err(40002, "invalid grant_type");
    }
    if body.appid.as_deref() != Some(state.credentials.wechat_appid.as_str()) {
        return err(40013, "invalid appid");
    }
    if body.secret.as_deref() != Some(state.credentials.wechat_secret.as_str()) {
        return err(40125, "invalid appsecret");
    }
    let Ok(mut wx) = state.wechat.lock() else {
        return err(-1, "system error");
    };
    let now = Instant::now();
    let reuse = match &wx.current_token {
        Some((t, exp)) if !body.force_refresh && *exp > now => Some((t.clone(), *exp)),
        _ => None,
    };
    let (token, exp) = match reuse {
        Some(t) => t,
        None => {
            let t = random_token(32);
            let exp = now + Duration::from_secs(TOKEN_TTL_SECONDS);
            wx.tokens.insert(t.clone(), exp);
            wx.current_token = Some((t.clone(), exp));
            (t, exp)
        }
    };
    let expires_in = exp.saturating_duration_since(now).as_secs();
    HttpResponse::Ok().json(serde_json::json!({ "access_token": token, "expires_in": expires_in }))
}

#[derive(serde::Deserialize)]
struct SubscribeBody {
    touser: Option<String>,
    template_id: Option<String>,
    page: Option<String>,
    data: Option<serde_json::Value>,
}

async fn subscribe_send(
    q: web::Query<HashMap<String, String>>,
    body: web::Json<SubscribeBody>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Ok(mut wx) = state.wechat.lock() else {
        return err(-1, "system error");
    };
    let token = q.get("access_token").map(String::as_str).unwrap_or("");
    match wx.tokens.get(token) {
        Some(exp) if *exp > Instant::now() => {}
        Some(_) => return err(42001, "access_token expired"),
        None => return err(40001, "invalid credential, access_token is invalid or not latest"),
    }
    let body = body.into_inner();
    let (Some(touser), Some(template_id), Some(data)) = (body.touser, body.template_id, body.data) else {
        return err(47003, "argument invalid! touser, template_id and data are required");
    };
    if touser.is_empty() || !data.is_object() {
        return err(47003, "argument invalid!");
    }
    if wx.refused_subscribers.contains(&touser) {
        return err(43101, "user refuse to accept the msg");
    }
    wx.messages.push(RecordedMessage {
        touser,
        template_id,
        page: body.page,
        data,
        received_at: chrono::Utc::now().to_rfc3339(),
    });
    err(0, "ok")
}

/// Checks the access token as every `access_token=` API does.
fn token_error(wx: &WeChatState, q: &HashMap<String, String>) -> Option<HttpResponse> {
    let token = q.get("access_token").map(String::as_str).unwrap_or("");
    match wx.tokens.get(token) {
        Some(exp) if *exp > Instant::now() => None,
        Some(_) => Some(err(42001, "access_token expired")),
        None => Some(err(40001, "invalid credential, access_token is invalid or not latest")),
    }
}

/// `msg_sec_check` v2: `{version: 2, openid, scene 1–4, content ≤ 2500 characters}` →
/// `{errcode: 0, errmsg: "ok", result: {suggest, label}, detail: [...], trace_id}`. The keyword strategy flags
/// the configured words; the model strategy always answers pass (the sandbox has no model).
async fn msg_sec_check(q: web::Query<HashMap<String, String>>, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let Ok(wx) = state.wechat.lock() else {
        return err(-1, "system error");
    };
    if let Some(e) = token_error(&wx, &q) {
        return e;
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return err(47001, "data format error");
    };
    // WeChat accepts the version as a number or a string.
    let version_ok = v["version"] == serde_json::json!(2) || v["version"] == serde_json::json!("2");
    let scene = v["scene"].as_i64().unwrap_or(0);
    let (Some(openid), Some(content)) = (v["openid"].as_str(), v["content"].as_str()) else {
        return err(47001, "data format error");
    };
    if !version_ok || !(1..=4).contains(&scene) {
        return err(47001, "data format error");
    }
    if openid.is_empty() {
        return err(40003, "invalid openid");
    }
    if content.is_empty() || content.chars().count() > 2500 {
        return err(47001, "data format error: content must be 1-2500 characters");
    }
    let hits: Vec<&SecWord> = wx.sec_check_words.iter().filter(|w| !w.keyword.is_empty() && content.contains(&w.keyword)).collect();
    let rank = |s: &str| match s {
        "risky" => 2,
        "review" => 1,
        _ => 0,
    };
    let worst = hits.iter().max_by_key(|w| rank(&w.suggest));
    let (suggest, label) = worst.map_or(("pass".to_owned(), 100), |w| (w.suggest.clone(), w.label));
    let mut detail = vec![serde_json::json!({"strategy": "content_model", "errcode": 0, "suggest": "pass", "label": 100, "prob": 0})];
    for w in &hits {
        detail.push(serde_json::json!({
            "strategy": "keyword", "errcode": 0, "suggest": w.suggest, "label": w.label, "level": 90, "keyword": w.keyword
        }));
    }
    HttpResponse::Ok().json(serde_json::json!({
        "errcode": 0,
        "errmsg": "ok",
        "result": {"suggest": suggest, "label": label},
        "detail": detail,
        "trace_id": format!("{}-{}", random_token(4), random_token(4)),
    }))
}
