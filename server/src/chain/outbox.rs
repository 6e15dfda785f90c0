//! The chain outbox: every chain write is a row written in the same transaction as the effect it records.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::chain_outbox;

/// What a row asks the contract to do (column `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    OpenMeeting,
    /// A batch of the frozen roll's keys with their weights, queued with openMeeting.
    AddRollKeys,
    AddProposal,
    /// A sheet's roll keys and the commitment to its choices.
    CastSheet,
    /// A live sheet's choices and salt, queued at close behind every sheet.
    RevealSheet,
    /// The served-but-silent weight of a rule-set meeting, queued at close behind every reveal.
    RecordServedSilent,
    Finalize,
    /// The signed result document's hash and signing key, queued when the result is published.
    RecordResult,
    /// A log checkpoint's size and root (`anchorBatch`), queued with the checkpoint (`crate::logs`).
    AnchorBatch,
    /// A fund plan whose proposal passed (`registerFundPlan`, the property role).
    RegisterFundPlan,
    /// A disbursement the committee approved (`approveDisbursement`).
    ApproveDisbursement,
    /// The bank's report of the transfer (`recordDisbursementExecution`, the bank role).
    RecordDisbursementExecution,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenMeeting => "open_meeting",
            Self::AddRollKeys => "add_roll_keys",
            Self::AddProposal => "add_proposal",
            Self::CastSheet => "cast_sheet",
            Self::RevealSheet => "reveal_sheet",
            Self::RecordServedSilent => "record_served_silent",
            Self::Finalize => "finalize",
            Self::RecordResult => "record_result",
            Self::AnchorBatch => "anchor_batch",
            Self::RegisterFundPlan => "register_fund_plan",
            Self::ApproveDisbursement => "approve_disbursement",
            Self::RecordDisbursementExecution => "record_disbursement_execution",
        }
    }

    /// Which key signs it: the contract gives meeting set-up and disbursement approvals to the committee role,
    /// sheets to the forwarder, anchors to the anchor role, fund plans to the property role, transfers to the bank.
    pub fn signer(self) -> &'static str {
        match self {
            Self::OpenMeeting | Self::AddRollKeys | Self::AddProposal | Self::ApproveDisbursement => "committee",
            Self::CastSheet | Self::RevealSheet | Self::RecordServedSilent | Self::Finalize | Self::RecordResult => "forwarder",
            Self::AnchorBatch => "anchor",
            Self::RegisterFundPlan => "property",
            Self::RecordDisbursementExecution => "bank",
        }
    }
}

/// The columns of a new row.
#[diesel::dsl::auto_type]
fn row_values(community: Uuid, kind: Kind, subject: Uuid, call_data: Vec<u8>) -> _ {
    let name: &'static str = kind.as_str();
    let signer: &'static str = kind.signer();
    (
        chain_outbox::community_id.eq(community),
        chain_outbox::kind.eq(name),
        chain_outbox::subject_id.eq(subject),
        chain_outbox::signer.eq(signer),
        chain_outbox::call_data.eq(call_data),
    )
}

/// Appends a row; call inside the transaction that stores the effect.
pub async fn enqueue(
    mut conn: &AsyncPgConnection,
    community: Uuid,
    kind: Kind,
    subject: Uuid,
    call_data: Vec<u8>,
) -> QueryResult<i64> {
    diesel::insert_into(chain_outbox::table)
        .values(row_values(community, kind, subject, call_data))
        .returning(chain_outbox::id)
        .get_result(&mut conn)
        .await
}

/// Appends a row unless one of its kind for `subject` exists (kinds with one row per subject, see the
/// `chain_outbox_subject` index); returns whether it was added. For effects that may be recomputed, such as a
/// result published again after its first publication was lost.
pub async fn enqueue_once(
    mut conn: &AsyncPgConnection,
    community: Uuid,
    kind: Kind,
    subject: Uuid,
    call_data: Vec<u8>,
) -> QueryResult<bool> {
    let added = diesel::insert_into(chain_outbox::table)
        .values(row_values(community, kind, subject, call_data))
        .on_conflict_do_nothing()
        .execute(&mut conn)
        .await?;
    Ok(added == 1)
}

/// Where one effect's outbox row stands, as receipts show it: the status and, once `done`, the transaction hash
/// (`0x…`) and block.
pub struct RowState {
    /// pending, sent, done, failed.
    pub status: String,
    pub tx_hash: Option<String>,
    pub block_number: Option<i64>,
}

impl RowState {
    pub fn done(&self) -> bool {
        self.status == "done"
    }
}

/// The state of the `kind` row of `subject` (kinds with one row per subject), if it was queued.
pub async fn row_state(mut conn: &AsyncPgConnection, kind: Kind, subject: Uuid) -> QueryResult<Option<RowState>> {
    let row: Option<(String, Option<Vec<u8>>, Option<i64>)> = chain_outbox::table
        .filter(chain_outbox::kind.eq(kind.as_str()))
        .filter(chain_outbox::subject_id.eq(subject))
        .select((chain_outbox::status, chain_outbox::tx_hash, chain_outbox::block_number))
        .first(&mut conn)
        .await
        .optional()?;
    Ok(row.map(|(status, tx, block)| {
        let done = status == "done";
        RowState {
            tx_hash: tx.filter(|_| done).map(|t| format!("0x{}", hex::encode(t))),
            block_number: block.filter(|_| done),
            status,
        }
    }))
}
