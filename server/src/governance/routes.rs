//! Meeting routes: drafting, screening, reviews, publication, opening (roll freeze), ballot sheets, receipts,
//! closing, and the bureau's read access.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::domain::{self, ProposalDraft, RollUnit};
use super::lifecycle::{self, Action, MeetingState};
use super::screening::{DEFAULT_LIST, Screener};
use super::sheets::{self, SheetInput, SheetReceipt};
use super::steps::{self, ReviewInput, Stage};
use crate::auth::signed::SignedParts;
use crate::chain::outbox::{self, Kind};
use super::store::{self, MeetingRow, ProposalRow};
use crate::auth::org_app::{OrgRole, verify_org_request};
use crate::auth::{CurrentAccount, Role, require_role};
use crate::error::extractors::parse_json;
use crate::error::{ApiError, Problem};
use crate::app::AppState;
use crate::schema::{ballot_sheets, meeting_notices, meeting_proposals, meetings};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_meeting)
        .service(get_meeting)
        .service(submit_meeting)
        .service(screening_review)
        .service(committee_review)
        .service(bureau_review)
        .service(open_meeting)
        .service(get_roll)
        .service(cast_sheet)
        .service(my_sheet)
        .service(close_meeting)
        .service(get_result)
        .service(get_result_html)
        .service(get_result_png)
        .service(verify_sheet)
        .service(read_notice)
        .service(list_notices)
        .service(org_list_meetings)
        .service(org_get_meeting)
        .service(org_get_roll)
        .service(org_get_result);
    super::proxies::configure(cfg);
    super::co_owner_voter::configure(cfg);
    super::attachments::configure(cfg);
    super::service_records::configure(cfg);
    super::inspection::configure(cfg);
}

fn conflict(code: &'static str, title: &'static str) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, code, title)
}

fn invalid(detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_meeting", "The meeting is not acceptable").with_detail(detail)
}

