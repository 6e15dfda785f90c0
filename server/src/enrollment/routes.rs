//! The enrollment endpoints of DESIGN §11. Handlers parse, call the rule (`Enrollment::apply`), persist. Outside
//! calls (FaceID, the registry) never run inside a database transaction.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use linli_identity::IdNumber;
use linli_identity::ca::DeviceCertificateRequest;
use linli_identity::csr::parse_csr_pem;
use linli_identity::enrollment::{
    Enrollment, EnrollmentError, EnrollmentEvent, Factor, FactorStatus, attempt_day, check_face_attempts,
    check_registry_attempts, disclosed_registry_area, registry_answer_event,
};
use linli_identity::faceid::FaceMatchRequest;
use linli_identity::registry::OwnershipQuery;
use linli_identity::upload::{ImagePolicy, normalize_image};
use crate::multipart::upload_refused;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::store::{self, EnrollmentRow, status_text};
use crate::auth::CurrentAccount;
use crate::auth::pin::{check_pin_locked, check_pin_policy, insert_first_pin, parse_pin, refused};
use crate::auth::signed::verify_signed_request;
use crate::error::{ApiError, Problem};
use crate::app::AppState;
use crate::pii::{Column, Field};
use crate::schema::{
    accounts, buildings, communities, consents, device_certificates, enrollments, face_attempts, pins, registry_attempts,
    registry_reviews, units,
};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(start)
        .service(face)
        .service(registry)
        .service(request_review)
        .service(device)
        .service(pin)
        .service(show);
    super::devices::configure(cfg);
    super::service_consent::configure(cfg);
}

pub(crate) fn rule_error(e: EnrollmentError) -> ApiError {
    let status = match e {
        EnrollmentError::ConsentVersion { .. } | EnrollmentError::ReviewArea => StatusCode::UNPROCESSABLE_ENTITY,
        EnrollmentError::Expired => StatusCode::GONE,
        EnrollmentError::FaceAttemptsExhausted | EnrollmentError::RegistryAttemptsExhausted => {
            StatusCode::TOO_MANY_REQUESTS
        }
        EnrollmentError::OwnReview => StatusCode::FORBIDDEN,
        _ => StatusCode::CONFLICT,
    };
    ApiError::new(status, e.code(), "The enrollment does not allow this step").with_detail(e.to_string())
}

/// Applies an event to a loaded enrollment and stores the result.
pub(crate) async fn apply(
    conn: &mut AsyncPgConnection,
    row: &EnrollmentRow,
    event: EnrollmentEvent,
) -> Result<Enrollment, ApiError> {
    let (next, transition) = row.rules.apply(event, Utc::now()).map_err(rule_error)?;
    store::save(conn, row, &next, &transition).await?;
    Ok(next)
}

