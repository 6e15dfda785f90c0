//! The HTTP application, on top of every area: route registration (which is also the OpenAPI document) and the
//! server. The state it serves is [`crate::app::AppState`].

pub mod health;
pub mod middleware;
pub mod openapi;

pub use crate::app::AppState;

use std::time::Duration;

use actix_web::{App, HttpServer, web};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::config::Config;
use crate::error::{ApiError, extractors};

/// Registers every API route. The OpenAPI document is derived from exactly these registrations.
fn api(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    health::configure(cfg);
    crate::auth::routes::configure(cfg);
    crate::community::routes::configure(cfg);
    crate::enrollment::routes::configure(cfg);
    crate::support::routes::configure(cfg);
    crate::billing::routes::configure(cfg);
    crate::governance::routes::configure(cfg);
    crate::parking::vehicles::configure(cfg);
    crate::access::routes::configure(cfg);
    crate::access::pass_routes::configure(cfg);
    crate::logs::routes::configure(cfg);
    crate::funds::routes::configure(cfg);
    crate::disclosure::routes::configure(cfg);
}

/// The OpenAPI document, without starting anything (used by `linli openapi` and the staleness test).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let (_app, mut doc) = App::new().into_utoipa_app().openapi(openapi::base()).configure(api).split_for_parts();
    openapi::document_authentication_failures(&mut doc);
    openapi::document_body_failures(&mut doc);
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
    let (app, mut doc) = App::new()
        .into_utoipa_app()
        .openapi(openapi::base())
        .app_data(web::Data::new(state))
        .app_data(extractors::json_config(json_limit))
        .app_data(extractors::path_config())
        .app_data(extractors::query_config())
        .configure(api)
        .split_for_parts();
    openapi::document_authentication_failures(&mut doc);
    openapi::document_body_failures(&mut doc);
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
    let log_jobs = crate::logs::spawn_checkpointer(
        state_for_jobs.clone(),
        Duration::from_millis(config.logs.checkpoint_interval_ms),
    );
    let fund_jobs =
        crate::funds::spawn_follower(state_for_jobs.clone(), Duration::from_millis(config.logs.checkpoint_interval_ms));
    let jobs = tokio::spawn(housekeeping(state_for_jobs));
    server.run().await?;
    jobs.abort();
    notice_jobs.abort();
    if let Some(j) = chain_jobs { j.abort(); }
    if let Some(j) = log_jobs { j.abort(); }
    fund_jobs.abort();
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
            let purged = crate::access::store::purge_events(&mut conn, state.access.config.event_retention_days).await?;
            if purged > 0 {
                tracing::info!(purged, "access events past their retention forgotten");
            }
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
