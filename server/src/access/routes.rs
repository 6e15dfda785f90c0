//! Door access over HTTP: the resident's doors and online opening (`/v1/me/doors`, `/v1/doors/{door_id}/open`),
//! household members and tenants (`/v1/units/{unit_id}/residents`, `/v1/resident-invitations/accept`), the
//! unit's access log, and the property company's doors, tenants and access log (`/openapi/v1/...`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use linli_identity::phone::PhoneNumber;

use super::domain::{DoorKind, MAX_RESIDENT_WINDOW_DAYS, ResidentKind, clean_text, window_ok};
use super::isapi::BodyFormat;
use super::opening::{self, Opened};
use super::store::{
    self, AcceptError, AccessEventView, DoorError, DoorView, EventQuery, EventScope, GatewaySettings, Inviter, NewDoor,
    NewResident, ResidentView,
};
use crate::app::AppState;
use crate::auth::CurrentAccount;
use crate::auth::org_app::{OrgRole, verify_org_request};
use crate::error::{ApiError, Problem, extractors::parse_json};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(my_doors)
        .service(open_door)
        .service(add_resident)
        .service(list_residents)
        .service(end_resident)
        .service(accept_invitation)
        .service(unit_events)
        .service(register_door)
        .service(community_doors)
        .service(add_tenant)
        .service(community_events);
}

#[derive(Serialize, ToSchema)]
pub struct DoorList {
    pub doors: Vec<DoorView>,
}

/// The doors the caller may open now: for each unit they live in (as a verified owner, or a household member or
/// tenant inside their window), its building's doors, the community's gates and its garage barriers.
#[utoipa::path(
    tag = "access",
    responses(
        (status = 200, body = DoorList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []))
)]
#[get("/v1/me/doors")]
async fn my_doors(state: web::Data<AppState>, account: CurrentAccount) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.get().await?;
    let doors = store::my_doors(&mut conn, account.0, Utc::now()).await.map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(DoorList { doors }))
}

#[derive(Serialize, ToSchema)]
pub struct OpenResult {
    /// opened
    pub result: String,
    /// The access-log event of this opening.
    pub event_id: Uuid,
}

/// Opens a door the caller may open: the attempt is logged, the door gateway is sent the command once (short
/// timeout, never retried: a door must not open twice), the outcome is logged. A door the caller may not open
/// is 404 like one that does not exist. Arrears never matter.
#[utoipa::path(
    tag = "access",
    params(("door_id" = Uuid, Path, description = "door id")),
    responses(
        (status = 200, body = OpenResult),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "`door_open_rate_limited`"),
        (status = 502, body = Problem, content_type = "application/problem+json", description = "`door_refused` (the terminal's statusCode in the detail) or `gateway_unreachable`"),
        (status = 504, body = Problem, content_type = "application/problem+json", description = "`gateway_timeout`: the terminal did not answer in time; the command is not sent again"),
    ),
    security(("session" = []))
)]
#[post("/v1/doors/{door_id}/open")]
async fn open_door(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    match opening::open_door(&state, account.0, path.into_inner()).await? {
        Opened::Opened { event } => Ok(HttpResponse::Ok().json(OpenResult { result: "opened".into(), event_id: event })),
        Opened::Refused { event, status_code, status_string } => Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "door_refused",
            "The door terminal refused to open",
        )
        .with_detail(format!("statusCode {status_code} ({status_string}); event {event}"))),
        Opened::Timeout { event } => Err(ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "gateway_timeout",
            "The door terminal did not answer in time",
        )
        .with_detail(format!("the command was sent once and is not repeated; event {event}"))),
        Opened::Unreachable { event } => Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "gateway_unreachable",
            "The door terminal cannot be reached",
        )
        .with_detail(format!("event {event}"))),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddResident {
    /// member (household member) or tenant.
    pub kind: String,
    /// 1–32 characters.
    pub name: String,
    /// Mainland mobile number (11 digits). Stored encrypted, shown masked.
    pub phone: String,
    /// How they relate to the owner (配偶, 子女, 租户…), 1–16 characters.
    pub relation: String,
    /// RFC 3339.
    pub valid_from: DateTime<Utc>,
    /// RFC 3339; at most five years after `valid_from`.
    pub valid_until: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct Invitation {
    pub resident: ResidentView,
    /// Single-use code the invitee accepts with their own WeChat account (`POST /v1/resident-invitations/accept`);
    /// shown only now.
    pub invitation_code: String,
}

fn invalid(code: &'static str, title: &'static str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, title)
}

