//! The access area's tables: doors, residents (household members and tenants), the access log. Each function
//! that changes several rows owns its transaction.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::{Bool, Nullable, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use linli_identity::phone::PhoneNumber;

use super::domain::{DoorKind, DoorPlace, Residence, ResidentKind, Standing, residence_opening};
use super::isapi::{BodyFormat, TerminalDoor};
use crate::pii::{Column, Field, Pii};
use crate::schema::{access_events, buildings, communities, doors, residents, units};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = doors)]
pub struct DoorRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub kind: String,
    pub building_id: Option<Uuid>,
    pub code: i64,
    pub name: String,
    pub gateway_url: String,
    pub gateway_username: String,
    pub gateway_password_enc: String,
    pub gateway_door_no: i32,
    pub gateway_format: String,
}

impl DoorRow {
    pub fn place(&self) -> anyhow::Result<DoorPlace> {
        let kind = DoorKind::parse(&self.kind).ok_or_else(|| anyhow::anyhow!("door {} has kind {}", self.id, self.kind))?;
        Ok(DoorPlace { community: self.community_id, kind, building: self.building_id })
    }

    pub fn terminal(&self, pii: &Pii) -> anyhow::Result<TerminalDoor> {
        let password = pii.decrypt(Column::DoorGatewayPassword, &self.gateway_password_enc)?;
        let format = BodyFormat::parse(&self.gateway_format)
            .ok_or_else(|| anyhow::anyhow!("door {} has gateway format {}", self.id, self.gateway_format))?;
        Ok(TerminalDoor {
            base_url: self.gateway_url.clone(),
            username: self.gateway_username.clone(),
            password: SecretString::from(password),
            door_no: self.gateway_door_no,
            format,
        })
    }
}

/// A door as residents and the property company see it (never its gateway credentials).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DoorView {
    pub id: Uuid,
    /// The short door code passes and readers name it by.
    pub code: i64,
    /// community_gate, building_door or garage_barrier.
    pub kind: String,
    pub name: String,
    pub community_id: Uuid,
    pub community_name: String,
    /// The building code of a building door.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub building: Option<String>,
}

/// How the gateway of a door is reached.
#[derive(Debug, Clone)]
pub struct GatewaySettings {
    pub url: String,
    pub username: String,
    pub password: SecretString,
    pub door_no: i32,
    pub format: BodyFormat,
}

#[derive(Debug, Clone)]
pub struct NewDoor {
    pub community: Uuid,
    pub kind: DoorKind,
    /// The building code of a building door.
    pub building_code: Option<String>,
    pub code: u32,
    pub name: String,
    pub gateway: GatewaySettings,
}

