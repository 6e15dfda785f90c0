//! The tally of an owners' meeting (Civil Code art. 278; DESIGN §5 "Law") as a pure function.
//!
//! A sheet carries one choice per **ballot line**: a yes/no proposal is one line, an election one line per
//! candidate; every line has the same three options, owned by the server: yes, no, abstain ([`YES`], [`NO`],
//! [`ABSTAIN`]). Per line, per option: the sum of area (centi-m²) and headcount of the sheets that chose it.
//! Participation = every sheet (abstention and "no" participate, only yes is yes).
//! - Quorum (every matter): `3·area_part ≥ 2·area_total ∧ 3·heads_part ≥ 2·heads_total`.
//! - Matters 6–8: `4·yes ≥ 3·part` on area and on heads ("四分之三以上" includes the bound).
//! - Other matters: `2·yes > part` on area and on heads ("过半数" is strict).
//! - An election of `seats`: each candidate is decided like a yes/no line of the matter; the passing candidates
//!   are ranked by yes area, then yes heads; a candidate is elected when it and every candidate ranked with or
//!   above it fit into the seats; candidates tied across the last seat are reported tied, none elected.
//!
//! Exact integer cross-multiplication in i128, no division, no floats.
//!
//! **Rule-set tally** (per-meeting flags of a community's rules of procedure, only for owners on the roll who
//! had a designated caster, were served notice and are covered by no sheet — "served but silent"):
//! - `silent_counts_as_participating`: their weight joins the participation (like an abstention: never yes).
//! - `silent_follows_majority`: their weight joins the participation and goes to yes exactly when the returned
//!   sheets decide yes under the matter's own threshold on both axes (the quorum aside: reaching it is what the
//!   clause is for); when the voters' decision is "not passed" it joins the participation without yes.
//!   Following the voters implies participating.
//!
//! **The binding tally** is the rule-set tally when a flag is set, the strict tally (sheets only) otherwise; the
//! contract computes both and registers fund plans by the binding one.

use serde::Serialize;
use utoipa::ToSchema;

/// The options of every ballot line (the contract's `OPTION_*`).
pub const YES: u8 = 0;
pub const NO: u8 = 1;
pub const ABSTAIN: u8 = 2;
pub const OPTIONS: u8 = 3;
/// The labels of the three options, in option order; the committee writes only the text of a proposal.
pub const OPTION_LABELS: [&str; 3] = ["同意", "反对", "弃权"];

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

    pub fn add(&mut self, other: Weight) {
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

    /// The contract's `tallyRules` bits (`RULE_SILENT_PARTICIPATES` = 1, `RULE_SILENT_FOLLOWS` = 2).
    pub fn chain_bits(self) -> u8 {
        u8::from(self.silent_counts_as_participating) | (u8::from(self.silent_follows_majority) << 1)
    }
}

/// What a proposal asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProposalKind {
    /// One yes/no/abstain question.
    YesNo,
    /// `seats` among `candidates`, each candidate its own yes/no/abstain line.
    Election { candidates: u8, seats: u8 },
}

impl ProposalKind {
    /// How many ballot lines the proposal has.
    pub fn lines(self) -> usize {
        match self {
            Self::YesNo => 1,
            Self::Election { candidates, .. } => usize::from(candidates),
        }
    }
}

/// One proposal as the tally sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalSpec {
    pub matter: Matter,
    pub kind: ProposalKind,
}

/// One ballot sheet: the voter's weight and one option per ballot line (proposals in order, an election's
/// candidates in order).
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
    /// Sum of the weights of the served-but-silent roll keys (see [`silence`]).
    pub served_silent: Weight,
    pub rules: TallyRules,
}

impl TallyInput {
    pub fn line_count(&self) -> usize {
        self.proposals.iter().map(|p| p.kind.lines()).sum()
    }
}

/// The result of one ballot line under one counting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LineTally {
    /// Weight per option: yes, no, abstain.
    pub options: Vec<Weight>,
    pub participation: Weight,
    pub quorum: bool,
    pub passed: bool,
}