/// Parses a resident's details at the edge.
fn parse_resident(
    input: &AddResident,
    community: Uuid,
    unit: Uuid,
    kind: ResidentKind,
) -> Result<NewResident, ApiError> {
    let name = clean_text(&input.name, 32).ok_or_else(|| invalid("resident_name_invalid", "Give a name of 1 to 32 characters"))?;
    let relation =
        clean_text(&input.relation, 16).ok_or_else(|| invalid("relation_invalid", "Give a relation of 1 to 16 characters"))?;
    let phone =
        PhoneNumber::parse(&input.phone).map_err(|_| invalid("phone_invalid", "Give a mainland mobile number of 11 digits"))?;
    if !window_ok(input.valid_from, input.valid_until, MAX_RESIDENT_WINDOW_DAYS) || input.valid_until <= Utc::now() {
        return Err(invalid("window_invalid", "The window must end after it starts, in the future, within five years"));
    }
    Ok(NewResident {
        community,
        unit,
        kind,
        name,
        phone,
        relation,
        valid_from: input.valid_from,
        valid_until: input.valid_until,
    })
}

/// Registers a household member or tenant of a unit the caller is a verified owner of; they accept with their
/// own WeChat account and may then open the unit's doors inside their window.
#[utoipa::path(
    tag = "access",
    params(("unit_id" = Uuid, Path, description = "unit id")),
    request_body = AddResident,
    responses(
        (status = 201, body = Invitation),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "not a unit the caller is a verified owner of"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []))
)]
#[post("/v1/units/{unit_id}/residents")]
async fn add_resident(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let unit = path.into_inner();
    let mut conn = state.db.get().await?;
    let community = store::owned_unit(&mut conn, account.0, unit).await?.ok_or_else(ApiError::not_found)?;
    let input: AddResident = parse_json(&body)?;
    let kind = ResidentKind::parse(&input.kind).ok_or_else(|| invalid("resident_kind_invalid", "kind must be member or tenant"))?;
    let new = parse_resident(&input, community, unit, kind)?;
    let (resident, invitation_code) =
        store::invite_resident(&mut conn, &state.pii, &Inviter::Owner(account.0), &new).await.map_err(ApiError::internal)?;
    Ok(HttpResponse::Created().json(Invitation { resident, invitation_code }))
}

#[derive(Serialize, ToSchema)]
pub struct ResidentList {
    pub residents: Vec<ResidentView>,
}

/// The household members and tenants of a unit the caller is a verified owner of (phones masked).
#[utoipa::path(
    tag = "access",
    params(("unit_id" = Uuid, Path, description = "unit id")),
    responses(
        (status = 200, body = ResidentList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []))
)]
#[get("/v1/units/{unit_id}/residents")]
async fn list_residents(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let unit = path.into_inner();
    let mut conn = state.db.get().await?;
    store::owned_unit(&mut conn, account.0, unit).await?.ok_or_else(ApiError::not_found)?;
    let residents = store::unit_residents(&mut conn, &state.pii, unit).await.map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(ResidentList { residents }))
}