/// Loads an open enrollment for a step, expiring it first when it sat incomplete for 7 days.
async fn load_for_step(conn: &mut AsyncPgConnection, id: Uuid, account: Uuid) -> Result<EnrollmentRow, ApiError> {
    let row = store::load(conn, id, account, true).await?;
    if row.rules.is_due_to_expire(Utc::now()) {
        apply(conn, &row, EnrollmentEvent::Expire).await?;
        return Err(rule_error(EnrollmentError::Expired));
    }
    Ok(row)
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FactorView {
    Pending,
    UnderReview,
    Failed,
    Passed,
}

impl From<FactorStatus> for FactorView {
    fn from(s: FactorStatus) -> Self {
        match s {
            FactorStatus::Pending => Self::Pending,
            FactorStatus::UnderReview => Self::UnderReview,
            FactorStatus::Failed => Self::Failed,
            FactorStatus::Passed => Self::Passed,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct EnrollmentView {
    pub id: Uuid,
    pub community_id: Uuid,
    pub unit_id: Uuid,
    /// `open`, `completed`, `expired` or `cancelled`.
    pub state: String,
    pub face: FactorView,
    pub registry: FactorView,
    pub device: FactorView,
    pub pin: FactorView,
    pub face_consent_given: bool,
    pub created_at: chrono::DateTime<Utc>,
    pub completed_at: Option<chrono::DateTime<Utc>>,
}

fn view(row: &EnrollmentRow, rules: &Enrollment) -> EnrollmentView {
    EnrollmentView {
        id: row.id,
        community_id: row.community_id,
        unit_id: row.unit_id,
        state: status_text(rules.state).to_owned(),
        face: rules.status(Factor::Face).into(),
        registry: rules.status(Factor::Registry).into(),
        device: rules.status(Factor::Device).into(),
        pin: rules.status(Factor::Pin).into(),
        face_consent_given: rules.face_consent.is_some(),
        created_at: rules.created_at,
        completed_at: rules.completed_at,
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartEnrollment {
    pub community_id: Uuid,
    pub unit_id: Uuid,
    /// The name on the ID card.
    pub real_name: String,
    /// The 18-character resident ID number.
    pub id_number: String,
    /// The version of the consent text the owner accepted.
    pub consent_version: String,
    /// The version of the separate consent to electronic service of meeting notices
    /// (`GET /v1/communities/{id}/electronic-service-consent` shows the text), when the owner agreed to it; left
    /// out, no consent is recorded and a WeChat delivery serves a notice only once the owner opens it.
    #[serde(default)]
    pub electronic_service_consent_version: Option<String>,
}

fn invalid(code: &'static str, title: &'static str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, title)
}

/// The refusal of an enrollment for another ID number than the account's person (the one its first device was
/// bound for).
fn other_person() -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "enrollment_other_person", "This account belongs to another person")
        .with_detail("An account enrolls one person only; another person enrolls from their own WeChat account")
}

/// Starts an enrollment for one unit; records the consent.
#[utoipa::path(
    tag = "enrollment",
    request_body = StartEnrollment,
    responses(
        (status = 201, body = EnrollmentView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "no such unit in that community (or it was retired from the register)"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "an enrollment for this unit exists, or the account is another person's"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []))
)]
#[post("/v1/enrollments")]
async fn start(
    state: web::Data<AppState>,
    account: CurrentAccount,
    body: web::Json<StartEnrollment>,
) -> Result<HttpResponse, ApiError> {
    let identity = state.identity()?;
    let body = body.into_inner();
    let id_number = IdNumber::parse(&body.id_number).map_err(|e| invalid(e.code(), "The ID number is invalid"))?;
    let name = body.real_name.trim();
    if name.is_empty() || name.chars().count() > 50 || name.chars().any(char::is_control) {
        return Err(invalid("real_name_invalid", "The name must be 1–50 characters"));
    }
    let now = Utc::now();
    let rules = Enrollment::start(&body.consent_version, &identity.consent_version, now).map_err(rule_error)?;
    if let Some(version) = &body.electronic_service_consent_version {
        super::service_consent::check_version(version)?;
    }
    let id_number_bidx = state.pii.index(Field::IdNumber, id_number.expose());
    let mut conn = state.db.get().await?;
    // An account is one person's: a session alone (perhaps stolen) cannot enroll somebody else on it.
    if store::account_person(&mut conn, account.0).await?.is_some_and(|person| person != id_number_bidx) {
        return Err(other_person());
    }
    let unit_ok: bool = diesel::select(diesel::dsl::exists(
        // A retired unit is no longer in the register: nothing to enroll for.
        units::table.find(body.unit_id).filter(units::community_id.eq(body.community_id)).filter(units::retired_at.is_null()),
    ))
    .get_result(&mut conn)
    .await?;
    if !unit_ok {
        return Err(ApiError::not_found());
    }
    let id = Uuid::now_v7();
    let row = EnrollmentRow {
        id,
        account_id: account.0,
        community_id: body.community_id,
        unit_id: body.unit_id,
        real_name_enc: state.pii.encrypt(Column::EnrollmentName, name).map_err(ApiError::internal)?,
        id_number_enc: state.pii.encrypt(Column::EnrollmentIdNumber, id_number.expose()).map_err(ApiError::internal)?,
        id_number_bidx,
        person_id: None,
        rules,
    };
    let state_json = serde_json::to_value(&row.rules).map_err(ApiError::internal)?;
    let inserted = conn
        .transaction(async |conn| {
            let inserted = diesel::insert_into(enrollments::table)
                .values((
                    enrollments::id.eq(row.id),
                    enrollments::account_id.eq(row.account_id),
                    enrollments::community_id.eq(row.community_id),
                    enrollments::unit_id.eq(row.unit_id),
                    enrollments::real_name_enc.eq(&row.real_name_enc),
                    enrollments::id_number_enc.eq(&row.id_number_enc),
                    enrollments::id_number_bidx.eq(&row.id_number_bidx),
                    enrollments::status.eq("open"),
                    enrollments::state.eq(&state_json),
                    enrollments::created_at.eq(now),
                    enrollments::updated_at.eq(now),
                ))
                .on_conflict_do_nothing()
                .execute(conn)
                .await?;
            if inserted == 1 {
                diesel::insert_into(consents::table)
                    .values((
                        consents::id.eq(Uuid::now_v7()),
                        consents::account_id.eq(row.account_id),
                        consents::enrollment_id.eq(row.id),
                        consents::kind.eq("enrollment"),
                        consents::version.eq(&body.consent_version),
                        consents::given_at.eq(now),
                    ))
                    .execute(conn)
                    .await?;
                if body.electronic_service_consent_version.is_some() {
                    let source = super::service_consent::Source::Enrollment(row.id);
                    super::service_consent::record(conn, row.account_id, row.community_id, true, source, now).await?;
                }
            }
            Ok::<_, diesel::result::Error>(inserted)
        })
        .await?;
    if inserted == 0 {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "enrollment_exists",
            "An open or completed enrollment for this unit exists",
        ));
    }
    Ok(HttpResponse::Created().json(view(&row, &row.rules)))
}

