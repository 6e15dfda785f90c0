//! `POST /v1/auth/wechat/login`, `POST /v1/auth/logout` and `GET /v1/me` (DESIGN §11).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use linli_identity::wechat::{WeChatError, WeChatErrorCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::CurrentAccount;
use crate::error::{ApiError, Problem};
use crate::app::AppState;
use crate::pii::Column;
use crate::schema::{account_persons, accounts, buildings, device_certificates, enrollments, pins, role_grants, units};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(login).service(logout).service(me).service(super::pin::change_pin).service(app_me);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The code from `wx.login`.
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Bearer token for `Authorization: Bearer …`.
    pub token: String,
    /// Seconds until the session expires if unused (each use extends it).
    pub expires_in: u64,
    pub account_id: Uuid,
}

fn wechat_problem(e: WeChatError) -> ApiError {
    let status = match &e {
        WeChatError::Api { code: WeChatErrorCode::InvalidCode | WeChatErrorCode::CodeUsed, .. } => {
            StatusCode::UNAUTHORIZED
        }
        WeChatError::Api { code: WeChatErrorCode::RateLimited, .. } => StatusCode::TOO_MANY_REQUESTS,
        WeChatError::Api { code: WeChatErrorCode::HighRiskUser, .. } => StatusCode::FORBIDDEN,
        WeChatError::Api { code: WeChatErrorCode::SystemBusy, .. } => StatusCode::SERVICE_UNAVAILABLE,
        _ => {
            tracing::warn!(code = e.code(), "WeChat login failed");
            StatusCode::BAD_GATEWAY
        }
    };
    ApiError::new(status, e.code(), "WeChat login failed")
}

/// Exchanges a `wx.login` code through `jscode2session`, finds or creates the account, opens a session.
#[utoipa::path(
    tag = "identity",
    request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "invalid or used code"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "blocked by WeChat"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
        (status = 502, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/auth/wechat/login")]
async fn login(state: web::Data<AppState>, body: web::Json<LoginRequest>) -> Result<HttpResponse, ApiError> {
    let identity = state.identity()?;
    let code = body.into_inner().code;
    if code.is_empty() || code.len() > 128 || !code.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "wechat_code_malformed", "The code is malformed"));
    }
    let session = identity.wechat.jscode2session(&code).await.map_err(wechat_problem)?;
    let openid_hash = identity.openid_hash(&session.openid);
    let unionid_hash = session.unionid.as_deref().map(|u| identity.openid_hash(u));
    let openid_enc = state.pii.encrypt(Column::AccountOpenid, &session.openid).map_err(ApiError::internal)?;
    let mut conn = state.db.get().await?;
    let (account_id, session_epoch): (Uuid, i64) = diesel::insert_into(accounts::table)
        .values((
            accounts::id.eq(Uuid::now_v7()),
            accounts::wx_openid_hash.eq(&openid_hash),
            accounts::wx_openid_enc.eq(&openid_enc),
            accounts::wx_unionid_hash.eq(&unionid_hash),
            accounts::last_login_at.eq(diesel::dsl::now),
        ))
        .on_conflict(accounts::wx_openid_hash)
        .do_update()
        .set((accounts::last_login_at.eq(diesel::dsl::now), accounts::wx_unionid_hash.eq(&unionid_hash)))
        .returning((accounts::id, accounts::session_epoch))
        .get_result(&mut conn)
        .await?;
    let token = state.sessions.create(account_id, session_epoch).await?;
    Ok(HttpResponse::Ok().json(LoginResponse {
        token: token.0,
        expires_in: state.sessions.ttl().as_secs(),
        account_id,
    }))
}

/// Ends the caller's session: its token is refused from now on. Other sessions of the account stay open.
#[utoipa::path(
    tag = "identity",
    responses(
        (status = 204, description = "the session has ended"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []))
)]
#[post("/v1/auth/logout")]
async fn logout(state: web::Data<AppState>, _account: CurrentAccount, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    // The extractor has just read the same header.
    let token = super::session::bearer_token(&req).ok_or_else(ApiError::unauthenticated)?;
    state.sessions.end(&token).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize, ToSchema)]
pub struct MeUnit {
    pub community_id: Uuid,
    pub unit_id: Uuid,
    pub building_code: String,
    pub number: String,
    /// Registered exclusive area in centi-m².
    pub exclusive_area_centi_m2: i64,
}

#[derive(Serialize, ToSchema)]
pub struct MeRole {
    pub community_id: Uuid,
    pub role: String,
}

