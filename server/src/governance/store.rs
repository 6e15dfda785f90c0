//! Persistence of meetings: loading, the roll freeze, the tally input from the rows.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use diesel::pg::expression::functions::jsonb_array_length;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::domain::{ApprovedProxy, ProposalDraft, ProposalKindDraft, RegisterUnit, RollEntry, RollUnit, build_roll, unused_proxies};
use super::service::{self, Channel, NoticeRecord, PaperChannel, PaperRecord, Proof};
use super::tally::{self, Caster, Matter, ProposalSpec, RollWeight, Sheet, TallyInput, TallyRules, Weight};
use crate::community::headcount::{CountingRules, Holder, UnitHolding};
use crate::error::ApiError;
use crate::schema::{
    account_persons, ballot_sheets, meeting_notices, meeting_proposals, meeting_proxies, meeting_service_records, meetings, roll_entries,
};

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = meetings)]
pub struct MeetingRow {
    pub id: Uuid,
    pub community_id: Uuid,
    #[serde(skip)]
    pub chain_meeting_id: Vec<u8>,
    pub title: String,
    pub status: String,
    pub silent_counts_as_participating: bool,
    pub silent_follows_majority: bool,
    pub vote_change_allowed: bool,
    pub count_parking_spaces: bool,
    pub bureau_review_required: bool,
    pub notice_days: i32,
    pub voting_starts_at: DateTime<Utc>,
    pub voting_ends_at: DateTime<Utc>,
    #[serde(skip)]
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    #[schema(value_type = Vec<String>)]
    pub screening_terms: serde_json::Value,
    pub published_at: Option<DateTime<Utc>>,
    pub roll_frozen_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "hex_opt")]
    #[schema(value_type = Option<String>)]
    pub roll_hash: Option<Vec<u8>>,
    pub roll_area_centi_m2: Option<i64>,
    pub roll_heads: Option<i64>,
    pub finalized_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub result: Option<serde_json::Value>,
    #[serde(skip)]
    pub result_signature: Option<String>,
    pub result_mismatch: bool,
    /// WeChat's content-security check at submission (`governance::screening::WeChatScreening`); null = not made.
    #[schema(value_type = Option<Object>)]
    pub screening_wechat: Option<serde_json::Value>,
    /// The counting rules this meeting is decided by, frozen with the roll when voting opens (`governance::rules`).
    #[schema(value_type = Option<Object>)]
    pub frozen_rules: Option<serde_json::Value>,
    /// The served-but-silent weight and the root of its keys, fixed at close.
    #[serde(skip)]
    pub served_silent_area_centi_m2: Option<i64>,
    #[serde(skip)]
    pub served_silent_heads: Option<i64>,
    #[serde(skip)]
    pub served_silent_root: Option<Vec<u8>>,
}

impl MeetingRow {
    pub fn tally_rules(&self) -> TallyRules {
        TallyRules {
            silent_counts_as_participating: self.silent_counts_as_participating,
            silent_follows_majority: self.silent_follows_majority,
        }
    }
}

fn hex_opt<S: serde::Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(b) => s.serialize_some(&hex::encode(b)),
        None => s.serialize_none(),
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = meeting_proposals)]
pub struct ProposalRow {
    #[serde(skip)]
    pub meeting_id: Uuid,
    pub idx: i16,
    pub matter: i16,
    pub title: String,
    pub body: String,
    /// The labels of each ballot line's options, in option order: the server's 同意, 反对, 弃权.
    #[schema(value_type = Vec<String>)]
    pub options: serde_json::Value,
    #[serde(serialize_with = "hex_vec")]
    #[schema(value_type = String)]
    pub content_hash: Vec<u8>,
    /// `yes_no` or `election`.
    pub kind: String,
    /// Seats to fill (elections; 0 for yes/no).
    pub seats: i16,
    /// The candidates of an election, each its own ballot line (empty for yes/no).
    #[schema(value_type = Vec<String>)]
    pub candidates: serde_json::Value,
}

