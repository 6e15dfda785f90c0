//! `/v1/support/...`: file, approve and withdraw device-binding resets.
//!
//! A community's support staff reset only a binding that serves their community (some enrollment of the account
//! there counts the certificate as its device factor); the reset names that certificate, and its approval revokes
//! it, which resets the account's enrollments in every community it served and ends the account's sessions. A
//! pending reset expires after 7 days or is withdrawn; it blocks only another pending reset of the same account in
//! the same community.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, post, web};
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{CurrentAccount, Role, require_role};
use crate::enrollment::store;
use crate::error::{ApiError, Problem};
use crate::app::AppState;
use crate::schema::{binding_resets, enrollments};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(file_reset).service(approve_reset).service(withdraw_reset);
    super::registry_reviews::configure(cfg);
    super::proxy_reviews::configure(cfg);
}

/// How long a filed reset waits for a second staff member's approval before it lapses.
pub const RESET_EXPIRY: Duration = Duration::days(7);

/// Where a binding reset stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetState {
    Pending,
    Approved,
    Withdrawn,
    /// Nobody approved it within [`RESET_EXPIRY`].
    Expired,
    /// The certificate it named was revoked otherwise (by the owner, or by another community's reset).
    Superseded,
}

impl ResetState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Withdrawn => "withdrawn",
            Self::Expired => "expired",
            Self::Superseded => "superseded",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Approved, Self::Withdrawn, Self::Expired, Self::Superseded].into_iter().find(|s| s.as_str() == text)
    }
}

/// What the rules need to know about a stored reset.
#[derive(Debug, Clone, Copy)]
pub struct ResetFacts {
    pub stored: ResetState,
    pub expires_at: DateTime<Utc>,
    pub filed_by: Uuid,
    /// The certificate the reset names is still active and still serves the reset's community.
    pub binding_still_served: bool,
}

/// Why a reset cannot be approved or withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetRefusal {
    AlreadyApproved,
    Withdrawn,
    Expired,
    BindingGone,
    SameStaff,
}

impl ResetFacts {
    /// The reset's state now: a stored pending reset lapses at its expiry, or when its binding went otherwise.
    pub fn state(&self, now: DateTime<Utc>) -> ResetState {
        match self.stored {
            ResetState::Pending if now >= self.expires_at => ResetState::Expired,
            ResetState::Pending if !self.binding_still_served => ResetState::Superseded,
            other => other,
        }
    }

    fn refusal_unless_pending(&self, now: DateTime<Utc>) -> Result<(), ResetRefusal> {
        match self.state(now) {
            ResetState::Pending => Ok(()),
            ResetState::Approved => Err(ResetRefusal::AlreadyApproved),
            ResetState::Withdrawn => Err(ResetRefusal::Withdrawn),
            ResetState::Expired => Err(ResetRefusal::Expired),
            ResetState::Superseded => Err(ResetRefusal::BindingGone),
        }
    }

    /// A pending reset is approved by a staff member other than the one who filed it.
    pub fn check_approve(&self, staff: Uuid, now: DateTime<Utc>) -> Result<(), ResetRefusal> {
        self.refusal_unless_pending(now)?;
        if self.filed_by == staff {
            return Err(ResetRefusal::SameStaff);
        }
        Ok(())
    }

    /// Any support staff member of the community may withdraw a pending reset (the filer who erred, or a colleague
    /// who finds it unfounded); once lapsed there is nothing to withdraw.
    pub fn check_withdraw(&self, now: DateTime<Utc>) -> Result<(), ResetRefusal> {
        self.refusal_unless_pending(now)
    }
}

fn refusal(r: ResetRefusal) -> ApiError {
    match r {
        ResetRefusal::AlreadyApproved => {
            ApiError::new(StatusCode::CONFLICT, "reset_already_approved", "The reset is already approved")
        }
        ResetRefusal::Withdrawn => ApiError::new(StatusCode::CONFLICT, "reset_withdrawn", "The reset was withdrawn"),
        ResetRefusal::Expired => {
            ApiError::new(StatusCode::GONE, "reset_expired", "The reset lapsed without approval; file a new one")
        }
        ResetRefusal::BindingGone => ApiError::new(
            StatusCode::CONFLICT,
            "reset_binding_gone",
            "The device binding this reset names is no longer active here",
        ),
        ResetRefusal::SameStaff => ApiError::new(
            StatusCode::CONFLICT,
            "reset_same_staff",
            "A reset must be approved by a different staff member",
        ),
    }
}

fn no_binding_here() -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "reset_no_binding_here", "No device binding of this account serves this community")
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
    /// `pending`, `approved`, `withdrawn`, `expired` or `superseded`.
    pub state: String,
    /// When a pending reset lapses unless approved.
    pub expires_at: DateTime<Utc>,
}