#[derive(Debug, Deserialize, Serialize, ToSchema, Default, Clone, Copy)]
pub struct RuleSetInput {
    #[serde(default)]
    pub silent_counts_as_participating: bool,
    #[serde(default)]
    pub silent_follows_majority: bool,
    /// A voter may replace their sheet until voting ends; the latest sheet counts (also on chain).
    #[serde(default)]
    pub vote_change_allowed: bool,
    /// Whether parking spaces registered as exclusive parts count: the community's setting (DESIGN §5), copied
    /// when the meeting is drafted. May be left out; any other value than the community's is refused.
    #[serde(default)]
    pub count_parking_spaces: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateMeeting {
    pub title: String,
    pub proposals: Vec<ProposalDraft>,
    #[serde(default)]
    pub rules: RuleSetInput,
    #[serde(default)]
    pub bureau_review_required: bool,
    /// Days between publication and the start of voting (0–90).
    pub notice_days: i32,
    pub voting_starts_at: DateTime<Utc>,
    pub voting_ends_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeetingView {
    #[serde(flatten)]
    pub meeting: MeetingRow,
    pub proposals: Vec<ProposalRow>,
    /// The proposals' attachments (each proposal's content hash covers its own, in order).
    pub attachments: Vec<super::attachments::AttachmentView>,
    /// The meeting's id on chain (hex bytes32).
    pub chain_meeting_id: String,
    /// What not voting means under the meeting's silent flags, as its notice states it (null: no flag set, not
    /// voting only means not participating).
    pub consequence_of_not_voting: Option<&'static str>,
}

async fn view(conn: &mut AsyncPgConnection, m: MeetingRow) -> Result<MeetingView, ApiError> {
    let proposals = store::proposals(conn, m.id).await?;
    let attachments = super::attachments::list(conn, m.id).await?;
    let chain_meeting_id = hex::encode(&m.chain_meeting_id);
    let consequence_of_not_voting = super::service::consequence_of_not_voting(m.tally_rules()).map(|c| c.full);
    Ok(MeetingView { meeting: m, proposals, attachments, chain_meeting_id, consequence_of_not_voting })
}

/// Committee members and verified owners of the meeting's community may read it; anyone else gets 404.
async fn require_reader(conn: &AsyncPgConnection, account: Uuid, meeting: Uuid) -> Result<(), ApiError> {
    let reader = crate::auth::roles::is_committee_or_owner_of_meeting(conn, account, meeting).await?;
    if reader { Ok(()) } else { Err(ApiError::not_found()) }
}

/// Drafts a meeting (committee).
#[utoipa::path(
    tag = "governance",
    params(("community_id" = Uuid, Path)),
    request_body = CreateMeeting,
    responses(
        (status = 201, body = MeetingView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []))
)]
#[post("/v1/communities/{community_id}/meetings")]
async fn create_meeting(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let community = path.into_inner();
    let mut conn = state.db.get().await?;
    require_role(&mut conn, account.0, community, Role::Committee).await?;
    let input: CreateMeeting = parse_json(&body)?;
    domain::validate_draft(
        &input.title,
        &input.proposals,
        input.voting_starts_at.timestamp_millis(),
        input.voting_ends_at.timestamp_millis(),
    )
    .map_err(|e| invalid(e.to_string()))?;
    if !(0..=90).contains(&input.notice_days) {
        return Err(invalid("notice_days must be 0–90"));
    }
    let counting = crate::community::store::community(&mut conn, community).await?.ok_or_else(ApiError::not_found)?.rules;
    if input.rules.count_parking_spaces.is_some_and(|asked| asked != counting.count_parking_spaces) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "parking_rule_mismatch",
            "Whether parking spaces count is the community's setting, not the meeting's",
        )
        .with_detail(format!("the community's setting is count_parking_spaces = {}", counting.count_parking_spaces)));
    }
    let id = Uuid::now_v7();
    let m = conn
        .transaction(async |conn| {
            diesel::insert_into(meetings::table)
                .values((
                    meetings::id.eq(id),
                    meetings::community_id.eq(community),
                    meetings::chain_meeting_id.eq(domain::chain_meeting_id(id).to_vec()),
                    meetings::title.eq(&input.title),
                    meetings::status.eq(MeetingState::Draft.as_str()),
                    meetings::silent_counts_as_participating.eq(input.rules.silent_counts_as_participating),
                    meetings::silent_follows_majority.eq(input.rules.silent_follows_majority),
                    meetings::vote_change_allowed.eq(input.rules.vote_change_allowed),
                    meetings::count_parking_spaces.eq(counting.count_parking_spaces),
                    meetings::bureau_review_required.eq(input.bureau_review_required),
                    meetings::notice_days.eq(input.notice_days),
                    meetings::voting_starts_at.eq(input.voting_starts_at),
                    meetings::voting_ends_at.eq(input.voting_ends_at),
                    meetings::created_by.eq(account.0),
                ))
                .execute(conn)
                .await?;
            for (i, p) in input.proposals.iter().enumerate() {
                let (seats, candidates) = match &p.kind {
                    domain::ProposalKindDraft::YesNo => (0, Vec::new()),
                    domain::ProposalKindDraft::Election { seats, candidates } => (*seats, candidates.clone()),
                };
                diesel::insert_into(meeting_proposals::table)
                    .values((
                        meeting_proposals::meeting_id.eq(id),
                        meeting_proposals::idx.eq(i16::try_from(i).unwrap_or(i16::MAX)),
                        meeting_proposals::matter.eq(i16::from(p.matter)),
                        meeting_proposals::title.eq(&p.title),
                        meeting_proposals::body.eq(&p.body),
                        meeting_proposals::options.eq(serde_json::json!(super::tally::OPTION_LABELS)),
                        meeting_proposals::kind.eq(p.kind.as_str()),
                        meeting_proposals::seats.eq(i16::from(seats)),
                        meeting_proposals::candidates.eq(serde_json::json!(candidates)),
                        meeting_proposals::content_hash.eq(domain::proposal_content_hash(p, &[]).to_vec()),
                    ))
                    .execute(conn)
                    .await?;
            }
            crate::audit::append(conn, &account.0.to_string(), "meeting.draft", &id.to_string(), serde_json::json!({}))
                .await
                .map_err(ApiError::internal)?;
            store::meeting(conn, id).await
        })
        .await?;
    Ok(HttpResponse::Created().json(view(&mut conn, m).await?))
}

/// A meeting with its proposals (committee, or a verified owner of the community).
#[utoipa::path(
    tag = "governance",
    params(("meeting_id" = Uuid, Path)),
    responses((status = 200, body = MeetingView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("session" = []))
)]
#[get("/v1/meetings/{meeting_id}")]
async fn get_meeting(state: web::Data<AppState>, account: CurrentAccount, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.get().await?;
    let m = store::meeting(&mut conn, path.into_inner()).await?;
    require_meeting_reader(&mut conn, account.0, &m).await?;
    Ok(HttpResponse::Ok().json(view(&mut conn, m).await?))
}

