//! Meeting notices (proof of service, DESIGN §5): a durable queue of WeChat subscribe messages, one per owner
//! account, written in the publication transaction and drained by [`run`] (every instance; rows are claimed with
//! `FOR UPDATE SKIP LOCKED`).
//!
//! At most one send per row: WeChat's send API has no idempotency key, so a row is marked `sending` (committed)
//! before the call and gets its outcome after it. A row still `sending` after [`SENDING_TIMEOUT_SECS`] belongs to a
//! process that died mid-call: it becomes `unknown`, never `pending` again. Only answers that prove nothing was
//! sent (WeChat busy or rate-limited, token trouble before the call) are retried, with backoff.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use linli_identity::wechat::WeChatError;
use uuid::Uuid;

use super::service::{consequence_of_not_voting, notice_page};
use super::tally::TallyRules;
use crate::app::AppState;
use crate::notify::{self, NotifyError};
use crate::schema::{meeting_notices, meetings};

/// Sends tried per row before it is recorded `failed`.
pub const MAX_ATTEMPTS: i32 = 5;
/// The send call times out after 10 s; a claim this old has no live owner.
pub const SENDING_TIMEOUT_SECS: i64 = 120;
const BATCH: i64 = 20;

/// What a send's result means for the row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// WeChat accepted the message (errcode 0).
    Sent,
    /// Nothing reached the user; sending again is safe.
    Retry { errcode: Option<i64>, error: String },
    /// WeChat refused (e.g. 43101: the user did not subscribe) or the account cannot be reached at all.
    Failed { errcode: Option<i64>, error: String },
    /// No readable answer: the message may have been delivered. Never re-sent.
    Unknown { error: String },
}

/// Classifies the result of [`notify::deliver`] (or of building the message).
pub fn classify(result: &Result<(), NotifyError>) -> Outcome {
    match result {
        Ok(()) => Outcome::Sent,
        Err(NotifyError::WeChat(WeChatError::Api { code, errmsg: _ })) if code.is_retryable() => {
            Outcome::Retry { errcode: Some(code.errcode()), error: format!("wechat errcode {}", code.errcode()) }
        }
        Err(NotifyError::WeChat(WeChatError::Api { code, errmsg: _ })) => {
            Outcome::Failed { errcode: Some(code.errcode()), error: format!("wechat errcode {}", code.errcode()) }
        }
        Err(NotifyError::WeChat(e @ (WeChatError::Transport(_) | WeChatError::Malformed))) => {
            Outcome::Unknown { error: e.to_string() }
        }
        Err(NotifyError::NoOpenid) => Outcome::Failed { errcode: None, error: "the account has no WeChat identity".into() },
        Err(e @ (NotifyError::Token(_) | NotifyError::Redis(_) | NotifyError::Db(_) | NotifyError::NoIdentity)) => {
            Outcome::Retry { errcode: None, error: e.to_string() }
        }
    }
}

/// Seconds before the next try after `attempts` tries: 2, 4, 8, 16 … capped at 256.
pub fn backoff_secs(attempts: i32) -> i64 {
    1i64 << attempts.clamp(1, 8)
}

#[derive(Debug, QueryableByName)]
struct Claimed {
    #[diesel(sql_type = SqlUuid)]
    meeting_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    account_id: Uuid,
    #[diesel(sql_type = Integer)]
    attempts: i32,
}

/// Formats a time for a subscribe message (`time` keywords, Asia/Shanghai = UTC+8 without DST).
fn shanghai(t: DateTime<Utc>) -> String {
    match chrono::FixedOffset::east_opt(8 * 3600) {
        Some(offset) => t.with_timezone(&offset).format("%Y-%m-%d %H:%M").to_string(),
        None => t.format("%Y-%m-%d %H:%M").to_string(),
    }
}

/// The notice's template data: `thing` keywords hold at most 20 characters. Under a silent flag the last keyword
/// states the consequence of not voting (the page it links to, with the agenda, states it in full:
/// `service::consequence_of_not_voting`).
pub fn notice_data(title: &str, starts: DateTime<Utc>, ends: DateTime<Utc>, rules: TallyRules) -> Vec<(&'static str, String)> {
    let short: String = if title.chars().count() > 20 {
        title.chars().take(19).chain(std::iter::once('…')).collect()
    } else {
        title.to_owned()
    };
    vec![
        ("thing1", short),
        ("time2", shanghai(starts)),
        ("time3", shanghai(ends)),
        ("thing4", consequence_of_not_voting(rules).map_or("业主大会表决通知，请在投票期内表决", |c| c.short).to_owned()),
    ]
}

/// The notice queue as Prometheus sees it: how much is waiting and for how long, and how sends ended.
#[derive(Clone)]
pub struct NoticeMetrics {
    pub backlog: prometheus::IntGauge,
    pub oldest_age_seconds: prometheus::IntGauge,
    pub outcomes: prometheus::IntCounterVec,
}

