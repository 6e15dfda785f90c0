//! The owner's consent to electronic service of meeting notices (issue 24 item 5), recorded apart from the
//! enrollment and face consents: given with an enrollment's start (`electronic_service_consent_version`) or later,
//! and withdrawn or given again by the owner at any time. Every change is a row of its own (append-only), since a
//! WeChat delivery serves a notice only if the consent was in force at that moment
//! (`governance::service::consent_in_force`).

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, put, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::CurrentAccount;
use crate::error::extractors::parse_json;
use crate::error::{ApiError, Problem};
use crate::governance::service::{ELECTRONIC_SERVICE_CONSENT_TEXT, ELECTRONIC_SERVICE_CONSENT_VERSION};
use crate::schema::{account_persons, accounts, electronic_service_consents, enrollments};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(show_consent).service(change_consent);
}

/// Where a consent change was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Enrollment(Uuid),
    Owner,
}

/// Refuses a consent given to another text than the current one.
pub fn check_version(given: &str) -> Result<(), ApiError> {
    if given == ELECTRONIC_SERVICE_CONSENT_VERSION {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "electronic_service_consent_version",
        "The consent to electronic service was given to another text",
    )
    .with_detail(format!("the current text is version {ELECTRONIC_SERVICE_CONSENT_VERSION}")))
}

