//! Ballot sheets (DESIGN §5): the checks and the one-commit transaction of a sheet, apart from HTTP. The reads
//! the checks need go out in one pipelined round trip and are judged in a fixed order; the idempotent answer, the
//! PIN check, the sheet and its outbox row commit together (a refused PIN commits only its failure count).

use actix_web::http::StatusCode;
use alloy_sol_types::SolCall;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use linli_ledger_client::governance::LinliGovernance;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::domain;
use super::lifecycle::MeetingState;
use super::store;
use crate::auth::signed::SignedParts;
use crate::chain::outbox::{self, Kind};
use crate::error::ApiError;
use crate::error::extractors::parse_json;
use crate::app::AppState;
use crate::idempotency::{IdempotentRequest, StoredAnswer};
use crate::schema::{ballot_sheets, meetings};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SheetInput {
    pub pin: String,
    /// One choice per proposal, in proposal order: an option (0 yes, 1 no, 2 abstain) for a yes/no proposal,
    /// an array of options, one per candidate, for an election.
    pub choices: Vec<domain::ProposalChoice>,
    /// Cast for the principal of this approved written proxy (held by the caller) instead of for the caller's
    /// own keys. A holder casts one sheet for themselves and one per proxy.
    #[serde(default)]
    pub proxy_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SheetReceipt {
    pub sheet_id: Uuid,
    pub meeting_id: Uuid,
    /// hex sha256 (see `governance::domain::sheet_hash`).
    pub sheet_hash: String,
    pub area_centi_m2: i64,
    pub heads: i64,
    /// One option per ballot line (0 yes, 1 no, 2 abstain): a yes/no proposal is one line, an election one line
    /// per candidate; as counted by the contract.
    pub choices: Vec<u8>,
    /// The written proxy this sheet was cast through (null: the caller's own sheet).
    pub proxy_id: Option<Uuid>,
    /// The sheet this one replaced (a change, where the meeting's rules allow it); null for a first sheet.
    pub replaces: Option<Uuid>,
    pub submitted_at: DateTime<Utc>,
    /// Filled in once the chain has the sheet.
    pub tx_hash: Option<String>,
    pub block_number: Option<i64>,
    /// Outbox state: pending, sent, done, failed.
    pub chain_status: String,
}

/// How a sheet request was answered.
pub enum Cast {
    /// Stored now: the receipt (JSON), also kept as the key's answer.
    Stored(Vec<u8>),
    /// A retry of a finished request with this key: its first answer.
    Replayed(StoredAnswer),
}

fn conflict(code: &'static str, title: &'static str) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, code, title)
}

