//! Issuing, listing and revoking offline passes (DESIGN §8), the reader's sync (key set and revocation list)
//! and the readers' access events.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use linli_identity::access_pass::{PassClaims, PassKind, issuer_for, sign_pass, visitor_text};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::domain::{Standing, residence_opening};
use super::{keys, store};
use crate::pii::{Column, Pii};
use crate::schema::{access_events, device_certificates, passes};

/// Longest validity of any pass.
pub const MAX_PASS_DAYS: i64 = 7;
/// Most uses a visitor pass may be given (0 = unlimited within the window).
pub const MAX_VISITOR_USES: u32 = 100;
/// A pass is valid from a minute before issuance, so a reader whose clock is slightly behind accepts it.
const CLOCK_SLACK_SECS: i64 = 60;

#[derive(Debug, thiserror::Error)]
pub enum PassError {
    /// Not a resident of the community (no door there to open).
    #[error("not a resident of the community")]
    NotResident,
    #[error("not an active device certificate of the caller")]
    DeviceInvalid,
    #[error("no such pass of the caller")]
    NotFound,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for PassError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Other(e.into())
    }
}

/// The door codes the account may open in the community now, and until when its residence there lasts (None =
/// as an owner, open-ended).
async fn doors_in(conn: &mut AsyncPgConnection, account: Uuid, community: Uuid, now: DateTime<Utc>) -> Result<(Vec<u32>, Option<DateTime<Utc>>), PassError> {
    let homes: Vec<_> = store::residences(conn, account).await?.into_iter().filter(|r| r.community == community && r.current(now)).collect();
    let mut codes = Vec::new();
    for row in store::door_places(conn, &[community]).await? {
        if residence_opening(&homes, &row.place()?, now).is_some() {
            codes.push(u32::try_from(row.code).map_err(anyhow::Error::from)?);
        }
    }
    if codes.is_empty() {
        return Err(PassError::NotResident);
    }
    codes.sort_unstable();
    let until = if homes.iter().any(|h| h.standing == Standing::Owner) {
        None
    } else {
        homes.iter().filter_map(|h| match h.standing {
            Standing::Registered { until, .. } => Some(until),
            Standing::Owner => None,
        }).max()
    };
    Ok((codes, until))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IssuedResidentPass {
    pub pass_id: Uuid,
    pub expires_at: DateTime<Utc>,
    /// The COSE_Sign1 (base64); the device builds the pass text from it with its fresh proof.
    pub cose_sign1: String,
    /// The door codes it opens.
    pub doors: Vec<u32>,
}

struct NewPass<'a> {
    community: Uuid,
    account: Uuid,
    kind: PassKind,
    doors: Vec<u32>,
    uses: u32,
    not_before: DateTime<Utc>,
    expires: DateTime<Utc>,
    holder_key: Option<Vec<u8>>,
    device_serial: Option<&'a str>,
    visitor_name_enc: Option<String>,
    plate: Option<&'a str>,
}

async fn sign_and_store(conn: &mut AsyncPgConnection, pii: &Pii, new: NewPass<'_>) -> Result<(Uuid, Vec<u8>), PassError> {
    let (kid, key) = keys::active_key(conn, pii, new.community).await?;
    let id = Uuid::now_v7();
    let claims = PassClaims {
        issuer: issuer_for(&new.community),
        expires: new.expires.timestamp(),
        not_before: new.not_before.timestamp(),
        issued_at: Utc::now().timestamp(),
        pass_id: *id.as_bytes(),
        doors: new.doors.clone(),
        uses: new.uses,
        kind: new.kind,
        holder_key: new.holder_key,
    };
    let cose = sign_pass(&key, &claims).map_err(anyhow::Error::from)?;
    diesel::insert_into(passes::table)
        .values((
            passes::id.eq(id),
            passes::community_id.eq(new.community),
            passes::account_id.eq(new.account),
            passes::kind.eq(new.kind.as_str()),
            passes::kid.eq(kid),
            passes::door_codes.eq(new.doors.iter().map(|d| i64::from(*d)).collect::<Vec<_>>()),
            passes::uses.eq(i32::try_from(new.uses).map_err(anyhow::Error::from)?),
            passes::not_before.eq(new.not_before),
            passes::expires_at.eq(new.expires),
            passes::device_serial.eq(new.device_serial),
            passes::visitor_name_enc.eq(new.visitor_name_enc),
            passes::plate.eq(new.plate),
            passes::cose_sign1.eq(&cose),
        ))
        .execute(conn)
        .await?;
    Ok((id, cose))
}