#[derive(Debug, thiserror::Error)]
pub enum DoorError {
    #[error("no such building in the community")]
    UnknownBuilding,
    #[error("a building door names its building, other doors none")]
    BuildingMismatch,
    #[error("the door code is taken in the community")]
    CodeTaken,
    #[error(transparent)]
    Db(#[from] DieselError),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Registers a door (property company or operator).
pub async fn register_door(conn: &mut AsyncPgConnection, pii: &Pii, new: &NewDoor) -> Result<DoorView, DoorError> {
    let building = match (new.kind, &new.building_code) {
        (DoorKind::BuildingDoor, Some(code)) => Some(
            buildings::table
                .filter(buildings::community_id.eq(new.community).and(buildings::code.eq(code)))
                .select(buildings::id)
                .first::<Uuid>(conn)
                .await
                .optional()?
                .ok_or(DoorError::UnknownBuilding)?,
        ),
        (DoorKind::BuildingDoor, None) | (_, Some(_)) => return Err(DoorError::BuildingMismatch),
        (_, None) => None,
    };
    let password = pii
        .encrypt(Column::DoorGatewayPassword, new.gateway.password.expose_secret())
        .map_err(|e| anyhow::anyhow!("encrypting the gateway password: {e}"))?;
    let id = Uuid::now_v7();
    let inserted = diesel::insert_into(doors::table)
        .values((
            doors::id.eq(id),
            doors::community_id.eq(new.community),
            doors::kind.eq(new.kind.as_str()),
            doors::building_id.eq(building),
            doors::code.eq(i64::from(new.code)),
            doors::name.eq(&new.name),
            doors::gateway_url.eq(&new.gateway.url),
            doors::gateway_username.eq(&new.gateway.username),
            doors::gateway_password_enc.eq(password),
            doors::gateway_door_no.eq(new.gateway.door_no),
            doors::gateway_format.eq(new.gateway.format.as_str()),
        ))
        .execute(conn)
        .await;
    match inserted {
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => return Err(DoorError::CodeTaken),
        other => other?,
    };
    let views = door_views(conn, &[new.community]).await?;
    views.into_iter().find(|v| v.id == id).ok_or_else(|| DoorError::Other(anyhow::anyhow!("door {id} vanished")))
}

/// The doors of some communities with their community names, by community then code.
pub async fn door_views(conn: &mut AsyncPgConnection, community_ids: &[Uuid]) -> QueryResult<Vec<DoorView>> {
    type Row = (Uuid, i64, String, String, Uuid, String, Option<String>);
    let rows: Vec<Row> = doors::table
        .inner_join(communities::table)
        .left_join(buildings::table.on(doors::building_id.eq(buildings::id.nullable())))
        .filter(doors::community_id.eq_any(community_ids))
        .order((communities::code, doors::code))
        .select((doors::id, doors::code, doors::kind, doors::name, doors::community_id, communities::name, buildings::code.nullable()))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, code, kind, name, community_id, community_name, building)| DoorView {
            id,
            code,
            kind,
            name,
            community_id,
            community_name,
            building,
        })
        .collect())
}

pub async fn door(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<DoorRow>> {
    doors::table.find(id).select(DoorRow::as_select()).first(conn).await.optional()
}

pub async fn door_places(conn: &mut AsyncPgConnection, community_ids: &[Uuid]) -> QueryResult<Vec<DoorRow>> {
    doors::table.filter(doors::community_id.eq_any(community_ids)).select(DoorRow::as_select()).load(conn).await
}

#[derive(QueryableByName)]
struct ResidenceRow {
    #[diesel(sql_type = SqlUuid)]
    community_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    building_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    unit_id: Uuid,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    valid_from: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    valid_until: Option<DateTime<Utc>>,
    #[diesel(sql_type = Bool)]
    ended: bool,
}

/// Every unit the account lives in: as a verified owner (enrollment linked it to an owner of the unit, in the
/// unit's community) or as a bound household member or tenant (window and end as stored; the rule judges them).
/// Retired units are nobody's residence.
pub async fn residences(conn: &mut AsyncPgConnection, account: Uuid) -> QueryResult<Vec<Residence>> {
    let rows: Vec<ResidenceRow> = diesel::sql_query(
        "SELECT u.community_id, u.building_id, u.id AS unit_id, NULL::timestamptz AS valid_from, \
                NULL::timestamptz AS valid_until, false AS ended \
         FROM ownerships o JOIN account_persons ap ON ap.person_id = o.person_id \
         JOIN units u ON u.id = o.unit_id AND u.community_id = ap.community_id \
         WHERE ap.account_id = $1 AND u.retired_at IS NULL \
         UNION ALL \
         SELECT u.community_id, u.building_id, u.id, r.valid_from, r.valid_until, r.ended_at IS NOT NULL \
         FROM residents r JOIN units u ON u.id = r.unit_id \
         WHERE r.account_id = $1 AND u.retired_at IS NULL",
    )
    .bind::<SqlUuid, _>(account)
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Residence {
            community: r.community_id,
            building: r.building_id,
            unit: r.unit_id,
            standing: match (r.valid_from, r.valid_until) {
                (Some(from), Some(until)) => Standing::Registered { from, until, ended: r.ended },
                _ => Standing::Owner,
            },
        })
        .collect())
}