/// The caller's enrollment with its factor states.
#[utoipa::path(
    tag = "enrollment",
    params(("id" = Uuid, Path, description = "enrollment id")),
    responses(
        (status = 200, body = EnrollmentView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []))
)]
#[get("/v1/enrollments/{id}")]
async fn show(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.get().await?;
    let row = store::load(&mut conn, path.into_inner(), account.0, false).await?;
    Ok(HttpResponse::Ok().json(view(&row, &row.rules)))
}

/// The face attempts this person (blind-indexed ID number) made on `day`, across all their enrollments.
async fn face_attempts_today(conn: &mut AsyncPgConnection, id_number_bidx: &str, day: chrono::NaiveDate) -> Result<u32, ApiError> {
    let today: i64 = face_attempts::table
        .filter(face_attempts::id_number_bidx.eq(id_number_bidx))
        .filter(face_attempts::attempt_day.eq(day))
        .count()
        .get_result(conn)
        .await?;
    Ok(u32::try_from(today).unwrap_or(u32::MAX))
}

/// The registry calls made for this person (blind-indexed ID number) on `day`, across all their enrollments.
async fn registry_attempts_today(conn: &mut AsyncPgConnection, id_number_bidx: &str, day: chrono::NaiveDate) -> Result<u32, ApiError> {
    let today: i64 = registry_attempts::table
        .filter(registry_attempts::id_number_bidx.eq(id_number_bidx))
        .filter(registry_attempts::attempt_day.eq(day))
        .count()
        .get_result(conn)
        .await?;
    Ok(u32::try_from(today).unwrap_or(u32::MAX))
}

#[derive(Serialize, ToSchema)]
pub struct FaceResult {
    pub passed: bool,
    /// The provider's similarity score, 0–100.
    pub score: f64,
    pub enrollment: EnrollmentView,
}

/// Reads the multipart upload: `image` (JPEG or PNG) and optionally `face_consent_version`. Bytes beyond the
/// policy's input limit are refused while streaming, before anything is buffered in full.
async fn read_face_upload(
    payload: Multipart,
    max_image: usize,
) -> Result<(Option<Vec<u8>>, Option<String>), ApiError> {
    use crate::multipart::{FieldLimit, read_fields, text_field};
    let spec = [FieldLimit { name: "image", max_bytes: max_image }, FieldLimit { name: "face_consent_version", max_bytes: 64 }];
    let mut fields = read_fields(payload, &spec, "image_too_large").await?;
    let consent = fields.remove("face_consent_version").map(text_field).transpose()?;
    Ok((fields.remove("image"), consent))
}

