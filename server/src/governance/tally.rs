//! The tally of an owners' meeting (Civil Code art. 278; DESIGN §5 "Law") as a pure function.
//!
//! Per proposal, per option: the sum of area (centi-m²) and headcount of the sheets that chose it.
//! Participation = every sheet (abstention and "no" participate, only option 0 is yes).
//! - Quorum (every matter): `3·area_part ≥ 2·area_total ∧ 3·heads_part ≥ 2·heads_total`.
//! - Matters 6–8: `4·yes ≥ 3·part` on area and on heads ("四分之三以上" includes the bound).
//! - Other matters: `2·yes > part` on area and on heads ("过半数" is strict).
//!
//! Exact integer cross-multiplication in i128, no division, no floats.
//!
//! **Rule-set tally** (per-meeting flags of a community's rules of procedure, only for owners on the roll who
//! were served notice and cast no sheet — "served but silent"):
//! - `silent_counts_as_participating`: their weight joins the participation (like an abstention: never yes).
//! - `silent_follows_majority`: their weight joins the participation and goes to yes exactly when yes holds a
//!   strict majority of both area and heads among the sheets cast for that proposal; otherwise it joins the
//!   participation without yes. Following the majority implies participating.
//!
//! The strict tally (sheets only) is what the contract computes; the rule-set tally is published beside it when
//! a flag is set and the figures differ.

use serde::Serialize;
use utoipa::ToSchema;

/// The option index that means "yes" (the contract's `YES_OPTION`).
pub const YES: u8 = 0;

/// Area in centi-m² and headcount, added together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Weight {
    pub area_centi_m2: i64,
    pub heads: i64,
}

impl Weight {
    pub const fn new(area_centi_m2: i64, heads: i64) -> Self {
        Self { area_centi_m2, heads }
    }

    fn add(&mut self, other: Weight) {
        self.area_centi_m2 += other.area_centi_m2;
        self.heads += other.heads;
    }
}

/// Matters of Civil Code art. 278, numbered 1–9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(transparent)]
pub struct Matter(u8);

impl Matter {
    pub fn new(n: u8) -> Option<Self> {
        (1..=9).contains(&n).then_some(Self(n))
    }

    pub fn get(self) -> u8 {
        self.0
    }

    /// Matters 6 (raise the fund), 7 (rebuild/renovate), 8 (change the use of common parts) need three quarters.
    pub fn needs_three_quarters(self) -> bool {
        (6..=8).contains(&self.0)
    }
}

/// The per-meeting flags of the rules of procedure that change the tally.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct TallyRules {
    pub silent_counts_as_participating: bool,
    pub silent_follows_majority: bool,
}

impl TallyRules {
    pub fn any(self) -> bool {
        self.silent_counts_as_participating || self.silent_follows_majority
    }
}

/// One proposal as the tally sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalSpec {
    pub matter: Matter,
    /// 2–16 options; option 0 is yes.
    pub option_count: u8,
}

/// One ballot sheet: the voter's weight and one option per proposal (same order as the proposals).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet {
    pub weight: Weight,
    pub choices: Vec<u8>,
}

/// Everything a tally needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TallyInput {
    /// The roll's totals (frozen when voting opened).
    pub roll_totals: Weight,
    pub proposals: Vec<ProposalSpec>,
    pub sheets: Vec<Sheet>,
    /// Sum of the weights of roll entries that were served notice and cast no sheet.
    pub served_silent: Weight,
    pub rules: TallyRules,
}

/// The result of one proposal under one counting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ProposalTally {
    /// Weight per option, index = option number.
    pub options: Vec<Weight>,
    pub participation: Weight,
    pub quorum: bool,
    pub passed: bool,
}

/// The result of one proposal: the strict tally, and the rule-set tally when a flag is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ProposalResult {
    pub strict: ProposalTally,
    pub rule_set: Option<ProposalTally>,
}

/// Why a tally could not be computed (input that the handlers must never let through).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TallyError {
    #[error("sheet {sheet} has {got} choices for {want} proposals")]
    ChoiceCount { sheet: usize, got: usize, want: usize },
    #[error("sheet {sheet} chose option {option} of proposal {proposal}, which has {count} options")]
    NoSuchOption { sheet: usize, proposal: usize, option: u8, count: u8 },
    #[error("a weight is negative")]
    NegativeWeight,
}