/// A resident pass for the caller, bound to the key of one of their active device certificates: valid 7 days,
/// or until their residence ends if sooner.
pub async fn issue_resident_pass(
    conn: &mut AsyncPgConnection,
    pii: &Pii,
    account: Uuid,
    community: Uuid,
    device_serial: &str,
) -> Result<IssuedResidentPass, PassError> {
    let now = Utc::now();
    let (doors, residence_until) = doors_in(conn, account, community, now).await?;
    let device_key: Vec<u8> = device_certificates::table
        .filter(device_certificates::serial.eq(device_serial))
        .filter(device_certificates::account_id.eq(account))
        .filter(device_certificates::status.eq("active"))
        .filter(device_certificates::not_after.gt(now))
        .select(device_certificates::public_key)
        .first(conn)
        .await
        .optional()?
        .ok_or(PassError::DeviceInvalid)?;
    if device_key.len() != 65 || device_key[0] != 4 {
        return Err(PassError::DeviceInvalid);
    }
    let mut expires = now + chrono::Duration::days(MAX_PASS_DAYS);
    if let Some(until) = residence_until {
        expires = expires.min(until);
    }
    let (id, cose) = sign_and_store(
        conn,
        pii,
        NewPass {
            community,
            account,
            kind: PassKind::Resident,
            doors: doors.clone(),
            uses: 0,
            not_before: now - chrono::Duration::seconds(CLOCK_SLACK_SECS),
            expires,
            holder_key: Some(device_key),
            device_serial: Some(device_serial),
            visitor_name_enc: None,
            plate: None,
        },
    )
    .await?;
    use base64::Engine;
    Ok(IssuedResidentPass {
        pass_id: id,
        expires_at: DateTime::from_timestamp(expires.timestamp(), 0).unwrap_or(expires),
        cose_sign1: base64::engine::general_purpose::STANDARD.encode(cose),
        doors,
    })
}

