//! Meeting rules as plain functions: draft validation, content and chain ids, the frozen roll and its hash,
//! sheet hashes and voter pseudonyms. No database here.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use super::tally::Matter;
use crate::community::headcount::{CountingRules, HeadcountKey, Holder, UnitHolding, headcount_key};

pub const MAX_PROPOSALS: usize = 32;
/// Ballot lines of a meeting, all proposals together (the contract's `MAX_LINES`).
pub const MAX_LINES: usize = 32;

/// A proposal as the committee drafts it: the text is the committee's, the options are the server's
/// (yes, no, abstain: `tally::OPTION_LABELS`), so no wording can make "no" count as yes.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalDraft {
    /// Civil Code art. 278 matter, 1–9.
    pub matter: u8,
    pub title: String,
    pub body: String,
    /// `"yes_no"` (the default) or `{"election": {"seats": 2, "candidates": ["张三", "李四", "王五"]}}`.
    #[serde(default)]
    pub kind: ProposalKindDraft,
}

/// What a proposal asks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProposalKindDraft {
    /// One question: yes, no or abstain.
    #[default]
    YesNo,
    /// `seats` to fill among `candidates` (1 ≤ seats ≤ candidates): each candidate is its own yes/no/abstain
    /// line decided by the matter's threshold; the passing ones ranked by yes area, then yes heads.
    Election { seats: u8, candidates: Vec<String> },
}

impl ProposalKindDraft {
    pub fn tally_kind(&self) -> super::tally::ProposalKind {
        match self {
            Self::YesNo => super::tally::ProposalKind::YesNo,
            Self::Election { seats, candidates } => super::tally::ProposalKind::Election {
                candidates: u8::try_from(candidates.len()).unwrap_or(u8::MAX),
                seats: *seats,
            },
        }
    }

    /// As stored in `meeting_proposals.kind`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::YesNo => "yes_no",
            Self::Election { .. } => "election",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DraftError {
    #[error("a meeting needs 1 to {MAX_PROPOSALS} proposals")]
    ProposalCount,
    #[error("proposal {0}: matter must be 1 to 9")]
    Matter(usize),
    #[error("proposal {0}: an election needs 1 to 32 distinct non-empty candidate names of at most 100 characters and 1 to as many seats as candidates")]
    Election(usize),
    #[error("a meeting has at most {MAX_LINES} ballot lines (a yes/no proposal is one, an election one per candidate)")]
    Lines,
    #[error("proposal {0}: title 1–200 characters, body 1–20000 characters")]
    Text(usize),
    #[error("meeting title must be 1–200 characters")]
    Title,
    #[error("the voting window must end after it starts and last at most 90 days")]
    Window,
}

pub fn validate_draft(title: &str, proposals: &[ProposalDraft], starts_ms: i64, ends_ms: i64) -> Result<(), DraftError> {
    let chars = |s: &str| s.chars().count();
    if title.trim().is_empty() || chars(title) > 200 {
        return Err(DraftError::Title);
    }
    if proposals.is_empty() || proposals.len() > MAX_PROPOSALS {
        return Err(DraftError::ProposalCount);
    }
    for (i, p) in proposals.iter().enumerate() {
        if Matter::new(p.matter).is_none() {
            return Err(DraftError::Matter(i));
        }
        if let ProposalKindDraft::Election { seats, candidates } = &p.kind {
            let distinct: BTreeSet<&str> = candidates.iter().map(|c| c.trim()).collect();
            if candidates.is_empty()
                || candidates.len() > MAX_LINES
                || distinct.len() != candidates.len()
                || candidates.iter().any(|c| c.trim().is_empty() || c.trim() != c || chars(c) > 100)
                || *seats == 0
                || usize::from(*seats) > candidates.len()
            {
                return Err(DraftError::Election(i));
            }
        }
        if p.title.trim().is_empty() || chars(&p.title) > 200 || p.body.trim().is_empty() || chars(&p.body) > 20000 {
            return Err(DraftError::Text(i));
        }
    }
    if proposals.iter().map(|p| p.kind.tally_kind().lines()).sum::<usize>() > MAX_LINES {
        return Err(DraftError::Lines);
    }
    if ends_ms <= starts_ms || ends_ms - starts_ms > 90 * 24 * 3600 * 1000 {
        return Err(DraftError::Window);
    }
    Ok(())
}

/// Length-prefixed concatenation: `be32(len) ‖ bytes` per field, so no two field lists share an encoding.
fn framed(h: &mut Sha256, field: &[u8]) {
    h.update(u32::try_from(field.len()).unwrap_or(u32::MAX).to_be_bytes());
    h.update(field);
}

/// `sha256("linli-proposal-v2" ‖ framed(matter) ‖ framed(title) ‖ framed(body) ‖ framed(kind) ‖ framed(seats)
/// ‖ framed(candidate)…)` (UTF-8; kind `yes_no` or `election`, seats one byte, 0 for yes/no), and when the
/// proposal has attachments, `‖ framed("") ‖ framed(attachment sha256)…` in their order. Candidate names are never
/// empty, so the empty field marks unambiguously where the attachments start.
pub fn proposal_content_hash(p: &ProposalDraft, attachments: &[[u8; 32]]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"linli-proposal-v2");
    framed(&mut h, &[p.matter]);
    framed(&mut h, p.title.as_bytes());
    framed(&mut h, p.body.as_bytes());
    framed(&mut h, p.kind.as_str().as_bytes());
    match &p.kind {
        ProposalKindDraft::YesNo => framed(&mut h, &[0]),
        ProposalKindDraft::Election { seats, candidates } => {
            framed(&mut h, &[*seats]);
            for c in candidates {
                framed(&mut h, c.as_bytes());
            }
        }
    }
    if !attachments.is_empty() {
        framed(&mut h, b"");
        for a in attachments {
            framed(&mut h, a);
        }
    }
    h.finalize().into()
}