fn hex_vec<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(v))
}

impl ProposalRow {
    /// The proposal as drafted (for its content hash).
    pub fn draft(&self) -> Result<ProposalDraft, ApiError> {
        let kind = match self.kind.as_str() {
            "yes_no" => ProposalKindDraft::YesNo,
            "election" => ProposalKindDraft::Election {
                seats: u8::try_from(self.seats).map_err(ApiError::internal)?,
                candidates: serde_json::from_value(self.candidates.clone()).map_err(ApiError::internal)?,
            },
            other => return Err(ApiError::internal(anyhow::anyhow!("proposal kind {other:?}"))),
        };
        Ok(ProposalDraft { matter: u8::try_from(self.matter).map_err(ApiError::internal)?, title: self.title.clone(), body: self.body.clone(), kind })
    }

    /// The proposal as the tally and the contract see it.
    pub fn spec(&self) -> Result<ProposalSpec, ApiError> {
        let matter = u8::try_from(self.matter).ok().and_then(Matter::new).ok_or_else(|| ApiError::internal(anyhow::anyhow!("bad matter")))?;
        Ok(ProposalSpec { matter, kind: self.draft()?.kind.tally_kind() })
    }

    /// The candidates' names (empty for yes/no).
    pub fn candidate_names(&self) -> Vec<String> {
        serde_json::from_value(self.candidates.clone()).unwrap_or_default()
    }
}

