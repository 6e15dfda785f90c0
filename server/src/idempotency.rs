//! `Idempotency-Key` for creating money movements, ballots and work orders (DESIGN §9; IETF httpapi draft
//! semantics, as Stripe does).
//!
//! A handler calls [`begin`] before doing anything: a new key is recorded as running (committed at once); a key
//! seen before returns its stored response, or 422 when the body differs, or 409 while the first request is still
//! running. The handler then stores its effect and calls [`complete`] **in the same transaction**, so the stored
//! answer and the effect commit together. A request that died between the two leaves a running key; a retry
//! takes it over once the PostgreSQL backend that began it is gone (the request holds its connection from
//! `begin` to `complete`, so a killed process leaves no such backend), or in any case after [`STALE_AFTER`] —
//! the effect itself is protected by its own unique key (one sheet per voter, one order per bill), so re-running
//! it has no second effect.
//!
//! A handler whose effect and answer fit in one transaction uses the one-transaction mode instead
//! ([`stored_answer`], then [`record`] inside the transaction): no claim is committed ahead of the work.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use crate::error::{ApiError, PROBLEM_JSON};
use crate::pii::Pii;
use crate::schema::idempotency_keys;

pub const HEADER: &str = "Idempotency-Key";
/// How long a stored answer is kept (at least the 24 h of DESIGN §9).
pub const RETENTION: Duration = Duration::hours(48);
/// A key still running after this long belongs to a request that died; a retry may take it over.
pub const STALE_AFTER: Duration = Duration::seconds(60);

/// Who owns a key: keys of different callers never collide.
#[derive(Debug, Clone)]
pub struct Scope(String);

impl Scope {
    pub fn account(id: uuid::Uuid) -> Self {
        Self(format!("account:{id}"))
    }
    pub fn app(id: &str) -> Self {
        Self(format!("app:{id}"))
    }
}

/// A parsed key plus the fingerprint of the request it came with (keyed: see [`Pii::request_fingerprint`]; the
/// column is still called `request_sha256`).
#[derive(Debug, Clone)]
pub struct IdempotentRequest {
    pub scope: Scope,
    pub key: String,
    request_sha256: Vec<u8>,
}

/// Reads the `Idempotency-Key` header (required): 1–255 visible ASCII characters.
pub fn from_request(pii: &Pii, req: &HttpRequest, body: &[u8], scope: Scope) -> Result<IdempotentRequest, ApiError> {
    let key = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::new(StatusCode::BAD_REQUEST, "idempotency_key_missing", "An Idempotency-Key header is required")
        })?
        .trim()
        .to_owned();
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "idempotency_key_malformed",
            "The Idempotency-Key must be 1–255 visible ASCII characters",
        ));
    }
    Ok(IdempotentRequest::new(pii, scope, key, req.method().as_str(), req.uri().path(), body))
}

impl IdempotentRequest {
    /// A key (already checked, see [`from_request`]) with the keyed fingerprint of method, path and body.
    pub fn new(pii: &Pii, scope: Scope, key: String, method: &str, path: &str, body: &[u8]) -> Self {
        Self { scope, key, request_sha256: pii.request_fingerprint(method, path, body) }
    }
}

pub enum Begin {
    /// First time (or a takeover of a dead attempt): do the work, then [`complete`].
    Proceed,
    /// Seen and finished: answer exactly this.
    Replay(HttpResponse),
}

/// A finished request's stored answer, given again to a retry with the same key and request.
#[derive(Debug, Clone)]
pub struct StoredAnswer {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

impl StoredAnswer {
    pub fn into_response(self) -> HttpResponse {
        let content_type = if self.status.is_success() { "application/json" } else { PROBLEM_JSON };
        HttpResponse::build(self.status)
            .insert_header(("content-type", content_type))
            .insert_header(("idempotent-replayed", "true"))
            .body(self.body)
    }
}

pub async fn begin(conn: &mut AsyncPgConnection, request: &IdempotentRequest) -> Result<Begin, ApiError> {
    let inserted = diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::scope.eq(&request.scope.0),
            idempotency_keys::key.eq(&request.key),
            idempotency_keys::request_sha256.eq(&request.request_sha256),
            idempotency_keys::status.eq("running"),
            idempotency_keys::holder_pid.eq(backend_pid()),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    if inserted == 1 {
        return Ok(Begin::Proceed);
    }
    let created = match stored(conn, request).await? {
        Stored::Answer(answer) => return Ok(Begin::Replay(answer.into_response())),
        Stored::Running { created, holder } if Utc::now() - created < STALE_AFTER && !holder_gone(conn, holder).await? => {
            return Err(in_progress());
        }
        Stored::Running { created, .. } => created,
        Stored::Nothing => return Err(in_progress()), // purged between the insert and this read: retry
    };
    // Take over a dead attempt: restart its clock so a parallel retry sees it running.
    let taken = diesel::update(idempotency_keys::table.find((&request.scope.0, &request.key)))
        .filter(idempotency_keys::status.eq("running"))
        .filter(idempotency_keys::created_at.eq(created))
        .set((idempotency_keys::created_at.eq(diesel::dsl::now), idempotency_keys::holder_pid.eq(backend_pid())))
        .execute(conn)
        .await?;
    if taken == 1 {
        tracing::info!(scope = %request.scope.0, "idempotency key of a dead request taken over");
        Ok(Begin::Proceed)
    } else {
        Err(in_progress())
    }
}

/// What the table holds for a request's key.
enum Stored {
    Nothing,
    /// A finished request with the same fingerprint: its answer, to give again.
    Answer(StoredAnswer),
    /// A request still running (or dead: see [`holder_gone`] and [`STALE_AFTER`]).
    Running { created: chrono::DateTime<Utc>, holder: Option<i32> },
}

/// Reads the key's row; a different fingerprint under the same key is refused (422).
async fn stored(mut conn: &AsyncPgConnection, request: &IdempotentRequest) -> Result<Stored, ApiError> {
    type Row = (Vec<u8>, String, Option<i32>, Option<Vec<u8>>, chrono::DateTime<Utc>, Option<i32>);
    let row: Option<Row> = idempotency_keys::table
        .find((&request.scope.0, &request.key))
        .select((
            idempotency_keys::request_sha256,
            idempotency_keys::status,
            idempotency_keys::response_status,
            idempotency_keys::response_body,
            idempotency_keys::created_at,
            idempotency_keys::holder_pid,
        ))
        .first(&mut conn)
        .await
        .optional()?;
    let Some((sha, status, code, body, created, holder)) = row else { return Ok(Stored::Nothing) };
    if sha != request.request_sha256 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "This Idempotency-Key was used with a different request",
        ));
    }
    if status != "done" {
        return Ok(Stored::Running { created, holder });
    }
    let status = code.and_then(|c| StatusCode::from_u16(u16::try_from(c).ok()?).ok()).unwrap_or(StatusCode::OK);
    Ok(Stored::Answer(StoredAnswer { status, body: body.unwrap_or_default() }))
}

