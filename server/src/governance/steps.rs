//! The meeting's lifecycle steps, persisted. Each step owns its transaction: load the meeting for update,
//! authorize against its community, gather the [`Facts`], ask [`lifecycle::transition`], record the review,
//! [`enter`] the next state (with that state's effects), and return the meeting as it now is. Handlers only parse
//! and answer.

use actix_web::http::StatusCode;
use alloy_sol_types::SolCall;
use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use linli_ledger_client::governance::LinliGovernance;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::domain;
use super::lifecycle::{self, Action, Facts, MeetingState, Next, Refusal};
use super::store::{self, MeetingRow};
use crate::auth::org_app::{OrgApp, OrgRole};
use crate::auth::{Role, require_role};
use crate::chain::outbox::{self, Kind};
use crate::error::ApiError;
use crate::schema::{meeting_reviews, meetings};

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        ApiError::new(StatusCode::CONFLICT, r.code, r.title)
    }
}

impl MeetingRow {
    /// The stored status as a lifecycle state (the column's CHECK admits only these).
    pub fn state(&self) -> Result<MeetingState, ApiError> {
        MeetingState::parse(&self.status)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("meeting {} has an unknown status {:?}", self.id, self.status)))
    }

    /// The facts of the row itself; reviews add their counts.
    pub fn facts(&self) -> Facts {
        Facts {
            now: Utc::now(),
            voting_starts_at: self.voting_starts_at,
            voting_ends_at: self.voting_ends_at,
            notice_days: self.notice_days,
            bureau_review_required: self.bureau_review_required,
            committee_approvals: 0,
            bureau_approved: false,
            opening_margin: chrono::Duration::zero(),
        }
    }
}

/// Who asks for a step: a member with a role in the meeting's community, or the bureau's organisation app.
/// Anyone else gets 404, as for every foreign id.
pub enum Authority<'a> {
    Member { account: Uuid, role: Role },
    Bureau(&'a OrgApp),
}

impl Authority<'_> {
    async fn check(&self, conn: &mut AsyncPgConnection, community: Uuid) -> Result<(), ApiError> {
        match self {
            Self::Member { account, role } => require_role(conn, *account, community, *role).await,
            Self::Bureau(app) => app.require(&[OrgRole::Bureau], community),
        }
    }

    /// As the review and audit rows name the actor.
    fn actor(&self) -> String {
        match self {
            Self::Member { account, .. } => account.to_string(),
            Self::Bureau(app) => format!("app:{}", app.id),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReviewInput {
    pub approved: bool,
    #[serde(default)]
    pub note: String,
}

/// The three reviews of DESIGN §5, each with the role that makes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Platform support staff on screened content.
    Screening,
    /// Two distinct committee members.
    Committee,
    /// The street office, where the community requires it.
    Bureau,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Self::Screening => "screening",
            Self::Committee => "committee",
            Self::Bureau => "bureau",
        }
    }

    fn action(self, approved: bool) -> Action {
        match self {
            Self::Screening => Action::ScreeningReview { approved },
            Self::Committee => Action::CommitteeReview { approved },
            Self::Bureau => Action::BureauReview { approved },
        }
    }
}

/// A review: recorded once per reviewer and stage, then the step it decides.
pub async fn review(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    authority: &Authority<'_>,
    stage: Stage,
    input: &ReviewInput,
) -> Result<MeetingRow, ApiError> {
    conn.transaction(async |conn| {
        let m = store::meeting_for_update(conn, id).await?;
        authority.check(conn, m.community_id).await?;
        let mut facts = m.facts();
        if stage == Stage::Committee && input.approved {
            // This approval counts; a reviewer who already reviewed is refused below and the count rolled back.
            facts.committee_approvals = committee_approvals(conn, id).await? + 1;
        }
        let next = lifecycle::transition(m.state()?, stage.action(input.approved), &facts)?;
        record_review(conn, id, stage, &authority.actor(), input).await?;
        enter(conn, &m, next, &authority.actor()).await?;
        store::meeting(conn, id).await
    })
    .await
}