/// Appends one change (inside the caller's transaction).
pub async fn record(conn: &mut AsyncPgConnection, account: Uuid, community: Uuid, agreed: bool, source: Source, at: DateTime<Utc>) -> QueryResult<()> {
    let (source_text, enrollment) = match source {
        Source::Enrollment(id) => ("enrollment", Some(id)),
        Source::Owner => ("owner", None),
    };
    diesel::insert_into(electronic_service_consents::table)
        .values((
            electronic_service_consents::id.eq(Uuid::now_v7()),
            electronic_service_consents::account_id.eq(account),
            electronic_service_consents::community_id.eq(community),
            electronic_service_consents::agreed.eq(agreed),
            electronic_service_consents::text_version.eq(agreed.then_some(ELECTRONIC_SERVICE_CONSENT_VERSION)),
            electronic_service_consents::source.eq(source_text),
            electronic_service_consents::enrollment_id.eq(enrollment),
            electronic_service_consents::at.eq(at),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Every account's consent history in a community: (when, agreed) in recording order.
pub async fn histories(conn: &mut AsyncPgConnection, community: Uuid) -> QueryResult<BTreeMap<Uuid, Vec<(DateTime<Utc>, bool)>>> {
    let rows: Vec<(Uuid, DateTime<Utc>, bool)> = electronic_service_consents::table
        .filter(electronic_service_consents::community_id.eq(community))
        // uuid v7 ids follow recording order within one instant.
        .order((electronic_service_consents::at.asc(), electronic_service_consents::id.asc()))
        .select((electronic_service_consents::account_id, electronic_service_consents::at, electronic_service_consents::agreed))
        .load(conn)
        .await?;
    let mut out: BTreeMap<Uuid, Vec<(DateTime<Utc>, bool)>> = BTreeMap::new();
    for (account, at, agreed) in rows {
        out.entry(account).or_default().push((at, agreed));
    }
    Ok(out)
}

async fn latest(conn: &mut AsyncPgConnection, account: Uuid, community: Uuid) -> QueryResult<Option<(bool, DateTime<Utc>)>> {
    electronic_service_consents::table
        .filter(electronic_service_consents::community_id.eq(community))
        .filter(electronic_service_consents::account_id.eq(account))
        .order((electronic_service_consents::at.desc(), electronic_service_consents::id.desc()))
        .select((electronic_service_consents::agreed, electronic_service_consents::at))
        .first(conn)
        .await
        .optional()
}

/// The owners of a community (verified) and those enrolling there decide their consent; anyone else gets 404.
async fn require_owner_or_enrolling(conn: &mut AsyncPgConnection, account: Uuid, community: Uuid) -> Result<(), ApiError> {
    let allowed: bool = diesel::select(
        diesel::dsl::exists(
            account_persons::table.filter(account_persons::account_id.eq(account)).filter(account_persons::community_id.eq(community)),
        )
        .or(diesel::dsl::exists(
            enrollments::table
                .filter(enrollments::account_id.eq(account))
                .filter(enrollments::community_id.eq(community))
                .filter(enrollments::status.eq_any(["open", "completed"])),
        )),
    )
    .get_result(conn)
    .await?;
    if allowed { Ok(()) } else { Err(ApiError::not_found()) }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentView {
    pub community_id: Uuid,
    /// Whether the consent is in force now (never given: false).
    pub agreed: bool,
    /// When the current state was recorded (None: never given).
    pub since: Option<DateTime<Utc>>,
    /// The current consent text and its version, to show before the owner agrees.
    pub text_version: &'static str,
    pub text: &'static str,
}

fn view(community: Uuid, latest: Option<(bool, DateTime<Utc>)>) -> ConsentView {
    ConsentView {
        community_id: community,
        agreed: latest.is_some_and(|l| l.0),
        since: latest.map(|l| l.1),
        text_version: ELECTRONIC_SERVICE_CONSENT_VERSION,
        text: ELECTRONIC_SERVICE_CONSENT_TEXT,
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentChange {
    pub agreed: bool,
    /// The version of the text shown; required to agree (a withdrawal needs none).
    #[serde(default)]
    pub text_version: Option<String>,
}

/// Sets the consent (inside one transaction): records a change only when it changes the state, so repeating the
/// call records nothing new.
pub async fn change(conn: &mut AsyncPgConnection, account: Uuid, community: Uuid, input: &ConsentChange) -> Result<ConsentView, ApiError> {
    if input.agreed {
        check_version(input.text_version.as_deref().unwrap_or_default())?;
    }
    conn.transaction(async |conn| {
        require_owner_or_enrolling(conn, account, community).await?;
        // The account row's lock serialises concurrent changes of one owner, so the "changed?" check sees the
        // latest row.
        accounts::table.find(account).select(accounts::id).for_update().first::<Uuid>(conn).await?;
        let current = latest(conn, account, community).await?;
        if current.is_none_or(|c| c.0 != input.agreed) {
            record(conn, account, community, input.agreed, Source::Owner, Utc::now()).await?;
        }
        Ok(view(community, latest(conn, account, community).await?))
    })
    .await
}

/// The caller's consent to electronic service of meeting notices in a community, with the text to agree to.
#[utoipa::path(
    tag = "enrollment",
    params(("community_id" = Uuid, Path)),
    responses((status = 200, body = ConsentView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("session" = []))
)]
#[get("/v1/communities/{community_id}/electronic-service-consent")]
async fn show_consent(state: web::Data<AppState>, account: CurrentAccount, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let community = path.into_inner();
    let mut conn = state.db.get().await?;
    require_owner_or_enrolling(&mut conn, account.0, community).await?;
    Ok(HttpResponse::Ok().json(view(community, latest(&mut conn, account.0, community).await?)))
}

/// Gives or withdraws the caller's consent to electronic service of meeting notices in a community (owners and
/// those enrolling there). Without it a notice WeChat accepted serves only once the owner opens it.
#[utoipa::path(
    tag = "enrollment",
    params(("community_id" = Uuid, Path)),
    request_body = ConsentChange,
    responses(
        (status = 200, body = ConsentView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "agreed to another text version"),
    ),
    security(("session" = []))
)]
#[put("/v1/communities/{community_id}/electronic-service-consent")]
async fn change_consent(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: ConsentChange = parse_json(&body)?;
    let mut conn = state.db.get().await?;
    Ok(HttpResponse::Ok().json(change(&mut conn, account.0, path.into_inner(), &input).await?))
}
