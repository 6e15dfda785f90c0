//! PINs: set (policy checked, Argon2id with pepper on blocking threads), verify with a lockout that lives in
//! PostgreSQL (five failures lock for 15 minutes, doubling after each further lock; DESIGN §4), and change.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, put, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use linli_identity::IdNumber;
use linli_identity::lockout::PinLockState;
use linli_identity::pin::{Pin, check_policy};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::CurrentAccount;
use crate::clients::identity::IdentityServices;
use crate::auth::signed::verify_signed_request;
use crate::error::{ApiError, Problem};
use crate::app::AppState;
use crate::pii::Column;
use crate::schema::{enrollments, pins};

pub fn parse_pin(text: &str) -> Result<Pin, ApiError> {
    Pin::parse(text).map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.code(), "The PIN is not acceptable"))
}

/// Refuses trivial PINs and PINs made of the owner's birth date or ID number.
pub fn check_pin_policy(pin: &Pin, owner: Option<&IdNumber>) -> Result<(), ApiError> {
    check_policy(pin, owner)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.code(), "The PIN is too easy to guess"))
}

/// Replaces the account's PIN hash and clears its lockout: only after the old PIN was verified (`PUT /v1/me/pin`).
pub async fn store_pin(conn: &mut AsyncPgConnection, account: Uuid, phc: &str) -> QueryResult<usize> {
    diesel::insert_into(pins::table)
        .values((pins::account_id.eq(account), pins::phc.eq(phc)))
        .on_conflict(pins::account_id)
        .do_update()
        .set((
            pins::phc.eq(phc),
            pins::set_at.eq(diesel::dsl::now),
            pins::consecutive_failures.eq(0),
            pins::locks_imposed.eq(0),
            pins::locked_until.eq(None::<DateTime<Utc>>),
        ))
        .execute(conn)
        .await
}

/// Stores the account's first PIN; false (and nothing written) when it has one already.
pub async fn insert_first_pin(conn: &mut AsyncPgConnection, account: Uuid, phc: &str) -> QueryResult<bool> {
    let inserted = diesel::insert_into(pins::table)
        .values((pins::account_id.eq(account), pins::phc.eq(phc)))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(inserted == 1)
}

/// Why a PIN was not accepted.
#[derive(Debug)]
pub enum Refusal {
    NoPin,
    Locked(DateTime<Utc>),
    Wrong { attempts_left: u32, locked_until: Option<DateTime<Utc>> },
}

/// Verifies an account's PIN. The row is locked for the check, so parallel guesses cannot outrun the counter;
/// failures are committed before the refusal is answered.
pub async fn verify_pin(
    conn: &mut AsyncPgConnection,
    identity: &IdentityServices,
    account: Uuid,
    pin: Pin,
) -> Result<(), ApiError> {
    conn.transaction(async |conn| check_pin_locked(conn, identity, account, pin).await).await?.map_err(refused)
}

/// The answer to a refused PIN.
pub fn refused(refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::NoPin => ApiError::new(StatusCode::CONFLICT, "pin_not_set", "No PIN has been set"),
        Refusal::Locked(until) | Refusal::Wrong { locked_until: Some(until), .. } => locked(until),
        Refusal::Wrong { attempts_left, .. } => ApiError::new(StatusCode::FORBIDDEN, "pin_incorrect", "The PIN is incorrect")
            .with_detail(format!("{attempts_left} attempts left before PIN use is locked")),
    }
}

