//! Decoding an upload (an image re-encoded, a PDF inflated and scanned) is the costly part of handling it: a
//! small PNG can declare 40 Mpx and cost half a second of CPU and ~185 MiB to decode. Every upload route
//! therefore authorises first (session, role or owner, state, consent, attempts left — all from the database,
//! cheap), then asks this gate: a per-account budget of decodes in a fixed window, counted in Redis, and a few
//! decode slots shared by the process, so neither one account nor many together can exhaust memory.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::cache::Redis;
use crate::error::ApiError;

/// How long a request waits for a decode slot before it is told to come back later.
const SLOT_WAIT: Duration = Duration::from_secs(20);

#[derive(Clone, Debug)]
pub struct UploadGate {
    slots: Arc<Semaphore>,
    decodes_per_window: u32,
    window_secs: u64,
}

/// Whether one more decode fits an account's budget: `count` is the number of decodes in the current window
/// including this one.
pub fn within_budget(count: u64, decodes_per_window: u32) -> bool {
    count <= u64::from(decodes_per_window)
}

impl UploadGate {
    /// `slots` decodes may run at once (at least one); each account gets `decodes_per_window` decodes per
    /// `window_secs`.
    pub fn new(slots: usize, decodes_per_window: u32, window_secs: u64) -> Self {
        Self { slots: Arc::new(Semaphore::new(slots.max(1))), decodes_per_window, window_secs: window_secs.max(1) }
    }

    /// Counts one decode against the account's budget; beyond it a 429 saying when to retry. The counter lives in
    /// Redis (shared by every instance); when Redis cannot count, the upload is refused (503), never let through
    /// uncounted.
    pub async fn admit(&self, redis: &Redis, account: Uuid) -> Result<(), ApiError> {
        let now = chrono::Utc::now().timestamp().max(0).unsigned_abs();
        let window = now / self.window_secs;
        let key = format!("rate:upload-decode:{account}:{window}");
        let ttl = self.window_secs;
        let counted = crate::cache::retry_on_reconnect(|| {
            let mut redis = redis.clone();
            let key = key.clone();
            async move {
                let (count,): (u64,) =
                    redis::pipe().atomic().incr(&key, 1).expire(&key, ttl as i64).ignore().query_async(&mut redis).await?;
                Ok(count)
            }
        })
        .await;
        let count = counted.map_err(|e| {
            tracing::warn!(error = %e, "upload rate limit cannot be counted; refusing the upload");
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "rate_limit_unavailable", "Uploads cannot be accepted right now")
        })?;
        if within_budget(count, self.decodes_per_window) {
            Ok(())
        } else {
            let retry_after = self.window_secs - now % self.window_secs;
            Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "upload_rate_limited", "Too many uploads; try again later")
                .with_detail(format!(
                    "at most {} uploads per {} s; try again in {retry_after} s",
                    self.decodes_per_window, self.window_secs
                )))
        }
    }

    /// Runs `decode` on a blocking thread while holding one of the process's decode slots. A request that waits
    /// longer than 20 s for a slot is answered 429 (busy), so a queue of uploads holds no worker for long.
    pub async fn decode<T, F>(&self, decode: F) -> Result<T, ApiError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let slot = tokio::time::timeout(SLOT_WAIT, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "upload_busy", "Too many uploads are being processed; try again")
            })?
            .map_err(ApiError::internal)?;
        // The slot moves into the task: a request dropped mid-decode keeps it until the decode really ends.
        tokio::task::spawn_blocking(move || {
            let result = decode();
            drop(slot);
            result
        })
        .await
        .map_err(ApiError::internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn the_budget_counts_this_decode() {
        assert!(within_budget(1, 1));
        assert!(!within_budget(2, 1));
        assert!(!within_budget(1, 0));
    }

    #[tokio::test]
    async fn no_more_decodes_run_at_once_than_there_are_slots() {
        let gate = UploadGate::new(2, 100, 60);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (gate, running, most) = (gate.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    gate.decode(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(30));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        for t in tasks {
            assert!(t.await.unwrap().is_ok());
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }
}
