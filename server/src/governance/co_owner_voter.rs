//! `/v1/units/{unit_id}/co-owner-voter`: co-owners designate who of them votes for their unit (the rules:
//! [`super::co_owners`]). A co-owner sees who holds the vote and what waits for signatures, signs a designation
//! (device-signed request with the PIN, as a ballot sheet), or revokes the one in effect. The roll freeze reads
//! the designations in effect ([`effective_designations`]); the other enrolled co-owners are told by WeChat.

use std::collections::{BTreeMap, BTreeSet};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::co_owners::{self, CoOwners, Standing, VoterBasis};
use super::domain::EffectiveDesignation;
use crate::app::AppState;
use crate::auth::CurrentAccount;
use crate::auth::signed::SignedParts;
use crate::error::extractors::parse_json;
use crate::error::{ApiError, Problem};
use crate::pii::{Column, Pii};
use crate::schema::{account_persons, buildings, co_owner_designation_signatures as signatures, co_owner_designations as designations, ownerships, persons, units};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(get_voter).service(sign_designation).service(revoke_designation);
}

/// A co-owner as the other co-owners see them: a reference to designate them by and a masked name.
#[derive(Debug, Serialize, ToSchema)]
pub struct CoOwnerView {
    /// Opaque reference (the register person's id): what a designation names.
    pub co_owner: Uuid,
    /// The name with all but its first character masked (`张*`).
    pub name: String,
    /// Completed enrollment: can sign a designation and vote.
    pub enrolled: bool,
    /// The caller.
    pub you: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VoterHolder {
    pub co_owner: Uuid,
    pub name: String,
    pub you: bool,
    pub basis: VoterBasis,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DesignationView {
    pub id: Uuid,
    /// The designee.
    pub voter: Uuid,
    pub proposed_at: DateTime<Utc>,
    pub effective_at: Option<DateTime<Utc>>,
    /// Co-owners who signed it.
    pub signed_by: Vec<Uuid>,
    /// Enrolled co-owners who have yet to sign (empty once in effect).
    pub waiting_for: Vec<Uuid>,
}

/// Who votes for a co-owned unit, and the designations behind it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CoOwnerVoterView {
    pub unit_id: Uuid,
    pub building_code: String,
    pub unit_number: String,
    pub co_owners: Vec<CoOwnerView>,
    /// Who holds the unit's vote in a roll frozen now (absent a written proxy); null while no co-owner is enrolled.
    pub voter: Option<VoterHolder>,
    /// The designation in effect.
    pub designation: Option<DesignationView>,
    /// A designation waiting for signatures.
    pub pending: Option<DesignationView>,
    /// The rule, as the result document states it.
    pub rule: &'static str,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DesignationInput {
    /// The co-owner to vote for the unit (`co_owners[].co_owner`); the caller themself or another enrolled one.
    pub voter: Uuid,
    pub pin: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevocationInput {
    pub pin: String,
}

fn refusal(r: co_owners::DesignationRefusal) -> ApiError {
    use co_owners::DesignationRefusal::*;
    match r {
        // Not the caller's unit: as if it did not exist.
        SignerNotCoOwner => ApiError::not_found(),
        NotCoOwned => ApiError::new(StatusCode::CONFLICT, r.code(), "The unit has a single owner"),
        VoterNotCoOwner => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, r.code(), "The designee is not an owner of the unit"),
        VoterNotEnrolled => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, r.code(), "The designee has not completed enrollment and could not vote")
        }
    }
}

/// The advisory lock that orders designation changes of a community against its roll freezes: a change holds it
/// shared, a freeze exclusively, so a freeze reads every designation committed before it and none committed
/// after it (taken after it) is lost to it.
fn lock_key(community: Uuid) -> String {
    format!("linli-co-owner-voter:{community}")
}

async fn lock_shared(conn: &mut AsyncPgConnection, community: Uuid) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock_shared(hashtext($1))")
        .bind::<diesel::sql_types::Text, _>(lock_key(community))
        .execute(conn)
        .await
        .map(|_| ())
}

