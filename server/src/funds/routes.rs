//! Maintenance-fund routes: the property company files plans and requests disbursements (`/openapi/v1`, role
//! `property`), the committee puts a plan to a meeting and approves disbursements (device-signed, with the PIN),
//! the bank reports transfers (role `bank`), owners and the bureau read.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::domain::{self, CategoryRefusal, PlanError, PlanInput};
use super::store::{self, ApprovalView, BankReport, DisbursementInput, DisbursementRow, PlanRow, PlanView};
use crate::app::AppState;
use crate::auth::org_app::{OrgApp, OrgRole, verify_org_request};
use crate::auth::{CurrentAccount, Role, require_role};
use crate::error::{ApiError, Problem, extractors::parse_json};
use crate::idempotency::{self, IdempotentRequest, Scope};
use crate::schema::fund_plans;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_plan)
        .service(file_plan)
        .service(org_plan)
        .service(list_plans)
        .service(get_plan)
        .service(attach_plan)
        .service(request_disbursement)
        .service(approve_disbursement)
        .service(bank_report)
        .service(org_disbursement);
}

type Conn = diesel_async::pooled_connection::deadpool::Object<AsyncPgConnection>;

fn plan_refused(e: PlanError) -> ApiError {
    let problem = match e {
        PlanError::Category(_, CategoryRefusal::Unknown) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "fund_item_category_unknown", "A plan item has an unknown category")
        }
        PlanError::Category(..) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "fund_item_excluded",
            "A plan item is of a kind the maintenance fund never pays for (art. 25)",
        ),
        _ => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "fund_plan_invalid", "The plan is not valid"),
    };
    problem.with_detail(e.to_string())
}

/// One-transaction idempotency: a finished key answers its stored response; otherwise the effect runs in a
/// transaction that also stores its answer, so the effect and the answer commit together (a concurrent request
/// with the key loses and gets the winner's answer). A macro, as the effect borrows the handler's locals.
macro_rules! idempotent {
    ($conn:expr, $idem:expr, $status:expr, |$c:ident| $effect:expr) => {{
        let conn: &mut AsyncPgConnection = $conn;
        let idem: &IdempotentRequest = $idem;
        let status: StatusCode = $status;
        match idempotency::stored_answer(conn, idem).await? {
            Some(stored) => Ok(stored.into_response()),
            None => {
                let outcome = conn
                    .transaction(async |$c| {
                        let value = json_value(&$effect)?;
                        let body = serde_json::to_vec(&value).map_err(ApiError::internal)?;
                        if !idempotency::record($c, idem, status, &body).await? {
                            return Err(KeyTaken::Taken);
                        }
                        Ok::<_, KeyTaken>(body)
                    })
                    .await;
                match outcome {
                    Ok(body) => Ok(HttpResponse::build(status).content_type("application/json").body(body)),
                    Err(KeyTaken::Taken) => idempotency::stored_answer(conn, idem)
                        .await?
                        .map(|s| s.into_response())
                        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("idempotency key taken but no answer stored"))),
                    Err(KeyTaken::Api(e)) => Err(e),
                }
            }
        }
    }};
}

enum KeyTaken {
    Taken,
    Api(ApiError),
}

impl From<ApiError> for KeyTaken {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

impl From<diesel::result::Error> for KeyTaken {
    fn from(e: diesel::result::Error) -> Self {
        Self::Api(e.into())
    }
}

async fn org(state: &AppState, req: &HttpRequest, body: &[u8]) -> Result<(Conn, OrgApp), ApiError> {
    let mut conn = state.db.get().await?;
    let app = verify_org_request(state, &mut conn, req, body).await?;
    Ok((conn, app))
}

/// A verified owner or a committee member of the community, else 404.
async fn community_reader(conn: &mut AsyncPgConnection, account: Uuid, community: Uuid) -> Result<(), ApiError> {
    if crate::community::store::persons_of_account(conn, account, community).await?.is_empty()
        && !crate::auth::roles::has_role(conn, account, community, Role::Committee).await?
    {
        return Err(ApiError::not_found());
    }
    Ok(())
}

fn json_value<T: Serialize>(v: &T) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(v).map_err(ApiError::internal)
}

/// Files a fund plan as a draft (property company app; `Idempotency-Key`): items with category, budget in fen and
/// contractor, the units concerned (empty: all), evidence by SHA-256. The budget is apportioned over the units'
/// exclusive areas. Items of the art. 25 exclusions are refused (`fund_item_excluded`).
#[utoipa::path(
    tag = "funds",
    params(("community_id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    request_body = PlanInput,
    responses(
        (status = 201, body = PlanRow),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("app_hmac" = []))
)]
#[post("/openapi/v1/communities/{community_id}/fund-plans")]
async fn create_plan(state: web::Data<AppState>, req: HttpRequest, path: web::Path<Uuid>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let community = path.into_inner();
    let (mut conn, app) = org(&state, &req, &body).await?;
    app.require(&[OrgRole::Property], community)?;
    let idem = idempotency::from_request(&state.pii, &req, &body, Scope::app(&app.id))?;
    let input: PlanInput = parse_json(&body)?;
    let plan = domain::validate_plan(&input).map_err(plan_refused)?;
    idempotent!(&mut conn, &idem, StatusCode::CREATED, |c| store::create_plan(c, community, &app.id, &plan).await?)
}