/// The face factor: a selfie (multipart `image`, JPEG/PNG) matched against the ID photo by the face provider.
/// The face consent (multipart `face_consent_version`) is recorded first if given. Only the provider's request id,
/// the score, the decision and the image hash are stored — never the image. Three attempts per person per day.
/// The enrollment, the consent and the attempts left are checked before the image is decoded; decoding counts
/// against the account's upload budget.
#[utoipa::path(
    tag = "enrollment",
    params(("id" = Uuid, Path, description = "enrollment id")),
    request_body(content_type = "multipart/form-data", description = "fields: image (file), face_consent_version (text, optional)"),
    responses(
        (status = 200, body = FaceResult),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json", description = "not JPEG or PNG"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "no attempts left today, or too many uploads"),
        (status = 502, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []))
)]
#[post("/v1/enrollments/{id}/face")]
async fn face(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<Uuid>,
    payload: Multipart,
) -> Result<HttpResponse, ApiError> {
    let identity = state.identity()?;
    let id = path.into_inner();
    let policy = ImagePolicy::SELFIE;
    let (image, consent) = read_face_upload(payload, policy.max_input_bytes).await?;
    let image = image.ok_or_else(|| invalid("image_missing", "The multipart field `image` is required"))?;
    let mut conn = state.db.get().await?;
    let now = Utc::now();
    let day = attempt_day(now);
    // 1. Authorise before the image is decoded (decoding is the costly part): the caller's own open enrollment,
    //    the face consent, an attempt left today. Only then the account's decode budget and a decode slot; the
    //    image is validated and normalised there, off the async threads. A refused upload costs no attempt and
    //    changes nothing.
    let row = load_for_step(&mut conn, id, account.0).await?;
    let today = face_attempts_today(&mut conn, &row.id_number_bidx, day).await?;
    row.rules
        .admits_face_upload(consent.as_deref(), &identity.face_consent_version, today, now)
        .map_err(rule_error)?;
    state.uploads.admit(&state.redis, account.0).await?;
    let normalized = state
        .uploads
        .decode(move || normalize_image(&image, &policy))
        .await?
        .map_err(|e| upload_refused(e, "The image is not acceptable"))?;


    // 2. Consent, state and the day's attempts again, then record the attempt — counted and inserted under one
    //    per-person lock, so parallel uploads cannot exceed the daily limit.
    let (row, attempt_id) = conn
        .transaction(async |conn| {
            let mut row = load_for_step(conn, id, account.0).await?;
            if let Some(version) = &consent {
                if *version != identity.face_consent_version {
                    return Err(rule_error(EnrollmentError::ConsentVersion {
                        current: identity.face_consent_version.clone(),
                    }));
                }
                if row.rules.face_consent.is_none() {
                    row.rules =
                        apply(conn, &row, EnrollmentEvent::FaceConsentGiven { version: version.clone() }).await?;
                    diesel::insert_into(consents::table)
                        .values((
                            consents::id.eq(Uuid::now_v7()),
                            consents::account_id.eq(account.0),
                            consents::enrollment_id.eq(row.id),
                            consents::kind.eq("face"),
                            consents::version.eq(version),
                        ))
                        .execute(conn)
                        .await?;
                }
            }
            // The rule must accept a face result (any result: passed or not is checked alike) before an attempt
            // is spent on the provider.
            let any_result = EnrollmentEvent::FaceChecked {
                passed: false,
                score: 0.0,
                request_id: String::new(),
                image_sha256: normalized.sha256_hex(),
            };
            row.rules.admits(&any_result, now).map_err(rule_error)?;
            diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
                .bind::<diesel::sql_types::Text, _>(&row.id_number_bidx)
                .execute(conn)
                .await?;
            check_face_attempts(face_attempts_today(conn, &row.id_number_bidx, day).await?).map_err(rule_error)?;
            let attempt_id = Uuid::now_v7();
            diesel::insert_into(face_attempts::table)
                .values((
                    face_attempts::id.eq(attempt_id),
                    face_attempts::enrollment_id.eq(row.id),
                    face_attempts::id_number_bidx.eq(&row.id_number_bidx),
                    face_attempts::attempt_day.eq(day),
                    face_attempts::passed.eq(false),
                    face_attempts::image_sha256.eq(normalized.sha256_hex()),
                ))
                .execute(conn)
                .await?;
            Ok::<_, ApiError>((row, attempt_id))
        })
        .await?;

    // 3. The provider, outside any transaction.
    let name = state.pii.decrypt(Column::EnrollmentName, &row.real_name_enc).map_err(ApiError::internal)?;
    let id_text = state.pii.decrypt(Column::EnrollmentIdNumber, &row.id_number_enc).map_err(ApiError::internal)?;
    let id_number = IdNumber::parse(&id_text).map_err(ApiError::internal)?;
    let outcome = match identity
        .face
        .verify(FaceMatchRequest { id_number: &id_number, name: &name, image: &normalized })
        .await
    {
        Ok(o) => o,
        Err(e) => {
            // The provider's failure is not the owner's attempt.
            diesel::delete(face_attempts::table.find(attempt_id)).execute(&mut conn).await?;
            tracing::warn!(code = e.code(), "face provider failed");
            return Err(ApiError::new(StatusCode::BAD_GATEWAY, e.code(), "The face provider is not available"));
        }
    };

    // 4. Record the outcome and apply it.
    let rules = conn
        .transaction(async |conn| {
            diesel::update(face_attempts::table.find(attempt_id))
                .set((
                    face_attempts::provider_request_id.eq(&outcome.request_id),
                    face_attempts::score.eq(outcome.score),
                    face_attempts::passed.eq(outcome.passed),
                ))
                .execute(conn)
                .await?;
            let row = load_for_step(conn, id, account.0).await?;
            apply(
                conn,
                &row,
                EnrollmentEvent::FaceChecked {
                    passed: outcome.passed,
                    score: outcome.score,
                    request_id: outcome.request_id.clone(),
                    image_sha256: normalized.sha256_hex(),
                },
            )
            .await
        })
        .await?;
    Ok(HttpResponse::Ok().json(FaceResult { passed: outcome.passed, score: outcome.score, enrollment: view(&row, &rules) }))
}

