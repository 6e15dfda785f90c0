//! Persistence of enrollments: the rule state as JSON, every transition appended as an event, and what a
//! completed enrollment means for the rest of the system (the account becomes the verified owner of a person).

use actix_web::http::StatusCode;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use linli_identity::enrollment::{Enrollment, EnrollmentState, Transition};
use uuid::Uuid;

use crate::error::ApiError;
use crate::schema::{account_persons, accounts, device_certificates, enrollment_events, enrollments, ownerships, persons};

#[derive(Debug, Clone)]
pub struct EnrollmentRow {
    pub id: Uuid,
    pub account_id: Uuid,
    pub community_id: Uuid,
    pub unit_id: Uuid,
    pub real_name_enc: String,
    pub id_number_enc: String,
    pub id_number_bidx: String,
    pub person_id: Option<Uuid>,
    pub rules: Enrollment,
}

pub fn status_text(state: EnrollmentState) -> &'static str {
    match state {
        EnrollmentState::Open => "open",
        EnrollmentState::Completed => "completed",
        EnrollmentState::Expired => "expired",
        EnrollmentState::Cancelled => "cancelled",
    }
}

type Row = (Uuid, Uuid, Uuid, Uuid, String, String, String, Option<Uuid>, serde_json::Value);

fn from_row(row: Row) -> Result<EnrollmentRow, ApiError> {
    let (id, account_id, community_id, unit_id, real_name_enc, id_number_enc, id_number_bidx, person_id, state) = row;
    let rules: Enrollment = serde_json::from_value(state).map_err(ApiError::internal)?;
    Ok(EnrollmentRow { id, account_id, community_id, unit_id, real_name_enc, id_number_enc, id_number_bidx, person_id, rules })
}

/// The caller's enrollment (locked for update when `lock`); another account's is "not found".
pub async fn load(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    account: Uuid,
    lock: bool,
) -> Result<EnrollmentRow, ApiError> {
    load_where(conn, id, Some(account), lock).await
}

/// Any account's enrollment, for staff acting on it (the caller has checked the staff role for its community).
pub async fn load_for_staff(conn: &mut AsyncPgConnection, id: Uuid, lock: bool) -> Result<EnrollmentRow, ApiError> {
    load_where(conn, id, None, lock).await
}

async fn load_where(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    account: Option<Uuid>,
    lock: bool,
) -> Result<EnrollmentRow, ApiError> {
    let query = enrollments::table
        .find(id)
        .select((
            enrollments::id,
            enrollments::account_id,
            enrollments::community_id,
            enrollments::unit_id,
            enrollments::real_name_enc,
            enrollments::id_number_enc,
            enrollments::id_number_bidx,
            enrollments::person_id,
            enrollments::state,
        ));
    let row: Option<Row> =
        if lock { query.for_update().first(conn).await.optional()? } else { query.first(conn).await.optional()? };
    // Another account's enrollment is "not found", exactly as one that does not exist.
    let row = row.filter(|r| account.is_none_or(|a| r.1 == a));
    from_row(row.ok_or_else(ApiError::not_found)?)
}

/// Stores a transition: the new rule state, the event, and — when the enrollment just completed — the link that
/// makes the account the verified owner of the register person.
pub async fn save(
    conn: &mut AsyncPgConnection,
    row: &EnrollmentRow,
    next: &Enrollment,
    transition: &Transition,
) -> Result<(), ApiError> {
    let state = serde_json::to_value(next).map_err(ApiError::internal)?;
    let event = serde_json::to_value(&transition.event).map_err(ApiError::internal)?;
    diesel::update(enrollments::table.find(row.id))
        .set((
            enrollments::state.eq(state),
            enrollments::status.eq(status_text(next.state)),
            enrollments::person_id.eq(row.person_id),
            enrollments::updated_at.eq(transition.at),
        ))
        .execute(conn)
        .await?;
    diesel::insert_into(enrollment_events::table)
        .values((
            enrollment_events::enrollment_id.eq(row.id),
            enrollment_events::at.eq(transition.at),
            enrollment_events::from_status.eq(status_text(transition.from)),
            enrollment_events::to_status.eq(status_text(transition.to)),
            enrollment_events::event.eq(event),
        ))
        .execute(conn)
        .await?;
    if transition.to == EnrollmentState::Completed && transition.from != EnrollmentState::Completed {
        let person = row
            .person_id
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("completed enrollment without a register person")))?;
        diesel::insert_into(account_persons::table)
            .values((
                account_persons::account_id.eq(row.account_id),
                account_persons::person_id.eq(person),
                account_persons::community_id.eq(row.community_id),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// The register person with this blind-indexed ID number who owns the unit, if our register lists one.
pub async fn register_owner(conn: &mut AsyncPgConnection, id_number_bidx: &str, unit: Uuid) -> Result<Option<Uuid>, ApiError> {
    Ok(persons::table
        .inner_join(ownerships::table)
        .filter(persons::id_number_bidx.eq(id_number_bidx))
        .filter(ownerships::unit_id.eq(unit))
        .select(persons::id)
        .first(conn)
        .await
        .optional()?)
}

/// After a manual registry review approved the owner: records the area staff read on the certificate as the
/// registry's (the property certificate is the register's word). See [`record_registry_answer`].
pub async fn correct_unit_area(
    conn: &mut AsyncPgConnection,
    unit: Uuid,
    registered_centi_m2: Option<i64>,
    actor: &str,
    details: serde_json::Value,
) -> Result<(), ApiError> {
    record_registry_answer(conn, unit, registered_centi_m2, None, actor, details).await
}

/// The answer for a unit that was retired from the register (an import no longer lists it).
pub fn unit_retired() -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "unit_retired", "The unit is no longer in the register")
}

