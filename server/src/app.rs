//! The application state: everything a handler or a job may need, built once at start-up and shared by all
//! workers. It sits below the business areas and holds only what lies below them too (pools, caches, keys and the
//! clients of outside systems), so areas import it and never the `http` module, which wires the routes on top.

use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;

use crate::cache::{self, Redis};
use crate::clients::identity::IdentityServices;
use crate::clients::wechatpay::WeChatPay;
use crate::config::Config;
use crate::db::{self, DbPool};
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::pii::Pii;
use crate::sessions::SessionStore;
use crate::upload_gate::UploadGate;

/// Everything a handler may need, built once at start-up and shared by all workers.
#[derive(Clone)]
pub struct AppState {
    pub db: DbPool,
    pub redis: Redis,
    pub sessions: SessionStore,
    pub pii: Pii,
    pub metrics: Metrics,
    /// Identity services; `None` only in tests of areas that do not need them.
    pub identity: Option<Arc<IdentityServices>>,
    /// WeChat Pay (the optional `[wechatpay]` section); `None` = payments off.
    pub wechatpay: Option<Arc<WeChatPay>>,
    /// Test-only kill points (`[fault]`); disarmed in every real deployment.
    pub faults: Arc<crate::fault::Failpoints>,
    /// Per-account budget and process-wide slots for decoding uploads (`[http] upload_decode_*`).
    pub uploads: UploadGate,
    /// Owners' meetings (`[governance]`).
    pub governance: crate::config::GovernanceConfig,
    /// Parking (`[parking]`).
    pub parking: crate::config::ParkingConfig,
    /// Door access (`[access]`): settings and the door-gateway client.
    pub access: Arc<crate::access::AccessServices>,
    /// Signs log checkpoints (`[logs]`, else the `[chain]` platform key); `None` = no checkpoints are cut.
    pub log_signer: Option<Arc<crate::logs::note::NoteSigner>>,
    /// Disclosure categories (`[disclosure]`).
    pub disclosure: Arc<crate::disclosure::DisclosureConfig>,
}

impl AppState {
    pub async fn from_config(config: &Config) -> anyhow::Result<Self> {
        use anyhow::Context;
        let db = db::pool(config.database.url.expose_secret(), config.database.pool_size)
            .context("building the PostgreSQL pool")?;
        let redis = cache::connect(config.redis.url.expose_secret()).await.context("connecting to Redis")?;
        let pii = Pii::from_config(&config.pii).context("loading the personal-data keys")?;
        let metrics = Metrics::new().context("registering metrics")?;
        let identity_cfg = config.identity.as_ref().context("the [identity] configuration section is required")?;
        let sessions = SessionStore::new(redis.clone(), Duration::from_secs(identity_cfg.session_ttl_secs));
        let identity = Some(Arc::new(IdentityServices::from_config(identity_cfg)?));
        let wechatpay = config.wechatpay.as_ref().map(WeChatPay::from_config).transpose()?.map(Arc::new);
        let faults = Arc::new(crate::fault::Failpoints::from_config(&config.fault)?);
        if let Some(point) = faults.armed_point() {
            tracing::warn!(point = point.name(), "TEST-ONLY fault injection armed: this process will SIGKILL itself");
        }
        let uploads = UploadGate::new(
            config.http.upload_decode_slots,
            config.http.upload_decodes_per_window,
            config.http.upload_decode_window_secs,
        );
        let access = Arc::new(crate::access::AccessServices::new(config.access).context("the [access] settings")?);
        let log_signer = crate::logs::signer_from_config(config)?;
        Ok(Self {
            db,
            redis,
            sessions,
            pii,
            metrics,
            identity,
            wechatpay,
            faults,
            uploads,
            governance: config.governance,
            parking: config.parking,
            access,
            log_signer,
            disclosure: Arc::new(config.disclosure.clone()),
        })
    }

    /// The identity services, or a logged 500 when this process was built without them.
    pub fn identity(&self) -> Result<&IdentityServices, ApiError> {
        self.identity.as_deref().ok_or_else(|| ApiError::internal(anyhow::anyhow!("identity services not configured")))
    }
}