/// Who may read this meeting and its attachments: the committee always; the community's verified owners once it
/// is published.
pub async fn require_meeting_reader(conn: &mut AsyncPgConnection, account: Uuid, m: &MeetingRow) -> Result<(), ApiError> {
    require_reader(conn, account, m.id).await?;
    if !m.state()?.is_public() {
        require_role(conn, account, m.community_id, Role::Committee).await?;
    }
    Ok(())
}

/// Submits a draft: automatic screening with the sensitive-word list, then WeChat's content-security check
/// (`msg_sec_check` v2, as written by the submitting member). Clean and WeChat "pass" → committee review; a list
/// match, any other WeChat suggestion or a check that could not be made → human review (`screening_review`) with
/// the matched terms in `screening_terms` and WeChat's labels and keywords in `screening_wechat`.
#[utoipa::path(
    tag = "governance",
    params(("meeting_id" = Uuid, Path)),
    responses((status = 200, body = MeetingView), (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("session" = []))
)]
#[post("/v1/meetings/{meeting_id}/submit")]
async fn submit_meeting(state: web::Data<AppState>, account: CurrentAccount, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let mut conn = state.db.get().await?;
    let screener = Screener::from_list(DEFAULT_LIST).map_err(ApiError::internal)?;
    let m = store::meeting(&mut conn, id).await?;
    require_role(&mut conn, account.0, m.community_id, Role::Committee).await?;
    // Refused before the screening's WeChat call; the step checks again under the row lock.
    lifecycle::transition(m.state()?, Action::Submit { clean: true }, &m.facts())?;
    // A draft's text never changes after creation, so it can be screened outside the transaction (the WeChat
    // call must not hold the row lock). Attachments can still come and go: the transaction below checks that the
    // ones screened here are still the ones there.
    let mut text = m.title.clone();
    for p in store::proposals(&mut conn, id).await? {
        text.push('\n');
        text.push_str(&p.title);
        text.push('\n');
        text.push_str(&p.body);
        // Candidates' names are shown to owners like the text (the option labels are the server's).
        for c in p.candidate_names() {
            text.push('\n');
            text.push_str(&c);
        }
    }
    // Attachment names are shown to owners like the text; the files themselves are not text to screen.
    let screened = super::attachments::list(&mut conn, id).await?;
    for a in &screened {
        text.push('\n');
        text.push_str(&a.file_name);
    }
    let terms = screener.matches(&text);
    let wechat = super::screening::wechat_check(&state, account.0, &text).await;
    let screened = steps::Screened {
        attachments: screened.iter().map(|a| a.id).collect(),
        clean: terms.is_empty() && wechat.as_ref().is_none_or(|w| w.passed()),
        terms,
        wechat: wechat.map(|w| serde_json::to_value(w).unwrap_or_default()),
    };
    let m = steps::submit(&mut conn, id, account.0, &screened).await?;
    Ok(HttpResponse::Ok().json(view(&mut conn, m).await?))
}

/// Human review of screened content (platform support staff): approve → committee review, reject → rejected.
#[utoipa::path(
    tag = "governance",
    params(("meeting_id" = Uuid, Path)),
    request_body = ReviewInput,
    responses((status = 200, body = MeetingView), (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("session" = []))
)]
#[post("/v1/meetings/{meeting_id}/screening-review")]
async fn screening_review(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    member_review(state, account, path, body, Role::Support, Stage::Screening).await
}

/// Committee review: two distinct committee members must approve; one rejection rejects. After the second
/// approval the meeting goes to the bureau (when required) or is published.
#[utoipa::path(
    tag = "governance",
    params(("meeting_id" = Uuid, Path)),
    request_body = ReviewInput,
    responses((status = 200, body = MeetingView), (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("session" = []))
)]
#[post("/v1/meetings/{meeting_id}/committee-review")]
async fn committee_review(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    member_review(state, account, path, body, Role::Committee, Stage::Committee).await
}

