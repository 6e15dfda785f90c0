//! Opaque session tokens. Redis keeps `session:<hex sha256(token)>` → account id with a sliding expiry, so a Redis
//! dump reveals no usable token, and losing Redis only logs people out (DESIGN §10).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use redis::AsyncCommands;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::cache::Redis;
use crate::error::ApiError;
use crate::http::AppState;

#[derive(Clone)]
pub struct SessionStore {
    redis: Redis,
    ttl: Duration,
}

/// A freshly issued token. Shown to the client once; never logged.
pub struct SessionToken(pub String);

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(***)")
    }
}

fn key(token: &str) -> String {
    format!("session:{}", hex::encode(Sha256::digest(token.as_bytes())))
}

impl SessionStore {
    pub fn new(redis: Redis, ttl: Duration) -> Self {
        Self { redis, ttl }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub async fn create(&self, account_id: Uuid) -> redis::RedisResult<SessionToken> {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let k = key(&token);
        crate::cache::retry_on_reconnect(|| {
            let mut redis = self.redis.clone();
            let k = k.clone();
            async move { redis.set_ex::<_, _, ()>(k, account_id.to_string(), self.ttl.as_secs()).await }
        })
        .await?;
        Ok(SessionToken(token))
    }

    /// The account of a live session, extending its expiry (sliding).
    pub async fn resolve(&self, token: &str) -> redis::RedisResult<Option<Uuid>> {
        if token.is_empty() || token.len() > 128 {
            return Ok(None);
        }
        let k = key(token);
        let value: Option<String> = crate::cache::retry_on_reconnect(|| {
            let mut redis = self.redis.clone();
            let k = k.clone();
            async move { redis.get_ex(k, redis::Expiry::EX(self.ttl.as_secs())).await }
        })
        .await?;
        Ok(value.and_then(|v| Uuid::parse_str(&v).ok()))
    }
}

/// The account behind the request's `Authorization: Bearer <token>`; 401 `unauthenticated` otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrentAccount(pub Uuid);

impl FromRequest for CurrentAccount {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_owned());
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal(anyhow::anyhow!("application state missing")))?;
            let token = token.ok_or_else(ApiError::unauthenticated)?;
            match state.sessions.resolve(&token).await? {
                Some(account) => Ok(CurrentAccount(account)),
                None => Err(ApiError::unauthenticated()),
            }
        })
    }
}