/// The designations in effect in a community, for the roll freeze (inside its transaction). Takes the lock every
/// designation change holds shared, so a change in flight commits first and is read here.
pub async fn effective_designations(conn: &mut AsyncPgConnection, community: Uuid) -> QueryResult<Vec<EffectiveDesignation>> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
        .bind::<diesel::sql_types::Text, _>(lock_key(community))
        .execute(conn)
        .await?;
    let rows: Vec<(Uuid, Uuid, Uuid, Option<DateTime<Utc>>)> = designations::table
        .filter(designations::community_id.eq(community))
        .filter(designations::status.eq("effective"))
        .select((designations::id, designations::unit_id, designations::voter_person, designations::effective_at))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, unit_id, voter, at)| Some(EffectiveDesignation { id, unit_id, voter, effective_at: at? }))
        .collect())
}

/// A unit as the designation reads it.
struct UnitOwners {
    community: Uuid,
    building_code: String,
    number: String,
    owners: CoOwners,
    /// Enrolled owners, the one who completed enrollment first first.
    enrolled_first: Vec<Uuid>,
    /// Accounts per enrolled owner.
    accounts: BTreeMap<Uuid, Vec<Uuid>>,
}

impl UnitOwners {
    fn label(&self) -> String {
        crate::community::store::unit_label(&self.building_code, &self.number)
    }
}

/// Loads the unit (row-locked with `lock`, so two designation changes of a unit run one after the other), its
/// owners and their enrollments. 404 for an unknown or retired unit.
async fn unit_owners(conn: &mut AsyncPgConnection, unit: Uuid, lock: bool) -> Result<UnitOwners, ApiError> {
    if lock {
        units::table.find(unit).select(units::id).for_update().first::<Uuid>(conn).await.optional()?;
    }
    let row: Option<(Uuid, String, String)> = units::table
        .inner_join(buildings::table)
        .filter(units::id.eq(unit))
        .filter(units::retired_at.is_null())
        .select((units::community_id, buildings::code, units::number))
        .first(conn)
        .await
        .optional()?;
    let (community, building_code, number) = row.ok_or_else(ApiError::not_found)?;
    let owner_rows: Vec<(Uuid, Option<String>)> = ownerships::table
        .filter(ownerships::unit_id.eq(unit))
        .select((ownerships::person_id, ownerships::developer_holding))
        .load(conn)
        .await?;
    let owners: BTreeSet<Uuid> = owner_rows.iter().map(|(p, _)| *p).collect();
    let links: Vec<(Uuid, Uuid, DateTime<Utc>)> = account_persons::table
        .filter(account_persons::community_id.eq(community))
        .filter(account_persons::person_id.eq_any(&owners))
        .select((account_persons::person_id, account_persons::account_id, account_persons::verified_at))
        .order((account_persons::verified_at.asc(), account_persons::account_id.asc()))
        .load(conn)
        .await?;
    let mut enrolled_first = Vec::new();
    let mut accounts: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
    for (person, account, _) in links {
        if !accounts.contains_key(&person) {
            enrolled_first.push(person);
        }
        accounts.entry(person).or_default().push(account);
    }
    Ok(UnitOwners {
        community,
        building_code,
        number,
        owners: CoOwners {
            enrolled: accounts.keys().copied().collect(),
            developer_held: owner_rows.iter().any(|(_, h)| h.is_some()),
            owners,
        },
        enrolled_first,
        accounts,
    })
}

/// The caller's person among the unit's owners (None: not an enrolled owner of it).
fn signer_of(unit: &UnitOwners, account: Uuid) -> Option<Uuid> {
    unit.accounts.iter().find(|(_, accounts)| accounts.contains(&account)).map(|(person, _)| *person)
}

type DesignationRow = (Uuid, Uuid, String, DateTime<Utc>, Option<DateTime<Utc>>);