/// The body of a filing: `{}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileInput {}

/// draft → filed (property company app): the plan can no longer change and enters the community's `funds` log.
#[utoipa::path(
    tag = "funds",
    params(("plan_id" = Uuid, Path)),
    request_body = FileInput,
    responses(
        (status = 200, body = PlanRow),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ),
    security(("app_hmac" = []))
)]
#[post("/openapi/v1/fund-plans/{plan_id}/file")]
async fn file_plan(state: web::Data<AppState>, req: HttpRequest, path: web::Path<Uuid>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let (mut conn, app) = org(&state, &req, &body).await?;
    if app.role != OrgRole::Property {
        return Err(ApiError::not_found());
    }
    let _: FileInput = parse_json(&body)?;
    let plan = store::file_plan(&mut conn, path.into_inner(), &app.communities).await?;
    Ok(HttpResponse::Ok().json(plan))
}

/// A plan with its disbursements (property, bank or bureau app of the community).
#[utoipa::path(
    tag = "funds",
    params(("plan_id" = Uuid, Path)),
    responses((status = 200, body = PlanView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("app_hmac" = []))
)]
#[get("/openapi/v1/fund-plans/{plan_id}")]
async fn org_plan(state: web::Data<AppState>, req: HttpRequest, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let (mut conn, app) = org(&state, &req, &[]).await?;
    let plan = store::plan(&mut conn, path.into_inner()).await?;
    app.require(&[OrgRole::Property, OrgRole::Bank, OrgRole::Bureau], plan.community_id)?;
    Ok(HttpResponse::Ok().json(store::plan_view(&mut conn, plan).await?))
}

/// The community's filed plans, newest first (verified owners and the committee; drafts are the filer's).
#[utoipa::path(
    tag = "funds",
    params(("community_id" = Uuid, Path)),
    responses((status = 200, body = Vec<PlanRow>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("session" = []))
)]
#[get("/v1/communities/{community_id}/fund-plans")]
async fn list_plans(state: web::Data<AppState>, account: CurrentAccount, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let community = path.into_inner();
    let mut conn = state.db.get().await?;
    community_reader(&mut conn, account.0, community).await?;
    let rows: Vec<PlanRow> = fund_plans::table
        .filter(fund_plans::community_id.eq(community))
        .filter(fund_plans::status.ne(domain::PlanState::Draft.as_str()))
        .order(fund_plans::created_at.desc())
        .select(PlanRow::as_select())
        .load(&mut conn)
        .await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// A filed plan with its disbursements (verified owners and the committee of its community).
#[utoipa::path(
    tag = "funds",
    params(("plan_id" = Uuid, Path)),
    responses((status = 200, body = PlanView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("session" = []))
)]
#[get("/v1/fund-plans/{plan_id}")]
async fn get_plan(state: web::Data<AppState>, account: CurrentAccount, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.get().await?;
    let plan = store::plan(&mut conn, path.into_inner()).await?;
    community_reader(&mut conn, account.0, plan.community_id).await?;
    if plan.state()? == domain::PlanState::Draft {
        return Err(ApiError::not_found());
    }
    Ok(HttpResponse::Ok().json(store::plan_view(&mut conn, plan).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachInput {
    pub meeting_id: Uuid,
    /// The matter-5 (use) or matter-6 (raise) yes/no proposal of the draft meeting.
    pub proposal_index: i16,
}

/// Puts a filed plan to a draft meeting (committee): the proposal's text gains the plan's id, budget and hash.
#[utoipa::path(
    tag = "funds",
    params(("plan_id" = Uuid, Path)),
    request_body = AttachInput,
    responses(
        (status = 200, body = PlanRow),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []))
)]
#[post("/v1/fund-plans/{plan_id}/attach")]
async fn attach_plan(state: web::Data<AppState>, account: CurrentAccount, path: web::Path<Uuid>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let mut conn = state.db.get().await?;
    let plan = store::plan(&mut conn, id).await?;
    require_role(&mut conn, account.0, plan.community_id, Role::Committee).await?;
    if plan.state()? == domain::PlanState::Draft {
        return Err(ApiError::not_found());
    }
    let input: AttachInput = parse_json(&body)?;
    let plan = store::attach_plan(&mut conn, id, input.meeting_id, input.proposal_index).await?;
    crate::audit::append(
        &mut conn,
        &account.0.to_string(),
        "fund_plan.attach",
        &format!("meeting:{}", input.meeting_id),
        serde_json::json!({"plan_id": id, "proposal_index": input.proposal_index}),
    )
    .await?;
    Ok(HttpResponse::Ok().json(plan))
}

