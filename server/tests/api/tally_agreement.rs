//! The server's tally and the contract's decide the same, on random meetings (issue 24): yes/no proposals and
//! elections, every combination of the rule-set flags with a served-but-silent weight, vote changes, and sheets
//! cast through proxies (on chain another voter of the same kind); sheets cover registered roll keys, commit to
//! their choices while voting and are revealed after the window. The contract runs from its committed bytecode in
//! revm, in process; no database is needed.

use alloy_primitives::{Address, B256, Bytes};
use alloy_sol_types::SolCall;
use bcos_devnode::evm::{BlockContext, Executor};
use linli_ledger_client::governance::LinliGovernance;
use linli_ledger_client::governance::role;
use linli_server::governance::domain;
use linli_server::governance::tally::{self, Matter, ProposalKind, ProposalSpec, Sheet, TallyInput, TallyRules, Weight};
use proptest::prelude::*;

const T0: u64 = 1_800_000_000_000;

struct Chain {
    exec: Executor,
    contract: Address,
    block: u64,
    now_ms: u64,
}

const ADMIN: Address = Address::repeat_byte(0xad);
const FORWARDER: Address = Address::repeat_byte(0x01);
const COMMITTEE: Address = Address::repeat_byte(0x02);

impl Chain {
    fn new() -> Self {
        let mut exec = Executor::new();
        let deployed = exec
            .transact(BlockContext { number: 1, timestamp_ms: T0 }, ADMIN, None, LinliGovernance::BYTECODE.clone())
            .unwrap();
        let mut c = Chain { exec, contract: deployed.contract_address.unwrap(), block: 1, now_ms: T0 };
        c.send(ADMIN, LinliGovernance::grantRoleCall { account: FORWARDER, role: role::FORWARDER });
        c.send(ADMIN, LinliGovernance::grantRoleCall { account: COMMITTEE, role: role::COMMITTEE });
        c
    }

    fn send<C: SolCall>(&mut self, from: Address, call: C) {
        self.block += 1;
        let out = self
            .exec
            .transact(BlockContext { number: self.block, timestamp_ms: self.now_ms }, from, Some(self.contract), Bytes::from(call.abi_encode()))
            .unwrap();
        assert!(out.is_success(), "{:?}", linli_ledger_client::governance::decode_error(&out.output));
    }

    fn view<C: SolCall>(&mut self, call: C) -> C::Return {
        let out = self
            .exec
            .call(BlockContext { number: self.block, timestamp_ms: self.now_ms }, Address::repeat_byte(0x99), self.contract, Bytes::from(call.abi_encode()))
            .unwrap();
        C::abi_decode_returns(&out.output).unwrap()
    }
}

/// One random meeting: the roll's keys (area, 1 head each), the proposals, who votes how (and whether they changed
/// their sheet first), the served-but-silent keys among those who did not vote, and the rules.
#[derive(Debug, Clone)]
struct Meeting {
    areas: Vec<u64>,
    proposals: Vec<(u8, ProposalKind)>,
    /// Per key: None = no sheet; Some((first, final)) = the lines of a first sheet replaced by the final one (equal
    /// when the voter did not change).
    votes: Vec<Option<(Vec<u8>, Vec<u8>)>>,
    silent: Vec<bool>,
    rules: TallyRules,
}

fn kind() -> impl Strategy<Value = ProposalKind> {
    prop_oneof![
        2 => Just(ProposalKind::YesNo),
        1 => (1u8..=4).prop_flat_map(|c| (Just(c), 1u8..=c)).prop_map(|(candidates, seats)| ProposalKind::Election { candidates, seats }),
    ]
}

fn meeting() -> impl Strategy<Value = Meeting> {
    let keys = 1usize..=24;
    let proposals = prop::collection::vec((1u8..=9, kind()), 1..=4);
    (keys, proposals, any::<(bool, bool)>(), any::<bool>()).prop_flat_map(|(n, proposals, (participate, follow), small_areas)| {
        let lines: usize = proposals.iter().map(|(_, k)| k.lines()).sum();
        // Small areas from a short list make ties (elections) and exact boundaries likely.
        let area = if small_areas { prop::sample::select(vec![100u64, 200, 300]).boxed() } else { (1u64..=20_000).boxed() };
        let sheet = prop::collection::vec(0u8..3, lines);
        let vote = prop::option::weighted(0.7, (sheet.clone(), sheet, any::<bool>()).prop_map(|(first, last, changed)| {
            if changed { (first, last) } else { (last.clone(), last) }
        }));
        (
            prop::collection::vec(area, n),
            Just(proposals),
            prop::collection::vec(vote, n),
            prop::collection::vec(any::<bool>(), n),
            Just(TallyRules { silent_counts_as_participating: participate, silent_follows_majority: follow }),
        )
            .prop_map(|(areas, proposals, votes, silent, rules)| Meeting { areas, proposals, votes, silent, rules })
    })
}

