//! Persistence of enrollments: the rule state as JSON, every transition appended as an event, and what a
//! completed enrollment means for the rest of the system (the account becomes the verified owner of a person).

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use linli_identity::enrollment::{Enrollment, EnrollmentState, Transition};
use uuid::Uuid;

use crate::error::ApiError;
use crate::schema::{account_persons, enrollment_events, enrollments};

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
    let query = enrollments::table
        .find(id)
        .filter(enrollments::account_id.eq(account))
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

/// Expires every enrollment that sat open for 7 days (DESIGN §4); returns how many. Run periodically by
/// `linli serve`; steps on an enrollment also expire it on access.
pub async fn expire_stale(conn: &mut AsyncPgConnection) -> Result<usize, ApiError> {
    use diesel_async::AsyncConnection;
    use linli_identity::enrollment::{EXPIRY, EnrollmentEvent};
    let cutoff = chrono::Utc::now() - EXPIRY;
    let due: Vec<(Uuid, Uuid)> = enrollments::table
        .filter(enrollments::status.eq("open"))
        .filter(enrollments::created_at.le(cutoff))
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