/// One ballot line: the strict tally, and the rule-set tally when a flag is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LineResult {
    pub strict: LineTally,
    pub rule_set: Option<LineTally>,
}

impl LineResult {
    /// The tally that decides: the rule-set tally where the rules set a silent flag.
    pub fn binding(&self) -> &LineTally {
        self.rule_set.as_ref().unwrap_or(&self.strict)
    }
}

/// An election's outcome under the binding tally, by candidate position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ElectionOutcome {
    pub seats: u8,
    /// The passing candidates, best first (yes area, then yes heads; equal ones in candidate order).
    pub ranking: Vec<usize>,
    pub elected: Vec<usize>,
    /// Tied across the last seat: none of them elected; the committee decides how the tie is broken.
    pub tied: Vec<usize>,
}

/// The result of one proposal: its lines (one for yes/no), and for an election who is elected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ProposalResult {
    pub lines: Vec<LineResult>,
    pub election: Option<ElectionOutcome>,
}

impl ProposalResult {
    /// A yes/no proposal passed under the binding tally; an election "passes" when it filled a seat.
    pub fn passed(&self) -> bool {
        match &self.election {
            None => self.lines.first().is_some_and(|l| l.binding().passed),
            Some(e) => !e.elected.is_empty(),
        }
    }
}

/// Why a tally could not be computed (input that the handlers must never let through).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TallyError {
    #[error("sheet {sheet} has {got} choices for {want} ballot lines")]
    ChoiceCount { sheet: usize, got: usize, want: usize },
    #[error("sheet {sheet} chose option {option} on line {line}; lines have {OPTIONS} options")]
    NoSuchOption { sheet: usize, line: usize, option: u8 },
    #[error("a weight is negative")]
    NegativeWeight,
    #[error("proposal {0}: an election needs 1 to its candidates' number of seats")]
    Seats(usize),
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

fn decide(matter: Matter, options: Vec<Weight>, participation: Weight, total: Weight) -> LineTally {
    let q = quorum(participation, total);
    let yes = options[usize::from(YES)];
    let passed = q && yes_threshold_met(matter, yes, participation);
    LineTally { options, participation, quorum: q, passed }
}

/// One line under both countings.
fn decide_line(input: &TallyInput, matter: Matter, options: Vec<Weight>, participation: Weight) -> LineResult {
    let strict = decide(matter, options.clone(), participation, input.roll_totals);
    let rule_set = input.rules.any().then(|| {
        let mut options = options;
        let mut part = participation;
        part.add(input.served_silent);
        // The voters' decision: what the returned sheets decide under the matter's own threshold.
        let voters_decide_yes = yes_threshold_met(matter, options[usize::from(YES)], participation);
        if input.rules.silent_follows_majority && voters_decide_yes {
            options[usize::from(YES)].add(input.served_silent);
        }
        decide(matter, options, part, input.roll_totals)
    });
    LineResult { strict, rule_set }
}

/// Ranks an election's candidates (see the module documentation).
pub fn elect(seats: u8, candidates: &[LineResult]) -> ElectionOutcome {
    let yes = |c: usize| {
        let w = candidates[c].binding().options[usize::from(YES)];
        (w.area_centi_m2, w.heads)
    };
    let mut ranking: Vec<usize> = (0..candidates.len()).filter(|&c| candidates[c].binding().passed).collect();
    // Stable: equal candidates stay in candidate order.
    ranking.sort_by_key(|&c| std::cmp::Reverse(yes(c)));
    let (mut elected, mut tied) = (Vec::new(), Vec::new());
    for &c in &ranking {
        let above = ranking.iter().filter(|&&d| yes(d) > yes(c)).count();
        let level = ranking.iter().filter(|&&d| d != c && yes(d) == yes(c)).count();
        if above + level < usize::from(seats) {
            elected.push(c);
        } else if above < usize::from(seats) {
            tied.push(c);
        }
    }
    ElectionOutcome { seats, ranking, elected, tied }
}

