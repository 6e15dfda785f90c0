//! The HTTP application: state, route registration (which is also the OpenAPI document), and the server.

pub mod health;
pub mod middleware;
pub mod multipart;
pub mod openapi;
pub mod upload_gate;

use std::time::Duration;

use actix_web::{App, HttpServer, web};
use secrecy::ExposeSecret;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::cache::{self, Redis};
use crate::config::Config;
use crate::db::{self, DbPool};
use crate::error::{ApiError, extractors};
use crate::metrics::Metrics;
use crate::pii::Pii;
use crate::auth::SessionStore;
use crate::auth::services::IdentityServices;
use std::sync::Arc;

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
    pub wechatpay: Option<Arc<crate::billing::wechatpay::WeChatPay>>,
    /// Test-only kill points (`[fault]`); disarmed in every real deployment.
    pub faults: Arc<crate::fault::Failpoints>,
    /// Per-account budget and process-wide slots for decoding uploads (`[http] upload_decode_*`).
    pub uploads: upload_gate::UploadGate,
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
        let wechatpay = config.wechatpay.as_ref().map(crate::billing::wechatpay::WeChatPay::from_config).transpose()?.map(Arc::new);
        let faults = Arc::new(crate::fault::Failpoints::from_config(&config.fault)?);
        if let Some(point) = faults.armed_point() {
            tracing::warn!(point = point.name(), "TEST-ONLY fault injection armed: this process will SIGKILL itself");
        }
        let uploads = upload_gate::UploadGate::new(
            config.http.upload_decode_slots,
            config.http.upload_decodes_per_window,
            config.http.upload_decode_window_secs,
        );
        Ok(Self { db, redis, sessions, pii, metrics, identity, wechatpay, faults, uploads })
    }

    /// The identity services, or a logged 500 when this process was built without them.
    pub fn identity(&self) -> Result<&IdentityServices, ApiError> {
        self.identity.as_deref().ok_or_else(|| ApiError::internal(anyhow::anyhow!("identity services not configured")))
    }
}

/// Registers every API route. The OpenAPI document is derived from exactly these registrations.
fn api(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    health::configure(cfg);
    crate::auth::routes::configure(cfg);
    crate::community::routes::configure(cfg);
    crate::enrollment::routes::configure(cfg);
    crate::support::routes::configure(cfg);
    crate::billing::routes::configure(cfg);
    crate::governance::routes::configure(cfg);
}

/// The OpenAPI document, without starting anything (used by `linli openapi` and the staleness test).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let (_app, doc) = App::new().into_utoipa_app().openapi(openapi::base()).configure(api).split_for_parts();
    doc
}

/// Builds the actix application around a state. Used by `serve` and by in-process tests.
pub fn app(
    state: AppState,
    json_limit: usize,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let metrics = state.metrics.clone();
    let (app, doc) = App::new()
        .into_utoipa_app()
        .openapi(openapi::base())
        .app_data(web::Data::new(state))
        .app_data(extractors::json_config(json_limit))
        .app_data(extractors::path_config())
        .app_data(extractors::query_config())
        .configure(api)
        .split_for_parts();
    app.service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", doc))
        .service(web::redirect("/docs", "/docs/"))
        .default_service(web::to(|| async { Err::<actix_web::HttpResponse, _>(ApiError::not_found()) }))
        .wrap(actix_web::middleware::from_fn(middleware::request_context))
        .app_data(web::Data::new(metrics))
}

/// Runs the API until SIGTERM/SIGINT, then lets in-flight requests finish (graceful shutdown).
pub async fn serve(config: &Config, state: AppState) -> anyhow::Result<()> {
    let json_limit = config.http.json_limit_bytes;
    let state_for_jobs = state.clone();
    let mut server = HttpServer::new(move || app(state.clone(), json_limit))
        .shutdown_timeout(config.http.shutdown_timeout_secs)
        .bind(config.http.listen)?;
    if config.http.workers > 0 {
        server = server.workers(config.http.workers);
    }
    tracing::info!(listen = %config.http.listen, "serving");
    let billing_jobs = tokio::spawn(crate::billing::reconcile::run(state_for_jobs.clone()));
    let chain_jobs = crate::chain::worker::spawn(config.chain.as_ref(), &state_for_jobs);
    let notice_jobs = tokio::spawn(crate::governance::notices::run(state_for_jobs.clone()));
    let jobs = tokio::spawn(housekeeping(state_for_jobs));
    server.run().await?;
    jobs.abort();
    notice_jobs.abort();
    if let Some(j) = chain_jobs { j.abort(); }
    billing_jobs.abort();
    tracing::info!("stopped");
    Ok(())
}

/// Every ten minutes: expire enrollments left incomplete for 7 days, forget idempotency answers past their
/// retention. Safe with several instances (row locks, idempotent deletes).
async fn housekeeping(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        let result = async {
            let mut conn = state.db.get().await?;
            crate::idempotency::purge(&mut conn).await?;
            crate::enrollment::store::expire_stale(&mut conn).await
        }
        .await;
        match result {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "stale enrollments expired"),
            Err(e) => tracing::warn!(error = %e, "enrollment expiry failed"),
        }
    }
}