/// Casts `account`'s sheet in meeting `id` from the request body, signed as `signed` says, under `idem`.
pub async fn cast(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    id: Uuid,
    account: Uuid,
    body: &[u8],
    signed: &SignedParts,
    idem: &IdempotentRequest,
) -> Result<Cast, ApiError> {
    // Parsed now for the proxy id the reads need; a parse error is answered after the signature check.
    let input: Result<SheetInput, ApiError> = parse_json(body);
    let proxy = input.as_ref().ok().and_then(|i| i.proxy_id);

    // Every read the checks need, in one pipelined round trip; the answers are judged in a fixed order below.
    // (Idempotency uses its one-transaction mode: nothing is written before the sheet's own transaction.)
    let shared: &AsyncPgConnection = conn;
    let (stored, signature, context) = futures_util::join!(
        crate::idempotency::stored_answer(shared, idem),
        crate::auth::signed::verify_signature(shared, signed, body, account),
        store::sheet_context(shared, id, account, proxy),
    );
    // The signature before anything else is answered: a stored answer given to the session alone would make the
    // key an oracle for the PIN in the body (same body → the receipt, another PIN → 422), outside the lockout.
    let signature = signature?;
    // A retry of a finished request gets its first answer, whatever has changed since (the window may have closed);
    // the very same signed bytes may come again, so the nonce is claimed only for a request that is to be stored.
    if let Some(replay) = stored? {
        return Ok(Cast::Replayed(replay));
    }
    let device = signature.claim_nonce(state).await?;
    let input = input?;
    let ctx = context?;
    if !ctx.reader {
        return Err(ApiError::not_found());
    }
    let m = &ctx.meeting;
    // Whole milliseconds, as the contract judges the window by the stated submission time (castAtMs) against
    // startMs/endMs: a sheet accepted here in the window's last fraction of a millisecond would be refused there.
    let now = DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap_or_else(Utc::now);
    let ms = |t: DateTime<Utc>| t.timestamp_millis();
    if m.status != MeetingState::Open.as_str() || ms(now) < ms(m.voting_starts_at) {
        return Err(conflict("voting_not_open", "Voting is not open"));
    }
    if ms(now) >= ms(m.voting_ends_at) {
        return Err(conflict("voting_closed", "Voting has closed"));
    }
    // The keys this sheet is for: the caller's own, or the one key of the proxy they hold.
    if ctx.roll_keys.is_empty() {
        return Err(match input.proxy_id {
            None => ApiError::new(StatusCode::FORBIDDEN, "not_on_roll", "You are not a voter on this meeting's roll"),
            Some(_) => ApiError::new(StatusCode::FORBIDDEN, "proxy_not_on_roll", "You hold no proxy on this meeting's roll by that id"),
        });
    }
    let area: i64 = ctx.roll_keys.iter().map(|(_, area)| area).sum();
    let heads = i64::try_from(ctx.roll_keys.len()).unwrap_or(i64::MAX);
    // The chain's ids of the keys this sheet covers, ascending as the contract takes them.
    let mut keys: Vec<[u8; 32]> = ctx.roll_keys.iter().map(|(key, _)| domain::chain_roll_key(key)).collect();
    keys.sort_unstable();
    let lines = domain::ballot_lines(&ctx.kinds, &input.choices).map_err(|e| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "choices_mismatch", "The choices do not match the proposals").with_detail(e.to_string())
    })?;
    // A live sheet of this caster: replaced by this one if the meeting allows changes.
    if let Some((_, previous_at)) = ctx.live_sheet
        && let Err(refusal) = domain::check_sheet_change(m.vote_change_allowed, ms(previous_at), ms(now))
    {
        // The pipelined reads each see the database as of their own execution: a concurrent request with this
        // key may have committed this very sheet after the idempotency read and before the live-sheet read.
        // Then the answer is that request's, not a refusal.
        if let Some(replay) = crate::idempotency::stored_answer(conn, idem).await? {
            return Ok(Cast::Replayed(replay));
        }
        return Err(match refusal {
            domain::SheetChangeRefusal::NotAllowed => conflict("already_voted", "You have already cast a sheet in this meeting"),
            domain::SheetChangeRefusal::BeforePrevious => conflict("sheet_change_out_of_order", "Your previous sheet is stated later than now; retry"),
        });
    }
    let replaces = ctx.live_sheet.map(|(previous, _)| previous);
    let pin = crate::auth::pin::parse_pin(&input.pin)?;

    let sheet_id = Uuid::now_v7();
    let pseudonym = match input.proxy_id {
        None => state.pii.voter_pseudonym(id, account),
        Some(proxy) => state.pii.proxy_pseudonym(id, proxy),
    };
    let hash = domain::sheet_hash(sheet_id, id, &pseudonym, area, heads, &lines, &keys);
    // The choices stay off chain until the window has closed: the chain gets a commitment, opened at close.
    let mut salt = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut salt);
    let chain_meeting = domain::chain_meeting_id(id);
    let commitment = domain::sheet_commitment(&chain_meeting, &pseudonym, &hash, &salt, &lines);
    let call = LinliGovernance::castSheetCall {
        meetingId: chain_meeting.into(),
        voter: pseudonym.into(),
        keys: keys.iter().map(|k| (*k).into()).collect(),
        commitment: commitment.into(),
        sheetHash: hash.into(),
        // The receipt's submitted_at: the contract checks the window against it, so a sheet acknowledged
        // inside the window counts even if it reaches the chain after the window closed.
        castAtMs: u64::try_from(now.timestamp_millis()).unwrap_or(0),
    };
    let receipt = SheetReceipt {
        sheet_id,
        meeting_id: id,
        sheet_hash: hex::encode(hash),
        area_centi_m2: area,
        heads,
        choices: lines.clone(),
        proxy_id: input.proxy_id,
        replaces,
        submitted_at: now,
        tx_hash: None,
        block_number: None,
        chain_status: "pending".into(),
    };
    let answer = serde_json::to_vec(&receipt).map_err(ApiError::internal)?;
    let identity = state.identity()?;
    let community = m.community_id;
    // One transaction, one commit: the answer, the PIN check, the sheet and its outbox row. A refused PIN commits
    // only its failure count.
    let outcome = conn
        .transaction(async |conn| {
            let shared: &AsyncPgConnection = conn;
            let mut lock_conn = shared;
            // The meeting row FOR SHARE: closing updates it, so a close waits until this sheet has committed (and
            // queues finalize behind its outbox row), and a sheet that reaches this point after a close sees it.
            // The window was checked above against the stated time, which is what the contract checks too.
            let status = meetings::table.find(id).select(meetings::status).for_share().get_result::<String>(&mut lock_conn);
            // The answer first: a concurrent request with the same key waits at this insert until this one ends.
            let (status, recorded, checked) = futures_util::join!(
                status,
                crate::idempotency::record(shared, idem, StatusCode::CREATED, &answer),
                crate::auth::pin::check_pin_locked(shared, identity, account, pin),
            );
            if status? != MeetingState::Open.as_str() {
                return Err(conflict("voting_closed", "Voting has closed"));
            }
            if !recorded? {
                return Ok(SheetOutcome::KeyTaken);
            }
            if let Err(refusal) = checked? {
                crate::idempotency::unrecord(shared, idem).await?;
                return Ok(SheetOutcome::PinRefused(refusal));
            }
            if let Some(previous) = replaces {
                // Before the insert: the live-sheet unique index admits the new sheet only once this one is marked.
                let marked = diesel::update(ballot_sheets::table.find(previous).filter(ballot_sheets::superseded_by.is_null()))
                    .set((ballot_sheets::superseded_by.eq(sheet_id), ballot_sheets::superseded_at.eq(now)))
                    .execute(conn)
                    .await?;
                if marked == 0 {
                    return Err(conflict("sheet_changed_concurrently", "Your sheet was changed by another request at the same time"));
                }
            }
            let (mut sheet_conn, outbox_conn): (&AsyncPgConnection, &AsyncPgConnection) = (&*conn, &*conn);
            let insert_sheet = diesel::insert_into(ballot_sheets::table)
                .values((
                    ballot_sheets::id.eq(sheet_id),
                    ballot_sheets::meeting_id.eq(id),
                    ballot_sheets::account_id.eq(account),
                    ballot_sheets::voter_pseudonym.eq(pseudonym.to_vec()),
                    ballot_sheets::area_centi_m2.eq(area),
                    ballot_sheets::heads.eq(i32::try_from(heads).unwrap_or(i32::MAX)),
                    ballot_sheets::choices.eq(serde_json::json!(lines)),
                    ballot_sheets::sheet_hash.eq(hash.to_vec()),
                    ballot_sheets::device_serial.eq(&device.serial),
                    ballot_sheets::created_at.eq(now),
                    ballot_sheets::proxy_id.eq(input.proxy_id),
                    ballot_sheets::request_nonce.eq(&device.nonce),
                    ballot_sheets::reveal_salt.eq(salt.to_vec()),
                ))
                .on_conflict_do_nothing()
                .execute(&mut sheet_conn);
            // Independent of the sheet row, so sent in the same round trip.
            let enqueue = outbox::enqueue(outbox_conn, community, Kind::CastSheet, sheet_id, call.abi_encode());
            let (inserted, enqueued) = futures_util::join!(insert_sheet, enqueue);
            enqueued?;
            if inserted? == 0 {
                // A live sheet of this caster committed meanwhile, or this very signature is stored with an earlier
                // sheet: a replay that Redis no longer remembered (it refuses replays only while it holds them).
                let replayed: bool = diesel::select(diesel::dsl::exists(
                    ballot_sheets::table
                        .filter(ballot_sheets::device_serial.eq(&device.serial))
                        .filter(ballot_sheets::request_nonce.eq(&device.nonce)),
                ))
                .get_result(conn)
                .await?;
                return Err(if replayed {
                    crate::auth::signed::replayed()
                } else {
                    conflict("already_voted", "You have already cast a sheet in this meeting")
                });
            }
            state.faults.reached(crate::fault::FaultPoint::SheetBeforeCommit);
            Ok::<_, ApiError>(SheetOutcome::Stored)
        })
        .await?;
    match outcome {
        SheetOutcome::Stored => Ok(Cast::Stored(answer)),
        SheetOutcome::PinRefused(refusal) => Err(crate::auth::pin::refused(refusal)),
        // A concurrent request with this key committed first: answer as it did.
        SheetOutcome::KeyTaken => crate::idempotency::stored_answer(conn, idem)
            .await?
            .map(Cast::Replayed)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("idempotency key taken but no answer stored"))),
    }
}

/// How the sheet's transaction ended (an `Err` rolls it back).
enum SheetOutcome {
    Stored,
    PinRefused(crate::auth::pin::Refusal),
    KeyTaken,
}