#[derive(Serialize, ToSchema)]
pub struct RegistryResult {
    pub confirmed: bool,
    /// The registered exclusive area the registry reported, in centi-m²; only when `confirmed` (an unconfirmed
    /// answer says nothing about the unit).
    pub registered_area_centi_m2: Option<i64>,
    pub enrollment: EnrollmentView,
}

/// The registry factor: the housing registry confirms that this person owns this unit and reports its registered
/// area; the unit's area is corrected (and audited) when it differs. Only after this enrollment's face factor
/// passed, and at most three registry calls per person per day (a call the registry fails to answer is not
/// counted).
#[utoipa::path(
    tag = "enrollment",
    params(("id" = Uuid, Path, description = "enrollment id")),
    responses(
        (status = 200, body = RegistryResult),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "face first, already passed, under manual review, or the unit was retired from the register"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "no registry attempts left today"),
        (status = 502, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []))
)]
#[post("/v1/enrollments/{id}/registry")]
async fn registry(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let identity = state.identity()?;
    let id = path.into_inner();
    let mut conn = state.db.get().await?;
    let day = attempt_day(Utc::now());
    // 1. The rule must accept an answer (this enrollment's face passed; the registry factor neither passed nor
    //    under manual review) and the person must have a registry attempt left today; the attempt is recorded —
    //    counted and inserted under one per-person lock, as face attempts are — before the registry is asked.
    let (row, attempt_id) = conn
        .transaction(async |conn| {
            let row = load_for_step(conn, id, account.0).await?;
            row.rules.admits(&EnrollmentEvent::RegistryRejected, Utc::now()).map_err(rule_error)?;
            if !crate::community::store::unit_is_active(conn, row.unit_id).await? {
                return Err(store::unit_retired());
            }
            diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
                .bind::<diesel::sql_types::Text, _>(format!("registry:{}", row.id_number_bidx))
                .execute(conn)
                .await?;
            check_registry_attempts(registry_attempts_today(conn, &row.id_number_bidx, day).await?).map_err(rule_error)?;
            let attempt_id = Uuid::now_v7();
            diesel::insert_into(registry_attempts::table)
                .values((
                    registry_attempts::id.eq(attempt_id),
                    registry_attempts::enrollment_id.eq(row.id),
                    registry_attempts::id_number_bidx.eq(&row.id_number_bidx),
                    registry_attempts::attempt_day.eq(day),
                ))
                .execute(conn)
                .await?;
            Ok::<_, ApiError>((row, attempt_id))
        })
        .await?;
    let (community_code, building_code, unit_number): (String, String, String) = units::table
        .inner_join(buildings::table)
        .inner_join(communities::table.on(communities::id.eq(units::community_id)))
        .filter(units::id.eq(row.unit_id))
        .select((communities::code, buildings::code, units::number))
        .first(&mut conn)
        .await?;
    let name = state.pii.decrypt(Column::EnrollmentName, &row.real_name_enc).map_err(ApiError::internal)?;
    let id_text = state.pii.decrypt(Column::EnrollmentIdNumber, &row.id_number_enc).map_err(ApiError::internal)?;
    let id_number = IdNumber::parse(&id_text).map_err(ApiError::internal)?;
    let answer = identity
        .registry
        .check_ownership(OwnershipQuery {
            id_number: &id_number,
            name: &name,
            community: &community_code,
            building: &building_code,
            unit: &unit_number,
        })
        .await;
    let answer = match answer {
        Ok(a) => a,
        Err(e) => {
            // The registry's failure is not the owner's attempt.
            diesel::delete(registry_attempts::table.find(attempt_id)).execute(&mut conn).await?;
            tracing::warn!(code = e.code(), "registry call failed");
            return Err(ApiError::new(StatusCode::BAD_GATEWAY, e.code(), "The housing registry is not available"));
        }
    };

    // Our register must name the same person as an owner of the unit; otherwise staff must reconcile it.
    let person = store::register_owner(&mut conn, &row.id_number_bidx, row.unit_id).await?;
    if answer.confirms_owner() && person.is_none() {
        tracing::warn!(enrollment = %row.id, "registry confirms an owner the register does not list");
    }
    let event = registry_answer_event(&answer, person.is_some());
    let confirmed = matches!(event, EnrollmentEvent::RegistryConfirmed { .. });
    let disclosed_area = disclosed_registry_area(&event);
    let rules = conn
        .transaction(async |conn| {
            diesel::update(registry_attempts::table.find(attempt_id))
                .set((registry_attempts::confirmed.eq(confirmed), registry_attempts::reference.eq(&answer.reference)))
                .execute(conn)
                .await?;
            let mut row = load_for_step(conn, id, account.0).await?;
            if confirmed {
                row.person_id = person;
                store::record_registry_answer(
                    conn,
                    row.unit_id,
                    answer.exclusive_area_centi_m2,
                    answer.area_source.as_deref(),
                    "registry",
                    serde_json::json!({ "registry_reference": answer.reference, "enrollment": row.id }),
                )
                .await?;
            }
            apply(conn, &row, event).await
        })
        .await?;
    Ok(HttpResponse::Ok().json(RegistryResult {
        confirmed,
        registered_area_centi_m2: disclosed_area,
        enrollment: view(&row, &rules),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct ReviewRequested {
    /// The manual review staff will work on.
    pub review_id: Uuid,
    pub enrollment: EnrollmentView,
}

/// Asks for a manual registry review when the registry could not confirm the owner (it did not answer, or did
/// not name this person): support staff check the property certificate, one proposes, a second one decides.
/// Allowed once this enrollment's face factor passed, while the registry factor is pending or failed.
#[utoipa::path(
    tag = "enrollment",
    params(("id" = Uuid, Path, description = "enrollment id")),
    responses(
        (status = 201, body = ReviewRequested),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "face first, already passed, or under review"),
        (status = 410, body = Problem, content_type = "application/problem+json", description = "expired"),
    ),
    security(("session" = []))
)]
#[post("/v1/enrollments/{id}/registry/review")]
async fn request_review(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let mut conn = state.db.get().await?;
    let review_id = Uuid::now_v7();
    let (row, rules) = conn
        .transaction(async |conn| {
            let row = load_for_step(conn, id, account.0).await?;
            let rules = apply(conn, &row, EnrollmentEvent::RegistryReviewRequested).await?;
            diesel::insert_into(registry_reviews::table)
                .values((
                    registry_reviews::id.eq(review_id),
                    registry_reviews::enrollment_id.eq(row.id),
                    registry_reviews::community_id.eq(row.community_id),
                    registry_reviews::account_id.eq(account.0),
                    registry_reviews::status.eq("requested"),
                ))
                .execute(conn)
                .await?;
            crate::audit::append(
                conn,
                &format!("account:{}", account.0),
                "registry_review.request",
                &format!("enrollment:{}", row.id),
                serde_json::json!({ "review": review_id, "unit": row.unit_id }),
            )
            .await?;
            Ok::<_, ApiError>((row, rules))
        })
        .await?;
    Ok(HttpResponse::Created().json(ReviewRequested { review_id, enrollment: view(&row, &rules) }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceRequest {
    /// PKCS#10 CSR (PEM) for a P-256 key generated on the device, self-signed with it.
    pub csr_pem: String,
    /// SOTER device id where available, otherwise an installation id.
    pub device_fingerprint: String,
}

#[derive(Serialize, ToSchema)]
pub struct DeviceCertificateResponse {
    pub certificate_pem: String,
    /// The device CA certificate.
    pub chain_pem: String,
    /// Certificate serial (hex): the `X-Linli-Cert` header of signed requests.
    pub serial: String,
}

/// The device factor: issues the device certificate for the CSR. Needs the face factor of this enrollment; one
/// active binding per account (a new device needs a support reset and a new face match). The first device bound
/// makes the account the person's of this enrollment's ID number; the device also serves the account's other
/// enrollments that a reset reopened.
#[utoipa::path(
    tag = "enrollment",
    params(("id" = Uuid, Path, description = "enrollment id")),
    request_body = DeviceRequest,
    responses(
        (status = 201, body = DeviceCertificateResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "face first, a device is already bound, or the account is another person's"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "bad CSR"),
    ),
    security(("session" = []))
)]
#[post("/v1/enrollments/{id}/device")]
async fn device(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<Uuid>,
    body: web::Json<DeviceRequest>,
) -> Result<HttpResponse, ApiError> {
    let identity = state.identity()?;
    let id = path.into_inner();
    let body = body.into_inner();
    let fingerprint = body.device_fingerprint.trim();
    if fingerprint.is_empty() || fingerprint.len() > linli_identity::ca::MAX_FINGERPRINT_BYTES {
        return Err(invalid("device_fingerprint_invalid", "The device fingerprint is missing or too long"));
    }
    let csr = parse_csr_pem(&body.csr_pem).map_err(|e| invalid(e.code(), "The CSR is not acceptable"))?;
    let mut conn = state.db.get().await?;
    let openid_enc: Option<String> =
        accounts::table.find(account.0).select(accounts::wx_openid_enc).first(&mut conn).await.optional()?.flatten();
    let openid = state
        .pii
        .decrypt(Column::AccountOpenid, &openid_enc.ok_or_else(ApiError::not_found)?)
        .map_err(ApiError::internal)?;
    let response = conn
        .transaction(async |conn| {
            let row = load_for_step(conn, id, account.0).await?;
            row.rules.admits(&EnrollmentEvent::DeviceBound { cert_serial: String::new() }, Utc::now()).map_err(rule_error)?;
            // Server policy on top of the rules: a device is bound only after this enrollment's face match, so a
            // new phone (after a reset or a revocation) needs the owner's face again.
            if row.rules.face != FactorStatus::Passed {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "enrollment_face_required",
                    "The face factor must pass before a device is bound",
                ));
            }
            // The first device bound makes the account this person's, for good.
            if !store::claim_account_person(conn, account.0, &row.id_number_bidx).await? {
                return Err(other_person());
            }
            let bound: bool = diesel::select(diesel::dsl::exists(
                device_certificates::table
                    .filter(device_certificates::account_id.eq(account.0))
                    .filter(device_certificates::status.eq("active")),
            ))
            .get_result(conn)
            .await?;
            if bound {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "device_already_bound",
                    "Another device is bound to this account; a support reset is needed",
                ));
            }
            let issued = identity
                .device_ca
                .issue_device_certificate(
                    &csr,
                    &DeviceCertificateRequest { account_id: account.0, device_fingerprint: fingerprint, openid: &openid },
                    &identity.openid_key,
                    Utc::now(),
                )
                .map_err(ApiError::internal)?;
            diesel::insert_into(device_certificates::table)
                .values((
                    device_certificates::serial.eq(&issued.serial_hex),
                    device_certificates::account_id.eq(account.0),
                    device_certificates::enrollment_id.eq(row.id),
                    device_certificates::public_key.eq(issued.public_key.sec1_bytes().to_vec()),
                    device_certificates::device_hash.eq(issued.device_uri.trim_start_matches("urn:linli:device:")),
                    device_certificates::wx_hash.eq(issued.wx_uri.trim_start_matches("urn:linli:wx:")),
                    device_certificates::not_before.eq(issued.not_before),
                    device_certificates::not_after.eq(issued.not_after),
                    device_certificates::status.eq("active"),
                ))
                .execute(conn)
                .await?;
            apply(conn, &row, EnrollmentEvent::DeviceBound { cert_serial: issued.serial_hex.clone() }).await?;
            store::attach_device_to_reopened(conn, account.0, row.id, &issued.serial_hex, Utc::now()).await?;
            Ok(DeviceCertificateResponse {
                certificate_pem: issued.certificate_pem,
                chain_pem: identity.device_ca.certificate_pem().to_owned(),
                serial: issued.serial_hex,
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(response))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PinRequest {
    /// Six digits.
    pub pin: String,
}

/// The PIN factor, last: a device-signed request (DESIGN §4) with a PIN that is not trivial and not the owner's
/// birth date. The account has one PIN: when it has one already (an earlier enrollment), this step checks it
/// (lockout applies) and keeps it. Completing the step makes the account the verified owner.
#[utoipa::path(
    tag = "enrollment",
    params(("id" = Uuid, Path, description = "enrollment id")),
    request_body = PinRequest,
    responses(
        (status = 200, body = EnrollmentView),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "session or signature"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "not the account's PIN"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "PIN must be last"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "PIN refused"),
        (status = 423, body = Problem, content_type = "application/problem+json", description = "PIN use locked"),
    ),
    security(("session" = []))
)]
#[post("/v1/enrollments/{id}/pin")]
async fn pin(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<Uuid>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let identity = state.identity()?;
    let id = path.into_inner();
    let mut conn = state.db.get().await?;
    let signer = verify_signed_request(&state, &conn, &req, &body, account.0).await?;
    if signer.enrollment_id != id {
        return Err(ApiError::new(StatusCode::CONFLICT, "device_not_of_enrollment", "Sign with this enrollment's device"));
    }
    let request: PinRequest = crate::error::extractors::parse_json(&body)?;
    let pin = parse_pin(&request.pin)?;
    let row = store::load(&mut conn, id, account.0, false).await?;
    // The rule decides before the hash is spent.
    row.rules.admits(&EnrollmentEvent::PinSet, Utc::now()).map_err(rule_error)?;
    let has_pin: bool =
        diesel::select(diesel::dsl::exists(pins::table.find(account.0))).get_result(&mut conn).await?;
    let rules = if has_pin {
        // A later enrollment of the account: its PIN stays, and this step proves it is known (lockout applies),
        // so nobody replaces the PIN through a new enrollment without it.
        let outcome = conn
            .transaction(async |conn| {
                let row = load_for_step(conn, id, account.0).await?;
                row.rules.admits(&EnrollmentEvent::PinSet, Utc::now()).map_err(rule_error)?;
                match check_pin_locked(conn, identity, account.0, pin).await? {
                    // Committed, so the failure counts.
                    Err(refusal) => Ok::<_, ApiError>(Err(refusal)),
                    Ok(()) => Ok(Ok(apply(conn, &row, EnrollmentEvent::PinSet).await?)),
                }
            })
            .await?;
        outcome.map_err(refused)?
    } else {
        let id_text = state.pii.decrypt(Column::EnrollmentIdNumber, &row.id_number_enc).map_err(ApiError::internal)?;
        let owner = IdNumber::parse(&id_text).ok();
        check_pin_policy(&pin, owner.as_ref())?;
        let phc = identity.hash_pin(pin).await.map_err(ApiError::internal)?;
        conn.transaction(async |conn| {
            let row = load_for_step(conn, id, account.0).await?;
            let next = apply(conn, &row, EnrollmentEvent::PinSet).await?;
            if !insert_first_pin(conn, account.0, &phc).await? {
                return Err(ApiError::new(StatusCode::CONFLICT, "pin_already_set", "A PIN was set meanwhile; send it again"));
            }
            Ok::<_, ApiError>(next)
        })
        .await?
    };
    Ok(HttpResponse::Ok().json(view(&row, &rules)))
}
