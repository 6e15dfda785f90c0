//! Liveness, readiness and metrics.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::app::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(healthz).service(readyz).service(metrics);
}

#[derive(Serialize, ToSchema)]
pub struct Status {
    pub status: &'static str,
}

/// The process is up (says nothing about its dependencies).
#[utoipa::path(tag = "operations", responses((status = 200, body = Status)))]
#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Status { status: "ok" })
}

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// PostgreSQL and Redis answer; 503 `not_ready` naming the failing dependency otherwise.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, body = Status),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/readyz")]
async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let not_ready = |what: &str| {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", "A dependency is not reachable")
            .with_detail(format!("{what} is not reachable"))
    };
    let db = async {
        use diesel_async::RunQueryDsl;
        let mut conn = state.db.get().await.ok()?;
        diesel::sql_query("SELECT 1").execute(&mut conn).await.ok()
    };
    if tokio::time::timeout(CHECK_TIMEOUT, db).await.ok().flatten().is_none() {
        tracing::warn!("readiness: PostgreSQL not reachable");
        return Err(not_ready("PostgreSQL"));
    }
    let mut redis = state.redis.clone();
    let ping = async move { redis::cmd("PING").query_async::<String>(&mut redis).await.ok() };
    if tokio::time::timeout(CHECK_TIMEOUT, ping).await.ok().flatten().is_none() {
        tracing::warn!("readiness: Redis not reachable");
        return Err(not_ready("Redis"));
    }
    Ok(HttpResponse::Ok().json(Status { status: "ready" }))
}

/// Prometheus text exposition: request counts and latency histograms per route.
#[utoipa::path(tag = "operations", responses((status = 200, content_type = "text/plain", body = String)))]
#[get("/metrics")]
async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let body = state.metrics.render().map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(body))
}