/// `3·part ≥ 2·total` on both area and heads.
pub fn quorum(part: Weight, total: Weight) -> bool {
    let ge = |p: i64, t: i64| 3 * i128::from(p) >= 2 * i128::from(t);
    ge(part.area_centi_m2, total.area_centi_m2) && ge(part.heads, total.heads)
}

/// The yes threshold of a matter, on both area and heads.
pub fn yes_threshold_met(matter: Matter, yes: Weight, part: Weight) -> bool {
    let met = |y: i64, p: i64| {
        let (y, p) = (i128::from(y), i128::from(p));
        if matter.needs_three_quarters() { 4 * y >= 3 * p } else { 2 * y > p }
    };
    met(yes.area_centi_m2, part.area_centi_m2) && met(yes.heads, part.heads)
}

fn decide(matter: Matter, options: Vec<Weight>, participation: Weight, total: Weight) -> ProposalTally {
    let q = quorum(participation, total);
    let yes = options.first().copied().unwrap_or_default();
    let passed = q && yes_threshold_met(matter, yes, participation);
    ProposalTally { options, participation, quorum: q, passed }
}

/// Tallies every proposal of a meeting.
pub fn tally(input: &TallyInput) -> Result<Vec<ProposalResult>, TallyError> {
    let negative = |w: Weight| w.area_centi_m2 < 0 || w.heads < 0;
    if negative(input.roll_totals) || negative(input.served_silent) || input.sheets.iter().any(|s| negative(s.weight)) {
        return Err(TallyError::NegativeWeight);
    }
    let want = input.proposals.len();
    let mut per_option: Vec<Vec<Weight>> =
        input.proposals.iter().map(|p| vec![Weight::default(); usize::from(p.option_count)]).collect();
    let mut participation = Weight::default();
    for (i, sheet) in input.sheets.iter().enumerate() {
        if sheet.choices.len() != want {
            return Err(TallyError::ChoiceCount { sheet: i, got: sheet.choices.len(), want });
        }
        for (p, (&choice, spec)) in sheet.choices.iter().zip(&input.proposals).enumerate() {
            let slot = per_option[p].get_mut(usize::from(choice)).ok_or(TallyError::NoSuchOption {
                sheet: i,
                proposal: p,
                option: choice,
                count: spec.option_count,
            })?;
            slot.add(sheet.weight);
        }
        participation.add(sheet.weight);
    }
    let results = input
        .proposals
        .iter()
        .zip(per_option)
        .map(|(spec, options)| {
            let strict = decide(spec.matter, options.clone(), participation, input.roll_totals);
            let rule_set = input.rules.any().then(|| {
                let mut options = options;
                let mut part = participation;
                part.add(input.served_silent);
                if input.rules.silent_follows_majority {
                    let yes = options.first().copied().unwrap_or_default();
                    let majority_yes = 2 * i128::from(yes.area_centi_m2) > i128::from(participation.area_centi_m2)
                        && 2 * i128::from(yes.heads) > i128::from(participation.heads);
                    if majority_yes && let Some(y) = options.first_mut() {
                        y.add(input.served_silent);
                    }
                }
                decide(spec.matter, options, part, input.roll_totals)
            });
            ProposalResult { strict, rule_set }
        })
        .collect();
    Ok(results)
}

/// Who casts the sheet for a roll entry: an account on its own behalf, or through a written proxy. A holder casts
/// one sheet of each kind, so a sheet is known by both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Caster {
    pub account: uuid::Uuid,
    pub proxy: Option<uuid::Uuid>,
}

/// One entry of the frozen roll as service sees it: its key, its weight and who casts its sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollWeight {
    pub key: String,
    pub weight: Weight,
    pub voter: Option<Caster>,
}

