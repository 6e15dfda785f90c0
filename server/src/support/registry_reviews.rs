//! `/v1/support/communities/{community_id}/registry-reviews/...`: the manual registry review (DESIGN §4 factor 2)
//! for owners the housing registry could not confirm. One support staff member uploads the property-certificate
//! scan and proposes a verdict with the registered area; a second, different one confirms it (it takes effect:
//! the registry factor passes and the area is written to the unit as the automatic path does, or the factor
//! fails) or returns it for a new proposal. An approved area far from the unit's recorded one
//! (`review_area_change`: beyond ±10 %, or above its building area) becomes the unit's voting weight only when a
//! third, different staff member confirms it as well. No staff member proposes or decides a review of their own
//! person (the enrollment's account, or any account enrolled with the same ID number). The scan is decoded only
//! once the proposal is otherwise acceptable. The rules are `linli_identity::enrollment`; every step is an
//! enrollment transition and an audit entry; the owner is notified of the outcome. The scan is stored encrypted,
//! bound to its review, and never logged.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use linli_identity::IdNumber;
use linli_identity::enrollment::{
    EnrollmentEvent, ReviewAreaChange, ReviewVerdict, check_reviewer_independent, review_area_change,
};
use linli_identity::upload::ScanKind;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{CurrentAccount, Role, require_role};
use crate::enrollment::routes::{apply, rule_error};
use crate::enrollment::store::{self, EnrollmentRow};
use crate::error::{ApiError, Problem};
use crate::app::AppState;
use crate::multipart::{FieldLimit, paper_scan, read_fields, scan_download, text_field};
use crate::pii::{Column, DocumentColumn};
use crate::schema::{account_persons, buildings, enrollments, persons, registry_reviews, units};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_reviews).service(propose).service(show_scan).service(decide);
}