async fn member_review(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<Uuid>,
    body: web::Bytes,
    role: Role,
    stage: Stage,
) -> Result<HttpResponse, ApiError> {
    let input: ReviewInput = parse_json(&body)?;
    let mut conn = state.db.get().await?;
    let authority = steps::Authority::Member { account: account.0, role };
    let m = steps::review(&mut conn, path.into_inner(), &authority, stage, &input).await?;
    Ok(HttpResponse::Ok().json(view(&mut conn, m).await?))
}

/// Street-office review (organisation app, role `bureau`, community in scope): approve → published.
#[utoipa::path(
    tag = "openapi",
    params(("meeting_id" = Uuid, Path)),
    request_body = ReviewInput,
    responses((status = 200, body = MeetingView), (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("app_hmac" = []))
)]
#[post("/openapi/v1/meetings/{meeting_id}/bureau-review")]
async fn bureau_review(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.get().await?;
    let app = verify_org_request(&state, &mut conn, &req, &body).await?;
    let input: ReviewInput = parse_json(&body)?;
    let m = steps::review(&mut conn, path.into_inner(), &steps::Authority::Bureau(&app), Stage::Bureau, &input).await?;
    Ok(HttpResponse::Ok().json(view(&mut conn, m).await?))
}

/// Opens voting: freezes the roll from the register, stores its hash and totals, and queues the chain
/// writes (openMeeting, then addProposal per proposal). The contract needs the roll hash before the window
/// starts, so this runs after publication and before `voting_starts_at`.
#[utoipa::path(
    tag = "governance",
    params(("meeting_id" = Uuid, Path)),
    responses((status = 200, body = MeetingView), (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("session" = []))
)]
#[post("/v1/meetings/{meeting_id}/open")]
async fn open_meeting(state: web::Data<AppState>, account: CurrentAccount, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.get().await?;
    let margin = chrono::Duration::seconds(i64::try_from(state.governance.opening_margin_secs).unwrap_or(i64::MAX));
    let m = steps::open(&mut conn, path.into_inner(), account.0, margin).await?;
    Ok(HttpResponse::Ok().json(view(&mut conn, m).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublishedRollEntry {
    pub headcount_key: String,
    pub area_centi_m2: i64,
    pub heads: i64,
    pub units: Vec<RollUnit>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublishedRoll {
    pub meeting_id: Uuid,
    pub roll_hash: String,
    pub total_area_centi_m2: i64,
    pub total_heads: i64,
    pub entries: Vec<PublishedRollEntry>,
}

async fn published_roll(conn: &mut AsyncPgConnection, m: &MeetingRow) -> Result<PublishedRoll, ApiError> {
    let Some(hash) = &m.roll_hash else { return Err(conflict("roll_not_frozen", "The roll is not frozen yet")) };
    let entries = store::roll(conn, m.id)
        .await?
        .into_iter()
        .map(|e| PublishedRollEntry { headcount_key: e.key, area_centi_m2: e.area_centi_m2, heads: 1, units: e.units })
        .collect();
    Ok(PublishedRoll {
        meeting_id: m.id,
        roll_hash: hex::encode(hash),
        total_area_centi_m2: m.roll_area_centi_m2.unwrap_or(0),
        total_heads: m.roll_heads.unwrap_or(0),
        entries,
    })
}

/// The frozen roll: unit numbers and areas per headcount key, totals and hash; never names.
#[utoipa::path(
    tag = "governance",
    params(("meeting_id" = Uuid, Path)),
    responses((status = 200, body = PublishedRoll), (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("session" = []))
)]
#[get("/v1/meetings/{meeting_id}/roll")]
async fn get_roll(state: web::Data<AppState>, account: CurrentAccount, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.get().await?;
    let m = store::meeting(&mut conn, path.into_inner()).await?;
    require_reader(&conn, account.0, m.id).await?;
    Ok(HttpResponse::Ok().json(published_roll(&mut conn, &m).await?))
}

/// Casts the caller's ballot sheet: device-signed, PIN, `Idempotency-Key`, one choice per proposal. The sheet
/// and its outbox row are stored in one transaction with the idempotent answer.
/// Where the meeting's rules allow vote changes, a second sheet of the same caster (own, or through the same
/// proxy) replaces the live one in that transaction; the receipt's `replaces` names it.
#[utoipa::path(
    tag = "governance",
    params(("meeting_id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    request_body = SheetInput,
    responses(
        (status = 201, body = SheetReceipt),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "bad signature or replayed nonce"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "not on the roll, wrong PIN"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "window closed; already voted where the rules allow no change; a concurrent change"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "choices do not match the proposals"),
    ),
    security(("session" = []))
)]
#[post("/v1/meetings/{meeting_id}/sheets")]
async fn cast_sheet(
    state: web::Data<AppState>,
    account: CurrentAccount,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (meeting, account) = (path.into_inner(), account.0);
    let idem = crate::idempotency::from_request(&state.pii, &req, &body, crate::idempotency::Scope::account(account))?;
    let signature = SignedParts::from_request(&req);
    let mut conn = state.db.get().await?;
    match sheets::cast(&state, &mut conn, meeting, account, &body, &signature, &idem).await? {
        sheets::Cast::Stored(receipt) => {
            state.faults.reached(crate::fault::FaultPoint::SheetAfterCommitBeforeAnswer);
            Ok(HttpResponse::Created().content_type("application/json").body(receipt))
        }
        sheets::Cast::Replayed(answer) => Ok(answer.into_response()),
    }
}


#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MySheetQuery {
    /// The receipt of the sheet cast through this written proxy (absent: the caller's own sheet).
    pub proxy_id: Option<Uuid>,
}

/// The caller's receipt: sheet id and hash, and once forwarded the transaction hash and block number.
#[utoipa::path(
    tag = "governance",
    params(("meeting_id" = Uuid, Path), MySheetQuery),
    responses((status = 200, body = SheetReceipt), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("session" = []))
)]
#[get("/v1/meetings/{meeting_id}/sheets/mine")]
async fn my_sheet(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<Uuid>,
    query: web::Query<MySheetQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let proxy_id = query.into_inner().proxy_id;
    let mut conn = state.db.get().await?;
    type Row = (Uuid, Vec<u8>, i64, i32, serde_json::Value, DateTime<Utc>);
    let mut mine = ballot_sheets::table
        .filter(ballot_sheets::meeting_id.eq(id))
        .filter(ballot_sheets::account_id.eq(account.0))
        .filter(ballot_sheets::superseded_by.is_null())
        .into_boxed();
    mine = match proxy_id {
        None => mine.filter(ballot_sheets::proxy_id.is_null()),
        Some(proxy) => mine.filter(ballot_sheets::proxy_id.eq(proxy)),
    };
    let row: Option<Row> = mine
        .select((
            ballot_sheets::id,
            ballot_sheets::sheet_hash,
            ballot_sheets::area_centi_m2,
            ballot_sheets::heads,
            ballot_sheets::choices,
            ballot_sheets::created_at,
        ))
        .first(&mut conn)
        .await
        .optional()?;
    let (sheet_id, hash, area, heads, choices, at) = row.ok_or_else(ApiError::not_found)?;
    let replaces: Option<Uuid> = ballot_sheets::table
        .filter(ballot_sheets::superseded_by.eq(sheet_id))
        .select(ballot_sheets::id)
        .first(&mut conn)
        .await
        .optional()?;
    let chain = outbox::row_state(&conn, Kind::CastSheet, sheet_id).await?;
    let chain = chain.unwrap_or(outbox::RowState { status: "pending".into(), tx_hash: None, block_number: None });
    Ok(HttpResponse::Ok().json(SheetReceipt {
        sheet_id,
        meeting_id: id,
        sheet_hash: hex::encode(hash),
        area_centi_m2: area,
        heads: i64::from(heads),
        choices: serde_json::from_value(choices).unwrap_or_default(),
        proxy_id,
        replaces,
        submitted_at: at,
        tx_hash: chain.tx_hash,
        block_number: chain.block_number,
        chain_status: chain.status,
    }))
}