/// Most attachments one proposal may carry.
pub const MAX_ATTACHMENTS: usize = 10;

/// An attachment's file name as shown to owners: 1–120 characters, no path separators or control characters.
pub fn valid_attachment_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=120).contains(&n) && !name.chars().any(|c| c.is_control() || c == '/' || c == '\\') && name.trim() == name
}

/// The meeting's bytes32 id on chain: 16 zero bytes ‖ the UUID's 16 bytes.
pub fn chain_meeting_id(id: Uuid) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[16..].copy_from_slice(id.as_bytes());
    out
}

/// The id a roll key has on chain (issue 24 item 10): `sha256("linli-roll-key-v1\n" ‖ key)` over the key as the
/// published roll spells it. The contract registers every key with its weight and lets one sheet cover each.
pub fn chain_roll_key(key: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"linli-roll-key-v1\n");
    h.update(key.as_bytes());
    h.finalize().into()
}

/// `sha256("linli-sheet-v2" ‖ sheet uuid ‖ meeting uuid ‖ pseudonym ‖ be64 area ‖ be64 heads ‖ framed(choices)
/// ‖ be32 key count ‖ chain key ids…)`, the key ids ([`chain_roll_key`]) in ascending byte order, as the contract
/// takes them: the hash on the owner's receipt names the roll keys the sheet covers.
pub fn sheet_hash(sheet: Uuid, meeting: Uuid, pseudonym: &[u8; 32], area: i64, heads: i64, choices: &[u8], keys: &[[u8; 32]]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"linli-sheet-v2");
    h.update(sheet.as_bytes());
    h.update(meeting.as_bytes());
    h.update(pseudonym);
    h.update(area.to_be_bytes());
    h.update(heads.to_be_bytes());
    framed(&mut h, choices);
    let mut sorted = keys.to_vec();
    sorted.sort_unstable();
    h.update(u32::try_from(sorted.len()).unwrap_or(u32::MAX).to_be_bytes());
    for key in &sorted {
        h.update(key);
    }
    h.finalize().into()
}

/// How many roll keys go in one `addRollKeys` transaction (about 45,000 gas each, far below FISCO's
/// per-transaction limit, and small enough for quick blocks).
pub const ROLL_KEYS_PER_BATCH: usize = 500;

/// The frozen roll as the contract registers it: (chain key id, area, heads) ascending by id, in batches.
pub fn chain_roll_batches(roll: &[RollEntry]) -> Vec<Vec<([u8; 32], u64, u32)>> {
    let mut keys: Vec<([u8; 32], u64, u32)> = roll
        .iter()
        .map(|e| (chain_roll_key(&e.key), u64::try_from(e.area_centi_m2).unwrap_or(0), 1))
        .collect();
    keys.sort_unstable_by_key(|k| k.0);
    keys.chunks(ROLL_KEYS_PER_BATCH).map(<[_]>::to_vec).collect()
}

/// What goes on chain for a sheet while voting is open instead of its choices (issue 24 item 11):
/// `keccak256(chain meeting id ‖ voter pseudonym ‖ sheet hash ‖ salt ‖ choices)`, one byte per ballot line; the
/// contract's `revealSheet` recomputes it after the window. The salt is 32 random bytes per sheet, so nobody can
/// try the few possible choices against it.
pub fn sheet_commitment(chain_meeting: &[u8; 32], pseudonym: &[u8; 32], sheet_hash: &[u8; 32], salt: &[u8; 32], choices: &[u8]) -> [u8; 32] {
    let mut bytes = Vec::with_capacity(128 + choices.len());
    for part in [chain_meeting, pseudonym, sheet_hash, salt] {
        bytes.extend_from_slice(part);
    }
    bytes.extend_from_slice(choices);
    alloy_primitives::keccak256(&bytes).0
}

/// A proposal's choice on a sheet: one option (0 yes, 1 no, 2 abstain) for a yes/no proposal, one per
/// candidate, in candidate order, for an election.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ProposalChoice {
    One(u8),
    PerCandidate(Vec<u8>),
}

/// Why a sheet's choices do not fit the meeting's proposals.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChoiceError {
    #[error("{proposals} proposals, {choices} choices: one choice per proposal is required")]
    Count { proposals: usize, choices: usize },
    #[error("proposal {0} is a yes/no question: one option, 0 (yes), 1 (no) or 2 (abstain)")]
    YesNo(usize),
    #[error("proposal {0} is an election of {1} candidates: one option (0 yes, 1 no, 2 abstain) per candidate")]
    Election(usize, usize),
}

