//! How a register file meets the register already stored: which area a unit counts with, what a file may change,
//! and what happens to units the file no longer lists. Plain functions over plain data; the import
//! ([`super::store`]) and the registry factor (`enrollment::store`) persist what these decide.
//!
//! **Areas.** A unit keeps every area it was given, per source: the register's (登记), the surveyed (实测) and the
//! contract (合同) area from register files, and the housing registry's answer with its own `area_source` as given.
//! The exclusive area the unit counts with (DESIGN §3, §5) is the best of them: register before surveyed before
//! contract, and at the same source the registry's answer before a file's (the registry is the register itself;
//! the file is the property company's copy). An answer without a source, or with one we do not know, is the
//! register's: the registry answers from the register.
//!
//! **Never lowering.** A file writes only the slot of its line's source, and never clears another slot, so an
//! import cannot move a unit to a worse source: a registry-confirmed 89.35 m² stays the counted area when the file
//! says "contract 90.00"; the 90.00 is kept as the contract area and the disagreement is reported.
//!
//! **Removals.** A unit the file no longer lists (two merged into one) would otherwise stay on every roll with its
//! old owner. The import refuses such a file unless removals are allowed; then those units are retired (they leave
//! rolls and totals, their history stays), and a retired unit listed again is reinstated.

use std::collections::BTreeSet;

use super::domain::{AreaCentiM2, AreaSource};

/// The housing registry's last confirmed area of a unit, with its `area_source` exactly as the registry gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryArea {
    pub area: AreaCentiM2,
    pub given_source: Option<String>,
}

impl RegistryArea {
    /// The source this answer counts as: what the registry said, or the register when it said nothing we know.
    pub fn source(&self) -> AreaSource {
        self.given_source.as_deref().and_then(AreaSource::parse).unwrap_or(AreaSource::Register)
    }
}

/// Every area a unit has, by where it came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AreaSources {
    /// From register files, one slot per source.
    pub register: Option<AreaCentiM2>,
    pub surveyed: Option<AreaCentiM2>,
    pub contract: Option<AreaCentiM2>,
    /// From the housing registry (automatic check or staff review of the certificate).
    pub registry: Option<RegistryArea>,
}

/// The exclusive area a unit counts with, and where it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountedArea {
    pub area: AreaCentiM2,
    pub source: AreaSource,
    pub by_registry: bool,
}

/// Precedence rank of a source: lower is better.
fn rank(source: AreaSource) -> u8 {
    match source {
        AreaSource::Register => 0,
        AreaSource::Surveyed => 1,
        AreaSource::Contract => 2,
    }
}

impl AreaSources {
    pub fn from_file(source: AreaSource, area: AreaCentiM2) -> Self {
        let mut s = Self::default();
        *s.slot(source) = Some(area);
        s
    }

    fn slot(&mut self, source: AreaSource) -> &mut Option<AreaCentiM2> {
        match source {
            AreaSource::Register => &mut self.register,
            AreaSource::Surveyed => &mut self.surveyed,
            AreaSource::Contract => &mut self.contract,
        }
    }

    /// The counted area by precedence (see the module note); `None` only for a unit with no area at all.
    pub fn counted(&self) -> Option<CountedArea> {
        let files = [
            (AreaSource::Register, self.register),
            (AreaSource::Surveyed, self.surveyed),
            (AreaSource::Contract, self.contract),
        ];
        let registry = self.registry.as_ref().map(|r| (r.source(), r.area, true));
        registry
            .into_iter()
            .chain(files.into_iter().filter_map(|(s, a)| a.map(|a| (s, a, false))))
            // (rank, registry first): `!by_registry` sorts the registry's answer before a file's of the same rank.
            .min_by_key(|(s, _, by_registry)| (rank(*s), !*by_registry))
            .map(|(source, area, by_registry)| CountedArea { area, source, by_registry })
    }
}

/// An area line of a register file that is not what the unit counts with after the import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AreaConflict {
    pub file_source: AreaSource,
    pub file_area: AreaCentiM2,
    pub counted: CountedArea,
}

/// A file's area line applied to a unit's stored areas: the line's slot takes the line's area, every other slot
/// stays. A conflict is reported when the unit then counts with a different area than the line says (a better
/// source disagrees with it); agreeing numbers from a better source are no conflict.
pub fn apply_file_area(
    stored: &AreaSources,
    source: AreaSource,
    area: AreaCentiM2,
) -> (AreaSources, Option<AreaConflict>) {
    let mut next = stored.clone();
    *next.slot(source) = Some(area);
    // The slot just written makes `counted` Some.
    let conflict = next
        .counted()
        .filter(|c| c.area != area)
        .map(|counted| AreaConflict { file_source: source, file_area: area, counted });
    (next, conflict)
}