/// The unit's live designations (pending, effective) with their signers.
async fn live_designations(conn: &mut AsyncPgConnection, unit: Uuid) -> QueryResult<Vec<(DesignationRow, BTreeSet<Uuid>)>> {
    let rows: Vec<DesignationRow> = designations::table
        .filter(designations::unit_id.eq(unit))
        .filter(designations::status.eq_any(["pending", "effective"]))
        .select((designations::id, designations::voter_person, designations::status, designations::created_at, designations::effective_at))
        .load(conn)
        .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
    let signed: Vec<(Uuid, Uuid)> = signatures::table
        .filter(signatures::designation_id.eq_any(&ids))
        .select((signatures::designation_id, signatures::person_id))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let by = signed.iter().filter(|(d, _)| *d == row.0).map(|(_, p)| *p).collect();
            (row, by)
        })
        .collect())
}

fn mask(name: &str) -> String {
    let mut chars = name.chars();
    let first: String = chars.next().into_iter().collect();
    first + &"*".repeat(chars.count().max(1))
}

/// The unit view for a co-owner (404 for anyone else).
pub async fn voter_view(conn: &mut AsyncPgConnection, pii: &Pii, unit_id: Uuid, account: Uuid) -> Result<CoOwnerVoterView, ApiError> {
    let unit = unit_owners(conn, unit_id, false).await?;
    let me = signer_of(&unit, account).ok_or_else(ApiError::not_found)?;
    let names: Vec<(Uuid, String)> = persons::table
        .filter(persons::id.eq_any(&unit.owners.owners))
        .select((persons::id, persons::name_enc))
        .load(conn)
        .await?;
    let mut masked = BTreeMap::new();
    for (id, enc) in names {
        masked.insert(id, mask(&pii.decrypt(Column::PersonName, &enc).map_err(ApiError::internal)?));
    }
    let live = live_designations(conn, unit_id).await?;
    let view = |(row, by): &(DesignationRow, BTreeSet<Uuid>)| {
        let waiting = match co_owners::standing(&unit.owners, by) {
            Standing::Waiting { missing } if row.2 == "pending" => missing.into_iter().collect(),
            _ => Vec::new(),
        };
        DesignationView { id: row.0, voter: row.1, proposed_at: row.3, effective_at: row.4, signed_by: by.iter().copied().collect(), waiting_for: waiting }
    };
    let effective = live.iter().find(|(r, _)| r.2 == "effective");
    let pending = live.iter().find(|(r, _)| r.2 == "pending");
    let voter = co_owners::current_voter(&unit.owners, effective.map(|(r, _)| r.1), &unit.enrolled_first).map(|(p, basis)| VoterHolder {
        co_owner: p,
        name: masked.get(&p).cloned().unwrap_or_default(),
        you: p == me,
        basis,
    });
    Ok(CoOwnerVoterView {
        unit_id,
        building_code: unit.building_code.clone(),
        unit_number: unit.number.clone(),
        co_owners: unit
            .owners
            .owners
            .iter()
            .map(|p| CoOwnerView {
                co_owner: *p,
                name: masked.get(p).cloned().unwrap_or_default(),
                enrolled: unit.owners.enrolled.contains(p),
                you: *p == me,
            })
            .collect(),
        voter,
        designation: effective.map(view),
        pending: pending.map(view),
        rule: co_owners::RULE,
    })
}

/// What a signature did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signed {
    /// The designation now waits for these enrolled co-owners.
    Waiting { designation: Uuid, missing: BTreeSet<Uuid> },
    /// Every enrolled co-owner has signed: it is in effect from now on.
    Effective { designation: Uuid },
    /// The designation in effect already names this voter: it stays (a designation of someone else that was
    /// waiting has ended).
    AlreadyInEffect { designation: Uuid },
}

/// The effect of a designation change: what happened, and whom to tell (the unit's other enrolled co-owners).
#[derive(Debug)]
pub struct Change<T> {
    pub outcome: T,
    pub tell: Vec<Uuid>,
    pub unit_label: String,
}

