//! Maintenance-fund rules as plain functions (DESIGN §6; 住宅专项维修资金管理办法 arts. 22–25): plan items and the
//! art. 25 exclusions, budgets in fen, apportionment by area, the plan's hash, plan states, remaining budget.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

/// Most fen one plan may budget (10 billion yuan): far above any repair, far below overflow of every sum.
pub const MAX_BUDGET_FEN: i64 = 1_000_000_000_000;
pub const MAX_ITEMS: usize = 50;
pub const MAX_EVIDENCE: usize = 20;

/// What a plan item repairs or renews. The four art. 25 exclusions are named so that a plan declaring one is
/// refused with the reason, rather than as an unknown word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Lift,
    Roof,
    ExteriorWall,
    FireSystem,
    WaterPump,
    Drainage,
    CommonFacilities,
    Security,
}

/// Why an item category is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CategoryRefusal {
    #[error("art. 25: defects within the developer's or builder's warranty are theirs to repair")]
    WarrantyDefect,
    #[error("art. 25: utility pipelines and equipment are the utility's to maintain")]
    UtilityPipeline,
    #[error("art. 25: damage someone caused is theirs to pay")]
    DamageByParty,
    #[error("art. 25: upkeep the property-service contract assigns to the property company is theirs")]
    PropertyContractUpkeep,
    #[error("unknown category")]
    Unknown,
}

impl Category {
    pub const ALL: [Category; 8] = [
        Self::Lift,
        Self::Roof,
        Self::ExteriorWall,
        Self::FireSystem,
        Self::WaterPump,
        Self::Drainage,
        Self::CommonFacilities,
        Self::Security,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lift => "lift",
            Self::Roof => "roof",
            Self::ExteriorWall => "exterior_wall",
            Self::FireSystem => "fire_system",
            Self::WaterPump => "water_pump",
            Self::Drainage => "drainage",
            Self::CommonFacilities => "common_facilities",
            Self::Security => "security",
        }
    }

    pub fn parse(text: &str) -> Result<Self, CategoryRefusal> {
        if let Some(c) = Self::ALL.into_iter().find(|c| c.as_str() == text) {
            return Ok(c);
        }
        Err(match text {
            "warranty_defect" => CategoryRefusal::WarrantyDefect,
            "utility_pipeline" => CategoryRefusal::UtilityPipeline,
            "damage_by_party" => CategoryRefusal::DamageByParty,
            "property_contract_upkeep" => CategoryRefusal::PropertyContractUpkeep,
            _ => CategoryRefusal::Unknown,
        })
    }
}

/// A document kept by the filer, named by its SHA-256 (the hash is what the plan, and so the vote, binds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    pub file_name: String,
    /// hex SHA-256 of the file.
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemInput {
    /// lift, roof, exterior_wall, fire_system, water_pump, drainage, common_facilities or security. The art. 25
    /// exclusions (warranty_defect, utility_pipeline, damage_by_party, property_contract_upkeep) are refused.
    pub category: String,
    pub description: String,
    pub budget_fen: i64,
    pub contractor: String,
}

/// A unit concerned by the plan, by building code and unit number as in the register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitRef {
    pub building: String,
    pub unit: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    pub title: String,
    pub description: String,
    pub items: Vec<ItemInput>,
    /// The units whose owners bear the cost (art. 28: the owners concerned); empty = every unit of the community.
    #[serde(default)]
    pub units: Vec<UnitRef>,
    #[serde(default)]
    pub evidence: Vec<Evidence>,
}

/// A plan that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidPlan {
    pub title: String,
    pub description: String,
    pub items: Vec<(Category, String, i64, String)>,
    pub budget_fen: i64,
    pub units: Vec<UnitRef>,
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("item {0}: {1}")]
    Category(usize, CategoryRefusal),
    #[error("a plan has 1 to {MAX_ITEMS} items")]
    ItemCount,
    #[error("item {0}: the budget is 1 fen to {MAX_BUDGET_FEN} fen")]
    ItemBudget(usize),
    #[error("the plan's total budget exceeds {MAX_BUDGET_FEN} fen")]
    Budget,
    #[error("{0}")]
    Text(&'static str),
    #[error("evidence: at most {MAX_EVIDENCE} files, each a name of 1–120 characters and a hex SHA-256")]
    Evidence,
    #[error("a unit is named twice")]
    DuplicateUnit,
}

fn text_ok(s: &str, max: usize) -> bool {
    let n = s.chars().count();
    n >= 1 && n <= max && s.trim() == s && !s.chars().any(|c| c.is_control() && c != '\n')
}