/// Ends a household member's or tenant's access at once (any verified owner of the unit). Ending again answers
/// the same.
#[utoipa::path(
    tag = "access",
    params(("unit_id" = Uuid, Path, description = "unit id"), ("resident_id" = Uuid, Path, description = "resident id")),
    responses(
        (status = 200, body = ResidentView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []))
)]
#[post("/v1/units/{unit_id}/residents/{resident_id}/end")]
async fn end_resident(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (unit, resident) = path.into_inner();
    let mut conn = state.db.get().await?;
    store::owned_unit(&mut conn, account.0, unit).await?.ok_or_else(ApiError::not_found)?;
    let view = store::end_resident(&mut conn, &state.pii, unit, resident, account.0)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    pub invitation_code: String,
}

/// Accepts an invitation with the caller's own account: they become a resident of its unit for its window.
#[utoipa::path(
    tag = "access",
    request_body = AcceptInvitation,
    responses(
        (status = 200, body = ResidentView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`invitation_not_found`: unknown, ended or past its window"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`invitation_used`: accepted by another account"),
    ),
    security(("session" = []))
)]
#[post("/v1/resident-invitations/accept")]
async fn accept_invitation(
    state: web::Data<AppState>,
    account: CurrentAccount,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: AcceptInvitation = parse_json(&body)?;
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "invitation_not_found", "No open invitation has this code");
    let code = input.invitation_code.trim();
    if code.len() != 32 || !code.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(not_found());
    }
    let mut conn = state.db.get().await?;
    match store::accept_invitation(&mut conn, &state.pii, account.0, &code.to_ascii_lowercase(), Utc::now()).await {
        Ok(view) => Ok(HttpResponse::Ok().json(view)),
        Err(AcceptError::Unknown) => Err(not_found()),
        Err(AcceptError::Used) => {
            Err(ApiError::new(StatusCode::CONFLICT, "invitation_used", "The invitation was accepted by another account"))
        }
        Err(AcceptError::Other(e)) => Err(ApiError::internal(e)),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventParams {
    /// Only this door code.
    pub door_code: Option<i64>,
    /// Only this outcome: attempted, opened, refused or failed.
    pub outcome: Option<String>,
    /// From this time on (RFC 3339, inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Before this time (RFC 3339, exclusive).
    pub until: Option<DateTime<Utc>>,
    /// The `next` of the previous page.
    pub before: Option<String>,
    /// 1–500, default 100.
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct EventPage {
    /// Newest first.
    pub events: Vec<AccessEventView>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

fn parse_event_query(p: &EventParams) -> Result<EventQuery, ApiError> {
    let bad = |detail: &str| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", "The query string is invalid").with_detail(detail.to_owned());
    if p.outcome.as_deref().is_some_and(|o| !["attempted", "opened", "refused", "failed"].contains(&o)) {
        return Err(bad("outcome must be attempted, opened, refused or failed"));
    }
    let before = match &p.before {
        None => None,
        Some(cursor) => {
            let (at, id) = cursor.split_once('_').ok_or_else(|| bad("before is not a page cursor"))?;
            let at = DateTime::parse_from_rfc3339(at).map_err(|_| bad("before is not a page cursor"))?.with_timezone(&Utc);
            Some((at, Uuid::parse_str(id).map_err(|_| bad("before is not a page cursor"))?))
        }
    };
    let limit = p.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(bad("limit must be 1 to 500"));
    }
    Ok(EventQuery { door_code: p.door_code, outcome: p.outcome.clone(), from: p.from, until: p.until, before, limit })
}

fn page(events: Vec<AccessEventView>, limit: i64) -> EventPage {
    let next = (events.len() as i64 == limit)
        .then(|| events.last().map(|e| format!("{}_{}", e.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true), e.id)))
        .flatten();
    EventPage { events, next }
}

/// The access log of a unit the caller is a verified owner of: every opening, refusal and failure through it.
#[utoipa::path(
    tag = "access",
    params(("unit_id" = Uuid, Path, description = "unit id"), EventParams),
    responses(
        (status = 200, body = EventPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []))
)]
#[get("/v1/units/{unit_id}/access-events")]
async fn unit_events(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<Uuid>,
    query: web::Query<EventParams>,
) -> Result<HttpResponse, ApiError> {
    let unit = path.into_inner();
    let q = parse_event_query(&query)?;
    let mut conn = state.db.get().await?;
    store::owned_unit(&mut conn, account.0, unit).await?.ok_or_else(ApiError::not_found)?;
    let events = store::events(&mut conn, EventScope::Unit(unit), &q).await?;
    Ok(HttpResponse::Ok().json(page(events, q.limit)))
}

