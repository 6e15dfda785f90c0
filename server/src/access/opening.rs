//! Online opening (`POST /v1/doors/{door_id}/open`): rate limit, the access rule, the attempt recorded, one
//! gateway command, the outcome recorded.

use chrono::Utc;
use uuid::Uuid;

use super::domain::residence_opening;
use super::isapi::{GatewayError, OpenOutcome};
use super::store::{self, Attempt};
use crate::app::AppState;
use crate::error::ApiError;

/// What became of an opening the rule allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    Opened { event: Uuid },
    /// The terminal answered with a `statusCode` other than 1.
    Refused { event: Uuid, status_code: i32, status_string: String },
    Timeout { event: Uuid },
    Unreachable { event: Uuid },
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Not a door the caller may open, or no door at all (answered alike: 404).
    #[error("no such door for this caller")]
    NotFound,
    #[error("too many openings")]
    RateLimited { retry_after_secs: u64 },
    #[error("the rate limit cannot be counted")]
    RateUnavailable,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for OpenError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Other(e.into())
    }
}

impl From<crate::db::PoolError> for OpenError {
    fn from(e: crate::db::PoolError) -> Self {
        Self::Other(e.into())
    }
}

/// Counts one opening against the account's budget for this minute (Redis, shared by every instance). When
/// Redis cannot count, the opening is refused rather than let through uncounted.
async fn admit(state: &AppState, account: Uuid) -> Result<(), OpenError> {
    let now = Utc::now().timestamp().max(0).unsigned_abs();
    let window = now / 60;
    let key = format!("rate:door-open:{account}:{window}");
    let counted = crate::cache::retry_on_reconnect(|| {
        let mut redis = state.redis.clone();
        let key = key.clone();
        async move {
            let (count,): (u64,) = redis::pipe().atomic().incr(&key, 1).expire(&key, 60).ignore().query_async(&mut redis).await?;
            Ok(count)
        }
    })
    .await
    .map_err(|e| {
        tracing::warn!(error = %e, "door-open rate limit cannot be counted; refusing");
        OpenError::RateUnavailable
    })?;
    if counted > u64::from(state.access.config.opens_per_minute) {
        return Err(OpenError::RateLimited { retry_after_secs: 60 - now % 60 });
    }
    Ok(())
}

/// Opens a door for a resident: never more than one command to the gateway per call, never a retry.
pub async fn open_door(state: &AppState, account: Uuid, door_id: Uuid) -> Result<Opened, OpenError> {
    admit(state, account).await?;
    let now = Utc::now();
    let mut conn = state.db.get().await?;
    let door = store::door(&mut conn, door_id).await?.ok_or(OpenError::NotFound)?;
    let homes = store::residences(&mut conn, account).await?;
    let home = residence_opening(&homes, &door.place()?, now).ok_or(OpenError::NotFound)?;
    let terminal = door.terminal(&state.pii)?;
    let event = Uuid::now_v7();
    store::record_attempt(
        &mut conn,
        &Attempt { id: event, community: door.community_id, door: door.id, door_code: door.code, account, unit: home.unit, at: now },
    )
    .await?;
    // The connection goes back to the pool during the call: a slow terminal holds no database connection.
    drop(conn);
    let result = state.access.isapi.open_door(&terminal).await;
    let (outcome, reason, status, answer) = match result {
        Ok(OpenOutcome::Opened) => ("opened", None, None, Opened::Opened { event }),
        Ok(OpenOutcome::Refused(s)) => (
            "refused",
            Some(format!("terminal statusCode {} {}", s.status_code, s.status_string)),
            Some(s.status_code),
            Opened::Refused { event, status_code: s.status_code, status_string: s.status_string },
        ),
        Err(GatewayError::Timeout) => ("failed", Some("gateway timeout".to_owned()), None, Opened::Timeout { event }),
        Err(e) => {
            tracing::warn!(door = %door.id, error = %e, "door gateway failed");
            ("failed", Some(e.to_string()), None, Opened::Unreachable { event })
        }
    };
    let mut conn = state.db.get().await?;
    store::record_outcome(&mut conn, event, outcome, reason.as_deref(), status).await?;
    Ok(answer)
}

impl From<OpenError> for ApiError {
    fn from(e: OpenError) -> Self {
        use actix_web::http::StatusCode;
        match e {
            OpenError::NotFound => ApiError::not_found(),
            OpenError::RateLimited { retry_after_secs } => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "door_open_rate_limited", "Too many openings; try again later")
                    .with_detail(format!("try again in {retry_after_secs} s"))
            }
            OpenError::RateUnavailable => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "rate_limit_unavailable", "Doors cannot be opened right now")
            }
            OpenError::Other(e) => ApiError::internal(e),
        }
    }
}
