//! Who votes for a co-owned unit: the rules of the co-owners' designation, as plain functions (no database).
//!
//! A co-owned unit casts one vote (SPC 法释〔2009〕7号 art. 8: its owners together are one person), and the
//! co-owners decide jointly who casts it (Civil Code art. 300: co-owners manage the thing as they agree). So:
//!
//! - Any co-owner who completed enrollment proposes one co-owner (themself or another enrolled one) as the voter,
//!   with a device-signed request and the PIN; every other enrolled co-owner agrees by signing the same
//!   designation (the same unit and designee) in the same way.
//! - **It takes effect when every co-owner enrolled at that moment has signed.** Not every registered co-owner:
//!   one who has not enrolled cannot sign in the app and cannot vote in it either; without a designation the
//!   vote already goes to an enrolled co-owner (the fallback below) without their word, and a designation only
//!   moves it between enrolled co-owners, each of whom agreed. A co-owner who enrolls later is shown who holds
//!   the vote and can revoke; one who wants to vote without enrolling signs a paper written proxy
//!   (`governance::proxies`), which comes before any designation.
//! - It holds per unit, for every meeting whose roll freezes while it is in effect, until any co-owner revokes
//!   it or a later designation takes effect. Made after a meeting's roll froze (voting opened), it counts from
//!   the next meeting on: a frozen roll never changes.
//! - Without one in effect, the co-owner who completed enrollment first votes (the fallback).
//!
//! The result document's `rules.co_owner_voter` says this in one line ([`RULE`]).

use std::collections::BTreeSet;

use uuid::Uuid;

/// How the result document states the rule (`rules.co_owner_voter`).
pub const RULE: &str = "designated by all enrolled co-owners (device-signed with PIN, before the roll freezes); fallback: first co-owner to complete enrollment";

/// A unit's owners as the designation rules read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoOwners {
    /// Every owner of the unit in the register.
    pub owners: BTreeSet<Uuid>,
    /// Those of them with a verified account in the community.
    pub enrolled: BTreeSet<Uuid>,
    /// Whether a developer holds the unit (then it has no co-owners to designate).
    pub developer_held: bool,
}

/// Why a designation signature is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DesignationRefusal {
    /// The unit has one owner (or is a developer's): there is nobody to designate among.
    NotCoOwned,
    /// The signer is not one of the unit's owners, or has not completed enrollment for it.
    SignerNotCoOwner,
    /// The designee is not one of the unit's owners.
    VoterNotCoOwner,
    /// The designee has not completed enrollment: they could not vote.
    VoterNotEnrolled,
}

impl DesignationRefusal {
    pub fn code(self) -> &'static str {
        match self {
            Self::NotCoOwned => "unit_not_co_owned",
            Self::SignerNotCoOwner => "not_a_co_owner",
            Self::VoterNotCoOwner => "voter_not_a_co_owner",
            Self::VoterNotEnrolled => "voter_not_enrolled",
        }
    }
}

/// Whether `signer` may sign a designation of `voter` for a unit with these owners.
pub fn check_signature(unit: &CoOwners, signer: Uuid, voter: Uuid) -> Result<(), DesignationRefusal> {
    if unit.developer_held || unit.owners.len() < 2 {
        return Err(DesignationRefusal::NotCoOwned);
    }
    if !unit.owners.contains(&signer) || !unit.enrolled.contains(&signer) {
        return Err(DesignationRefusal::SignerNotCoOwner);
    }
    if !unit.owners.contains(&voter) {
        return Err(DesignationRefusal::VoterNotCoOwner);
    }
    if !unit.enrolled.contains(&voter) {
        return Err(DesignationRefusal::VoterNotEnrolled);
    }
    Ok(())
}

/// Where a designation stands after a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Every co-owner enrolled now has signed: it takes effect.
    Effective,
    /// These enrolled co-owners have yet to sign.
    Waiting { missing: BTreeSet<Uuid> },
}

/// The designation's standing given who has signed it: effective once every co-owner enrolled now has signed
/// (a co-owner who enrolled after the first signatures must sign too).
pub fn standing(unit: &CoOwners, signed_by: &BTreeSet<Uuid>) -> Standing {
    let missing: BTreeSet<Uuid> =
        unit.owners.intersection(&unit.enrolled).filter(|p| !signed_by.contains(p)).copied().collect();
    if missing.is_empty() { Standing::Effective } else { Standing::Waiting { missing } }
}

