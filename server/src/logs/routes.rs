//! The read side of the logs: checkpoint, entry, inclusion and consistency proofs, verifier key. Verified owners
//! of the community (session) and the bureau (organisation app, role `bureau`) read them; anyone else gets 404.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, get, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::LogName;
use super::store::{self, ProofError};
use crate::app::AppState;
use crate::auth::CurrentAccount;
use crate::auth::org_app::{OrgRole, verify_org_request};
use crate::error::{ApiError, Problem};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(checkpoint).service(entry).service(inclusion).service(consistency).service(key);
}

type Conn = diesel_async::pooled_connection::deadpool::Object<AsyncPgConnection>;

/// Lets a verified owner of the community or a bureau app of its scope through (404 for anyone else), then names
/// the log (404 for an unknown one).
async fn reader(state: &AppState, req: &HttpRequest, community: Uuid, log: &str) -> Result<(Conn, LogName), ApiError> {
    let mut conn = state.db.get().await?;
    let is_app = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(linli_identity::org_app::SCHEME));
    if is_app {
        let app = verify_org_request(state, &mut conn, req, &[]).await?;
        app.require(&[OrgRole::Bureau], community)?;
    } else {
        let account = CurrentAccount::from_request(req, &mut actix_web::dev::Payload::None).await?;
        if crate::community::store::persons_of_account(&mut conn, account.0, community).await?.is_empty() {
            return Err(ApiError::not_found());
        }
    }
    let log = LogName::parse(log).ok_or_else(ApiError::not_found)?;
    Ok((conn, log))
}

fn out_of_range(e: ProofError) -> ApiError {
    match e {
        ProofError::OutOfRange => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "log_range_invalid",
            "The requested range is not within the log",
        ),
        ProofError::Db(e) => e.into(),
    }
}

/// The query, parsed once the caller is known (so that an anonymous caller gets 401 whatever it sends).
fn query_of<T: serde::de::DeserializeOwned>(req: &HttpRequest) -> Result<T, ApiError> {
    web::Query::<T>::from_query(req.query_string()).map(web::Query::into_inner).map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", "The query string is invalid").with_detail(e.to_string())
    })
}

fn text(body: String) -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; charset=utf-8").body(body)
}

/// The log's latest checkpoint: a C2SP signed note (origin `linli/<community>/<log>`, size, base64 root), signed
/// with the platform's Ed25519 key; its size and root are anchored on chain.
#[utoipa::path(
    tag = "logs",
    params(("community_id" = Uuid, Path), ("log" = String, Path, description = "disclosure, funds, workorders or audit")),
    responses(
        (status = 200, content_type = "text/plain", body = String),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "no such log, or no checkpoint yet (`log_no_checkpoint`)"),
    ),
    security(("session" = []), ("app_hmac" = []))
)]
#[get("/v1/communities/{community_id}/logs/{log}/checkpoint")]
async fn checkpoint(state: web::Data<AppState>, req: HttpRequest, path: web::Path<(Uuid, String)>) -> Result<HttpResponse, ApiError> {
    let (community, log) = path.into_inner();
    let (mut conn, log) = reader(&state, &req, community, &log).await?;
    let cp = store::latest_checkpoint(&mut conn, community, log).await?.ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "log_no_checkpoint", "The log has no checkpoint yet")
    })?;
    Ok(text(cp.note))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct EntryView {
    pub index: u64,
    /// The entry's bytes, base64: what the leaf hash is taken over (SHA-256(0x00 ‖ entry)).
    pub entry: String,
    /// The same bytes parsed (they are canonical JSON).
    pub decoded: serde_json::Value,
}

