//! `/v1/support/communities/{community_id}/proxies/...`: support staff review written proxies (DESIGN §5). The
//! reviewer compares the scanned authorisation with the register's owners of the unit and the holder's enrolled
//! name, then approves or rejects it; the holder cannot review their own. Approval is refused when another
//! approved proxy already votes for the same roll key. Every step is audited; the holder is told the outcome and
//! the principal's own app accounts are told of an approval, so an authorisation they never signed is noticed
//! before voting opens. Scans are stored encrypted, bound to their proxy, and never logged.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use linli_identity::upload::ScanKind;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{CurrentAccount, Role, require_role};
use crate::error::{ApiError, Problem};
use crate::governance::domain::shares_key;
use crate::governance::proxies::{ProxyFilter, ProxyView, load_views, require_roll_not_frozen, unit_owners};
use crate::governance::store;
use crate::app::AppState;
use crate::multipart::scan_download;
use crate::pii::{Column, DocumentColumn};
use crate::schema::{account_persons, enrollments, meeting_proxies, meetings, ownerships, persons};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_proxies).service(show_proxy_scan).service(decide_proxy);
}

#[derive(Serialize, ToSchema)]
pub struct ProxyReviewView {
    #[serde(flatten)]
    pub proxy: ProxyView,
    pub meeting_title: String,
    /// The name the holder enrolled with.
    pub holder_name: String,
    /// The register's owners of the principal's unit, to compare with the signatures on the authorisation.
    pub principal_names: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ProxyReviewList {
    pub proxies: Vec<ProxyReviewView>,
}

/// The proxies with what a reviewer compares: the meeting's title, the holder's enrolled name and the register's
/// owners of the principal's unit. Three queries for the whole list, whatever its length.
async fn review_views(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    community: Uuid,
    filter: ProxyFilter,
) -> Result<Vec<ProxyReviewView>, ApiError> {
    let rows = load_views(conn, filter).await?;
    let meeting_ids: Vec<Uuid> = rows.iter().map(|(p, _, _)| p.meeting_id).collect();
    let holders: Vec<Uuid> = rows.iter().map(|(_, holder, _)| *holder).collect();
    let units: Vec<Uuid> = rows.iter().map(|(_, _, unit)| *unit).collect();
    let titles: HashMap<Uuid, String> =
        meetings::table.filter(meetings::id.eq_any(&meeting_ids)).select((meetings::id, meetings::title)).load(conn).await?.into_iter().collect();
    let holder_names_enc: HashMap<Uuid, String> = enrollments::table
        .filter(enrollments::account_id.eq_any(&holders))
        .filter(enrollments::community_id.eq(community))
        .filter(enrollments::status.eq("completed"))
        .select((enrollments::account_id, enrollments::real_name_enc))
        .load::<(Uuid, String)>(conn)
        .await?
        .into_iter()
        .collect();
    let owner_names_enc: Vec<(Uuid, String)> = ownerships::table
        .inner_join(persons::table)
        .filter(ownerships::unit_id.eq_any(&units))
        .select((ownerships::unit_id, persons::name_enc))
        .load(conn)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (proxy, holder, unit) in rows {
        let meeting_title = titles.get(&proxy.meeting_id).cloned().unwrap_or_default();
        let holder_name = match holder_names_enc.get(&holder) {
            Some(enc) => state.pii.decrypt(Column::EnrollmentName, enc).map_err(ApiError::internal)?,
            None => String::new(),
        };
        let mut principal_names = owner_names_enc
            .iter()
            .filter(|(u, _)| *u == unit)
            .map(|(_, enc)| state.pii.decrypt(Column::PersonName, enc).map_err(ApiError::internal))
            .collect::<Result<Vec<_>, _>>()?;
        principal_names.sort();
        out.push(ProxyReviewView { proxy, meeting_title, holder_name, principal_names });
    }
    Ok(out)
}

/// The written proxies of this community waiting for a decision (support role), oldest first.
#[utoipa::path(
    tag = "support",
    params(("community_id" = Uuid, Path, description = "community id")),
    responses(
        (status = 200, body = ProxyReviewList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []))
)]
#[get("/v1/support/communities/{community_id}/proxies")]
async fn list_proxies(state: web::Data<AppState>, staff: CurrentAccount, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let community = path.into_inner();
    let mut conn = state.db.get().await?;
    require_role(&mut conn, staff.0, community, Role::Support).await?;
    let proxies = review_views(&state, &mut conn, community, ProxyFilter::Submitted { community }).await?;
    Ok(HttpResponse::Ok().json(ProxyReviewList { proxies }))
}

