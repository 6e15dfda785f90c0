//! Redis: sessions, nonces, rate-limit counters and caches. Never a source of truth — losing it logs people out
//! and nothing else (DESIGN §10).

use redis::aio::ConnectionManager;

pub type Redis = ConnectionManager;

pub async fn connect(url: &str) -> redis::RedisResult<Redis> {
    let client = redis::Client::open(url)?;
    client.get_connection_manager().await
}

/// Runs a Redis command, once more if the connection had dropped (e.g. Redis restarted): the connection manager
/// reconnects on the first failure, so the second attempt normally succeeds and the caller sees no error.
pub async fn retry_on_reconnect<T, F, Fut>(mut command: F) -> redis::RedisResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = redis::RedisResult<T>>,
{
    match command().await {
        Err(e) if e.is_connection_dropped() || e.is_io_error() || e.is_connection_refusal() || e.is_timeout() => {
            tracing::warn!(error = %e, "Redis connection lost; retrying once");
            command().await
        }
        other => other,
    }
}

/// Claims a replay nonce for `ttl_secs` (`SET NX EX`): true the first time, false when it was seen before.
pub async fn claim_nonce(redis: &Redis, nonce_key: &str, ttl_secs: u64) -> redis::RedisResult<bool> {
    let key = format!("nonce:{nonce_key}");
    let stored = retry_on_reconnect(|| {
        let mut redis = redis.clone();
        let key = key.clone();
        async move {
            redis::cmd("SET").arg(key).arg(1).arg("NX").arg("EX").arg(ttl_secs).query_async::<Option<String>>(&mut redis).await
        }
    })
    .await?;
    Ok(stored.is_some())
}
