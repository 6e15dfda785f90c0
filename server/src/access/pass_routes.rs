//! Offline passes over HTTP: issuing (`/v1/communities/{community_id}/passes`, `…/visitor-passes`), listing,
//! revoking, the visitor pass's QR code, the community's JWK Set, and the readers' side (`/openapi/v1/…`: key set
//! and revocation list, access-event batches).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use linli_identity::access_pass::{JwkSet, issuer_for, visitor_text};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::domain::clean_text;
use super::passes::{self, IssuedResidentPass, IssuedVisitorPass, MAX_PASS_DAYS, MAX_VISITOR_USES, PassError, PassView, ReaderEvent, VisitorRequest};
use super::{keys, store};
use crate::app::AppState;
use crate::auth::CurrentAccount;
use crate::auth::org_app::{OrgRole, verify_org_request};
use crate::error::{ApiError, Problem, extractors::parse_json};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(issue_resident_pass)
        .service(issue_visitor_pass)
        .service(list_passes)
        .service(revoke_pass)
        .service(visitor_qr)
        .service(access_keys)
        .service(reader_sync)
        .service(reader_events);
}

fn invalid(code: &'static str, title: &'static str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, title)
}

impl From<PassError> for ApiError {
    fn from(e: PassError) -> Self {
        match e {
            PassError::NotResident | PassError::NotFound => ApiError::not_found(),
            PassError::DeviceInvalid => invalid("device_invalid", "Not an active device certificate of the caller"),
            PassError::Other(e) => ApiError::internal(e),
        }
    }
}

/// 404 unless the caller lives in the community now (never reveal what exists elsewhere).
async fn require_resident(state: &AppState, account: Uuid, community: Uuid) -> Result<(), ApiError> {
    let mut conn = state.db.get().await?;
    let now = Utc::now();
    let homes = store::residences(&mut conn, account).await?;
    if homes.iter().any(|h| h.community == community && h.current(now)) { Ok(()) } else { Err(ApiError::not_found()) }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResidentPassRequest {
    /// The serial (hex) of the caller's active device certificate whose key the pass binds.
    pub device_serial: String,
}

/// A resident pass for the caller (valid 7 days, or until their residence ends), bound to one of their device
/// keys: the device shows it with a fresh proof (DESIGN §8), so a screenshot is worthless a minute later.
#[utoipa::path(
    tag = "access",
    params(("community_id" = Uuid, Path, description = "community id")),
    request_body = ResidentPassRequest,
    responses(
        (status = 201, body = IssuedResidentPass),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "not a resident of the community, or no door to open there"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "`device_invalid`"),
    ),
    security(("session" = []))
)]
#[post("/v1/communities/{community_id}/passes")]
async fn issue_resident_pass(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let community = path.into_inner();
    let input: ResidentPassRequest = parse_json(&body)?;
    let serial = input.device_serial.trim().to_ascii_lowercase();
    if serial.is_empty() || serial.len() > 64 || !serial.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid("device_invalid", "Not an active device certificate of the caller"));
    }
    require_resident(&state, account.0, community).await?;
    let mut conn = state.db.get().await?;
    let issued = passes::issue_resident_pass(&mut conn, &state.pii, account.0, community, &serial).await?;
    Ok(HttpResponse::Created().json(issued))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitorPassRequest {
    /// 1–32 characters; stored encrypted.
    pub visitor_name: String,
    /// RFC 3339.
    pub valid_from: DateTime<Utc>,
    /// RFC 3339; at most 7 days after `valid_from`, in the future.
    pub valid_until: DateTime<Utc>,
    /// Openings allowed (1–100; 0 = unlimited within the window), counted by each reader.
    pub uses: u32,
    /// The visitor's plate, if they come by car (7–8 characters).
    pub plate: Option<String>,
}

/// Checks a visitor pass request at the edge.
pub fn parse_visitor(input: VisitorPassRequest, now: DateTime<Utc>) -> Result<VisitorRequest, ApiError> {
    let visitor_name =
        clean_text(&input.visitor_name, 32).ok_or_else(|| invalid("visitor_name_invalid", "Give a name of 1 to 32 characters"))?;
    if input.valid_from >= input.valid_until
        || input.valid_until - input.valid_from > chrono::Duration::days(MAX_PASS_DAYS)
        || input.valid_until <= now
    {
        return Err(invalid("window_invalid", "The window must end after it starts, in the future, within 7 days"));
    }
    if input.uses > MAX_VISITOR_USES {
        return Err(invalid("uses_invalid", "At most 100 uses (0 = unlimited within the window)"));
    }
    let plate = match input.plate {
        None => None,
        Some(p) => {
            let p = p.trim().to_uppercase();
            let n = p.chars().count();
            let ok = (7..=8).contains(&n) && p.chars().all(|c| c.is_ascii_alphanumeric() || !c.is_ascii() && c.is_alphabetic());
            if !ok {
                return Err(invalid("plate_invalid", "A plate is 7 or 8 characters"));
            }
            Some(p)
        }
    };
    Ok(VisitorRequest { visitor_name, valid_from: input.valid_from, valid_until: input.valid_until, uses: input.uses, plate })
}