/// The doors the account may open now.
pub async fn my_doors(conn: &mut AsyncPgConnection, account: Uuid, now: DateTime<Utc>) -> anyhow::Result<Vec<DoorView>> {
    let homes: Vec<Residence> = residences(conn, account).await?.into_iter().filter(|r| r.current(now)).collect();
    let mut community_ids: Vec<Uuid> = homes.iter().map(|r| r.community).collect();
    community_ids.sort();
    community_ids.dedup();
    let rows = door_places(conn, &community_ids).await?;
    let mut allowed = std::collections::HashSet::new();
    for row in &rows {
        if residence_opening(&homes, &row.place()?, now).is_some() {
            allowed.insert(row.id);
        }
    }
    Ok(door_views(conn, &community_ids).await?.into_iter().filter(|v| allowed.contains(&v.id)).collect())
}

/// Whether the account is a verified owner of the unit (and the unit is active); returns its community.
pub async fn owned_unit(conn: &mut AsyncPgConnection, account: Uuid, unit: Uuid) -> QueryResult<Option<Uuid>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        community_id: Uuid,
    }
    let row: Option<Row> = diesel::sql_query(
        "SELECT u.community_id FROM ownerships o JOIN account_persons ap ON ap.person_id = o.person_id \
         JOIN units u ON u.id = o.unit_id AND u.community_id = ap.community_id \
         WHERE ap.account_id = $1 AND u.id = $2 AND u.retired_at IS NULL LIMIT 1",
    )
    .bind::<SqlUuid, _>(account)
    .bind::<SqlUuid, _>(unit)
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.map(|r| r.community_id))
}

/// Who registers a household member or tenant.
#[derive(Debug, Clone)]
pub enum Inviter {
    /// A verified owner of the unit.
    Owner(Uuid),
    /// A property-company app (tenants only).
    App(String),
}

#[derive(Debug, Clone)]
pub struct NewResident {
    pub community: Uuid,
    pub unit: Uuid,
    pub kind: ResidentKind,
    pub name: String,
    pub phone: PhoneNumber,
    pub relation: String,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResidentView {
    pub id: Uuid,
    pub unit_id: Uuid,
    /// member or tenant.
    pub kind: String,
    pub name: String,
    /// Masked (`138****5678`).
    pub phone: String,
    pub relation: String,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
    /// invited (not accepted yet), active, expired or ended.
    pub status: String,
    pub accepted_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = residents)]
struct ResidentRow {
    id: Uuid,
    unit_id: Uuid,
    kind: String,
    name_enc: String,
    phone_enc: String,
    relation: String,
    valid_from: DateTime<Utc>,
    valid_until: DateTime<Utc>,
    accepted_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
}

fn resident_view(pii: &Pii, r: ResidentRow, now: DateTime<Utc>) -> anyhow::Result<ResidentView> {
    let name = pii.decrypt(Column::ResidentName, &r.name_enc)?;
    let phone = PhoneNumber::parse(&pii.decrypt(Column::ResidentPhone, &r.phone_enc)?)?.masked();
    let status = if r.ended_at.is_some() {
        "ended"
    } else if now >= r.valid_until {
        "expired"
    } else if r.accepted_at.is_none() {
        "invited"
    } else {
        "active"
    };
    Ok(ResidentView {
        id: r.id,
        unit_id: r.unit_id,
        kind: r.kind,
        name,
        phone,
        relation: r.relation,
        valid_from: r.valid_from,
        valid_until: r.valid_until,
        status: status.to_owned(),
        accepted_at: r.accepted_at,
        ended_at: r.ended_at,
    })
}

fn invitation_digest(code: &str) -> String {
    hex::encode(Sha256::digest(code.as_bytes()))
}