/// Closes voting after the window (committee): queues the contract's finalize, after every sheet.
#[utoipa::path(
    tag = "governance",
    params(("meeting_id" = Uuid, Path)),
    responses((status = 200, body = MeetingView), (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("session" = []))
)]
#[post("/v1/meetings/{meeting_id}/close")]
async fn close_meeting(state: web::Data<AppState>, account: CurrentAccount, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.get().await?;
    let m = steps::close(&mut conn, path.into_inner(), account.0).await?;
    Ok(HttpResponse::Ok().json(view(&mut conn, m).await?))
}

/// Bureau supervision: the meetings of a community in the app's scope, newest first (every stage after the
/// committee's private draft), with status, window, roll hash and totals (organisation app, role `bureau`).
#[utoipa::path(
    tag = "openapi",
    params(("community_id" = Uuid, Path)),
    responses((status = 200, body = Vec<MeetingRow>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("app_hmac" = []))
)]
#[get("/openapi/v1/communities/{community_id}/meetings")]
async fn org_list_meetings(state: web::Data<AppState>, req: HttpRequest, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let community = path.into_inner();
    let mut conn = state.db.get().await?;
    let app = verify_org_request(&state, &mut conn, &req, &[]).await?;
    app.require(&[OrgRole::Bureau], community)?;
    let rows: Vec<MeetingRow> = meetings::table
        .filter(meetings::community_id.eq(community))
        .filter(meetings::status.ne(MeetingState::Draft.as_str()))
        .order((meetings::created_at.desc(), meetings::id.desc()))
        .select(MeetingRow::as_select())
        .load(&mut conn)
        .await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// The meeting a bureau app asks about, once the app's signature, role and community scope are checked. The
/// committee's private draft is not the bureau's to see (404), as in the bureau's list.
pub(super) async fn bureau_meeting(state: &AppState, req: &HttpRequest, id: Uuid) -> Result<(diesel_async::pooled_connection::deadpool::Object<AsyncPgConnection>, MeetingRow), ApiError> {
    let mut conn = state.db.get().await?;
    let app = verify_org_request(state, &mut conn, req, &[]).await?;
    let m = store::meeting(&mut conn, id).await?;
    app.require(&[OrgRole::Bureau], m.community_id)?;
    if m.state()? == MeetingState::Draft {
        return Err(ApiError::not_found());
    }
    Ok((conn, m))
}

/// Bureau supervision: a meeting with its roll hash and totals (organisation app, role `bureau`).
#[utoipa::path(
    tag = "openapi",
    params(("meeting_id" = Uuid, Path)),
    responses((status = 200, body = MeetingView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("app_hmac" = []))
)]
#[get("/openapi/v1/meetings/{meeting_id}")]
async fn org_get_meeting(state: web::Data<AppState>, req: HttpRequest, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let (mut conn, m) = bureau_meeting(&state, &req, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view(&mut conn, m).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignedResult {
    /// The result document (see `governance::result`).
    #[schema(value_type = Object)]
    pub document: serde_json::Value,
    /// `ed25519:<public key base64>:<signature base64>` over the compact JSON bytes of `document`.
    pub signature: String,
    /// Where the chain holds the document's SHA-256 and the signing key (`recordResult`); null until queued.
    pub anchor: Option<ResultAnchor>,
}

/// The on-chain anchor of a result document.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResultAnchor {
    /// hex SHA-256 of the compact JSON bytes of `document`, the bytes the signature covers.
    pub sha256: String,
    /// Outbox state: pending, sent, done, failed.
    pub chain_status: String,
    pub tx_hash: Option<String>,
    pub block_number: Option<i64>,
}

/// The signed result of `m` with its anchor's state.
async fn anchored_result(conn: &mut AsyncPgConnection, m: &MeetingRow) -> Result<SignedResult, ApiError> {
    let mut signed = signed_result(m)?;
    let sha256: Option<Vec<u8>> = meetings::table.find(m.id).select(meetings::result_sha256).first(conn).await?;
    let row = outbox::row_state(conn, Kind::RecordResult, m.id).await?;
    signed.anchor = sha256.zip(row).map(|(sha256, row)| ResultAnchor {
        sha256: hex::encode(sha256),
        tx_hash: row.tx_hash,
        block_number: row.block_number,
        chain_status: row.status,
    });
    Ok(signed)
}

fn signed_result(m: &MeetingRow) -> Result<SignedResult, ApiError> {
    if m.result_mismatch {
        return Err(lifecycle::RESULT_MISMATCH.into());
    }
    lifecycle::transition(m.state()?, Action::PublishResult, &m.facts())?;
    match (&m.result, &m.result_signature) {
        (Some(d), Some(s)) => Ok(SignedResult { document: d.clone(), signature: s.clone(), anchor: None }),
        _ => Err(lifecycle::RESULT_NOT_READY.into()),
    }
}

/// The signed result document (JSON).
#[utoipa::path(
    tag = "governance",
    params(("meeting_id" = Uuid, Path)),
    responses((status = 200, body = SignedResult), (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("session" = []))
)]
#[get("/v1/meetings/{meeting_id}/result")]
async fn get_result(state: web::Data<AppState>, account: CurrentAccount, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.get().await?;
    let m = store::meeting(&mut conn, path.into_inner()).await?;
    require_reader(&conn, account.0, m.id).await?;
    Ok(HttpResponse::Ok().json(anchored_result(&mut conn, &m).await?))
}

