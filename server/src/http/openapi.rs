//! The fixed parts of the OpenAPI document; the paths come from the route registrations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Linli API",
        description = "Residential community services, owners' meetings and their public record. \
                       Errors are RFC 9457 application/problem+json with a stable `code`.",
    ),
    modifiers(&Security),
    components(schemas(crate::error::Problem)),
    tags(
        (name = "operations", description = "Health, readiness, metrics"),
        (name = "register", description = "The community register"),
        (name = "identity", description = "WeChat login, the account, PINs"),
        (name = "enrollment", description = "The four-factor enrollment of owners"),
        (name = "billing", description = "Bills, WeChat Pay orders and notifications, receipts, arrears, refunds"),
        (name = "support", description = "Support staff: device-binding resets (two-person rule)"),
        (name = "governance", description = "Owners' meetings: proposals, reviews, the frozen roll, ballot sheets, results"),
        (name = "openapi", description = "Organisation apps (HMAC-signed)"),
    )
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("Session token from POST /v1/auth/wechat/login"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "app_hmac",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Header(
                utoipa::openapi::security::ApiKeyValue::with_description(
                    "Authorization",
                    "LINLI-HMAC-SHA256 app_id=\"…\",timestamp=\"…\",nonce=\"…\",signature=\"…\" (DESIGN §9)",
                ),
            )),
        );
        components.add_security_scheme(
            "device_signature",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Header(
                utoipa::openapi::security::ApiKeyValue::with_description(
                    "X-Linli-Signature",
                    "with X-Linli-Cert, X-Linli-Timestamp, X-Linli-Nonce: ECDSA P-256 over LINLI-SIG-V1 (DESIGN §4)",
                ),
            )),
        );
    }
}

pub fn base() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}