#[derive(Serialize, ToSchema)]
pub struct ReviewProposalView {
    /// `approve` or `reject`.
    pub verdict: String,
    pub registered_area_centi_m2: Option<i64>,
    pub proposed_by: Uuid,
    pub proposed_at: DateTime<Utc>,
    pub note: Option<String>,
    /// `jpeg`, `png` or `pdf`.
    pub scan_kind: String,
    pub scan_sha256: String,
    /// The approved area is far from the unit's recorded one: a third staff member must confirm after the second.
    pub third_review_required: bool,
    /// The second staff member, who confirmed a proposal that needs a third one (status `seconded`).
    pub seconded_by: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct ReviewView {
    pub id: Uuid,
    pub enrollment_id: Uuid,
    pub unit_id: Uuid,
    pub building_code: String,
    pub unit_number: String,
    /// The name the owner enrolled with, to compare with the certificate.
    pub owner_name: String,
    /// The owner's ID number, masked (`1101**********1234`).
    pub owner_id_number_masked: String,
    /// `requested`, `proposed`, `seconded` (confirmed once, waiting for a third staff member), `approved` or
    /// `rejected`.
    pub status: String,
    pub requested_at: DateTime<Utc>,
    pub proposal: Option<ReviewProposalView>,
}

#[derive(Serialize, ToSchema)]
pub struct ReviewList {
    pub reviews: Vec<ReviewView>,
}

type ReviewRow = (
    (String, String, String, Uuid, Uuid, Uuid, String, String, DateTime<Utc>),
    (
        Option<String>,
        Option<String>,
        Option<Uuid>,
        Option<String>,
        Option<i64>,
        Option<String>,
        Option<DateTime<Utc>>,
        bool,
        Option<Uuid>,
    ),
);

/// Reviews that are not decided yet.
const OPEN_STATUSES: [&str; 3] = ["requested", "proposed", "seconded"];

async fn load_views(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    community: Uuid,
    only: Option<Uuid>,
) -> Result<Vec<ReviewView>, ApiError> {
    let mut query = registry_reviews::table
        .inner_join(crate::schema::enrollments::table)
        .inner_join(units::table.on(units::id.eq(crate::schema::enrollments::unit_id)))
        .inner_join(buildings::table.on(buildings::id.eq(units::building_id)))
        .filter(registry_reviews::community_id.eq(community))
        .select((
            (
                registry_reviews::status,
                crate::schema::enrollments::real_name_enc,
                crate::schema::enrollments::id_number_enc,
                registry_reviews::id,
                registry_reviews::enrollment_id,
                units::id,
                buildings::code,
                units::number,
                registry_reviews::requested_at,
            ),
            (
                registry_reviews::scan_kind,
                registry_reviews::scan_sha256,
                registry_reviews::proposed_by,
                registry_reviews::proposal,
                registry_reviews::proposed_area_centi_m2,
                registry_reviews::proposal_note,
                registry_reviews::proposed_at,
                registry_reviews::third_review_required,
                registry_reviews::seconded_by,
            ),
        ))
        .order(registry_reviews::requested_at)
        .limit(200)
        .into_boxed();
    query = match only {
        Some(id) => query.filter(registry_reviews::id.eq(id)),
        None => query.filter(registry_reviews::status.eq_any(OPEN_STATUSES)),
    };
    let rows: Vec<ReviewRow> = query.load(conn).await?;
    let mut views = Vec::with_capacity(rows.len());
    for (head, proposal) in rows {
        let (status, name_enc, id_enc, id, enrollment_id, unit_id, building_code, unit_number, requested_at) = head;
        let (kind, sha, by, verdict, area, note, at, third_review_required, seconded_by) = proposal;
        let owner_name = state.pii.decrypt(Column::EnrollmentName, &name_enc).map_err(ApiError::internal)?;
        let id_text = state.pii.decrypt(Column::EnrollmentIdNumber, &id_enc).map_err(ApiError::internal)?;
        let owner_id_number_masked = IdNumber::parse(&id_text).map_err(ApiError::internal)?.masked();
        let proposal = match (verdict, by, at, kind, sha) {
            (Some(verdict), Some(proposed_by), Some(proposed_at), Some(scan_kind), Some(scan_sha256)) => Some(ReviewProposalView {
                verdict,
                registered_area_centi_m2: area,
                proposed_by,
                proposed_at,
                note,
                scan_kind,
                scan_sha256,
                third_review_required,
                seconded_by,
            }),
            _ => None,
        };
        views.push(ReviewView {
            id,
            enrollment_id,
            unit_id,
            building_code,
            unit_number,
            owner_name,
            owner_id_number_masked,
            status,
            requested_at,
            proposal,
        });
    }
    Ok(views)
}

async fn one_view(state: &AppState, conn: &mut AsyncPgConnection, community: Uuid, review: Uuid) -> Result<ReviewView, ApiError> {
    load_views(state, conn, community, Some(review)).await?.pop().ok_or_else(ApiError::not_found)
}

/// The open manual registry reviews of this community (support role), oldest first.
#[utoipa::path(
    tag = "support",
    params(("community_id" = Uuid, Path, description = "community id")),
    responses(
        (status = 200, body = ReviewList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []))
)]
#[get("/v1/support/communities/{community_id}/registry-reviews")]
async fn list_reviews(
    state: web::Data<AppState>,
    staff: CurrentAccount,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let community = path.into_inner();
    let mut conn = state.db.get().await?;
    require_role(&mut conn, staff.0, community, Role::Support).await?;
    let reviews = load_views(&state, &mut conn, community, None).await?;
    Ok(HttpResponse::Ok().json(ReviewList { reviews }))
}

/// The open review row, locked: its enrollment and status. Another community's review is "not found".
async fn lock_review(conn: &mut AsyncPgConnection, community: Uuid, review: Uuid) -> Result<(Uuid, Uuid, String), ApiError> {
    let row: Option<(Uuid, Uuid, String)> = registry_reviews::table
        .find(review)
        .filter(registry_reviews::community_id.eq(community))
        .select((registry_reviews::enrollment_id, registry_reviews::account_id, registry_reviews::status))
        .for_update()
        .first(conn)
        .await
        .optional()?;
    row.ok_or_else(ApiError::not_found)
}

fn unprocessable(code: &'static str, title: &'static str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, title)
}

