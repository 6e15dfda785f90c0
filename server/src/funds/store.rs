//! Fund plans and disbursements in PostgreSQL: each function owns its transaction, writes the effect, its
//! `funds` log entry and its outbox row together, so a plan, an approval or a transfer is on chain exactly once.

use actix_web::http::StatusCode;
use alloy_sol_types::SolCall;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use linli_ledger_client::governance::LinliGovernance;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::domain::{self, Budget, BudgetRefusal, Evidence, PlanEvent, PlanState, ValidPlan};
use crate::chain::outbox::{self, Kind};
use crate::error::ApiError;
use crate::logs::{LogName, store as logs};
use crate::schema::{
    buildings, disbursement_approvals, disbursements, fund_plan_items, fund_plan_shares, fund_plans, fund_rules, meeting_proposals,
    meetings, units,
};

/// Committee approvals a disbursement needs where the community set no rule.
pub const DEFAULT_APPROVALS: i16 = 2;

fn unprocessable(code: &'static str, title: &'static str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, title)
}

fn conflict(code: &'static str, title: &'static str) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, code, title)
}

pub fn budget_refused(r: BudgetRefusal) -> ApiError {
    match r {
        BudgetRefusal::NotPositive => unprocessable("amount_invalid", "The amount must be at least 1 fen"),
        BudgetRefusal::OverBudget { .. } => {
            unprocessable("over_budget", "The amount exceeds the plan's remaining budget").with_detail(r.to_string())
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = fund_plans)]
pub struct PlanRow {
    pub id: Uuid,
    pub community_id: Uuid,
    /// draft, filed, in_meeting, approved, rejected or closed.
    pub status: String,
    pub title: String,
    pub budget_fen: i64,
    /// Everything filed: items, apportionment by area, evidence (what the vote and the chain bind by hash).
    pub document: serde_json::Value,
    #[serde(serialize_with = "hex_bytes", deserialize_with = "unhex")]
    #[schema(value_type = String)]
    pub plan_hash: Vec<u8>,
    #[serde(skip)]
    pub filed_by_app: String,
    pub meeting_id: Option<Uuid>,
    #[serde(rename = "proposal_index")]
    pub proposal_idx: Option<i16>,
    pub created_at: DateTime<Utc>,
    pub filed_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
}

fn hex_bytes<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(v))
}

fn unhex<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let s = String::deserialize(d)?;
    hex::decode(s).map_err(serde::de::Error::custom)
}

impl PlanRow {
    pub fn state(&self) -> Result<PlanState, ApiError> {
        PlanState::parse(&self.status).ok_or_else(|| ApiError::internal(anyhow::anyhow!("plan status {}", self.status)))
    }
}

/// A plan with the money moved against it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PlanView {
    #[serde(flatten)]
    pub plan: PlanRow,
    pub approved_fen: i64,
    pub executed_fen: i64,
    pub remaining_fen: i64,
    pub disbursements: Vec<DisbursementRow>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = disbursements)]
pub struct DisbursementRow {
    pub id: Uuid,
    pub plan_id: Uuid,
    pub community_id: Uuid,
    pub amount_fen: i64,
    pub contractor: String,
    pub invoice: serde_json::Value,
    pub acceptance: serde_json::Value,
    #[serde(skip)]
    pub evidence_hash: Vec<u8>,
    /// requested, approved (forwarded to the chain) or executed (reported by the bank).
    pub status: String,
    #[serde(skip)]
    pub requested_by_app: String,
    pub requested_at: DateTime<Utc>,
    pub approved_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub bank_app: Option<String>,
    pub bank_ref: Option<String>,
    pub executed_on: Option<NaiveDate>,
    pub counterparty: Option<String>,
    pub reported_at: Option<DateTime<Utc>>,
}

pub async fn plan(conn: &mut AsyncPgConnection, id: Uuid) -> Result<PlanRow, ApiError> {
    fund_plans::table.find(id).select(PlanRow::as_select()).first(conn).await.optional()?.ok_or_else(ApiError::not_found)
}