impl NoticeMetrics {
    pub fn register(registry: &prometheus::Registry) -> Result<Self, prometheus::Error> {
        let m = Self {
            backlog: prometheus::IntGauge::new("meeting_notices_backlog", "Meeting notices waiting to be sent or mid-send")?,
            oldest_age_seconds: prometheus::IntGauge::new(
                "meeting_notices_oldest_age_seconds",
                "Age of the oldest meeting notice waiting to be sent",
            )?,
            outcomes: prometheus::IntCounterVec::new(
                prometheus::Opts::new("meeting_notice_sends_total", "Meeting notice sends by outcome (sent, retry, failed, unknown)"),
                &["outcome"],
            )?,
        };
        registry.register(Box::new(m.backlog.clone()))?;
        registry.register(Box::new(m.oldest_age_seconds.clone()))?;
        registry.register(Box::new(m.outcomes.clone()))?;
        Ok(m)
    }

    async fn update(&self, conn: &mut diesel_async::AsyncPgConnection) -> QueryResult<()> {
        let open = meeting_notices::table.filter(meeting_notices::status.eq_any(["pending", "sending"]));
        let backlog: i64 = open.clone().count().get_result(conn).await?;
        let oldest: Option<DateTime<Utc>> = open.select(diesel::dsl::min(meeting_notices::created_at)).first(conn).await?;
        self.backlog.set(backlog);
        self.oldest_age_seconds.set(oldest.map_or(0, |t| (Utc::now() - t).num_seconds().max(0)));
        Ok(())
    }
}

/// Marks abandoned claims `unknown`; claims due rows; sends each once; records the outcome. Returns the number
/// of rows handled (0 = nothing due).
pub async fn step(state: &AppState, metrics: Option<&NoticeMetrics>) -> anyhow::Result<usize> {
    let mut conn = state.db.get().await?;
    let abandoned = diesel::update(meeting_notices::table)
        .filter(meeting_notices::status.eq("sending"))
        .filter(meeting_notices::claimed_at.lt(Utc::now() - chrono::Duration::seconds(SENDING_TIMEOUT_SECS)))
        .set((
            meeting_notices::status.eq("unknown"),
            meeting_notices::last_error.eq("the sending process stopped before recording WeChat's answer"),
        ))
        .execute(&mut conn)
        .await?;
    if abandoned > 0 {
        tracing::warn!(abandoned, "meeting notices left mid-send are recorded as unknown (not re-sent)");
    }
    let claimed: Vec<Claimed> = diesel::sql_query(
        "UPDATE meeting_notices n SET status = 'sending', attempts = n.attempts + 1, claimed_at = now() \
         FROM (SELECT meeting_id, account_id FROM meeting_notices \
               WHERE status = 'pending' AND next_attempt_at <= now() \
               ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) c \
         WHERE n.meeting_id = c.meeting_id AND n.account_id = c.account_id \
         RETURNING n.meeting_id, n.account_id, n.attempts",
    )
    .bind::<BigInt, _>(BATCH)
    .load(&mut conn)
    .await?;
    type Seen = (String, DateTime<Utc>, DateTime<Utc>, bool, bool);
    let mut meetings_seen: HashMap<Uuid, Seen> = HashMap::new();
    for c in &claimed {
        if let std::collections::hash_map::Entry::Vacant(slot) = meetings_seen.entry(c.meeting_id) {
            let m: Seen = meetings::table
                .find(c.meeting_id)
                .select((
                    meetings::title,
                    meetings::voting_starts_at,
                    meetings::voting_ends_at,
                    meetings::silent_counts_as_participating,
                    meetings::silent_follows_majority,
                ))
                .first(&mut conn)
                .await?;
            slot.insert(m);
        }
        let Some((title, starts, ends, participating, follows)) = meetings_seen.get(&c.meeting_id) else { continue };
        let rules = TallyRules { silent_counts_as_participating: *participating, silent_follows_majority: *follows };
        let data = notice_data(title, *starts, *ends, rules);
        let sent_data: serde_json::Value = data.iter().map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(v.clone()))).collect();
        let page = Some(notice_page(c.meeting_id));
        let message = match notify::templates(state) {
            Ok(t) => notify::message_for(state, c.account_id, &t.meeting_notice, page, &data).await,
            Err(e) => Err(e),
        };
        let result = match message {
            Ok(message) => notify::deliver(state, &message).await,
            Err(e) => Err(e),
        };
        let outcome = classify(&result);
        if let Some(m) = metrics {
            let label = match &outcome {
                Outcome::Sent => "sent",
                Outcome::Retry { .. } if c.attempts < MAX_ATTEMPTS => "retry",
                Outcome::Retry { .. } | Outcome::Failed { .. } => "failed",
                Outcome::Unknown { .. } => "unknown",
            };
            m.outcomes.with_label_values(&[label]).inc();
        }
        let row = meeting_notices::table.find((c.meeting_id, c.account_id));
        let now = Utc::now();
        match outcome {
            Outcome::Sent => {
                diesel::update(row)
                    .set((
                        meeting_notices::status.eq("sent"),
                        meeting_notices::sent_at.eq(now),
                        meeting_notices::errcode.eq(0i64),
                        meeting_notices::sent_data.eq(&sent_data),
                    ))
                    .execute(&mut conn)
                    .await?
            }
            Outcome::Retry { errcode, error } if c.attempts < MAX_ATTEMPTS => {
                diesel::update(row)
                    .set((
                        meeting_notices::status.eq("pending"),
                        meeting_notices::next_attempt_at.eq(now + chrono::Duration::seconds(backoff_secs(c.attempts))),
                        meeting_notices::errcode.eq(errcode),
                        meeting_notices::last_error.eq(error),
                    ))
                    .execute(&mut conn)
                    .await?
            }
            Outcome::Retry { errcode, error } | Outcome::Failed { errcode, error } => {
                diesel::update(row)
                    .set((
                        meeting_notices::status.eq("failed"),
                        meeting_notices::errcode.eq(errcode),
                        meeting_notices::last_error.eq(error),
                    ))
                    .execute(&mut conn)
                    .await?
            }
            Outcome::Unknown { error } => {
                diesel::update(row)
                    .set((meeting_notices::status.eq("unknown"), meeting_notices::last_error.eq(error)))
                    .execute(&mut conn)
                    .await?
            }
        };
    }
    if let Some(m) = metrics {
        m.update(&mut conn).await?;
    }
    Ok(claimed.len())
}