/// The accounts of the enrollment's person other than the enrollment's own: every account enrolled with the same
/// ID number (blind index), and every account verified as that register person.
async fn same_person_accounts(conn: &mut AsyncPgConnection, id_number_bidx: &str) -> Result<Vec<Uuid>, ApiError> {
    let mut accounts: Vec<Uuid> = enrollments::table
        .filter(enrollments::id_number_bidx.eq(id_number_bidx))
        .select(enrollments::account_id)
        .distinct()
        .load(conn)
        .await?;
    let verified: Vec<Uuid> = account_persons::table
        .filter(account_persons::person_id.eq_any(persons::table.filter(persons::id_number_bidx.eq(id_number_bidx)).select(persons::id)))
        .select(account_persons::account_id)
        .load(conn)
        .await?;
    accounts.extend(verified);
    Ok(accounts)
}

/// Refuses a staff member who is the reviewed person (403).
async fn require_independent(conn: &mut AsyncPgConnection, staff: Uuid, row: &EnrollmentRow) -> Result<(), ApiError> {
    let same_person = same_person_accounts(conn, &row.id_number_bidx).await?;
    check_reviewer_independent(staff, row.account_id, &same_person).map_err(rule_error)
}

/// Everything that decides whether a proposal is acceptable, except the scan: the review waits for one, the
/// staff member is not the reviewed person, an approval names a register owner, and the rule accepts it. Returns
/// the enrollment and whether the approved area needs a third staff member. Run before the scan is decoded and
/// again, locked, in the transaction that stores the proposal.
async fn check_proposal(
    conn: &mut AsyncPgConnection,
    community: Uuid,
    review: Uuid,
    staff: Uuid,
    verdict: ReviewVerdict,
    area: Option<i64>,
    lock: bool,
) -> Result<(EnrollmentRow, bool), ApiError> {
    let (enrollment, _, status) = lock_review(conn, community, review).await?;
    if status != "requested" {
        return Err(ApiError::new(StatusCode::CONFLICT, "review_not_open", "The review is not waiting for a proposal"));
    }
    let row = store::load_for_staff(conn, enrollment, lock).await?;
    require_independent(conn, staff, &row).await?;
    if verdict == ReviewVerdict::Approve && store::register_owner(conn, &row.id_number_bidx, row.unit_id).await?.is_none() {
        return Err(owner_missing());
    }
    let third_review_required = match (verdict, area) {
        (ReviewVerdict::Approve, Some(approved)) => {
            let (current, building): (i64, i64) = units::table
                .find(row.unit_id)
                .select((units::exclusive_area_centi_m2, units::building_area_centi_m2))
                .first(conn)
                .await?;
            review_area_change(approved, current, building) == ReviewAreaChange::Large
        }
        _ => false,
    };
    let event = proposal_event(verdict, staff, area, String::new(), third_review_required);
    row.rules.admits(&event, Utc::now()).map_err(rule_error)?;
    Ok((row, third_review_required))
}

fn proposal_event(
    verdict: ReviewVerdict,
    staff: Uuid,
    area: Option<i64>,
    scan_sha256: String,
    third_review_required: bool,
) -> EnrollmentEvent {
    EnrollmentEvent::RegistryReviewProposed {
        verdict,
        proposed_by: staff,
        registered_area_centi_m2: area,
        scan_sha256,
        third_review_required,
    }
}

fn owner_missing() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "register_owner_missing",
        "Our register does not list this person as an owner of the unit; reconcile the register first",
    )
}

