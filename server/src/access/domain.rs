//! Who may open which door (DESIGN §8): plain data in, a decision out, tested without a database.
//!
//! A resident of a building may open that building's doors, the community's gates and its garage barriers. A
//! resident is a verified owner of a unit (always, for as long as the enrollment holds) or a household member or
//! tenant bound to a unit inside their validity window and not ended. Arrears play no part (Civil Code art. 944).

use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoorKind {
    CommunityGate,
    BuildingDoor,
    GarageBarrier,
}

impl DoorKind {
    pub const ALL: [DoorKind; 3] = [Self::CommunityGate, Self::BuildingDoor, Self::GarageBarrier];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CommunityGate => "community_gate",
            Self::BuildingDoor => "building_door",
            Self::GarageBarrier => "garage_barrier",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// What the rule needs of a door.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DoorPlace {
    pub community: Uuid,
    pub kind: DoorKind,
    /// The building of a building door.
    pub building: Option<Uuid>,
}

/// How someone lives in a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// A verified owner: no window of its own.
    Owner,
    /// A household member or tenant: within `[from, until)` unless ended.
    Registered { from: DateTime<Utc>, until: DateTime<Utc>, ended: bool },
}

/// One unit the person lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Residence {
    pub community: Uuid,
    pub building: Uuid,
    pub unit: Uuid,
    pub standing: Standing,
}

impl Residence {
    pub fn current(&self, now: DateTime<Utc>) -> bool {
        match self.standing {
            Standing::Owner => true,
            Standing::Registered { from, until, ended } => !ended && from <= now && now < until,
        }
    }

    /// Whether this residence opens `door` at `now`.
    pub fn opens(&self, door: &DoorPlace, now: DateTime<Utc>) -> bool {
        if !self.current(now) || self.community != door.community {
            return false;
        }
        match door.kind {
            DoorKind::CommunityGate | DoorKind::GarageBarrier => true,
            DoorKind::BuildingDoor => door.building == Some(self.building),
        }
    }
}

/// The residence through which `door` may be opened at `now` (the first that opens it), if any.
pub fn residence_opening<'a>(residences: &'a [Residence], door: &DoorPlace, now: DateTime<Utc>) -> Option<&'a Residence> {
    residences.iter().find(|r| r.opens(door, now))
}

/// The validity window a household member or tenant may be given: it ends after it starts and lasts at most
/// `max_days`.
pub fn window_ok(from: DateTime<Utc>, until: DateTime<Utc>, max_days: i64) -> bool {
    from < until && until - from <= chrono::Duration::days(max_days)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResidentKind {
    Member,
    Tenant,
}

impl ResidentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Tenant => "tenant",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "member" => Some(Self::Member),
            "tenant" => Some(Self::Tenant),
            _ => None,
        }
    }
}

/// Longest validity window of a household member or tenant: five years (a tenancy longer than that is
/// registered again).
pub const MAX_RESIDENT_WINDOW_DAYS: i64 = 5 * 366;

/// A name or relation as given: trimmed, 1–`max` characters, no control characters.
pub fn clean_text(text: &str, max: usize) -> Option<String> {
    let t = text.trim();
    let n = t.chars().count();
    ((1..=max).contains(&n) && !t.chars().any(char::is_control)).then(|| t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 5, h, 0, 0).single().unwrap_or_default()
    }

    const C: Uuid = Uuid::from_u128(1);
    const OTHER_C: Uuid = Uuid::from_u128(2);
    const B1: Uuid = Uuid::from_u128(11);
    const B2: Uuid = Uuid::from_u128(12);

    fn owner_of(building: Uuid) -> Residence {
        Residence { community: C, building, unit: Uuid::from_u128(100), standing: Standing::Owner }
    }

    fn door(community: Uuid, kind: DoorKind, building: Option<Uuid>) -> DoorPlace {
        DoorPlace { community, kind, building }
    }

    #[test]
    fn a_resident_opens_their_building_the_gates_and_the_garage_and_nothing_else() {
        let r = [owner_of(B1)];
        let now = at(10);
        assert!(residence_opening(&r, &door(C, DoorKind::CommunityGate, None), now).is_some());
        assert!(residence_opening(&r, &door(C, DoorKind::GarageBarrier, None), now).is_some());
        assert!(residence_opening(&r, &door(C, DoorKind::BuildingDoor, Some(B1)), now).is_some());
        assert!(residence_opening(&r, &door(C, DoorKind::BuildingDoor, Some(B2)), now).is_none(), "another building");
        assert!(residence_opening(&r, &door(OTHER_C, DoorKind::CommunityGate, None), now).is_none(), "another community");
        assert!(residence_opening(&[], &door(C, DoorKind::CommunityGate, None), now).is_none(), "no residence");
    }

    #[test]
    fn registered_residents_open_only_inside_their_window_and_until_ended() {
        let tenant = |ended| Residence {
            standing: Standing::Registered { from: at(8), until: at(20), ended },
            ..owner_of(B2)
        };
        let gate = door(C, DoorKind::BuildingDoor, Some(B2));
        assert!(tenant(false).opens(&gate, at(8)), "from is inclusive");
        assert!(tenant(false).opens(&gate, at(19)));
        assert!(!tenant(false).opens(&gate, at(7)), "before the window");
        assert!(!tenant(false).opens(&gate, at(20)), "until is exclusive");
        assert!(!tenant(true).opens(&gate, at(10)), "ended by the owner");
    }

    #[test]
    fn any_of_several_residences_may_open() {
        let r = [owner_of(B1), Residence { unit: Uuid::from_u128(200), ..owner_of(B2) }];
        let found = residence_opening(&r, &door(C, DoorKind::BuildingDoor, Some(B2)), at(1));
        assert_eq!(found.map(|r| r.unit), Some(Uuid::from_u128(200)));
    }

    #[test]
    fn windows_are_bounded() {
        assert!(window_ok(at(1), at(2), 1));
        assert!(!window_ok(at(2), at(2), 1));
        assert!(!window_ok(at(1), at(1) + chrono::Duration::days(2), 1));
    }

    #[test]
    fn kinds_round_trip() {
        for k in DoorKind::ALL {
            assert_eq!(DoorKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(DoorKind::parse("window"), None);
    }

    #[test]
    fn texts_are_bounded() {
        assert_eq!(clean_text("  张三 ", 4).as_deref(), Some("张三"));
        assert_eq!(clean_text("", 4), None);
        assert_eq!(clean_text("a\nb", 4), None);
        assert_eq!(clean_text("12345", 4), None);
    }
}