/// Opening (committee): the roll freezes and the meeting goes to the chain, at least `margin` before voting
/// starts (the contract refuses `openMeeting` once the window has started).
pub async fn open(conn: &mut AsyncPgConnection, id: Uuid, account: Uuid, margin: chrono::Duration) -> Result<MeetingRow, ApiError> {
    conn.transaction(async |conn| {
        let m = store::meeting_for_update(conn, id).await?;
        let authority = Authority::Member { account, role: Role::Committee };
        authority.check(conn, m.community_id).await?;
        let facts = Facts { opening_margin: margin, ..m.facts() };
        let next = lifecycle::transition(m.state()?, Action::Open, &facts)?;
        enter(conn, &m, next, &authority.actor()).await?;
        store::meeting(conn, id).await
    })
    .await
}

/// Closing (committee), after the window: the contract's finalize is queued behind every sheet.
pub async fn close(conn: &mut AsyncPgConnection, id: Uuid, account: Uuid) -> Result<MeetingRow, ApiError> {
    simple_step(conn, id, &Authority::Member { account, role: Role::Committee }, Action::Close).await
}

async fn simple_step(conn: &mut AsyncPgConnection, id: Uuid, authority: &Authority<'_>, action: Action) -> Result<MeetingRow, ApiError> {
    conn.transaction(async |conn| {
        let m = store::meeting_for_update(conn, id).await?;
        authority.check(conn, m.community_id).await?;
        let next = lifecycle::transition(m.state()?, action, &m.facts())?;
        enter(conn, &m, next, &authority.actor()).await?;
        store::meeting(conn, id).await
    })
    .await
}

/// What the screening of a draft found (made before the transaction: WeChat's check must not hold the row lock).
pub struct Screened {
    /// The attachments whose names were screened, in order; the step refuses if they changed meanwhile.
    pub attachments: Vec<Uuid>,
    pub terms: Vec<String>,
    pub wechat: Option<serde_json::Value>,
    pub clean: bool,
}

/// Submission (committee): to committee review when clean, to screening review otherwise.
pub async fn submit(conn: &mut AsyncPgConnection, id: Uuid, account: Uuid, screened: &Screened) -> Result<MeetingRow, ApiError> {
    conn.transaction(async |conn| {
        let m = store::meeting_for_update(conn, id).await?;
        Authority::Member { account, role: Role::Committee }.check(conn, m.community_id).await?;
        let next = lifecycle::transition(m.state()?, Action::Submit { clean: screened.clean }, &m.facts())?;
        let now: Vec<Uuid> = super::attachments::list(conn, id).await?.into_iter().map(|a| a.id).collect();
        if now != screened.attachments {
            return Err(ApiError::new(StatusCode::CONFLICT, "meeting_changed", "The attachments changed during submission; submit again"));
        }
        diesel::update(meetings::table.find(id))
            .set((meetings::screening_terms.eq(serde_json::json!(screened.terms)), meetings::screening_wechat.eq(&screened.wechat)))
            .execute(conn)
            .await?;
        enter(conn, &m, next, &account.to_string()).await?;
        store::meeting(conn, id).await
    })
    .await
}