pub async fn disbursement(conn: &mut AsyncPgConnection, id: Uuid) -> Result<DisbursementRow, ApiError> {
    disbursements::table.find(id).select(DisbursementRow::as_select()).first(conn).await.optional()?.ok_or_else(ApiError::not_found)
}

async fn budget_of(conn: &mut AsyncPgConnection, plan: &PlanRow) -> QueryResult<(Budget, i64, Vec<DisbursementRow>)> {
    let rows: Vec<DisbursementRow> = disbursements::table
        .filter(disbursements::plan_id.eq(plan.id))
        .order(disbursements::requested_at)
        .select(DisbursementRow::as_select())
        .load(conn)
        .await?;
    let sum = |f: &dyn Fn(&DisbursementRow) -> bool| rows.iter().filter(|d| f(d)).map(|d| d.amount_fen).sum::<i64>();
    let budget = Budget {
        budget_fen: plan.budget_fen,
        approved_fen: sum(&|d| d.status != "requested"),
        pending_fen: sum(&|d| d.status == "requested"),
    };
    let executed = sum(&|d| d.status == "executed");
    Ok((budget, executed, rows))
}

pub async fn plan_view(conn: &mut AsyncPgConnection, plan: PlanRow) -> Result<PlanView, ApiError> {
    let (budget, executed_fen, disbursements) = budget_of(conn, &plan).await?;
    Ok(PlanView {
        approved_fen: budget.approved_fen,
        executed_fen,
        remaining_fen: budget.budget_fen - budget.approved_fen,
        disbursements,
        plan,
    })
}

/// Files a draft (the property company): resolves the units concerned and apportions the budget over their
/// exclusive areas, fixes the plan document and its hash. Stored as a draft; [`file_plan`] files it.
pub async fn create_plan(conn: &mut AsyncPgConnection, community: Uuid, app: &str, plan: &ValidPlan) -> Result<PlanRow, ApiError> {
    conn.transaction(async |conn| {
        let all: Vec<(Uuid, String, String, i64)> = units::table
            .inner_join(buildings::table.on(buildings::id.eq(units::building_id)))
            .filter(units::community_id.eq(community))
            .filter(units::retired_at.is_null())
            .order((buildings::code, units::number))
            .select((units::id, buildings::code, units::number, units::exclusive_area_centi_m2))
            .load(conn)
            .await?;
        let concerned: Vec<(Uuid, i64)> = if plan.units.is_empty() {
            all.iter().map(|(id, _, _, a)| (*id, *a)).collect()
        } else {
            plan.units
                .iter()
                .map(|u| {
                    all.iter().find(|(_, b, n, _)| *b == u.building && *n == u.unit).map(|(id, _, _, a)| (*id, *a)).ok_or_else(|| {
                        unprocessable("fund_unit_unknown", "A unit concerned is not in the community's register")
                            .with_detail(format!("{}/{}", u.building, u.unit))
                    })
                })
                .collect::<Result<_, _>>()?
        };
        let shares = domain::apportion(plan.budget_fen, &concerned)
            .ok_or_else(|| unprocessable("fund_units_without_area", "The units concerned have no area to apportion by"))?;
        let id = Uuid::now_v7();
        let document = domain::plan_document(id, community, plan, &shares);
        let hash = domain::plan_hash(&document);
        diesel::insert_into(fund_plans::table)
            .values((
                fund_plans::id.eq(id),
                fund_plans::community_id.eq(community),
                fund_plans::status.eq(PlanState::Draft.as_str()),
                fund_plans::title.eq(&plan.title),
                fund_plans::budget_fen.eq(plan.budget_fen),
                fund_plans::document.eq(&document),
                fund_plans::plan_hash.eq(hash.to_vec()),
                fund_plans::filed_by_app.eq(app),
            ))
            .execute(conn)
            .await?;
        for (i, (category, description, budget, contractor)) in plan.items.iter().enumerate() {
            diesel::insert_into(fund_plan_items::table)
                .values((
                    fund_plan_items::plan_id.eq(id),
                    fund_plan_items::position.eq(i as i16),
                    fund_plan_items::category.eq(category.as_str()),
                    fund_plan_items::description.eq(description),
                    fund_plan_items::budget_fen.eq(budget),
                    fund_plan_items::contractor.eq(contractor),
                ))
                .execute(conn)
                .await?;
        }
        let area_of = |u: &Uuid| concerned.iter().find(|(id, _)| id == u).map_or(0, |(_, a)| *a);
        for chunk in shares.chunks(1000) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|(u, s)| {
                    (
                        fund_plan_shares::plan_id.eq(id),
                        fund_plan_shares::unit_id.eq(*u),
                        fund_plan_shares::area_centi_m2.eq(area_of(u)),
                        fund_plan_shares::share_fen.eq(*s),
                    )
                })
                .collect();
            diesel::insert_into(fund_plan_shares::table).values(rows).execute(conn).await?;
        }
        plan_row(conn, id).await
    })
    .await
}