fn in_progress() -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "idempotency_in_progress", "A request with this Idempotency-Key is still being processed")
}

/// One-transaction mode, for a handler whose effect and answer commit in a single transaction (a ballot sheet):
/// [`stored_answer`] before any work, a read that writes nothing; then [`record`] as the transaction's first
/// statement, with the answer already built. A failed request commits no claim, so there is nothing to abandon
/// or take over, and a success costs one durable commit instead of the two of [`begin`] + [`complete`].
///
/// Answers the stored response of a finished request with this key, or None to go on. A key left running by
/// [`begin`] mode is refused while its holder lives and cleared once it is dead.
pub async fn stored_answer(mut conn: &AsyncPgConnection, request: &IdempotentRequest) -> Result<Option<StoredAnswer>, ApiError> {
    match stored(conn, request).await? {
        Stored::Nothing => Ok(None),
        Stored::Answer(resp) => Ok(Some(resp)),
        Stored::Running { created, holder } => {
            if Utc::now() - created < STALE_AFTER && !holder_gone(conn, holder).await? {
                return Err(in_progress());
            }
            diesel::delete(idempotency_keys::table.find((&request.scope.0, &request.key)))
                .filter(idempotency_keys::status.eq("running"))
                .filter(idempotency_keys::created_at.eq(created))
                .execute(&mut conn)
                .await?;
            Ok(None)
        }
    }
}

/// Stores the finished answer inside the effect's transaction (one-transaction mode, see [`stored_answer`]).
/// False: the key is taken — a concurrent request with it committed first (this insert waited for it); store
/// nothing else and answer with [`stored_answer`].
pub async fn record(mut conn: &AsyncPgConnection, request: &IdempotentRequest, status: StatusCode, body: &[u8]) -> QueryResult<bool> {
    let inserted = diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::scope.eq(&request.scope.0),
            idempotency_keys::key.eq(&request.key),
            idempotency_keys::request_sha256.eq(&request.request_sha256),
            idempotency_keys::status.eq("done"),
            idempotency_keys::response_status.eq(i32::from(status.as_u16())),
            idempotency_keys::response_body.eq(body),
            idempotency_keys::completed_at.eq(diesel::dsl::now),
        ))
        .on_conflict_do_nothing()
        .execute(&mut conn)
        .await?;
    Ok(inserted == 1)
}

/// Takes back a [`record`] in the same transaction, when the transaction commits something else instead of the
/// effect (a refused PIN's failure count): the client may retry with the same key.
pub async fn unrecord(mut conn: &AsyncPgConnection, request: &IdempotentRequest) -> QueryResult<()> {
    diesel::delete(idempotency_keys::table.find((&request.scope.0, &request.key))).execute(&mut conn).await?;
    Ok(())
}

/// This connection's PostgreSQL backend process id.
fn backend_pid() -> diesel::expression::SqlLiteral<diesel::sql_types::Nullable<diesel::sql_types::Integer>> {
    diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Integer>>("pg_backend_pid()")
}

/// Whether the backend that began a running key has ended (its connection closed with the process that held
/// it). Keys written before the holder was recorded only go stale by age.
async fn holder_gone(mut conn: &AsyncPgConnection, holder: Option<i32>) -> QueryResult<bool> {
    let Some(pid) = holder else { return Ok(false) };
    let alive: bool = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(
        "EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = ",
    )
    .bind::<diesel::sql_types::Integer, _>(pid)
    .sql(")"))
    .get_result(&mut conn)
    .await?;
    Ok(!alive)
}

/// Stores the answer; call inside the transaction that stores the effect.
pub async fn complete(
    conn: &mut AsyncPgConnection,
    request: &IdempotentRequest,
    status: StatusCode,
    body: &[u8],
) -> QueryResult<()> {
    diesel::update(idempotency_keys::table.find((&request.scope.0, &request.key)))
        .set((
            idempotency_keys::status.eq("done"),
            idempotency_keys::response_status.eq(i32::from(status.as_u16())),
            idempotency_keys::response_body.eq(body),
            idempotency_keys::completed_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Forgets a running key whose request failed before any effect, so the client may retry with the same key.
pub async fn abandon(conn: &mut AsyncPgConnection, request: &IdempotentRequest) -> QueryResult<()> {
    diesel::delete(idempotency_keys::table.find((&request.scope.0, &request.key)))
        .filter(idempotency_keys::status.eq("running"))
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes answers older than [`RETENTION`].
pub async fn purge(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(Utc::now() - RETENTION)))
        .execute(conn)
        .await
}