/// Files a device-binding reset for an owner of this community (support role): only for a binding that serves
/// this community. A second staff member approves it within 7 days, or it lapses.
#[utoipa::path(
    tag = "support",
    params(("community_id" = Uuid, Path, description = "community id")),
    request_body = FileReset,
    responses(
        (status = 201, body = ResetView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "a reset is pending here, or no binding of the account serves this community"),
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
    let now = Utc::now();
    let expires_at = now + RESET_EXPIRY;
    let inserted = conn
        .transaction(async |conn| {
            // The binding must serve this community: another community's staff cannot revoke it (the certificate
            // row stays locked until the reset is filed).
            let serial = store::binding_serving(conn, body.account_id, community_id, true)
                .await?
                .ok_or_else(no_binding_here)?;
            lapse_stale(conn, body.account_id, community_id, &serial, now).await?;
            let n = diesel::insert_into(binding_resets::table)
                .values((
                    binding_resets::id.eq(id),
                    binding_resets::account_id.eq(body.account_id),
                    binding_resets::community_id.eq(community_id),
                    binding_resets::reason.eq(reason),
                    binding_resets::ticket_id.eq(ticket),
                    binding_resets::filed_by.eq(staff.0),
                    binding_resets::filed_at.eq(now),
                    binding_resets::cert_serial.eq(&serial),
                    binding_resets::expires_at.eq(expires_at),
                    binding_resets::state.eq(ResetState::Pending.as_str()),
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
                    serde_json::json!({ "reset": id, "ticket_id": ticket, "community": community_id, "serial": serial }),
                )
                .await?;
            }
            Ok::<_, ApiError>(n)
        })
        .await?;
    if inserted == 0 {
        return Err(ApiError::new(StatusCode::CONFLICT, "reset_pending", "A reset for this account awaits approval here"));
    }
    Ok(HttpResponse::Created().json(ResetView {
        id,
        account_id: body.account_id,
        state: ResetState::Pending.as_str().to_owned(),
        expires_at,
    }))
}

/// Closes the pending resets of the account in the community that lapsed (expired, or naming a binding other than
/// `serial`, the active one), so they no longer hold the one pending place.
async fn lapse_stale(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    community: Uuid,
    serial: &str,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let pending = binding_resets::table
        .filter(binding_resets::account_id.eq(account))
        .filter(binding_resets::community_id.eq(community))
        .filter(binding_resets::state.eq(ResetState::Pending.as_str()));
    diesel::update(pending.filter(binding_resets::expires_at.le(now)))
        .set(binding_resets::state.eq(ResetState::Expired.as_str()))
        .execute(conn)
        .await?;
    diesel::update(pending.filter(binding_resets::cert_serial.is_distinct_from(serial)))
        .set(binding_resets::state.eq(ResetState::Superseded.as_str()))
        .execute(conn)
        .await?;
    Ok(())
}

/// A reset of this community, locked for the decision: (account, facts).
async fn load_reset(
    conn: &mut AsyncPgConnection,
    community: Uuid,
    reset: Uuid,
) -> Result<(Uuid, Option<String>, ResetFacts), ApiError> {
    /// (account, filed by, state, expires at, certificate serial)
    type Row = (Uuid, Uuid, String, DateTime<Utc>, Option<String>);
    let row: Option<Row> = binding_resets::table
        .find(reset)
        .filter(binding_resets::community_id.eq(community))
        .select((
            binding_resets::account_id,
            binding_resets::filed_by,
            binding_resets::state,
            binding_resets::expires_at,
            binding_resets::cert_serial,
        ))
        .for_update()
        .first(conn)
        .await
        .optional()?;
    let (account, filed_by, stored, expires_at, serial) = row.ok_or_else(ApiError::not_found)?;
    let stored = ResetState::parse(&stored)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("binding reset {reset} has an unknown state")))?;
    let binding_still_served = match (&serial, stored) {
        (Some(serial), ResetState::Pending) => {
            store::binding_serving(conn, account, community, true).await?.as_deref() == Some(serial.as_str())
        }
        _ => false,
    };
    Ok((account, serial, ResetFacts { stored, expires_at, filed_by, binding_still_served }))
}

/// Approves a pending reset filed by another staff member: the certificate it names is revoked at once, the
/// account's enrollments in every community that certificate served go back to the face and device factors (it
/// stops being a verified owner until they pass again), every session of the account ends, and the owner is
/// notified.
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
        (status = 409, body = Problem, content_type = "application/problem+json", description = "same staff member, already approved, withdrawn, or the binding is gone"),
        (status = 410, body = Problem, content_type = "application/problem+json", description = "the reset lapsed"),
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
    let (account, expires_at) = conn
        .transaction(async |conn| {
            let (account, serial, facts) = load_reset(conn, community_id, reset_id).await?;
            let now = Utc::now();
            facts.check_approve(staff.0, now).map_err(refusal)?;
            diesel::update(binding_resets::table.find(reset_id))
                .set((
                    binding_resets::state.eq(ResetState::Approved.as_str()),
                    binding_resets::approved_by.eq(staff.0),
                    binding_resets::approved_at.eq(now),
                ))
                .execute(conn)
                .await?;
            let revocation =
                store::revoke_binding(&state, conn, account, &format!("support reset {reset_id}"), now).await?;
            crate::audit::append(
                conn,
                &format!("account:{}", staff.0),
                "binding_reset.approve",
                &format!("account:{account}"),
                serde_json::json!({
                    "reset": reset_id, "serial": serial, "revoked": revocation.revoked, "filed_by": facts.filed_by,
                }),
            )
            .await?;
            Ok::<_, ApiError>((account, facts.expires_at))
        })
        .await?;
    crate::notify::binding_reset(&state, account).await;
    Ok(HttpResponse::Ok().json(ResetView {
        id: reset_id,
        account_id: account,
        state: ResetState::Approved.as_str().to_owned(),
        expires_at,
    }))
}