/// Uploads the property-certificate scan and proposes a verdict (support role). Multipart fields: `scan` (JPEG,
/// PNG or PDF, ≤ 10 MiB), `verdict` (`approve` or `reject`), `registered_area_centi_m2` (approve only: the
/// exclusive area on the certificate), `note` (optional, ≤ 1000 characters). A different staff member decides; an
/// area beyond ±10 % of the unit's recorded one (or above its building area) needs a third. Staff cannot propose
/// on a review of their own person (403).
#[utoipa::path(
    tag = "support",
    params(
        ("community_id" = Uuid, Path, description = "community id"),
        ("review_id" = Uuid, Path, description = "review id"),
    ),
    request_body(content_type = "multipart/form-data", description = "fields: scan (file), verdict, registered_area_centi_m2, note"),
    responses(
        (status = 200, body = ReviewView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "the staff member is the reviewed person"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "already proposed or decided"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "too many uploads"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json", description = "not JPEG, PNG or PDF"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []))
)]
#[post("/v1/support/communities/{community_id}/registry-reviews/{review_id}/proposal")]
async fn propose(
    state: web::Data<AppState>,
    staff: CurrentAccount,
    path: web::Path<(Uuid, Uuid)>,
    payload: Multipart,
) -> Result<HttpResponse, ApiError> {
    let (community, review) = path.into_inner();
    let mut conn = state.db.get().await?;
    require_role(&mut conn, staff.0, community, Role::Support).await?;
    let spec = [
        FieldLimit { name: "scan", max_bytes: linli_identity::upload::MAX_PDF_BYTES },
        FieldLimit { name: "verdict", max_bytes: 16 },
        FieldLimit { name: "registered_area_centi_m2", max_bytes: 20 },
        FieldLimit { name: "note", max_bytes: 4000 },
    ];
    let mut fields = read_fields(payload, &spec, "scan_too_large").await?;
    let verdict = match fields.remove("verdict").map(text_field).transpose()?.as_deref() {
        Some("approve") => ReviewVerdict::Approve,
        Some("reject") => ReviewVerdict::Reject,
        _ => return Err(unprocessable("review_verdict_invalid", "The verdict is `approve` or `reject`")),
    };
    let area = match fields.remove("registered_area_centi_m2").map(text_field).transpose()? {
        None => None,
        Some(text) if text.trim().is_empty() => None,
        Some(text) => Some(text.trim().parse::<i64>().map_err(|_| {
            unprocessable("enrollment_review_area_invalid", "The registered area is an integer in centi-m²")
        })?),
    };
    let note = fields.remove("note").map(text_field).transpose()?.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > 1000 || n.chars().any(|c| c.is_control() && c != '\n')) {
        return Err(unprocessable("review_note_invalid", "The note is at most 1000 characters"));
    }
    let upload = fields.remove("scan").ok_or_else(|| unprocessable("scan_missing", "The multipart field `scan` is required"))?;
    check_proposal(&mut conn, community, review, staff.0, verdict, area, false).await?;
    let scan = paper_scan(&state, staff.0, upload, "The certificate scan is not acceptable").await?;
    let scan_enc = state.pii.encrypt_document(DocumentColumn::RegistryReviewScan, review, &scan.bytes).map_err(ApiError::internal)?;
    let scan_sha256 = scan.sha256_hex();
    conn.transaction(async |conn| {
        let (row, third_review_required) = check_proposal(conn, community, review, staff.0, verdict, area, true).await?;
        apply(conn, &row, proposal_event(verdict, staff.0, area, scan_sha256.clone(), third_review_required)).await?;
        diesel::update(registry_reviews::table.find(review))
            .set((
                registry_reviews::status.eq("proposed"),
                registry_reviews::scan_enc.eq(&scan_enc),
                registry_reviews::scan_kind.eq(scan.kind.as_str()),
                registry_reviews::scan_sha256.eq(&scan_sha256),
                registry_reviews::proposed_by.eq(staff.0),
                registry_reviews::proposal.eq(verdict_text(verdict)),
                registry_reviews::proposed_area_centi_m2.eq(area),
                registry_reviews::proposal_note.eq(&note),
                registry_reviews::proposed_at.eq(Utc::now()),
                registry_reviews::third_review_required.eq(third_review_required),
            ))
            .execute(conn)
            .await?;
        crate::audit::append(
            conn,
            &format!("account:{}", staff.0),
            "registry_review.propose",
            &format!("enrollment:{}", row.id),
            serde_json::json!({
                "review": review,
                "verdict": verdict_text(verdict),
                "registered_area_centi_m2": area,
                "scan_kind": scan.kind.as_str(),
                "scan_sha256": scan_sha256,
                "third_review_required": third_review_required,
            }),
        )
        .await?;
        Ok::<_, ApiError>(())
    })
    .await?;
    Ok(HttpResponse::Ok().json(one_view(&state, &mut conn, community, review).await?))
}