pub fn validate_plan(input: &PlanInput) -> Result<ValidPlan, PlanError> {
    if !text_ok(&input.title, 200) {
        return Err(PlanError::Text("the title is 1–200 characters"));
    }
    if !text_ok(&input.description, 20_000) {
        return Err(PlanError::Text("the description is 1–20000 characters"));
    }
    if input.items.is_empty() || input.items.len() > MAX_ITEMS {
        return Err(PlanError::ItemCount);
    }
    let mut items = Vec::with_capacity(input.items.len());
    let mut total: i64 = 0;
    for (i, item) in input.items.iter().enumerate() {
        let category = Category::parse(&item.category).map_err(|r| PlanError::Category(i, r))?;
        if !(1..=MAX_BUDGET_FEN).contains(&item.budget_fen) {
            return Err(PlanError::ItemBudget(i));
        }
        if !text_ok(&item.description, 2000) || !text_ok(&item.contractor, 200) {
            return Err(PlanError::Text("an item's description is 1–2000 characters, its contractor 1–200"));
        }
        total = total.checked_add(item.budget_fen).filter(|t| *t <= MAX_BUDGET_FEN).ok_or(PlanError::Budget)?;
        items.push((category, item.description.clone(), item.budget_fen, item.contractor.clone()));
    }
    if input.evidence.len() > MAX_EVIDENCE
        || input.evidence.iter().any(|e| {
            !text_ok(&e.file_name, 120) || e.sha256.len() != 64 || !e.sha256.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        })
    {
        return Err(PlanError::Evidence);
    }
    let mut seen = std::collections::BTreeSet::new();
    if !input.units.iter().all(|u| seen.insert((u.building.as_str(), u.unit.as_str()))) {
        return Err(PlanError::DuplicateUnit);
    }
    Ok(ValidPlan {
        title: input.title.clone(),
        description: input.description.clone(),
        items,
        budget_fen: total,
        units: input.units.clone(),
        evidence: input.evidence.clone(),
    })
}

/// Splits `budget_fen` over units in proportion to their areas (centi-m²), exactly: each gets the floor of its
/// share, and the fen left over go one each to the largest remainders (ties: the order given). The shares sum
/// to the budget. `None` when there is no area to apportion by.
pub fn apportion(budget_fen: i64, areas: &[(Uuid, i64)]) -> Option<Vec<(Uuid, i64)>> {
    let total: i128 = areas.iter().map(|(_, a)| i128::from(*a)).sum();
    if total <= 0 || areas.iter().any(|(_, a)| *a < 0) {
        return None;
    }
    let budget = i128::from(budget_fen);
    let mut shares: Vec<(Uuid, i128, i128)> =
        areas.iter().map(|(u, a)| (*u, budget * i128::from(*a) / total, budget * i128::from(*a) % total)).collect();
    let given: i128 = shares.iter().map(|s| s.1).sum();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|&x, &y| shares[y].2.cmp(&shares[x].2).then(x.cmp(&y)));
    for &i in order.iter().take(usize::try_from(budget - given).ok()?) {
        shares[i].1 += 1;
    }
    shares.into_iter().map(|(u, s, _)| i64::try_from(s).ok().map(|s| (u, s))).collect()
}

/// The plan document owners vote on and the chain registers by hash: canonical JSON of everything filed.
pub fn plan_document(id: Uuid, community: Uuid, plan: &ValidPlan, shares: &[(Uuid, i64)]) -> serde_json::Value {
    serde_json::json!({
        "plan_id": id,
        "community_id": community,
        "title": plan.title,
        "description": plan.description,
        "budget_fen": plan.budget_fen,
        "items": plan.items.iter().map(|(c, d, b, k)| serde_json::json!({
            "category": c.as_str(), "description": d, "budget_fen": b, "contractor": k
        })).collect::<Vec<_>>(),
        "apportionment": shares.iter().map(|(u, s)| serde_json::json!({"unit_id": u, "share_fen": s})).collect::<Vec<_>>(),
        "evidence": plan.evidence,
    })
}

/// sha256("linli-fund-plan-v1" ‖ canonical JSON of the plan document).
pub fn plan_hash(document: &serde_json::Value) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"linli-fund-plan-v1");
    h.update(crate::audit::canonical_json(document).as_bytes());
    h.finalize().into()
}