/// After the registry factor passed: records the registry's area with its own `area_source` as given, and the
/// counted area derived again by precedence (`community::reconcile`), with an audit entry by `actor`
/// (`unit.area.corrected` when the counted area or source changed, else `unit.registry_area.recorded`). A
/// retired unit is refused. Run inside the transaction that applies the event.
pub async fn record_registry_answer(
    conn: &mut AsyncPgConnection,
    unit: Uuid,
    registered_centi_m2: Option<i64>,
    given_source: Option<&str>,
    actor: &str,
    details: serde_json::Value,
) -> Result<(), ApiError> {
    use crate::community::store::{RegistryAreaOutcome, record_registry_area};
    let outcome = record_registry_area(conn, unit, registered_centi_m2, given_source).await.map_err(ApiError::internal)?;
    let RegistryAreaOutcome::Recorded { from, to } = outcome else {
        return match outcome {
            RegistryAreaOutcome::Retired => Err(unit_retired()),
            _ => Ok(()),
        };
    };
    let mut details = details;
    if let Some(map) = details.as_object_mut() {
        map.insert("from_centi_m2".into(), from.0.get().into());
        map.insert("from_area_source".into(), from.1.as_str().into());
        map.insert("to_centi_m2".into(), to.0.get().into());
        map.insert("to_area_source".into(), to.1.as_str().into());
        map.insert("registry_centi_m2".into(), registered_centi_m2.into());
        map.insert("registry_area_source".into(), given_source.into());
    }
    let action = if from == to { "unit.registry_area.recorded" } else { "unit.area.corrected" };
    crate::audit::append(conn, actor, action, &format!("unit:{unit}"), details).await?;
    Ok(())
}

/// What a revocation did: the serials it revoked and the account's new session epoch.
#[derive(Debug)]
pub struct Revocation {
    pub revoked: Vec<String>,
    pub session_epoch: i64,
}