async fn plan_row(conn: &mut AsyncPgConnection, id: Uuid) -> Result<PlanRow, ApiError> {
    Ok(fund_plans::table.find(id).select(PlanRow::as_select()).first(conn).await?)
}

async fn locked_plan(conn: &mut AsyncPgConnection, id: Uuid) -> Result<PlanRow, ApiError> {
    fund_plans::table.find(id).select(PlanRow::as_select()).for_update().first(conn).await.optional()?.ok_or_else(ApiError::not_found)
}

fn bad_state(plan: &PlanRow) -> ApiError {
    conflict("fund_plan_state", "The plan is not in a state that allows this").with_detail(format!("the plan is {}", plan.status))
}

/// draft → filed: the plan is final and enters the `funds` log.
pub async fn file_plan(conn: &mut AsyncPgConnection, id: Uuid, community_scope: &[Uuid]) -> Result<PlanRow, ApiError> {
    conn.transaction(async |conn| {
        let plan = locked_plan(conn, id).await?;
        if !community_scope.contains(&plan.community_id) {
            return Err(ApiError::not_found());
        }
        if plan.state()? == PlanState::Filed {
            return Ok(plan);
        }
        let next = domain::transition(plan.state()?, PlanEvent::File).ok_or_else(|| bad_state(&plan))?;
        diesel::update(fund_plans::table.find(id))
            .set((fund_plans::status.eq(next.as_str()), fund_plans::filed_at.eq(Utc::now())))
            .execute(conn)
            .await?;
        let entry = serde_json::json!({
            "event": "plan_filed", "plan_id": id, "title": plan.title, "budget_fen": plan.budget_fen,
            "plan_hash": hex::encode(&plan.plan_hash), "document": plan.document,
        });
        logs::append(conn, plan.community_id, LogName::Funds, &entry).await?;
        plan_row(conn, id).await
    })
    .await
}