/// The printable result page (HTML).
#[utoipa::path(
    tag = "governance",
    params(("meeting_id" = Uuid, Path)),
    responses((status = 200, content_type = "text/html", body = String), (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("session" = []))
)]
#[get("/v1/meetings/{meeting_id}/result.html")]
async fn get_result_html(state: web::Data<AppState>, account: CurrentAccount, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.get().await?;
    let m = store::meeting(&mut conn, path.into_inner()).await?;
    require_reader(&conn, account.0, m.id).await?;
    let r = signed_result(&m)?;
    let png = super::chart::png(&super::chart::weights_of(&r.document)).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(super::result::result_html(&r.document, &r.signature, Some(&png))))
}

/// The result chart (PNG): per proposal, bars of area and of headcount per option (strict tally); colours in
/// option order as in the HTML page's legend.
#[utoipa::path(
    tag = "governance",
    params(("meeting_id" = Uuid, Path)),
    responses((status = 200, content_type = "image/png", body = Vec<u8>), (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("session" = []))
)]
#[get("/v1/meetings/{meeting_id}/result.png")]
async fn get_result_png(state: web::Data<AppState>, account: CurrentAccount, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.get().await?;
    let m = store::meeting(&mut conn, path.into_inner()).await?;
    require_reader(&conn, account.0, m.id).await?;
    let r = signed_result(&m)?;
    let png = super::chart::png(&super::chart::weights_of(&r.document)).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().content_type("image/png").body(png))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct VerifyQuery {
    /// The sheet id from the receipt.
    pub sheet: Uuid,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SheetVerification {
    pub sheet_id: Uuid,
    pub sheet_hash: String,
    /// The sheet is stored and counted in the server's tally (false once a later sheet replaced it).
    pub counted: bool,
    /// The later sheet of the same caster that replaced this one (meetings that allow vote changes).
    pub superseded_by: Option<Uuid>,
    /// The chain committed the sheet's transaction.
    pub on_chain: bool,
    pub tx_hash: Option<String>,
    pub block_number: Option<i64>,
    /// After the window: the chain opened the sheet's commitment and counted its choices.
    pub revealed: bool,
    pub reveal_tx_hash: Option<String>,
}

/// Lets an owner check that their sheet is counted and on chain (only the owner's own sheet).
#[utoipa::path(
    tag = "governance",
    params(("meeting_id" = Uuid, Path), VerifyQuery),
    responses((status = 200, body = SheetVerification), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("session" = []))
)]
#[get("/v1/meetings/{meeting_id}/verify")]
async fn verify_sheet(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<Uuid>,
    query: web::Query<VerifyQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let mut conn = state.db.get().await?;
    let (hash, superseded_by): (Vec<u8>, Option<Uuid>) = ballot_sheets::table
        .find(query.sheet)
        .filter(ballot_sheets::meeting_id.eq(id))
        .filter(ballot_sheets::account_id.eq(account.0))
        .select((ballot_sheets::sheet_hash, ballot_sheets::superseded_by))
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(ApiError::not_found)?;
    let chain = outbox::row_state(&conn, Kind::CastSheet, query.sheet).await?.filter(outbox::RowState::done);
    let reveal = outbox::row_state(&conn, Kind::RevealSheet, query.sheet).await?.filter(outbox::RowState::done);
    Ok(HttpResponse::Ok().json(SheetVerification {
        sheet_id: query.sheet,
        sheet_hash: hex::encode(hash),
        counted: superseded_by.is_none(),
        superseded_by,
        on_chain: chain.is_some(),
        tx_hash: chain.as_ref().and_then(|c| c.tx_hash.clone()),
        block_number: chain.and_then(|c| c.block_number),
        revealed: reveal.is_some(),
        reveal_tx_hash: reveal.and_then(|r| r.tx_hash),
    }))
}