/// Revokes the account's active device certificate, sends every open or completed enrollment of the account — in
/// every community, since the certificate is account-wide and served them all — back to the face and device
/// factors, unlinks the account from every register person (it stops being a verified owner anywhere until an
/// enrollment passes again), and ends every session of the account. Used by the support reset and by the owner's own
/// revocation; run inside a transaction. The enrollments keep their PIN factor; the next device bound through any
/// of them serves the others too ([`attach_device_to_reopened`]), and each completes again after its own new face
/// match.
pub async fn revoke_binding(
    state: &crate::app::AppState,
    conn: &mut AsyncPgConnection,
    account: Uuid,
    reason: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Revocation, ApiError> {
    use linli_identity::enrollment::EnrollmentEvent;
    let revoked: Vec<String> = diesel::update(
        device_certificates::table
            .filter(device_certificates::account_id.eq(account))
            .filter(device_certificates::status.eq("active")),
    )
    .set((
        device_certificates::status.eq("revoked"),
        device_certificates::revoked_at.eq(now),
        device_certificates::revoke_reason.eq(reason),
    ))
    .returning(device_certificates::serial)
    .get_results(conn)
    .await?;
    let ids: Vec<Uuid> = enrollments::table
        .filter(enrollments::account_id.eq(account))
        .filter(enrollments::status.eq_any(["open", "completed"]))
        .select(enrollments::id)
        .order(enrollments::id)
        .load(conn)
        .await?;
    for id in ids {
        let row = load(conn, id, account, true).await?;
        let (next, transition) = row.rules.apply(EnrollmentEvent::DeviceReset, now).map_err(|e| {
            ApiError::new(actix_web::http::StatusCode::CONFLICT, e.code(), "The enrollment cannot be reset")
        })?;
        save(conn, &row, &next, &transition).await?;
    }
    diesel::delete(account_persons::table.filter(account_persons::account_id.eq(account))).execute(conn).await?;
    let session_epoch = crate::auth::session::end_all_sessions(state, conn, account).await?;
    Ok(Revocation { revoked, session_epoch })
}

/// After a device certificate was issued through one enrollment: every other open enrollment of the account that
/// a reset reopened (its PIN passed, its device factor pending) counts the new device as its device factor, so the
/// owner need not (and, with one active binding per account, could not) bind a device per enrollment. Each of them
/// still needs its own new face match to complete. An enrollment due to expire is left as it is. Run inside the
/// transaction that binds the device.
pub async fn attach_device_to_reopened(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    bound_through: Uuid,
    serial: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), ApiError> {
    use diesel::dsl::sql;
    use diesel::sql_types::Bool;
    use linli_identity::enrollment::{EnrollmentEvent, FactorStatus};
    let ids: Vec<Uuid> = enrollments::table
        .filter(enrollments::account_id.eq(account))
        .filter(enrollments::status.eq("open"))
        .filter(enrollments::id.ne(bound_through))
        .filter(sql::<Bool>("state->>'pin' = 'passed' AND state->>'device' <> 'passed'"))
        .select(enrollments::id)
        .order(enrollments::id)
        .load(conn)
        .await?;
    for id in ids {
        let row = load(conn, id, account, true).await?;
        if row.rules.pin != FactorStatus::Passed || row.rules.device == FactorStatus::Passed {
            continue;
        }
        // Refused only when the enrollment is due to expire: it is not attached, and expires.
        if let Ok((next, transition)) = row.rules.apply(EnrollmentEvent::DeviceBound { cert_serial: serial.to_owned() }, now) {
            save(conn, &row, &next, &transition).await?;
        }
    }
    Ok(())
}

/// The person an account belongs to: the blind index of the ID number its first device was bound for.
pub async fn account_person(conn: &mut AsyncPgConnection, account: Uuid) -> Result<Option<String>, ApiError> {
    Ok(accounts::table
        .find(account)
        .select(accounts::person_id_number_bidx)
        .first::<Option<String>>(conn)
        .await
        .optional()?
        .flatten())
}

/// Makes `id_number_bidx` the account's person unless it already belongs to another one (set once, under the
/// account row's lock). True when the account is (now) this person's.
pub async fn claim_account_person(conn: &mut AsyncPgConnection, account: Uuid, id_number_bidx: &str) -> Result<bool, ApiError> {
    let current: Option<String> =
        accounts::table.find(account).select(accounts::person_id_number_bidx).for_update().first(conn).await?;
    match current {
        Some(person) => Ok(person == id_number_bidx),
        None => {
            diesel::update(accounts::table.find(account))
                .set(accounts::person_id_number_bidx.eq(id_number_bidx))
                .execute(conn)
                .await?;
            Ok(true)
        }
    }
}

/// The account's active device certificate if it serves `community`: some enrollment of the account there (open
/// or completed) counts it as its device factor. Locks the certificate row when `lock`.
pub async fn binding_serving(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    community: Uuid,
    lock: bool,
) -> Result<Option<String>, ApiError> {
    use diesel::dsl::sql;
    use diesel::sql_types::Bool;
    let served: bool = diesel::select(diesel::dsl::exists(
        enrollments::table
            .filter(enrollments::account_id.eq(account))
            .filter(enrollments::community_id.eq(community))
            .filter(enrollments::status.eq_any(["open", "completed"]))
            .filter(sql::<Bool>("state->>'device' = 'passed'")),
    ))
    .get_result(conn)
    .await?;
    if !served {
        return Ok(None);
    }
    let active = device_certificates::table
        .filter(device_certificates::account_id.eq(account))
        .filter(device_certificates::status.eq("active"))
        .select(device_certificates::serial);
    Ok(if lock { active.for_update().first(conn).await.optional()? } else { active.first(conn).await.optional()? })
}

/// Expires every enrollment that sat open for 7 days (DESIGN §4); returns how many. Run periodically by
/// `linli serve`; steps on an enrollment also expire it on access.
pub async fn expire_stale(conn: &mut AsyncPgConnection) -> Result<usize, ApiError> {
    use diesel::dsl::sql;
    use diesel::sql_types::{Bool, Timestamptz};
    use diesel_async::AsyncConnection;
    use linli_identity::enrollment::{EXPIRY, EnrollmentEvent};
    let cutoff = chrono::Utc::now() - EXPIRY;
    // The rule's own clock (`Enrollment::is_due_to_expire`) in SQL, so enrollments waiting for a manual review or
    // reopened by a reset are not candidates that fill every batch without ever expiring.
    let due: Vec<(Uuid, Uuid)> = enrollments::table
        .filter(enrollments::status.eq("open"))
        .filter(sql::<Bool>("state->>'registry' IS DISTINCT FROM 'under_review'"))
        .filter(
            sql::<Bool>("GREATEST(created_at, (state->>'reopened_at')::timestamptz, (state->>'review_ended_at')::timestamptz) <= ")
                .bind::<Timestamptz, _>(cutoff),
        )
        .select((enrollments::id, enrollments::account_id))
        .limit(500)
        .load(conn)
        .await?;
    let mut expired = 0;
    for (id, account) in due {
        expired += conn
            .transaction(async |conn| {
                let row = load(conn, id, account, true).await?;
                match row.rules.apply(EnrollmentEvent::Expire, chrono::Utc::now()) {
                    Ok((next, transition)) => {
                        save(conn, &row, &next, &transition).await?;
                        Ok::<_, ApiError>(1)
                    }
                    // Re-opened by a reset since the query, or already expired: nothing to do.
                    Err(_) => Ok(0),
                }
            })
            .await?;
    }
    Ok(expired)
}