/// A visitor pass for the doors the caller may open in the community (its text is what the QR code holds).
#[utoipa::path(
    tag = "access",
    params(("community_id" = Uuid, Path, description = "community id")),
    request_body = VisitorPassRequest,
    responses(
        (status = 201, body = IssuedVisitorPass),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []))
)]
#[post("/v1/communities/{community_id}/visitor-passes")]
async fn issue_visitor_pass(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let community = path.into_inner();
    let request = parse_visitor(parse_json(&body)?, Utc::now())?;
    require_resident(&state, account.0, community).await?;
    let mut conn = state.db.get().await?;
    let issued = passes::issue_visitor_pass(&mut conn, &state.pii, account.0, community, &request).await?;
    Ok(HttpResponse::Created().json(issued))
}

#[derive(Serialize, ToSchema)]
pub struct PassList {
    pub passes: Vec<PassView>,
}

/// The caller's passes in the community, newest first.
#[utoipa::path(
    tag = "access",
    params(("community_id" = Uuid, Path, description = "community id")),
    responses(
        (status = 200, body = PassList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []))
)]
#[get("/v1/communities/{community_id}/passes")]
async fn list_passes(state: web::Data<AppState>, account: CurrentAccount, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let community = path.into_inner();
    require_resident(&state, account.0, community).await?;
    let mut conn = state.db.get().await?;
    let passes = passes::my_passes(&mut conn, &state.pii, account.0, community).await.map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(PassList { passes }))
}

/// Revokes one of the caller's passes; readers refuse it from their next sync on. Revoking again answers the same.
#[utoipa::path(
    tag = "access",
    params(("community_id" = Uuid, Path, description = "community id"), ("pass_id" = Uuid, Path, description = "pass id")),
    responses(
        (status = 200, body = PassView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []))
)]
#[post("/v1/communities/{community_id}/passes/{pass_id}/revoke")]
async fn revoke_pass(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (community, pass) = path.into_inner();
    let mut conn = state.db.get().await?;
    let view = passes::revoke(&mut conn, &state.pii, account.0, community, pass).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// The QR code (PNG) of one of the caller's visitor passes, while it is valid and not revoked.
#[utoipa::path(
    tag = "access",
    params(("community_id" = Uuid, Path, description = "community id"), ("pass_id" = Uuid, Path, description = "pass id")),
    responses(
        (status = 200, content_type = "image/png", description = "the QR code of the pass text"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []))
)]
#[get("/v1/communities/{community_id}/visitor-passes/{pass_id}/qr.png")]
async fn visitor_qr(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (community, pass) = path.into_inner();
    let mut conn = state.db.get().await?;
    let cose = passes::visitor_cose(&mut conn, account.0, community, pass).await?;
    let text = visitor_text(&cose).ok_or_else(|| ApiError::internal(anyhow::anyhow!("stored pass {pass} does not decode")))?;
    let png = qr_png(&text).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().content_type("image/png").insert_header(("cache-control", "no-store")).body(png))
}

/// A QR code (error correction M) as a PNG: 6 pixels per module, 4 modules of quiet zone.
pub fn qr_png(text: &str) -> anyhow::Result<Vec<u8>> {
    use image::ImageEncoder;
    const SCALE: usize = 6;
    const QUIET: usize = 4;
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)?;
    let width = code.width();
    let colors = code.to_colors();
    let side = (width + 2 * QUIET) * SCALE;
    let mut pixels = vec![255u8; side * side];
    for (i, color) in colors.iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (mx, my) = (i % width + QUIET, i / width + QUIET);
            for y in my * SCALE..(my + 1) * SCALE {
                pixels[y * side + mx * SCALE..y * side + (mx + 1) * SCALE].fill(0);
            }
        }
    }
    let mut out = Vec::new();
    let side = u32::try_from(side)?;
    image::codecs::png::PngEncoder::new(&mut out).write_image(&pixels, side, side, image::ExtendedColorType::L8)?;
    Ok(out)
}