/// Bureau supervision: the frozen roll (hash, totals, units and areas).
#[utoipa::path(
    tag = "openapi",
    params(("meeting_id" = Uuid, Path)),
    responses((status = 200, body = PublishedRoll), (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("app_hmac" = []))
)]
#[get("/openapi/v1/meetings/{meeting_id}/roll")]
async fn org_get_roll(state: web::Data<AppState>, req: HttpRequest, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let (mut conn, m) = bureau_meeting(&state, &req, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(published_roll(&mut conn, &m).await?))
}

/// Bureau supervision: the signed result with its chain references.
#[utoipa::path(
    tag = "openapi",
    params(("meeting_id" = Uuid, Path)),
    responses((status = 200, body = SignedResult), (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("app_hmac" = []))
)]
#[get("/openapi/v1/meetings/{meeting_id}/result")]
async fn org_get_result(state: web::Data<AppState>, req: HttpRequest, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let (mut conn, m) = bureau_meeting(&state, &req, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(anchored_result(&mut conn, &m).await?))
}

/// One owner's proof of service for a meeting.
#[derive(Debug, Serialize, ToSchema, Queryable)]
pub struct NoticeView {
    pub account_id: Uuid,
    /// `wechat_subscribe` (pushed) or `in_app` (opened in the app without a push).
    pub channel: String,
    /// pending, sending, sent, failed, unknown (no answer, never re-sent), not_pushed.
    pub status: String,
    pub attempts: i32,
    pub sent_at: Option<DateTime<Utc>>,
    /// WeChat's errcode of the last answer (0 = accepted).
    pub errcode: Option<i64>,
    pub read_at: Option<DateTime<Utc>>,
    /// The roll keys this owner was served for.
    #[schema(value_type = Vec<String>)]
    pub headcount_keys: serde_json::Value,
}

