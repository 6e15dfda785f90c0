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
        (name = "access", description = "Doors: residents, online opening, the access log"),
        (name = "governance", description = "Owners' meetings: proposals, reviews, the frozen roll, ballot sheets, results"),
        (name = "parking", description = "Vehicles of a unit, spaces, passes and gate decisions"),
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

/// Every operation that requires a credential can answer 401 (the session, app signature or device signature
/// extractors refuse before the handler runs), so it is documented once here rather than on each route.
pub fn document_authentication_failures(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let unauthenticated = ResponseBuilder::new()
        .description("not authenticated: missing or bad credentials")
        .content("application/problem+json", ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build())
        .build();
    for item in doc.paths.paths.values_mut() {
        for op in [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten() {
            if op.security.as_ref().is_some_and(|s| !s.is_empty()) && !op.responses.responses.contains_key("401") {
                op.responses.responses.insert("401".to_owned(), unauthenticated.clone().into());
            }
        }
    }
}

/// Every operation with a JSON body parses it through `error::extractors` (`json_config` or `parse_json`), which
/// answer 400 `malformed_json` and 422 `invalid_body`, so those are documented once here. An operation that
/// documents either status itself (e.g. the WeChat Pay notification, answering WeChat's protocol) keeps its own.
pub fn document_body_failures(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let problem = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content("application/problem+json", ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build())
            .build()
    };
    for item in doc.paths.paths.values_mut() {
        for op in [&mut item.put, &mut item.post, &mut item.patch].into_iter().flatten() {
            let json_body = op.request_body.as_ref().is_some_and(|b| b.content.contains_key("application/json"));
            let responses = &mut op.responses.responses;
            if json_body && !responses.contains_key("400") && !responses.contains_key("422") {
                responses.insert("400".to_owned(), problem("malformed_json: the body is not JSON").into());
                responses.insert("422".to_owned(), problem("invalid_body: the body's fields are invalid").into());
            }
        }
    }
}

pub fn base() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}
