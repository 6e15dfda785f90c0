//! The `audit` stream: every row of the hash-chained `audit_log` (DESIGN §3) that concerns a community is copied, in
//! `seq` order, into that community's `audit` log. A follower rather than a hook in `audit::append`: the rows
//! written before the logs existed are covered too, and the audit path stays as it is. Audit appends are
//! serialised by their advisory lock, so a row becomes visible only after every row of a lower `seq`: a cursor on
//! `seq` never skips one.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::LogName;
use crate::schema::{audit_log, communities, enrollments, log_feeds, meeting_proxies, meetings, registry_reviews, units};

/// Rows copied per transaction.
const BATCH: i64 = 500;

/// Where a row's subject points (`kind:uuid`, or a bare meeting id as `meeting.*` actions write it).
#[derive(Debug, PartialEq, Eq)]
pub enum SubjectRef {
    Community(Uuid),
    Unit(Uuid),
    Meeting(Uuid),
    MeetingProxy(Uuid),
    Enrollment(Uuid),
    RegistryReview(Uuid),
    None,
}

/// Reads the community a row concerns from its details (`community_id` or `community`) or its subject.
pub fn subject_ref(subject: &str, details: &serde_json::Value) -> SubjectRef {
    for key in ["community_id", "community"] {
        if let Some(id) = details.get(key).and_then(|v| v.as_str()).and_then(|s| s.parse().ok()) {
            return SubjectRef::Community(id);
        }
    }
    let (kind, id) = match subject.split_once(':') {
        Some((k, id)) => (k, id),
        None => ("meeting", subject),
    };
    let Ok(id) = id.parse::<Uuid>() else { return SubjectRef::None };
    match kind {
        "community" => SubjectRef::Community(id),
        "unit" => SubjectRef::Unit(id),
        "meeting" => SubjectRef::Meeting(id),
        "meeting_proxy" => SubjectRef::MeetingProxy(id),
        "enrollment" => SubjectRef::Enrollment(id),
        "registry_review" => SubjectRef::RegistryReview(id),
        _ => SubjectRef::None,
    }
}

async fn community_of(conn: &mut AsyncPgConnection, r: SubjectRef) -> QueryResult<Option<Uuid>> {
    match r {
        SubjectRef::Community(id) => communities::table.find(id).select(communities::id).first(conn).await.optional(),
        SubjectRef::Unit(id) => units::table.find(id).select(units::community_id).first(conn).await.optional(),
        SubjectRef::Meeting(id) => meetings::table.find(id).select(meetings::community_id).first(conn).await.optional(),
        SubjectRef::MeetingProxy(id) => {
            meeting_proxies::table.find(id).select(meeting_proxies::community_id).first(conn).await.optional()
        }
        SubjectRef::Enrollment(id) => enrollments::table.find(id).select(enrollments::community_id).first(conn).await.optional(),
        SubjectRef::RegistryReview(id) => {
            registry_reviews::table.find(id).select(registry_reviews::community_id).first(conn).await.optional()
        }
        SubjectRef::None => Ok(None),
    }
}

type AuditRow = (i64, Uuid, DateTime<Utc>, String, String, String, serde_json::Value, Vec<u8>);

/// Copies the next rows; returns how many were read.
pub async fn follow(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    conn.transaction(async |conn| {
        let Some(last): Option<i64> =
            log_feeds::table.find("audit").select(log_feeds::last_seq).for_update().skip_locked().first(conn).await.optional()?
        else {
            // Another instance is copying.
            return Ok(0);
        };
        let rows: Vec<AuditRow> = audit_log::table
            .filter(audit_log::seq.gt(last))
            .order(audit_log::seq.asc())
            .limit(BATCH)
            .select((
                audit_log::seq,
                audit_log::id,
                audit_log::at,
                audit_log::actor,
                audit_log::action,
                audit_log::subject,
                audit_log::details,
                audit_log::hash,
            ))
            .load(conn)
            .await?;
        let Some(&(new_last, ..)) = rows.last() else { return Ok(0) };
        for (seq, id, at, actor, action, subject, details, hash) in &rows {
            let Some(community) = community_of(conn, subject_ref(subject, details)).await? else { continue };
            let entry = serde_json::json!({
                "seq": seq,
                "id": id,
                "at": at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                "actor": actor,
                "action": action,
                "subject": subject,
                "details": details,
                "hash": hex::encode(hash),
            });
            super::store::append(conn, community, LogName::Audit, &entry).await?;
        }
        diesel::update(log_feeds::table.find("audit")).set(log_feeds::last_seq.eq(new_last)).execute(conn).await?;
        Ok(rows.len())
    })
    .await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn subjects_and_details_name_the_community() {
        let id = Uuid::now_v7();
        let none = serde_json::json!({});
        assert_eq!(subject_ref(&format!("unit:{id}"), &none), SubjectRef::Unit(id));
        assert_eq!(subject_ref(&id.to_string(), &none), SubjectRef::Meeting(id));
        assert_eq!(subject_ref(&format!("meeting_proxy:{id}"), &none), SubjectRef::MeetingProxy(id));
        assert_eq!(subject_ref("account:x", &none), SubjectRef::None);
        let other = Uuid::now_v7();
        assert_eq!(
            subject_ref(&format!("account:{id}"), &serde_json::json!({"community": other})),
            SubjectRef::Community(other)
        );
        assert_eq!(subject_ref(&format!("org_app:{id}"), &none), SubjectRef::None);
    }
}