fn server_tally(m: &Meeting) -> Vec<tally::ProposalResult> {
    let mut served_silent = Weight::default();
    for ((area, vote), silent) in m.areas.iter().zip(&m.votes).zip(&m.silent) {
        if vote.is_none() && *silent {
            served_silent.add(Weight::new(i64::try_from(*area).unwrap(), 1));
        }
    }
    let input = TallyInput {
        roll_totals: Weight::new(i64::try_from(m.areas.iter().sum::<u64>()).unwrap(), i64::try_from(m.areas.len()).unwrap()),
        proposals: m.proposals.iter().map(|(matter, kind)| ProposalSpec { matter: Matter::new(*matter).unwrap(), kind: *kind }).collect(),
        sheets: m
            .areas
            .iter()
            .zip(&m.votes)
            .filter_map(|(area, v)| v.as_ref().map(|(_, last)| Sheet { weight: Weight::new(i64::try_from(*area).unwrap(), 1), choices: last.clone() }))
            .collect(),
        served_silent: if m.rules.any() { served_silent } else { Weight::default() },
        rules: m.rules,
    };
    tally::tally(&input).unwrap()
}

/// Runs the meeting on the contract; returns per line (tally, strict quorum/passed, rule quorum/passed, binding)
/// and per proposal (elected mask, tied mask).
#[allow(clippy::type_complexity)]
fn chain_tally(m: &Meeting) -> (Vec<(Vec<u64>, Vec<u32>, [bool; 5])>, Vec<(u32, u32)>) {
    let mut c = Chain::new();
    let id = B256::repeat_byte(0x42);
    let (start, end) = (T0 + 1_000, T0 + 3_600_000);
    c.send(
        COMMITTEE,
        LinliGovernance::openMeetingCall {
            meetingId: id,
            rollHash: B256::repeat_byte(7),
            totalAreaCm2: m.areas.iter().sum(),
            totalHeads: u32::try_from(m.areas.len()).unwrap(),
            startMs: start,
            endMs: end,
            voteChangeAllowed: true,
            tallyRules: m.rules.chain_bits(),
        },
    );
    for (i, (matter, kind)) in m.proposals.iter().enumerate() {
        let (candidates, seats) = match kind {
            ProposalKind::YesNo => (0, 0),
            ProposalKind::Election { candidates, seats } => (*candidates, *seats),
        };
        let call = LinliGovernance::addProposalCall { meetingId: id, proposalIndex: u8::try_from(i).unwrap(), matter: *matter, contentHash: B256::ZERO, candidates, seats };
        c.send(COMMITTEE, call);
    }
    // The roll: key k (ascending ids) with its area and one head, registered before the window.
    let key = |k: usize| B256::left_padding_from(&(k as u64 + 1).to_be_bytes());
    c.send(
        COMMITTEE,
        LinliGovernance::addRollKeysCall {
            meetingId: id,
            keys: (0..m.areas.len()).map(key).collect(),
            areaCm2: m.areas.clone(),
            heads: vec![1; m.areas.len()],
        },
    );
    c.now_ms = start;
    let mut silent = (0u64, 0u32);
    // Each voter's current sheet: (voter, sheet hash, salt, lines), revealed after the window.
    let mut current = Vec::new();
    for (k, ((area, vote), is_silent)) in m.areas.iter().zip(&m.votes).zip(&m.silent).enumerate() {
        // A voter pseudonym unrelated to the key, as on the server.
        let voter = B256::left_padding_from(&(k as u64 + 1_000).to_be_bytes());
        match vote {
            None if *is_silent => silent = (silent.0 + area, silent.1 + 1),
            None => {}
            Some((first, last)) => {
                let cast = |choices: &Vec<u8>, hash: u8, at: u64| {
                    let sheet_hash = B256::repeat_byte(hash);
                    let salt = B256::left_padding_from(&[hash, u8::try_from(k % 256).unwrap()]);
                    let commitment = domain::sheet_commitment(&id.0, &voter.0, &sheet_hash.0, &salt.0, choices);
                    let call = LinliGovernance::castSheetCall {
                        meetingId: id,
                        voter,
                        keys: vec![key(k)],
                        commitment: commitment.into(),
                        sheetHash: sheet_hash,
                        castAtMs: at,
                    };
                    (call, (voter, salt, choices.clone()))
                };
                let (call, mut sealed) = cast(first, 1, start);
                c.send(FORWARDER, call);
                if first != last {
                    let (call, changed) = cast(last, 2, start + 1);
                    c.send(FORWARDER, call);
                    sealed = changed;
                }
                current.push(sealed);
            }
        }
    }
    c.now_ms = end;
    for (voter, salt, choices) in current {
        c.send(FORWARDER, LinliGovernance::revealSheetCall { meetingId: id, voter, choices: choices.into(), salt });
    }
    if m.rules.any() {
        c.send(FORWARDER, LinliGovernance::recordServedSilentCall { meetingId: id, areaCm2: silent.0, heads: silent.1, servedSilentRoot: B256::ZERO });
    }
    c.send(FORWARDER, LinliGovernance::finalizeCall { meetingId: id });
    let lines = c.view(LinliGovernance::getServedSilentCall { meetingId: id }).lineCount;
    let decided = (0..lines)
        .map(|line| {
            let t = c.view(LinliGovernance::getTallyCall { meetingId: id, line });
            let d = c.view(LinliGovernance::getLineCall { meetingId: id, line });
            (t.areaCm2, t.heads, [d.quorumMet, d.passed, d.ruleQuorumMet, d.rulePassed, d.bindingPassed])
        })
        .collect();
    let elections = (0..m.proposals.len())
        .map(|i| {
            let p = c.view(LinliGovernance::getProposalCall { meetingId: id, proposalIndex: u8::try_from(i).unwrap() });
            (p.electedMask, p.tiedMask)
        })
        .collect();
    (decided, elections)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn the_server_and_the_contract_decide_every_random_meeting_alike(m in meeting()) {
        let server = server_tally(&m);
        let (lines, elections) = chain_tally(&m);
        let server_lines: Vec<&tally::LineResult> = server.iter().flat_map(|p| &p.lines).collect();
        prop_assert_eq!(server_lines.len(), lines.len());
        for (s, (area, heads, d)) in server_lines.iter().zip(&lines) {
            let areas: Vec<u64> = s.strict.options.iter().map(|w| u64::try_from(w.area_centi_m2).unwrap()).collect();
            let counts: Vec<u32> = s.strict.options.iter().map(|w| u32::try_from(w.heads).unwrap()).collect();
            prop_assert_eq!(&areas, area);
            prop_assert_eq!(&counts, heads);
            let rule = s.rule_set.as_ref().map_or((false, false), |r| (r.quorum, r.passed));
            prop_assert_eq!([s.strict.quorum, s.strict.passed, rule.0, rule.1, s.binding().passed], *d);
        }
        let mask = |v: &[usize]| v.iter().fold(0u32, |m, c| m | (1 << c));
        for (s, chain) in server.iter().zip(&elections) {
            let server_masks = s.election.as_ref().map_or((0, 0), |e| (mask(&e.elected), mask(&e.tied)));
            prop_assert_eq!(server_masks, *chain);
        }
    }
}

