//! Staff's records of service outside WeChat (issue 24 item 5): paper handed over, registered mail, posting in a
//! building. The committee or support staff of the meeting's community record the channel, the served time, the
//! roll keys or units (a posting: the building) and the SHA-256 of the evidence kept off-platform; the record is
//! audited and counts as service by its recorded time (`governance::service::served_proofs`). Recorded only from
//! publication until voting starts (`lifecycle::Action::RecordService`).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, post, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::domain;
use super::lifecycle::{self, Action};
use super::service::{self, PaperChannel, ServiceInputError, Target, UnitLabel};
use super::store;
use crate::app::AppState;
use crate::auth::roles::has_role;
use crate::auth::{CurrentAccount, Role};
use crate::error::extractors::parse_json;
use crate::error::{ApiError, Problem};
use crate::schema::meeting_service_records;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(record_service);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceRecordInput {
    pub channel: PaperChannel,
    /// When the notice was handed over, posted or mailed: after publication, before voting starts, not ahead.
    pub served_at: DateTime<Utc>,
    /// SHA-256 (64 hex digits) of the evidence file (signed receipt, postal slip, photo of the posting), which is
    /// kept off-platform.
    pub evidence_sha256: String,
    /// Paper or mail: the roll keys served.
    #[serde(default)]
    pub headcount_keys: Vec<String>,
    /// Paper or mail: the units served (their owners' roll keys).
    #[serde(default)]
    pub units: Vec<UnitLabel>,
    /// Posting: the building it was posted in (serves every roll key with a unit there).
    #[serde(default)]
    pub building: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceRecordView {
    pub id: Uuid,
    pub meeting_id: Uuid,
    pub channel: PaperChannel,
    pub served_at: DateTime<Utc>,
    pub evidence_sha256: String,
    /// What staff named.
    #[schema(value_type = Object)]
    pub target: serde_json::Value,
    /// The roll keys served, resolved from the register now.
    pub headcount_keys: Vec<String>,
    pub recorded_by: Uuid,
    pub recorded_at: DateTime<Utc>,
}

fn refused(e: ServiceInputError) -> ApiError {
    let title = match &e {
        ServiceInputError::EvidenceHash => "The evidence hash is not a SHA-256",
        ServiceInputError::ServedInFuture | ServiceInputError::ServedBeforePublication | ServiceInputError::ServedAfterVotingOpened => {
            "The served time is not acceptable"
        }
        ServiceInputError::Target(_) => "The record names nobody the register knows",
    };
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.code(), title).with_detail(e.to_string())
}

/// Records service in one transaction: the meeting row locked (so the roll cannot freeze meanwhile), the staff
/// role checked (404 otherwise), the lifecycle's state check (409), the input's rules (422), the keys resolved from
/// the register, the row and its audit entry.
pub async fn record(conn: &mut AsyncPgConnection, id: Uuid, account: Uuid, input: &ServiceRecordInput) -> Result<ServiceRecordView, ApiError> {
    conn.transaction(async |conn| {
        let m = store::meeting_for_update(conn, id).await?;
        let staff = has_role(conn, account, m.community_id, Role::Committee).await?
            || has_role(conn, account, m.community_id, Role::Support).await?;
        if !staff {
            return Err(ApiError::not_found());
        }
        let facts = m.facts();
        lifecycle::transition(m.state()?, Action::RecordService, &facts)?;
        let evidence = service::evidence_sha256(&input.evidence_sha256).map_err(refused)?;
        service::check_served_at(input.served_at, facts.now, m.published_at, m.voting_starts_at).map_err(refused)?;
        let target = Target { headcount_keys: input.headcount_keys.clone(), units: input.units.clone(), building: input.building.clone() };
        let snap = store::register_snapshot(conn, &m).await?;
        let register = domain::build_roll(&snap.units, snap.rules, &Default::default(), &[], &[]);
        let keys: Vec<String> = service::resolve_keys(input.channel, &target, &register).map_err(refused)?.into_iter().collect();
        let record_id = Uuid::now_v7();
        let target_json = serde_json::to_value(&target).map_err(ApiError::internal)?;
        let recorded_at: DateTime<Utc> = diesel::insert_into(meeting_service_records::table)
            .values((
                meeting_service_records::id.eq(record_id),
                meeting_service_records::meeting_id.eq(id),
                meeting_service_records::channel.eq(input.channel.as_str()),
                meeting_service_records::served_at.eq(input.served_at),
                meeting_service_records::evidence_sha256.eq(evidence.to_vec()),
                meeting_service_records::target.eq(&target_json),
                meeting_service_records::headcount_keys.eq(serde_json::json!(keys)),
                meeting_service_records::recorded_by.eq(account),
            ))
            .returning(meeting_service_records::recorded_at)
            .get_result(conn)
            .await?;
        let details = serde_json::json!({
            "record": record_id,
            "channel": input.channel.as_str(),
            "served_at": input.served_at,
            "evidence_sha256": hex::encode(evidence),
            "headcount_keys": keys.len(),
        });
        crate::audit::append(conn, &account.to_string(), "meeting.service.recorded", &id.to_string(), details)
            .await
            .map_err(ApiError::internal)?;
        Ok(ServiceRecordView {
            id: record_id,
            meeting_id: id,
            channel: input.channel,
            served_at: input.served_at,
            evidence_sha256: hex::encode(evidence),
            target: target_json,
            headcount_keys: keys,
            recorded_by: account,
            recorded_at,
        })
    })
    .await
}

/// Records paper service, registered mail or posting of the meeting's notice (committee or support staff of the
/// meeting's community), from publication until voting starts.
#[utoipa::path(
    tag = "governance",
    params(("meeting_id" = Uuid, Path)),
    request_body = ServiceRecordInput,
    responses(
        (status = 201, body = ServiceRecordView),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "no such meeting, or not staff of its community"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "service_not_recordable: not published yet, or voting has started"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "invalid_evidence_hash, invalid_served_at, invalid_service_target"),
    ),
    security(("session" = []))
)]
#[post("/v1/meetings/{meeting_id}/service-records")]
async fn record_service(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: ServiceRecordInput = parse_json(&body)?;
    let mut conn = state.db.get().await?;
    Ok(HttpResponse::Created().json(record(&mut conn, path.into_inner(), account.0, &input).await?))
}