/// One entry of the log.
#[utoipa::path(
    tag = "logs",
    params(("community_id" = Uuid, Path), ("log" = String, Path), ("index" = u64, Path)),
    responses((status = 200, body = EntryView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("session" = []), ("app_hmac" = []))
)]
#[get("/v1/communities/{community_id}/logs/{log}/entries/{index}")]
async fn entry(state: web::Data<AppState>, req: HttpRequest, path: web::Path<(Uuid, String, String)>) -> Result<HttpResponse, ApiError> {
    let (community, log, index) = path.into_inner();
    // Parsed after the caller is known: an anonymous caller learns nothing, not even that the path is bad.
    let (mut conn, log) = reader(&state, &req, community, &log).await?;
    let index: u64 = index.parse().map_err(|_| ApiError::not_found())?;
    let bytes = store::entry(&mut conn, community, log, index).await?.ok_or_else(ApiError::not_found)?;
    let decoded = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    Ok(HttpResponse::Ok().json(EntryView { index, entry: B64.encode(&bytes), decoded }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    /// The entry's index (0-based).
    pub index: u64,
    /// The size of the tree (e.g. of a checkpoint) the proof is against; at most the log's size.
    pub tree_size: u64,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct InclusionProof {
    pub leaf_index: u64,
    pub tree_size: u64,
    /// RFC 9162 §2.1.3 audit path, base64 SHA-256 hashes, leaf to root.
    pub hashes: Vec<String>,
}

/// RFC 9162 inclusion proof of one entry in the tree of `tree_size` entries.
#[utoipa::path(
    tag = "logs",
    params(("community_id" = Uuid, Path), ("log" = String, Path), InclusionQuery),
    responses(
        (status = 200, body = InclusionProof),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "index ≥ tree_size, or tree_size beyond the log"),
    ),
    security(("session" = []), ("app_hmac" = []))
)]
#[get("/v1/communities/{community_id}/logs/{log}/proof/inclusion")]
async fn inclusion(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(Uuid, String)>,
) -> Result<HttpResponse, ApiError> {
    let (community, log) = path.into_inner();
    let (mut conn, log) = reader(&state, &req, community, &log).await?;
    let query: InclusionQuery = query_of(&req)?;
    let hashes = store::inclusion_proof(&mut conn, community, log, query.index, query.tree_size).await.map_err(out_of_range)?;
    Ok(HttpResponse::Ok().json(InclusionProof {
        leaf_index: query.index,
        tree_size: query.tree_size,
        hashes: hashes.iter().map(|h| B64.encode(h)).collect(),
    }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// The older tree size (≥ 1).
    pub first: u64,
    /// The newer tree size (≥ first, at most the log's size).
    pub second: u64,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ConsistencyProof {
    pub first: u64,
    pub second: u64,
    /// RFC 9162 §2.1.4 consistency proof, base64 SHA-256 hashes.
    pub hashes: Vec<String>,
}

/// RFC 9162 consistency proof: the tree of `first` entries is a prefix of the tree of `second` entries.
#[utoipa::path(
    tag = "logs",
    params(("community_id" = Uuid, Path), ("log" = String, Path), ConsistencyQuery),
    responses(
        (status = 200, body = ConsistencyProof),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "not 1 ≤ first ≤ second ≤ size"),
    ),
    security(("session" = []), ("app_hmac" = []))
)]
#[get("/v1/communities/{community_id}/logs/{log}/proof/consistency")]
async fn consistency(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(Uuid, String)>,
) -> Result<HttpResponse, ApiError> {
    let (community, log) = path.into_inner();
    let (mut conn, log) = reader(&state, &req, community, &log).await?;
    let query: ConsistencyQuery = query_of(&req)?;
    let hashes = store::consistency_proof(&mut conn, community, log, query.first, query.second).await.map_err(out_of_range)?;
    Ok(HttpResponse::Ok().json(ConsistencyProof {
        first: query.first,
        second: query.second,
        hashes: hashes.iter().map(|h| B64.encode(h)).collect(),
    }))
}

/// The C2SP verifier key of the checkpoints: `<name>+<key id hex>+base64(0x01 ‖ Ed25519 public key)`.
#[utoipa::path(
    tag = "logs",
    params(("community_id" = Uuid, Path), ("log" = String, Path)),
    responses(
        (status = 200, content_type = "text/plain", body = String),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "no signing key configured"),
    ),
    security(("session" = []), ("app_hmac" = []))
)]
#[get("/v1/communities/{community_id}/logs/{log}/key")]
async fn key(state: web::Data<AppState>, req: HttpRequest, path: web::Path<(Uuid, String)>) -> Result<HttpResponse, ApiError> {
    let (community, log) = path.into_inner();
    let _reader = reader(&state, &req, community, &log).await?;
    let signer = state.log_signer.as_deref().ok_or_else(|| {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "logs_unavailable", "No checkpoint key is configured")
    })?;
    Ok(text(format!("{}\n", signer.verifier_key())))
}