/// `audit/recount.py` decodes the contract's events by topic on its own (Python has no Keccak): its table must be
/// exactly the Keccak-256 of the signatures, and every signature must be an event of the committed ABI.
#[test]
fn the_recount_scripts_event_topics_are_the_contracts() {
    let script = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../audit/recount.py")).unwrap();
    let abi: serde_json::Value = serde_json::from_str(include_str!("../../../ledger-client/contracts/artifacts/LinliGovernance.json")).unwrap();
    let events: Vec<String> = abi["abi"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "event")
        .map(|e| {
            let types: Vec<&str> = e["inputs"].as_array().unwrap().iter().map(|i| i["type"].as_str().unwrap()).collect();
            format!("{}({})", e["name"].as_str().unwrap(), types.join(","))
        })
        .collect();
    let mut checked = 0;
    for line in script.lines().map(str::trim).filter(|l| l.starts_with('"') && l.contains("\": \"")) {
        let mut parts = line.trim_end_matches(',').split("\": \"");
        let signature = parts.next().unwrap().trim_start_matches('"');
        let topic = parts.next().unwrap().trim_end_matches('"');
        assert!(events.iter().any(|e| e == signature), "{signature} is not an event of the contract");
        assert_eq!(topic, hex::encode(alloy_primitives::keccak256(signature.as_bytes())), "{signature}");
        checked += 1;
    }
    assert_eq!(checked, 9, "the script's TOPICS table");
}
