//! Who counts as one person, and how much area counts, under Civil Code art. 278 and the SPC interpretation
//! 法释〔2009〕7号 arts. 8–9. Plain functions over plain data: no database here.
//!
//! - One exclusive part is one person ("专有部分按照一个计算").
//! - All units a developer has not sold or not delivered together are one person; each developer is its own
//!   person (two developers of one community, e.g. of two phases, are two persons).
//! - The same buyer with several exclusive parts is one person (with the sum of their areas).
//! - A co-owned unit casts one vote: its owners together are that unit's buyer.
//!
//! An owner is a natural person (with a resident ID or a non-PRC document) or an organisation other than the
//! developer (by its credit code); the rules do not tell them apart: an organisation with three units is one buyer
//! like a person with three units, and one co-owning a unit with a person is that unit's buyer together with them.
//!
//! "The same buyer" is read as the same set of owners: {A} and {A, B} are different buyers, so a unit A owns alone
//! and a unit A co-owns with B count as two persons. This is the literal reading of "同一买受人"; a community
//! that wants the merging reading needs a different rule here, decided by counsel, not by code.
//!
//! Parking spaces registered as exclusive parts count only when the community's rules say so; when they do not,
//! they count neither in area nor in headcount.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::domain::{AreaCentiM2, DeveloperHolding, UnitKind};

/// Who holds a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// A developer (its register person) still holds it (unsold or undelivered).
    Developer { developer: Uuid, holding: DeveloperHolding },
    /// One or more owners, natural persons or organisations (more than one = co-owned). Never empty.
    Owners(BTreeSet<Uuid>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitHolding {
    pub unit_id: Uuid,
    pub kind: UnitKind,
    pub area: AreaCentiM2,
    pub holder: Holder,
}

/// The counting rules that vary per community (and are frozen per meeting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CountingRules {
    pub count_parking_spaces: bool,
}

/// The identity of "one person" for headcount purposes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HeadcountKey {
    /// All units one developer (its register person) holds, together.
    Developer(Uuid),
    /// A buyer: the sorted set of the unit's owners.
    Buyer(Vec<Uuid>),
}

impl HeadcountKey {
    /// A stable opaque text form (no personal data): `developer:<hex sha256 of the developer's id>` or
    /// `buyer:<hex sha256 of the sorted owner ids>` (both the first 16 bytes).
    pub fn opaque(&self) -> String {
        use sha2::{Digest, Sha256};
        match self {
            Self::Developer(developer) => format!("developer:{}", hex::encode(&Sha256::digest(developer.as_bytes())[..16])),
            Self::Buyer(owners) => {
                let mut h = Sha256::new();
                for o in owners {
                    h.update(o.as_bytes());
                }
                format!("buyer:{}", hex::encode(&h.finalize()[..16]))
            }
        }
    }
}

/// The headcount key of a unit, or `None` when the unit does not count (a parking space the rules exclude).
pub fn headcount_key(unit: &UnitHolding, rules: CountingRules) -> Option<HeadcountKey> {
    if unit.kind == UnitKind::Parking && !rules.count_parking_spaces {
        return None;
    }
    Some(match &unit.holder {
        Holder::Developer { developer, .. } => HeadcountKey::Developer(*developer),
        Holder::Owners(owners) => HeadcountKey::Buyer(owners.iter().copied().collect()),
    })
}

/// The totals a roll is built on: counted area and distinct persons, plus the figures a committee needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct RegisterTotals {
    /// Units that count under the rules.
    pub counted_units: u64,
    /// Sum of the exclusive areas of the counted units, in centi-m².
    pub counted_area_centi_m2: i64,
    /// Distinct persons under the SPC rules among the counted units.
    pub headcount: u64,
    /// All units in the register, counted or not.
    pub all_units: u64,
    /// Units held by a developer (each developer's units count together as one person).
    pub developer_units: u64,
    pub developer_area_centi_m2: i64,
    /// Units with more than one owner (each casts one vote).
    pub co_owned_units: u64,
    /// Persons (buyers) holding more than one counted unit.
    pub multi_unit_buyers: u64,
    /// Parking spaces registered as exclusive parts, and whether they were counted.
    pub parking_spaces: u64,
    pub parking_spaces_counted: bool,
}