fn verdict_text(v: ReviewVerdict) -> &'static str {
    match v {
        ReviewVerdict::Approve => "approve",
        ReviewVerdict::Reject => "reject",
    }
}

/// The certificate scan of a review, for the staff member who decides (support role). Served as a download,
/// never cached; every viewing is audited.
#[utoipa::path(
    tag = "support",
    params(
        ("community_id" = Uuid, Path, description = "community id"),
        ("review_id" = Uuid, Path, description = "review id"),
    ),
    responses(
        (status = 200, description = "the scan (image/jpeg, image/png or application/pdf)"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "no such review, or no scan yet"),
    ),
    security(("session" = []))
)]
#[get("/v1/support/communities/{community_id}/registry-reviews/{review_id}/scan")]
async fn show_scan(
    state: web::Data<AppState>,
    staff: CurrentAccount,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (community, review) = path.into_inner();
    let mut conn = state.db.get().await?;
    require_role(&mut conn, staff.0, community, Role::Support).await?;
    let stored: Option<(Option<String>, Option<String>)> = registry_reviews::table
        .find(review)
        .filter(registry_reviews::community_id.eq(community))
        .select((registry_reviews::scan_enc, registry_reviews::scan_kind))
        .first(&mut conn)
        .await
        .optional()?;
    let (Some(enc), Some(kind)) = stored.ok_or_else(ApiError::not_found)? else {
        return Err(ApiError::not_found());
    };
    let kind = ScanKind::parse(&kind).ok_or_else(|| ApiError::internal(anyhow::anyhow!("stored scan kind unknown")))?;
    let bytes = state.pii.decrypt_document(DocumentColumn::RegistryReviewScan, review, &enc).map_err(ApiError::internal)?;
    crate::audit::append(
        &mut conn,
        &format!("account:{}", staff.0),
        "registry_review.scan_viewed",
        &format!("registry_review:{review}"),
        serde_json::json!({ "community": community }),
    )
    .await?;
    Ok(scan_download(kind, &format!("certificate-{review}"), bytes))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewDecision {
    /// True: the proposal takes effect. False: it is returned and the review waits for a new proposal.
    pub confirm: bool,
}

/// Decides on a proposal filed by another staff member (support role). Confirming an approval passes the
/// registry factor and writes the registered area to the unit when it differs (audited) — unless the area is far
/// from the unit's recorded one: then the first confirmation seconds it (status `seconded`) and a third staff
/// member, neither proposer nor second, confirms or returns it. Confirming a rejection fails the factor;
/// returning it clears the proposal. The owner is notified of the outcome. Staff cannot decide a review of their
/// own person (403).
#[utoipa::path(
    tag = "support",
    params(
        ("community_id" = Uuid, Path, description = "community id"),
        ("review_id" = Uuid, Path, description = "review id"),
    ),
    request_body = ReviewDecision,
    responses(
        (status = 200, body = ReviewView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "the staff member is the reviewed person"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "no proposal, or the proposer (or the second) decides"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []))
)]
#[post("/v1/support/communities/{community_id}/registry-reviews/{review_id}/decision")]
async fn decide(
    state: web::Data<AppState>,
    staff: CurrentAccount,
    path: web::Path<(Uuid, Uuid)>,
    body: web::Json<ReviewDecision>,
) -> Result<HttpResponse, ApiError> {
    let (community, review) = path.into_inner();
    let confirm = body.into_inner().confirm;
    let mut conn = state.db.get().await?;
    require_role(&mut conn, staff.0, community, Role::Support).await?;
    let outcome = conn
        .transaction(async |conn| {
            let (enrollment, owner, status) = lock_review(conn, community, review).await?;
            if status != "proposed" && status != "seconded" {
                return Err(ApiError::new(StatusCode::CONFLICT, "review_not_proposed", "The review has no proposal to decide on"));
            }
            let mut row = store::load_for_staff(conn, enrollment, true).await?;
            require_independent(conn, staff.0, &row).await?;
            let proposal = row
                .rules
                .registry_review
                .clone()
                .ok_or_else(|| ApiError::internal(anyhow::anyhow!("proposed review without a proposal in the rule state")))?;
            let event = EnrollmentEvent::RegistryReviewDecided { confirmed: confirm, proposed_by: proposal.proposed_by, decided_by: staff.0 };
            // The rule first (different staff members), before anything is written.
            let (next, _) = row.rules.apply(event.clone(), Utc::now()).map_err(rule_error)?;
            let actor = format!("account:{}", staff.0);
            let final_status = match (confirm, proposal.verdict) {
                (false, _) => "requested",
                // The proposal still stands: seconded, waiting for the third staff member.
                (true, _) if next.registry_review.is_some() => "seconded",
                (true, ReviewVerdict::Approve) => "approved",
                (true, ReviewVerdict::Reject) => "rejected",
            };
            if final_status == "approved" {
                row.person_id = Some(store::register_owner(conn, &row.id_number_bidx, row.unit_id).await?.ok_or_else(owner_missing)?);
                store::correct_unit_area(
                    conn,
                    row.unit_id,
                    proposal.registered_area_centi_m2,
                    &actor,
                    serde_json::json!({ "registry_review": review, "enrollment": row.id, "scan_sha256": proposal.scan_sha256 }),
                )
                .await?;
            }
            apply(conn, &row, event).await?;
            if final_status == "seconded" {
                diesel::update(registry_reviews::table.find(review))
                    .set((
                        registry_reviews::status.eq(final_status),
                        registry_reviews::seconded_by.eq(staff.0),
                        registry_reviews::seconded_at.eq(Utc::now()),
                    ))
                    .execute(conn)
                    .await?;
            } else if confirm {
                diesel::update(registry_reviews::table.find(review))
                    .set((
                        registry_reviews::status.eq(final_status),
                        registry_reviews::decided_by.eq(staff.0),
                        registry_reviews::decided_at.eq(Utc::now()),
                    ))
                    .execute(conn)
                    .await?;
            } else {
                // Returned: the review waits for a new proposal with its own scan.
                diesel::update(registry_reviews::table.find(review))
                    .set((
                        registry_reviews::status.eq("requested"),
                        registry_reviews::scan_enc.eq(None::<String>),
                        registry_reviews::scan_kind.eq(None::<String>),
                        registry_reviews::scan_sha256.eq(None::<String>),
                        registry_reviews::proposed_by.eq(None::<Uuid>),
                        registry_reviews::proposal.eq(None::<String>),
                        registry_reviews::proposed_area_centi_m2.eq(None::<i64>),
                        registry_reviews::proposal_note.eq(None::<String>),
                        registry_reviews::proposed_at.eq(None::<DateTime<Utc>>),
                        registry_reviews::third_review_required.eq(false),
                        registry_reviews::seconded_by.eq(None::<Uuid>),
                        registry_reviews::seconded_at.eq(None::<DateTime<Utc>>),
                    ))
                    .execute(conn)
                    .await?;
            }
            crate::audit::append(
                conn,
                &actor,
                match final_status {
                    "requested" => "registry_review.return",
                    "seconded" => "registry_review.second",
                    _ => "registry_review.confirm",
                },
                &format!("enrollment:{}", row.id),
                serde_json::json!({
                    "review": review,
                    "proposed_by": proposal.proposed_by,
                    "seconded_by": proposal.seconded_by,
                    "verdict": verdict_text(proposal.verdict),
                    "registered_area_centi_m2": proposal.registered_area_centi_m2,
                    "scan_sha256": proposal.scan_sha256,
                    "outcome": final_status,
                }),
            )
            .await?;
            Ok::<_, ApiError>((owner, final_status))
        })
        .await?;
    let (owner, final_status) = outcome;
    if final_status == "approved" || final_status == "rejected" {
        crate::notify::registry_review_decided(&state, owner, final_status == "approved").await;
    }
    Ok(HttpResponse::Ok().json(one_view(&state, &mut conn, community, review).await?))
}