/// filed → in_meeting (the committee): the plan goes into a matter-5 or matter-6 yes/no proposal of a draft
/// meeting of its community; the proposal's text gains the plan's id, budget and hash, and its content hash
/// (sent on chain when voting opens) is recomputed, so neither can change afterwards.
pub async fn attach_plan(conn: &mut AsyncPgConnection, id: Uuid, meeting: Uuid, index: i16) -> Result<PlanRow, ApiError> {
    conn.transaction(async |conn| {
        let plan = locked_plan(conn, id).await?;
        let m = crate::governance::store::meeting(conn, meeting).await?;
        if m.community_id != plan.community_id {
            return Err(ApiError::not_found());
        }
        if m.state()? != crate::governance::lifecycle::MeetingState::Draft {
            return Err(conflict("meeting_not_draft", "A plan goes into a meeting while the meeting is a draft"));
        }
        let next = domain::transition(plan.state()?, PlanEvent::Attach).ok_or_else(|| bad_state(&plan))?;
        let proposal: (i16, String, String) = meeting_proposals::table
            .find((meeting, index))
            .select((meeting_proposals::matter, meeting_proposals::kind, meeting_proposals::body))
            .for_update()
            .first(conn)
            .await
            .optional()?
            .ok_or_else(|| unprocessable("proposal_unknown", "The meeting has no proposal with that index"))?;
        if !matches!(proposal.0, 5 | 6) || proposal.1 != "yes_no" {
            return Err(unprocessable("proposal_not_fundable", "A fund plan goes into a yes/no proposal of matter 5 or 6"));
        }
        let taken: i64 = fund_plans::table
            .filter(fund_plans::meeting_id.eq(meeting))
            .filter(fund_plans::proposal_idx.eq(index))
            .count()
            .get_result(conn)
            .await?;
        if taken > 0 {
            return Err(conflict("proposal_has_plan", "The proposal already carries a plan"));
        }
        let hash: [u8; 32] = plan.plan_hash.as_slice().try_into().map_err(ApiError::internal)?;
        let body = format!("{}{}", proposal.2, domain::proposal_clause(id, plan.budget_fen, &hash));
        if body.chars().count() > 20_000 {
            return Err(unprocessable("proposal_too_long", "The proposal's text with the plan would exceed 20000 characters"));
        }
        diesel::update(meeting_proposals::table.find((meeting, index))).set(meeting_proposals::body.eq(&body)).execute(conn).await?;
        crate::governance::attachments::rehash(conn, meeting, index).await?;
        diesel::update(fund_plans::table.find(id))
            .set((fund_plans::status.eq(next.as_str()), fund_plans::meeting_id.eq(meeting), fund_plans::proposal_idx.eq(index)))
            .execute(conn)
            .await?;
        let entry = serde_json::json!({"event": "plan_in_meeting", "plan_id": id, "meeting_id": meeting, "proposal_index": index});
        logs::append(conn, plan.community_id, LogName::Funds, &entry).await?;
        plan_row(conn, id).await
    })
    .await
}

/// Decides the plans whose meeting is finalized, by the published binding result of their proposal: a passed
/// plan is approved and `registerFundPlan` queued (the contract checks the pass again); the others are rejected.
/// Run by every instance periodically (row locks make that harmless).
pub async fn decide_plans(conn: &mut AsyncPgConnection) -> Result<usize, ApiError> {
    let waiting: Vec<Uuid> = fund_plans::table
        .inner_join(meetings::table.on(meetings::id.nullable().eq(fund_plans::meeting_id)))
        .filter(fund_plans::status.eq(PlanState::InMeeting.as_str()))
        .filter(meetings::status.eq(crate::governance::lifecycle::MeetingState::Finalized.as_str()))
        .filter(meetings::result.is_not_null())
        .select(fund_plans::id)
        .load(conn)
        .await?;
    let mut decided = 0;
    for id in waiting {
        let done = conn
            .transaction(async |conn| {
                let Some(plan) = fund_plans::table
                    .find(id)
                    .filter(fund_plans::status.eq(PlanState::InMeeting.as_str()))
                    .select(PlanRow::as_select())
                    .for_update()
                    .skip_locked()
                    .first(conn)
                    .await
                    .optional()?
                else {
                    return Ok::<_, ApiError>(false);
                };
                let (Some(meeting), Some(index)) = (plan.meeting_id, plan.proposal_idx) else { return Ok(false) };
                let (result, chain_meeting): (Option<serde_json::Value>, Vec<u8>) =
                    meetings::table.find(meeting).select((meetings::result, meetings::chain_meeting_id)).first(conn).await?;
                let passed = result
                    .as_ref()
                    .and_then(|r| r["proposals"].as_array())
                    .and_then(|ps| ps.iter().find(|p| p["index"].as_i64() == Some(i64::from(index))))
                    .and_then(|p| p["passed"].as_bool())
                    .unwrap_or(false);
                let next = domain::transition(PlanState::InMeeting, PlanEvent::Decided { passed }).ok_or_else(|| bad_state(&plan))?;
                diesel::update(fund_plans::table.find(id))
                    .set((fund_plans::status.eq(next.as_str()), fund_plans::decided_at.eq(Utc::now())))
                    .execute(conn)
                    .await?;
                if passed {
                    let meeting_id: [u8; 32] = chain_meeting.as_slice().try_into().map_err(ApiError::internal)?;
                    let hash: [u8; 32] = plan.plan_hash.as_slice().try_into().map_err(ApiError::internal)?;
                    let call = LinliGovernance::registerFundPlanCall {
                        planId: domain::chain_id(id).into(),
                        meetingId: meeting_id.into(),
                        proposalIndex: u8::try_from(index).map_err(ApiError::internal)?,
                        budgetFen: u128::try_from(plan.budget_fen).map_err(ApiError::internal)?,
                        planHash: hash.into(),
                    };
                    outbox::enqueue(conn, plan.community_id, Kind::RegisterFundPlan, id, call.abi_encode()).await?;
                }
                let entry = serde_json::json!({"event": "plan_decided", "plan_id": id, "meeting_id": meeting, "passed": passed});
                logs::append(conn, plan.community_id, LogName::Funds, &entry).await?;
                // Fund events are disclosed without anyone having to (issue 23 item 6).
                crate::disclosure::store::publish_automatic(
                    conn,
                    plan.community_id,
                    "fund_event",
                    format!("维修资金使用方案「{}」{}", plan.title, if passed { "经业主大会表决通过" } else { "未获业主大会通过" }),
                    None,
                    format!(
                        "方案 {id}，预算 {} 元，方案哈希 sha256:{}。",
                        domain::yuan(plan.budget_fen),
                        hex::encode(&plan.plan_hash)
                    ),
                )
                .await?;
                Ok(true)
            })
            .await?;
        decided += usize::from(done);
    }
    Ok(decided)
}