/// The weight of the roll entries that were served and cast no sheet: the served-but-silent weight of the
/// rule-set tally. An entry whose designated voter cast a sheet is counted by that sheet, never here.
pub fn served_silent(
    roll: &[RollWeight],
    served: &std::collections::BTreeSet<String>,
    voted: &std::collections::BTreeSet<Caster>,
) -> Weight {
    let mut w = Weight::default();
    for e in roll {
        let silent = e.voter.is_none_or(|v| !voted.contains(&v));
        if silent && served.contains(&e.key) {
            w.add(e.weight);
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(n: u8) -> Matter {
        Matter::new(n).unwrap()
    }
    fn w(area: i64, heads: i64) -> Weight {
        Weight::new(area, heads)
    }

    // ---- quorum: 3·part ≥ 2·total. Total 300.00 m² = 30000 centi, 3 heads → bound 20000 centi, 2 heads.
    #[test]
    fn quorum_at_the_bound_passes_and_one_below_fails_on_each_axis() {
        let total = w(30000, 3);
        assert!(quorum(w(20000, 2), total), "exactly two thirds of both");
        assert!(!quorum(w(19999, 2), total), "one centi-m² short");
        assert!(!quorum(w(20000, 1), total), "one person short");
        assert!(quorum(w(20001, 3), total), "one above");
        // Totals not divisible by 3: total 10000 centi / 7 heads → need 3·a ≥ 20000 → a ≥ 6667; 3·h ≥ 14 → h ≥ 5.
        let odd = w(10000, 7);
        assert!(quorum(w(6667, 5), odd));
        assert!(!quorum(w(6666, 5), odd));
        assert!(!quorum(w(6667, 4), odd));
    }

    // ---- simple majority: 2·yes > part. Part 40000 centi, 4 heads → yes needs 20001 centi and 3 heads.
    #[test]
    fn simple_majority_is_strict() {
        let part = w(40000, 4);
        assert!(!yes_threshold_met(m(5), w(20000, 3), part), "exactly half the area is not more than half");
        assert!(yes_threshold_met(m(5), w(20001, 3), part), "one centi-m² above half");
        assert!(!yes_threshold_met(m(5), w(20001, 2), part), "exactly half the heads");
        // Odd heads: part 5 → yes 3 passes (6 > 5), 2 fails (4 > 5 false).
        assert!(yes_threshold_met(m(9), w(30000, 3), w(50000, 5)));
        assert!(!yes_threshold_met(m(9), w(30000, 2), w(50000, 5)));
        for matter in [1, 2, 3, 4, 5, 9] {
            assert!(!yes_threshold_met(m(matter), w(20000, 3), part), "matter {matter} is a simple majority");
        }
    }

    // ---- three quarters: 4·yes ≥ 3·part. Part 40000 centi, 4 heads → yes needs 30000 centi and 3 heads.
    #[test]
    fn three_quarters_includes_the_bound() {
        let part = w(40000, 4);
        for matter in [6, 7, 8] {
            assert!(yes_threshold_met(m(matter), w(30000, 3), part), "matter {matter}: exactly 3/4");
            assert!(!yes_threshold_met(m(matter), w(29999, 3), part), "matter {matter}: one centi-m² short");
            assert!(!yes_threshold_met(m(matter), w(30000, 2), part), "matter {matter}: one person short");
        }
        // The same figures pass a simple-majority matter.
        assert!(yes_threshold_met(m(5), w(29999, 3), part));
    }

    #[test]
    fn matter_range() {
        assert!(Matter::new(0).is_none() && Matter::new(10).is_none());
        assert!(!m(5).needs_three_quarters() && m(6).needs_three_quarters() && !m(9).needs_three_quarters());
    }

    /// Roll: 6 persons, 60000 centi in total; participation exactly at the quorum bound.
    #[test]
    fn full_meeting_abstain_counts_as_participation_never_yes() {
        let input = TallyInput {
            roll_totals: w(60000, 6),
            proposals: vec![
                ProposalSpec { matter: m(5), option_count: 3 },
                ProposalSpec { matter: m(7), option_count: 3 },
            ],
            sheets: vec![
                Sheet { weight: w(10001, 1), choices: vec![0, 0] },
                Sheet { weight: w(10000, 1), choices: vec![0, 0] },
                Sheet { weight: w(9999, 1), choices: vec![2, 0] },
                Sheet { weight: w(10000, 1), choices: vec![0, 1] },
            ],
            served_silent: w(0, 0),
            rules: TallyRules::default(),
        };
        let r = tally(&input).unwrap();
        // Participation: area 10001+10000+9999+10000 = 40000, 4 heads; quorum: 3·40000=120000 ≥ 120000, 12 ≥ 12.
        assert_eq!(r[0].strict.participation, w(40000, 4));
        assert!(r[0].strict.quorum);
        // Proposal 1 (matter 5): yes = 10001+10000+10000 = 30001 centi, 3 heads; abstain (option 2) = 9999, 1.
        assert_eq!(r[0].strict.options, vec![w(30001, 3), w(0, 0), w(9999, 1)]);
        assert!(r[0].strict.passed);
        // Proposal 2 (matter 7): yes = 10001+10000+9999 = 30000 centi, 3 heads; 4·30000 = 120000 ≥ 3·40000 → pass.
        assert_eq!(r[1].strict.options, vec![w(30000, 3), w(10000, 1), w(0, 0)]);
        assert!(r[1].strict.passed);
        assert!(r[0].rule_set.is_none());
    }

    #[test]
    fn matter_7_fails_one_centi_below_three_quarters_while_matter_5_passes() {
        let input = TallyInput {
            roll_totals: w(60000, 6),
            proposals: vec![
                ProposalSpec { matter: m(5), option_count: 3 },
                ProposalSpec { matter: m(7), option_count: 3 },
            ],
            sheets: vec![
                Sheet { weight: w(10000, 1), choices: vec![0, 0] },
                Sheet { weight: w(10000, 1), choices: vec![0, 0] },
                Sheet { weight: w(9999, 1), choices: vec![0, 0] },
                Sheet { weight: w(10001, 1), choices: vec![1, 1] },
            ],
            served_silent: w(0, 0),
            rules: TallyRules::default(),
        };
        let r = tally(&input).unwrap();
        // yes 29999 centi / part 40000: 4·29999 = 119996 < 120000 → matter 7 fails; 2·29999 > 40000 → matter 5 passes.
        assert_eq!(r[1].strict.options[0], w(29999, 3));
        assert!(!r[1].strict.passed);
        assert!(r[0].strict.passed);
    }

    #[test]
    fn no_quorum_no_pass_even_when_all_say_yes() {
        let input = TallyInput {
            roll_totals: w(30000, 3),
            proposals: vec![ProposalSpec { matter: m(5), option_count: 2 }],
            // 3·19999 = 59997 < 60000.
            sheets: vec![Sheet { weight: w(19999, 2), choices: vec![0] }],
            served_silent: w(0, 0),
            rules: TallyRules::default(),
        };
        let r = tally(&input).unwrap();
        assert!(!r[0].strict.quorum && !r[0].strict.passed);
    }

    #[test]
    fn served_silent_counts_as_participating_brings_quorum_but_never_yes() {
        // Roll 30000/3. One sheet 10000/1 yes: strict quorum fails (30000 < 60000).
        // Silent 10000/1 participating: part 20000/2 → 60000 ≥ 60000, 6 ≥ 6 quorum; yes 10000 of 20000:
        // 2·10000 > 20000 false → fails.
        let input = TallyInput {
            roll_totals: w(30000, 3),
            proposals: vec![ProposalSpec { matter: m(9), option_count: 3 }],
            sheets: vec![Sheet { weight: w(10000, 1), choices: vec![0] }],
            served_silent: w(10000, 1),
            rules: TallyRules { silent_counts_as_participating: true, silent_follows_majority: false },
        };
        let r = tally(&input).unwrap();
        assert!(!r[0].strict.quorum);
        let rs = r[0].rule_set.clone().unwrap();
        assert_eq!(rs.participation, w(20000, 2));
        assert!(rs.quorum && !rs.passed);
        assert_eq!(rs.options[0], w(10000, 1));
    }

    #[test]
    fn served_silent_follows_a_yes_majority_and_not_a_no_majority() {
        // Sheets: yes 10001/1, no 9999/1 → among sheets yes is 10001 of 20000 (> half) but heads 1 of 2 (not > half)
        // → no majority: silent weight participates without yes.
        let base = TallyInput {
            roll_totals: w(40000, 4),
            proposals: vec![ProposalSpec { matter: m(5), option_count: 2 }],
            sheets: vec![
                Sheet { weight: w(10001, 1), choices: vec![0] },
                Sheet { weight: w(9999, 1), choices: vec![1] },
            ],
            served_silent: w(10000, 1),
            rules: TallyRules { silent_counts_as_participating: false, silent_follows_majority: true },
        };
        let r = tally(&base).unwrap();
        let rs = r[0].rule_set.clone().unwrap();
        assert_eq!(rs.participation, w(30000, 3));
        assert_eq!(rs.options[0], w(10001, 1));
        // Quorum: 3·30000 = 90000 ≥ 80000, 9 ≥ 8; yes 2·10001 > 30000 false → fails.
        assert!(rs.quorum && !rs.passed);

        // Add a third sheet yes 5000/1: sheets yes 15001/2 of 25000/3 → majority on both → silent follows yes.
        let mut more = base.clone();
        more.sheets.push(Sheet { weight: w(5000, 1), choices: vec![0] });
        let r = tally(&more).unwrap();
        let rs = r[0].rule_set.clone().unwrap();
        // yes 15001 + 10000 = 25001, 3 heads; part 25000 + 10000 = 35000, 4 heads; 2·25001 > 35000, 6 > 4 → pass.
        assert_eq!(rs.options[0], w(25001, 3));
        assert_eq!(rs.participation, w(35000, 4));
        assert!(rs.quorum && rs.passed);
        // Strict: part 25000/3 of 40000/4: 75000 < 80000 → no quorum.
        assert!(!r[0].strict.quorum);
    }

    #[test]
    fn served_silent_is_the_served_roll_entries_without_a_sheet() {
        let own = |n: u128| Caster { account: uuid::Uuid::from_u128(n), proxy: None };
        let (a, b, c) = (own(1), own(2), own(3));
        // Account 1 also holds a written proxy for k5.
        let a_for_k5 = Caster { account: uuid::Uuid::from_u128(1), proxy: Some(uuid::Uuid::from_u128(50)) };
        let roll = [
            RollWeight { key: "k1".into(), weight: w(8000, 1), voter: Some(a) },
            RollWeight { key: "k2".into(), weight: w(9000, 1), voter: Some(b) },
            RollWeight { key: "k3".into(), weight: w(7000, 1), voter: Some(c) },
            RollWeight { key: "k4".into(), weight: w(5000, 1), voter: None },
            RollWeight { key: "k5".into(), weight: w(3000, 1), voter: Some(a_for_k5) },
        ];
        let served: std::collections::BTreeSet<String> = ["k1", "k2", "k4", "k5"].map(String::from).into();
        // a voted for itself only: k1 counts through the sheet, k5 (served, its proxy sheet not cast) is silent.
        // b silent and served. c silent, not served. k4 has no voter, served.
        let voted = std::collections::BTreeSet::from([a]);
        assert_eq!(served_silent(&roll, &served, &voted), w(17000, 3));
        assert_eq!(served_silent(&roll, &Default::default(), &voted), w(0, 0), "nobody served");
        assert_eq!(served_silent(&roll, &served, &[a, b, c].into()), w(8000, 2), "k4 and the proxy's k5 are left");
        assert_eq!(served_silent(&roll, &served, &[a, b, c, a_for_k5].into()), w(5000, 1), "only the voter-less key");
    }

    #[test]
    fn served_silent_weight_decides_the_rule_set_quorum_at_the_bound() {
        // Roll 30000/3; one sheet 10000/1 yes. Served silent 10000/1 reaches 3·20000 = 2·30000 exactly;
        // 9999/1 falls one centi-m² short.
        let input = |silent: Weight| TallyInput {
            roll_totals: w(30000, 3),
            proposals: vec![ProposalSpec { matter: m(9), option_count: 2 }],
            sheets: vec![Sheet { weight: w(10000, 1), choices: vec![0] }],
            served_silent: silent,
            rules: TallyRules { silent_counts_as_participating: false, silent_follows_majority: true },
        };
        let at = tally(&input(w(10000, 1))).unwrap();
        let rs = at[0].rule_set.clone().unwrap();
        assert!(rs.quorum && rs.passed, "the silent owner follows the unanimous yes");
        assert_eq!(rs.options[0], w(20000, 2));
        let short = tally(&input(w(9999, 1))).unwrap();
        assert!(!short[0].rule_set.clone().unwrap().quorum);
        assert!(!at[0].strict.quorum, "the strict tally never counts the silent");
    }

    #[test]
    fn malformed_input_is_refused() {
        let mut input = TallyInput {
            roll_totals: w(100, 1),
            proposals: vec![ProposalSpec { matter: m(1), option_count: 2 }],
            sheets: vec![Sheet { weight: w(100, 1), choices: vec![2] }],
            served_silent: w(0, 0),
            rules: TallyRules::default(),
        };
        assert!(matches!(tally(&input), Err(TallyError::NoSuchOption { option: 2, .. })));
        input.sheets[0].choices = vec![0, 0];
        assert!(matches!(tally(&input), Err(TallyError::ChoiceCount { got: 2, want: 1, .. })));
        input.sheets[0].choices = vec![0];
        input.sheets[0].weight = w(-1, 1);
        assert_eq!(tally(&input), Err(TallyError::NegativeWeight));
    }
}
