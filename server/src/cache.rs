//! Redis: sessions, nonces, rate-limit counters and caches. Never a source of truth — losing it logs people out
//! and nothing else (DESIGN §10).

use redis::aio::ConnectionManager;

pub type Redis = ConnectionManager;

pub async fn connect(url: &str) -> redis::RedisResult<Redis> {
    let client = redis::Client::open(url)?;
    client.get_connection_manager().await
}
