//! The error policy at the HTTP edge.
//!
//! Inside the crate each area has its own specific error enum. At the edge every failure becomes an [`ApiError`]:
//! a known refusal is a 4xx RFC 9457 `application/problem+json` with a stable snake_case `code`; anything else is
//! [`ApiError::Internal`], whose cause chain is logged (with the request id) and which answers a generic 500 that
//! carries no internal text. Nothing defaults to 400.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// RFC 9457 problem details, as every error response of this API is shaped.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type: `urn:linli:problem:<code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// Short human summary of the problem type.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// Stable machine-readable code (snake_case); clients branch on this.
    pub code: String,
    /// Human explanation of this occurrence (never internal details).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A refusal the client can act on.
    #[error("{code}: {title}")]
    Known { status: StatusCode, code: &'static str, title: &'static str, detail: Option<String> },
    /// Anything unexpected. Logged with its cause chain; the client sees only a generic 500.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, title: &'static str) -> Self {
        Self::Known { status, code, title, detail: None }
    }

    pub fn with_detail(self, detail: impl Into<String>) -> Self {
        match self {
            Self::Known { status, code, title, .. } => Self::Known { status, code, title, detail: Some(detail.into()) },
            internal => internal,
        }
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "The resource does not exist")
    }

    pub fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", "A valid session is required")
    }

    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self::Internal(error.into())
    }

    /// The problem for an error actix-web itself produced (an extractor without our error handler, such as the
    /// 256 KiB limit of a `Bytes` body, or a failure reading the payload), which would otherwise answer plain
    /// text: a stable code by status; a 5xx stays a generic logged 500.
    pub fn from_framework(status: StatusCode, cause: &actix_web::Error) -> Self {
        let known = |code, title| Self::new(status, code, title);
        match status.as_u16() {
            400 => known("unreadable_body", "The request body could not be read"),
            404 => Self::not_found(),
            405 => known("method_not_allowed", "The method is not allowed here"),
            408 => known("request_timeout", "The request body did not arrive in time"),
            411 => known("length_required", "The request needs a Content-Length"),
            413 => known("payload_too_large", "The request body is too large"),
            415 => known("unsupported_media_type", "The request body has an unsupported media type"),
            401..=499 => known("request_refused", "The request was refused"),
            _ => Self::internal(anyhow::anyhow!("framework error {status}: {cause}")),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Known { code, .. } => code,
            Self::Internal(_) => "internal_error",
        }
    }

    fn problem(&self) -> Problem {
        match self {
            Self::Known { status, code, title, detail } => Problem {
                type_uri: format!("urn:linli:problem:{code}"),
                title: (*title).to_owned(),
                status: status.as_u16(),
                code: (*code).to_owned(),
                detail: detail.clone(),
            },
            Self::Internal(_) => Problem {
                type_uri: "urn:linli:problem:internal_error".to_owned(),
                title: "Internal server error".to_owned(),
                status: 500,
                code: "internal_error".to_owned(),
                detail: None,
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Known { status, .. } => *status,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(cause) = self {
            // `{:#}` prints the whole cause chain on one line. The request id is on the enclosing span.
            tracing::error!(error = format!("{cause:#}"), "internal error");
        }
        problem_response(self.status_code(), &self.problem())
    }
}

pub fn problem_response(status: StatusCode, problem: &Problem) -> HttpResponse {
    let body = serde_json::to_vec(problem).unwrap_or_else(|_| b"{\"code\":\"internal_error\"}".to_vec());
    HttpResponse::build(status).insert_header((header::CONTENT_TYPE, PROBLEM_JSON)).body(body)
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        Self::internal(e)
    }
}

impl From<crate::db::PoolError> for ApiError {
    fn from(e: crate::db::PoolError) -> Self {
        Self::internal(e)
    }
}

impl From<redis::RedisError> for ApiError {
    fn from(e: redis::RedisError) -> Self {
        Self::internal(e)
    }
}

/// Turns actix's own extractor failures (bad JSON, bad path, bad query) into problems with stable codes.
pub mod extractors {
    use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
    use actix_web::http::StatusCode;
    use actix_web::{HttpRequest, web};

    use super::ApiError;

    pub fn json_config(limit: usize) -> web::JsonConfig {
        web::JsonConfig::default().limit(limit).error_handler(json_error)
    }

    fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
        let api = match &err {
            JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "The request body is too large")
            }
            JsonPayloadError::ContentType => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "The request body must be application/json",
            ),
            JsonPayloadError::Deserialize(e) if e.is_data() => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", "The request body has invalid fields")
                    .with_detail(e.to_string())
            }
            JsonPayloadError::Deserialize(_) => {
                ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", "The request body is not valid JSON")
            }
            _ => ApiError::new(StatusCode::BAD_REQUEST, "unreadable_body", "The request body could not be read"),
        };
        api.into()
    }

    /// Parses a JSON body that a handler had to read as bytes first (signed requests hash the exact bytes).
    /// Errors match [`json_config`]'s.
    pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
        serde_json::from_slice(body).map_err(|e| {
            if e.is_data() {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", "The request body has invalid fields")
                    .with_detail(e.to_string())
            } else {
                ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", "The request body is not valid JSON")
            }
        })
    }

    pub fn path_config() -> web::PathConfig {
        // A path that does not parse (e.g. not a UUID) names no resource.
        web::PathConfig::default().error_handler(|_err: PathError, _req| ApiError::not_found().into())
    }

    pub fn query_config() -> web::QueryConfig {
        web::QueryConfig::default().error_handler(|err: QueryPayloadError, _req| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", "The query string is invalid")
                .with_detail(err.to_string())
                .into()
        })
    }
}