/// What the property company asks to pay against a plan.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisbursementInput {
    pub amount_fen: i64,
    pub contractor: String,
    /// The contractor's invoice(s).
    pub invoice: Vec<Evidence>,
    /// The acceptance of the work (验收) the payment is for.
    pub acceptance: Vec<Evidence>,
}

fn evidence_ok(list: &[Evidence]) -> bool {
    !list.is_empty()
        && list.len() <= domain::MAX_EVIDENCE
        && list.iter().all(|e| {
            crate::governance::domain::valid_attachment_name(&e.file_name)
                && e.sha256.len() == 64
                && e.sha256.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        })
}

/// A request against an approved plan, refused over the remaining budget (what is neither approved nor already
/// requested).
pub async fn request_disbursement(
    conn: &mut AsyncPgConnection,
    plan_id: Uuid,
    app: &str,
    input: &DisbursementInput,
) -> Result<DisbursementRow, ApiError> {
    let n = input.contractor.chars().count();
    if n == 0 || n > 200 || input.contractor.trim() != input.contractor {
        return Err(unprocessable("contractor_invalid", "The contractor is 1–200 characters"));
    }
    if !evidence_ok(&input.invoice) || !evidence_ok(&input.acceptance) {
        return Err(unprocessable("evidence_invalid", "Invoice and acceptance each need 1–20 files named with their hex SHA-256"));
    }
    conn.transaction(async |conn| {
        let plan = locked_plan(conn, plan_id).await?;
        // A closed plan passed and is spent: what it refuses is the amount (more needs a new plan and vote).
        if !matches!(plan.state()?, PlanState::Approved | PlanState::Closed) {
            return Err(conflict("fund_plan_not_approved", "Disbursements are requested against a plan the owners passed")
                .with_detail(format!("the plan is {}", plan.status)));
        }
        let (budget, _, _) = budget_of(conn, &plan).await?;
        budget.check_request(input.amount_fen).map_err(budget_refused)?;
        let id = Uuid::now_v7();
        let invoice = serde_json::to_value(&input.invoice).map_err(ApiError::internal)?;
        let acceptance = serde_json::to_value(&input.acceptance).map_err(ApiError::internal)?;
        let evidence = serde_json::json!({"invoice": invoice, "acceptance": acceptance});
        let evidence_hash = sha256(crate::audit::canonical_json(&evidence).as_bytes());
        diesel::insert_into(disbursements::table)
            .values((
                disbursements::id.eq(id),
                disbursements::plan_id.eq(plan_id),
                disbursements::community_id.eq(plan.community_id),
                disbursements::amount_fen.eq(input.amount_fen),
                disbursements::contractor.eq(&input.contractor),
                disbursements::invoice.eq(&invoice),
                disbursements::acceptance.eq(&acceptance),
                disbursements::evidence_hash.eq(evidence_hash.to_vec()),
                disbursements::status.eq("requested"),
                disbursements::requested_by_app.eq(app),
            ))
            .execute(conn)
            .await?;
        let entry = serde_json::json!({
            "event": "disbursement_requested", "disbursement_id": id, "plan_id": plan_id, "amount_fen": input.amount_fen,
            "contractor": input.contractor, "evidence_hash": hex::encode(evidence_hash), "evidence": evidence,
        });
        logs::append(conn, plan.community_id, LogName::Funds, &entry).await?;
        disbursement(conn, id).await
    })
    .await
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

/// The committee approvals a disbursement of this community needs.
pub async fn approvals_required(conn: &mut AsyncPgConnection, community: Uuid) -> QueryResult<i16> {
    Ok(fund_rules::table
        .find(community)
        .select(fund_rules::approvals_required)
        .first(conn)
        .await
        .optional()?
        .unwrap_or(DEFAULT_APPROVALS))
}

/// How an approval ended.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApprovalView {
    pub disbursement: DisbursementRow,
    pub approvals: i64,
    pub approvals_required: i16,
}