/// A visitor pass as the resident asked for it (checked at the edge).
pub struct VisitorRequest {
    pub visitor_name: String,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
    pub uses: u32,
    pub plate: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IssuedVisitorPass {
    pub pass_id: Uuid,
    pub expires_at: DateTime<Utc>,
    /// `LL1:…`, what the QR code holds.
    pub pass_text: String,
    pub doors: Vec<u32>,
}

/// A visitor pass for the doors the caller may open in the community, within the caller's own residence.
pub async fn issue_visitor_pass(
    conn: &mut AsyncPgConnection,
    pii: &Pii,
    account: Uuid,
    community: Uuid,
    req: &VisitorRequest,
) -> Result<IssuedVisitorPass, PassError> {
    let now = Utc::now();
    let (doors, residence_until) = doors_in(conn, account, community, now).await?;
    let expires = residence_until.map_or(req.valid_until, |u| req.valid_until.min(u));
    let name = pii.encrypt(Column::VisitorName, &req.visitor_name).map_err(anyhow::Error::from)?;
    let (id, cose) = sign_and_store(
        conn,
        pii,
        NewPass {
            community,
            account,
            kind: PassKind::Visitor,
            doors: doors.clone(),
            uses: req.uses,
            not_before: req.valid_from,
            expires,
            holder_key: None,
            device_serial: None,
            visitor_name_enc: Some(name),
            plate: req.plate.as_deref(),
        },
    )
    .await?;
    let pass_text = visitor_text(&cose).ok_or_else(|| anyhow::anyhow!("the pass just signed does not decode"))?;
    Ok(IssuedVisitorPass { pass_id: id, expires_at: DateTime::from_timestamp(expires.timestamp(), 0).unwrap_or(expires), pass_text, doors })
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PassView {
    pub pass_id: Uuid,
    /// resident or visitor.
    pub kind: String,
    pub doors: Vec<i64>,
    pub uses: i32,
    pub not_before: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// active, expired or revoked.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visitor_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_serial: Option<String>,
}

type PassRow = (Uuid, String, Vec<i64>, i32, DateTime<Utc>, DateTime<Utc>, Option<DateTime<Utc>>, Option<String>, Option<String>, Option<String>);

fn pass_view(pii: &Pii, r: PassRow, now: DateTime<Utc>) -> anyhow::Result<PassView> {
    let (pass_id, kind, doors, uses, not_before, expires_at, revoked_at, name_enc, plate, device_serial) = r;
    let status = if revoked_at.is_some() { "revoked" } else if now >= expires_at { "expired" } else { "active" };
    let visitor_name = name_enc.map(|n| pii.decrypt(Column::VisitorName, &n)).transpose()?;
    Ok(PassView { pass_id, kind, doors, uses, not_before, expires_at, status: status.into(), visitor_name, plate, device_serial })
}

/// The caller's passes in the community, newest first (at most 200).
pub async fn my_passes(conn: &mut AsyncPgConnection, pii: &Pii, account: Uuid, community: Uuid) -> anyhow::Result<Vec<PassView>> {
    let rows: Vec<PassRow> = passes::table
        .filter(passes::account_id.eq(account).and(passes::community_id.eq(community)))
        .order(passes::created_at.desc())
        .limit(200)
        .select((passes::id, passes::kind, passes::door_codes, passes::uses, passes::not_before, passes::expires_at, passes::revoked_at, passes::visitor_name_enc, passes::plate, passes::device_serial))
        .load(conn)
        .await?;
    let now = Utc::now();
    rows.into_iter().map(|r| pass_view(pii, r, now)).collect()
}

/// Revokes one of the caller's passes (again: no change). Readers refuse it after their next sync.
pub async fn revoke(conn: &mut AsyncPgConnection, pii: &Pii, account: Uuid, community: Uuid, pass: Uuid) -> Result<PassView, PassError> {
    let mine = passes::table.filter(passes::id.eq(pass).and(passes::account_id.eq(account)).and(passes::community_id.eq(community)));
    diesel::update(mine.filter(passes::revoked_at.is_null())).set(passes::revoked_at.eq(Utc::now())).execute(conn).await?;
    let row: PassRow = mine
        .select((passes::id, passes::kind, passes::door_codes, passes::uses, passes::not_before, passes::expires_at, passes::revoked_at, passes::visitor_name_enc, passes::plate, passes::device_serial))
        .first(conn)
        .await
        .optional()?
        .ok_or(PassError::NotFound)?;
    Ok(pass_view(pii, row, Utc::now())?)
}

/// The COSE_Sign1 of one of the caller's visitor passes still valid (for its QR code).
pub async fn visitor_cose(conn: &mut AsyncPgConnection, account: Uuid, community: Uuid, pass: Uuid) -> Result<Vec<u8>, PassError> {
    passes::table
        .filter(passes::id.eq(pass).and(passes::account_id.eq(account)).and(passes::community_id.eq(community)))
        .filter(passes::kind.eq("visitor").and(passes::revoked_at.is_null()).and(passes::expires_at.gt(Utc::now())))
        .select(passes::cose_sign1)
        .first(conn)
        .await
        .optional()?
        .ok_or(PassError::NotFound)
}

/// Revoked passes of the community still within their validity (what readers must refuse).
pub async fn revocation_list(conn: &mut AsyncPgConnection, community: Uuid, now: DateTime<Utc>) -> QueryResult<Vec<Uuid>> {
    passes::table
        .filter(passes::community_id.eq(community).and(passes::revoked_at.is_not_null()).and(passes::expires_at.gt(now)))
        .order(passes::id)
        .select(passes::id)
        .load(conn)
        .await
}

/// One event a reader reports.
#[derive(Debug, Clone)]
pub struct ReaderEvent {
    pub id: Uuid,
    pub door_code: u32,
    /// opened or refused.
    pub outcome: &'static str,
    pub reason: Option<String>,
    pub pass_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
}

/// Stores a batch of a reader's events; an event id seen before is skipped (a batch sent twice changes
/// nothing). Returns how many were new.
pub async fn record_reader_events(
    conn: &mut AsyncPgConnection,
    community: Uuid,
    app: &str,
    events: &[ReaderEvent],
) -> QueryResult<usize> {
    use diesel_async::AsyncConnection;
    conn.transaction(async |conn| {
        let doors = store::door_places(conn, &[community]).await?;
        let pass_ids: Vec<Uuid> = events.iter().filter_map(|e| e.pass_id).collect();
        let holders: Vec<(Uuid, Uuid)> = passes::table
            .filter(passes::id.eq_any(&pass_ids).and(passes::community_id.eq(community)))
            .select((passes::id, passes::account_id))
            .load(conn)
            .await?;
        // The reader knows the pass, not the unit: an event belongs to the unit through which the pass's holder
        // may open that door (a visitor's pass to the resident who issued it), so its owners see it in their log.
        let mut homes: std::collections::HashMap<Uuid, Vec<super::domain::Residence>> = std::collections::HashMap::new();
        for (_, account) in &holders {
            if !homes.contains_key(account) {
                homes.insert(*account, store::residences(conn, *account).await?);
            }
        }
        let mut inserted = 0;
        for e in events {
            let row = doors.iter().find(|d| d.code == i64::from(e.door_code));
            let door = row.map(|d| d.id);
            let account = e.pass_id.and_then(|p| holders.iter().find(|(id, _)| *id == p).map(|(_, a)| *a));
            let unit = match (row.and_then(|d| d.place().ok()), account.and_then(|a| homes.get(&a))) {
                (Some(place), Some(h)) => residence_opening(h, &place, e.occurred_at).map(|r| r.unit),
                _ => None,
            };
            inserted += diesel::insert_into(access_events::table)
                .values((
                    access_events::id.eq(e.id),
                    access_events::community_id.eq(community),
                    access_events::door_id.eq(door),
                    access_events::door_code.eq(i64::from(e.door_code)),
                    access_events::source.eq("reader"),
                    access_events::outcome.eq(e.outcome),
                    access_events::reason.eq(e.reason.as_deref()),
                    access_events::account_id.eq(account),
                    access_events::unit_id.eq(unit),
                    access_events::pass_id.eq(e.pass_id),
                    access_events::reader_app.eq(app),
                    access_events::occurred_at.eq(e.occurred_at),
                ))
                .on_conflict(access_events::id)
                .do_nothing()
                .execute(conn)
                .await?;
        }
        Ok(inserted)
    })
    .await
}
