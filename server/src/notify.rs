//! Messages to owners through WeChat subscribe messages, and the shared WeChat access token.
//!
//! The access token (`stable_token`) is cached in Redis for every instance and refreshed five minutes before it
//! expires; losing Redis only means fetching it again. A failed notification is logged, never fatal to the action
//! that caused it (the action is already committed).

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use linli_identity::wechat::{AccessToken, SubscribeMessage, TemplateValue, WeChatError, WeChatErrorCode};
use redis::AsyncCommands;
use secrecy::ExposeSecret;
use uuid::Uuid;

use crate::app::AppState;
use crate::pii::Column;
use crate::schema::accounts;

/// The Redis key of the cached access token: one per WeChat endpoint and appid, so processes configured for
/// different endpoints (test sandboxes sharing one Redis) never use each other's tokens.
fn token_key(identity: &crate::clients::identity::IdentityServices) -> String {
    use sha2::Digest;
    let scope = sha2::Sha256::digest(identity.wechat.token_scope().as_bytes());
    format!("wechat:stable_token:{}", hex::encode(&scope[..8]))
}
const REFRESH_EARLY_SECS: u64 = 300;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("wechat: {0}")]
    WeChat(#[from] linli_identity::wechat::WeChatError),
    #[error("identity services not configured")]
    NoIdentity,
    #[error("database: {0}")]
    Db(String),
    #[error("the account has no WeChat identity")]
    NoOpenid,
    /// Fetching the access token failed (nothing was sent).
    #[error("wechat access token: {0}")]
    Token(linli_identity::wechat::WeChatError),
}

impl NotifyError {
    fn into_token(self) -> Self {
        match self {
            Self::WeChat(e) => Self::Token(e),
            other => other,
        }
    }
}

pub async fn access_token(state: &AppState) -> Result<AccessToken, NotifyError> {
    let identity = state.identity.as_deref().ok_or(NotifyError::NoIdentity)?;
    let mut redis = state.redis.clone();
    let key = token_key(identity);
    if let Some(token) = redis.get::<_, Option<String>>(&key).await? {
        return Ok(AccessToken { token: token.into(), expires_in: 0 });
    }
    let fresh = identity.wechat.stable_token(false).await?;
    let ttl = fresh.expires_in.saturating_sub(REFRESH_EARLY_SECS);
    if ttl > 0 {
        let _: () = redis.set_ex(&key, fresh.token.expose_secret(), ttl).await?;
    }
    Ok(fresh)
}

/// The subscribe message for an account (its openid decrypted); fails without calling WeChat.
pub async fn message_for(
    state: &AppState,
    account: Uuid,
    template: &str,
    page: Option<String>,
    data: &[(&str, String)],
) -> Result<SubscribeMessage, NotifyError> {
    Ok(SubscribeMessage {
        touser: openid_of(state, account).await?,
        template_id: template.to_owned(),
        page,
        miniprogram_state: None,
        lang: Some("zh_CN".to_owned()),
        data: data
            .iter()
            .map(|(k, v)| ((*k).to_owned(), TemplateValue { value: v.clone() }))
            .collect::<BTreeMap<_, _>>(),
    })
}

/// The account's WeChat openid (decrypted; never log it).
pub async fn openid_of(state: &AppState, account: Uuid) -> Result<String, NotifyError> {
    let mut conn = state.db.get().await.map_err(|e| NotifyError::Db(e.to_string()))?;
    let enc: Option<String> = accounts::table
        .find(account)
        .select(accounts::wx_openid_enc)
        .first(&mut conn)
        .await
        .optional()
        .map_err(|e| NotifyError::Db(e.to_string()))?
        .flatten();
    state
        .pii
        .decrypt(Column::AccountOpenid, &enc.ok_or(NotifyError::NoOpenid)?)
        .map_err(|e| NotifyError::Db(e.to_string()))
}

/// Forgets the cached access token (after WeChat answered 40001/42001 for it).
pub async fn forget_token(state: &AppState) -> Result<(), NotifyError> {
    let identity = state.identity.as_deref().ok_or(NotifyError::NoIdentity)?;
    let mut redis = state.redis.clone();
    let _: () = redis.del(token_key(identity)).await?;
    Ok(())
}

