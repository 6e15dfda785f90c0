//! Control endpoints for tests and demos (DESIGN §11); the server never calls these.
//!
//! - `POST /sandbox/wechat/login-code {openid, unionid?, errcode?}` → `{code}`: a `wx.login` code as the phone
//!   would get it (single use, five minutes). With `errcode`, exchanging the code yields that WeChat error.
//! - `GET /sandbox/wechat/messages?openid=…` → the subscribe messages sent to that user.
//! - `POST /sandbox/wechat/subscribe-refusals {openid}` → that user has not accepted subscribe messages: sends
//!   to them answer 43101 and are not recorded.
//! - `PUT /sandbox/wechat/sec-check-words {words: [{keyword, label, suggest}]}` → the words `msg_sec_check`
//!   flags from now on (replaces the list).
//! - `GET /sandbox/persons` → the demo persons with committed reference faces: name, id_number, units, face image path.
//! - `GET /sandbox/owners` → every person owner of the register: name, id_number, units with their exclusive
//!   areas (the persons of `/sandbox/persons` included), each with a reference face.
//! - `GET /sandbox/faces/{id_number}` → the person's reference face as PNG (committed or derived); 404 if unknown.
//! - `GET /sandbox/health` → `{status: "ok"}`.

use crate::AppState;
use crate::wechat::{CODE_TTL, IssuedCode};
use actix_web::{HttpResponse, web};
use std::collections::HashMap;
use std::time::Instant;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/sandbox/wechat/login-code", web::post().to(login_code))
        .route("/sandbox/wechat/messages", web::get().to(messages))
        .route("/sandbox/wechat/subscribe-refusals", web::post().to(subscribe_refusal))
        .route("/sandbox/wechat/sec-check-words", web::put().to(sec_check_words))
        .route("/sandbox/persons", web::get().to(persons))
        .route("/sandbox/owners", web::get().to(owners))
        .route("/sandbox/faces/{id_number}", web::get().to(face))
        .route("/sandbox/health", web::get().to(|| async { HttpResponse::Ok().json(serde_json::json!({"status": "ok"})) }));
}

#[derive(serde::Deserialize)]
struct LoginCodeRequest {
    openid: String,
    unionid: Option<String>,
    errcode: Option<i64>,
}

async fn login_code(body: web::Json<LoginCodeRequest>, state: web::Data<AppState>) -> HttpResponse {
    let b = body.into_inner();
    if b.openid.is_empty() || b.openid.len() > 128 {
        return HttpResponse::BadRequest().json(serde_json::json!({"error": "openid must be 1-128 characters"}));
    }
    let code = hex::encode(rand::random::<[u8; 16]>());
    let Ok(mut wx) = state.wechat.lock() else {
        return HttpResponse::InternalServerError().finish();
    };
    let now = Instant::now();
    wx.codes.retain(|_, c| c.expires > now);
    wx.codes.insert(
        code.clone(),
        IssuedCode { openid: b.openid, unionid: b.unionid, errcode: b.errcode, expires: now + CODE_TTL, used: false },
    );
    HttpResponse::Ok().json(serde_json::json!({ "code": code }))
}

#[derive(serde::Deserialize)]
struct OpenidBody {
    openid: String,
}

async fn subscribe_refusal(body: web::Json<OpenidBody>, state: web::Data<AppState>) -> HttpResponse {
    let Ok(mut wx) = state.wechat.lock() else {
        return HttpResponse::InternalServerError().finish();
    };
    wx.refused_subscribers.insert(body.into_inner().openid);
    HttpResponse::NoContent().finish()
}

#[derive(serde::Deserialize)]
struct SecWords {
    words: Vec<crate::wechat::SecWord>,
}

async fn sec_check_words(body: web::Json<SecWords>, state: web::Data<AppState>) -> HttpResponse {
    let words = body.into_inner().words;
    if words.iter().any(|w| w.keyword.is_empty() || !matches!(w.suggest.as_str(), "review" | "risky")) {
        return HttpResponse::BadRequest().json(serde_json::json!({"error": "keyword non-empty, suggest review or risky"}));
    }
    let Ok(mut wx) = state.wechat.lock() else {
        return HttpResponse::InternalServerError().finish();
    };
    wx.sec_check_words = words;
    HttpResponse::NoContent().finish()
}

async fn messages(q: web::Query<HashMap<String, String>>, state: web::Data<AppState>) -> HttpResponse {
    let Ok(wx) = state.wechat.lock() else {
        return HttpResponse::InternalServerError().finish();
    };
    let openid = q.get("openid");
    let list: Vec<_> = wx.messages.iter().filter(|m| openid.is_none_or(|o| &m.touser == o)).collect();
    HttpResponse::Ok().json(serde_json::json!({ "messages": list }))
}

async fn persons(state: web::Data<AppState>) -> HttpResponse {
    let list: Vec<_> = state
        .data
        .face_persons
        .iter()
        .map(|p| {
            serde_json::json!({
                "name": p.name,
                "id_number": p.id_number,
                "units": state.data.units_of(&p.id_number),
                "face_image": p.face_image,
                "face_image_path": p.face_image_path,
            })
        })
        .collect();
    HttpResponse::Ok().json(serde_json::json!({ "persons": list }))
}

async fn owners(state: web::Data<AppState>) -> HttpResponse {
    let list: Vec<_> = state
        .data
        .person_owners()
        .into_iter()
        .map(|(id_number, name, units)| {
            let units: Vec<_> = units
                .iter()
                .map(|k| {
                    let area = state.data.units.get(k).map(|u| u.exclusive_area_m2.as_str()).unwrap_or_default();
                    serde_json::json!({ "community": k.community, "building": k.building, "unit": k.unit, "exclusive_area_m2": area })
                })
                .collect();
            serde_json::json!({ "name": name, "id_number": id_number, "units": units })
        })
        .collect();
    HttpResponse::Ok().json(serde_json::json!({ "owners": list }))
}

async fn face(path: web::Path<String>, state: web::Data<AppState>) -> HttpResponse {
    match state.data.reference_png(&path.into_inner()) {
        Some(Ok(png)) => HttpResponse::Ok().content_type("image/png").body(png),
        Some(Err(e)) => {
            tracing::error!(error = %e, "reading a reference face");
            HttpResponse::InternalServerError().finish()
        }
        None => HttpResponse::NotFound().json(serde_json::json!({"error": "no such person owner"})),
    }
}