pub async fn meeting(conn: &mut AsyncPgConnection, id: Uuid) -> Result<MeetingRow, ApiError> {
    meetings::table
        .find(id)
        .select(MeetingRow::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(ApiError::not_found)
}

/// The part of a meeting a ballot sheet's checks read.
#[derive(Debug, Clone, Queryable)]
pub struct SheetMeeting {
    pub community_id: Uuid,
    pub status: String,
    pub voting_starts_at: DateTime<Utc>,
    pub voting_ends_at: DateTime<Utc>,
    pub vote_change_allowed: bool,
}

/// Everything a ballot sheet's checks read, for one caster (an account, through a proxy or not).
#[derive(Debug)]
pub struct SheetContext {
    pub meeting: SheetMeeting,
    /// On the meeting community's committee or a verified owner there (else the meeting is not theirs: 404).
    pub reader: bool,
    /// The caster's roll entries (headcount key, area): one per key they vote for; empty when not on the roll.
    pub roll_keys: Vec<(String, i64)>,
    /// The proposals' kinds, in order (the shape the sheet's choices must have).
    pub kinds: Vec<tally::ProposalKind>,
    /// The caster's live (not superseded) sheet and its submission time.
    pub live_sheet: Option<(Uuid, DateTime<Utc>)>,
}

/// Reads a sheet's context in one pipelined round trip: five independent statements sent together and
/// answered in order (diesel-async pipelines futures polled together on one connection). 404 for no meeting.
pub async fn sheet_context(conn: &AsyncPgConnection, id: Uuid, account: Uuid, proxy: Option<Uuid>) -> Result<SheetContext, ApiError> {
    // Each future borrows its own copy of the shared reference (`&mut &AsyncPgConnection` is what diesel-async runs on).
    let (mut c1, mut c2, mut c3, mut c4) = (conn, conn, conn, conn);
    let meeting = meetings::table
        .find(id)
        .select((meetings::community_id, meetings::status, meetings::voting_starts_at, meetings::voting_ends_at, meetings::vote_change_allowed))
        .get_result::<SheetMeeting>(&mut c1);
    let reader = crate::auth::roles::is_committee_or_owner_of_meeting(conn, account, id);
    // Not boxed, so each statement is prepared once per connection and reused (a boxed query is prepared anew).
    let roll_keys = roll_entries::table
        .filter(roll_entries::meeting_id.eq(id))
        .filter(roll_entries::voter_account.eq(account))
        .filter(roll_entries::proxy_id.is_not_distinct_from(proxy))
        .select((roll_entries::headcount_key, roll_entries::area_centi_m2))
        .load::<(String, i64)>(&mut c2);
    let kinds = meeting_proposals::table
        .filter(meeting_proposals::meeting_id.eq(id))
        .order(meeting_proposals::idx.asc())
        .select((meeting_proposals::seats, jsonb_array_length::<diesel::sql_types::Jsonb, _>(meeting_proposals::candidates)))
        .load::<(i16, i32)>(&mut c3);
    let live_sheet = live_sheet_query(id, account, proxy).first::<(Uuid, DateTime<Utc>)>(&mut c4);
    let (meeting, reader, roll_keys, kinds, live_sheet) = futures_util::join!(meeting, reader, roll_keys, kinds, live_sheet);
    // The table's CHECK: seats = 0 exactly for yes/no; an election has 1 ≤ seats ≤ candidates.
    let kinds = kinds?
        .into_iter()
        .map(|(seats, candidates)| match (u8::try_from(seats), u8::try_from(candidates)) {
            (Ok(0), _) => tally::ProposalKind::YesNo,
            (Ok(seats), Ok(candidates)) => tally::ProposalKind::Election { candidates, seats },
            _ => tally::ProposalKind::Election { candidates: u8::MAX, seats: u8::MAX },
        })
        .collect();
    Ok(SheetContext {
        meeting: meeting.optional()?.ok_or_else(ApiError::not_found)?,
        reader: reader?,
        roll_keys: roll_keys?,
        kinds,
        live_sheet: live_sheet.optional()?,
    })
}

/// The caster's live sheet in a meeting (id, submission time). A proxy's sheet is the holder's: account and proxy
/// together name the caster. Served by `ballot_sheets_caster`: the partial unique indexes cannot serve it, since
/// no plan, generic or custom, can prove their `proxy_id` predicates from `IS NOT DISTINCT FROM`
/// (`sheet_queries_use_indexes`).
#[diesel::dsl::auto_type]
pub fn live_sheet_query(id: Uuid, account: Uuid, proxy: Option<Uuid>) -> _ {
    ballot_sheets::table
        .filter(ballot_sheets::meeting_id.eq(id))
        .filter(ballot_sheets::superseded_by.is_null())
        .filter(ballot_sheets::account_id.eq(account))
        .filter(ballot_sheets::proxy_id.is_not_distinct_from(proxy))
        .select((ballot_sheets::id, ballot_sheets::created_at))
}

pub async fn meeting_for_update(conn: &mut AsyncPgConnection, id: Uuid) -> Result<MeetingRow, ApiError> {
    meetings::table
        .find(id)
        .select(MeetingRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or_else(ApiError::not_found)
}

pub async fn proposals(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Vec<ProposalRow>> {
    meeting_proposals::table
        .filter(meeting_proposals::meeting_id.eq(id))
        .order(meeting_proposals::idx.asc())
        .select(ProposalRow::as_select())
        .load(conn)
        .await
}

/// The register of a meeting's community as the roll rules read it: counted units, verified accounts per person.
pub struct RegisterSnapshot {
    pub units: Vec<RegisterUnit>,
    pub rules: CountingRules,
    pub verified: BTreeMap<Uuid, Vec<(DateTime<Utc>, Uuid)>>,
}

pub async fn register_snapshot(conn: &mut AsyncPgConnection, meeting: &MeetingRow) -> Result<RegisterSnapshot, ApiError> {
    let holdings = crate::community::store::holdings(conn, meeting.community_id).await.map_err(ApiError::internal)?;
    let units: Vec<RegisterUnit> = holdings
        .iter()
        .filter(|(_, h)| !matches!(h, Holder::Owners(set) if set.is_empty()))
        .map(|(u, h)| RegisterUnit {
            holding: UnitHolding { unit_id: u.id, kind: u.kind, area: u.exclusive_area, holder: h.clone() },
            building: u.building_code.clone(),
            number: u.number.clone(),
        })
        .collect();
    let links: Vec<(Uuid, Uuid, DateTime<Utc>)> = account_persons::table
        .filter(account_persons::community_id.eq(meeting.community_id))
        .select((account_persons::person_id, account_persons::account_id, account_persons::verified_at))
        .load(conn)
        .await?;
    let mut verified: BTreeMap<Uuid, Vec<(DateTime<Utc>, Uuid)>> = BTreeMap::new();
    for (person, account, at) in links {
        verified.entry(person).or_default().push((at, account));
    }
    let rules = CountingRules { count_parking_spaces: meeting.count_parking_spaces };
    Ok(RegisterSnapshot { units, rules, verified })
}

/// Freezes the roll from the register, the approved written proxies and the co-owner designations in effect as
/// they stand now; returns the entries (also inserted). Proxies the roll does not use, and those still waiting for
/// staff, lapse. A designation that takes effect after this counts from the next meeting on.
pub async fn freeze_roll(
    conn: &mut AsyncPgConnection,
    meeting: &MeetingRow,
) -> Result<Vec<RollEntry>, ApiError> {
    // First: it waits for designation changes in flight, so what follows reads them.
    let designations = super::co_owner_voter::effective_designations(conn, meeting.community_id).await?;
    let RegisterSnapshot { units, rules, verified } = register_snapshot(conn, meeting).await?;
    let approved: Vec<(Uuid, Uuid, Uuid, Option<DateTime<Utc>>)> = meeting_proxies::table
        .filter(meeting_proxies::meeting_id.eq(meeting.id))
        .filter(meeting_proxies::status.eq("approved"))
        .select((meeting_proxies::id, meeting_proxies::principal_unit, meeting_proxies::holder_account, meeting_proxies::decided_at))
        .for_update()
        .load(conn)
        .await?;
    let proxies: Vec<ApprovedProxy> = approved
        .into_iter()
        .map(|(id, unit_id, holder, at)| ApprovedProxy { id, unit_id, holder, approved_at: at.unwrap_or(DateTime::<Utc>::MIN_UTC) })
        .collect();
    let roll = build_roll(&units, rules, &verified, &proxies, &designations);
    let unused = unused_proxies(&roll, &proxies);
    diesel::update(meeting_proxies::table)
        .filter(meeting_proxies::meeting_id.eq(meeting.id))
        .filter(meeting_proxies::status.eq("submitted").or(meeting_proxies::id.eq_any(&unused)))
        .set(meeting_proxies::status.eq("lapsed"))
        .execute(conn)
        .await?;
    for chunk in roll.chunks(500) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|e| {
                (
                    roll_entries::meeting_id.eq(meeting.id),
                    roll_entries::headcount_key.eq(e.key.clone()),
                    roll_entries::area_centi_m2.eq(e.area_centi_m2),
                    roll_entries::heads.eq(1),
                    roll_entries::units.eq(serde_json::to_value(&e.units).unwrap_or_default()),
                    roll_entries::voter_account.eq(e.voter),
                    roll_entries::proxy_id.eq(e.proxy),
                )
            })
            .collect();
        diesel::insert_into(roll_entries::table).values(rows).execute(conn).await?;
    }
    Ok(roll)
}

/// The published roll: entries with unit numbers and areas, no names, no accounts.
pub async fn roll(conn: &mut AsyncPgConnection, meeting: Uuid) -> QueryResult<Vec<RollEntry>> {
    type Row = (String, i64, serde_json::Value, Option<Uuid>, Option<Uuid>);
    let rows: Vec<Row> = roll_entries::table
        .filter(roll_entries::meeting_id.eq(meeting))
        .order(roll_entries::headcount_key.asc())
        .select((
            roll_entries::headcount_key,
            roll_entries::area_centi_m2,
            roll_entries::units,
            roll_entries::voter_account,
            roll_entries::proxy_id,
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(key, area, units, voter, proxy)| RollEntry {
            key,
            area_centi_m2: area,
            units: serde_json::from_value::<Vec<RollUnit>>(units).unwrap_or_default(),
            voter,
            proxy,
        })
        .collect())
}

/// The tally input from the server's own rows: the sheets, and the served-but-silent weight from the proof of
/// service (`governance::service::served_proofs` before voting opened, mapped onto the frozen roll).
pub async fn tally_input(conn: &mut AsyncPgConnection, m: &MeetingRow) -> Result<TallyInput, ApiError> {
    let specs = proposals(conn, m.id).await?.iter().map(ProposalRow::spec).collect::<Result<Vec<_>, _>>()?;
    let rows = live_sheets(conn, m.id).await?;
    let voted: BTreeSet<Caster> = rows.iter().map(|r| Caster { account: r.0, proxy: r.1 }).collect();
    let served_silent = silence_of(conn, m, &voted).await?.weight;
    let sheets = rows
        .into_iter()
        .map(|(_, _, area, heads, choices)| Sheet {
            weight: Weight::new(area, i64::from(heads)),
            choices: serde_json::from_value(choices).unwrap_or_default(),
        })
        .collect();
    Ok(TallyInput {
        roll_totals: Weight::new(m.roll_area_centi_m2.unwrap_or(0), m.roll_heads.unwrap_or(0)),
        proposals: specs,
        sheets,
        served_silent,
        rules: m.tally_rules(),
    })
}

type LiveSheet = (Uuid, Option<Uuid>, i64, i32, serde_json::Value);

/// The live sheets of a meeting: caster (account, proxy), weight and ballot lines. A sheet replaced by a change
/// neither counts nor makes its caster silent twice.
async fn live_sheets(conn: &mut AsyncPgConnection, meeting: Uuid) -> QueryResult<Vec<LiveSheet>> {
    ballot_sheets::table
        .filter(ballot_sheets::meeting_id.eq(meeting))
        .filter(ballot_sheets::superseded_by.is_null())
        .select((
            ballot_sheets::account_id,
            ballot_sheets::proxy_id,
            ballot_sheets::area_centi_m2,
            ballot_sheets::heads,
            ballot_sheets::choices,
        ))
        .load(conn)
        .await
}

/// A live sheet as its reveal needs it.
pub struct SheetToReveal {
    pub id: Uuid,
    pub voter_pseudonym: Vec<u8>,
    /// One option per ballot line.
    pub choices: Vec<u8>,
    pub salt: Vec<u8>,
}

/// The meeting's live sheets in the order they were cast (the order of their outbox rows), with what opens their
/// commitments. A live sheet without a salt cannot be revealed: an error, never a silent skip.
pub async fn sheets_to_reveal(conn: &mut AsyncPgConnection, meeting: Uuid) -> Result<Vec<SheetToReveal>, ApiError> {
    type Row = (Uuid, Vec<u8>, serde_json::Value, Option<Vec<u8>>);
    let rows: Vec<Row> = ballot_sheets::table
        .filter(ballot_sheets::meeting_id.eq(meeting))
        .filter(ballot_sheets::superseded_by.is_null())
        .order((ballot_sheets::created_at.asc(), ballot_sheets::id.asc()))
        .select((ballot_sheets::id, ballot_sheets::voter_pseudonym, ballot_sheets::choices, ballot_sheets::reveal_salt))
        .load(conn)
        .await?;
    rows.into_iter()
        .map(|(id, voter_pseudonym, choices, salt)| {
            let choices: Vec<u8> = serde_json::from_value(choices).map_err(ApiError::internal)?;
            let salt = salt.ok_or_else(|| ApiError::internal(anyhow::anyhow!("live sheet {id} has no reveal salt")))?;
            Ok(SheetToReveal { id, voter_pseudonym, choices, salt })
        })
        .collect()
}

/// Who is served-but-silent on the frozen roll and which keys had no caster (`tally::silence`).
pub async fn silence(conn: &mut AsyncPgConnection, m: &MeetingRow) -> Result<tally::Silence, ApiError> {
    let voted: BTreeSet<Caster> = live_sheets(conn, m.id).await?.iter().map(|r| Caster { account: r.0, proxy: r.1 }).collect();
    silence_of(conn, m, &voted).await
}

async fn silence_of(conn: &mut AsyncPgConnection, m: &MeetingRow, voted: &BTreeSet<Caster>) -> Result<tally::Silence, ApiError> {
    let served = service_summary(conn, m).await?;
    let roll: Vec<RollWeight> = roll(conn, m.id)
        .await?
        .into_iter()
        .map(|e| RollWeight {
            key: e.key,
            weight: Weight::new(e.area_centi_m2, 1),
            voter: e.voter.map(|account| Caster { account, proxy: e.proxy }),
        })
        .collect();
    Ok(tally::silence(&roll, &served.served_keys, voted))
}

/// Proof of service of one meeting, summed for the result document.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServiceSummary {
    /// Owner accounts a notice was addressed to.
    pub notices: i64,
    /// Accepted by WeChat (errcode 0).
    pub sent: i64,
    /// Refused by WeChat or undeliverable.
    pub failed: i64,
    /// Outcome unknown (no answer; never re-sent).
    pub unknown: i64,
    /// Opened by the owner (read receipt).
    pub read: i64,
    /// Accepted by WeChat before voting opened, but no service: no consent to electronic service at delivery and
    /// not opened before voting opened.
    pub accepted_without_service: usize,
    /// Staff records of paper service and posting, per channel.
    pub service_records: BTreeMap<PaperChannel, usize>,
    /// Roll keys served before voting opened, per channel (a key served several ways counts under each).
    pub served_keys_by_channel: BTreeMap<Channel, usize>,
    /// Every proof that counts, per roll key.
    #[serde(skip)]
    pub proofs: BTreeMap<String, Vec<Proof>>,
    /// Roll keys served (by any channel) before voting opened.
    #[serde(skip)]
    pub served_keys: BTreeSet<String>,
    pub served_keys_count: usize,
}

