//! Persistence of the register: the idempotent import and the queries the read endpoints need.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::domain::{AreaCentiM2, AreaSource, DeveloperHolding, UnitKind};
use super::headcount::{CountingRules, Holder, UnitHolding};
use super::reconcile::{
    AreaConflict, AreaSources, CountedArea, MissingUnits, RegistryArea, StoredUnit, apply_file_area, plan_units,
};
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
    /// Units of the register the file does not list, refused because removals were not allowed (labels like
    /// `B01-0102`, sorted). Nothing was imported.
    #[error("{} unit(s) of the register are missing from the file", .0.len())]
    MissingUnits(Vec<String>),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Retire the register's units the file no longer lists (otherwise such a file is refused).
    pub allow_removals: bool,
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
    /// Units retired by this import (missing from the file), as `building-unit`, sorted.
    pub retired_units: Vec<String>,
    /// Retired units the file lists again, active again.
    pub reinstated_units: Vec<String>,
    /// File area lines a better source disagrees with: kept in their own slot, not counted.
    pub area_conflicts: Vec<UnitAreaConflict>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitAreaConflict {
    /// `building-unit`
    pub unit: String,
    pub conflict: AreaConflict,
}

/// How reports and errors name a unit: `B01-0101`, as the register file's messages do.
pub fn unit_label(building: &str, number: &str) -> String {
    format!("{building}-{number}")
}

/// A unit row with every area it has, as the import and the registry factor read it.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = units)]
pub struct StoredUnitRow {
    pub id: Uuid,
    pub building_id: Uuid,
    pub number: String,
    pub kind: String,
    pub exclusive_area_centi_m2: i64,
    pub area_source: String,
    pub building_area_centi_m2: i64,
    pub register_area_centi_m2: Option<i64>,
    pub surveyed_area_centi_m2: Option<i64>,
    pub contract_area_centi_m2: Option<i64>,
    pub registry_area_centi_m2: Option<i64>,
    pub registry_area_source: Option<String>,
    pub retired_at: Option<DateTime<Utc>>,
}

fn stored_area(centi: Option<i64>) -> Result<Option<AreaCentiM2>, StoreError> {
    centi.map(|c| AreaCentiM2::new(c).map_err(|_| StoreError::Corrupt(c.to_string()))).transpose()
}

impl StoredUnitRow {
    pub fn sources(&self) -> Result<AreaSources, StoreError> {
        Ok(AreaSources {
            register: stored_area(self.register_area_centi_m2)?,
            surveyed: stored_area(self.surveyed_area_centi_m2)?,
            contract: stored_area(self.contract_area_centi_m2)?,
            registry: stored_area(self.registry_area_centi_m2)?
                .map(|area| RegistryArea { area, given_source: self.registry_area_source.clone() }),
        })
    }

    fn columns(&self) -> UnitColumns {
        UnitColumns {
            kind: self.kind.clone(),
            exclusive: self.exclusive_area_centi_m2,
            source: self.area_source.clone(),
            building_area: self.building_area_centi_m2,
            register: self.register_area_centi_m2,
            surveyed: self.surveyed_area_centi_m2,
            contract: self.contract_area_centi_m2,
        }
    }
}

/// The unit columns a register file decides (the registry's columns and `retired_at` are written apart).
#[derive(Debug, PartialEq, Eq)]
struct UnitColumns {
    kind: String,
    exclusive: i64,
    source: String,
    building_area: i64,
    register: Option<i64>,
    surveyed: Option<i64>,
    contract: Option<i64>,
}

type UnitChangeset = (
    diesel::dsl::Eq<units::kind, String>,
    diesel::dsl::Eq<units::exclusive_area_centi_m2, i64>,
    diesel::dsl::Eq<units::area_source, String>,
    diesel::dsl::Eq<units::building_area_centi_m2, i64>,
    diesel::dsl::Eq<units::register_area_centi_m2, Option<i64>>,
    diesel::dsl::Eq<units::surveyed_area_centi_m2, Option<i64>>,
    diesel::dsl::Eq<units::contract_area_centi_m2, Option<i64>>,
);

