//! The owner's own device certificates (DESIGN §4 factor 3): `GET /v1/me/devices` lists them (never a key) and
//! `POST /v1/me/devices/{serial}/revoke` revokes one.
//!
//! Revocation is authorised by the session and the PIN, not by a device signature: the case it exists for is a
//! lost or stolen phone, whose key the owner no longer has. The PIN goes through the durable lockout, so a
//! stolen WeChat session cannot guess it, and the worst such a thief can do is revoke — after which binding any
//! device needs a new face match. Revocation takes effect at once (signed-request verification reads the
//! certificate's status on every request) and frees the binding exactly as a support reset does: every enrollment
//! of the account, in every community, goes back to the face and device factors, and every other session ends.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::store;
use crate::auth::CurrentAccount;
use crate::auth::pin::{parse_pin, verify_pin};
use crate::sessions::Session;
use crate::error::{ApiError, Problem};
use crate::app::AppState;
use crate::schema::device_certificates;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_devices).service(revoke_device);
}

#[derive(Serialize, ToSchema)]
pub struct DeviceView {
    /// Certificate serial (hex), the `X-Linli-Cert` of the device's signed requests.
    pub serial: String,
    /// Hex SHA-256 of the device fingerprint (the certificate's `urn:linli:device:` URI).
    pub fingerprint_sha256: String,
    /// `active`, `revoked` or `expired`.
    pub status: String,
    pub issued_at: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct DeviceList {
    pub devices: Vec<DeviceView>,
}

/// What a stored certificate is now: revoked, past its validity, or active.
fn device_status(stored: &str, not_after: DateTime<Utc>, now: DateTime<Utc>) -> &'static str {
    match stored {
        "active" if now > not_after => "expired",
        "active" => "active",
        _ => "revoked",
    }
}

/// The caller's device certificates, newest first.
#[utoipa::path(
    tag = "identity",
    responses(
        (status = 200, body = DeviceList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []))
)]
#[get("/v1/me/devices")]
async fn list_devices(state: web::Data<AppState>, account: CurrentAccount) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.get().await?;
    type Row = (String, String, String, DateTime<Utc>, DateTime<Utc>, Option<DateTime<Utc>>);
    let rows: Vec<Row> = device_certificates::table
        .filter(device_certificates::account_id.eq(account.0))
        .select((
            device_certificates::serial,
            device_certificates::device_hash,
            device_certificates::status,
            device_certificates::created_at,
            device_certificates::not_after,
            device_certificates::revoked_at,
        ))
        .order(device_certificates::created_at.desc())
        .limit(100)
        .load(&mut conn)
        .await?;
    let now = Utc::now();
    let devices = rows
        .into_iter()
        .map(|(serial, fingerprint_sha256, status, issued_at, not_after, revoked_at)| DeviceView {
            status: device_status(&status, not_after, now).to_owned(),
            serial,
            fingerprint_sha256,
            issued_at,
            not_after,
            revoked_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(DeviceList { devices }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeDevice {
    /// The account's PIN (lockout applies).
    pub pin: String,
}

/// Revokes one of the caller's device certificates (session + PIN: the device may be lost). Its signed requests
/// are refused at once; the owner's enrollments go back to the face and device factors, as after a support reset,
/// and every other session of the account ends (this one stays open).
#[utoipa::path(
    tag = "identity",
    params(("serial" = String, Path, description = "certificate serial (hex)")),
    request_body = RevokeDevice,
    responses(
        (status = 200, body = DeviceView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "wrong PIN"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "already revoked, or no PIN set"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 423, body = Problem, content_type = "application/problem+json", description = "PIN use locked"),
    ),
    security(("session" = []))
)]
#[post("/v1/me/devices/{serial}/revoke")]
async fn revoke_device(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<String>,
    req: HttpRequest,
    body: web::Json<RevokeDevice>,
) -> Result<HttpResponse, ApiError> {
    let identity = state.identity()?;
    let serial = path.into_inner().to_ascii_lowercase();
    if serial.is_empty() || serial.len() > 64 || !serial.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::not_found());
    }
    let pin = parse_pin(&body.into_inner().pin)?;
    let mut conn = state.db.get().await?;
    let status: Option<String> = device_certificates::table
        .find(&serial)
        .filter(device_certificates::account_id.eq(account.0))
        .select(device_certificates::status)
        .first(&mut conn)
        .await
        .optional()?;
    if status.ok_or_else(ApiError::not_found)? != "active" {
        return Err(already_revoked());
    }
    verify_pin(&mut conn, identity, account.0, pin).await?;
    let now = Utc::now();
    let token = crate::auth::session::bearer_token(&req);
    conn.transaction(async |conn| {
        // Re-read under the lock: a parallel revocation or support reset may have won.
        let still_active: Option<String> = device_certificates::table
            .find(&serial)
            .filter(device_certificates::account_id.eq(account.0))
            .filter(device_certificates::status.eq("active"))
            .select(device_certificates::serial)
            .for_update()
            .first(conn)
            .await
            .optional()?;
        if still_active.is_none() {
            return Err(already_revoked());
        }
        let revocation = store::revoke_binding(&state, conn, account.0, "revoked by the owner", now).await?;
        crate::audit::append(
            conn,
            &format!("account:{}", account.0),
            "device.revoke",
            &format!("account:{}", account.0),
            serde_json::json!({ "revoked": revocation.revoked, "by": "owner" }),
        )
        .await?;
        // Every other session of the account has ended (the lost phone's among them); the owner's own, which
        // proved the PIN, moves to the new epoch and stays open.
        if let Some(token) = &token {
            let session = Session { account: account.0, epoch: revocation.session_epoch };
            state.sessions.restamp(token, session).await?;
        }
        Ok::<_, ApiError>(())
    })
    .await?;
    crate::notify::binding_reset(&state, account.0).await;
    let (fingerprint_sha256, issued_at, not_after, revoked_at): (String, DateTime<Utc>, DateTime<Utc>, Option<DateTime<Utc>>) =
        device_certificates::table
            .find(&serial)
            .select((
                device_certificates::device_hash,
                device_certificates::created_at,
                device_certificates::not_after,
                device_certificates::revoked_at,
            ))
            .first(&mut conn)
            .await?;
    Ok(HttpResponse::Ok().json(DeviceView {
        serial,
        fingerprint_sha256,
        status: "revoked".to_owned(),
        issued_at,
        not_after,
        revoked_at,
    }))
}

fn already_revoked() -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "device_already_revoked", "The device certificate is already revoked")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn status_reads_revocation_then_validity() {
        let t = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).single().unwrap_or_default();
        assert_eq!(device_status("active", t, t), "active");
        assert_eq!(device_status("active", t, t + chrono::Duration::seconds(1)), "expired");
        assert_eq!(device_status("revoked", t, t), "revoked");
        assert_eq!(device_status("revoked", t, t + chrono::Duration::days(1)), "revoked");
    }
}