/// The community's access keys as a JWK Set (RFC 7517): the active key and those rotated out but still within
/// their overlap. Public: readers and anyone checking a pass need them.
#[utoipa::path(
    tag = "access",
    params(("community_id" = Uuid, Path, description = "community id")),
    responses(
        (status = 200, content_type = "application/jwk-set+json", description = "JWK Set: {keys: [{kty, crv, x, y, kid, alg, use}]}"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/communities/{community_id}/access-keys")]
async fn access_keys(state: web::Data<AppState>, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let community = path.into_inner();
    let mut conn = state.db.get().await?;
    crate::community::store::community(&mut conn, community).await?.ok_or_else(ApiError::not_found)?;
    let set = keys::jwk_set(&mut conn, community, Utc::now()).await?;
    let body = serde_json::to_vec(&set).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().content_type("application/jwk-set+json").body(body))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ReaderSync {
    /// `linli:<community id>`: the issuer passes of this community carry.
    pub issuer: String,
    #[schema(value_type = Object)]
    pub keys: JwkSet,
    /// Revoked passes still within their validity.
    pub revoked: Vec<Uuid>,
    pub synced_at: DateTime<Utc>,
}

/// What a reader needs to decide offline: the key set and the revocation list (door gateway app).
#[utoipa::path(
    tag = "access",
    params(("community_id" = Uuid, Path, description = "community id")),
    responses(
        (status = 200, body = ReaderSync),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("app_hmac" = []))
)]
#[get("/openapi/v1/communities/{community_id}/access/sync")]
async fn reader_sync(state: web::Data<AppState>, req: HttpRequest, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let community = path.into_inner();
    let mut conn = state.db.get().await?;
    let app = verify_org_request(&state, &mut conn, &req, b"").await?;
    app.require(&[OrgRole::DoorGateway], community)?;
    let now = Utc::now();
    let keys = keys::jwk_set(&mut conn, community, now).await?;
    let revoked = passes::revocation_list(&mut conn, community, now).await?;
    Ok(HttpResponse::Ok().json(ReaderSync { issuer: issuer_for(&community), keys, revoked, synced_at: now }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReaderEventInput {
    /// Chosen by the reader, unique: the same id again is the same event.
    pub id: Uuid,
    pub door_code: u32,
    /// opened or refused.
    pub outcome: String,
    /// The refusal code (malformed, unknown_key, bad_signature, wrong_issuer, wrong_door, not_yet_valid, expired,
    /// proof_missing, proof_stale, proof_invalid, revoked, used_up).
    pub reason: Option<String>,
    pub pass_id: Option<Uuid>,
    /// RFC 3339.
    pub occurred_at: DateTime<Utc>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReaderEventBatch {
    pub community_id: Uuid,
    /// 1–500 events.
    pub events: Vec<ReaderEventInput>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ReaderEventReceipt {
    pub received: usize,
    /// Events not seen before (a batch sent again records 0).
    pub recorded: usize,
}

const REASONS: [&str; 12] = [
    "malformed", "unknown_key", "bad_signature", "wrong_issuer", "wrong_door", "not_yet_valid", "expired",
    "proof_missing", "proof_stale", "proof_invalid", "revoked", "used_up",
];

/// A reader's access events (door gateway app), idempotent by event id: a batch sent twice changes nothing.
#[utoipa::path(
    tag = "access",
    request_body = ReaderEventBatch,
    responses(
        (status = 200, body = ReaderEventReceipt),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("app_hmac" = []))
)]
#[post("/openapi/v1/access/events")]
async fn reader_events(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.get().await?;
    let app = verify_org_request(&state, &mut conn, &req, &body).await?;
    let batch: ReaderEventBatch = parse_json(&body)?;
    app.require(&[OrgRole::DoorGateway], batch.community_id)?;
    if batch.events.is_empty() || batch.events.len() > 500 {
        return Err(invalid("batch_invalid", "Send 1 to 500 events"));
    }
    let now = Utc::now();
    let mut events = Vec::with_capacity(batch.events.len());
    for e in &batch.events {
        let outcome = match (e.outcome.as_str(), e.reason.as_deref()) {
            ("opened", None) => "opened",
            ("refused", Some(r)) if REASONS.contains(&r) => "refused",
            _ => return Err(invalid("event_invalid", "outcome is opened (no reason) or refused with a known reason")),
        };
        if e.occurred_at > now + chrono::Duration::minutes(5) {
            return Err(invalid("event_invalid", "An event cannot lie in the future"));
        }
        events.push(ReaderEvent { id: e.id, door_code: e.door_code, outcome, reason: e.reason.clone(), pass_id: e.pass_id, occurred_at: e.occurred_at });
    }
    let mut ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
    ids.sort();
    ids.dedup();
    if ids.len() != events.len() {
        return Err(invalid("event_invalid", "Event ids must be unique in a batch"));
    }
    let recorded = passes::record_reader_events(&mut conn, batch.community_id, &app.id, &events).await?;
    Ok(HttpResponse::Ok().json(ReaderEventReceipt { received: events.len(), recorded }))
}