impl UnitColumns {
    fn new(kind: UnitKind, sources: &AreaSources, counted: CountedArea, building_area: AreaCentiM2) -> Self {
        Self {
            kind: kind.as_str().to_owned(),
            exclusive: counted.area.get(),
            source: counted.source.as_str().to_owned(),
            building_area: building_area.get(),
            register: sources.register.map(AreaCentiM2::get),
            surveyed: sources.surveyed.map(AreaCentiM2::get),
            contract: sources.contract.map(AreaCentiM2::get),
        }
    }

    fn changeset(self) -> UnitChangeset {
        (
            units::kind.eq(self.kind),
            units::exclusive_area_centi_m2.eq(self.exclusive),
            units::area_source.eq(self.source),
            units::building_area_centi_m2.eq(self.building_area),
            units::register_area_centi_m2.eq(self.register),
            units::surveyed_area_centi_m2.eq(self.surveyed),
            units::contract_area_centi_m2.eq(self.contract),
        )
    }
}

const CHUNK: usize = 1000;

/// id, kind, id_number_bidx, name_enc, phone_enc, id_type
type PersonRow = (Uuid, String, String, String, Option<String>, String);

/// [`import_register`] without removals: a file that leaves out a unit of the register is refused.
pub async fn apply_register(
    conn: &mut AsyncPgConnection,
    pii: &Pii,
    register: &Register,
    file_sha256: &[u8],
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ImportReport, StoreError> {
    import_register(conn, pii, register, file_sha256, ImportOptions::default(), progress).await
}

/// Makes the database hold the file's register for its community, in one transaction (any error: nothing
/// changed). Areas merge by source and never lower one (`reconcile`); units the file leaves out are refused
/// ([`StoreError::MissingUnits`]) or, with `allow_removals`, retired.
///
/// Rows that already match are not touched (an encrypted field is compared after decryption, not re-encrypted),
/// so importing the same file twice changes nothing — not even `updated_at`. `progress` is called with the number
/// of units and owners handled so far.
pub async fn import_register(
    conn: &mut AsyncPgConnection,
    pii: &Pii,
    register: &Register,
    file_sha256: &[u8],
    options: ImportOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ImportReport, StoreError> {
    conn.transaction(async |conn| apply_in_transaction(conn, pii, register, file_sha256, options, progress).await).await
}

async fn apply_in_transaction(
    conn: &mut AsyncPgConnection,
    pii: &Pii,
    register: &Register,
    file_sha256: &[u8],
    options: ImportOptions,
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

    // Units: the file's areas merged into the stored ones (never lowering a source), missing units refused or
    // retired, retired units listed again reinstated (see `reconcile`).
    let building_codes: HashMap<Uuid, String> =
        known.iter().map(|(code, (id, _))| (*id, code.clone())).chain(building_ids.iter().map(|(c, id)| (*id, c.clone()))).collect();
    let stored: Vec<StoredUnitRow> = units::table
        .filter(units::community_id.eq(community_id))
        .select(StoredUnitRow::as_select())
        .load(conn)
        .await?;
    let mut plan_input = Vec::with_capacity(stored.len());
    let mut stored_ids: HashMap<(String, String), Uuid> = HashMap::with_capacity(stored.len());
    for row in &stored {
        let building = building_codes
            .get(&row.building_id)
            .cloned()
            .ok_or_else(|| StoreError::Corrupt(format!("unit {} in a building of another community", row.id)))?;
        stored_ids.insert((building.clone(), row.number.clone()), row.id);
        plan_input.push(StoredUnit { building, number: row.number.clone(), retired: row.retired_at.is_some() });
    }
    let file_units: BTreeSet<(String, String)> =
        register.units.iter().map(|u| (u.building.clone(), u.number.clone())).collect();
    let plan = plan_units(&plan_input, &file_units, options.allow_removals)
        .map_err(|MissingUnits(missing)| StoreError::MissingUnits(missing.iter().map(|(b, n)| unit_label(b, n)).collect()))?;
    let known: HashMap<(Uuid, String), StoredUnitRow> =
        stored.into_iter().map(|r| ((r.building_id, r.number.clone()), r)).collect();
    let mut unit_ids: HashMap<(String, String), Uuid> = HashMap::new();
    let mut new_units = Vec::new();
    let mut area_conflicts = Vec::new();
    let mut done = 0u64;
    for u in &register.units {
        let building_id = building_ids
            .get(&u.building)
            .copied()
            .ok_or_else(|| StoreError::Corrupt(format!("building {} vanished", u.building)))?;
        match known.get(&(building_id, u.number.clone())) {
            Some(row) => {
                let (sources, conflict) = apply_file_area(&row.sources()?, u.area_source, u.exclusive_area);
                let counted = sources.counted().ok_or_else(|| StoreError::Corrupt(format!("unit {} has no area", row.id)))?;
                if let Some(conflict) = conflict {
                    area_conflicts.push(UnitAreaConflict { unit: unit_label(&u.building, &u.number), conflict });
                }
                let wanted = UnitColumns::new(u.kind, &sources, counted, u.building_area);
                if row.columns() != wanted || row.retired_at.is_some() {
                    changed += diesel::update(units::table.find(row.id))
                        .set((wanted.changeset(), units::retired_at.eq(None::<DateTime<Utc>>), units::updated_at.eq(diesel::dsl::now)))
                        .execute(conn)
                        .await?;
                }
                unit_ids.insert((u.building.clone(), u.number.clone()), row.id);
            }
            None => {
                let id = Uuid::now_v7();
                unit_ids.insert((u.building.clone(), u.number.clone()), id);
                let sources = AreaSources::from_file(u.area_source, u.exclusive_area);
                let counted = CountedArea { area: u.exclusive_area, source: u.area_source, by_registry: false };
                new_units.push((
                    units::id.eq(id),
                    units::community_id.eq(community_id),
                    units::building_id.eq(building_id),
                    units::number.eq(u.number.clone()),
                    UnitColumns::new(u.kind, &sources, counted, u.building_area).changeset(),
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
    let retire: Vec<Uuid> = plan.retire.iter().filter_map(|key| stored_ids.get(key).copied()).collect();
    for chunk in retire.chunks(CHUNK) {
        changed += diesel::update(units::table.filter(units::id.eq_any(chunk)))
            .set((units::retired_at.eq(diesel::dsl::now), units::updated_at.eq(diesel::dsl::now)))
            .execute(conn)
            .await?;
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
            .select((persons::id, persons::kind, persons::id_number_bidx, persons::name_enc, persons::phone_enc, persons::id_type))
            .load(conn)
            .await?;
        let found: HashMap<String, PersonRow> = found.into_iter().map(|row| (row.2.clone(), row)).collect();
        for (bidx, key) in chunk {
            let Some((identity, name, phone)) = people.get(key) else { continue };
            let (kind, id_type) = (identity.person_kind(), identity.id_type());
            match found.get(bidx) {
                Some((id, known_kind, _, name_enc, phone_enc, known_id_type)) => {
                    let known_name = pii.decrypt(Column::PersonName, name_enc)?;
                    let known_phone = phone_enc.as_deref().map(|p| pii.decrypt(Column::PersonPhone, p)).transpose()?;
                    if known_name != *name || known_phone.as_deref() != *phone || known_kind != kind || known_id_type != id_type {
                        changed += diesel::update(persons::table.find(*id))
                            .set((
                                persons::kind.eq(kind),
                                persons::id_type.eq(id_type),
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
                        persons::id_type.eq(id_type),
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
            OwnerIdentity::Person(_) | OwnerIdentity::ForeignDocument(_) | OwnerIdentity::Organisation(_) => None,
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
        retired_units: plan.retire.iter().map(|(b, n)| unit_label(b, n)).collect(),
        reinstated_units: plan.reinstate.iter().map(|(b, n)| unit_label(b, n)).collect(),
        area_conflicts,
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
                register_imports::retired_units.eq(report.retired_units.len() as i32),
                register_imports::reinstated_units.eq(report.reinstated_units.len() as i32),
                register_imports::area_conflicts.eq(report.area_conflicts.len() as i32),
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
                "retired_units": report.retired_units,
                "reinstated_units": report.reinstated_units,
                "area_conflicts": report.area_conflicts.len(),
            }),
        )
        .await?;
    }
    Ok(report)
}

/// Whether the unit exists and is not retired. Enrollment steps for a retired unit are refused with this.
pub async fn unit_is_active(conn: &mut AsyncPgConnection, unit: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(units::table.find(unit).filter(units::retired_at.is_null())))
        .get_result(conn)
        .await
}

/// What recording a registry answer did to a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryAreaOutcome {
    /// The unit is retired: nothing written (the caller refuses the step).
    Retired,
    /// The answer carried no usable area, or the same area and source as already recorded.
    Unchanged,
    /// Recorded; `from`/`to` are the counted area before and after (equal when a better file source still counts).
    Recorded { from: (AreaCentiM2, AreaSource), to: (AreaCentiM2, AreaSource) },
}

/// Longest `area_source` of a registry answer we store (the column's limit).
const MAX_REGISTRY_SOURCE_CHARS: usize = 32;

/// Records the housing registry's confirmed area of a unit with the registry's own `area_source` as given, and
/// derives the counted area again by precedence (`reconcile`). Locks the unit row; run inside the caller's
/// transaction. A source too long or with control characters is not stored (the area counts as the register's).
pub async fn record_registry_area(
    conn: &mut AsyncPgConnection,
    unit: Uuid,
    registered_centi_m2: Option<i64>,
    given_source: Option<&str>,
) -> Result<RegistryAreaOutcome, StoreError> {
    let row: StoredUnitRow = units::table.find(unit).select(StoredUnitRow::as_select()).for_update().first(conn).await?;
    if row.retired_at.is_some() {
        return Ok(RegistryAreaOutcome::Retired);
    }
    let Some(area) = registered_centi_m2.and_then(|a| AreaCentiM2::new(a).ok()) else {
        return Ok(RegistryAreaOutcome::Unchanged);
    };
    let given_source = given_source
        .filter(|s| (1..=MAX_REGISTRY_SOURCE_CHARS).contains(&s.chars().count()) && !s.chars().any(char::is_control))
        .map(str::to_owned);
    let mut sources = row.sources()?;
    let answer = RegistryArea { area, given_source };
    if sources.registry.as_ref() == Some(&answer) {
        return Ok(RegistryAreaOutcome::Unchanged);
    }
    let area_source = AreaSource::parse(&row.area_source).ok_or_else(|| StoreError::Corrupt(row.area_source.clone()))?;
    let from = (AreaCentiM2::new(row.exclusive_area_centi_m2).map_err(|_| StoreError::Corrupt(row.id.to_string()))?, area_source);
    sources.registry = Some(answer.clone());
    let counted = sources.counted().ok_or_else(|| StoreError::Corrupt(format!("unit {} has no area", row.id)))?;
    diesel::update(units::table.find(unit))
        .set((
            units::registry_area_centi_m2.eq(area.get()),
            units::registry_area_source.eq(&answer.given_source),
            units::exclusive_area_centi_m2.eq(counted.area.get()),
            units::area_source.eq(counted.source.as_str()),
            units::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(RegistryAreaOutcome::Recorded { from, to: (counted.area, counted.source) })
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

/// Every unit of a community with its holder, for the headcount rules. Retired units are not in the register any
/// more: they count in no total and no roll.
pub async fn holdings(
    conn: &mut AsyncPgConnection,
    community_id: Uuid,
) -> Result<Vec<(UnitDetail, Holder)>, StoreError> {
    let rows = units::table
        .inner_join(buildings::table)
        .filter(units::community_id.eq(community_id))
        .filter(units::retired_at.is_null())
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
        .filter(units::retired_at.is_null())
        .select((ownerships::unit_id, ownerships::person_id, ownerships::developer_holding))
        .load(conn)
        .await?;
    /// A unit's owners, and the developer holding it with how (`unsold`, `undelivered`).
    type UnitOwners = (BTreeSet<Uuid>, Option<(Uuid, String)>);
    let mut owners: HashMap<Uuid, UnitOwners> = HashMap::new();
    for (unit, person, holding) in owner_rows {
        let entry = owners.entry(unit).or_default();
        entry.0.insert(person);
        if let Some(holding) = holding {
            entry.1 = Some((person, holding));
        }
    }
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let unit = parse_unit(row)?;
        let holder = match owners.remove(&unit.id) {
            Some((_, Some((developer, h)))) => Holder::Developer {
                developer,
                holding: DeveloperHolding::parse(&h).ok_or_else(|| StoreError::Corrupt(h.clone()))?,
            },
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
