//! Persistence of the register: the idempotent import and the queries the read endpoints need.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::domain::{AreaCentiM2, AreaSource, DeveloperHolding, UnitKind};
use super::headcount::{CountingRules, Holder, UnitHolding};
use super::register_file::{OwnerIdentity, Register};
use crate::audit;
use crate::pii::{Column, Field, Pii};
use linli_identity::pii::PiiError;
use crate::schema::{account_persons, buildings, communities, ownerships, persons, register_imports, units};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error")]
    Db(#[from] diesel::result::Error),
    #[error("personal-data decryption failed")]
    Pii(#[from] PiiError),
    #[error("the register holds a value the code does not know: {0}")]
    Corrupt(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub community_id: Uuid,
    pub buildings: usize,
    pub units: usize,
    pub owners: usize,
    pub persons: usize,
    /// Rows inserted, updated or deleted; 0 when the register already matched the file.
    pub changed_rows: usize,
}

const CHUNK: usize = 1000;

/// id, kind, id_number_bidx, name_enc, phone_enc
type PersonRow = (Uuid, String, String, String, Option<String>);

/// Makes the database hold exactly the file's register for its community, in one transaction.
///
/// Rows that already match are not touched (an encrypted field is compared after decryption, not re-encrypted),
/// so importing the same file twice changes nothing — not even `updated_at`. `progress` is called with the number
/// of units and owners handled so far.
pub async fn apply_register(
    conn: &mut AsyncPgConnection,
    pii: &Pii,
    register: &Register,
    file_sha256: &[u8],
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ImportReport, StoreError> {
    conn.transaction(async |conn| apply_in_transaction(conn, pii, register, file_sha256, progress).await).await
}

async fn apply_in_transaction(
    conn: &mut AsyncPgConnection,
    pii: &Pii,
    register: &Register,
    file_sha256: &[u8],
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ImportReport, StoreError> {
    let mut changed = 0usize;
    // Two imports of one community never interleave.
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
        .bind::<diesel::sql_types::Text, _>(&register.community_code)
        .execute(conn)
        .await?;

    // Community.
    let existing: Option<(Uuid, String)> = communities::table
        .filter(communities::code.eq(&register.community_code))
        .select((communities::id, communities::name))
        .first(conn)
        .await
        .optional()?;
    let community_id = match existing {
        Some((id, name)) => {
            if name != register.community_name {
                changed += diesel::update(communities::table.find(id))
                    .set(communities::name.eq(&register.community_name))
                    .execute(conn)
                    .await?;
            }
            id
        }
        None => {
            let id = Uuid::now_v7();
            changed += diesel::insert_into(communities::table)
                .values((
                    communities::id.eq(id),
                    communities::code.eq(&register.community_code),
                    communities::name.eq(&register.community_name),
                ))
                .execute(conn)
                .await?;
            id
        }
    };

    // Buildings.
    let known: Vec<(Uuid, String, String)> = buildings::table
        .filter(buildings::community_id.eq(community_id))
        .select((buildings::id, buildings::code, buildings::name))
        .load(conn)
        .await?;
    let mut building_ids: HashMap<String, Uuid> = HashMap::new();
    let known: HashMap<String, (Uuid, String)> = known.into_iter().map(|(id, c, n)| (c, (id, n))).collect();
    for b in &register.buildings {
        match known.get(&b.code) {
            Some((id, name)) => {
                if *name != b.name {
                    changed +=
                        diesel::update(buildings::table.find(*id)).set(buildings::name.eq(&b.name)).execute(conn).await?;
                }
                building_ids.insert(b.code.clone(), *id);
            }
            None => {
                let id = Uuid::now_v7();
                changed += diesel::insert_into(buildings::table)
                    .values((
                        buildings::id.eq(id),
                        buildings::community_id.eq(community_id),
                        buildings::code.eq(&b.code),
                        buildings::name.eq(&b.name),
                    ))
                    .execute(conn)
                    .await?;
                building_ids.insert(b.code.clone(), id);
            }
        }
    }

    // Units.
    type UnitRow = (Uuid, Uuid, String, String, i64, String, i64);
    let known: Vec<UnitRow> = units::table
        .filter(units::community_id.eq(community_id))
        .select((
            units::id,
            units::building_id,
            units::number,
            units::kind,
            units::exclusive_area_centi_m2,
            units::area_source,
            units::building_area_centi_m2,
        ))
        .load(conn)
        .await?;
    let known: HashMap<(Uuid, String), UnitRow> = known.into_iter().map(|r| ((r.1, r.2.clone()), r)).collect();
    let mut unit_ids: HashMap<(String, String), Uuid> = HashMap::new();
    let mut new_units = Vec::new();
    let mut done = 0u64;
    for u in &register.units {
        let building_id = building_ids
            .get(&u.building)
            .copied()
            .ok_or_else(|| StoreError::Corrupt(format!("building {} vanished", u.building)))?;
        let wanted = (
            u.kind.as_str(),
            u.exclusive_area.get(),
            u.area_source.as_str(),
            u.building_area.get(),
        );
        match known.get(&(building_id, u.number.clone())) {
            Some(row) => {
                if (row.3.as_str(), row.4, row.5.as_str(), row.6) != wanted {
                    changed += diesel::update(units::table.find(row.0))
                        .set((
                            units::kind.eq(wanted.0),
                            units::exclusive_area_centi_m2.eq(wanted.1),
                            units::area_source.eq(wanted.2),
                            units::building_area_centi_m2.eq(wanted.3),
                            units::updated_at.eq(diesel::dsl::now),
                        ))
                        .execute(conn)
                        .await?;
                }
                unit_ids.insert((u.building.clone(), u.number.clone()), row.0);
            }
            None => {
                let id = Uuid::now_v7();
                unit_ids.insert((u.building.clone(), u.number.clone()), id);
                new_units.push((
                    units::id.eq(id),
                    units::community_id.eq(community_id),
                    units::building_id.eq(building_id),
                    units::number.eq(u.number.clone()),
                    units::kind.eq(wanted.0),
                    units::exclusive_area_centi_m2.eq(wanted.1),
                    units::area_source.eq(wanted.2),
                    units::building_area_centi_m2.eq(wanted.3),
                ));
            }
        }
        done += 1;
        if done.is_multiple_of(200) {
            progress(done);
        }
    }
    for chunk in new_units.chunks(CHUNK) {
        changed += diesel::insert_into(units::table).values(chunk).execute(conn).await?;
    }

    // Persons, found by blind index; compared after decryption so unchanged ones are not rewritten.
    let mut people: BTreeMap<&str, (&OwnerIdentity, &str, Option<&str>)> = BTreeMap::new();
    for o in &register.owners {
        people.entry(o.identity.key()).or_insert((&o.identity, o.name.as_str(), o.phone.as_ref().map(|p| p.expose())));
    }
    let indexes: Vec<(String, &str)> = people.keys().map(|k| (pii.index(Field::IdNumber, k), *k)).collect();
    let mut person_ids: HashMap<&str, Uuid> = HashMap::new();
    let mut new_persons = Vec::new();
    for chunk in indexes.chunks(CHUNK) {
        let wanted: Vec<&String> = chunk.iter().map(|(b, _)| b).collect();
        let found: Vec<PersonRow> = persons::table
            .filter(persons::id_number_bidx.eq_any(wanted))
            .select((persons::id, persons::kind, persons::id_number_bidx, persons::name_enc, persons::phone_enc))
            .load(conn)
            .await?;
        let found: HashMap<String, PersonRow> = found.into_iter().map(|row| (row.2.clone(), row)).collect();
        for (bidx, key) in chunk {
            let Some((identity, name, phone)) = people.get(key) else { continue };
            let kind = match identity {
                OwnerIdentity::Person(_) => "natural",
                OwnerIdentity::Developer { .. } => "developer",
            };
            match found.get(bidx) {
                Some((id, known_kind, _, name_enc, phone_enc)) => {
                    let known_name = pii.decrypt(Column::PersonName, name_enc)?;
                    let known_phone = phone_enc.as_deref().map(|p| pii.decrypt(Column::PersonPhone, p)).transpose()?;
                    if known_name != *name || known_phone.as_deref() != *phone || known_kind != kind {
                        changed += diesel::update(persons::table.find(*id))
                            .set((
                                persons::kind.eq(kind),
                                persons::name_enc.eq(pii.encrypt(Column::PersonName, name)?),
                                persons::phone_enc.eq(phone.map(|p| pii.encrypt(Column::PersonPhone, p)).transpose()?),
                                persons::phone_bidx.eq(phone.map(|p| pii.index(Field::Phone, p))),
                            ))
                            .execute(conn)
                            .await?;
                    }
                    person_ids.insert(key, *id);
                }
                None => {
                    let id = Uuid::now_v7();
                    person_ids.insert(key, id);
                    new_persons.push((
                        persons::id.eq(id),
                        persons::kind.eq(kind),
                        persons::name_enc.eq(pii.encrypt(Column::PersonName, name)?),
                        persons::id_number_enc.eq(pii.encrypt(Column::PersonIdNumber, key)?),
                        persons::id_number_bidx.eq(bidx.clone()),
                        persons::phone_enc.eq(phone.map(|p| pii.encrypt(Column::PersonPhone, p)).transpose()?),
                        persons::phone_bidx.eq(phone.map(|p| pii.index(Field::Phone, p))),
                    ));
                }
            }
        }
    }
    for chunk in new_persons.chunks(CHUNK) {
        changed += diesel::insert_into(persons::table).values(chunk).execute(conn).await?;
    }

    // Ownerships: per unit of the file, exactly the file's owners.
    let mut wanted: BTreeMap<Uuid, BTreeMap<Uuid, Option<&'static str>>> = BTreeMap::new();
    for o in &register.owners {
        let unit_id = unit_ids
            .get(&(o.building.clone(), o.unit.clone()))
            .copied()
            .ok_or_else(|| StoreError::Corrupt(format!("unit {}-{} vanished", o.building, o.unit)))?;
        let person_id = person_ids
            .get(o.identity.key())
            .copied()
            .ok_or_else(|| StoreError::Corrupt("owner vanished".to_owned()))?;
        let holding = match &o.identity {
            OwnerIdentity::Developer { holding, .. } => Some(holding.as_str()),
            OwnerIdentity::Person(_) => None,
        };
        wanted.entry(unit_id).or_default().insert(person_id, holding);
    }
    let mut current: BTreeMap<Uuid, BTreeMap<Uuid, Option<String>>> = BTreeMap::new();
    let rows: Vec<(Uuid, Uuid, Option<String>)> = ownerships::table
        .inner_join(units::table)
        .filter(units::community_id.eq(community_id))
        .select((ownerships::unit_id, ownerships::person_id, ownerships::developer_holding))
        .load(conn)
        .await?;
    for (unit_id, person_id, holding) in rows {
        current.entry(unit_id).or_default().insert(person_id, holding);
    }
    let mut inserts = Vec::new();
    for (unit_id, owners) in &wanted {
        let now = current.remove(unit_id).unwrap_or_default();
        for (person_id, holding) in owners {
            match now.get(person_id) {
                Some(h) if h.as_deref() == *holding => {}
                Some(_) => {
                    changed += diesel::update(ownerships::table.find((*unit_id, *person_id)))
                        .set(ownerships::developer_holding.eq(*holding))
                        .execute(conn)
                        .await?;
                }
                None => inserts.push((
                    ownerships::unit_id.eq(*unit_id),
                    ownerships::person_id.eq(*person_id),
                    ownerships::developer_holding.eq(*holding),
                )),
            }
        }
        for person_id in now.keys().filter(|p| !owners.contains_key(*p)) {
            changed += diesel::delete(ownerships::table.find((*unit_id, *person_id))).execute(conn).await?;
        }
        done += owners.len() as u64;
        if done.is_multiple_of(200) {
            progress(done);
        }
    }
    for chunk in inserts.chunks(CHUNK) {
        changed += diesel::insert_into(ownerships::table).values(chunk).execute(conn).await?;
    }
    progress(done);

    let report = ImportReport {
        community_id,
        buildings: register.buildings.len(),
        units: register.units.len(),
        owners: register.owners.len(),
        persons: people.len(),
        changed_rows: changed,
    };
    if changed > 0 {
        diesel::insert_into(register_imports::table)
            .values((
                register_imports::id.eq(Uuid::now_v7()),
                register_imports::community_id.eq(community_id),
                register_imports::file_sha256.eq(file_sha256),
                register_imports::units.eq(report.units as i32),
                register_imports::owners.eq(report.owners as i32),
                register_imports::changed_rows.eq(changed as i32),
            ))
            .execute(conn)
            .await?;
        audit::append(
            conn,
            "cli:import-register",
            "register.import",
            &format!("community:{community_id}"),
            serde_json::json!({
                "file_sha256": hex::encode(file_sha256),
                "units": report.units,
                "owners": report.owners,
                "changed_rows": changed,
            }),
        )
        .await?;
    }
    Ok(report)
}

#[derive(Debug, Clone)]
pub struct CommunityRow {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub rules: CountingRules,
}

pub async fn community(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<CommunityRow>> {
    let row: Option<(Uuid, String, String, bool)> = communities::table
        .find(id)
        .select((communities::id, communities::code, communities::name, communities::count_parking_spaces))
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(|(id, code, name, parking)| CommunityRow {
        id,
        code,
        name,
        rules: CountingRules { count_parking_spaces: parking },
    }))
}

pub async fn community_by_code(conn: &mut AsyncPgConnection, code: &str) -> QueryResult<Option<Uuid>> {
    communities::table.filter(communities::code.eq(code)).select(communities::id).first(conn).await.optional()
}

/// A unit with its building, as the read endpoints show it.
#[derive(Debug, Clone)]
pub struct UnitDetail {
    pub id: Uuid,
    pub building_code: String,
    pub building_name: String,
    pub number: String,
    pub kind: UnitKind,
    pub exclusive_area: AreaCentiM2,
    pub area_source: AreaSource,
    pub building_area: AreaCentiM2,
}

fn parse_unit(
    (id, building_code, building_name, number, kind, area, source, built): (
        Uuid,
        String,
        String,
        String,
        String,
        i64,
        String,
        i64,
    ),
) -> Result<UnitDetail, StoreError> {
    Ok(UnitDetail {
        id,
        building_code,
        building_name,
        number,
        kind: UnitKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(kind.clone()))?,
        exclusive_area: AreaCentiM2::new(area).map_err(|_| StoreError::Corrupt(area.to_string()))?,
        area_source: AreaSource::parse(&source).ok_or_else(|| StoreError::Corrupt(source.clone()))?,
        building_area: AreaCentiM2::new(built).map_err(|_| StoreError::Corrupt(built.to_string()))?,
    })
}

/// Every unit of a community with its holder, for the headcount rules.
pub async fn holdings(
    conn: &mut AsyncPgConnection,
    community_id: Uuid,
) -> Result<Vec<(UnitDetail, Holder)>, StoreError> {
    let rows = units::table
        .inner_join(buildings::table)
        .filter(units::community_id.eq(community_id))
        .select((
            units::id,
            buildings::code,
            buildings::name,
            units::number,
            units::kind,
            units::exclusive_area_centi_m2,
            units::area_source,
            units::building_area_centi_m2,
        ))
        .order((buildings::code.asc(), units::number.asc()))
        .load(conn)
        .await?;
    let owner_rows: Vec<(Uuid, Uuid, Option<String>)> = ownerships::table
        .inner_join(units::table)
        .filter(units::community_id.eq(community_id))
        .select((ownerships::unit_id, ownerships::person_id, ownerships::developer_holding))
        .load(conn)
        .await?;
    let mut owners: HashMap<Uuid, (BTreeSet<Uuid>, Option<String>)> = HashMap::new();
    for (unit, person, holding) in owner_rows {
        let entry = owners.entry(unit).or_default();
        entry.0.insert(person);
        if holding.is_some() {
            entry.1 = holding;
        }
    }
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let unit = parse_unit(row)?;
        let holder = match owners.remove(&unit.id) {
            Some((_, Some(h))) => {
                Holder::Developer(DeveloperHolding::parse(&h).ok_or_else(|| StoreError::Corrupt(h.clone()))?)
            }
            Some((set, None)) => Holder::Owners(set),
            // A unit without owners cannot be imported; if one appears it counts for no one.
            None => Holder::Owners(BTreeSet::new()),
        };
        out.push((unit, holder));
    }
    Ok(out)
}

pub fn as_holdings(rows: &[(UnitDetail, Holder)]) -> Vec<UnitHolding> {
    rows.iter()
        .filter(|(_, h)| !matches!(h, Holder::Owners(set) if set.is_empty()))
        .map(|(u, h)| UnitHolding { unit_id: u.id, kind: u.kind, area: u.exclusive_area, holder: h.clone() })
        .collect()
}

/// The register persons an account has been verified as, in one community.
pub async fn persons_of_account(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    community_id: Uuid,
) -> QueryResult<Vec<Uuid>> {
    account_persons::table
        .filter(account_persons::account_id.eq(account_id))
        .filter(account_persons::community_id.eq(community_id))
        .select(account_persons::person_id)
        .load(conn)
        .await
}