/// The sheet's ballot lines (one option per line, as the tally and the contract count them) from its choices
/// per proposal; `kinds` in proposal order. Every line has abstain, so no owner is forced to say yes or no.
pub fn ballot_lines(kinds: &[super::tally::ProposalKind], choices: &[ProposalChoice]) -> Result<Vec<u8>, ChoiceError> {
    use super::tally::{OPTIONS, ProposalKind};
    if kinds.len() != choices.len() {
        return Err(ChoiceError::Count { proposals: kinds.len(), choices: choices.len() });
    }
    let mut lines = Vec::with_capacity(kinds.iter().map(|k| k.lines()).sum());
    for (i, (kind, choice)) in kinds.iter().zip(choices).enumerate() {
        match (kind, choice) {
            (ProposalKind::YesNo, ProposalChoice::One(c)) if *c < OPTIONS => lines.push(*c),
            (ProposalKind::YesNo, _) => return Err(ChoiceError::YesNo(i)),
            (ProposalKind::Election { .. }, ProposalChoice::PerCandidate(cs))
                if cs.len() == kind.lines() && cs.iter().all(|c| *c < OPTIONS) =>
            {
                lines.extend_from_slice(cs);
            }
            (ProposalKind::Election { .. }, _) => return Err(ChoiceError::Election(i, kind.lines())),
        }
    }
    Ok(lines)
}

/// Why a caster who already has a live sheet may not cast another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetChangeRefusal {
    /// The meeting's rules allow no change after submission.
    NotAllowed,
    /// The new sheet would be stated earlier than the one it replaces (the server's clock went back); the
    /// contract refuses that, as the later submission must be the one that counts.
    BeforePrevious,
}

/// Whether a second sheet of the same caster (own, or through the same proxy) may replace the live one:
/// only when the meeting's rules allow changes, and never stated (ms, as castAtMs) before the sheet it replaces.
pub fn check_sheet_change(vote_change_allowed: bool, previous_at_ms: i64, now_ms: i64) -> Result<(), SheetChangeRefusal> {
    if !vote_change_allowed {
        return Err(SheetChangeRefusal::NotAllowed);
    }
    if now_ms < previous_at_ms {
        return Err(SheetChangeRefusal::BeforePrevious);
    }
    Ok(())
}

/// One unit as published in the roll: numbers and areas, never names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
pub struct RollUnit {
    pub building: String,
    pub unit: String,
    pub area_centi_m2: i64,
}

/// One "person" of the roll (a headcount key) with its units and its designated voter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollEntry {
    pub key: String,
    pub area_centi_m2: i64,
    pub units: Vec<RollUnit>,
    pub voter: Option<Uuid>,
    /// The approved written proxy through which `voter` votes for this key (None: the voter is one of its owners).
    pub proxy: Option<Uuid>,
}

/// A unit of the register with the labels the roll shows.
#[derive(Debug, Clone)]
pub struct RegisterUnit {
    pub holding: UnitHolding,
    pub building: String,
    pub number: String,
}

/// Builds the roll: one entry per headcount key, areas summed. The voter of a key is, in this order:
/// 1. the holder of the written proxy approved first (earliest approval, then smallest id) for any of the key's
///    units;
/// 2. for co-owners, the co-owner they designated together ([`super::co_owners`]): the designation of the key's
///    units that took effect first (then smallest id) whose designee still owns the unit, voting through the
///    designee's account verified first;
/// 3. the account verified first (earliest `verified_at`, then smallest account id) for any of the key's
///    persons: for a co-owned unit without a designation, the first co-owner who completed enrollment.
///
/// A developer's key is its register person. A proxy for a unit that does not count under the rules, or for a
/// key an earlier proxy took, is not used (see [`unused_proxies`]).
pub fn build_roll(
    units: &[RegisterUnit],
    rules: CountingRules,
    verified: &BTreeMap<Uuid, Vec<(chrono::DateTime<chrono::Utc>, Uuid)>>,
    proxies: &[ApprovedProxy],
    designations: &[EffectiveDesignation],
) -> Vec<RollEntry> {
    let mut by_key: BTreeMap<HeadcountKey, (i64, Vec<RollUnit>)> = BTreeMap::new();
    let mut key_of_unit: BTreeMap<Uuid, HeadcountKey> = BTreeMap::new();
    for u in units {
        let Some(key) = headcount_key(&u.holding, rules) else { continue };
        if matches!(&u.holding.holder, Holder::Owners(o) if o.is_empty()) {
            continue;
        }
        key_of_unit.insert(u.holding.unit_id, key.clone());
        let e = by_key.entry(key).or_default();
        e.0 += u.holding.area.get();
        e.1.push(RollUnit { building: u.building.clone(), unit: u.number.clone(), area_centi_m2: u.holding.area.get() });
    }
    let mut by_approval: Vec<&ApprovedProxy> = proxies.iter().collect();
    by_approval.sort_by_key(|p| (p.approved_at, p.id));
    let mut proxy_of_key: BTreeMap<HeadcountKey, &ApprovedProxy> = BTreeMap::new();
    for p in by_approval {
        if let Some(key) = key_of_unit.get(&p.unit_id) {
            proxy_of_key.entry(key.clone()).or_insert(p);
        }
    }
    let mut by_effect: Vec<&EffectiveDesignation> = designations.iter().collect();
    by_effect.sort_by_key(|d| (d.effective_at, d.id));
    let mut designee_of_key: BTreeMap<HeadcountKey, Uuid> = BTreeMap::new();
    for d in by_effect {
        let Some(key @ HeadcountKey::Buyer(owners)) = key_of_unit.get(&d.unit_id) else { continue };
        // A designee who no longer owns the unit (the register changed), or who has no verified account now,
        // does not hold the vote: the next designation, or the fallback, does.
        if owners.contains(&d.voter) && verified.contains_key(&d.voter) {
            designee_of_key.entry(key.clone()).or_insert(d.voter);
        }
    }
    let first_verified =
        |persons: &[Uuid]| persons.iter().filter_map(|p| verified.get(p)).flatten().min().map(|(_, account)| *account);
    let mut out: Vec<RollEntry> = by_key
        .into_iter()
        .map(|(key, (area, mut units))| {
            units.sort();
            let (voter, proxy) = match (proxy_of_key.get(&key), designee_of_key.get(&key)) {
                (Some(p), _) => (Some(p.holder), Some(p.id)),
                (None, Some(designee)) => (first_verified(&[*designee]), None),
                (None, None) => {
                    let persons: Vec<Uuid> = match &key {
                        HeadcountKey::Developer(developer) => vec![*developer],
                        HeadcountKey::Buyer(owners) => owners.clone(),
                    };
                    (first_verified(&persons), None)
                }
            };
            RollEntry { key: key.opaque(), area_centi_m2: area, units, voter, proxy }
        })
        .collect();
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

/// A co-owner designation in effect when the roll freezes: `voter` (a register person, one of the unit's owners)
/// votes for the roll key of `unit_id`'s owners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveDesignation {
    pub id: Uuid,
    pub unit_id: Uuid,
    pub voter: Uuid,
    pub effective_at: chrono::DateTime<chrono::Utc>,
}

