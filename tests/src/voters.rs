//! The demo community's person owners as voters: every one of them (from the sandbox's register data; each has a
//! reference face there, committed or derived from the ID number), a choice of voters no two of whom share a unit,
//! and bulk enrollment through the real HTTP flow (login, consent, face, registry, device CSR, PIN) with bounded
//! concurrency.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::owner::Owner;
use crate::world::World;

/// A unit by building code and number, as the register and the published roll name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitRef {
    pub building: String,
    pub unit: String,
}

/// A person owner of the register with every unit they own or co-own.
#[derive(Debug, Clone)]
pub struct PersonOwner {
    pub name: String,
    pub id_number: String,
    /// Sorted by building and number (residences `B..` come before parking spaces `G..`).
    pub units: Vec<UnitRef>,
    /// The register's exclusive area of all their units together, centi-m² (parking spaces included).
    pub register_area_centi_m2: i64,
}

/// "89.35" → 8935 (the register's format: at most two decimals).
fn centi(m2: &str) -> Option<i64> {
    let (whole, frac) = m2.split_once('.').unwrap_or((m2, ""));
    if frac.len() > 2 {
        return None;
    }
    let frac: i64 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().ok()? };
    Some(whole.parse::<i64>().ok()? * 100 + frac)
}

/// Every person owner of the register the sandbox plays, sorted by ID number.
pub async fn person_owners(sandbox_base: &str) -> anyhow::Result<Vec<PersonOwner>> {
    let body: Value = crate::client().get(format!("{sandbox_base}/sandbox/owners")).send().await?.error_for_status()?.json().await?;
    let mut out = Vec::new();
    for p in body["owners"].as_array().cloned().unwrap_or_default() {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let listed = p["units"].as_array().cloned().unwrap_or_default();
        let units = listed.iter().map(|u| UnitRef { building: text(&u["building"]), unit: text(&u["unit"]) }).collect();
        let mut area = 0;
        for u in &listed {
            area += centi(u["exclusive_area_m2"].as_str().unwrap_or_default())
                .ok_or_else(|| anyhow::anyhow!("unit area {:?} is not in m² with two decimals", u["exclusive_area_m2"]))?;
        }
        out.push(PersonOwner { name: text(&p["name"]), id_number: text(&p["id_number"]), units, register_area_centi_m2: area });
    }
    anyhow::ensure!(!out.is_empty(), "the sandbox lists no person owners");
    Ok(out)
}

/// The person's reference face as PNG, from the sandbox (what a selfie of that person looks like to FaceID).
pub async fn face_png(http: &reqwest::Client, sandbox_base: &str, id_number: &str) -> anyhow::Result<Vec<u8>> {
    Ok(http.get(format!("{sandbox_base}/sandbox/faces/{id_number}")).send().await?.error_for_status()?.bytes().await?.to_vec())
}

/// A PIN the PIN policy accepts for this person (not trivial, not the birth date, not the ID's last six).
pub fn pin_for(id_number: &str) -> anyhow::Result<String> {
    use linli_identity::id_number::IdNumber;
    use linli_identity::pin::{Pin, check_policy};
    let id = IdNumber::parse(id_number).map_err(|e| anyhow::anyhow!("id number: {e:?}"))?;
    for candidate in ["739415", "846203", "592730", "307948", "185296", "964031", "270583", "813740"] {
        let pin = Pin::parse(candidate).map_err(|e| anyhow::anyhow!("pin: {e:?}"))?;
        if check_policy(&pin, Some(&id)).is_ok() {
            return Ok(candidate.to_owned());
        }
    }
    anyhow::bail!("no candidate PIN fits this person")
}

/// Persons no two of whom share a unit, in the given order: then every roll key (one owner set) has at most one
/// enrolled person, so its designated voter is known without depending on who finished enrollment first.
pub fn sharing_no_unit(owners: &[PersonOwner]) -> Vec<PersonOwner> {
    let mut taken: BTreeSet<&UnitRef> = BTreeSet::new();
    let mut out = Vec::new();
    for p in owners {
        if p.units.iter().any(|u| taken.contains(u)) {
            continue;
        }
        taken.extend(p.units.iter());
        out.push(p.clone());
    }
    out
}

/// A verified owner: the person, their logged-in session with device key and certificate, and their PIN.
pub struct EnrolledVoter {
    pub person: PersonOwner,
    pub owner: Owner,
    pub pin: String,
    pub enrollment: Uuid,
}

/// The ids of the community's units by (building code, number).
pub async fn unit_ids(world: &World) -> anyhow::Result<HashMap<UnitRef, Uuid>> {
    use diesel::prelude::*;
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    use linli_server::schema::{buildings, units};
    let mut conn = AsyncPgConnection::establish(world.db.url()).await?;
    let rows: Vec<(String, String, Uuid)> = units::table
        .inner_join(buildings::table)
        .filter(units::community_id.eq(world.community_id))
        .select((buildings::code, units::number, units::id))
        .load(&mut conn)
        .await?;
    Ok(rows.into_iter().map(|(building, unit, id)| (UnitRef { building, unit }, id)).collect())
}

/// A WeChat openid for a person that does not reveal the ID number.
pub fn openid_for(id_number: &str) -> String {
    format!("o-voter-{}", &hex::encode(Sha256::digest(id_number.as_bytes()))[..20])
}

/// Enrolls every person (for their first unit) through the real HTTP flow, at most `concurrency` at a time.
/// Fails with the first person whose enrollment failed (and why).
pub async fn enroll_many(world: &World, persons: Vec<PersonOwner>, concurrency: usize) -> anyhow::Result<Vec<EnrolledVoter>> {
    let units = unit_ids(world).await?;
    let slots = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let (base, sandbox, community) = (world.server.base_url.clone(), world.sandbox.base_url(), world.community_id);
    let mut tasks = tokio::task::JoinSet::new();
    for (i, person) in persons.into_iter().enumerate() {
        let first = person.units.first().ok_or_else(|| anyhow::anyhow!("a person owner without units"))?;
        let unit = *units.get(first).ok_or_else(|| anyhow::anyhow!("unit {first:?} is not in the database"))?;
        let (slots, base, sandbox) = (slots.clone(), base.clone(), sandbox.clone());
        tasks.spawn(async move {
            let _slot = slots.acquire_owned().await?;
            let pin = pin_for(&person.id_number)?;
            let mut owner = Owner::login_at(&base, &sandbox, &openid_for(&person.id_number)).await?;
            let face = face_png(&owner.http, &sandbox, &person.id_number).await?;
            let enrollment = owner
                .enroll_with_face(community, unit, &person.name, &person.id_number, face, &pin)
                .await
                .map_err(|e| anyhow::anyhow!("enrolling person #{i} for {}/{}: {e}", first_building(&person), first_unit(&person)))?;
            Ok::<_, anyhow::Error>((i, EnrolledVoter { person, owner, pin, enrollment }))
        });
    }
    let mut out = Vec::with_capacity(tasks.len());
    while let Some(joined) = tasks.join_next().await {
        out.push(joined??);
    }
    out.sort_by_key(|(i, _)| *i);
    Ok(out.into_iter().map(|(_, v)| v).collect())
}

fn first_building(p: &PersonOwner) -> &str {
    p.units.first().map_or("", |u| u.building.as_str())
}

fn first_unit(p: &PersonOwner) -> &str {
    p.units.first().map_or("", |u| u.unit.as_str())
}