/// Withdraws a pending reset (support role of its community): nothing is revoked, and the community may file anew.
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
        (status = 409, body = Problem, content_type = "application/problem+json", description = "already approved or withdrawn, or the binding is gone"),
        (status = 410, body = Problem, content_type = "application/problem+json", description = "the reset lapsed"),
    ),
    security(("session" = []))
)]
#[post("/v1/support/communities/{community_id}/binding-resets/{reset_id}/withdraw")]
async fn withdraw_reset(
    state: web::Data<AppState>,
    staff: CurrentAccount,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (community_id, reset_id) = path.into_inner();
    let mut conn = state.db.get().await?;
    require_role(&mut conn, staff.0, community_id, Role::Support).await?;
    let (account, expires_at) = conn
        .transaction(async |conn| {
            let (account, _, facts) = load_reset(conn, community_id, reset_id).await?;
            let now = Utc::now();
            facts.check_withdraw(now).map_err(refusal)?;
            diesel::update(binding_resets::table.find(reset_id))
                .set((
                    binding_resets::state.eq(ResetState::Withdrawn.as_str()),
                    binding_resets::withdrawn_by.eq(staff.0),
                    binding_resets::withdrawn_at.eq(now),
                ))
                .execute(conn)
                .await?;
            crate::audit::append(
                conn,
                &format!("account:{}", staff.0),
                "binding_reset.withdraw",
                &format!("account:{account}"),
                serde_json::json!({ "reset": reset_id, "filed_by": facts.filed_by }),
            )
            .await?;
            Ok::<_, ApiError>((account, facts.expires_at))
        })
        .await?;
    Ok(HttpResponse::Ok().json(ResetView {
        id: reset_id,
        account_id: account,
        state: ResetState::Withdrawn.as_str().to_owned(),
        expires_at,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).single().unwrap_or_default() + Duration::hours(h)
    }

    fn pending(filed_by: Uuid) -> ResetFacts {
        ResetFacts { stored: ResetState::Pending, expires_at: at(0) + RESET_EXPIRY, filed_by, binding_still_served: true }
    }

    #[test]
    fn a_second_staff_member_approves_a_pending_reset_before_it_lapses() {
        let (filer, other) = (Uuid::now_v7(), Uuid::now_v7());
        let r = pending(filer);
        assert_eq!(r.check_approve(other, at(1)), Ok(()));
        assert_eq!(r.check_approve(filer, at(1)), Err(ResetRefusal::SameStaff));
        assert_eq!(r.check_approve(other, at(7 * 24)), Err(ResetRefusal::Expired));
        assert_eq!(r.check_approve(other, at(7 * 24 - 1)), Ok(()));
    }

    #[test]
    fn a_reset_whose_binding_went_otherwise_is_superseded() {
        let r = ResetFacts { binding_still_served: false, ..pending(Uuid::now_v7()) };
        assert_eq!(r.state(at(1)), ResetState::Superseded);
        assert_eq!(r.check_approve(Uuid::now_v7(), at(1)), Err(ResetRefusal::BindingGone));
        assert_eq!(r.check_withdraw(at(1)), Err(ResetRefusal::BindingGone));
    }

    #[test]
    fn only_a_pending_reset_is_withdrawn() {
        let filer = Uuid::now_v7();
        assert_eq!(pending(filer).check_withdraw(at(1)), Ok(()));
        assert_eq!(pending(filer).check_withdraw(at(8 * 24)), Err(ResetRefusal::Expired));
        for (stored, refusal) in [
            (ResetState::Approved, ResetRefusal::AlreadyApproved),
            (ResetState::Withdrawn, ResetRefusal::Withdrawn),
            (ResetState::Expired, ResetRefusal::Expired),
            (ResetState::Superseded, ResetRefusal::BindingGone),
        ] {
            let r = ResetFacts { stored, binding_still_served: false, ..pending(filer) };
            assert_eq!(r.check_withdraw(at(1)), Err(refusal), "{stored:?}");
            assert_eq!(r.check_approve(Uuid::now_v7(), at(1)), Err(refusal), "{stored:?}");
        }
    }

    #[test]
    fn states_round_trip_through_their_stored_text() {
        for s in [ResetState::Pending, ResetState::Approved, ResetState::Withdrawn, ResetState::Expired, ResetState::Superseded] {
            assert_eq!(ResetState::parse(s.as_str()), Some(s));
        }
        assert_eq!(ResetState::parse("open"), None);
    }
}