/// Registers a household member or tenant; returns them and the invitation code (shown once, kept as its hash).
/// The caller has checked that the inviter may register for the unit.
pub async fn invite_resident(
    conn: &mut AsyncPgConnection,
    pii: &Pii,
    inviter: &Inviter,
    new: &NewResident,
) -> anyhow::Result<(ResidentView, String)> {
    let code = hex::encode(rand::random::<[u8; 16]>());
    let id = Uuid::now_v7();
    let (by_account, by_app) = match inviter {
        Inviter::Owner(a) => (Some(*a), None),
        Inviter::App(app) => (None, Some(app.clone())),
    };
    diesel::insert_into(residents::table)
        .values((
            residents::id.eq(id),
            residents::community_id.eq(new.community),
            residents::unit_id.eq(new.unit),
            residents::kind.eq(new.kind.as_str()),
            residents::name_enc.eq(pii.encrypt(Column::ResidentName, &new.name)?),
            residents::phone_enc.eq(pii.encrypt(Column::ResidentPhone, new.phone.expose())?),
            residents::phone_bidx.eq(pii.index(Field::Phone, new.phone.expose())),
            residents::relation.eq(&new.relation),
            residents::valid_from.eq(new.valid_from),
            residents::valid_until.eq(new.valid_until),
            residents::invited_by_account.eq(by_account),
            residents::invited_by_app.eq(by_app),
            residents::invitation_sha256.eq(invitation_digest(&code)),
        ))
        .execute(conn)
        .await?;
    let row = residents::table.find(id).select(ResidentRow::as_select()).first(conn).await?;
    Ok((resident_view(pii, row, Utc::now())?, code))
}

#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    #[error("no open invitation with this code")]
    Unknown,
    #[error("the invitation was accepted already")]
    Used,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Binds the caller to the unit of an invitation: once, while it is neither ended nor past its window. Accepting
/// again from the same account answers the same resident (a retried request).
pub async fn accept_invitation(
    conn: &mut AsyncPgConnection,
    pii: &Pii,
    account: Uuid,
    code: &str,
    now: DateTime<Utc>,
) -> Result<ResidentView, AcceptError> {
    let digest = invitation_digest(code);
    let bound: Option<ResidentRow> = diesel::update(
        residents::table.filter(
            residents::invitation_sha256
                .eq(&digest)
                .and(residents::account_id.is_null())
                .and(residents::ended_at.is_null())
                .and(residents::valid_until.gt(now)),
        ),
    )
    .set((residents::account_id.eq(account), residents::accepted_at.eq(now)))
    .returning(ResidentRow::as_returning())
    .get_result(conn)
    .await
    .optional()
    .map_err(anyhow::Error::from)?;
    if let Some(row) = bound {
        return Ok(resident_view(pii, row, now)?);
    }
    let existing: Option<(Option<Uuid>, ResidentRow)> = residents::table
        .filter(residents::invitation_sha256.eq(&digest).and(residents::ended_at.is_null()).and(residents::valid_until.gt(now)))
        .select((residents::account_id, ResidentRow::as_select()))
        .first(conn)
        .await
        .optional()
        .map_err(anyhow::Error::from)?;
    match existing {
        Some((Some(holder), row)) if holder == account => Ok(resident_view(pii, row, now)?),
        Some(_) => Err(AcceptError::Used),
        None => Err(AcceptError::Unknown),
    }
}

/// The household members and tenants of a unit, newest first.
pub async fn unit_residents(conn: &mut AsyncPgConnection, pii: &Pii, unit: Uuid) -> anyhow::Result<Vec<ResidentView>> {
    let rows: Vec<ResidentRow> = residents::table
        .filter(residents::unit_id.eq(unit))
        .order(residents::created_at.desc())
        .select(ResidentRow::as_select())
        .load(conn)
        .await?;
    let now = Utc::now();
    rows.into_iter().map(|r| resident_view(pii, r, now)).collect()
}

/// Ends a member's or tenant's access at once (idempotent: ending again changes nothing). `None` when the
/// resident is not of this unit.
pub async fn end_resident(
    conn: &mut AsyncPgConnection,
    pii: &Pii,
    unit: Uuid,
    resident: Uuid,
    by: Uuid,
) -> anyhow::Result<Option<ResidentView>> {
    let now = Utc::now();
    diesel::update(
        residents::table.filter(residents::id.eq(resident).and(residents::unit_id.eq(unit)).and(residents::ended_at.is_null())),
    )
    .set((residents::ended_at.eq(now), residents::ended_by_account.eq(by)))
    .execute(conn)
    .await?;
    let row: Option<ResidentRow> = residents::table
        .filter(residents::id.eq(resident).and(residents::unit_id.eq(unit)))
        .select(ResidentRow::as_select())
        .first(conn)
        .await
        .optional()?;
    row.map(|r| resident_view(pii, r, now)).transpose()
}