/// The line the plan adds to the proposal it is attached to, so the proposal's content hash (sent on chain when
/// voting opens) binds the plan's text and budget.
pub fn proposal_clause(id: Uuid, budget_fen: i64, hash: &[u8; 32]) -> String {
    format!("\n\n维修资金使用方案 {id}：预算 {} 元；方案哈希 sha256:{}", yuan(budget_fen), hex::encode(hash))
}

/// 12345678 fen → "123,456.78".
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    let int = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}.{:02}", abs % 100)
}

/// A plan's life (issue 23 item 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanState {
    Draft,
    Filed,
    InMeeting,
    Approved,
    Rejected,
    Closed,
}

impl PlanState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Filed => "filed",
            Self::InMeeting => "in_meeting",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Draft, Self::Filed, Self::InMeeting, Self::Approved, Self::Rejected, Self::Closed].into_iter().find(|p| p.as_str() == s)
    }
}

/// What may happen to a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanEvent {
    File,
    Attach,
    /// The meeting's binding decision on the plan's proposal.
    Decided { passed: bool },
    /// Every approved fen executed, or the plan withdrawn after a rejection.
    Close,
}

pub fn transition(from: PlanState, event: PlanEvent) -> Option<PlanState> {
    use PlanEvent::*;
    use PlanState::*;
    match (from, event) {
        (Draft, File) => Some(Filed),
        (Filed, Attach) => Some(InMeeting),
        (InMeeting, Decided { passed: true }) => Some(Approved),
        (InMeeting, Decided { passed: false }) => Some(Rejected),
        (Approved | Rejected, Close) => Some(Closed),
        _ => None,
    }
}

/// The money of a plan as the API judges it (the chain judges `approved` alone: `approveDisbursement` refuses an
/// amount over budget − approved).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub budget_fen: i64,
    /// Approved by the committee (forwarded to the chain).
    pub approved_fen: i64,
    /// Requested and neither approved nor refused yet.
    pub pending_fen: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BudgetRefusal {
    #[error("the amount must be at least 1 fen")]
    NotPositive,
    #[error("the amount exceeds the plan's remaining budget of {remaining_fen} fen")]
    OverBudget { remaining_fen: i64 },
}

impl Budget {
    /// A new request must fit in what is neither approved nor already requested.
    pub fn check_request(self, amount_fen: i64) -> Result<(), BudgetRefusal> {
        if amount_fen <= 0 {
            return Err(BudgetRefusal::NotPositive);
        }
        let remaining = self.budget_fen - self.approved_fen - self.pending_fen;
        if amount_fen > remaining { Err(BudgetRefusal::OverBudget { remaining_fen: remaining.max(0) }) } else { Ok(()) }
    }

    /// An approval must fit in what is not approved (the contract's rule).
    pub fn check_approval(self, amount_fen: i64) -> Result<(), BudgetRefusal> {
        if amount_fen <= 0 {
            return Err(BudgetRefusal::NotPositive);
        }
        let remaining = self.budget_fen - self.approved_fen;
        if amount_fen > remaining { Err(BudgetRefusal::OverBudget { remaining_fen: remaining.max(0) }) } else { Ok(()) }
    }
}

/// A contract id for a plan or disbursement: its UUID, left-aligned in 32 bytes (as meeting ids are).
pub fn chain_id(id: Uuid) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[..16].copy_from_slice(id.as_bytes());
    out
}