/// A unit as it is stored: its key in the file's terms (building code, unit number) and whether it is retired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUnit {
    pub building: String,
    pub number: String,
    pub retired: bool,
}

/// What an import does to units the file does not describe line by line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitPlan {
    /// Active units missing from the file: retired by this import.
    pub retire: Vec<(String, String)>,
    /// Retired units the file lists again: active again.
    pub reinstate: Vec<(String, String)>,
}

/// Active units the file no longer lists, refused because removals were not allowed (sorted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingUnits(pub Vec<(String, String)>);

/// Decides the fate of the stored units against the file's units. Without `allow_removals` a file that leaves out
/// an active unit is refused with the list of those units, so nothing leaves the register silently.
pub fn plan_units(
    stored: &[StoredUnit],
    file: &BTreeSet<(String, String)>,
    allow_removals: bool,
) -> Result<UnitPlan, MissingUnits> {
    let mut plan = UnitPlan::default();
    for u in stored {
        let key = (u.building.clone(), u.number.clone());
        match (file.contains(&key), u.retired) {
            (false, false) => plan.retire.push(key),
            (true, true) => plan.reinstate.push(key),
            _ => {}
        }
    }
    plan.retire.sort();
    plan.reinstate.sort();
    if !allow_removals && !plan.retire.is_empty() {
        return Err(MissingUnits(plan.retire));
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(centi: i64) -> AreaCentiM2 {
        AreaCentiM2::new(centi).unwrap()
    }

    fn registry(centi: i64, source: Option<&str>) -> Option<RegistryArea> {
        Some(RegistryArea { area: a(centi), given_source: source.map(str::to_owned) })
    }

    use AreaSource::{Contract, Register, Surveyed};

    #[test]
    fn precedence_register_surveyed_contract_and_the_registry_first_at_its_source() {
        // (sources, counted area, counted source, by registry)
        let cases: Vec<(AreaSources, i64, AreaSource, bool)> = vec![
            (AreaSources { contract: Some(a(9000)), ..Default::default() }, 9000, Contract, false),
            (AreaSources { surveyed: Some(a(8950)), contract: Some(a(9000)), ..Default::default() }, 8950, Surveyed, false),
            (
                AreaSources { register: Some(a(8900)), surveyed: Some(a(8950)), contract: Some(a(9000)), registry: None },
                8900,
                Register,
                false,
            ),
            // The registry's answer counts as the register's, and beats the file's register area.
            (AreaSources { register: Some(a(8900)), registry: registry(8935, Some("register")), ..Default::default() }, 8935, Register, true),
            (AreaSources { contract: Some(a(9000)), registry: registry(8935, None), ..Default::default() }, 8935, Register, true),
            (AreaSources { contract: Some(a(9000)), registry: registry(8935, Some("不动产登记")), ..Default::default() }, 8935, Register, true),
            // The registry's own source is taken as given: a surveyed answer is below a file's register area …
            (AreaSources { register: Some(a(8900)), registry: registry(8935, Some("surveyed")), ..Default::default() }, 8900, Register, false),
            // … and above a file's contract area.
            (AreaSources { contract: Some(a(9000)), registry: registry(8935, Some("surveyed")), ..Default::default() }, 8935, Surveyed, true),
            (AreaSources { surveyed: Some(a(8950)), registry: registry(8935, Some("surveyed")), ..Default::default() }, 8935, Surveyed, true),
        ];
        for (i, (sources, area, source, by_registry)) in cases.into_iter().enumerate() {
            assert_eq!(
                sources.counted(),
                Some(CountedArea { area: a(area), source, by_registry }),
                "case {i}: {sources:?}"
            );
        }
        assert_eq!(AreaSources::default().counted(), None);
    }

    #[test]
    fn a_file_never_lowers_the_source_and_reports_the_disagreement() {
        let confirmed = AreaSources { contract: Some(a(9000)), registry: registry(8935, Some("register")), ..Default::default() };
        let from_register_file = AreaSources::from_file(Register, a(8935));
        // (stored, file source, file area, stored after, conflict: counted (area, source, by registry))
        type Case = (AreaSources, AreaSource, i64, AreaSources, Option<(i64, AreaSource, bool)>);
        let cases: Vec<Case> = vec![
            // The case: registry 89.35, the file's contract 90.00 is kept as the contract area only.
            (confirmed.clone(), Contract, 9000, confirmed.clone(), Some((8935, Register, true))),
            // The file's register area is stored too, but the registry's stays the counted one.
            (
                confirmed.clone(),
                Register,
                8900,
                AreaSources { register: Some(a(8900)), ..confirmed.clone() },
                Some((8935, Register, true)),
            ),
            // The file agreeing with the registry: no conflict.
            (confirmed.clone(), Register, 8935, AreaSources { register: Some(a(8935)), ..confirmed.clone() }, None),
            // A register area from an earlier file is not lowered by a later file's contract area.
            (
                from_register_file.clone(),
                Contract,
                9000,
                AreaSources { register: Some(a(8935)), contract: Some(a(9000)), ..Default::default() },
                Some((8935, Register, false)),
            ),
            // The same source from the file replaces its own earlier value: an ordinary change.
            (from_register_file.clone(), Register, 8940, AreaSources::from_file(Register, a(8940)), None),
            // A better source from the file raises the unit.
            (
                AreaSources::from_file(Contract, a(9000)),
                Surveyed,
                8950,
                AreaSources { surveyed: Some(a(8950)), contract: Some(a(9000)), ..Default::default() },
                None,
            ),
            // Contract area equal to the counted register area: a worse source, but no disagreement.
            (
                from_register_file.clone(),
                Contract,
                8935,
                AreaSources { register: Some(a(8935)), contract: Some(a(8935)), ..Default::default() },
                None,
            ),
        ];
        for (i, (stored, source, area, after, conflict)) in cases.into_iter().enumerate() {
            let (next, got) = apply_file_area(&stored, source, a(area));
            assert_eq!(next, after, "case {i}");
            let want = conflict.map(|(c, s, r)| AreaConflict {
                file_source: source,
                file_area: a(area),
                counted: CountedArea { area: a(c), source: s, by_registry: r },
            });
            assert_eq!(got, want, "case {i}");
            // Never lower: the counted source after is at least as good as before.
            if let (Some(before), Some(now)) = (stored.counted(), next.counted()) {
                assert!(rank(now.source) <= rank(before.source), "case {i} lowered the source");
            }
        }
    }

    fn stored(units: &[(&str, &str, bool)]) -> Vec<StoredUnit> {
        units.iter().map(|(b, n, r)| StoredUnit { building: (*b).into(), number: (*n).into(), retired: *r }).collect()
    }

    fn keys(units: &[(&str, &str)]) -> Vec<(String, String)> {
        units.iter().map(|(b, n)| ((*b).to_owned(), (*n).to_owned())).collect()
    }

    #[test]
    fn units_missing_from_the_file_are_refused_or_retired() {
        // (stored, file, allow removals, plan or the refused list)
        type Case = (Vec<StoredUnit>, Vec<(String, String)>, bool, Result<UnitPlan, MissingUnits>);
        let two = stored(&[("B1", "0101", false), ("B1", "0102", false)]);
        let cases: Vec<Case> = vec![
            // Nothing missing.
            (two.clone(), keys(&[("B1", "0101"), ("B1", "0102")]), false, Ok(UnitPlan::default())),
            // Two merged into one: refused without the flag, naming the missing unit …
            (two.clone(), keys(&[("B1", "0101")]), false, Err(MissingUnits(keys(&[("B1", "0102")])))),
            // … retired with it.
            (two.clone(), keys(&[("B1", "0101")]), true, Ok(UnitPlan { retire: keys(&[("B1", "0102")]), reinstate: vec![] })),
            // A new unit is no removal.
            (two.clone(), keys(&[("B1", "0101"), ("B1", "0102"), ("B2", "0101")]), false, Ok(UnitPlan::default())),
            // A retired unit missing again is nothing new; listed again it is reinstated (no flag needed).
            (stored(&[("B1", "0101", false), ("B1", "0102", true)]), keys(&[("B1", "0101")]), false, Ok(UnitPlan::default())),
            (
                stored(&[("B1", "0101", false), ("B1", "0102", true)]),
                keys(&[("B1", "0101"), ("B1", "0102")]),
                false,
                Ok(UnitPlan { retire: vec![], reinstate: keys(&[("B1", "0102")]) }),
            ),
            // The refused list is complete and sorted.
            (
                stored(&[("B2", "0101", false), ("B1", "0102", false), ("B1", "0101", false)]),
                vec![],
                false,
                Err(MissingUnits(keys(&[("B1", "0101"), ("B1", "0102"), ("B2", "0101")]))),
            ),
        ];
        for (i, (stored, file, allow, want)) in cases.into_iter().enumerate() {
            let file: BTreeSet<(String, String)> = file.into_iter().collect();
            assert_eq!(plan_units(&stored, &file, allow), want, "case {i}");
        }
    }
}