pub fn totals(units: &[UnitHolding], rules: CountingRules) -> RegisterTotals {
    let mut t = RegisterTotals { parking_spaces_counted: rules.count_parking_spaces, ..Default::default() };
    let mut per_key: BTreeMap<HeadcountKey, u64> = BTreeMap::new();
    for unit in units {
        t.all_units += 1;
        if unit.kind == UnitKind::Parking {
            t.parking_spaces += 1;
        }
        let Some(key) = headcount_key(unit, rules) else { continue };
        t.counted_units += 1;
        t.counted_area_centi_m2 += unit.area.get();
        match &unit.holder {
            Holder::Developer { .. } => {
                t.developer_units += 1;
                t.developer_area_centi_m2 += unit.area.get();
            }
            Holder::Owners(owners) if owners.len() > 1 => t.co_owned_units += 1,
            Holder::Owners(_) => {}
        }
        *per_key.entry(key).or_default() += 1;
    }
    t.headcount = per_key.len() as u64;
    t.multi_unit_buyers =
        per_key.iter().filter(|(k, n)| **n > 1 && !matches!(k, HeadcountKey::Developer(_))).count() as u64;
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn unit(n: u128, kind: UnitKind, centi: i64, holder: Holder) -> UnitHolding {
        UnitHolding { unit_id: id(1000 + n), kind, area: AreaCentiM2::new(centi).unwrap(), holder }
    }

    fn owners(ids: &[u128]) -> Holder {
        Holder::Owners(ids.iter().map(|n| id(*n)).collect())
    }

    /// A unit developer `n` still holds.
    fn developer(n: u128, holding: DeveloperHolding) -> Holder {
        Holder::Developer { developer: id(n), holding }
    }

    const RES: UnitKind = UnitKind::Residence;
    const STRICT: CountingRules = CountingRules { count_parking_spaces: false };
    const WITH_PARKING: CountingRules = CountingRules { count_parking_spaces: true };

    #[test]
    fn one_unit_one_person() {
        let units = [unit(1, RES, 8000, owners(&[1])), unit(2, RES, 9000, owners(&[2]))];
        let t = totals(&units, STRICT);
        assert_eq!((t.counted_units, t.headcount, t.counted_area_centi_m2), (2, 2, 17000));
    }

    #[test]
    fn co_owned_unit_is_one_person_with_one_area() {
        let units = [unit(1, RES, 8000, owners(&[1, 2])), unit(2, RES, 9000, owners(&[3]))];
        let t = totals(&units, STRICT);
        assert_eq!(t.headcount, 2);
        assert_eq!(t.co_owned_units, 1);
        assert_eq!(t.counted_area_centi_m2, 17000);
    }

    #[test]
    fn one_person_with_three_units_is_one_person_with_the_sum_of_areas() {
        let units = [
            unit(1, RES, 8000, owners(&[7])),
            unit(2, RES, 9000, owners(&[7])),
            unit(3, RES, 10050, owners(&[7])),
            unit(4, RES, 6000, owners(&[8])),
        ];
        let t = totals(&units, STRICT);
        assert_eq!(t.headcount, 2);
        assert_eq!(t.multi_unit_buyers, 1);
        assert_eq!(t.counted_area_centi_m2, 33050);
        let keys: BTreeSet<_> = units[..3].iter().map(|u| headcount_key(u, STRICT)).collect();
        assert_eq!(keys.len(), 1);
    }

    #[test]
    fn developer_units_together_are_one_person() {
        let units = [
            unit(1, RES, 8000, developer(900, DeveloperHolding::Unsold)),
            unit(2, RES, 9000, developer(900, DeveloperHolding::Undelivered)),
            unit(3, RES, 7000, developer(900, DeveloperHolding::Unsold)),
            unit(4, RES, 6000, owners(&[1])),
        ];
        let t = totals(&units, STRICT);
        assert_eq!(t.headcount, 2);
        assert_eq!(t.developer_units, 3);
        assert_eq!(t.developer_area_centi_m2, 24000);
        assert_eq!(t.multi_unit_buyers, 0, "the developer is not a multi-unit buyer");
    }

    #[test]
    fn a_co_owned_unit_and_a_sole_unit_of_one_owner_are_different_buyers() {
        let units = [unit(1, RES, 8000, owners(&[1, 2])), unit(2, RES, 9000, owners(&[1]))];
        assert_eq!(totals(&units, STRICT).headcount, 2);
    }

    #[test]
    fn parking_spaces_not_counted() {
        let units = [
            unit(1, RES, 8000, owners(&[1])),
            unit(2, UnitKind::Parking, 1250, owners(&[1])),
            unit(3, UnitKind::Parking, 1300, owners(&[9])),
        ];
        let t = totals(&units, STRICT);
        assert_eq!((t.counted_units, t.headcount, t.counted_area_centi_m2), (1, 1, 8000));
        assert_eq!(t.parking_spaces, 3 - 1);
        assert!(headcount_key(&units[1], STRICT).is_none());
    }

    #[test]
    fn parking_spaces_counted() {
        let units = [
            unit(1, RES, 8000, owners(&[1])),
            unit(2, UnitKind::Parking, 1250, owners(&[1])),
            unit(3, UnitKind::Parking, 1300, owners(&[9])),
            unit(4, UnitKind::Parking, 1200, developer(900, DeveloperHolding::Unsold)),
        ];
        let t = totals(&units, WITH_PARKING);
        // Owner 1's flat and space: one person; owner 9's space alone: a person; the developer: a person.
        assert_eq!((t.counted_units, t.headcount, t.counted_area_centi_m2), (4, 3, 11750));
        assert_eq!(t.multi_unit_buyers, 1);
    }

    #[test]
    fn two_developers_are_two_persons_each_with_all_its_units() {
        let units = [
            unit(1, RES, 8000, developer(900, DeveloperHolding::Unsold)),
            unit(2, RES, 9000, developer(900, DeveloperHolding::Undelivered)),
            unit(3, RES, 7000, developer(901, DeveloperHolding::Unsold)),
            unit(4, RES, 5000, developer(901, DeveloperHolding::Unsold)),
            unit(5, RES, 6000, owners(&[1])),
        ];
        let t = totals(&units, STRICT);
        assert_eq!(t.headcount, 3, "developer 900, developer 901, owner 1");
        assert_eq!((t.developer_units, t.developer_area_centi_m2), (4, 29000));
        assert_eq!(t.multi_unit_buyers, 0, "no developer is a multi-unit buyer");
        assert_eq!(headcount_key(&units[0], STRICT), headcount_key(&units[1], STRICT));
        assert_ne!(headcount_key(&units[0], STRICT), headcount_key(&units[2], STRICT));
    }

    #[test]
    fn an_organisation_counts_as_a_buyer_alone_and_with_co_owners() {
        // Owner 50 is an organisation (credit code), 51 a passport holder, 1 a resident: the rules are the same.
        let units = [
            unit(1, RES, 8000, owners(&[50])),
            unit(2, RES, 9000, owners(&[50])),
            unit(3, RES, 7000, owners(&[50, 1])),
            unit(4, RES, 6000, owners(&[51])),
            unit(5, RES, 5000, developer(900, DeveloperHolding::Unsold)),
        ];
        let t = totals(&units, STRICT);
        // {50} with two units, {50, 1}, {51}, the developer.
        assert_eq!(t.headcount, 4);
        assert_eq!((t.multi_unit_buyers, t.co_owned_units), (1, 1));
        assert_eq!(t.counted_area_centi_m2, 35000);
        assert_ne!(
            headcount_key(&units[0], STRICT),
            headcount_key(&units[2], STRICT),
            "the organisation alone and with a co-owner are two buyers (同一买受人, literal reading)"
        );
    }

    #[test]
    fn opaque_keys_carry_no_ids() {
        let key = HeadcountKey::Buyer(vec![id(1), id(2)]);
        let text = key.opaque();
        assert!(text.starts_with("buyer:") && !text.contains(&id(1).to_string()));
        let dev = HeadcountKey::Developer(id(900)).opaque();
        assert!(dev.starts_with("developer:") && !dev.contains(&id(900).to_string()));
        assert_ne!(dev, HeadcountKey::Developer(id(901)).opaque(), "each developer its own key");
    }
}