type NoticeColumns = (
    meeting_notices::account_id,
    meeting_notices::channel,
    meeting_notices::status,
    meeting_notices::attempts,
    meeting_notices::sent_at,
    meeting_notices::errcode,
    meeting_notices::read_at,
    meeting_notices::headcount_keys,
);
const NOTICE_COLUMNS: NoticeColumns = (
    meeting_notices::account_id,
    meeting_notices::channel,
    meeting_notices::status,
    meeting_notices::attempts,
    meeting_notices::sent_at,
    meeting_notices::errcode,
    meeting_notices::read_at,
    meeting_notices::headcount_keys,
);

/// Read receipt: the owner opened the meeting's notice (recorded once, the first time). Counts as service when
/// made before voting opens.
#[utoipa::path(
    tag = "governance",
    params(("meeting_id" = Uuid, Path)),
    responses((status = 200, body = NoticeView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("session" = []))
)]
#[post("/v1/meetings/{meeting_id}/notice/read")]
async fn read_notice(state: web::Data<AppState>, account: CurrentAccount, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let mut conn = state.db.get().await?;
    let m = store::meeting(&mut conn, id).await?;
    require_reader(&conn, account.0, m.id).await?;
    if !m.state()?.is_public() {
        // Before publication there is no notice, and owners cannot see the draft at all.
        return Err(ApiError::not_found());
    }
    if !store::record_read(&mut conn, &m, account.0).await? {
        // A committee member who owns nothing here: there is nobody to serve.
        return Err(ApiError::not_found());
    }
    let view: NoticeView = meeting_notices::table
        .find((id, account.0))
        .select(NOTICE_COLUMNS)
        .first(&mut conn)
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Proof of service per owner (committee): channel, send outcome with WeChat's errcode, time, read receipt.
#[utoipa::path(
    tag = "governance",
    params(("meeting_id" = Uuid, Path)),
    responses((status = 200, body = Vec<NoticeView>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("session" = []))
)]
#[get("/v1/meetings/{meeting_id}/notices")]
async fn list_notices(state: web::Data<AppState>, account: CurrentAccount, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let mut conn = state.db.get().await?;
    let m = store::meeting(&mut conn, id).await?;
    require_role(&mut conn, account.0, m.community_id, Role::Committee).await?;
    let rows: Vec<NoticeView> = meeting_notices::table
        .filter(meeting_notices::meeting_id.eq(id))
        .order(meeting_notices::account_id.asc())
        .select(NOTICE_COLUMNS)
        .load(&mut conn)
        .await?;
    Ok(HttpResponse::Ok().json(rows))
}