async fn committee_approvals(conn: &mut AsyncPgConnection, id: Uuid) -> Result<u32, ApiError> {
    let n: i64 = meeting_reviews::table
        .filter(meeting_reviews::meeting_id.eq(id))
        .filter(meeting_reviews::stage.eq(Stage::Committee.as_str()))
        .filter(meeting_reviews::approved.eq(true))
        .count()
        .get_result(conn)
        .await?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

async fn record_review(conn: &mut AsyncPgConnection, id: Uuid, stage: Stage, reviewer: &str, input: &ReviewInput) -> Result<(), ApiError> {
    if input.note.chars().count() > 2000 {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_meeting", "The meeting is not acceptable")
            .with_detail("note too long"));
    }
    let n = diesel::insert_into(meeting_reviews::table)
        .values((
            meeting_reviews::meeting_id.eq(id),
            meeting_reviews::stage.eq(stage.as_str()),
            meeting_reviews::reviewer.eq(reviewer),
            meeting_reviews::approved.eq(input.approved),
            meeting_reviews::note.eq(&input.note),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    if n == 0 {
        return Err(ApiError::new(StatusCode::CONFLICT, "already_reviewed", "This reviewer has already reviewed this meeting"));
    }
    let action = format!("meeting.review.{}", stage.as_str());
    crate::audit::append(conn, reviewer, &action, &id.to_string(), serde_json::json!({"approved": input.approved}))
        .await
        .map_err(ApiError::internal)?;
    Ok(())
}

/// Persists a step: the new status and what entering it means. The row is locked by the caller.
async fn enter(conn: &mut AsyncPgConnection, m: &MeetingRow, next: Next, actor: &str) -> Result<(), ApiError> {
    let Next::To(state) = next else { return Ok(()) };
    match state {
        MeetingState::Published => publish(conn, m).await,
        MeetingState::Open => freeze_and_open(conn, m, actor).await,
        MeetingState::Closed => close_and_finalize(conn, m).await,
        // Entered by the chain worker with the result document (governance::result).
        MeetingState::Finalized => Err(ApiError::internal(anyhow::anyhow!("a meeting is finalized only with its result"))),
        MeetingState::Draft
        | MeetingState::ScreeningReview
        | MeetingState::CommitteeReview
        | MeetingState::BureauReview
        | MeetingState::Rejected => set_status(conn, m.id, state).await,
    }
}

async fn set_status(conn: &mut AsyncPgConnection, id: Uuid, state: MeetingState) -> Result<(), ApiError> {
    diesel::update(meetings::table.find(id)).set(meetings::status.eq(state.as_str())).execute(conn).await?;
    Ok(())
}

/// Closing: every sheet has committed (a sheet's transaction holds the meeting row FOR SHARE, and this one has it
/// FOR UPDATE), so the served-but-silent weight is final: stored; then queued for the chain behind every sheet of
/// the community: the live sheets' reveals, the served-silent weight where the rules set a silent flag, finalize.
async fn close_and_finalize(conn: &mut AsyncPgConnection, m: &MeetingRow) -> Result<(), ApiError> {
    let mid = alloy_primitives::FixedBytes::<32>::from(domain::chain_meeting_id(m.id));
    let silence = store::silence(conn, m).await?;
    let root = super::tally::served_silent_root(&silence.keys);
    diesel::update(meetings::table.find(m.id))
        .set((
            meetings::status.eq(MeetingState::Closed.as_str()),
            meetings::served_silent_area_centi_m2.eq(silence.weight.area_centi_m2),
            meetings::served_silent_heads.eq(silence.weight.heads),
            meetings::served_silent_root.eq(root.to_vec()),
        ))
        .execute(conn)
        .await?;
    // The live sheets' choices, opened on chain now that the window has closed, in the order they were cast.
    for sheet in store::sheets_to_reveal(conn, m.id).await? {
        let call = LinliGovernance::revealSheetCall {
            meetingId: mid,
            voter: alloy_primitives::FixedBytes::<32>::try_from(sheet.voter_pseudonym.as_slice()).map_err(ApiError::internal)?,
            choices: sheet.choices.into(),
            salt: alloy_primitives::FixedBytes::<32>::try_from(sheet.salt.as_slice()).map_err(ApiError::internal)?,
        };
        outbox::enqueue(conn, m.community_id, Kind::RevealSheet, sheet.id, call.abi_encode()).await?;
    }
    if m.tally_rules().any() {
        let call = LinliGovernance::recordServedSilentCall {
            meetingId: mid,
            areaCm2: u64::try_from(silence.weight.area_centi_m2).map_err(ApiError::internal)?,
            heads: u32::try_from(silence.weight.heads).map_err(ApiError::internal)?,
            servedSilentRoot: root.into(),
        };
        outbox::enqueue(conn, m.community_id, Kind::RecordServedSilent, m.id, call.abi_encode()).await?;
    }
    let call = LinliGovernance::finalizeCall { meetingId: mid };
    outbox::enqueue(conn, m.community_id, Kind::Finalize, m.id, call.abi_encode()).await?;
    Ok(())
}

/// Publication: the notices are queued in the same transaction, so a published meeting always has its
/// proof-of-service queue.
async fn publish(conn: &mut AsyncPgConnection, m: &MeetingRow) -> Result<(), ApiError> {
    diesel::update(meetings::table.find(m.id))
        .set((meetings::status.eq(MeetingState::Published.as_str()), meetings::published_at.eq(Utc::now())))
        .execute(conn)
        .await?;
    let queued = store::enqueue_notices(conn, m).await?;
    tracing::info!(meeting = %m.id, queued, "meeting published; notices queued");
    Ok(())
}

/// Opening: freezes the roll from the register, stores its hash and totals, and queues the chain writes
/// (openMeeting, then addProposal per proposal). The contract needs the roll hash before the window starts.
async fn freeze_and_open(conn: &mut AsyncPgConnection, m: &MeetingRow, actor: &str) -> Result<(), ApiError> {
    let id = m.id;
    let roll = store::freeze_roll(conn, m).await?;
    if roll.is_empty() {
        return Err(ApiError::new(StatusCode::CONFLICT, "empty_roll", "The register has no counted units"));
    }
    let hash = domain::roll_hash(&roll);
    let area: i64 = roll.iter().map(|e| e.area_centi_m2).sum();
    let heads = i64::try_from(roll.len()).unwrap_or(i64::MAX);
    diesel::update(meetings::table.find(id))
        .set((
            meetings::status.eq(MeetingState::Open.as_str()),
            meetings::roll_frozen_at.eq(Utc::now()),
            meetings::roll_hash.eq(hash.to_vec()),
            meetings::roll_area_centi_m2.eq(area),
            meetings::roll_heads.eq(heads),
            meetings::frozen_rules.eq(super::rules::frozen_rules(m.tally_rules(), m.count_parking_spaces)),
        ))
        .execute(conn)
        .await?;
    let mid = alloy_primitives::FixedBytes::<32>::from(domain::chain_meeting_id(id));
    let call = LinliGovernance::openMeetingCall {
        meetingId: mid,
        rollHash: hash.into(),
        totalAreaCm2: u64::try_from(area).unwrap_or(0),
        totalHeads: u32::try_from(heads).unwrap_or(0),
        startMs: u64::try_from(m.voting_starts_at.timestamp_millis()).unwrap_or(0),
        endMs: u64::try_from(m.voting_ends_at.timestamp_millis()).unwrap_or(0),
        voteChangeAllowed: m.vote_change_allowed,
        tallyRules: m.tally_rules().chain_bits(),
    };
    outbox::enqueue(conn, m.community_id, Kind::OpenMeeting, id, call.abi_encode()).await?;
    // Every key of the frozen roll with its weight, ascending by chain id, in batches: the contract then sums each
    // sheet's weight from the keys it covers and lets each key be covered once.
    for batch in domain::chain_roll_batches(&roll) {
        let call = LinliGovernance::addRollKeysCall {
            meetingId: mid,
            keys: batch.iter().map(|(key, _, _)| (*key).into()).collect(),
            areaCm2: batch.iter().map(|(_, area, _)| *area).collect(),
            heads: batch.iter().map(|(_, _, heads)| *heads).collect(),
        };
        outbox::enqueue(conn, m.community_id, Kind::AddRollKeys, id, call.abi_encode()).await?;
    }
    for p in store::proposals(conn, id).await? {
        let hash: [u8; 32] = p.content_hash.as_slice().try_into().unwrap_or([0; 32]);
        let (candidates, seats) = match p.spec()?.kind {
            super::tally::ProposalKind::YesNo => (0, 0),
            super::tally::ProposalKind::Election { candidates, seats } => (candidates, seats),
        };
        let call = LinliGovernance::addProposalCall {
            meetingId: mid,
            proposalIndex: u8::try_from(p.idx).unwrap_or(0),
            matter: u8::try_from(p.matter).unwrap_or(0),
            contentHash: hash.into(),
            candidates,
            seats,
        };
        outbox::enqueue(conn, m.community_id, Kind::AddProposal, id, call.abi_encode()).await?;
    }
    crate::audit::append(conn, actor, "meeting.open", &id.to_string(), serde_json::json!({"roll_hash": hex::encode(hash)}))
        .await
        .map_err(ApiError::internal)?;
    Ok(())
}
