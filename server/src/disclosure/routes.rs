//! Disclosure routes: the committee (session) and the property company (app, role `property`) publish; verified
//! owners and the bureau read the feed, items and attachments; each item's proof is served by the log routes
//! (`…/logs/disclosure/…`, index `log_index`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use futures_util::StreamExt;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::domain::{self, ItemError, ItemInput};
use super::store::{self, ItemView};
use crate::app::AppState;
use crate::auth::org_app::{OrgRole, verify_org_request};
use crate::auth::{CurrentAccount, Role, require_role};
use crate::error::{ApiError, Problem, extractors::parse_json};
use crate::idempotency::{self, IdempotentRequest, Scope};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(committee_publish).service(org_publish).service(feed).service(get_item).service(attachment);
}

/// The body, up to the limit of a disclosure with its files (larger than the JSON limit of other routes).
async fn read_body(mut payload: web::Payload) -> Result<Vec<u8>, ApiError> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "body_unreadable", "The request body could not be read"))?;
        if body.len() + chunk.len() > domain::MAX_BODY_BYTES {
            return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "disclosure_too_large", "The disclosure is too large"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn refused(e: ItemError) -> ApiError {
    let code = match e {
        ItemError::Category => "disclosure_category_unknown",
        ItemError::Automatic => "disclosure_category_automatic",
        ItemError::Attachment(..) | ItemError::TooMany => "disclosure_attachment_invalid",
        ItemError::Text(_) => "disclosure_invalid",
    };
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, "The disclosure is not acceptable").with_detail(e.to_string())
}

/// Publishes under `idem` (one-transaction mode: the item and the stored answer commit together).
async fn publish(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    community: Uuid,
    body: &[u8],
    publisher: String,
    idem: &IdempotentRequest,
) -> Result<HttpResponse, ApiError> {
    if let Some(stored) = idempotency::stored_answer(conn, idem).await? {
        return Ok(stored.into_response());
    }
    let input: ItemInput = parse_json(body)?;
    let item = domain::validate(&input, &state.disclosure.categories).map_err(refused)?;
    let answer = conn
        .transaction(async |c| {
            let view = store::publish(c, community, &item, &publisher).await?;
            let bytes = serde_json::to_vec(&view).map_err(ApiError::internal)?;
            Ok::<_, ApiError>(idempotency::record(c, idem, StatusCode::CREATED, &bytes).await?.then_some(bytes))
        })
        .await?;
    match answer {
        Some(bytes) => Ok(HttpResponse::Created().content_type("application/json").body(bytes)),
        // A concurrent request with this key committed first (and this one rolled back): its answer.
        None => idempotency::stored_answer(conn, idem)
            .await?
            .map(|s| s.into_response())
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("idempotency key taken but no answer stored"))),
    }
}

/// Publishes a disclosure item (committee member; `Idempotency-Key`). Body: category (configured), title, period,
/// body, attachments (base64 PDF/PNG/JPEG, ≤ 10, ≤ 4 MiB each), `corrects` (an earlier item this one corrects).
#[utoipa::path(
    tag = "disclosure",
    params(("community_id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    request_body = ItemInput,
    responses(
        (status = 201, body = ItemView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []))
)]
#[post("/v1/communities/{community_id}/disclosures")]
async fn committee_publish(
    state: web::Data<AppState>,
    account: CurrentAccount,
    req: HttpRequest,
    path: web::Path<Uuid>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let community = path.into_inner();
    let mut conn = state.db.get().await?;
    require_role(&mut conn, account.0, community, Role::Committee).await?;
    let body = read_body(payload).await?;
    let idem = idempotency::from_request(&state.pii, &req, &body, Scope::account(account.0))?;
    publish(&state, &mut conn, community, &body, format!("committee:{}", account.0), &idem).await
}