/// A written proxy approved by staff: its holder votes for the roll key of `unit_id`'s owners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovedProxy {
    pub id: Uuid,
    pub unit_id: Uuid,
    pub holder: Uuid,
    pub approved_at: chrono::DateTime<chrono::Utc>,
}

/// Whether `unit` counts under the same roll key as any unit of `taken` (the units of the other approved proxies
/// of a meeting): one key has one voter, so staff may not approve a second proxy for it.
pub fn shares_key(units: &[RegisterUnit], rules: CountingRules, unit: Uuid, taken: &[Uuid]) -> bool {
    let key_of = |id: Uuid| {
        units
            .iter()
            .find(|u| u.holding.unit_id == id)
            .filter(|u| !matches!(&u.holding.holder, Holder::Owners(o) if o.is_empty()))
            .and_then(|u| headcount_key(&u.holding, rules))
    };
    let Some(key) = key_of(unit) else { return false };
    taken.iter().any(|t| key_of(*t).as_ref() == Some(&key))
}

/// The approved proxies a built roll does not use (their unit does not count, or an earlier proxy took the key):
/// they lapse when the roll freezes.
pub fn unused_proxies(roll: &[RollEntry], proxies: &[ApprovedProxy]) -> Vec<Uuid> {
    let used: BTreeSet<Uuid> = roll.iter().filter_map(|e| e.proxy).collect();
    proxies.iter().map(|p| p.id).filter(|id| !used.contains(id)).collect()
}

/// Who is served notice of a meeting: every verified account of a person behind a roll key (for a developer's
/// key, of the developer), with the keys it answers for. The same keys [`build_roll`] makes
/// from the same register, so service recorded at publication maps onto the roll frozen later; a key that only
/// appears after publication (the register changed) was not served.
pub fn notice_recipients(
    units: &[RegisterUnit],
    rules: CountingRules,
    verified: &BTreeMap<Uuid, Vec<(chrono::DateTime<chrono::Utc>, Uuid)>>,
) -> BTreeMap<Uuid, BTreeSet<String>> {
    let mut keys: BTreeSet<HeadcountKey> = BTreeSet::new();
    for u in units {
        if matches!(&u.holding.holder, Holder::Owners(o) if o.is_empty()) {
            continue;
        }
        if let Some(key) = headcount_key(&u.holding, rules) {
            keys.insert(key);
        }
    }
    let mut out: BTreeMap<Uuid, BTreeSet<String>> = BTreeMap::new();
    for key in keys {
        let persons: Vec<Uuid> = match &key {
            HeadcountKey::Developer(developer) => vec![*developer],
            HeadcountKey::Buyer(owners) => owners.clone(),
        };
        let opaque = key.opaque();
        for (_, account) in persons.iter().filter_map(|p| verified.get(p)).flatten() {
            out.entry(*account).or_default().insert(opaque.clone());
        }
    }
    out
}

