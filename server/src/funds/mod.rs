//! The maintenance fund (DESIGN §6, issue 23 items 1–2): plans the property company files and the owners vote,
//! registered on chain once passed; disbursements requested against them, approved by the committee within the
//! remaining budget, paid and reported by the bank. Every event is an entry of the community's `funds` log.

pub mod domain;
pub mod routes;
pub mod store;

/// Background work of every instance: decide the plans whose meeting is finalized (see [`store::decide_plans`]).
pub async fn follow(state: &crate::app::AppState) -> anyhow::Result<usize> {
    let mut conn = state.db.get().await?;
    Ok(store::decide_plans(&mut conn).await?)
}

/// Runs [`follow`] every `interval` (the `[logs]` checkpoint interval: a passed plan is registered on chain
/// within that time of its result's publication).
pub fn spawn_follower(state: crate::app::AppState, interval: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval.max(std::time::Duration::from_millis(100)));
        loop {
            tick.tick().await;
            if let Err(e) = follow(&state).await {
                tracing::warn!(error = %e, "deciding fund plans failed");
            }
        }
    })
}
