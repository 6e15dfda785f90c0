//! Opaque session tokens. Redis keeps `session:<hex sha256(token)>` → `<account id>:<session epoch>` with a sliding
//! expiry, so a Redis dump reveals no usable token, and losing Redis only logs people out (DESIGN §10).
//!
//! Every account has a session epoch (`accounts.session_epoch`, PostgreSQL is its source of truth). A session is
//! opened in the account's current epoch; a binding reset or a device revocation bumps the epoch, which ends every
//! older session of the account at its next request. Redis caches the epoch (`session_epoch:<account id>`) for a
//! minute so a request costs no database read; the cache only ever moves forward (see [`SessionStore::cache_epoch`]),
//! so a request that read the old epoch from PostgreSQL cannot write it back over a bump.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use redis::AsyncCommands;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::cache::Redis;

/// How long Redis keeps an account's epoch before it is read from PostgreSQL again.
pub const EPOCH_CACHE_TTL: Duration = Duration::from_secs(60);

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

/// What a live token stands for: the account and the session epoch the session was opened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    pub account: Uuid,
    pub epoch: i64,
}

impl Session {
    fn encode(self) -> String {
        format!("{}:{}", self.account, self.epoch)
    }

    /// Reads a stored value; one written before epochs existed (the bare account id) is of epoch 0.
    fn decode(value: &str) -> Option<Self> {
        let (account, epoch) = match value.split_once(':') {
            Some((account, epoch)) => (account, epoch.parse().ok()?),
            None => (value, 0),
        };
        Some(Self { account: Uuid::parse_str(account).ok()?, epoch })
    }

    /// Whether the session is still of the account's current epoch (not ended by a reset or revocation since).
    pub fn is_current(self, account_epoch: i64) -> bool {
        self.epoch >= account_epoch
    }
}

fn key(token: &str) -> String {
    format!("session:{}", hex::encode(Sha256::digest(token.as_bytes())))
}

fn epoch_key(account: Uuid) -> String {
    format!("session_epoch:{account}")
}

/// Sets the cached epoch only when it moves it forward (or the key is absent), refreshing its expiry.
const CACHE_EPOCH_SCRIPT: &str = "local cur = redis.call('GET', KEYS[1]) \
    if (not cur) or tonumber(cur) < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end \
    return 0";

impl SessionStore {
    pub fn new(redis: Redis, ttl: Duration) -> Self {
        Self { redis, ttl }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Opens a session of `account` in its current session epoch `epoch`.
    pub async fn create(&self, account_id: Uuid, epoch: i64) -> redis::RedisResult<SessionToken> {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let k = key(&token);
        let value = Session { account: account_id, epoch }.encode();
        crate::cache::retry_on_reconnect(|| {
            let mut redis = self.redis.clone();
            let (k, value) = (k.clone(), value.clone());
            async move { redis.set_ex::<_, _, ()>(k, value, self.ttl.as_secs()).await }
        })
        .await?;
        Ok(SessionToken(token))
    }

    /// The session of a live token, extending its expiry (sliding). Its epoch is not checked here.
    pub async fn resolve(&self, token: &str) -> redis::RedisResult<Option<Session>> {
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
        Ok(value.as_deref().and_then(Session::decode))
    }

    /// Ends one session (logout, or a session found to be of an old epoch).
    pub async fn end(&self, token: &str) -> redis::RedisResult<()> {
        let k = key(token);
        crate::cache::retry_on_reconnect(|| {
            let mut redis = self.redis.clone();
            let k = k.clone();
            async move { redis.del::<_, ()>(k).await }
        })
        .await
    }

    /// Moves a live session to `epoch`, keeping its expiry (the session that bumped the epoch stays open). A
    /// session that no longer exists is not recreated.
    pub async fn restamp(&self, token: &str, session: Session) -> redis::RedisResult<()> {
        let k = key(token);
        let value = session.encode();
        crate::cache::retry_on_reconnect(|| {
            let mut redis = self.redis.clone();
            let (k, value) = (k.clone(), value.clone());
            async move {
                redis::cmd("SET").arg(k).arg(value).arg("XX").arg("KEEPTTL").query_async::<Option<String>>(&mut redis).await
            }
        })
        .await
        .map(|_| ())
    }

    /// The cached session epoch of an account, if Redis has it.
    pub async fn cached_epoch(&self, account: Uuid) -> redis::RedisResult<Option<i64>> {
        let k = epoch_key(account);
        crate::cache::retry_on_reconnect(|| {
            let mut redis = self.redis.clone();
            let k = k.clone();
            async move { redis.get(k).await }
        })
        .await
    }

    /// Caches an account's epoch, never moving the cached value backwards.
    pub async fn cache_epoch(&self, account: Uuid, epoch: i64) -> redis::RedisResult<()> {
        let k = epoch_key(account);
        crate::cache::retry_on_reconnect(|| {
            let mut redis = self.redis.clone();
            let k = k.clone();
            async move {
                redis::cmd("EVAL")
                    .arg(CACHE_EPOCH_SCRIPT)
                    .arg(1)
                    .arg(k)
                    .arg(epoch)
                    .arg(EPOCH_CACHE_TTL.as_secs())
                    .query_async::<i64>(&mut redis)
                    .await
            }
        })
        .await
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_values_round_trip_and_old_values_are_epoch_zero() {
        let account = Uuid::now_v7();
        let s = Session { account, epoch: 7 };
        assert_eq!(Session::decode(&s.encode()), Some(s));
        assert_eq!(Session::decode(&account.to_string()), Some(Session { account, epoch: 0 }));
        assert_eq!(Session::decode("not-a-uuid:1"), None);
        assert_eq!(Session::decode(&format!("{account}:x")), None);
    }

    #[test]
    fn a_session_of_an_older_epoch_is_not_current() {
        let s = Session { account: Uuid::now_v7(), epoch: 2 };
        assert!(s.is_current(2));
        assert!(!s.is_current(3));
    }
}