/// Tallies every proposal of a meeting.
pub fn tally(input: &TallyInput) -> Result<Vec<ProposalResult>, TallyError> {
    let negative = |w: Weight| w.area_centi_m2 < 0 || w.heads < 0;
    if negative(input.roll_totals) || negative(input.served_silent) || input.sheets.iter().any(|s| negative(s.weight)) {
        return Err(TallyError::NegativeWeight);
    }
    for (i, p) in input.proposals.iter().enumerate() {
        if let ProposalKind::Election { candidates, seats } = p.kind
            && (seats == 0 || seats > candidates)
        {
            return Err(TallyError::Seats(i));
        }
    }
    let want = input.line_count();
    let mut per_line = vec![vec![Weight::default(); usize::from(OPTIONS)]; want];
    let mut participation = Weight::default();
    for (i, sheet) in input.sheets.iter().enumerate() {
        if sheet.choices.len() != want {
            return Err(TallyError::ChoiceCount { sheet: i, got: sheet.choices.len(), want });
        }
        for (line, &choice) in sheet.choices.iter().enumerate() {
            let slot = per_line[line]
                .get_mut(usize::from(choice))
                .ok_or(TallyError::NoSuchOption { sheet: i, line, option: choice })?;
            slot.add(sheet.weight);
        }
        participation.add(sheet.weight);
    }
    let mut lines = per_line.into_iter();
    let results = input
        .proposals
        .iter()
        .map(|spec| {
            let decided: Vec<LineResult> = lines
                .by_ref()
                .take(spec.kind.lines())
                .map(|options| decide_line(input, spec.matter, options, participation))
                .collect();
            let election = match spec.kind {
                ProposalKind::YesNo => None,
                ProposalKind::Election { seats, .. } => Some(elect(seats, &decided)),
            };
            ProposalResult { lines: decided, election }
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

/// Who is silent on a frozen roll, and who could not have voted at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Silence {
    /// The served-but-silent weight of the rule-set tally.
    pub weight: Weight,
    /// Their roll keys, sorted (the chain records a root over them; the result publishes them).
    pub keys: Vec<String>,
    /// Roll keys with no designated caster on the frozen roll (e.g. an owner whose binding was reset between
    /// publication and the freeze): nobody could vote for them, so they are never silent, only reported.
    pub without_caster: Vec<String>,
    pub without_caster_weight: Weight,
}

/// Silent means: the key had a designated caster on the frozen roll, was served, and no live sheet covers it
/// (a sheet of its caster, own or through its proxy). A key without a caster is reported, never weighted.
pub fn silence(
    roll: &[RollWeight],
    served: &std::collections::BTreeSet<String>,
    voted: &std::collections::BTreeSet<Caster>,
) -> Silence {
    let mut out = Silence::default();
    for e in roll {
        match e.voter {
            None => {
                out.without_caster.push(e.key.clone());
                out.without_caster_weight.add(e.weight);
            }
            Some(caster) if !voted.contains(&caster) && served.contains(&e.key) => {
                out.keys.push(e.key.clone());
                out.weight.add(e.weight);
            }
            Some(_) => {}
        }
    }
    out.keys.sort();
    out.without_caster.sort();
    out
}

/// The chain's `servedSilentRoot`: `sha256("linli-served-silent-v1" ‖ (be32(len) ‖ key)…)` over the sorted keys.
pub fn served_silent_root(keys: &[String]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut sorted: Vec<&String> = keys.iter().collect();
    sorted.sort();
    let mut h = Sha256::new();
    h.update(b"linli-served-silent-v1");
    for k in sorted {
        h.update(u32::try_from(k.len()).unwrap_or(u32::MAX).to_be_bytes());
        h.update(k.as_bytes());
    }
    h.finalize().into()
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
    fn yes_no(n: u8) -> ProposalSpec {
        ProposalSpec { matter: m(n), kind: ProposalKind::YesNo }
    }
    fn sheet(area: i64, heads: i64, choices: Vec<u8>) -> Sheet {
        Sheet { weight: w(area, heads), choices }
    }
    fn input(total: Weight, proposals: Vec<ProposalSpec>, sheets: Vec<Sheet>) -> TallyInput {
        TallyInput { roll_totals: total, proposals, sheets, served_silent: w(0, 0), rules: TallyRules::default() }
    }
    const FOLLOW: TallyRules = TallyRules { silent_counts_as_participating: false, silent_follows_majority: true };
    const PARTICIPATE: TallyRules = TallyRules { silent_counts_as_participating: true, silent_follows_majority: false };
    /// `n` sheets of one unit (1.00 m², one person) choosing `choice` on a single line.
    fn n_sheets(n: usize, choice: u8) -> Vec<Sheet> {
        (0..n).map(|_| sheet(100, 1, vec![choice])).collect()
    }
    fn only(r: &[ProposalResult]) -> &LineResult {
        &r[0].lines[0]
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
        let r = tally(&input(
            w(60000, 6),
            vec![yes_no(5), yes_no(7)],
            vec![
                sheet(10001, 1, vec![YES, YES]),
                sheet(10000, 1, vec![YES, YES]),
                sheet(9999, 1, vec![ABSTAIN, YES]),
                sheet(10000, 1, vec![YES, NO]),
            ],
        ))
        .unwrap();
        let (p0, p1) = (&r[0].lines[0].strict, &r[1].lines[0].strict);
        // Participation: area 10001+10000+9999+10000 = 40000, 4 heads; quorum: 3·40000=120000 ≥ 120000, 12 ≥ 12.
        assert_eq!(p0.participation, w(40000, 4));
        assert!(p0.quorum);
        // Proposal 1 (matter 5): yes = 10001+10000+10000 = 30001 centi, 3 heads; abstain = 9999, 1.
        assert_eq!(p0.options, vec![w(30001, 3), w(0, 0), w(9999, 1)]);
        assert!(p0.passed && r[0].passed());
        // Proposal 2 (matter 7): yes = 10001+10000+9999 = 30000 centi, 3 heads; 4·30000 = 120000 ≥ 3·40000 → pass.
        assert_eq!(p1.options, vec![w(30000, 3), w(10000, 1), w(0, 0)]);
        assert!(p1.passed);
        assert!(r[0].lines[0].rule_set.is_none() && r[0].election.is_none());
    }

    #[test]
    fn matter_7_fails_one_centi_below_three_quarters_while_matter_5_passes() {
        let r = tally(&input(
            w(60000, 6),
            vec![yes_no(5), yes_no(7)],
            vec![
                sheet(10000, 1, vec![YES, YES]),
                sheet(10000, 1, vec![YES, YES]),
                sheet(9999, 1, vec![YES, YES]),
                sheet(10001, 1, vec![NO, NO]),
            ],
        ))
        .unwrap();
        // yes 29999 centi / part 40000: 4·29999 = 119996 < 120000 → matter 7 fails; 2·29999 > 40000 → matter 5 passes.
        assert_eq!(r[1].lines[0].strict.options[0], w(29999, 3));
        assert!(!r[1].passed());
        assert!(r[0].passed());
    }

    #[test]
    fn no_quorum_no_pass_even_when_all_say_yes() {
        // 3·19999 = 59997 < 60000.
        let r = tally(&input(w(30000, 3), vec![yes_no(5)], vec![sheet(19999, 2, vec![YES])])).unwrap();
        assert!(!only(&r).strict.quorum && !r[0].passed());
    }

    /// Item 1 of issue 24: the labels are the server's, so no ordering of the committee's words can turn "反对"
    /// into yes. 80 of 90 choosing 同意 pass, 80 of 90 choosing 反对 fail.
    #[test]
    fn yes_is_the_servers_yes_whatever_the_text() {
        assert_eq!(OPTION_LABELS[usize::from(YES)], "同意");
        let mut sheets = n_sheets(80, YES);
        sheets.extend(n_sheets(5, NO));
        sheets.extend(n_sheets(5, ABSTAIN));
        let r = tally(&input(w(9000, 90), vec![yes_no(9)], sheets.clone())).unwrap();
        assert!(r[0].passed());
        let swap = |c: u8| match c {
            YES => NO,
            NO => YES,
            other => other,
        };
        let flipped: Vec<Sheet> = sheets.into_iter().map(|s| sheet(s.weight.area_centi_m2, s.weight.heads, vec![swap(s.choices[0])])).collect();
        assert!(!tally(&input(w(9000, 90), vec![yes_no(9)], flipped)).unwrap()[0].passed());
    }

    /// Item 1: an election 张三/李四/王五 for one seat; 李四 has 60 of 100 yes and is elected (with options as
    /// candidates, as before, nobody but option 0 could ever pass).
    #[test]
    fn an_election_decides_each_candidate_and_elects_the_best_passing_ones() {
        let kind = ProposalKind::Election { candidates: 3, seats: 1 };
        let mut sheets = Vec::new();
        // 60 owners: no on 张三, yes on 李四, abstain on 王五. 40 owners: yes on 张三, no on 李四, no on 王五.
        sheets.extend((0..60).map(|_| sheet(100, 1, vec![NO, YES, ABSTAIN])));
        sheets.extend((0..40).map(|_| sheet(100, 1, vec![YES, NO, NO])));
        let r = tally(&input(w(10000, 100), vec![ProposalSpec { matter: m(3), kind }], sheets)).unwrap();
        let e = r[0].election.as_ref().unwrap();
        assert_eq!(r[0].lines.len(), 3);
        assert_eq!(r[0].lines[1].strict.options[0], w(6000, 60));
        assert!(!r[0].lines[0].strict.passed && r[0].lines[1].strict.passed && !r[0].lines[2].strict.passed);
        assert_eq!((e.ranking.clone(), e.elected.clone(), e.tied.clone()), (vec![1], vec![1], vec![]));
        assert!(r[0].passed());
    }

    /// Two seats, three passing candidates: the two best are elected; with the second and third equal on area
    /// and heads, only the first is elected and the other two are reported tied. Heads break an area tie.
    #[test]
    fn election_ranking_ties_across_the_last_seat_are_reported_not_elected() {
        let kind = ProposalKind::Election { candidates: 3, seats: 2 };
        let run = |sheets: Vec<Sheet>| {
            let r = tally(&input(w(1000, 10), vec![ProposalSpec { matter: m(3), kind }], sheets)).unwrap();
            r[0].election.clone().unwrap()
        };
        // 10 owners of 1.00 m². Yes counts: A 9, B 7, C 6 → all pass, A and B elected.
        let mut s: Vec<Sheet> = (0..10).map(|i| sheet(100, 1, vec![u8::from(i >= 9), u8::from(i >= 7), u8::from(i >= 6)])).collect();
        let e = run(s.clone());
        assert_eq!((e.ranking, e.elected, e.tied), (vec![0, 1, 2], vec![0, 1], vec![]));
        // C gains one yes: B and C both 7, A elected, B and C tied for the second seat.
        s[6].choices[2] = YES;
        let e = run(s.clone());
        assert_eq!(e.elected, vec![0]);
        assert_eq!(e.tied, vec![1, 2]);
        // Same yes area, different heads: one owner of 2.00 m² (1 head) instead of two of 1.00 m².
        let mut heads = vec![sheet(200, 1, vec![YES, NO, YES])];
        heads.extend((0..2).map(|_| sheet(100, 1, vec![YES, YES, NO])));
        heads.extend((0..6).map(|_| sheet(100, 1, vec![YES, YES, YES])));
        // Yes: A 10.00 m²/9, B 8.00/8, C 8.00/7 → seats 2: A, B; C below.
        let e = tally(&input(w(1000, 10), vec![ProposalSpec { matter: m(3), kind }], heads)).unwrap()[0].election.clone().unwrap();
        assert_eq!((e.elected, e.tied, e.ranking), (vec![0, 1], vec![], vec![0, 1, 2]));
        // Equal candidates within the seats are all elected.
        let all: Vec<Sheet> = (0..10).map(|_| sheet(100, 1, vec![YES, YES, NO])).collect();
        let e = run(all);
        assert_eq!((e.elected, e.tied), (vec![0, 1], vec![]));
    }

    #[test]
    fn an_election_without_seats_or_with_more_seats_than_candidates_is_refused() {
        for (candidates, seats) in [(3, 0), (2, 3)] {
            let kind = ProposalKind::Election { candidates, seats };
            let r = tally(&input(w(100, 1), vec![ProposalSpec { matter: m(3), kind }], vec![]));
            assert_eq!(r, Err(TallyError::Seats(0)));
        }
    }

    #[test]
    fn served_silent_counts_as_participating_brings_quorum_but_never_yes() {
        // Roll 30000/3. One sheet 10000/1 yes: strict quorum fails (30000 < 60000).
        // Silent 10000/1 participating: part 20000/2 → 60000 ≥ 60000, 6 ≥ 6 quorum; yes 10000 of 20000:
        // 2·10000 > 20000 false → fails.
        let mut i = input(w(30000, 3), vec![yes_no(9)], vec![sheet(10000, 1, vec![YES])]);
        i.served_silent = w(10000, 1);
        i.rules = PARTICIPATE;
        let r = tally(&i).unwrap();
        assert!(!only(&r).strict.quorum);
        let rs = only(&r).rule_set.clone().unwrap();
        assert_eq!(rs.participation, w(20000, 2));
        assert!(rs.quorum && !rs.passed);
        assert_eq!(rs.options[0], w(10000, 1));
        assert_eq!(only(&r).binding(), &rs);
    }

    #[test]
    fn served_silent_follows_a_yes_decision_and_not_a_no_decision() {
        // Sheets: yes 10001/1, no 9999/1 → among sheets yes is 10001 of 20000 (> half) but heads 1 of 2 (not > half)
        // → the voters decide "not passed": silent weight participates without yes.
        let mut base = input(w(40000, 4), vec![yes_no(5)], vec![sheet(10001, 1, vec![YES]), sheet(9999, 1, vec![NO])]);
        base.served_silent = w(10000, 1);
        base.rules = FOLLOW;
        let r = tally(&base).unwrap();
        let rs = only(&r).rule_set.clone().unwrap();
        assert_eq!(rs.participation, w(30000, 3));
        assert_eq!(rs.options[0], w(10001, 1));
        // Quorum: 3·30000 = 90000 ≥ 80000, 9 ≥ 8; yes 2·10001 > 30000 false → fails.
        assert!(rs.quorum && !rs.passed);

        // Add a third sheet yes 5000/1: sheets yes 15001/2 of 25000/3 → the voters decide yes → silent follows.
        let mut more = base.clone();
        more.sheets.push(sheet(5000, 1, vec![YES]));
        let r = tally(&more).unwrap();
        let rs = only(&r).rule_set.clone().unwrap();
        // yes 15001 + 10000 = 25001, 3 heads; part 25000 + 10000 = 35000, 4 heads; 2·25001 > 35000, 6 > 4 → pass.
        assert_eq!(rs.options[0], w(25001, 3));
        assert_eq!(rs.participation, w(35000, 4));
        assert!(rs.quorum && rs.passed && r[0].passed(), "the binding tally is the rule-set's");
        // Strict: part 25000/3 of 40000/4: 75000 < 80000 → no quorum.
        assert!(!only(&r).strict.quorum);
    }

    /// Item 4 of issue 24: matter 7, the voters at 64% yes fail three quarters; the silent do not follow a
    /// simple majority of the sheets into a pass (64 + 36 silent would make 75%... of nothing they chose).
    /// Roll 100 units of 1.00 m²; 67 sheets, 43 yes (64.2%) and 24 no; 33 served and silent.
    #[test]
    fn the_silent_follow_the_voters_decision_under_the_matters_own_threshold() {
        let mut sheets = n_sheets(43, YES);
        sheets.extend(n_sheets(24, NO));
        let mut i = input(w(10000, 100), vec![yes_no(7)], sheets);
        i.served_silent = w(3300, 33);
        i.rules = FOLLOW;
        let r = tally(&i).unwrap();
        let rs = only(&r).rule_set.clone().unwrap();
        // Voters: 4·43 = 172 < 3·67 = 201 → "not passed"; the silent participate, not yes: 43 of 100 → fails.
        assert_eq!(rs.options[0], w(4300, 43));
        assert_eq!(rs.participation, w(10000, 100));
        assert!(rs.quorum && !rs.passed);
        // Under the old rule (a simple majority of the sheets) the silent would have followed: 43 + 33 = 76 of
        // 100 ≥ 3/4 — passed. The other direction: voters at 51 of 67 (76.1%) pass 3/4 and the silent follow.
        let mut sheets = n_sheets(51, YES);
        sheets.extend(n_sheets(16, NO));
        i.sheets = sheets;
        let rs = only(&tally(&i).unwrap()).rule_set.clone().unwrap();
        assert_eq!(rs.options[0], w(8400, 84));
        assert!(rs.passed);
        // A simple-majority matter with the same 43/24 sheets: the voters decide yes and the silent follow.
        i.proposals = vec![yes_no(9)];
        i.sheets = n_sheets(43, YES);
        i.sheets.extend(n_sheets(24, NO));
        let rs = only(&tally(&i).unwrap()).rule_set.clone().unwrap();
        assert_eq!(rs.options[0], w(7600, 76));
        assert!(rs.passed);
    }

    /// The silent follow per election candidate: only onto the candidates the voters elect by the threshold.
    #[test]
    fn in_an_election_the_silent_follow_each_candidates_own_decision() {
        let kind = ProposalKind::Election { candidates: 2, seats: 1 };
        // 60 sheets: 40 yes on A and no on B, 20 the other way; 20 served silent; roll 100.
        let mut sheets: Vec<Sheet> = (0..40).map(|_| sheet(100, 1, vec![YES, NO])).collect();
        sheets.extend((0..20).map(|_| sheet(100, 1, vec![NO, YES])));
        let mut i = input(w(10000, 100), vec![ProposalSpec { matter: m(3), kind }], sheets);
        i.served_silent = w(2000, 20);
        i.rules = FOLLOW;
        let r = tally(&i).unwrap();
        let (a, b) = (r[0].lines[0].binding(), r[0].lines[1].binding());
        assert_eq!((a.options[0], b.options[0]), (w(6000, 60), w(2000, 20)));
        assert!(a.passed && !b.passed);
        assert!(!r[0].lines[0].strict.quorum, "60 of 100 is no quorum without the silent");
        assert_eq!(r[0].election.as_ref().unwrap().elected, vec![0]);
    }

    #[test]
    fn silence_is_the_served_roll_entries_with_a_caster_and_without_a_sheet() {
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
        // b silent and served. c silent, not served. k4 has no caster: reported, never silent.
        let s = silence(&roll, &served, &std::collections::BTreeSet::from([a]));
        assert_eq!((s.weight, s.keys.clone()), (w(12000, 2), vec!["k2".to_owned(), "k5".to_owned()]));
        assert_eq!((s.without_caster, s.without_caster_weight), (vec!["k4".to_owned()], w(5000, 1)));
        assert_eq!(silence(&roll, &Default::default(), &[a].into()).weight, w(0, 0), "nobody served");
        assert_eq!(silence(&roll, &served, &[a, b, c].into()).weight, w(3000, 1), "the proxy's k5 is left");
        assert_eq!(silence(&roll, &served, &[a, b, c, a_for_k5].into()).weight, w(0, 0), "k4 never counts");
    }

    /// Item 3 of issue 24: 66 of 100 vote, 34 yes; one served key had no caster (its owner's binding was reset
    /// between publication and the freeze). Counted as silent it would tip the rule-set to a quorum and a pass.
    #[test]
    fn a_key_nobody_could_vote_for_never_tips_the_rule_set() {
        let owner = |n: u128| Caster { account: uuid::Uuid::from_u128(n), proxy: None };
        let mut roll: Vec<RollWeight> =
            (0..99).map(|n| RollWeight { key: format!("k{n:02}"), weight: w(100, 1), voter: Some(owner(n)) }).collect();
        roll.push(RollWeight { key: "reset".into(), weight: w(100, 1), voter: None });
        let voted: std::collections::BTreeSet<Caster> = (0..66).map(owner).collect();
        let served: std::collections::BTreeSet<String> = roll.iter().map(|e| e.key.clone()).filter(|k| k == "reset").collect();
        let s = silence(&roll, &served, &voted);
        assert_eq!((s.weight, s.without_caster.clone()), (w(0, 0), vec!["reset".to_owned()]));
        let mut sheets = n_sheets(34, YES);
        sheets.extend(n_sheets(32, NO));
        let mut i = input(w(10000, 100), vec![yes_no(9)], sheets);
        i.rules = FOLLOW;
        i.served_silent = s.weight;
        let rs = only(&tally(&i).unwrap()).rule_set.clone().unwrap();
        assert!(!rs.quorum && !rs.passed, "66 of 100: 198 < 200");
        // Had it been counted silent: 67 participate (201 ≥ 200) and it follows the 34-of-66 yes: 35 of 67 pass.
        i.served_silent = w(100, 1);
        let rs = only(&tally(&i).unwrap()).rule_set.clone().unwrap();
        assert!(rs.quorum && rs.passed);
    }

    #[test]
    fn served_silent_weight_decides_the_rule_set_quorum_at_the_bound() {
        // Roll 30000/3; one sheet 10000/1 yes. Served silent 10000/1 reaches 3·20000 = 2·30000 exactly;
        // 9999/1 falls one centi-m² short.
        let with = |silent: Weight| {
            let mut i = input(w(30000, 3), vec![yes_no(9)], vec![sheet(10000, 1, vec![YES])]);
            i.served_silent = silent;
            i.rules = FOLLOW;
            tally(&i).unwrap()
        };
        let at = with(w(10000, 1));
        let rs = only(&at).rule_set.clone().unwrap();
        assert!(rs.quorum && rs.passed, "the silent owner follows the unanimous yes");
        assert_eq!(rs.options[0], w(20000, 2));
        assert!(!only(&with(w(9999, 1))).rule_set.clone().unwrap().quorum);
        assert!(!only(&at).strict.quorum, "the strict tally never counts the silent");
    }

    #[test]
    fn served_silent_root_is_over_the_sorted_keys() {
        let a = served_silent_root(&["b".into(), "a".into()]);
        assert_eq!(a, served_silent_root(&["a".into(), "b".into()]));
        assert_ne!(a, served_silent_root(&["ab".into()]), "length-framed: [a, b] is not [ab]");
        assert_ne!(a, served_silent_root(&[]));
    }

    #[test]
    fn malformed_input_is_refused() {
        let mut i = input(w(100, 1), vec![yes_no(1)], vec![sheet(100, 1, vec![3])]);
        assert!(matches!(tally(&i), Err(TallyError::NoSuchOption { option: 3, .. })));
        i.sheets[0].choices = vec![0, 0];
        assert!(matches!(tally(&i), Err(TallyError::ChoiceCount { got: 2, want: 1, .. })));
        i.sheets[0].choices = vec![0];
        i.sheets[0].weight = w(-1, 1);
        assert_eq!(tally(&i), Err(TallyError::NegativeWeight));
    }
}