/// sha256 of a text field the chain records by hash (payee, bank reference), with a domain prefix.
pub fn text_hash(domain: &str, text: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(domain.as_bytes());
    h.update([0]);
    h.update(text.as_bytes());
    h.finalize().into()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn item(category: &str, fen: i64) -> ItemInput {
        ItemInput { category: category.into(), description: "更换曳引机".into(), budget_fen: fen, contractor: "某电梯公司".into() }
    }

    fn plan(items: Vec<ItemInput>) -> PlanInput {
        PlanInput { title: "1号楼电梯大修".into(), description: "更换曳引机与控制柜".into(), items, units: vec![], evidence: vec![] }
    }

    #[test]
    fn art_25_exclusions_are_refused_by_name_and_unknown_words_too() {
        for (c, r) in [
            ("warranty_defect", CategoryRefusal::WarrantyDefect),
            ("utility_pipeline", CategoryRefusal::UtilityPipeline),
            ("damage_by_party", CategoryRefusal::DamageByParty),
            ("property_contract_upkeep", CategoryRefusal::PropertyContractUpkeep),
            ("Lift", CategoryRefusal::Unknown),
        ] {
            assert_eq!(validate_plan(&plan(vec![item("lift", 1), item(c, 5)])), Err(PlanError::Category(1, r)));
        }
        let ok = validate_plan(&plan(vec![item("lift", 10_000_000), item("fire_system", 2_000_000)])).unwrap();
        assert_eq!(ok.budget_fen, 12_000_000);
    }

    #[test]
    fn budgets_are_positive_bounded_and_never_overflow() {
        assert_eq!(validate_plan(&plan(vec![item("lift", 0)])), Err(PlanError::ItemBudget(0)));
        assert_eq!(validate_plan(&plan(vec![item("lift", -5)])), Err(PlanError::ItemBudget(0)));
        assert_eq!(validate_plan(&plan(vec![item("lift", MAX_BUDGET_FEN), item("roof", 1)])), Err(PlanError::Budget));
        assert_eq!(validate_plan(&plan(vec![])), Err(PlanError::ItemCount));
        let mut p = plan(vec![item("lift", 1)]);
        p.evidence = vec![Evidence { file_name: "报价.pdf".into(), sha256: "AB".repeat(32) }];
        assert_eq!(validate_plan(&p), Err(PlanError::Evidence));
    }

    #[test]
    fn apportionment_is_by_area_and_sums_to_the_budget_exactly() {
        let (a, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        // 100 fen over areas 1:1:1 → 34, 33, 33 (the first of equal remainders gets the extra fen).
        assert_eq!(apportion(100, &[(a, 1), (b, 1), (c, 1)]).unwrap(), vec![(a, 34), (b, 33), (c, 33)]);
        // 120,000.00 yuan over 89.50, 120.25 and 60.00 m².
        let shares = apportion(12_000_000, &[(a, 8950), (b, 12025), (c, 6000)]).unwrap();
        assert_eq!(shares.iter().map(|s| s.1).sum::<i64>(), 12_000_000);
        assert_eq!(shares, vec![(a, 3_981_464), (b, 5_349_398), (c, 2_669_138)]);
        assert!(apportion(100, &[]).is_none());
        assert!(apportion(100, &[(a, 0)]).is_none());
    }

    #[test]
    fn plan_states_follow_the_issue() {
        use PlanEvent::*;
        use PlanState::*;
        assert_eq!(transition(Draft, File), Some(Filed));
        assert_eq!(transition(Draft, Attach), None, "only a filed plan goes to a meeting");
        assert_eq!(transition(Filed, Attach), Some(InMeeting));
        assert_eq!(transition(InMeeting, Attach), None, "one meeting per plan");
        assert_eq!(transition(InMeeting, Decided { passed: true }), Some(Approved));
        assert_eq!(transition(InMeeting, Decided { passed: false }), Some(Rejected));
        assert_eq!(transition(Approved, Close), Some(Closed));
        assert_eq!(transition(Filed, Decided { passed: true }), None);
    }

    #[test]
    fn the_remaining_budget_refuses_the_extra_fen() {
        let b = Budget { budget_fen: 12_000_000, approved_fen: 7_000_000, pending_fen: 0 };
        assert_eq!(b.check_request(5_000_000), Ok(()));
        let b = Budget { budget_fen: 12_000_000, approved_fen: 7_000_000, pending_fen: 5_000_000 };
        assert_eq!(b.check_request(1), Err(BudgetRefusal::OverBudget { remaining_fen: 0 }));
        let b = Budget { budget_fen: 12_000_000, approved_fen: 12_000_000, pending_fen: 0 };
        assert_eq!(b.check_approval(1), Err(BudgetRefusal::OverBudget { remaining_fen: 0 }));
        assert_eq!(b.check_request(0), Err(BudgetRefusal::NotPositive));
    }

    #[test]
    fn yuan_and_hashes() {
        assert_eq!(yuan(12_000_000), "120,000.00");
        assert_eq!(yuan(1), "0.01");
        assert_eq!(yuan(123_456_789), "1,234,567.89");
        let id = Uuid::from_u128(9);
        let plan = validate_plan(&plan(vec![item("lift", 100)])).unwrap();
        let doc = plan_document(id, id, &plan, &[(id, 100)]);
        let h = plan_hash(&doc);
        let mut changed = plan.clone();
        changed.items[0].2 = 101;
        assert_ne!(plan_hash(&plan_document(id, id, &changed, &[(id, 101)])), h, "the budget is bound");
        assert!(proposal_clause(id, 100, &h).contains(&hex::encode(h)));
    }
}
