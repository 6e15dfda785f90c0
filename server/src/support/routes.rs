//! `/v1/support/...`: file and approve device-binding resets.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, post, web};
use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{CurrentAccount, Role, require_role};
use crate::enrollment::store;
use crate::error::{ApiError, Problem};
use crate::http::AppState;
use crate::schema::{binding_resets, enrollments};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(file_reset).service(approve_reset);
    super::registry_reviews::configure(cfg);
    super::proxy_reviews::configure(cfg);
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileReset {
    /// The owner's account whose device binding is reset.
    pub account_id: Uuid,
    pub reason: String,
    /// The support ticket this reset answers.
    pub ticket_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct ResetView {
    pub id: Uuid,
    pub account_id: Uuid,
    pub state: String,
}

/// Files a device-binding reset for an owner of this community (support role). A second staff member approves it.
#[utoipa::path(
    tag = "support",
    params(("community_id" = Uuid, Path, description = "community id")),
    request_body = FileReset,
    responses(
        (status = 201, body = ResetView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "a reset is pending"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []))
)]
#[post("/v1/support/communities/{community_id}/binding-resets")]
async fn file_reset(
    state: web::Data<AppState>,
    staff: CurrentAccount,
    path: web::Path<Uuid>,
    body: web::Json<FileReset>,
) -> Result<HttpResponse, ApiError> {
    let community_id = path.into_inner();
    let body = body.into_inner();
    let (reason, ticket) = (body.reason.trim(), body.ticket_id.trim());
    if reason.is_empty() || reason.chars().count() > 1000 || ticket.is_empty() || ticket.chars().count() > 100 {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "reset_fields_invalid", "Reason and ticket are required"));
    }
    let mut conn = state.db.get().await?;
    require_role(&mut conn, staff.0, community_id, Role::Support).await?;
    // Only an account that enrolled in this community can be reset from it.
    let enrolled: bool = diesel::select(diesel::dsl::exists(
        enrollments::table
            .filter(enrollments::account_id.eq(body.account_id))
            .filter(enrollments::community_id.eq(community_id)),
    ))
    .get_result(&mut conn)
    .await?;
    if !enrolled {
        return Err(ApiError::not_found());
    }
    let id = Uuid::now_v7();
    let inserted = conn
        .transaction(async |conn| {
            let n = diesel::insert_into(binding_resets::table)
                .values((
                    binding_resets::id.eq(id),
                    binding_resets::account_id.eq(body.account_id),
                    binding_resets::community_id.eq(community_id),
                    binding_resets::reason.eq(reason),
                    binding_resets::ticket_id.eq(ticket),
                    binding_resets::filed_by.eq(staff.0),
                ))
                .on_conflict_do_nothing()
                .execute(conn)
                .await?;
            if n == 1 {
                crate::audit::append(
                    conn,
                    &format!("account:{}", staff.0),
                    "binding_reset.file",
                    &format!("account:{}", body.account_id),
                    serde_json::json!({ "reset": id, "ticket_id": ticket, "community": community_id }),
                )
                .await?;
            }
            Ok::<_, diesel::result::Error>(n)
        })
        .await?;
    if inserted == 0 {
        return Err(ApiError::new(StatusCode::CONFLICT, "reset_pending", "A reset for this account awaits approval"));
    }
    Ok(HttpResponse::Created().json(ResetView { id, account_id: body.account_id, state: "pending".to_owned() }))
}

/// Approves a reset filed by another staff member: the device certificate is revoked at once, the account stops
/// being a verified owner until it passes the face and device factors again, and the owner is notified.
#[utoipa::path(
    tag = "support",
    params(
        ("community_id" = Uuid, Path, description = "community id"),
        ("reset_id" = Uuid, Path, description = "reset id"),
    ),
    responses(
        (status = 200, body = ResetView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "same staff member, or already approved"),
    ),
    security(("session" = []))
)]
#[post("/v1/support/communities/{community_id}/binding-resets/{reset_id}/approve")]
async fn approve_reset(
    state: web::Data<AppState>,
    staff: CurrentAccount,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (community_id, reset_id) = path.into_inner();
    let mut conn = state.db.get().await?;
    require_role(&mut conn, staff.0, community_id, Role::Support).await?;
    let account = conn
        .transaction(async |conn| {
            let reset: Option<(Uuid, Uuid, Option<Uuid>)> = binding_resets::table
                .find(reset_id)
                .filter(binding_resets::community_id.eq(community_id))
                .select((binding_resets::account_id, binding_resets::filed_by, binding_resets::approved_by))
                .for_update()
                .first(conn)
                .await
                .optional()?;
            let (account, filed_by, approved_by) = reset.ok_or_else(ApiError::not_found)?;
            if approved_by.is_some() {
                return Err(ApiError::new(StatusCode::CONFLICT, "reset_already_approved", "The reset is already approved"));
            }
            if filed_by == staff.0 {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "reset_same_staff",
                    "A reset must be approved by a different staff member",
                ));
            }
            let now = Utc::now();
            diesel::update(binding_resets::table.find(reset_id))
                .set((binding_resets::approved_by.eq(staff.0), binding_resets::approved_at.eq(now)))
                .execute(conn)
                .await?;
            // The certificate is revoked at once; every enrollment of the account in this community goes back to
            // face + device.
            let revoked = store::revoke_binding(conn, account, Some(community_id), &format!("support reset {reset_id}"), now).await?;
            crate::audit::append(
                conn,
                &format!("account:{}", staff.0),
                "binding_reset.approve",
                &format!("account:{account}"),
                serde_json::json!({ "reset": reset_id, "revoked": revoked, "filed_by": filed_by }),
            )
            .await?;
            Ok::<_, ApiError>(account)
        })
        .await?;
    crate::notify::binding_reset(&state, account).await;
    Ok(HttpResponse::Ok().json(ResetView { id: reset_id, account_id: account, state: "approved".to_owned() }))
}