/// Sends one subscribe message. Errors before the send call (token, Redis) are [`NotifyError::Token`] or
/// [`NotifyError::Redis`]: nothing reached WeChat's send API. [`NotifyError::WeChat`] is the send call's own answer.
pub async fn deliver(state: &AppState, message: &SubscribeMessage) -> Result<(), NotifyError> {
    let identity = state.identity.as_deref().ok_or(NotifyError::NoIdentity)?;
    let token = access_token(state).await.map_err(NotifyError::into_token)?;
    match identity.wechat.send_subscribe_message(&token, message).await {
        // 40001 invalid / 42001 expired: the cached token is no longer the current one (another holder refreshed
        // it, or WeChat revoked it); nothing was sent. Forget it and try once with a fresh one.
        Err(WeChatError::Api { code: WeChatErrorCode::Other(40001 | 42001), .. }) => {
            forget_token(state).await?;
            let token = access_token(state).await.map_err(NotifyError::into_token)?;
            identity.wechat.send_subscribe_message(&token, message).await?;
            Ok(())
        }
        other => Ok(other?),
    }
}

/// The configured template ids (`[identity.wechat.templates]`).
pub fn templates(state: &AppState) -> Result<&crate::config::SubscribeTemplates, NotifyError> {
    Ok(&state.identity.as_deref().ok_or(NotifyError::NoIdentity)?.templates)
}

async fn send(
    state: &AppState,
    account: Uuid,
    template: fn(&crate::config::SubscribeTemplates) -> &str,
    data: &[(&str, String)],
) -> Result<(), NotifyError> {
    let message = message_for(state, account, template(templates(state)?), None, data).await?;
    deliver(state, &message).await
}

/// Tells an owner that their device binding was reset and they must enroll the device again.
pub async fn binding_reset(state: &AppState, account: Uuid) {
    let data = [
        ("thing1", "设备绑定已重置".to_owned()),
        ("thing2", "请重新进行人脸核验并绑定设备".to_owned()),
        ("time3", chrono::Utc::now().format("%Y-%m-%d %H:%M").to_string()),
    ];
    if let Err(e) = send(state, account, |t| &t.binding_reset, &data).await {
        tracing::warn!(error = %e, %account, "binding-reset notification not sent");
    }
}

/// Tells an owner the outcome of the manual review of their property certificate.
pub async fn registry_review_decided(state: &AppState, account: Uuid, approved: bool) {
    let outcome = if approved { "产权核验已通过" } else { "产权核验未通过" };
    let next = if approved { "请继续完成其余认证步骤" } else { "如有疑问请联系物业或客服" };
    let data = [
        ("thing1", outcome.to_owned()),
        ("thing2", next.to_owned()),
        ("time3", chrono::Utc::now().format("%Y-%m-%d %H:%M").to_string()),
    ];
    if let Err(e) = send(state, account, |t| &t.registry_review, &data).await {
        tracing::warn!(error = %e, %account, "registry-review notification not sent");
    }
}

/// Tells the holder of a written proxy whether staff accepted it.
pub async fn proxy_decided(state: &AppState, holder: Uuid, unit_label: &str, approved: bool) {
    let outcome = if approved { "书面委托已通过审核" } else { "书面委托未通过审核" };
    let data = [
        ("thing1", outcome.to_owned()),
        ("thing2", format!("委托房号 {unit_label}")),
        ("time3", chrono::Utc::now().format("%Y-%m-%d %H:%M").to_string()),
    ];
    if let Err(e) = send(state, holder, |t| &t.proxy, &data).await {
        tracing::warn!(error = %e, %holder, "proxy-decision notification not sent");
    }
}

/// Tells a co-owner that the designation of their unit's voter changed, and who holds the vote now (the name
/// masked: `张*`).
pub async fn co_owner_voter(state: &AppState, account: Uuid, note: &str, unit_label: &str, holder: &str) {
    let data = [
        // "thing" values hold at most 20 characters.
        ("thing1", note.chars().take(20).collect::<String>()),
        ("thing2", format!("{unit_label} 投票人{holder}").chars().take(20).collect::<String>()),
        ("time3", chrono::Utc::now().format("%Y-%m-%d %H:%M").to_string()),
    ];
    if let Err(e) = send(state, account, |t| &t.co_owner_voter, &data).await {
        tracing::warn!(error = %e, %account, "co-owner voter notification not sent");
    }
}

/// Tells an owner who uses the app that someone now votes for their unit under a written proxy, so an
/// authorisation they never signed is noticed while it can still be withdrawn.
pub async fn proxy_approved_for_principal(state: &AppState, principal: Uuid, unit_label: &str) {
    let data = [
        // "thing" values hold at most 20 characters.
        ("thing1", "有人持书面委托代您投票".to_owned()),
        ("thing2", format!("{unit_label} 非本人委托请联系客服")),
        ("time3", chrono::Utc::now().format("%Y-%m-%d %H:%M").to_string()),
    ];
    if let Err(e) = send(state, principal, |t| &t.proxy, &data).await {
        tracing::warn!(error = %e, %principal, "proxy notice to the principal not sent");
    }
}
