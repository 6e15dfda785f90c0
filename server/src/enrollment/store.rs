//! Persistence of enrollments: the rule state as JSON, every transition appended as an event, and what a
//! completed enrollment means for the rest of the system (the account becomes the verified owner of a person).

use actix_web::http::StatusCode;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use linli_identity::enrollment::{Enrollment, EnrollmentState, Transition};
use uuid::Uuid;

use crate::error::ApiError;
use crate::schema::{account_persons, device_certificates, enrollment_events, enrollments, ownerships, persons};

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

/// Revokes the account's active device certificate and sends its open or completed enrollments (those of
/// `community`, or all) back to the face and device factors; the account stops being a verified owner there
/// until they pass again. Used by the support reset and by the owner's own revocation; run inside a transaction.
/// Returns the revoked serials.
pub async fn revoke_binding(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    community: Option<Uuid>,
    reason: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<String>, ApiError> {
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
    let mut ids = enrollments::table
        .filter(enrollments::account_id.eq(account))
        .filter(enrollments::status.eq_any(["open", "completed"]))
        .select(enrollments::id)
        .into_boxed();
    if let Some(community) = community {
        ids = ids.filter(enrollments::community_id.eq(community));
    }
    let ids: Vec<Uuid> = ids.load(conn).await?;
    for id in ids {
        let row = load(conn, id, account, true).await?;
        let (next, transition) = row.rules.apply(EnrollmentEvent::DeviceReset, now).map_err(|e| {
            ApiError::new(actix_web::http::StatusCode::CONFLICT, e.code(), "The enrollment cannot be reset")
        })?;
        save(conn, &row, &next, &transition).await?;
    }
    let mut verified = diesel::delete(account_persons::table).filter(account_persons::account_id.eq(account)).into_boxed();
    if let Some(community) = community {
        verified = verified.filter(account_persons::community_id.eq(community));
    }
    verified.execute(conn).await?;
    Ok(revoked)
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