/// Requests a disbursement against an approved plan (property company app; `Idempotency-Key`). Refused over the
/// plan's remaining budget (`over_budget`); more needs a new plan and a new vote.
#[utoipa::path(
    tag = "funds",
    params(("plan_id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    request_body = DisbursementInput,
    responses(
        (status = 201, body = DisbursementRow),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "the plan did not pass"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("app_hmac" = []))
)]
#[post("/openapi/v1/fund-plans/{plan_id}/disbursements")]
async fn request_disbursement(state: web::Data<AppState>, req: HttpRequest, path: web::Path<Uuid>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let (mut conn, app) = org(&state, &req, &body).await?;
    let plan = store::plan(&mut conn, id).await?;
    app.require(&[OrgRole::Property], plan.community_id)?;
    let idem = idempotency::from_request(&state.pii, &req, &body, Scope::app(&app.id))?;
    let input: DisbursementInput = parse_json(&body)?;
    idempotent!(&mut conn, &idem, StatusCode::CREATED, |c| store::request_disbursement(c, id, &app.id, &input).await?)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveInput {
    pub pin: String,
}

/// A committee member approves a disbursement: a device-signed request carrying the PIN. Once as many members as
/// the community's rules require (default 2) have approved, it is approved against the remaining budget and
/// forwarded to the chain. Approving twice counts once.
#[utoipa::path(
    tag = "funds",
    params(("disbursement_id" = Uuid, Path)),
    request_body = ApproveInput,
    responses(
        (status = 200, body = ApprovalView),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "the signature is not acceptable"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "wrong PIN"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "over the remaining budget"),
        (status = 423, body = Problem, content_type = "application/problem+json", description = "PIN locked"),
    ),
    security(("session" = []))
)]
#[post("/v1/disbursements/{disbursement_id}/approve")]
async fn approve_disbursement(
    state: web::Data<AppState>,
    account: CurrentAccount,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let mut conn = state.db.get().await?;
    let d = store::disbursement(&mut conn, id).await?;
    require_role(&mut conn, account.0, d.community_id, Role::Committee).await?;
    let device = crate::auth::signed::verify_signed_request(&state, &conn, &req, &body, account.0).await?;
    let input: ApproveInput = parse_json(&body)?;
    let pin = crate::auth::pin::parse_pin(&input.pin)?;
    let identity = state.identity()?;
    let outcome = conn
        .transaction(async |c| match crate::auth::pin::check_pin_locked(c, identity, account.0, pin).await? {
            // Committed, so that the failure counts.
            Err(refusal) => Ok::<_, ApiError>(Err(refusal)),
            Ok(()) => store::record_approval(c, id, account.0, &device.serial, &device.nonce).await.map(Ok),
        })
        .await?;
    match outcome {
        Ok(view) => Ok(HttpResponse::Ok().json(view)),
        Err(refusal) => Err(crate::auth::pin::refused(refusal)),
    }
}

/// The bank reports the executed transfer of an approved disbursement (bank app of the community;
/// `Idempotency-Key`): reference, amount (the approved one), value date, counterparty. Forwarded to the chain. The
/// same report again adds nothing.
#[utoipa::path(
    tag = "funds",
    params(("disbursement_id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    request_body = BankReport,
    responses(
        (status = 200, body = DisbursementRow),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("app_hmac" = []))
)]
#[post("/openapi/v1/disbursements/{disbursement_id}/bank-report")]
async fn bank_report(state: web::Data<AppState>, req: HttpRequest, path: web::Path<Uuid>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let (mut conn, app) = org(&state, &req, &body).await?;
    let d = store::disbursement(&mut conn, id).await?;
    app.require(&[OrgRole::Bank], d.community_id)?;
    let idem = idempotency::from_request(&state.pii, &req, &body, Scope::app(&app.id))?;
    let report: BankReport = parse_json(&body)?;
    idempotent!(&mut conn, &idem, StatusCode::OK, |c| store::record_bank_report(c, id, &app.id, &report).await?)
}

/// A disbursement (property, bank or bureau app of the community).
#[utoipa::path(
    tag = "funds",
    params(("disbursement_id" = Uuid, Path)),
    responses((status = 200, body = DisbursementRow), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("app_hmac" = []))
)]
#[get("/openapi/v1/disbursements/{disbursement_id}")]
async fn org_disbursement(state: web::Data<AppState>, req: HttpRequest, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let (mut conn, app) = org(&state, &req, &[]).await?;
    let d = store::disbursement(&mut conn, path.into_inner()).await?;
    app.require(&[OrgRole::Property, OrgRole::Bank, OrgRole::Bureau], d.community_id)?;
    Ok(HttpResponse::Ok().json(d))
}
