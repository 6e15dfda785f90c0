//! Inspection of the ballots after the result (issue 24 item 11), as paper ballots may be inspected: every live
//! sheet with the roll keys it covers, its weight and its choices, never a name, an account or a device. Only once
//! the result is published (before that the choices are sealed, on chain and here), and only to the community's
//! owners and committee, who see the published roll anyway.

use actix_web::{HttpResponse, get, web};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::lifecycle::{self, Action};
use super::store;
use crate::app::AppState;
use crate::auth::CurrentAccount;
use crate::error::{ApiError, Problem};
use crate::schema::{ballot_sheets, chain_outbox, roll_entries};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_ballots);
}

/// One counted sheet as anyone in the community may inspect it.
#[derive(Debug, Serialize, ToSchema)]
pub struct InspectedBallot {
    /// hex sha256, as on the caster's receipt and on chain.
    pub sheet_hash: String,
    /// The roll keys the sheet covers (as the published roll names them), ascending.
    pub keys: Vec<String>,
    pub area_centi_m2: i64,
    pub heads: i64,
    /// One option per ballot line (0 yes, 1 no, 2 abstain), as revealed on chain.
    pub choices: Vec<u8>,
    /// Cast through a staff-approved written proxy.
    pub proxy: bool,
    /// The reveal's transaction on chain.
    pub reveal_tx_hash: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InspectedBallots {
    pub meeting_id: Uuid,
    /// Ordered by sheet hash, which says nothing about when or by whom a sheet was cast.
    pub ballots: Vec<InspectedBallot>,
}

/// The counted sheets of a finished meeting, without names (owners and committee of the community).
#[utoipa::path(
    tag = "governance",
    params(("meeting_id" = Uuid, Path)),
    responses((status = 200, body = InspectedBallots), (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("session" = []))
)]
#[get("/v1/meetings/{meeting_id}/ballots")]
async fn list_ballots(state: web::Data<AppState>, account: CurrentAccount, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.get().await?;
    Ok(HttpResponse::Ok().json(inspect(&mut conn, account.0, path.into_inner()).await?))
}

/// The ballots of meeting `id` for `account`: 404 unless they may read the meeting, 409 until its result is out.
pub async fn inspect(conn: &mut AsyncPgConnection, account: Uuid, id: Uuid) -> Result<InspectedBallots, ApiError> {
    let m = store::meeting(conn, id).await?;
    if !crate::auth::roles::is_committee_or_owner_of_meeting(conn, account, id).await? {
        return Err(ApiError::not_found());
    }
    if m.result_mismatch {
        return Err(lifecycle::RESULT_MISMATCH.into());
    }
    lifecycle::transition(m.state()?, Action::PublishResult, &m.facts())?;
    if m.result_signature.is_none() {
        return Err(lifecycle::RESULT_NOT_READY.into());
    }
    type Row = (Uuid, Uuid, Option<Uuid>, Vec<u8>, i64, i32, serde_json::Value);
    let sheets: Vec<Row> = ballot_sheets::table
        .filter(ballot_sheets::meeting_id.eq(id))
        .filter(ballot_sheets::superseded_by.is_null())
        .select((
            ballot_sheets::id,
            ballot_sheets::account_id,
            ballot_sheets::proxy_id,
            ballot_sheets::sheet_hash,
            ballot_sheets::area_centi_m2,
            ballot_sheets::heads,
            ballot_sheets::choices,
        ))
        .load(conn)
        .await?;
    // The roll's keys per caster (account, proxy), as the sheet covered them.
    let mut keys_of: std::collections::HashMap<(Option<Uuid>, Option<Uuid>), Vec<String>> = std::collections::HashMap::new();
    for (key, voter, proxy) in roll_entries::table
        .filter(roll_entries::meeting_id.eq(id))
        .select((roll_entries::headcount_key, roll_entries::voter_account, roll_entries::proxy_id))
        .load::<(String, Option<Uuid>, Option<Uuid>)>(conn)
        .await?
    {
        keys_of.entry((voter, proxy)).or_default().push(key);
    }
    let reveals: std::collections::HashMap<Uuid, Vec<u8>> = chain_outbox::table
        .filter(chain_outbox::kind.eq(crate::chain::outbox::Kind::RevealSheet.as_str()))
        .filter(chain_outbox::subject_id.eq_any(sheets.iter().map(|s| s.0)))
        .filter(chain_outbox::status.eq("done"))
        .select((chain_outbox::subject_id, chain_outbox::tx_hash))
        .load::<(Uuid, Option<Vec<u8>>)>(conn)
        .await?
        .into_iter()
        .filter_map(|(sheet, tx)| tx.map(|tx| (sheet, tx)))
        .collect();
    let mut ballots: Vec<InspectedBallot> = sheets
        .into_iter()
        .map(|(sheet, caster, proxy, hash, area, heads, choices)| {
            Ok(InspectedBallot {
                sheet_hash: hex::encode(hash),
                keys: {
                    let mut keys = keys_of.remove(&(Some(caster), proxy)).unwrap_or_default();
                    keys.sort();
                    keys
                },
                area_centi_m2: area,
                heads: i64::from(heads),
                choices: serde_json::from_value(choices).map_err(ApiError::internal)?,
                proxy: proxy.is_some(),
                reveal_tx_hash: reveals.get(&sheet).map(|tx| format!("0x{}", hex::encode(tx))),
            })
        })
        .collect::<Result<_, ApiError>>()?;
    ballots.sort_by(|a, b| a.sheet_hash.cmp(&b.sheet_hash));
    Ok(InspectedBallots { meeting_id: id, ballots })
}