/// The scanned authorisation of a proxy (support role): a download, never cached; every viewing is audited.
#[utoipa::path(
    tag = "support",
    params(("community_id" = Uuid, Path, description = "community id"), ("proxy_id" = Uuid, Path, description = "proxy id")),
    responses(
        (status = 200, description = "the scan (image/jpeg, image/png or application/pdf)"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []))
)]
#[get("/v1/support/communities/{community_id}/proxies/{proxy_id}/scan")]
async fn show_proxy_scan(
    state: web::Data<AppState>,
    staff: CurrentAccount,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (community, proxy) = path.into_inner();
    let mut conn = state.db.get().await?;
    require_role(&mut conn, staff.0, community, Role::Support).await?;
    let (enc, kind): (String, String) = meeting_proxies::table
        .find(proxy)
        .filter(meeting_proxies::community_id.eq(community))
        .select((meeting_proxies::scan_enc, meeting_proxies::scan_kind))
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(ApiError::not_found)?;
    let kind = ScanKind::parse(&kind).ok_or_else(|| ApiError::internal(anyhow::anyhow!("stored scan kind unknown")))?;
    let bytes = state.pii.decrypt_document(DocumentColumn::ProxyAuthorisationScan, proxy, &enc).map_err(ApiError::internal)?;
    crate::audit::append(
        &mut conn,
        &format!("account:{}", staff.0),
        "proxy.scan_viewed",
        &format!("meeting_proxy:{proxy}"),
        serde_json::json!({ "community": community }),
    )
    .await?;
    Ok(scan_download(kind, &format!("proxy-{proxy}"), bytes))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProxyDecision {
    pub approve: bool,
    /// Why (shown to the holder); at most 1000 characters.
    #[serde(default)]
    pub note: Option<String>,
}

/// Approves or rejects a written proxy (support role, not its holder) before voting opens. An approval that would
/// give a roll key a second proxy is refused.
#[utoipa::path(
    tag = "support",
    params(("community_id" = Uuid, Path, description = "community id"), ("proxy_id" = Uuid, Path, description = "proxy id")),
    request_body = ProxyDecision,
    responses(
        (status = 200, body = ProxyReviewView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "decided already, roll frozen, the holder reviews, or the key has a proxy"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []))
)]
#[post("/v1/support/communities/{community_id}/proxies/{proxy_id}/decision")]
async fn decide_proxy(
    state: web::Data<AppState>,
    staff: CurrentAccount,
    path: web::Path<(Uuid, Uuid)>,
    body: web::Json<ProxyDecision>,
) -> Result<HttpResponse, ApiError> {
    let (community, proxy) = path.into_inner();
    let ProxyDecision { approve, note } = body.into_inner();
    let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > 1000 || n.chars().any(|c| c.is_control() && c != '\n')) {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "review_note_invalid", "The note is at most 1000 characters"));
    }
    let mut conn = state.db.get().await?;
    require_role(&mut conn, staff.0, community, Role::Support).await?;
    let (holder, unit, principals, label) = conn
        .transaction(async |conn| {
            // Meeting first, then the proxy: the order the roll freeze locks them in.
            let meeting: Uuid = meeting_proxies::table
                .find(proxy)
                .filter(meeting_proxies::community_id.eq(community))
                .select(meeting_proxies::meeting_id)
                .first(conn)
                .await
                .optional()?
                .ok_or_else(ApiError::not_found)?;
            let m: store::MeetingRow =
                meetings::table.find(meeting).select(store::MeetingRow::as_select()).for_share().first(conn).await?;
            let (holder, unit, status): (Uuid, Uuid, String) = meeting_proxies::table
                .find(proxy)
                .select((meeting_proxies::holder_account, meeting_proxies::principal_unit, meeting_proxies::status))
                .for_update()
                .first(conn)
                .await?;
            if status != "submitted" {
                return Err(ApiError::new(StatusCode::CONFLICT, "proxy_not_submitted", "The proxy is not waiting for a decision")
                    .with_detail(status));
            }
            require_roll_not_frozen(&m)?;
            if holder == staff.0 {
                return Err(ApiError::new(StatusCode::CONFLICT, "proxy_reviewer_is_holder", "A holder cannot review their own proxy"));
            }
            if approve {
                let taken: Vec<Uuid> = meeting_proxies::table
                    .filter(meeting_proxies::meeting_id.eq(meeting))
                    .filter(meeting_proxies::status.eq("approved"))
                    .select(meeting_proxies::principal_unit)
                    .load(conn)
                    .await?;
                let snapshot = store::register_snapshot(conn, &m).await?;
                if shares_key(&snapshot.units, snapshot.rules, unit, &taken) {
                    return Err(ApiError::new(
                        StatusCode::CONFLICT,
                        "proxy_key_taken",
                        "Another approved proxy already votes for this owner",
                    ));
                }
            }
            diesel::update(meeting_proxies::table.find(proxy))
                .set((
                    meeting_proxies::status.eq(if approve { "approved" } else { "rejected" }),
                    meeting_proxies::decided_by.eq(staff.0),
                    meeting_proxies::decided_at.eq(Utc::now()),
                    meeting_proxies::decision_note.eq(&note),
                ))
                .execute(conn)
                .await?;
            crate::audit::append(
                conn,
                &format!("account:{}", staff.0),
                if approve { "proxy.approve" } else { "proxy.reject" },
                &format!("meeting_proxy:{proxy}"),
                serde_json::json!({ "meeting": meeting, "unit": unit, "holder": holder }),
            )
            .await?;
            let owners = unit_owners(conn, unit).await?;
            let principals: Vec<Uuid> = account_persons::table
                .filter(account_persons::person_id.eq_any(&owners))
                .filter(account_persons::community_id.eq(community))
                .select(account_persons::account_id)
                .distinct()
                .load(conn)
                .await?;
            let label: (String, String) = crate::schema::units::table
                .inner_join(crate::schema::buildings::table)
                .filter(crate::schema::units::id.eq(unit))
                .select((crate::schema::buildings::code, crate::schema::units::number))
                .first(conn)
                .await?;
            Ok::<_, ApiError>((holder, unit, principals, format!("{}-{}", label.0, label.1)))
        })
        .await?;
    tracing::info!(%proxy, %unit, approve, "written proxy decided");
    crate::notify::proxy_decided(&state, holder, &label, approve).await;
    if approve {
        for principal in principals {
            crate::notify::proxy_approved_for_principal(&state, principal, &label).await;
        }
    }
    let view = review_views(&state, &mut conn, community, ProxyFilter::One { community, proxy }).await?.pop().ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(view))
}