/// The proof of service of a meeting from its rows: the notices with their owners' consent histories, and the
/// staff's records.
pub async fn service_summary(conn: &mut AsyncPgConnection, m: &MeetingRow) -> Result<ServiceSummary, ApiError> {
    type Row = (Uuid, String, serde_json::Value, Option<DateTime<Utc>>, Option<DateTime<Utc>>);
    let rows: Vec<Row> = meeting_notices::table
        .filter(meeting_notices::meeting_id.eq(m.id))
        .select((
            meeting_notices::account_id,
            meeting_notices::status,
            meeting_notices::headcount_keys,
            meeting_notices::sent_at,
            meeting_notices::read_at,
        ))
        .load(conn)
        .await?;
    let mut consents = crate::enrollment::service_consent::histories(conn, m.community_id).await?;
    let count = |f: &dyn Fn(&Row) -> bool| i64::try_from(rows.iter().filter(|r| f(r)).count()).unwrap_or(i64::MAX);
    let notices: Vec<NoticeRecord> = rows
        .iter()
        .map(|(account, _, keys, sent_at, read_at)| NoticeRecord {
            keys: serde_json::from_value(keys.clone()).unwrap_or_default(),
            delivered_at: *sent_at,
            read_at: *read_at,
            consent: consents.remove(account).unwrap_or_default(),
        })
        .collect();
    let records: Vec<(String, serde_json::Value, DateTime<Utc>)> = meeting_service_records::table
        .filter(meeting_service_records::meeting_id.eq(m.id))
        .select((meeting_service_records::channel, meeting_service_records::headcount_keys, meeting_service_records::served_at))
        .load(conn)
        .await?;
    let mut paper = Vec::with_capacity(records.len());
    for (channel, keys, served_at) in records {
        let channel = PaperChannel::parse(&channel)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("service record with an unknown channel {channel:?}")))?;
        paper.push(PaperRecord { keys: serde_json::from_value(keys).unwrap_or_default(), channel, served_at });
    }
    let mut service_records: BTreeMap<PaperChannel, usize> = BTreeMap::new();
    for p in &paper {
        *service_records.entry(p.channel).or_default() += 1;
    }
    let proofs = service::served_proofs(&notices, &paper, m.voting_starts_at);
    let served_keys = service::served_keys(&proofs);
    Ok(ServiceSummary {
        notices: count(&|r| r.1 != "not_pushed"),
        sent: count(&|r| r.1 == "sent"),
        failed: count(&|r| r.1 == "failed"),
        unknown: count(&|r| r.1 == "unknown"),
        read: count(&|r| r.4.is_some()),
        accepted_without_service: service::accepted_without_service(&notices, m.voting_starts_at),
        service_records,
        served_keys_by_channel: service::keys_per_channel(&proofs),
        served_keys_count: served_keys.len(),
        served_keys,
        proofs,
    })
}

