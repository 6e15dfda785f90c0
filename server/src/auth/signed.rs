//! Device-signed requests (DESIGN §4). Accepted only if the certificate is active, belongs to the session's account
//! and WeChat identity, the timestamp is within ±300 s, the signature verifies, and the nonce is new (Redis
//! `SET NX EX 600`, checked last so a forged request cannot burn a nonce). Anything else: 401 with a stable code.
//!
//! A replay after a Redis flush passes this check; the actions behind it are idempotent by their own unique keys,
//! so it has no second effect.

use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use linli_identity::csr::P256PublicKey;
use linli_identity::signed_request::{
    HEADER_CERT, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, NONCE_TTL_SECONDS, SignatureError, SignedRequestHeaders,
    verify_request,
};
use uuid::Uuid;

use crate::error::ApiError;
use crate::app::AppState;
use crate::schema::{accounts, device_certificates};

/// The device that signed a request.
#[derive(Debug, Clone)]
pub struct SigningDevice {
    pub serial: String,
    pub enrollment_id: Uuid,
    /// The request's nonce, lower-cased as Redis keeps it; a handler that must refuse replays even after Redis
    /// lost its nonces stores it with its effect (a ballot sheet).
    pub nonce: String,
}

fn refuse(code: &'static str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code, "The request signature is not acceptable")
}

/// The answer to a replayed signature, where the handler found the replay itself (its stored nonce).
pub fn replayed() -> ApiError {
    refuse(SignatureError::NonceReplayed.code())
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Checks a signed request completely: [`verify_signature`], then the nonce.
pub async fn verify_signed_request(
    state: &AppState,
    conn: &AsyncPgConnection,
    req: &HttpRequest,
    body: &[u8],
    account: Uuid,
) -> Result<SigningDevice, ApiError> {
    verify_signature(conn, &SignedParts::from_request(req), body, account).await?.claim_nonce(state).await
}

/// What of an HTTP request its signature covers besides the body, read at the edge so the areas that check a
/// signature need no HTTP types.
#[derive(Debug, Clone)]
pub struct SignedParts {
    headers: Result<SignedRequestHeaders, SignatureError>,
    method: String,
    path_and_query: String,
}

impl SignedParts {
    pub fn from_request(req: &HttpRequest) -> Self {
        let headers = SignedRequestHeaders::parse(
            header(req, HEADER_CERT),
            header(req, HEADER_TIMESTAMP),
            header(req, HEADER_NONCE),
            header(req, HEADER_SIGNATURE),
        );
        let path_and_query = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/").to_owned();
        Self { headers, method: req.method().as_str().to_owned(), path_and_query }
    }
}

/// A request whose signature verified (certificate, owner, window, signature) but whose nonce is not yet claimed.
#[derive(Debug)]
pub struct VerifiedSignature {
    device: SigningDevice,
    replay_key: String,
}

impl VerifiedSignature {
    /// Claims the nonce (Redis `SET NX EX`): a request that is to have an effect must be new. A request answered
    /// from its `Idempotency-Key` has none, so it may be the very same signed bytes again and claims nothing.
    pub async fn claim_nonce(self, state: &AppState) -> Result<SigningDevice, ApiError> {
        let fresh = crate::cache::claim_nonce(&state.redis, &self.replay_key, NONCE_TTL_SECONDS).await?;
        if !fresh {
            return Err(refuse(SignatureError::NonceReplayed.code()));
        }
        Ok(self.device)
    }
}

/// Everything of a signed request but its nonce's freshness: the certificate is active and the session account's,
/// under its WeChat identity, the timestamp is in the window and the signature verifies over this request.
pub async fn verify_signature(
    mut conn: &AsyncPgConnection,
    parts: &SignedParts,
    body: &[u8],
    account: Uuid,
) -> Result<VerifiedSignature, ApiError> {
    let headers = parts.headers.clone().map_err(|e| refuse(e.code()))?;

    // The certificate and its account's WeChat identity in one statement (DSL only, so it is prepared once per
    // connection: it runs for every signed request).
    type CertRow = (Uuid, Uuid, Vec<u8>, String, String, DateTime<Utc>, DateTime<Utc>, Option<String>);
    let cert: Option<CertRow> = device_certificates::table
        .inner_join(accounts::table)
        .filter(device_certificates::serial.eq(&headers.cert_serial))
        .select((
            device_certificates::account_id,
            device_certificates::enrollment_id,
            device_certificates::public_key,
            device_certificates::wx_hash,
            device_certificates::status,
            device_certificates::not_before,
            device_certificates::not_after,
            accounts::wx_openid_hash,
        ))
        .first(&mut conn)
        .await
        .optional()?;
    let Some((owner, enrollment_id, public_key, wx_hash, status, not_before, not_after, account_wx)) = cert else {
        return Err(refuse(SignatureError::UnknownCertificate.code()));
    };
    if owner != account {
        return Err(refuse(SignatureError::CertificateNotOwned.code()));
    }
    let now = Utc::now();
    if status != "active" {
        return Err(refuse(SignatureError::CertificateRevoked.code()));
    }
    if now < not_before || now > not_after {
        return Err(refuse(SignatureError::CertificateExpired.code()));
    }
    // `owner == account`, so this is the session account's WeChat identity.
    if account_wx.as_deref() != Some(wx_hash.as_str()) {
        return Err(refuse(SignatureError::CertificateNotOwned.code()));
    }
    let key = P256PublicKey::from_sec1(&public_key)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("stored device key is not a P-256 point")))?;
    verify_request(&headers, &key, &parts.method, &parts.path_and_query, body, now.timestamp_millis())
        .map_err(|e| refuse(e.code()))?;

    let replay_key = headers.replay_key();
    let nonce = headers.nonce.to_ascii_lowercase();
    Ok(VerifiedSignature { device: SigningDevice { serial: headers.cert_serial, enrollment_id, nonce }, replay_key })
}