/// Records `account`'s signature of the designation of `voter` for `unit_id`, inside the caller's transaction
/// (after the request's signature and PIN were checked). A pending designation of another voter is superseded by
/// this one; once every enrolled co-owner has signed, it replaces the one in effect.
pub async fn apply_signature(
    conn: &mut AsyncPgConnection,
    unit_id: Uuid,
    account: Uuid,
    voter: Uuid,
    device_serial: &str,
    nonce: &str,
) -> Result<Change<Signed>, ApiError> {
    let unit = unit_owners(conn, unit_id, true).await?;
    lock_shared(conn, unit.community).await?;
    let signer = signer_of(&unit, account).ok_or_else(ApiError::not_found)?;
    co_owners::check_signature(&unit.owners, signer, voter).map_err(refusal)?;
    let live = live_designations(conn, unit_id).await?;
    let effective = live.iter().find(|(r, _)| r.2 == "effective").map(|(r, _)| (r.0, r.1));
    let pending = live.iter().find(|(r, _)| r.2 == "pending");
    let now = Utc::now();
    let designation = match pending {
        Some((row, _)) if row.1 == voter => row.0,
        other => {
            // A waiting designation of someone else ends: a co-owner signing another one does not agree to it
            // (and unanimity means any co-owner can stop it anyway).
            if let Some((row, _)) = other {
                diesel::update(designations::table.find(row.0))
                    .set((designations::status.eq("superseded"), designations::ended_at.eq(now), designations::ended_by.eq(account)))
                    .execute(conn)
                    .await?;
            }
            // Signing the designee already in effect keeps it: nothing new to sign.
            if let Some((id, in_effect)) = effective
                && in_effect == voter
            {
                return Ok(Change { outcome: Signed::AlreadyInEffect { designation: id }, tell: Vec::new(), unit_label: unit.label() });
            }
            let id = Uuid::now_v7();
            diesel::insert_into(designations::table)
                .values((
                    designations::id.eq(id),
                    designations::community_id.eq(unit.community),
                    designations::unit_id.eq(unit_id),
                    designations::voter_person.eq(voter),
                    designations::proposed_by.eq(account),
                    designations::status.eq("pending"),
                    designations::created_at.eq(now),
                ))
                .execute(conn)
                .await?;
            id
        }
    };
    let mut signed_by: BTreeSet<Uuid> = live.iter().find(|(r, _)| r.0 == designation).map(|(_, by)| by.clone()).unwrap_or_default();
    if !signed_by.contains(&signer) {
        let inserted = diesel::insert_into(signatures::table)
            .values((
                signatures::designation_id.eq(designation),
                signatures::person_id.eq(signer),
                signatures::account_id.eq(account),
                signatures::device_serial.eq(device_serial),
                signatures::request_nonce.eq(nonce),
                signatures::signed_at.eq(now),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        if inserted == 0 {
            // This very signed request is stored already: a replay Redis no longer remembered.
            return Err(crate::auth::signed::replayed());
        }
        signed_by.insert(signer);
    }
    let tell = others(&unit, signer);
    let outcome = match co_owners::standing(&unit.owners, &signed_by) {
        Standing::Waiting { missing } => Signed::Waiting { designation, missing },
        Standing::Effective => {
            if let Some((id, _)) = effective {
                diesel::update(designations::table.find(id))
                    .set((designations::status.eq("superseded"), designations::ended_at.eq(now), designations::ended_by.eq(account)))
                    .execute(conn)
                    .await?;
            }
            diesel::update(designations::table.find(designation))
                .set((designations::status.eq("effective"), designations::effective_at.eq(now)))
                .execute(conn)
                .await?;
            Signed::Effective { designation }
        }
    };
    Ok(Change { outcome, tell, unit_label: unit.label() })
}

/// The accounts of the unit's enrolled co-owners other than `person`.
fn others(unit: &UnitOwners, person: Uuid) -> Vec<Uuid> {
    unit.accounts.iter().filter(|(p, _)| **p != person).flat_map(|(_, a)| a.iter().copied()).collect()
}

/// Revokes the unit's designation in effect and any waiting one, inside the caller's transaction: the fallback
/// decides again from the next roll freeze. Returns the revoked ids (409 when there was none).
pub async fn apply_revocation(conn: &mut AsyncPgConnection, unit_id: Uuid, account: Uuid) -> Result<Change<Vec<Uuid>>, ApiError> {
    let unit = unit_owners(conn, unit_id, true).await?;
    lock_shared(conn, unit.community).await?;
    let signer = signer_of(&unit, account).ok_or_else(ApiError::not_found)?;
    let revoked: Vec<Uuid> = diesel::update(designations::table)
        .filter(designations::unit_id.eq(unit_id))
        .filter(designations::status.eq_any(["pending", "effective"]))
        .set((designations::status.eq("revoked"), designations::ended_at.eq(Utc::now()), designations::ended_by.eq(account)))
        .returning(designations::id)
        .get_results(conn)
        .await?;
    if revoked.is_empty() {
        return Err(ApiError::new(StatusCode::CONFLICT, "no_designation", "The unit has no designation to revoke"));
    }
    Ok(Change { outcome: revoked, tell: others(&unit, signer), unit_label: unit.label() })
}

/// A change a co-owner asks for.
enum Request {
    Sign { voter: Uuid },
    Revoke,
}

/// How a PIN-guarded change ended (an `Err` rolls it back; a refused PIN commits only its failure count).
enum Guarded {
    Signed(Change<Signed>),
    Revoked(Change<Vec<Uuid>>),
    PinRefused(crate::auth::pin::Refusal),
}

/// The co-owner's change of `unit`, whole: the request's device signature (its nonce claimed), then the body
/// (`input`, parsed by the caller: a malformed body is answered only after the signature, as a sheet's), then in
/// one transaction the PIN (lockout applies) and the change.
async fn guarded_change(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    (account, unit): (Uuid, Uuid),
    body: &[u8],
    signed: &SignedParts,
    input: Result<(Request, String), ApiError>,
) -> Result<Guarded, ApiError> {
    let device = crate::auth::signed::verify_signature(conn, signed, body, account).await?.claim_nonce(state).await?;
    let (request, pin) = input?;
    let pin = crate::auth::pin::parse_pin(&pin)?;
    let identity = state.identity()?;
    let outcome = conn
        .transaction(async |conn| {
            if let Err(refusal) = crate::auth::pin::check_pin_locked(conn, identity, account, pin).await? {
                return Ok::<_, ApiError>(Guarded::PinRefused(refusal));
            }
            Ok(match request {
                Request::Sign { voter } => Guarded::Signed(apply_signature(conn, unit, account, voter, &device.serial, &device.nonce).await?),
                Request::Revoke => Guarded::Revoked(apply_revocation(conn, unit, account).await?),
            })
        })
        .await?;
    match outcome {
        Guarded::PinRefused(refusal) => Err(crate::auth::pin::refused(refusal)),
        done => Ok(done),
    }
}

/// Who votes for the caller's co-owned unit: its co-owners (masked names), the designation in effect and one
/// waiting for signatures, and who holds the vote now.
#[utoipa::path(
    tag = "governance",
    params(("unit_id" = Uuid, Path)),
    responses(
        (status = 200, body = CoOwnerVoterView),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "not a unit the caller is a verified owner of"),
    ),
    security(("session" = []))
)]
#[get("/v1/units/{unit_id}/co-owner-voter")]
async fn get_voter(state: web::Data<AppState>, account: CurrentAccount, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.get().await?;
    Ok(HttpResponse::Ok().json(voter_view(&mut conn, &state.pii, path.into_inner(), account.0).await?))
}