/// Publishes a disclosure item (property company app; `Idempotency-Key`); the body as for the committee.
#[utoipa::path(
    tag = "disclosure",
    params(("community_id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    request_body = ItemInput,
    responses(
        (status = 201, body = ItemView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("app_hmac" = []))
)]
#[post("/openapi/v1/communities/{community_id}/disclosures")]
async fn org_publish(state: web::Data<AppState>, req: HttpRequest, path: web::Path<Uuid>, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    let community = path.into_inner();
    let body = read_body(payload).await?;
    let mut conn = state.db.get().await?;
    let app = verify_org_request(&state, &mut conn, &req, &body).await?;
    app.require(&[OrgRole::Property], community)?;
    let idem = idempotency::from_request(&state.pii, &req, &body, Scope::app(&app.id))?;
    publish(&state, &mut conn, community, &body, format!("app:{}", app.id), &idem).await
}

/// A verified owner of the community, its committee, or a bureau app of its scope; 404 for anyone else.
async fn reader(state: &AppState, req: &HttpRequest, community: Uuid) -> Result<diesel_async::pooled_connection::deadpool::Object<AsyncPgConnection>, ApiError> {
    use actix_web::FromRequest;
    let mut conn = state.db.get().await?;
    let is_app = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(linli_identity::org_app::SCHEME));
    if is_app {
        verify_org_request(state, &mut conn, req, &[]).await?.require(&[OrgRole::Bureau], community)?;
    } else {
        let account = CurrentAccount::from_request(req, &mut actix_web::dev::Payload::None).await?;
        if crate::community::store::persons_of_account(&mut conn, account.0, community).await?.is_empty()
            && !crate::auth::roles::has_role(&mut conn, account.0, community, Role::Committee).await?
        {
            return Err(ApiError::not_found());
        }
    }
    Ok(conn)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    /// Only this category.
    pub category: Option<String>,
    /// At most this many items (1–200, default 50).
    pub limit: Option<i64>,
}

/// The community's disclosure feed, newest first; each item names the later items that correct it.
#[utoipa::path(
    tag = "disclosure",
    params(("community_id" = Uuid, Path), FeedQuery),
    responses((status = 200, body = Vec<ItemView>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("session" = []), ("app_hmac" = []))
)]
#[get("/v1/communities/{community_id}/disclosures")]
async fn feed(state: web::Data<AppState>, req: HttpRequest, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let community = path.into_inner();
    let mut conn = reader(&state, &req, community).await?;
    let q: FeedQuery = web::Query::<FeedQuery>::from_query(req.query_string()).map(web::Query::into_inner).map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", "The query string is invalid").with_detail(e.to_string())
    })?;
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    Ok(HttpResponse::Ok().json(store::feed(&mut conn, community, q.category.as_deref(), limit).await?))
}

/// One item.
#[utoipa::path(
    tag = "disclosure",
    params(("community_id" = Uuid, Path), ("item_id" = Uuid, Path)),
    responses((status = 200, body = ItemView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("session" = []), ("app_hmac" = []))
)]
#[get("/v1/communities/{community_id}/disclosures/{item_id}")]
async fn get_item(state: web::Data<AppState>, req: HttpRequest, path: web::Path<(Uuid, Uuid)>) -> Result<HttpResponse, ApiError> {
    let (community, id) = path.into_inner();
    let mut conn = reader(&state, &req, community).await?;
    Ok(HttpResponse::Ok().json(store::item(&mut conn, community, id).await?))
}

/// One attachment of an item, as published (its SHA-256 is in the item and its log entry).
#[utoipa::path(
    tag = "disclosure",
    params(("community_id" = Uuid, Path), ("item_id" = Uuid, Path), ("position" = i16, Path)),
    responses(
        (status = 200, description = "the file (application/pdf, image/png or image/jpeg)"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []), ("app_hmac" = []))
)]
#[get("/v1/communities/{community_id}/disclosures/{item_id}/attachments/{position}")]
async fn attachment(state: web::Data<AppState>, req: HttpRequest, path: web::Path<(Uuid, Uuid, String)>) -> Result<HttpResponse, ApiError> {
    let (community, id, position) = path.into_inner();
    let mut conn = reader(&state, &req, community).await?;
    let position: i16 = position.parse().map_err(|_| ApiError::not_found())?;
    let (bytes, kind) = store::file(&mut conn, community, id, position).await?;
    let content_type = match kind.as_str() {
        "pdf" => "application/pdf",
        "png" => "image/png",
        _ => "image/jpeg",
    };
    Ok(HttpResponse::Ok().content_type(content_type).insert_header(("x-content-type-options", "nosniff")).body(bytes))
}