/// The community of an active unit.
pub async fn unit_community(conn: &mut AsyncPgConnection, unit: Uuid) -> QueryResult<Option<Uuid>> {
    units::table
        .filter(units::id.eq(unit).and(units::retired_at.is_null()))
        .select(units::community_id)
        .first(conn)
        .await
        .optional()
}

// ---- the access log ----

/// An online opening's row, written before the gateway is called.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub id: Uuid,
    pub community: Uuid,
    pub door: Uuid,
    pub door_code: i64,
    pub account: Uuid,
    pub unit: Uuid,
    pub at: DateTime<Utc>,
}

pub async fn record_attempt(conn: &mut AsyncPgConnection, a: &Attempt) -> QueryResult<()> {
    diesel::insert_into(access_events::table)
        .values((
            access_events::id.eq(a.id),
            access_events::community_id.eq(a.community),
            access_events::door_id.eq(a.door),
            access_events::door_code.eq(a.door_code),
            access_events::source.eq("online"),
            access_events::outcome.eq("attempted"),
            access_events::account_id.eq(a.account),
            access_events::unit_id.eq(a.unit),
            access_events::occurred_at.eq(a.at),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// The outcome of an attempt: opened, refused (with the terminal's status) or failed (with the reason).
pub async fn record_outcome(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    outcome: &str,
    reason: Option<&str>,
    terminal_status: Option<i32>,
) -> QueryResult<()> {
    diesel::update(access_events::table.find(id))
        .set((
            access_events::outcome.eq(outcome),
            access_events::reason.eq(reason),
            access_events::terminal_status.eq(terminal_status),
        ))
        .execute(conn)
        .await
        .map(drop)
}

#[derive(Debug, Clone, Serialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = access_events)]
pub struct AccessEventView {
    /// The event id (readers choose theirs).
    pub id: Uuid,
    pub door_id: Option<Uuid>,
    pub door_code: i64,
    /// online or reader.
    pub source: String,
    /// attempted (outcome unknown: the server stopped during the call), opened, refused or failed.
    pub outcome: String,
    pub reason: Option<String>,
    /// The terminal's `statusCode` when it refused.
    pub terminal_status: Option<i32>,
    pub unit_id: Option<Uuid>,
    pub pass_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
}

/// Filters and paging of an access-log query. Pages go from newest to oldest; `before` is the last row of the
/// previous page.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    pub door_code: Option<i64>,
    pub outcome: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub before: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

/// Whose events: a community's (property company) or a unit's (its owners).
#[derive(Debug, Clone, Copy)]
pub enum EventScope {
    Community(Uuid),
    Unit(Uuid),
}

pub async fn events(conn: &mut AsyncPgConnection, scope: EventScope, q: &EventQuery) -> QueryResult<Vec<AccessEventView>> {
    let mut query = access_events::table.select(AccessEventView::as_select()).into_boxed();
    query = match scope {
        EventScope::Community(c) => query.filter(access_events::community_id.eq(c)),
        EventScope::Unit(u) => query.filter(access_events::unit_id.eq(u)),
    };
    if let Some(code) = q.door_code {
        query = query.filter(access_events::door_code.eq(code));
    }
    if let Some(outcome) = &q.outcome {
        query = query.filter(access_events::outcome.eq(outcome.clone()));
    }
    if let Some(from) = q.from {
        query = query.filter(access_events::occurred_at.ge(from));
    }
    if let Some(until) = q.until {
        query = query.filter(access_events::occurred_at.lt(until));
    }
    if let Some((at, id)) = q.before {
        query = query.filter(
            access_events::occurred_at.lt(at).or(access_events::occurred_at.eq(at).and(access_events::id.lt(id))),
        );
    }
    query.order((access_events::occurred_at.desc(), access_events::id.desc())).limit(q.limit).load(conn).await
}

/// Forgets events older than the retention; returns how many.
pub async fn purge_events(conn: &mut AsyncPgConnection, retention_days: u32) -> QueryResult<usize> {
    let cutoff = Utc::now() - chrono::Duration::days(i64::from(retention_days));
    diesel::delete(access_events::table.filter(access_events::occurred_at.lt(cutoff))).execute(conn).await
}