/// Queues a notice for every owner account behind the roll's keys (called in the publication transaction).
/// Returns how many were queued; publishing twice queues nothing new.
pub async fn enqueue_notices(conn: &mut AsyncPgConnection, meeting: &MeetingRow) -> Result<usize, ApiError> {
    let snap = register_snapshot(conn, meeting).await?;
    let to = super::domain::notice_recipients(&snap.units, snap.rules, &snap.verified);
    let rows: Vec<_> = to
        .into_iter()
        .map(|(account, keys)| {
            (
                meeting_notices::meeting_id.eq(meeting.id),
                meeting_notices::account_id.eq(account),
                meeting_notices::headcount_keys.eq(serde_json::json!(keys)),
                meeting_notices::channel.eq("wechat_subscribe"),
                meeting_notices::status.eq("pending"),
            )
        })
        .collect();
    let mut n = 0;
    for chunk in rows.chunks(500) {
        n += diesel::insert_into(meeting_notices::table).values(chunk).on_conflict_do_nothing().execute(conn).await?;
    }
    Ok(n)
}

/// Records that the owner opened the notice (first time only). An owner who enrolled after publication has no
/// queued notice: the opening itself is recorded (channel `in_app`) for the keys they answer for now.
/// Returns false when the account answers for no key of the meeting's community.
pub async fn record_read(conn: &mut AsyncPgConnection, meeting: &MeetingRow, account: Uuid) -> Result<bool, ApiError> {
    let now = Utc::now();
    let n = diesel::update(meeting_notices::table.find((meeting.id, account)))
        .filter(meeting_notices::read_at.is_null())
        .set(meeting_notices::read_at.eq(now))
        .execute(conn)
        .await?;
    if n > 0 {
        return Ok(true);
    }
    let exists: i64 = meeting_notices::table
        .filter(meeting_notices::meeting_id.eq(meeting.id))
        .filter(meeting_notices::account_id.eq(account))
        .count()
        .get_result(conn)
        .await?;
    if exists > 0 {
        return Ok(true);
    }
    let snap = register_snapshot(conn, meeting).await?;
    let to = super::domain::notice_recipients(&snap.units, snap.rules, &snap.verified);
    let Some(keys) = to.get(&account) else { return Ok(false) };
    diesel::insert_into(meeting_notices::table)
        .values((
            meeting_notices::meeting_id.eq(meeting.id),
            meeting_notices::account_id.eq(account),
            meeting_notices::headcount_keys.eq(serde_json::json!(keys)),
            meeting_notices::channel.eq("in_app"),
            meeting_notices::status.eq("not_pushed"),
            meeting_notices::read_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(true)
}