/// One committee member's approval, inside the caller's transaction (the PIN check and its lock are the
/// caller's): recorded once per member; when the community's count is reached the disbursement is approved
/// against the remaining budget and `approveDisbursement` queued.
pub async fn record_approval(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    account: Uuid,
    device_serial: &str,
    nonce: &str,
) -> Result<ApprovalView, ApiError> {
    let d: DisbursementRow = disbursements::table
        .find(id)
        .select(DisbursementRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or_else(ApiError::not_found)?;
    let required = approvals_required(conn, d.community_id).await?;
    let inserted = diesel::insert_into(disbursement_approvals::table)
        .values((
            disbursement_approvals::disbursement_id.eq(id),
            disbursement_approvals::account_id.eq(account),
            disbursement_approvals::device_serial.eq(device_serial),
            disbursement_approvals::request_nonce.eq(nonce),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    let count: i64 =
        disbursement_approvals::table.filter(disbursement_approvals::disbursement_id.eq(id)).count().get_result(conn).await?;
    if inserted == 1 {
        if d.status != "requested" {
            return Err(conflict("disbursement_not_requested", "The disbursement is already approved"));
        }
        let plan = locked_plan(conn, d.plan_id).await?;
        let (budget, _, _) = budget_of(conn, &plan).await?;
        budget.check_approval(d.amount_fen).map_err(budget_refused)?;
        logs::append(
            conn,
            d.community_id,
            LogName::Funds,
            &serde_json::json!({"event": "disbursement_approval", "disbursement_id": id, "approver": account, "approvals": count}),
        )
        .await?;
        if count >= i64::from(required) {
            diesel::update(disbursements::table.find(id))
                .set((disbursements::status.eq("approved"), disbursements::approved_at.eq(Utc::now())))
                .execute(conn)
                .await?;
            let call = LinliGovernance::approveDisbursementCall {
                disbursementId: domain::chain_id(id).into(),
                planId: domain::chain_id(d.plan_id).into(),
                amountFen: u128::try_from(d.amount_fen).map_err(ApiError::internal)?,
                payeeHash: domain::text_hash("linli-payee", &d.contractor).into(),
                evidenceHash: <[u8; 32]>::try_from(d.evidence_hash.as_slice()).map_err(ApiError::internal)?.into(),
            };
            outbox::enqueue(conn, d.community_id, Kind::ApproveDisbursement, id, call.abi_encode()).await?;
            logs::append(
                conn,
                d.community_id,
                LogName::Funds,
                &serde_json::json!({"event": "disbursement_approved", "disbursement_id": id, "plan_id": d.plan_id, "amount_fen": d.amount_fen}),
            )
            .await?;
        }
    }
    Ok(ApprovalView { disbursement: disbursement(conn, id).await?, approvals: count, approvals_required: required })
}

/// The bank's report of an executed transfer.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BankReport {
    /// The bank's reference of the transfer (its end-to-end id).
    pub bank_ref: String,
    pub amount_fen: i64,
    /// Value date.
    pub executed_on: NaiveDate,
    /// The account holder paid.
    pub counterparty: String,
}

/// Records the transfer of an approved disbursement (amount must equal the approval) and queues
/// `recordDisbursementExecution`. The same report again answers the stored disbursement and adds nothing.
pub async fn record_bank_report(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    app: &str,
    report: &BankReport,
) -> Result<DisbursementRow, ApiError> {
    let valid = |s: &str, max: usize| !s.is_empty() && s.chars().count() <= max && s.trim() == s && !s.chars().any(char::is_control);
    if !valid(&report.bank_ref, 64) || !valid(&report.counterparty, 200) {
        return Err(unprocessable("bank_report_invalid", "bank_ref is 1–64 characters, counterparty 1–200"));
    }
    conn.transaction(async |conn| {
        let d: DisbursementRow = disbursements::table
            .find(id)
            .select(DisbursementRow::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()?
            .ok_or_else(ApiError::not_found)?;
        if d.status == "executed" {
            return if d.bank_ref.as_deref() == Some(report.bank_ref.as_str())
                && d.bank_app.as_deref() == Some(app)
                && d.executed_on == Some(report.executed_on)
                && d.amount_fen == report.amount_fen
            {
                Ok(d)
            } else {
                Err(conflict("disbursement_already_executed", "The bank already reported this disbursement"))
            };
        }
        if d.status != "approved" {
            return Err(conflict("disbursement_not_approved", "Only an approved disbursement is paid"));
        }
        if report.amount_fen != d.amount_fen {
            return Err(unprocessable("amount_mismatch", "The amount differs from the approved amount")
                .with_detail(format!("approved {} fen", d.amount_fen)));
        }
        diesel::update(disbursements::table.find(id))
            .set((
                disbursements::status.eq("executed"),
                disbursements::bank_app.eq(app),
                disbursements::bank_ref.eq(&report.bank_ref),
                disbursements::executed_on.eq(report.executed_on),
                disbursements::counterparty.eq(&report.counterparty),
                disbursements::reported_at.eq(Utc::now()),
            ))
            .execute(conn)
            .await?;
        let ref_hash = domain::text_hash("linli-bank-ref", &report.bank_ref);
        let call = LinliGovernance::recordDisbursementExecutionCall {
            disbursementId: domain::chain_id(id).into(),
            amountFen: u128::try_from(d.amount_fen).map_err(ApiError::internal)?,
            bankRefHash: ref_hash.into(),
        };
        outbox::enqueue(conn, d.community_id, Kind::RecordDisbursementExecution, id, call.abi_encode()).await?;
        logs::append(
            conn,
            d.community_id,
            LogName::Funds,
            &serde_json::json!({
                "event": "disbursement_executed", "disbursement_id": id, "plan_id": d.plan_id, "amount_fen": d.amount_fen,
                "bank_ref": report.bank_ref, "bank_ref_hash": hex::encode(ref_hash), "executed_on": report.executed_on,
                "counterparty": report.counterparty,
            }),
        )
        .await?;
        crate::disclosure::store::publish_automatic(
            conn,
            d.community_id,
            "fund_event",
            format!("维修资金支出 {} 元", domain::yuan(d.amount_fen)),
            Some(report.executed_on.format("%Y-%m").to_string()),
            format!(
                "按方案 {} 支付 {}，金额 {} 元，银行流水号 {}，{} 划付。",
                d.plan_id,
                report.counterparty,
                domain::yuan(d.amount_fen),
                report.bank_ref,
                report.executed_on
            ),
        )
        .await?;
        // Every fen of the budget executed: the plan is done.
        let plan = locked_plan(conn, d.plan_id).await?;
        let (budget, executed, _) = budget_of(conn, &plan).await?;
        if executed == budget.budget_fen
            && let Some(next) = domain::transition(plan.state()?, PlanEvent::Close)
        {
            diesel::update(fund_plans::table.find(plan.id)).set(fund_plans::status.eq(next.as_str())).execute(conn).await?;
        }
        disbursement(conn, id).await
    })
    .await
}