#[derive(Serialize, ToSchema)]
pub struct MeEnrollment {
    pub id: Uuid,
    pub community_id: Uuid,
    pub unit_id: Uuid,
    pub status: String,
}

#[derive(Serialize, ToSchema)]
pub struct MeDevice {
    pub serial: String,
    pub not_after: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct MeResponse {
    pub account_id: Uuid,
    /// True when at least one enrollment is complete: the account is a verified owner of `units`.
    pub verified_owner: bool,
    pub units: Vec<MeUnit>,
    pub enrollments: Vec<MeEnrollment>,
    pub device: Option<MeDevice>,
    pub pin_set: bool,
    pub pin_locked_until: Option<DateTime<Utc>>,
    pub roles: Vec<MeRole>,
}

/// The caller's account: verified units with their areas, enrollments and factor states, device, roles.
#[utoipa::path(
    tag = "identity",
    responses(
        (status = 200, body = MeResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []))
)]
#[get("/v1/me")]
async fn me(state: web::Data<AppState>, account: CurrentAccount) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.get().await?;
    let account_id = account.0;
    let person_rows: Vec<(Uuid, Uuid)> = account_persons::table
        .filter(account_persons::account_id.eq(account_id))
        .select((account_persons::person_id, account_persons::community_id))
        .load(&mut conn)
        .await?;
    let person_ids: Vec<Uuid> = person_rows.iter().map(|(p, _)| *p).collect();
    let unit_rows: Vec<(Uuid, Uuid, String, String, i64)> = units::table
        .inner_join(buildings::table)
        .inner_join(crate::schema::ownerships::table)
        .filter(crate::schema::ownerships::person_id.eq_any(&person_ids))
        .select((units::community_id, units::id, buildings::code, units::number, units::exclusive_area_centi_m2))
        .order((buildings::code, units::number))
        .distinct()
        .load(&mut conn)
        .await?;
    let enrollment_rows: Vec<(Uuid, Uuid, Uuid, String)> = enrollments::table
        .filter(enrollments::account_id.eq(account_id))
        .select((enrollments::id, enrollments::community_id, enrollments::unit_id, enrollments::status))
        .order(enrollments::created_at.desc())
        .load(&mut conn)
        .await?;
    let device: Option<(String, DateTime<Utc>)> = device_certificates::table
        .filter(device_certificates::account_id.eq(account_id))
        .filter(device_certificates::status.eq("active"))
        .select((device_certificates::serial, device_certificates::not_after))
        .first(&mut conn)
        .await
        .optional()?;
    let pin: Option<Option<DateTime<Utc>>> =
        pins::table.find(account_id).select(pins::locked_until).first(&mut conn).await.optional()?;
    let roles: Vec<(Uuid, String)> = role_grants::table
        .filter(role_grants::account_id.eq(account_id))
        .select((role_grants::community_id, role_grants::role))
        .load(&mut conn)
        .await?;
    let now = Utc::now();
    Ok(HttpResponse::Ok().json(MeResponse {
        account_id,
        verified_owner: !person_rows.is_empty(),
        units: unit_rows
            .into_iter()
            .map(|(community_id, unit_id, building_code, number, area)| MeUnit {
                community_id,
                unit_id,
                building_code,
                number,
                exclusive_area_centi_m2: area,
            })
            .collect(),
        enrollments: enrollment_rows
            .into_iter()
            .map(|(id, community_id, unit_id, status)| MeEnrollment { id, community_id, unit_id, status })
            .collect(),
        device: device.map(|(serial, not_after)| MeDevice { serial, not_after }),
        pin_set: pin.is_some(),
        pin_locked_until: pin.flatten().filter(|t| *t > now),
        roles: roles.into_iter().map(|(community_id, role)| MeRole { community_id, role }).collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct AppMe {
    pub app_id: String,
    pub role: String,
    pub communities: Vec<Uuid>,
}

/// The calling organisation app: its role and the communities in its scope.
#[utoipa::path(
    tag = "openapi",
    responses(
        (status = 200, body = AppMe),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ),
    security(("app_hmac" = []))
)]
#[get("/openapi/v1/me")]
async fn app_me(state: web::Data<AppState>, req: actix_web::HttpRequest) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.get().await?;
    let app = super::org_app::verify_org_request(&state, &mut conn, &req, &[]).await?;
    Ok(HttpResponse::Ok().json(AppMe { app_id: app.id, role: app.role.as_str().to_owned(), communities: app.communities }))
}
