//! The outside parties of identity (WeChat, FaceID, the housing registry), the device CA and the PIN hasher, built
//! once from configuration. Each outside party sits behind its client or trait in `linli_identity`.

use std::sync::Arc;

use anyhow::Context;
use linli_identity::ca::DeviceCa;
use linli_identity::faceid::{FaceVerifier, TencentFaceId, TencentFaceIdConfig};
use linli_identity::pii::SecretKey;
use linli_identity::pin::{Pin, PinHasher, PinMemory};
use linli_identity::registry::{HttpsRegistryClient, RegistryClient};
use linli_identity::wechat::{WeChatClient, WeChatConfig};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

use crate::config::IdentityConfig;

pub struct IdentityServices {
    pub wechat: WeChatClient,
    pub face: Arc<dyn FaceVerifier>,
    pub registry: Arc<dyn RegistryClient>,
    pub device_ca: DeviceCa,
    pub openid_key: SecretKey,
    pub consent_version: String,
    pub face_consent_version: String,
    /// Subscribe-message template ids (`[identity.wechat.templates]`).
    pub templates: crate::config::SubscribeTemplates,
    pin_hasher: Arc<PinHasher>,
    /// Argon2id is CPU- and memory-bound: at most this many run at once, on blocking threads.
    pin_slots: Semaphore,
    /// The Argon2 working memories of the slots, kept between verifications (at most one per slot).
    pin_memories: Arc<std::sync::Mutex<Vec<PinMemory>>>,
    pin_slot_count: usize,
}

impl std::fmt::Debug for IdentityServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityServices").finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PinWorkError {
    #[error("the PIN hash task failed")]
    Join(#[from] tokio::task::JoinError),
    #[error("the PIN hasher failed: {0}")]
    Hash(String),
    #[error("the PIN slots were closed")]
    Closed,
}

impl IdentityServices {
    pub fn from_config(cfg: &IdentityConfig) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .context("building the HTTP client")?;
        let wechat = WeChatClient::new(
            http.clone(),
            WeChatConfig {
                base_url: cfg.wechat.base_url.clone(),
                appid: cfg.wechat.appid.clone(),
                secret: SecretString::from(cfg.wechat.secret.expose_secret().to_owned()),
            },
        );
        let face = TencentFaceId::new(
            http,
            TencentFaceIdConfig {
                endpoint: cfg.faceid.endpoint.clone(),
                secret_id: cfg.faceid.secret_id.clone(),
                secret_key: SecretString::from(cfg.faceid.secret_key.expose_secret().to_owned()),
                region: cfg.faceid.region.clone(),
                pass_score: cfg.faceid.pass_score,
            },
        )
        .map_err(|e| anyhow::anyhow!("FaceID client: {e}"))?;
        let read = |p: &std::path::Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
        let registry = HttpsRegistryClient::new(
            &cfg.registry.base_url,
            &read(&cfg.registry.ca_file)?,
            &read(&cfg.registry.client_cert_file)?,
            &read(&cfg.registry.client_key_file)?,
        )
        .map_err(|e| anyhow::anyhow!("registry client: {e}"))?;
        let device_ca = DeviceCa::load(&cfg.device_ca.cert_file, &cfg.device_ca.key_file)
            .map_err(|e| anyhow::anyhow!("device CA: {e}"))?;
        let openid_key =
            SecretKey::parse(cfg.openid_key.expose_secret()).map_err(|e| anyhow::anyhow!("openid_key: {e}"))?;
        let pepper =
            SecretKey::parse(cfg.pin_pepper.expose_secret()).map_err(|e| anyhow::anyhow!("pin_pepper: {e}"))?;
        let pin_hasher = PinHasher::with_params(pepper, cfg.pin_m_cost_kib, cfg.pin_t_cost)
            .map_err(|e| anyhow::anyhow!("PIN hasher: {e}"))?;
        Ok(Self {
            wechat,
            face: Arc::new(face),
            registry: Arc::new(registry),
            device_ca,
            openid_key,
            consent_version: cfg.consent_version.clone(),
            face_consent_version: cfg.face_consent_version.clone(),
            templates: cfg.wechat.templates.clone(),
            pin_hasher: Arc::new(pin_hasher),
            pin_slots: Semaphore::new(cfg.pin_concurrency.max(1)),
            pin_memories: Arc::default(),
            pin_slot_count: cfg.pin_concurrency.max(1),
        })
    }

    /// Hex HMAC of an openid: the account look-up key and the certificate's `urn:linli:wx:` value.
    pub fn openid_hash(&self, openid: &str) -> String {
        linli_identity::pii::hmac_sha256_hex(&self.openid_key, openid.as_bytes())
    }

    pub async fn hash_pin(&self, pin: Pin) -> Result<String, PinWorkError> {
        let _slot = self.pin_slots.acquire().await.map_err(|_| PinWorkError::Closed)?;
        let hasher = self.pin_hasher.clone();
        tokio::task::spawn_blocking(move || hasher.hash(&pin).map_err(|e| PinWorkError::Hash(e.to_string()))).await?
    }

    pub async fn verify_pin(&self, pin: Pin, phc: String) -> Result<bool, PinWorkError> {
        let _slot = self.pin_slots.acquire().await.map_err(|_| PinWorkError::Closed)?;
        let hasher = self.pin_hasher.clone();
        let (memories, keep) = (self.pin_memories.clone(), self.pin_slot_count);
        tokio::task::spawn_blocking(move || {
            // The lock is held only to take a memory and to give it back, never during the hash.
            let mut memory = memories.lock().ok().and_then(|mut m| m.pop()).unwrap_or_default();
            let matches = hasher.verify_in(&pin, &phc, &mut memory).map_err(|e| PinWorkError::Hash(e.to_string()));
            if let Ok(mut m) = memories.lock() {
                // A request dropped mid-hash frees its slot early, so a spare memory can appear: keep one per slot.
                if m.len() < keep {
                    m.push(memory);
                }
            }
            matches
        })
        .await?
    }
}