/// The access log of a community (property company app).
#[utoipa::path(
    tag = "access",
    params(("community_id" = Uuid, Path, description = "community id"), EventParams),
    responses(
        (status = 200, body = EventPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("app_hmac" = []))
)]
#[get("/openapi/v1/communities/{community_id}/access-events")]
async fn community_events(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    query: web::Query<EventParams>,
) -> Result<HttpResponse, ApiError> {
    let community = path.into_inner();
    let mut conn = state.db.get().await?;
    let app = verify_org_request(&state, &mut conn, &req, b"").await?;
    app.require(&[OrgRole::Property], community)?;
    let q = parse_event_query(&query)?;
    let events = store::events(&mut conn, EventScope::Community(community), &q).await?;
    Ok(HttpResponse::Ok().json(page(events, q.limit)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GatewayInput {
    /// `http(s)://host[:port]` of the Hikvision ISAPI terminal.
    pub url: String,
    pub username: String,
    /// Stored encrypted; never shown again.
    #[schema(value_type = String)]
    pub password: SecretString,
    /// The terminal's door number (1–256).
    pub door_no: i32,
    /// xml (default) or json.
    pub format: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterDoor {
    /// community_gate, building_door or garage_barrier.
    pub kind: String,
    /// Short door code, unique in the community (0–4294967295).
    pub code: u32,
    /// 1–64 characters.
    pub name: String,
    /// The building code of a building door (e.g. `1`), absent for the others.
    pub building: Option<String>,
    pub gateway: GatewayInput,
}

/// Parses a door registration at the edge (the property company's API and the operator CLI).
pub fn parse_door(input: RegisterDoor, community: Uuid) -> Result<NewDoor, ApiError> {
    use secrecy::ExposeSecret;
    let kind = DoorKind::parse(&input.kind)
        .ok_or_else(|| invalid("door_kind_invalid", "kind must be community_gate, building_door or garage_barrier"))?;
    let name = clean_text(&input.name, 64).ok_or_else(|| invalid("door_name_invalid", "Give a name of 1 to 64 characters"))?;
    let url = reqwest::Url::parse(input.gateway.url.trim()).map_err(|_| invalid("gateway_url_invalid", "Give the terminal's http(s) URL"))?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none()
        || !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.path() != "/"
    {
        return Err(invalid("gateway_url_invalid", "Give the terminal's http(s) URL without path, query or credentials"));
    }
    let username = clean_text(&input.gateway.username, 64)
        .ok_or_else(|| invalid("gateway_username_invalid", "Give a username of 1 to 64 characters"))?;
    let pw = input.gateway.password.expose_secret();
    if pw.is_empty() || pw.len() > 128 || pw.chars().any(char::is_control) {
        return Err(invalid("gateway_password_invalid", "Give a password of 1 to 128 characters"));
    }
    if !(1..=256).contains(&input.gateway.door_no) {
        return Err(invalid("gateway_door_no_invalid", "The door number is 1 to 256"));
    }
    let format = match input.gateway.format.as_deref() {
        None => BodyFormat::Xml,
        Some(f) => BodyFormat::parse(f).ok_or_else(|| invalid("gateway_format_invalid", "format must be xml or json"))?,
    };
    let building_code = match input.building {
        Some(b) => Some(clean_text(&b, 32).ok_or_else(|| invalid("building_invalid", "Give the building code"))?),
        None => None,
    };
    Ok(NewDoor {
        community,
        kind,
        building_code,
        code: input.code,
        name,
        gateway: GatewaySettings {
            url: url.as_str().trim_end_matches('/').to_owned(),
            username,
            password: input.gateway.password,
            door_no: input.gateway.door_no,
            format,
        },
    })
}

pub fn door_error(e: DoorError) -> ApiError {
    match e {
        DoorError::UnknownBuilding => invalid("building_unknown", "No such building in the community"),
        DoorError::BuildingMismatch => {
            invalid("building_mismatch", "A building door names its building; gates and barriers name none")
        }
        DoorError::CodeTaken => ApiError::new(StatusCode::CONFLICT, "door_code_taken", "Another door of the community has this code"),
        DoorError::Db(e) => ApiError::internal(e),
        DoorError::Other(e) => ApiError::internal(e),
    }
}

/// Registers a door of the community (property company app). Its gateway password is stored encrypted.
#[utoipa::path(
    tag = "access",
    params(("community_id" = Uuid, Path, description = "community id")),
    request_body = RegisterDoor,
    responses(
        (status = 201, body = DoorView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`door_code_taken`"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("app_hmac" = []))
)]
#[post("/openapi/v1/communities/{community_id}/doors")]
async fn register_door(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let community = path.into_inner();
    let mut conn = state.db.get().await?;
    let app = verify_org_request(&state, &mut conn, &req, &body).await?;
    app.require(&[OrgRole::Property], community)?;
    let new = parse_door(parse_json(&body)?, community)?;
    let view = store::register_door(&mut conn, &state.pii, &new).await.map_err(door_error)?;
    Ok(HttpResponse::Created().json(view))
}

/// The doors of the community (property company app).
#[utoipa::path(
    tag = "access",
    params(("community_id" = Uuid, Path, description = "community id")),
    responses(
        (status = 200, body = DoorList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("app_hmac" = []))
)]
#[get("/openapi/v1/communities/{community_id}/doors")]
async fn community_doors(state: web::Data<AppState>, req: HttpRequest, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let community = path.into_inner();
    let mut conn = state.db.get().await?;
    let app = verify_org_request(&state, &mut conn, &req, b"").await?;
    app.require(&[OrgRole::Property], community)?;
    let doors = store::door_views(&mut conn, &[community]).await?;
    Ok(HttpResponse::Ok().json(DoorList { doors }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddTenant {
    pub unit_id: Uuid,
    pub name: String,
    pub phone: String,
    /// Default 租户.
    pub relation: Option<String>,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
}

/// Registers a tenant of a unit of the community (property company app); they accept the invitation with their
/// own WeChat account.
#[utoipa::path(
    tag = "access",
    params(("community_id" = Uuid, Path, description = "community id")),
    request_body = AddTenant,
    responses(
        (status = 201, body = Invitation),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "not a unit of the community"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("app_hmac" = []))
)]
#[post("/openapi/v1/communities/{community_id}/tenants")]
async fn add_tenant(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let community = path.into_inner();
    let mut conn = state.db.get().await?;
    let app = verify_org_request(&state, &mut conn, &req, &body).await?;
    app.require(&[OrgRole::Property], community)?;
    let input: AddTenant = parse_json(&body)?;
    if store::unit_community(&mut conn, input.unit_id).await? != Some(community) {
        return Err(ApiError::not_found());
    }
    let as_resident = AddResident {
        kind: "tenant".into(),
        name: input.name,
        phone: input.phone,
        relation: input.relation.unwrap_or_else(|| "租户".into()),
        valid_from: input.valid_from,
        valid_until: input.valid_until,
    };
    let new = parse_resident(&as_resident, community, input.unit_id, ResidentKind::Tenant)?;
    let (resident, invitation_code) =
        store::invite_resident(&mut conn, &state.pii, &Inviter::App(app.id), &new).await.map_err(ApiError::internal)?;
    Ok(HttpResponse::Created().json(Invitation { resident, invitation_code }))
}