/// The roll hash: sha256 over the UTF-8 text
/// `"linli-roll-v1\n"` then, for each entry sorted by key (UTF-8 bytes), `key \t area \t 1 \t units \n` where
/// `units` is `building/unit:area` joined by `,`, sorted by building, then unit, each compared as UTF-8 bytes — field
/// by field, not as the joined text: building `1` comes before `1-P` although `1-P/…` sorts before `1/…` as text.
/// Areas in decimal centi-m². Anyone holding the published roll can recompute it (`audit/recount.py` does).
pub fn roll_hash(entries: &[RollEntry]) -> [u8; 32] {
    let mut sorted: Vec<&RollEntry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.key.as_bytes().cmp(b.key.as_bytes()));
    let mut text = String::from("linli-roll-v1\n");
    for e in sorted {
        let mut units: Vec<&RollUnit> = e.units.iter().collect();
        units.sort_by(|a, b| (a.building.as_bytes(), a.unit.as_bytes()).cmp(&(b.building.as_bytes(), b.unit.as_bytes())));
        let units: Vec<String> = units.iter().map(|u| format!("{}/{}:{}", u.building, u.unit, u.area_centi_m2)).collect();
        text.push_str(&format!("{}\t{}\t1\t{}\n", e.key, e.area_centi_m2, units.join(",")));
    }
    Sha256::digest(text.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 24 item 10: the unit order is by field, so the hash does not depend on the order units arrive in.
    #[test]
    fn roll_hash_orders_units_by_building_then_unit_as_bytes() {
        let unit = |building: &str, unit: &str| RollUnit { building: building.into(), unit: unit.into(), area_centi_m2: 100 };
        let entry = |units: Vec<RollUnit>| RollEntry { key: "k".into(), area_centi_m2: 200, units, voter: None, proxy: None };
        let a = roll_hash(&[entry(vec![unit("1", "101"), unit("1-P", "B001")])]);
        assert_eq!(a, roll_hash(&[entry(vec![unit("1-P", "B001"), unit("1", "101")])]));
        let text = "linli-roll-v1\nk\t200\t1\t1/101:100,1-P/B001:100\n";
        assert_eq!(a, <[u8; 32]>::from(Sha256::digest(text.as_bytes())));
    }

    #[test]
    fn sheet_change_needs_the_rule_and_no_earlier_time() {
        assert_eq!(check_sheet_change(false, 1_000, 2_000), Err(SheetChangeRefusal::NotAllowed));
        assert_eq!(check_sheet_change(true, 1_000, 2_000), Ok(()));
        // The same millisecond is allowed: the contract requires castAtMs >= the previous castAtMs.
        assert_eq!(check_sheet_change(true, 1_000, 1_000), Ok(()));
        assert_eq!(check_sheet_change(true, 1_000, 999), Err(SheetChangeRefusal::BeforePrevious));
    }
    use crate::community::domain::{AreaCentiM2, UnitKind};

    fn unit(n: u128, building: &str, number: &str, centi: i64, owners: &[u128]) -> RegisterUnit {
        RegisterUnit {
            holding: UnitHolding {
                unit_id: Uuid::from_u128(1000 + n),
                kind: UnitKind::Residence,
                area: AreaCentiM2::new(centi).unwrap(),
                holder: Holder::Owners(owners.iter().map(|o| Uuid::from_u128(*o)).collect()),
            },
            building: building.into(),
            number: number.into(),
        }
    }

    #[test]
    fn roll_hash_matches_an_independent_computation() {
        let entries = vec![RollEntry {
            key: "buyer:aa".into(),
            area_centi_m2: 8935,
            units: vec![RollUnit { building: "1".into(), unit: "101".into(), area_centi_m2: 8935 }],
            voter: None,
            proxy: None,
        }];
        // printf 'linli-roll-v1\nbuyer:aa\t8935\t1\t1/101:8935\n' | sha256sum
        assert_eq!(
            hex::encode(roll_hash(&entries)),
            "453dda2c48fa604b4fcebb991e500ebe52c385196d0b5d23a203a8b76dc37cc5"
        );
    }

    #[test]
    fn co_owned_unit_gets_the_first_verified_co_owner_and_one_person_sums_areas() {
        let t = |s: i64| chrono::DateTime::from_timestamp(s, 0).unwrap();
        let units = vec![
            unit(1, "1", "101", 8000, &[1, 2]),
            unit(2, "1", "102", 9000, &[3]),
            unit(3, "2", "201", 1000, &[3]),
        ];
        let mut verified = BTreeMap::new();
        verified.insert(Uuid::from_u128(2), vec![(t(10), Uuid::from_u128(92))]);
        verified.insert(Uuid::from_u128(1), vec![(t(20), Uuid::from_u128(91))]);
        let roll = build_roll(&units, CountingRules::default(), &verified, &[], &[]);
        assert_eq!(roll.len(), 2);
        let co = roll.iter().find(|e| e.area_centi_m2 == 8000).unwrap();
        assert_eq!(co.voter, Some(Uuid::from_u128(92)), "person 2 verified first");
        let multi = roll.iter().find(|e| e.units.len() == 2).unwrap();
        assert_eq!(multi.area_centi_m2, 10000);
        assert_eq!(multi.voter, None, "person 3 never enrolled");
    }

    fn designation(id: u128, unit: u128, voter: u128, effective_s: i64) -> EffectiveDesignation {
        EffectiveDesignation {
            id: Uuid::from_u128(id),
            unit_id: Uuid::from_u128(1000 + unit),
            voter: Uuid::from_u128(voter),
            effective_at: chrono::DateTime::from_timestamp(effective_s, 0).unwrap(),
        }
    }

    #[test]
    fn co_owners_designated_voter_replaces_the_first_enrolled_and_a_proxy_still_comes_first() {
        let t = |s: i64| chrono::DateTime::from_timestamp(s, 0).unwrap();
        let units = vec![unit(1, "1", "101", 8000, &[1, 2]), unit(2, "1", "102", 9000, &[3, 4])];
        let mut verified = BTreeMap::new();
        verified.insert(Uuid::from_u128(1), vec![(t(10), Uuid::from_u128(91))]);
        verified.insert(Uuid::from_u128(2), vec![(t(20), Uuid::from_u128(92))]);
        verified.insert(Uuid::from_u128(3), vec![(t(10), Uuid::from_u128(93))]);
        verified.insert(Uuid::from_u128(4), vec![(t(20), Uuid::from_u128(94))]);
        let voter_of = |roll: &[RollEntry], area: i64| roll.iter().find(|e| e.area_centi_m2 == area).unwrap().voter;
        // Without designations: the first to enroll.
        let fallback = build_roll(&units, CountingRules::default(), &verified, &[], &[]);
        assert_eq!((voter_of(&fallback, 8000), voter_of(&fallback, 9000)), (Some(Uuid::from_u128(91)), Some(Uuid::from_u128(93))));
        // 101's owners designated person 2, who enrolled second.
        let designated = [designation(700, 1, 2, 50)];
        let roll = build_roll(&units, CountingRules::default(), &verified, &[], &designated);
        assert_eq!(voter_of(&roll, 8000), Some(Uuid::from_u128(92)));
        assert_eq!(voter_of(&roll, 9000), Some(Uuid::from_u128(93)), "another unit keeps its fallback");
        assert_eq!(roll_hash(&roll), roll_hash(&fallback), "who votes is not part of the published roll");
        // A written proxy for the unit still decides.
        let roll = build_roll(&units, CountingRules::default(), &verified, &[proxy(500, 1, 99, 100)], &designated);
        assert_eq!(voter_of(&roll, 8000), Some(Uuid::from_u128(99)));
    }

    #[test]
    fn a_designee_who_is_no_owner_or_not_verified_falls_back_and_the_first_designation_wins() {
        let t = |s: i64| chrono::DateTime::from_timestamp(s, 0).unwrap();
        // Person 1 and 2 co-own 101 and 102: one key.
        let units = vec![unit(1, "1", "101", 8000, &[1, 2]), unit(2, "1", "102", 9000, &[1, 2])];
        let mut verified = BTreeMap::new();
        verified.insert(Uuid::from_u128(1), vec![(t(10), Uuid::from_u128(91))]);
        verified.insert(Uuid::from_u128(2), vec![(t(20), Uuid::from_u128(92))]);
        let voter = |d: &[EffectiveDesignation]| build_roll(&units, CountingRules::default(), &verified, &[], d)[0].voter;
        assert_eq!(voter(&[designation(700, 1, 7, 50)]), Some(Uuid::from_u128(91)), "person 7 owns nothing here");
        assert_eq!(voter(&[designation(700, 1, 3, 50)]), Some(Uuid::from_u128(91)), "person 3 owns nothing here");
        // Two designations for units of one key: the one that took effect first.
        assert_eq!(voter(&[designation(701, 2, 1, 60), designation(702, 1, 2, 50)]), Some(Uuid::from_u128(92)));
        let mut unverified = verified.clone();
        unverified.remove(&Uuid::from_u128(2));
        let roll = build_roll(&units, CountingRules::default(), &unverified, &[], &[designation(702, 1, 2, 50)]);
        assert_eq!(roll[0].voter, Some(Uuid::from_u128(91)), "a designee without an account: the fallback");
    }

    fn proxy(id: u128, unit: u128, holder: u128, approved_s: i64) -> ApprovedProxy {
        ApprovedProxy {
            id: Uuid::from_u128(id),
            unit_id: Uuid::from_u128(1000 + unit),
            holder: Uuid::from_u128(holder),
            approved_at: chrono::DateTime::from_timestamp(approved_s, 0).unwrap(),
        }
    }

    #[test]
    fn a_proxy_holder_votes_for_the_whole_key_of_the_unit_and_the_owner_no_longer_does() {
        let t = |s: i64| chrono::DateTime::from_timestamp(s, 0).unwrap();
        let units = vec![unit(1, "1", "101", 8000, &[1]), unit(2, "1", "102", 9000, &[3]), unit(3, "2", "201", 1000, &[3])];
        let mut verified = BTreeMap::new();
        verified.insert(Uuid::from_u128(1), vec![(t(10), Uuid::from_u128(91))]);
        verified.insert(Uuid::from_u128(3), vec![(t(10), Uuid::from_u128(93))]);
        // Person 3 (two units, one key) authorised account 91 in writing, naming unit 201.
        let proxies = [proxy(500, 3, 91, 100)];
        let roll = build_roll(&units, CountingRules::default(), &verified, &proxies, &[]);
        let by_proxy = roll.iter().find(|e| e.units.len() == 2).unwrap();
        assert_eq!((by_proxy.voter, by_proxy.proxy), (Some(Uuid::from_u128(91)), Some(Uuid::from_u128(500))));
        assert_eq!(by_proxy.area_centi_m2, 10000, "the proxy carries the principal's whole key");
        let own = roll.iter().find(|e| e.area_centi_m2 == 8000).unwrap();
        assert_eq!((own.voter, own.proxy), (Some(Uuid::from_u128(91)), None), "the holder's own key is unchanged");
        assert!(roll.iter().all(|e| e.voter != Some(Uuid::from_u128(93))), "the principal's own account no longer votes");
        assert!(unused_proxies(&roll, &proxies).is_empty());
    }

    #[test]
    fn the_proxy_approved_first_takes_a_key_and_the_others_lapse() {
        let units = vec![unit(1, "1", "101", 8000, &[1, 2]), unit(2, "1", "102", 9000, &[1, 2]), unit(3, "2", "201", 7000, &[4])];
        // Two authorisations naming the same co-owned person pair (units 101 and 102): one key, one voter.
        let proxies = [proxy(601, 2, 95, 200), proxy(600, 1, 94, 100), proxy(602, 2, 96, 100)];
        let roll = build_roll(&units, CountingRules::default(), &BTreeMap::new(), &proxies, &[]);
        let key = roll.iter().find(|e| e.units.len() == 2).unwrap();
        // Approved at the same second: the smaller id first.
        assert_eq!((key.voter, key.proxy), (Some(Uuid::from_u128(94)), Some(Uuid::from_u128(600))));
        assert_eq!(unused_proxies(&roll, &proxies), vec![Uuid::from_u128(601), Uuid::from_u128(602)]);
        assert_eq!(roll.iter().find(|e| e.area_centi_m2 == 7000).unwrap().voter, None, "nobody enrolled, no proxy");
    }

    #[test]
    fn a_proxy_for_a_parking_space_the_rules_do_not_count_is_unused() {
        let mut space = unit(2, "P", "B-001", 1250, &[5]);
        space.holding.kind = UnitKind::Parking;
        let units = vec![unit(1, "1", "101", 8000, &[1]), space];
        let proxies = [proxy(700, 2, 91, 100)];
        let roll = build_roll(&units, CountingRules { count_parking_spaces: false }, &BTreeMap::new(), &proxies, &[]);
        assert_eq!(roll.len(), 1);
        assert_eq!(unused_proxies(&roll, &proxies), vec![Uuid::from_u128(700)]);
        let counted = build_roll(&units, CountingRules { count_parking_spaces: true }, &BTreeMap::new(), &proxies, &[]);
        assert_eq!(counted.iter().find(|e| e.proxy.is_some()).unwrap().voter, Some(Uuid::from_u128(91)));
    }

    #[test]
    fn a_developer_unit_proxy_votes_for_the_developer_key() {
        let mut unsold = unit(2, "1", "102", 9000, &[]);
        unsold.holding.holder =
            Holder::Developer { developer: Uuid::from_u128(900), holding: crate::community::domain::DeveloperHolding::Unsold };
        let units = vec![unit(1, "1", "101", 8000, &[1]), unsold];
        let proxies = [proxy(800, 2, 97, 100)];
        let roll = build_roll(&units, CountingRules::default(), &BTreeMap::new(), &proxies, &[]);
        let dev = roll.iter().find(|e| e.key.starts_with("developer:")).unwrap();
        assert_eq!((dev.voter, dev.proxy), (Some(Uuid::from_u128(97)), Some(Uuid::from_u128(800))));
    }

    #[test]
    fn a_second_proxy_for_another_unit_of_the_same_buyer_shares_the_key() {
        let units = vec![unit(1, "1", "101", 8000, &[3]), unit(2, "1", "102", 9000, &[3]), unit(3, "2", "201", 7000, &[4])];
        let id = |n: u128| Uuid::from_u128(1000 + n);
        assert!(shares_key(&units, CountingRules::default(), id(2), &[id(1)]));
        assert!(!shares_key(&units, CountingRules::default(), id(3), &[id(1)]));
        assert!(!shares_key(&units, CountingRules::default(), id(3), &[]));
    }


    #[test]
    fn every_verified_co_owner_is_served_for_the_keys_of_their_units() {
        let t = |s: i64| chrono::DateTime::from_timestamp(s, 0).unwrap();
        let units = vec![
            unit(1, "1", "101", 8000, &[1, 2]),
            unit(2, "1", "102", 9000, &[3]),
            unit(3, "2", "201", 1000, &[1]),
            unit(4, "2", "202", 1500, &[4]),
        ];
        let mut verified = BTreeMap::new();
        verified.insert(Uuid::from_u128(1), vec![(t(10), Uuid::from_u128(91))]);
        verified.insert(Uuid::from_u128(2), vec![(t(20), Uuid::from_u128(92))]);
        verified.insert(Uuid::from_u128(3), vec![(t(30), Uuid::from_u128(93))]);
        let to = notice_recipients(&units, CountingRules::default(), &verified);
        let roll = build_roll(&units, CountingRules::default(), &verified, &[], &[]);
        let key_of = |area: i64| roll.iter().find(|e| e.area_centi_m2 == area).unwrap().key.clone();
        // Person 1 co-owns 101 and alone owns 201: two keys. Person 2 co-owns 101. Person 4 never enrolled.
        assert_eq!(to[&Uuid::from_u128(91)], BTreeSet::from([key_of(8000), key_of(1000)]));
        assert_eq!(to[&Uuid::from_u128(92)], BTreeSet::from([key_of(8000)]));
        assert_eq!(to[&Uuid::from_u128(93)], BTreeSet::from([key_of(9000)]));
        assert_eq!(to.len(), 3);
    }

    #[test]
    fn attachments_extend_the_content_hash_and_their_order_matters() {
        let p = ProposalDraft { matter: 5, title: "t".into(), body: "b".into(), kind: ProposalKindDraft::YesNo };
        let bare = proposal_content_hash(&p, &[]);
        // printf 'linli-proposal-v2\0\0\0\1\5\0\0\0\1t\0\0\0\1b\0\0\0\6yes_no\0\0\0\1\0' | sha256sum
        let mut text = b"linli-proposal-v2".to_vec();
        for f in [&[5u8][..], b"t", b"b", b"yes_no", &[0]] {
            text.extend_from_slice(&u32::try_from(f.len()).unwrap().to_be_bytes());
            text.extend_from_slice(f);
        }
        assert_eq!(bare, <[u8; 32]>::from(Sha256::digest(&text)));
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let with = proposal_content_hash(&p, &[a, b]);
        text.extend_from_slice(&0u32.to_be_bytes());
        for f in [a, b] {
            text.extend_from_slice(&32u32.to_be_bytes());
            text.extend_from_slice(&f);
        }
        assert_eq!(with, <[u8; 32]>::from(Sha256::digest(&text)));
        assert_ne!(with, proposal_content_hash(&p, &[b, a]));
        // An election's seats and candidates, in order, are part of what owners vote on.
        let election = |seats: u8, names: &[&str]| ProposalDraft {
            kind: ProposalKindDraft::Election { seats, candidates: names.iter().map(|n| (*n).to_owned()).collect() },
            ..p.clone()
        };
        let e = proposal_content_hash(&election(1, &["张三", "李四"]), &[]);
        assert_ne!(e, bare);
        assert_ne!(e, proposal_content_hash(&election(2, &["张三", "李四"]), &[]));
        assert_ne!(e, proposal_content_hash(&election(1, &["李四", "张三"]), &[]));
        assert!(valid_attachment_name("报价单.pdf"));
        assert!(!valid_attachment_name("../etc/passwd") && !valid_attachment_name("") && !valid_attachment_name(" x"));
    }

    #[test]
    fn choices_per_proposal_become_ballot_lines() {
        use super::super::tally::ProposalKind::{Election, YesNo};
        let kinds = [YesNo, Election { candidates: 3, seats: 1 }, YesNo];
        let c = |v: serde_json::Value| serde_json::from_value::<Vec<ProposalChoice>>(v).unwrap();
        assert_eq!(ballot_lines(&kinds, &c(serde_json::json!([0, [2, 0, 1], 2]))), Ok(vec![0, 2, 0, 1, 2]));
        assert_eq!(ballot_lines(&kinds, &c(serde_json::json!([0, [2, 0, 1]]))), Err(ChoiceError::Count { proposals: 3, choices: 2 }));
        assert_eq!(ballot_lines(&kinds, &c(serde_json::json!([3, [2, 0, 1], 2]))), Err(ChoiceError::YesNo(0)));
        assert_eq!(ballot_lines(&kinds, &c(serde_json::json!([[0], [2, 0, 1], 2]))), Err(ChoiceError::YesNo(0)));
        assert_eq!(ballot_lines(&kinds, &c(serde_json::json!([0, [2, 0], 2]))), Err(ChoiceError::Election(1, 3)));
        assert_eq!(ballot_lines(&kinds, &c(serde_json::json!([0, 1, 2]))), Err(ChoiceError::Election(1, 3)));
        assert_eq!(ballot_lines(&kinds, &c(serde_json::json!([0, [2, 0, 3], 2]))), Err(ChoiceError::Election(1, 3)));
    }

    #[test]
    fn drafts_are_validated() {
        let p = ProposalDraft { matter: 5, title: "t".into(), body: "b".into(), kind: ProposalKindDraft::YesNo };
        assert!(validate_draft("m", std::slice::from_ref(&p), 0, 1).is_ok());
        assert_eq!(validate_draft("m", &[], 0, 1), Err(DraftError::ProposalCount));
        let mut bad = p.clone();
        bad.matter = 10;
        assert_eq!(validate_draft("m", &[bad], 0, 1), Err(DraftError::Matter(0)));
        let election = |seats: u8, names: &[&str]| ProposalDraft {
            matter: 3,
            kind: ProposalKindDraft::Election { seats, candidates: names.iter().map(|n| (*n).to_owned()).collect() },
            ..p.clone()
        };
        assert!(validate_draft("m", &[election(2, &["张三", "李四", "王五"])], 0, 1).is_ok());
        for bad in [election(0, &["张三"]), election(2, &["张三"]), election(1, &[]), election(1, &["张三", "张三"]), election(1, &[" 张三"])] {
            assert_eq!(validate_draft("m", &[bad], 0, 1), Err(DraftError::Election(0)));
        }
        // 32 lines at most: 31 yes/no proposals and a 2-candidate election are 33.
        let mut many = vec![p.clone(); 31];
        many.push(election(1, &["张三", "李四"]));
        assert_eq!(validate_draft("m", &many, 0, 1), Err(DraftError::Lines));
        many.pop();
        many.push(election(1, &["张三"]));
        assert!(validate_draft("m", &many, 0, 1).is_ok());
        // The committee no longer writes options: an old-style draft is refused, not silently re-read.
        let old = serde_json::json!({"matter": 5, "title": "t", "body": "b", "options": ["反对", "同意", "弃权"]});
        assert!(serde_json::from_value::<ProposalDraft>(old).is_err());
        let new: ProposalDraft = serde_json::from_value(serde_json::json!({"matter": 3, "title": "t", "body": "b",
            "kind": {"election": {"seats": 1, "candidates": ["张三"]}}})).unwrap();
        assert_eq!(new.kind.tally_kind(), super::super::tally::ProposalKind::Election { candidates: 1, seats: 1 });
        assert_eq!(validate_draft("m", &[p], 5, 5), Err(DraftError::Window));
    }
}
