//! Who is calling: the session behind a request's bearer token ([`CurrentAccount`]), checked against the account's
//! session epoch, and ending all of an account's sessions. The tokens themselves are kept by
//! [`crate::sessions::SessionStore`].

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::app::AppState;
use crate::error::ApiError;
use crate::schema::accounts;

/// The account's current session epoch (Redis cache, else PostgreSQL); `None` when the account does not exist.
pub async fn current_epoch(state: &AppState, account: Uuid) -> Result<Option<i64>, ApiError> {
    if let Some(epoch) = state.sessions.cached_epoch(account).await? {
        return Ok(Some(epoch));
    }
    let mut conn = state.db.get().await?;
    let epoch: Option<i64> =
        accounts::table.find(account).select(accounts::session_epoch).first(&mut conn).await.optional()?;
    if let Some(epoch) = epoch {
        state.sessions.cache_epoch(account, epoch).await?;
    }
    Ok(epoch)
}

/// Ends every session of the account: bumps its epoch in PostgreSQL and tells the Redis cache. Run inside the
/// transaction of the reset or revocation, as its last step: the cache learns the new epoch before the commit, so
/// no request between commit and cache update is let through with an old session (if the commit then fails, the
/// account's sessions are refused until the cache entry expires — a log-out, nothing else). Returns the new epoch.
pub async fn end_all_sessions(state: &AppState, conn: &mut AsyncPgConnection, account: Uuid) -> Result<i64, ApiError> {
    let epoch: i64 = diesel::update(accounts::table.find(account))
        .set(accounts::session_epoch.eq(accounts::session_epoch + 1))
        .returning(accounts::session_epoch)
        .get_result(conn)
        .await?;
    state.sessions.cache_epoch(account, epoch).await?;
    Ok(epoch)
}

/// The bearer token of a request, if it carries one.
pub fn bearer_token(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned())
}

/// The account behind the request's `Authorization: Bearer <token>`, when the session is live and of the account's
/// current epoch; 401 `unauthenticated` otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrentAccount(pub Uuid);

impl FromRequest for CurrentAccount {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal(anyhow::anyhow!("application state missing")))?;
            let token = token.ok_or_else(ApiError::unauthenticated)?;
            let session = state.sessions.resolve(&token).await?.ok_or_else(ApiError::unauthenticated)?;
            match current_epoch(&state, session.account).await? {
                Some(epoch) if session.is_current(epoch) => Ok(CurrentAccount(session.account)),
                _ => {
                    // Ended by a reset or revocation (or its account is gone): it never becomes valid again.
                    state.sessions.end(&token).await?;
                    Err(ApiError::unauthenticated())
                }
            }
        })
    }
}