/// Drains the notice queue (spawned by `serve`): immediately while rows are due, else once a second.
pub async fn run(state: AppState) {
    let metrics = NoticeMetrics::register(state.metrics.registry())
        .map_err(|e| tracing::error!(error = %e, "meeting notice metrics not registered"))
        .ok();
    loop {
        match step(&state, metrics.as_ref()).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "meeting notice step failed"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linli_identity::wechat::WeChatErrorCode;

    fn api(code: i64) -> Result<(), NotifyError> {
        Err(NotifyError::WeChat(WeChatError::Api { code: WeChatErrorCode::from_errcode(code), errmsg: String::new() }))
    }

    #[test]
    fn only_answers_that_prove_nothing_was_sent_are_retried() {
        assert_eq!(classify(&Ok(())), Outcome::Sent);
        assert!(matches!(classify(&api(-1)), Outcome::Retry { errcode: Some(-1), .. }));
        assert!(matches!(classify(&api(45011)), Outcome::Retry { errcode: Some(45011), .. }));
        // 43101: the user refused subscribe messages; 40003: bad openid.
        assert!(matches!(classify(&api(43101)), Outcome::Failed { errcode: Some(43101), .. }));
        assert!(matches!(classify(&api(40003)), Outcome::Failed { errcode: Some(40003), .. }));
        // A timeout or an unreadable answer may hide a delivered message.
        assert!(matches!(classify(&Err(NotifyError::WeChat(WeChatError::Transport("timeout".into())))), Outcome::Unknown { .. }));
        assert!(matches!(classify(&Err(NotifyError::WeChat(WeChatError::Malformed))), Outcome::Unknown { .. }));
        // The token could not be fetched: the send call was never made.
        assert!(matches!(classify(&Err(NotifyError::Token(WeChatError::Transport("x".into())))), Outcome::Retry { errcode: None, .. }));
        assert!(matches!(classify(&Err(NotifyError::NoOpenid)), Outcome::Failed { errcode: None, .. }));
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!([1, 2, 3, 4].map(backoff_secs), [2, 4, 8, 16]);
        assert_eq!(backoff_secs(50), 256);
    }

    #[test]
    fn template_data_fits_wechat_keyword_limits() {
        let t = chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap();
        let long = "关于使用住宅专项维修资金更换三号楼两部电梯的业主大会会议";
        let d = notice_data(long, t, t, TallyRules::default());
        assert_eq!(d[0].1.chars().count(), 20);
        assert!(d[0].1.ends_with('…'));
        // 1_795_000_000 = 2026-11-18T11:06:40Z → 19:06 in Shanghai.
        assert_eq!(d[1].1, "2026-11-18 19:06");
        assert!(d.iter().all(|(_, v)| v.chars().count() <= 20));
    }

    #[test]
    fn under_a_silent_flag_the_notice_states_the_consequence_of_not_voting() {
        let t = chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap();
        let plain = notice_data("业主大会", t, t, TallyRules::default());
        assert_eq!(plain[3].1, "业主大会表决通知，请在投票期内表决");
        let participating = TallyRules { silent_counts_as_participating: true, silent_follows_majority: false };
        let d = notice_data("业主大会", t, t, participating);
        assert_eq!(d[3].1, "逾期未表决视为参与表决");
        let follows = TallyRules { silent_counts_as_participating: false, silent_follows_majority: true };
        let d = notice_data("业主大会", t, t, follows);
        assert_eq!(d[3].1, "逾期未表决视为随多数意见");
        assert!(d.iter().all(|(_, v)| v.chars().count() <= 20));
    }
}