/// Signs a designation of the co-owner who votes for the unit: device-signed, with the PIN. The first signature
/// proposes it (replacing a waiting designation of someone else); it takes effect once every enrolled co-owner
/// has signed the same designation, and then decides the voter of every roll frozen (voting opened) while it
/// holds. The other enrolled co-owners are told. Answers the unit view.
#[utoipa::path(
    tag = "governance",
    params(("unit_id" = Uuid, Path)),
    request_body = DesignationInput,
    responses(
        (status = 200, body = CoOwnerVoterView),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "bad signature or replayed nonce"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "wrong PIN"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "not a unit the caller is a verified owner of"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "the unit has a single owner"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "the designee is no co-owner or not enrolled"),
        (status = 423, body = Problem, content_type = "application/problem+json", description = "PIN use locked"),
    ),
    security(("session" = []))
)]
#[post("/v1/units/{unit_id}/co-owner-voter")]
async fn sign_designation(
    state: web::Data<AppState>,
    account: CurrentAccount,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (unit, account) = (path.into_inner(), account.0);
    let signed = SignedParts::from_request(&req);
    let input = parse_json::<DesignationInput>(&body).map(|i| (Request::Sign { voter: i.voter }, i.pin));
    let mut conn = state.db.get().await?;
    let Guarded::Signed(change) = guarded_change(&state, &mut conn, (account, unit), &body, &signed, input).await? else {
        return Err(ApiError::internal(anyhow::anyhow!("a signature answered as another change")));
    };
    let view = voter_view(&mut conn, &state.pii, unit, account).await?;
    let note = match change.outcome {
        Signed::Waiting { .. } => Some("共有人提议指定投票人待您确认"),
        Signed::Effective { .. } => Some("共有人已共同指定投票人"),
        Signed::AlreadyInEffect { .. } => None,
    };
    if let Some(note) = note {
        tell(&state, &change, note, &view).await;
    }
    Ok(HttpResponse::Ok().json(view))
}