/// Inside a transaction: locks the account's PIN row, checks the lockout and the PIN, and stores the new lockout
/// state when it changed (a correct PIN with no failures behind it writes nothing). On a refusal the caller
/// commits (so the failure counts) and answers [`refused`]; on success it may store its PIN-guarded effect in
/// the same transaction, under the row lock, and commit once.
pub async fn check_pin_locked(
    mut conn: &AsyncPgConnection,
    identity: &IdentityServices,
    account: Uuid,
    pin: Pin,
) -> Result<Result<(), Refusal>, ApiError> {
    let row: Option<(String, i32, i32, Option<DateTime<Utc>>)> = pins::table
        .find(account)
        .select((pins::phc, pins::consecutive_failures, pins::locks_imposed, pins::locked_until))
        .for_update()
        .first(&mut conn)
        .await
        .optional()?;
    let Some((phc, failures, locks, locked_until)) = row else { return Ok(Err(Refusal::NoPin)) };
    let lock = PinLockState {
        consecutive_failures: u32::try_from(failures).unwrap_or(0),
        locks_imposed: u32::try_from(locks).unwrap_or(0),
        locked_until,
    };
    let now = Utc::now();
    if let Err(locked) = lock.check(now) {
        return Ok(Err(Refusal::Locked(locked.until)));
    }
    let matches = identity
        .verify_pin(pin, phc)
        .await
        .map_err(|e| ApiError::internal(anyhow::anyhow!("PIN verification: {e}")))?;
    let (next, verdict) = if matches {
        (lock.after_success(), Ok(()))
    } else {
        let outcome = lock.after_failure(now);
        let refusal = Refusal::Wrong { attempts_left: outcome.attempts_left, locked_until: outcome.locked_until };
        (outcome.state, Err(refusal))
    };
    if next != lock {
        diesel::update(pins::table.find(account))
            .set((
                pins::consecutive_failures.eq(i32::try_from(next.consecutive_failures).unwrap_or(i32::MAX)),
                pins::locks_imposed.eq(i32::try_from(next.locks_imposed).unwrap_or(i32::MAX)),
                pins::locked_until.eq(next.locked_until),
            ))
            .execute(&mut conn)
            .await?;
    }
    Ok(verdict)
}

fn locked(until: DateTime<Utc>) -> ApiError {
    ApiError::new(StatusCode::LOCKED, "pin_locked", "PIN use is locked after too many failures")
        .with_detail(format!("locked until {}", until.to_rfc3339()))
}

/// The ID number of the account's completed enrollment, for the PIN policy.
pub async fn owner_id_number(state: &AppState, conn: &mut AsyncPgConnection, account: Uuid) -> Result<Option<IdNumber>, ApiError> {
    let enc: Option<String> = enrollments::table
        .filter(enrollments::account_id.eq(account))
        .filter(enrollments::status.eq("completed"))
        .select(enrollments::id_number_enc)
        .first(conn)
        .await
        .optional()?;
    match enc {
        None => Ok(None),
        Some(enc) => {
            let text = state.pii.decrypt(Column::EnrollmentIdNumber, &enc).map_err(ApiError::internal)?;
            Ok(IdNumber::parse(&text).ok())
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePinRequest {
    pub old_pin: String,
    pub new_pin: String,
}

/// Changes the PIN: a device-signed request carrying the old PIN (lockout applies) and a new acceptable one.
#[utoipa::path(
    tag = "identity",
    request_body = ChangePinRequest,
    responses(
        (status = 204, description = "changed"),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "session or signature"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "wrong old PIN"),
        (status = 423, body = Problem, content_type = "application/problem+json", description = "PIN use locked"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "new PIN refused"),
    ),
    security(("session" = []))
)]
#[put("/v1/me/pin")]
pub async fn change_pin(
    state: web::Data<AppState>,
    account: CurrentAccount,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let identity = state.identity()?;
    let mut conn = state.db.get().await?;
    verify_signed_request(&state, &conn, &req, &body, account.0).await?;
    let request: ChangePinRequest = crate::error::extractors::parse_json(&body)?;
    let old = parse_pin(&request.old_pin)?;
    let new = parse_pin(&request.new_pin)?;
    let owner = owner_id_number(&state, &mut conn, account.0).await?;
    check_pin_policy(&new, owner.as_ref())?;
    verify_pin(&mut conn, identity, account.0, old).await?;
    let phc = identity.hash_pin(new).await.map_err(ApiError::internal)?;
    store_pin(&mut conn, account.0, &phc).await?;
    Ok(HttpResponse::NoContent().finish())
}