/// Who holds a co-owned unit's vote now, as the unit view shows it and the next roll freeze will decide (without
/// a written proxy): the designee of the designation in effect if they still own the unit and are enrolled,
/// else the co-owner who completed enrollment first (`enrolled_first`: the enrolled owners, earliest first).
pub fn current_voter(unit: &CoOwners, designee: Option<Uuid>, enrolled_first: &[Uuid]) -> Option<(Uuid, VoterBasis)> {
    if let Some(d) = designee.filter(|d| unit.owners.contains(d) && unit.enrolled.contains(d)) {
        return Some((d, VoterBasis::Designation));
    }
    enrolled_first.iter().find(|p| unit.owners.contains(p)).map(|p| (*p, VoterBasis::FirstEnrolled))
}

/// Why a co-owner holds the vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VoterBasis {
    /// The co-owners' designation in effect.
    Designation,
    /// No designation in effect: the first co-owner to complete enrollment.
    FirstEnrolled,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn set(ns: &[u128]) -> BTreeSet<Uuid> {
        ns.iter().map(|n| p(*n)).collect()
    }

    fn unit(owners: &[u128], enrolled: &[u128]) -> CoOwners {
        CoOwners { owners: set(owners), enrolled: set(enrolled), developer_held: false }
    }

    #[test]
    fn every_enrolled_co_owner_must_sign_and_the_unenrolled_need_not() {
        // Owners 1, 2, 3; 1 and 2 enrolled. 1 proposes 2.
        let u = unit(&[1, 2, 3], &[1, 2]);
        assert_eq!(check_signature(&u, p(1), p(2)), Ok(()));
        assert_eq!(standing(&u, &set(&[1])), Standing::Waiting { missing: set(&[2]) });
        assert_eq!(standing(&u, &set(&[1, 2])), Standing::Effective, "3 has not enrolled: not needed");
        // 3 enrolls before 2 signs: now 3 must sign as well.
        let later = unit(&[1, 2, 3], &[1, 2, 3]);
        assert_eq!(standing(&later, &set(&[1, 2])), Standing::Waiting { missing: set(&[3]) });
        assert_eq!(standing(&later, &set(&[1, 2, 3])), Standing::Effective);
    }

    #[test]
    fn a_lone_enrolled_co_owner_designates_alone() {
        let u = unit(&[1, 2], &[1]);
        assert_eq!(standing(&u, &set(&[1])), Standing::Effective);
        assert_eq!(check_signature(&u, p(1), p(2)), Err(DesignationRefusal::VoterNotEnrolled), "2 could not vote");
    }

    #[test]
    fn who_may_sign_for_whom() {
        let u = unit(&[1, 2, 3], &[1, 2]);
        assert_eq!(check_signature(&u, p(1), p(1)), Ok(()), "a co-owner may designate themself");
        assert_eq!(check_signature(&u, p(3), p(1)), Err(DesignationRefusal::SignerNotCoOwner), "3 has not enrolled");
        assert_eq!(check_signature(&u, p(9), p(1)), Err(DesignationRefusal::SignerNotCoOwner));
        assert_eq!(check_signature(&u, p(1), p(9)), Err(DesignationRefusal::VoterNotCoOwner));
        assert_eq!(check_signature(&unit(&[1], &[1]), p(1), p(1)), Err(DesignationRefusal::NotCoOwned));
        let developer = CoOwners { developer_held: true, ..unit(&[1, 2], &[1, 2]) };
        assert_eq!(check_signature(&developer, p(1), p(2)), Err(DesignationRefusal::NotCoOwned));
    }

    #[test]
    fn the_designee_holds_the_vote_and_the_first_enrolled_is_the_fallback() {
        let u = unit(&[1, 2, 3], &[1, 2]);
        // 2 enrolled first, then 1.
        let order = [p(2), p(1)];
        assert_eq!(current_voter(&u, None, &order), Some((p(2), VoterBasis::FirstEnrolled)));
        assert_eq!(current_voter(&u, Some(p(1)), &order), Some((p(1), VoterBasis::Designation)));
        // A designee who no longer owns the unit, or is no longer enrolled: the fallback.
        assert_eq!(current_voter(&unit(&[1, 2], &[1, 2]), Some(p(3)), &order), Some((p(2), VoterBasis::FirstEnrolled)));
        assert_eq!(current_voter(&unit(&[1, 2], &[2]), Some(p(1)), &[p(2)]), Some((p(2), VoterBasis::FirstEnrolled)));
        assert_eq!(current_voter(&unit(&[1, 2], &[]), None, &[]), None, "nobody enrolled");
    }
}
