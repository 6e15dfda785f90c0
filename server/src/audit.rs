//! The audit log: privileged actions appended as hash-chained rows (DESIGN §3).
//!
//! hash = SHA-256(prev_hash ‖ canonical JSON of {id, at, actor, action, subject, details}). Appends take a
//! transaction-scoped advisory lock so concurrent appenders cannot fork the chain.

use chrono::{DateTime, SubsecRound, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::schema::audit_log;

const AUDIT_LOCK_KEY: i64 = 0x4c49_4e4c_4941_5544; // "LINLIAUD"

pub fn entry_hash(
    prev_hash: &[u8],
    id: Uuid,
    at: DateTime<Utc>,
    actor: &str,
    action: &str,
    subject: &str,
    details: &serde_json::Value,
) -> Vec<u8> {
    let body = serde_json::json!({
        "id": id,
        "at": at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "actor": actor,
        "action": action,
        "subject": subject,
        "details": details,
    });
    let mut h = Sha256::new();
    h.update(prev_hash);
    h.update(canonical_json(&body).as_bytes());
    h.finalize().to_vec()
}

/// JSON with object keys sorted at every level, independent of how a map was built or stored (jsonb reorders
/// keys), so a row hashes the same when written and when re-read.
pub fn canonical_json(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let inner: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), canonical_json(v)))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(canonical_json).collect::<Vec<_>>().join(",")),
        scalar => scalar.to_string(),
    }
}

/// Appends one entry inside the caller's transaction.
pub async fn append(
    conn: &mut AsyncPgConnection,
    actor: &str,
    action: &str,
    subject: &str,
    details: serde_json::Value,
) -> QueryResult<Vec<u8>> {
    diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
        .bind::<diesel::sql_types::BigInt, _>(AUDIT_LOCK_KEY)
        .execute(conn)
        .await?;
    let prev: Option<Vec<u8>> = audit_log::table
        .select(audit_log::hash)
        .order(audit_log::seq.desc())
        .first(conn)
        .await
        .optional()?;
    let prev = prev.unwrap_or_else(|| vec![0u8; 32]);
    let id = Uuid::now_v7();
    // PostgreSQL keeps microseconds: hash what will be stored.
    let at = Utc::now().trunc_subsecs(6);
    let hash = entry_hash(&prev, id, at, actor, action, subject, &details);
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::id.eq(id),
            audit_log::at.eq(at),
            audit_log::actor.eq(actor),
            audit_log::action.eq(action),
            audit_log::subject.eq(subject),
            audit_log::details.eq(&details),
            audit_log::prev_hash.eq(&prev),
            audit_log::hash.eq(&hash),
        ))
        .execute(conn)
        .await?;
    Ok(hash)
}

/// Recomputes the whole chain; returns the sequence number of the first broken row, if any.
pub async fn verify_chain(conn: &mut AsyncPgConnection) -> QueryResult<Option<i64>> {
    #[allow(clippy::type_complexity)]
    let rows: Vec<(i64, Uuid, DateTime<Utc>, String, String, String, serde_json::Value, Vec<u8>, Vec<u8>)> =
        audit_log::table
            .select((
                audit_log::seq,
                audit_log::id,
                audit_log::at,
                audit_log::actor,
                audit_log::action,
                audit_log::subject,
                audit_log::details,
                audit_log::prev_hash,
                audit_log::hash,
            ))
            .order(audit_log::seq.asc())
            .load(conn)
            .await?;
    let mut prev = vec![0u8; 32];
    for (seq, id, at, actor, action, subject, details, prev_hash, hash) in rows {
        if prev_hash != prev || entry_hash(&prev, id, at, &actor, &action, &subject, &details) != hash {
            return Ok(Some(seq));
        }
        prev = hash;
    }
    Ok(None)
}
