//! Per-request context: a request id (taken from a well-formed `X-Request-Id` or made fresh), a tracing span that
//! carries it, the response header, and the metrics by route pattern. Only the route pattern is logged — never
//! the raw path or query, which may carry personal data. Errors that actix-web produced itself (not an
//! [`ApiError`]) are answered as problem+json too, so no error of this API is plain text.

use std::time::Instant;

use actix_web::ResponseError;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use tracing::Instrument;

use crate::error::ApiError;
use crate::metrics::Metrics;

pub const REQUEST_ID: &str = "x-request-id";

fn incoming_id(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(REQUEST_ID)?.to_str().ok()?;
    let ok = (8..=64).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    ok.then(|| value.to_owned())
}

/// `response` itself, or a problem+json answer in its place when it carries an error actix-web produced.
fn problem_for_framework_error(response: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let framework = response.response().error().filter(|e| e.as_error::<ApiError>().is_none());
    let Some(problem) = framework.map(|e| ApiError::from_framework(response.status(), e)) else {
        return response;
    };
    let (req, _) = response.into_parts();
    ServiceResponse::new(req, problem.error_response())
}

pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = incoming_id(&req).unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let route = req.match_pattern().unwrap_or_else(|| "<unmatched>".to_owned());
    let method = req.method().to_string();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let span = tracing::info_span!("request", %request_id, %method, %route);
    let started = Instant::now();
    let result = next.call(req).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let response = span.in_scope(|| match result {
        Ok(response) => Ok(problem_for_framework_error(response.map_into_boxed_body())),
        Err(e) if e.as_error::<ApiError>().is_some() => Err(e),
        Err(e) => Err(ApiError::from_framework(e.as_response_error().status_code(), &e).into()),
    });
    let mut response = response?;
    let status = response.status();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(HeaderName::from_static(REQUEST_ID), value);
    }
    if let Some(metrics) = metrics {
        metrics.http_requests.with_label_values(&[method.as_str(), route.as_str(), status.as_str()]).inc();
        metrics.http_duration.with_label_values(&[method.as_str(), route.as_str()]).observe(elapsed.as_secs_f64());
    }
    span.in_scope(|| {
        tracing::info!(status = status.as_u16(), elapsed_ms = elapsed.as_secs_f64() * 1000.0, "request finished");
    });
    Ok(response)
}