/// Tells the unit's other enrolled co-owners what changed and who holds the vote now.
async fn tell<T>(state: &AppState, change: &Change<T>, note: &str, view: &CoOwnerVoterView) {
    let holder = view.voter.as_ref().map_or("暂无".to_owned(), |v| v.name.clone());
    for other in &change.tell {
        crate::notify::co_owner_voter(state, *other, note, &change.unit_label, &holder).await;
    }
}

/// Revokes the unit's co-owner designation (in effect or waiting): device-signed, with the PIN; any co-owner may.
/// From the next roll freeze the first co-owner to complete enrollment votes again. The others are told.
#[utoipa::path(
    tag = "governance",
    params(("unit_id" = Uuid, Path)),
    request_body = RevocationInput,
    responses(
        (status = 200, body = CoOwnerVoterView),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "bad signature or replayed nonce"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "wrong PIN"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "not a unit the caller is a verified owner of"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "no designation to revoke"),
        (status = 423, body = Problem, content_type = "application/problem+json", description = "PIN use locked"),
    ),
    security(("session" = []))
)]
#[post("/v1/units/{unit_id}/co-owner-voter/revoke")]
async fn revoke_designation(
    state: web::Data<AppState>,
    account: CurrentAccount,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (unit, account) = (path.into_inner(), account.0);
    let signed = SignedParts::from_request(&req);
    let input = parse_json::<RevocationInput>(&body).map(|i| (Request::Revoke, i.pin));
    let mut conn = state.db.get().await?;
    let Guarded::Revoked(change) = guarded_change(&state, &mut conn, (account, unit), &body, &signed, input).await? else {
        return Err(ApiError::internal(anyhow::anyhow!("a revocation answered as another change")));
    };
    let view = voter_view(&mut conn, &state.pii, unit, account).await?;
    tell(&state, &change, "共有人已撤销投票人指定", &view).await;
    Ok(HttpResponse::Ok().json(view))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_masked_but_the_first_character() {
        assert_eq!(mask("张三"), "张*");
        assert_eq!(mask("欧阳娜娜"), "欧***");
        assert_eq!(mask("J"), "J*");
        assert_eq!(mask("某置业有限公司"), "某******");
    }
}
