//! LinliGovernance rules over revm, from the committed bytecode. Every expected value comes from the
//! law as DESIGN §5 states it (quorum 2/3 of area AND headcount; matters 6–8 need 3/4 of the
//! participating area AND headcount; others strictly more than 1/2) computed by hand here.
//!
//! The harness plays committee and forwarder as the server does: each test declares the roll's keys per
//! voter when it opens a meeting (plus one filler key holding the rest of the totals, so that the quorum
//! arithmetic is the test's own), a sheet covers its voter's keys and commits to its choices under a fresh
//! salt the harness remembers, and `finalize` reveals every current sheet (after the window, in cast order)
//! before it finalizes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};

use alloy_primitives::{Address, B256, Bytes, FixedBytes, Log, U256, keccak256};
use alloy_sol_types::{SolCall, SolEvent, SolInterface};
use bcos_devnode::evm::{BlockContext, Executor, Outcome};
use linli_ledger_client::governance::LinliGovernance::{self, LinliGovernanceErrors as E};
use linli_ledger_client::governance::role;

const T0: u64 = 1_700_000_000_000; // a block time in ms

/// The key of the roll holding whatever weight of the totals the test's voters do not hold: above every voter's
/// key, so the ascending registration puts it last; no test voter covers it.
const FILLER_KEY: B256 = B256::repeat_byte(0xff);

/// The `n`-th roll key of test voter `voter`: ordered by voter, then by `n`.
fn roll_key(voter: u8, n: u8) -> B256 {
    B256::left_padding_from(&[0x01, voter, n])
}

/// `keccak256(meetingId ‖ voter ‖ sheetHash ‖ salt ‖ choices)`, the commitment as the contract's NatSpec defines it
/// (abi.encodePacked: four words, then one byte per ballot line).
fn commitment(meeting: B256, voter: B256, sheet_hash: B256, salt: B256, choices: &[u8]) -> B256 {
    let mut packed = Vec::with_capacity(4 * 32 + choices.len());
    for word in [meeting, voter, sheet_hash, salt] {
        packed.extend_from_slice(word.as_slice());
    }
    packed.extend_from_slice(choices);
    keccak256(packed)
}

/// A sheet the forwarder cast and can reveal: what it committed to.
#[derive(Debug, Clone)]
struct SentSheet {
    voter: u8,
    choices: Vec<u8>,
    salt: B256,
    revealed: bool,
}

/// What the harness keeps of one meeting: each voter's roll keys (ascending) and the current sheets, in the
/// order of each voter's first sheet.
#[derive(Default)]
struct MeetingBook {
    keys: BTreeMap<u8, Vec<B256>>,
    sheets: Vec<SentSheet>,
}

struct Chain {
    exec: Executor,
    contract: Address,
    now_ms: u64,
    block: u64,
    admin: Address,
    forwarder: Address,
    committee: Address,
    property: Address,
    bank: Address,
    anchor: Address,
    outsider: Address,
    books: HashMap<B256, MeetingBook>,
    salts_used: u64,
}

fn addr(n: u8) -> Address {
    Address::repeat_byte(n)
}

fn h(n: u8) -> B256 {
    B256::repeat_byte(n)
}

impl Chain {
    fn new() -> Self {
        let mut exec = Executor::new();
        let admin = addr(0xad);
        let deployed = exec
            .transact(
                BlockContext { number: 1, timestamp_ms: T0 },
                admin,
                None,
                LinliGovernance::BYTECODE.clone(),
            )
            .unwrap();
        assert!(deployed.is_success(), "deploy failed: {deployed:?}");
        let mut chain = Chain {
            exec,
            contract: deployed.contract_address.unwrap(),
            now_ms: T0,
            block: 1,
            admin,
            forwarder: addr(0x01),
            committee: addr(0x02),
            property: addr(0x03),
            bank: addr(0x04),
            anchor: addr(0x05),
            outsider: addr(0x99),
            books: HashMap::new(),
            salts_used: 0,
        };
        for (account, r) in [
            (chain.forwarder, role::FORWARDER),
            (chain.committee, role::COMMITTEE),
            (chain.property, role::PROPERTY),
            (chain.bank, role::BANK),
            (chain.anchor, role::ANCHOR),
        ] {
            chain.ok(admin, LinliGovernance::grantRoleCall { account, role: r });
        }
        chain
    }

    fn send<C: SolCall>(&mut self, from: Address, call: C) -> Outcome {
        self.block += 1;
        self.exec
            .transact(
                BlockContext { number: self.block, timestamp_ms: self.now_ms },
                from,
                Some(self.contract),
                Bytes::from(call.abi_encode()),
            )
            .unwrap()
    }

    fn ok<C: SolCall>(&mut self, from: Address, call: C) -> Vec<Log> {
        let out = self.send(from, call);
        assert!(out.is_success(), "expected success, got {:?}", decode_err(&out));
        out.logs
    }

    fn err<C: SolCall>(&mut self, from: Address, call: C) -> E {
        let out = self.send(from, call);
        assert_eq!(out.status, 16, "expected a revert (status 16), got {out:?}");
        decode_err(&out).expect("custom error")
    }

    fn view<C: SolCall>(&mut self, call: C) -> C::Return {
        let out = self
            .exec
            .call(
                BlockContext { number: self.block, timestamp_ms: self.now_ms },
                self.outsider,
                self.contract,
                Bytes::from(call.abi_encode()),
            )
            .unwrap();
        assert!(out.is_success(), "view failed: {:?}", decode_err(&out));
        C::abi_decode_returns(&out.output).unwrap()
    }

    /// Opens meeting `id` starting in one second and lasting one hour, and registers its roll: one key per
    /// `(voter, area, heads)` entry (a voter named twice holds two keys) and the filler key for the rest.
    fn open(&mut self, id: B256, total_area: u64, total_heads: u32, roll: &[(u8, u64, u32)]) -> (u64, u64) {
        self.open_with(id, total_area, total_heads, false, roll)
    }

    fn open_with(&mut self, id: B256, total_area: u64, total_heads: u32, vote_change_allowed: bool, roll: &[(u8, u64, u32)]) -> (u64, u64) {
        self.open_ruled(id, total_area, total_heads, vote_change_allowed, 0, roll)
    }

    /// As `open`, with the given `tallyRules` bits (RULE_SILENT_PARTICIPATES = 1, RULE_SILENT_FOLLOWS = 2).
    fn open_ruled(
        &mut self,
        id: B256,
        total_area: u64,
        total_heads: u32,
        vote_change_allowed: bool,
        tally_rules: u8,
        roll: &[(u8, u64, u32)],
    ) -> (u64, u64) {
        let window = self.open_unregistered(id, total_area, total_heads, vote_change_allowed, tally_rules);
        self.register_roll(id, total_area, total_heads, roll);
        window
    }

    /// Opens meeting `id` (starting in one second, lasting one hour) without registering any roll key.
    fn open_unregistered(&mut self, id: B256, total_area: u64, total_heads: u32, vote_change_allowed: bool, tally_rules: u8) -> (u64, u64) {
        let (start, end) = (self.now_ms + 1_000, self.now_ms + 3_600_000);
        self.ok(
            self.committee,
            LinliGovernance::openMeetingCall {
                meetingId: id,
                rollHash: h(0x77),
                totalAreaCm2: total_area,
                totalHeads: total_heads,
                startMs: start,
                endMs: end,
                voteChangeAllowed: vote_change_allowed,
                tallyRules: tally_rules,
            },
        );
        self.books.insert(id, MeetingBook::default());
        (start, end)
    }

    /// Registers `roll` (see `open`) in one batch, the filler key taking the rest of the totals.
    fn register_roll(&mut self, id: B256, total_area: u64, total_heads: u32, roll: &[(u8, u64, u32)]) {
        let book = self.books.get_mut(&id).expect("meeting opened by the harness");
        let mut entries = Vec::new();
        for &(voter, area, heads) in roll {
            let keys = book.keys.entry(voter).or_default();
            let key = roll_key(voter, u8::try_from(keys.len()).unwrap());
            keys.push(key);
            entries.push((key, area, heads));
        }
        let area: u64 = entries.iter().map(|e| e.1).sum();
        let heads: u32 = entries.iter().map(|e| e.2).sum();
        let (rest_area, rest_heads) = (total_area.checked_sub(area).expect("roll within the totals"), total_heads.checked_sub(heads).expect("roll within the totals"));
        if rest_area > 0 || rest_heads > 0 {
            entries.push((FILLER_KEY, rest_area, rest_heads));
        }
        entries.sort();
        self.ok(
            self.committee,
            LinliGovernance::addRollKeysCall {
                meetingId: id,
                keys: entries.iter().map(|e| e.0).collect(),
                areaCm2: entries.iter().map(|e| e.1).collect(),
                heads: entries.iter().map(|e| e.2).collect(),
            },
        );
    }

    /// A yes/no proposal.
    fn propose(&mut self, id: B256, index: u8, matter: u8) {
        self.propose_election(id, index, matter, 0, 0);
    }

    /// An election of `seats` among `candidates` (0, 0: a yes/no proposal).
    fn propose_election(&mut self, id: B256, index: u8, matter: u8, candidates: u8, seats: u8) {
        self.ok(
            self.committee,
            LinliGovernance::addProposalCall { meetingId: id, proposalIndex: index, matter, contentHash: h(0x40 + index), candidates, seats },
        );
    }

    /// The roll keys the harness registered for `voter` in meeting `id`, ascending.
    fn keys_of(&self, id: B256, voter: u8) -> Vec<B256> {
        self.books[&id].keys.get(&voter).cloned().unwrap_or_else(|| panic!("voter {voter} holds no key of the roll"))
    }

    /// A sheet forwarded the moment it was accepted: its stated time is the block's.
    fn cast(&mut self, id: B256, voter: u8, choices: Vec<u8>) -> Outcome {
        self.cast_at(id, voter, choices, self.now_ms)
    }

    /// A sheet the server accepted at `cast_at_ms`, reaching the chain at the current block time.
    fn cast_at(&mut self, id: B256, voter: u8, choices: Vec<u8>, cast_at_ms: u64) -> Outcome {
        self.cast_hashed(id, voter, choices, h(voter ^ 0x80), cast_at_ms)
    }

    /// A sheet with its own hash: a change needs a hash other than the sheet it replaces.
    fn cast_hashed(&mut self, id: B256, voter: u8, choices: Vec<u8>, hash: B256, cast_at_ms: u64) -> Outcome {
        let keys = self.keys_of(id, voter);
        self.cast_keys(id, voter, keys, choices, hash, cast_at_ms)
    }

    /// A sheet covering exactly `keys`, committed to `choices` under a fresh salt; remembered (as the voter's
    /// current sheet) when the contract accepts it.
    fn cast_keys(&mut self, id: B256, voter: u8, keys: Vec<B256>, choices: Vec<u8>, hash: B256, cast_at_ms: u64) -> Outcome {
        self.salts_used += 1;
        let salt = keccak256(self.salts_used.to_be_bytes());
        let call = LinliGovernance::castSheetCall {
            meetingId: id,
            voter: h(voter),
            keys,
            commitment: commitment(id, h(voter), hash, salt, &choices),
            sheetHash: hash,
            castAtMs: cast_at_ms,
        };
        let out = self.send(self.forwarder, call);
        if out.is_success() {
            let sheet = SentSheet { voter, choices, salt, revealed: false };
            let book = self.books.get_mut(&id).unwrap();
            match book.sheets.iter_mut().find(|s| s.voter == voter) {
                Some(current) => *current = sheet,
                None => book.sheets.push(sheet),
            }
        }
        out
    }

    /// The current sheet the harness cast for `voter`.
    fn sent(&self, id: B256, voter: u8) -> SentSheet {
        self.books[&id].sheets.iter().find(|s| s.voter == voter).cloned().unwrap_or_else(|| panic!("no sheet of voter {voter}"))
    }

    /// Reveals `voter`'s current sheet with the choices and salt it was committed to.
    fn reveal(&mut self, id: B256, voter: u8) -> Outcome {
        let sheet = self.sent(id, voter);
        let out = self.reveal_with(id, h(voter), sheet.choices, sheet.salt);
        if out.is_success() {
            let book = self.books.get_mut(&id).unwrap();
            book.sheets.iter_mut().find(|s| s.voter == voter).unwrap().revealed = true;
        }
        out
    }

    fn reveal_with(&mut self, id: B256, voter: B256, choices: Vec<u8>, salt: B256) -> Outcome {
        self.send(self.forwarder, LinliGovernance::revealSheetCall { meetingId: id, voter, choices: Bytes::from(choices), salt })
    }

    /// Reveals every current sheet not yet revealed, in cast order, as the server does after the window.
    fn reveal_all(&mut self, id: B256) {
        let voters: Vec<u8> = self.books[&id].sheets.iter().filter(|s| !s.revealed).map(|s| s.voter).collect();
        for voter in voters {
            let out = self.reveal(id, voter);
            assert!(out.is_success(), "reveal of voter {voter} refused: {:?}", decode_err(&out));
        }
    }

    /// Reveals every current sheet, then finalizes (the window must have closed); returns finalize's logs.
    fn finalize(&mut self, id: B256) -> Vec<Log> {
        self.reveal_all(id);
        self.ok(self.forwarder, LinliGovernance::finalizeCall { meetingId: id })
    }

    fn tallies(&mut self, id: B256, lines: u8) -> Vec<(Vec<u64>, Vec<u32>)> {
        (0..lines)
            .map(|line| {
                let t = self.view(LinliGovernance::getTallyCall { meetingId: id, line });
                (t.areaCm2, t.heads)
            })
            .collect()
    }

    fn proposal(&mut self, id: B256, index: u8) -> LinliGovernance::getProposalReturn {
        self.view(LinliGovernance::getProposalCall { meetingId: id, proposalIndex: index })
    }

    /// The decisions of ballot line `line` (a yes/no proposal's index when every proposal is yes/no).
    fn line(&mut self, id: B256, line: u8) -> LinliGovernance::getLineReturn {
        self.view(LinliGovernance::getLineCall { meetingId: id, line })
    }

    fn sheet(&mut self, id: B256, voter: u8) -> LinliGovernance::getSheetReturn {
        self.view(LinliGovernance::getSheetCall { meetingId: id, voter: h(voter) })
    }

    fn roll_key(&mut self, id: B256, key: B256) -> LinliGovernance::getRollKeyReturn {
        self.view(LinliGovernance::getRollKeyCall { meetingId: id, key })
    }
}

fn decode_err(out: &Outcome) -> Option<E> {
    E::abi_decode(&out.output).ok()
}

/// Every option of every line at zero: what `tallies` reads before any reveal.
fn zero_tallies(lines: usize) -> Vec<(Vec<u64>, Vec<u32>)> {
    vec![(vec![0, 0, 0], vec![0, 0, 0]); lines]
}

/// One meeting, one proposal of `matter` with options yes/no/abstain, the given sheets
/// (area, heads, choice) each of its own voter and roll key, revealed and finalized; returns (quorumMet, passed).
fn decide(total_area: u64, total_heads: u32, matter: u8, sheets: &[(u64, u32, u8)]) -> (bool, bool) {
    let mut c = Chain::new();
    let id = h(0x10);
    let roll: Vec<_> = sheets.iter().enumerate().map(|(i, &(area, heads, _))| (i as u8 + 1, area, heads)).collect();
    let (start, end) = c.open(id, total_area, total_heads, &roll);
    c.propose(id, 0, matter);
    c.now_ms = start;
    for (i, &(_, _, choice)) in sheets.iter().enumerate() {
        let out = c.cast(id, i as u8 + 1, vec![choice]);
        assert!(out.is_success(), "sheet {i} refused: {:?}", decode_err(&out));
    }
    c.now_ms = end;
    c.finalize(id);
    let p = c.line(id, 0);
    (p.quorumMet, p.passed)
}

const YES: u8 = 0;
const NO: u8 = 1;
const ABSTAIN: u8 = 2;

// ------------------------------------------------------------------ quorum (2/3 of area AND heads)

#[test]
fn quorum_needs_two_thirds_of_area_to_the_centi_square_metre() {
    // Roll: 100.00 m² (10000 centi-m²), 10 persons. 2/3 of 10000 = 6666.67: 6667 reaches it, 6666 does not.
    assert_eq!(decide(10_000, 10, 9, &[(6_666, 7, YES)]), (false, false));
    assert_eq!(decide(10_000, 10, 9, &[(6_667, 7, YES)]), (true, true));
}

#[test]
fn quorum_needs_two_thirds_of_headcount_to_the_person() {
    // 2/3 of 10 persons = 6.67: 7 reach it, 6 do not (with ample area).
    assert_eq!(decide(10_000, 10, 9, &[(9_000, 6, YES)]), (false, false));
    assert_eq!(decide(10_000, 10, 9, &[(9_000, 7, YES)]), (true, true));
}

#[test]
fn quorum_exactly_two_thirds_is_enough() {
    // 30000 area, 30 persons: exactly 20000 and 20 are 2/3 ("以上" includes the bound).
    assert_eq!(decide(30_000, 30, 9, &[(20_000, 20, YES)]), (true, true));
    assert_eq!(decide(30_000, 30, 9, &[(19_999, 20, YES)]), (false, false));
    assert_eq!(decide(30_000, 30, 9, &[(20_000, 19, YES)]), (false, false));
}

// ------------------------------------------------------------------ matters 6–8: >= 3/4

#[test]
fn matters_six_to_eight_pass_with_exactly_three_quarters() {
    for matter in [6u8, 7, 8] {
        // Participation 8000 area / 8 persons (quorum met: 8000 >= 6667, 8 >= 7).
        // Yes exactly 6000/8000 and 6/8 = 3/4 -> passes.
        assert_eq!(decide(10_000, 10, matter, &[(6_000, 6, YES), (2_000, 2, NO)]), (true, true), "matter {matter}");
        // One centi-m² short of 3/4 of the area.
        assert_eq!(decide(10_000, 10, matter, &[(5_999, 6, YES), (2_001, 2, NO)]), (true, false), "matter {matter}");
        // One person short of 3/4 of the headcount.
        assert_eq!(decide(10_000, 10, matter, &[(6_000, 5, YES), (2_000, 3, NO)]), (true, false), "matter {matter}");
    }
}

#[test]
fn the_same_votes_pass_matter_five_but_not_matter_six() {
    // 70% yes by area and heads: a majority (> 1/2) but below 3/4.
    let sheets = [(7_000, 7, YES), (3_000, 3, NO)];
    assert_eq!(decide(10_000, 10, 5, &sheets), (true, true));
    assert_eq!(decide(10_000, 10, 6, &sheets), (true, false));
}

// ------------------------------------------------------------------ other matters: > 1/2

#[test]
fn exactly_one_half_is_not_a_majority() {
    for matter in [1u8, 2, 3, 4, 5, 9] {
        // Area exactly half (4000 of 8000), heads 5 of 8.
        assert_eq!(decide(10_000, 10, matter, &[(4_000, 5, YES), (4_000, 3, NO)]), (true, false), "matter {matter}");
        // One centi-m² more than half.
        assert_eq!(decide(10_000, 10, matter, &[(4_001, 5, YES), (3_999, 3, NO)]), (true, true), "matter {matter}");
        // Area above half, heads exactly half (4 of 8).
        assert_eq!(decide(10_000, 10, matter, &[(4_001, 4, YES), (3_999, 4, NO)]), (true, false), "matter {matter}");
    }
}

#[test]
fn abstention_counts_for_quorum_and_participation_never_as_yes() {
    // Yes 5000/5, abstain 5000/5: yes is exactly half of the participation -> fails,
    // although every non-abstaining sheet said yes.
    assert_eq!(decide(10_000, 10, 9, &[(5_000, 5, YES), (5_000, 5, ABSTAIN)]), (true, false));
    // Abstentions alone bring the quorum (2000+5000 = 7000 >= 6667, 2+5 = 7 >= 7).
    assert_eq!(decide(10_000, 10, 9, &[(2_000, 2, YES), (5_000, 5, ABSTAIN)]), (true, false));
    // Without the abstaining sheet there would be no quorum.
    assert_eq!(decide(10_000, 10, 9, &[(2_000, 2, YES)]), (false, false));
}

#[test]
fn no_sheets_means_no_quorum() {
    assert_eq!(decide(10_000, 10, 9, &[]), (false, false));
}

#[test]
fn several_proposals_are_decided_independently_and_tallies_are_readable() {
    let mut c = Chain::new();
    let id = h(0x11);
    let (start, end) = c.open(id, 10_000, 10, &[(1, 5_000, 5), (2, 2_000, 2), (3, 1_000, 1)]);
    c.propose(id, 0, 9); // majority
    c.propose(id, 1, 7); // 3/4
    c.now_ms = start;
    assert!(c.cast(id, 1, vec![YES, YES]).is_success());
    assert!(c.cast(id, 2, vec![YES, NO]).is_success());
    assert!(c.cast(id, 3, vec![NO, ABSTAIN]).is_success());
    c.now_ms = end;
    let logs = c.finalize(id);
    // Participation 8000 / 8. Proposal 0: yes 7000/7 > half -> pass. Proposal 1: yes 5000 < 6000 -> fail.
    let p0 = c.line(id, 0);
    let p1 = c.line(id, 1);
    assert!(p0.quorumMet && p0.passed);
    assert!(p1.quorumMet && !p1.passed);
    let t1 = c.view(LinliGovernance::getTallyCall { meetingId: id, line: 1 });
    assert_eq!(t1.areaCm2, vec![5_000, 2_000, 1_000]);
    assert_eq!(t1.heads, vec![5, 2, 1]);
    let decided: Vec<_> = logs
        .iter()
        .filter_map(|l| LinliGovernance::LineDecided::decode_log(l).ok())
        .map(|l| (l.data.line, l.data.passed, l.data.yesAreaCm2, l.data.yesHeads, l.data.partAreaCm2))
        .collect();
    assert_eq!(decided, vec![(0, true, 7_000, 7, 8_000), (1, false, 5_000, 5, 8_000)]);
    let finalized: Vec<_> =
        logs.iter().filter_map(|l| LinliGovernance::MeetingFinalized::decode_log(l).ok()).collect();
    assert_eq!(finalized.len(), 1);
    assert_eq!((finalized[0].data.partAreaCm2, finalized[0].data.partHeads, finalized[0].data.sheetCount), (8_000, 8, 3));
    let m = c.view(LinliGovernance::getMeetingCall { meetingId: id });
    assert!(m.exists && m.finalized);
    assert_eq!((m.proposalCount, m.sheetCount, m.rollHash), (2, 3, h(0x77)));
    assert_eq!(c.view(LinliGovernance::sheetOfCall { meetingId: id, voter: h(2) }), h(2 ^ 0x80));
    assert_eq!(c.view(LinliGovernance::sheetOfCall { meetingId: id, voter: h(9) }), B256::ZERO);
}

// ------------------------------------------------------------------ vote changes

/// Meeting `id` allowing changes, proposals 0 (matter 9, yes/no/abstain) and 1 (matter 7, yes/no/abstain),
/// 10000 centi-m² and 10 persons; voter 1 holds two keys (3000/3 and 2000/2), voter 2 one (2000/2); voting has
/// started. Returns the window's end.
fn changeable_meeting(c: &mut Chain, id: B256) -> u64 {
    let (start, end) = c.open_with(id, 10_000, 10, true, &[(1, 3_000, 3), (1, 2_000, 2), (2, 2_000, 2)]);
    c.propose(id, 0, 9);
    c.propose(id, 1, 7);
    c.now_ms = start;
    end
}

#[test]
fn a_change_counts_exactly_as_if_only_the_last_sheet_was_cast() {
    // Changed: voter 1 casts yes/yes, then no/abstain, then yes/no, then no/no; voter 2 casts yes/no once.
    let mut changed = Chain::new();
    let id = h(0x31);
    let end = changeable_meeting(&mut changed, id);
    assert!(changed.cast_hashed(id, 1, vec![YES, YES], h(0xa1), changed.now_ms).is_success());
    assert!(changed.cast(id, 2, vec![YES, NO]).is_success());
    changed.now_ms += 10;
    let out = changed.cast_hashed(id, 1, vec![NO, ABSTAIN], h(0xa2), changed.now_ms);
    assert!(out.is_success(), "{:?}", decode_err(&out));
    let ev: Vec<_> = out.logs.iter().filter_map(|l| LinliGovernance::SheetChanged::decode_log(l).ok()).collect();
    assert_eq!(ev.len(), 1);
    let expected_commitment = commitment(id, h(1), h(0xa2), changed.sent(id, 1).salt, &[NO, ABSTAIN]);
    assert_eq!(
        (ev[0].data.voter, ev[0].data.previousSheetHash, ev[0].data.sheetHash, ev[0].data.commitment, ev[0].data.castAtMs),
        (h(1), h(0xa1), h(0xa2), expected_commitment, changed.now_ms)
    );
    assert_eq!(out.logs[0].topics()[0], keccak256("SheetChanged(bytes32,bytes32,bytes32,bytes32,bytes32,uint64)"));
    assert!(out.logs.iter().all(|l| LinliGovernance::SheetCast::decode_log(l).is_err()), "a change is not a new sheet");
    // No tally moves while voting: the change replaced a commitment, nothing was counted.
    assert_eq!(changed.tallies(id, 2), zero_tallies(2));
    // Repeated changes, the same millisecond as the previous one is allowed.
    assert!(changed.cast_hashed(id, 1, vec![YES, NO], h(0xa3), changed.now_ms).is_success());
    changed.now_ms += 1;
    assert!(changed.cast_hashed(id, 1, vec![NO, NO], h(0xa4), changed.now_ms).is_success());
    assert_eq!(changed.view(LinliGovernance::sheetOfCall { meetingId: id, voter: h(1) }), h(0xa4));
    let changes = changed.view(LinliGovernance::getVoteChangesCall { meetingId: id });
    assert_eq!((changes.voteChangeAllowed, changes.changeCount), (true, 3));
    // The current sheet: the last commitment, the keys' weight (3000 + 2000, 3 + 2), unrevealed.
    let s = changed.sheet(id, 1);
    let last = changed.sent(id, 1);
    assert_eq!(
        (s.sheetHash, s.commitment, s.areaCm2, s.heads, s.castAtMs, s.keyCount, s.revealed),
        (h(0xa4), commitment(id, h(1), h(0xa4), last.salt, &[NO, NO]), 5_000, 5, changed.now_ms, 2, false)
    );
    // Participation and sheet count are those of two sheets.
    let m = changed.view(LinliGovernance::getMeetingCall { meetingId: id });
    assert_eq!((m.partAreaCm2, m.partHeads, m.sheetCount), (7_000, 7, 2));

    // Direct: the same two voters, each casting their final sheet once.
    let mut direct = Chain::new();
    changeable_meeting(&mut direct, id);
    assert!(direct.cast(id, 1, vec![NO, NO]).is_success());
    assert!(direct.cast(id, 2, vec![YES, NO]).is_success());

    // Revealed and finalized, both count and decide alike: quorum 7000/7 met; line 0 yes 2000 of 7000 fails, line 1
    // yes 0 fails.
    for c in [&mut changed, &mut direct] {
        c.now_ms = end;
        c.finalize(id);
    }
    assert_eq!(changed.tallies(id, 2), direct.tallies(id, 2));
    assert_eq!(changed.tallies(id, 2), vec![(vec![2_000, 5_000, 0], vec![2, 5, 0]), (vec![0, 7_000, 0], vec![0, 7, 0])]);
    for i in 0..2 {
        let (a, b) = (changed.line(id, i), direct.line(id, i));
        assert_eq!((a.quorumMet, a.passed), (b.quorumMet, b.passed));
        assert_eq!((a.quorumMet, a.passed), (true, false));
    }
    // After finalize a change is refused as any sheet (stated inside the window, so only finalize refuses it).
    assert_eq!(
        decode_err(&changed.cast_hashed(id, 1, vec![YES, YES], h(0xa5), end - 1)).unwrap(),
        E::AlreadyFinalized(LinliGovernance::AlreadyFinalized { meetingId: id })
    );
    assert_eq!(changed.view(LinliGovernance::sheetOfCall { meetingId: id, voter: h(1) }), h(0xa4));
}

#[test]
fn change_refusals_leave_the_first_sheet_counted() {
    let mut c = Chain::new();
    let id = h(0x32);
    let end = changeable_meeting(&mut c, id);
    let first_at = c.now_ms + 100;
    c.now_ms = first_at;
    assert!(c.cast_hashed(id, 1, vec![YES, YES], h(0xb1), first_at).is_success());
    let first = c.sheet(id, 1);
    let (k1a, k1b, k2) = (roll_key(1, 0), roll_key(1, 1), roll_key(2, 0));
    let change = |c: &mut Chain, keys: Vec<B256>| decode_err(&c.cast_keys(id, 1, keys, vec![NO, NO], h(0xb2), first_at)).unwrap();
    // The weight is fixed by the roll: a change names the same keys, as many as before...
    assert_eq!(change(&mut c, vec![k1a]), E::ChangeKeysMismatch(LinliGovernance::ChangeKeysMismatch { keyCount: 2, givenKeys: U256::from(1) }));
    assert_eq!(change(&mut c, vec![k1a, k1b, k2]), E::ChangeKeysMismatch(LinliGovernance::ChangeKeysMismatch { keyCount: 2, givenKeys: U256::from(3) }));
    // ...each covered by this voter: not a key nobody covers yet, nor another voter's.
    assert_eq!(change(&mut c, vec![k1a, k2]), E::KeyCovered(LinliGovernance::KeyCovered { key: k2, coveredBy: B256::ZERO }));
    assert_eq!(change(&mut c, vec![k1a, FILLER_KEY]), E::KeyCovered(LinliGovernance::KeyCovered { key: FILLER_KEY, coveredBy: B256::ZERO }));
    assert!(c.cast(id, 2, vec![NO, NO]).is_success());
    assert_eq!(change(&mut c, vec![k1a, k2]), E::KeyCovered(LinliGovernance::KeyCovered { key: k2, coveredBy: h(2) }));
    // ...in ascending order, so none twice.
    assert_eq!(change(&mut c, vec![k1b, k1a]), E::KeyOrder(LinliGovernance::KeyOrder { previous: k1b, given: k1a }));
    assert_eq!(change(&mut c, vec![k1a, k1a]), E::KeyOrder(LinliGovernance::KeyOrder { previous: k1a, given: k1a }));
    // Stated before the sheet it replaces: the later submission must be the one that counts.
    assert_eq!(
        decode_err(&c.cast_hashed(id, 1, vec![NO, NO], h(0xb2), first_at - 1)).unwrap(),
        E::ChangeBeforePrevious(LinliGovernance::ChangeBeforePrevious { previousCastAtMs: first_at, castAtMs: first_at - 1 })
    );
    // The current sheet delivered again is a duplicate, not a change.
    assert_eq!(
        decode_err(&c.cast_hashed(id, 1, vec![YES, YES], h(0xb1), first_at)).unwrap(),
        E::DuplicateVoter(LinliGovernance::DuplicateVoter { meetingId: id, voter: h(1) })
    );
    // A change without a commitment or without a hash.
    let bare = |commitment: B256, sheet_hash: B256| LinliGovernance::castSheetCall {
        meetingId: id,
        voter: h(1),
        keys: vec![k1a, k1b],
        commitment,
        sheetHash: sheet_hash,
        castAtMs: first_at,
    };
    assert_eq!(c.err(c.forwarder, bare(B256::ZERO, h(0xb2))), E::ZeroCommitment(LinliGovernance::ZeroCommitment {}));
    assert_eq!(c.err(c.forwarder, bare(h(0xc0), B256::ZERO)), E::ZeroSheetHash(LinliGovernance::ZeroSheetHash {}));
    // Nothing of the refused changes stuck: the first sheet is current, the keys still voter 1's.
    assert_eq!(c.sheet(id, 1), first);
    assert_eq!(c.view(LinliGovernance::getVoteChangesCall { meetingId: id }).changeCount, 0);
    assert_eq!(c.roll_key(id, k1b).coveredBy, h(1));
    assert_eq!(c.roll_key(id, FILLER_KEY).coveredBy, B256::ZERO);
    // And it is the first sheet's choices that are revealed and counted: yes/yes with 5000/5, no/no with 2000/2.
    c.now_ms = end;
    c.finalize(id);
    assert_eq!(c.tallies(id, 2), vec![(vec![5_000, 2_000, 0], vec![5, 2, 0]); 2]);
}

#[test]
fn without_the_flag_a_second_sheet_is_a_duplicate() {
    let mut c = Chain::new();
    let id = h(0x33);
    let (start, end) = c.open(id, 10_000, 10, &[(1, 5_000, 5)]);
    c.propose(id, 0, 9);
    c.now_ms = start;
    assert!(c.cast_hashed(id, 1, vec![YES], h(0xc1), start).is_success());
    assert_eq!(
        decode_err(&c.cast_hashed(id, 1, vec![NO], h(0xc2), start + 1)).unwrap(),
        E::DuplicateVoter(LinliGovernance::DuplicateVoter { meetingId: id, voter: h(1) })
    );
    let changes = c.view(LinliGovernance::getVoteChangesCall { meetingId: id });
    assert_eq!((changes.voteChangeAllowed, changes.changeCount), (false, 0));
    assert_eq!(c.view(LinliGovernance::sheetOfCall { meetingId: id, voter: h(1) }), h(0xc1));
    c.now_ms = end;
    c.finalize(id);
    assert_eq!(c.tallies(id, 1), vec![(vec![5_000, 0, 0], vec![5, 0, 0])]);
}

// ------------------------------------------------------------------ meeting refusals

#[test]
fn meeting_and_proposal_refusals() {
    let mut c = Chain::new();
    let id = h(0x12);
    let now = c.now_ms;
    let open = |id: B256, area: u64, heads: u32, start: u64, end: u64| LinliGovernance::openMeetingCall {
        meetingId: id,
        rollHash: h(1),
        totalAreaCm2: area,
        totalHeads: heads,
        startMs: start,
        endMs: end,
        voteChangeAllowed: false,
        tallyRules: 0,
    };
    assert_eq!(c.err(c.committee, open(id, 0, 10, now + 10, now + 20)), E::InvalidTotals(LinliGovernance::InvalidTotals {}));
    assert_eq!(c.err(c.committee, open(id, 10, 0, now + 10, now + 20)), E::InvalidTotals(LinliGovernance::InvalidTotals {}));
    assert_eq!(
        c.err(c.committee, open(id, 10, 1, now + 20, now + 20)),
        E::InvalidWindow(LinliGovernance::InvalidWindow { startMs: now + 20, endMs: now + 20 })
    );
    assert_eq!(
        c.err(c.committee, open(id, 10, 1, now, now + 20)),
        E::InvalidWindow(LinliGovernance::InvalidWindow { startMs: now, endMs: now + 20 })
    );
    c.ok(c.committee, open(id, 10, 1, now + 10, now + 20));
    assert_eq!(c.err(c.committee, open(id, 10, 1, now + 10, now + 20)), E::MeetingExists(LinliGovernance::MeetingExists { meetingId: id }));

    let add = |index: u8, matter: u8, candidates: u8, seats: u8| LinliGovernance::addProposalCall {
        meetingId: id,
        proposalIndex: index,
        matter,
        contentHash: h(3),
        candidates,
        seats,
    };
    assert_eq!(c.err(c.committee, add(0, 0, 0, 0)), E::InvalidMatter(LinliGovernance::InvalidMatter { matter: 0 }));
    assert_eq!(c.err(c.committee, add(0, 10, 0, 0)), E::InvalidMatter(LinliGovernance::InvalidMatter { matter: 10 }));
    // Seats: none for a yes/no proposal; 1 to the number of candidates for an election.
    for (candidates, seats) in [(0, 1), (3, 0), (2, 3)] {
        assert_eq!(
            c.err(c.committee, add(0, 3, candidates, seats)),
            E::InvalidSeats(LinliGovernance::InvalidSeats { candidates, seats })
        );
    }
    assert_eq!(
        c.err(c.committee, add(1, 9, 0, 0)),
        E::ProposalIndexMismatch(LinliGovernance::ProposalIndexMismatch { expected: 0, given: 1 })
    );
    c.ok(c.committee, add(0, 1, 0, 0));
    c.ok(c.committee, add(1, 3, 3, 2));
    // Lines: proposal 0 is line 0, the election's candidates lines 1-3.
    let p1 = c.proposal(id, 1);
    assert_eq!((p1.firstLine, p1.lineCount, p1.seats), (1, 3, 2));
    assert_eq!(c.view(LinliGovernance::getServedSilentCall { meetingId: id }).lineCount, 4);
    assert_eq!(c.line(id, 3).proposalIndex, 1);
    // A re-delivered addProposal is refused, not duplicated.
    assert_eq!(
        c.err(c.committee, add(1, 9, 0, 0)),
        E::ProposalIndexMismatch(LinliGovernance::ProposalIndexMismatch { expected: 2, given: 1 })
    );
    assert_eq!(
        c.err(c.committee, LinliGovernance::addProposalCall { meetingId: h(0xee), proposalIndex: 0, matter: 1, contentHash: h(1), candidates: 0, seats: 0 }),
        E::UnknownMeeting(LinliGovernance::UnknownMeeting { meetingId: h(0xee) })
    );
    // 32 ballot lines at most: 4 so far, an election of 29 candidates would make 33.
    assert_eq!(c.err(c.committee, add(2, 3, 29, 1)), E::TooManyLines(LinliGovernance::TooManyLines {}));
    c.now_ms = now + 10;
    assert_eq!(c.err(c.committee, add(2, 9, 0, 0)), E::ProposalsClosed(LinliGovernance::ProposalsClosed { meetingId: id }));
}

#[test]
fn proposal_count_is_bounded() {
    let mut c = Chain::new();
    let id = h(0x13);
    c.open(id, 100, 10, &[]);
    for i in 0..32u8 {
        c.propose(id, i, 9);
    }
    let call = LinliGovernance::addProposalCall { meetingId: id, proposalIndex: 32, matter: 9, contentHash: h(1), candidates: 0, seats: 0 };
    assert_eq!(c.err(c.committee, call), E::TooManyProposals(LinliGovernance::TooManyProposals {}));
}

#[test]
fn ballot_sheet_refusals_and_window_edges() {
    let mut c = Chain::new();
    let id = h(0x14);
    let (start, end) = c.open(id, 10_000, 10, &[(1, 100, 1), (2, 9_900, 9)]);
    // No proposals yet: a sheet before the start is refused for the window first...
    let err = decode_err(&c.cast(id, 1, vec![YES])).unwrap();
    assert_eq!(err, E::VotingNotOpen(LinliGovernance::VotingNotOpen { castAtMs: c.now_ms, startMs: start, endMs: end }));
    // ...one stated at the start (the chain's clock a second behind) for the missing proposals.
    c.now_ms = start - 1_000;
    assert_eq!(decode_err(&c.cast_at(id, 1, vec![YES], start)).unwrap(), E::NoProposals(LinliGovernance::NoProposals { meetingId: id }));
    c.propose(id, 0, 9);
    c.propose(id, 1, 6);
    // One millisecond before the window.
    c.now_ms = start - 1;
    let err = decode_err(&c.cast(id, 1, vec![YES, YES])).unwrap();
    assert_eq!(err, E::VotingNotOpen(LinliGovernance::VotingNotOpen { castAtMs: start - 1, startMs: start, endMs: end }));
    // A sheet covers at least one key, carries a hash and a commitment.
    c.now_ms = start;
    assert_eq!(decode_err(&c.cast_keys(id, 1, vec![], vec![YES, YES], h(0x81), start)).unwrap(), E::NoKeys(LinliGovernance::NoKeys {}));
    assert_eq!(
        decode_err(&c.cast_keys(id, 1, vec![roll_key(1, 0)], vec![YES, YES], B256::ZERO, start)).unwrap(),
        E::ZeroSheetHash(LinliGovernance::ZeroSheetHash {})
    );
    let uncommitted = LinliGovernance::castSheetCall {
        meetingId: id,
        voter: h(1),
        keys: vec![roll_key(1, 0)],
        commitment: B256::ZERO,
        sheetHash: h(0x81),
        castAtMs: start,
    };
    assert_eq!(c.err(c.forwarder, uncommitted), E::ZeroCommitment(LinliGovernance::ZeroCommitment {}));
    // Exactly at the start: accepted.
    assert!(c.cast(id, 1, vec![YES, YES]).is_success());
    // Same voter again: refused, even with other choices and another hash.
    assert_eq!(
        decode_err(&c.cast_hashed(id, 1, vec![NO, NO], h(0x82), start)).unwrap(),
        E::DuplicateVoter(LinliGovernance::DuplicateVoter { meetingId: id, voter: h(1) })
    );
    assert!(c.cast(id, 2, vec![NO, NO]).is_success());
    // Finalize refused before the end, exactly at the end the window is closed.
    c.now_ms = end - 1;
    assert_eq!(
        c.err(c.forwarder, LinliGovernance::finalizeCall { meetingId: id }),
        E::VotingNotEnded(LinliGovernance::VotingNotEnded { nowMs: end - 1, endMs: end })
    );
    c.now_ms = end;
    // The window is checked before anything else of the sheet.
    assert_eq!(
        decode_err(&c.cast_keys(id, 3, vec![FILLER_KEY], vec![YES, YES], h(0x83), end)).unwrap(),
        E::VotingNotOpen(LinliGovernance::VotingNotOpen { castAtMs: end, startMs: start, endMs: end })
    );
    c.finalize(id);
    assert_eq!(
        c.err(c.forwarder, LinliGovernance::finalizeCall { meetingId: id }),
        E::AlreadyFinalized(LinliGovernance::AlreadyFinalized { meetingId: id })
    );
    assert_eq!(
        c.err(c.forwarder, LinliGovernance::finalizeCall { meetingId: h(0xee) }),
        E::UnknownMeeting(LinliGovernance::UnknownMeeting { meetingId: h(0xee) })
    );
}

#[test]
fn sheet_cast_event_carries_the_sheet() {
    let mut c = Chain::new();
    let id = h(0x15);
    let (start, _) = c.open(id, 10_000, 10, &[(7, 1_234, 1)]);
    c.propose(id, 0, 9);
    // Accepted by the server at the start, reaching the chain 90 s later: the event shows the stated time.
    c.now_ms = start + 90_000;
    let out = c.cast_at(id, 7, vec![ABSTAIN], start);
    let ev = LinliGovernance::SheetCast::decode_log(&out.logs[0]).unwrap();
    assert_eq!(ev.address, c.contract);
    // The weight is the registered key's; the choice stays behind the commitment.
    assert_eq!((ev.data.meetingId, ev.data.voter, ev.data.areaCm2, ev.data.heads), (id, h(7), 1_234, 1));
    let salt = c.sent(id, 7).salt;
    assert_eq!(
        (ev.data.keys.clone(), ev.data.commitment, ev.data.sheetHash, ev.data.castAtMs),
        (vec![roll_key(7, 0)], commitment(id, h(7), h(7 ^ 0x80), salt, &[ABSTAIN]), h(7 ^ 0x80), start)
    );
    // The first topic is the Keccak-256 of the event signature, as solc compiled it; meeting and voter are indexed.
    assert_eq!(
        out.logs[0].topics(),
        &[keccak256("SheetCast(bytes32,bytes32,uint64,uint32,bytes32[],bytes32,bytes32,uint64)"), id, h(7)]
    );
}

// ------------------------------------------------------------------ stated submission time

/// The server acknowledges a sheet once stored and forwards it later: the window is checked against the time
/// the forwarder states (the receipt's submission time), so a sheet acknowledged before the end counts even
/// when the chain only sees it after the end.
#[test]
fn a_sheet_stated_inside_the_window_counts_when_it_arrives_after_the_end() {
    let mut c = Chain::new();
    let id = h(0x16);
    let (start, end) = c.open(id, 10_000, 10, &[(1, 4_000, 4), (2, 3_000, 3), (3, 1_000, 1), (4, 1_000, 1)]);
    c.propose(id, 0, 9);
    // The chain was down across the close: the sheets reach it an hour after the end.
    c.now_ms = end + 3_600_000;
    // Exact edges of the window: the first and the last millisecond in it count.
    assert!(c.cast_at(id, 1, vec![YES], end - 1).is_success());
    assert!(c.cast_at(id, 2, vec![NO], start).is_success());
    // Stated at the end or before the start: refused with the stated time.
    assert_eq!(
        decode_err(&c.cast_at(id, 3, vec![YES], end)).unwrap(),
        E::VotingNotOpen(LinliGovernance::VotingNotOpen { castAtMs: end, startMs: start, endMs: end })
    );
    assert_eq!(
        decode_err(&c.cast_at(id, 3, vec![YES], start - 1)).unwrap(),
        E::VotingNotOpen(LinliGovernance::VotingNotOpen { castAtMs: start - 1, startMs: start, endMs: end })
    );
    // Only the forwarder finalizes: a third party (or another role) cannot shut the delayed sheets out.
    for who in [c.outsider, c.committee, c.admin] {
        assert_eq!(
            c.err(who, LinliGovernance::finalizeCall { meetingId: id }),
            E::MissingRole(LinliGovernance::MissingRole { caller: who, requiredRole: role::FORWARDER })
        );
    }
    let logs = c.finalize(id);
    let fin = logs.iter().find_map(|l| LinliGovernance::MeetingFinalized::decode_log(l).ok()).unwrap();
    // Both late sheets are counted: 7000 area and 7 persons reach the quorum; yes 4000/4 of 7000/7 passes.
    assert_eq!((fin.data.partAreaCm2, fin.data.partHeads, fin.data.sheetCount), (7_000, 7, 2));
    let p = c.line(id, 0);
    assert!(p.quorumMet && p.passed);
    // After finalize no sheet is accepted, even one stated inside the window.
    assert_eq!(
        decode_err(&c.cast_at(id, 4, vec![YES], end - 1)).unwrap(),
        E::AlreadyFinalized(LinliGovernance::AlreadyFinalized { meetingId: id })
    );
    let m = c.view(LinliGovernance::getMeetingCall { meetingId: id });
    assert_eq!((m.sheetCount, m.partAreaCm2, m.partHeads), (2, 7_000, 7));
}

#[test]
fn a_sheet_dated_beyond_the_allowed_clock_skew_is_refused() {
    let mut c = Chain::new();
    let id = h(0x17);
    let (start, end) = c.open(id, 10_000, 10, &[(1, 1_000, 1), (2, 1_000, 1)]);
    c.propose(id, 0, 9);
    let skew = c.view(LinliGovernance::MAX_CLOCK_SKEW_MSCall {});
    assert_eq!(skew, 300_000);
    // The chain's clock one second behind the server's: a sheet stated at the start is accepted...
    c.now_ms = start - 1_000;
    assert!(c.cast_at(id, 1, vec![NO], start).is_success());
    // ...and from then on the proposals are closed although the chain's clock has not reached the start: the
    // counted sheet holds no choice for a new proposal.
    let late = LinliGovernance::addProposalCall { meetingId: id, proposalIndex: 1, matter: 9, contentHash: h(1), candidates: 0, seats: 0 };
    assert_eq!(c.err(c.committee, late), E::ProposalsClosed(LinliGovernance::ProposalsClosed { meetingId: id }));
    // One millisecond beyond the skew ahead of the block time: refused; exactly the skew: accepted.
    c.now_ms = start;
    assert!(start + skew + 1 < end);
    assert_eq!(
        decode_err(&c.cast_at(id, 2, vec![YES], start + skew + 1)).unwrap(),
        E::CastInFuture(LinliGovernance::CastInFuture { castAtMs: start + skew + 1, nowMs: start })
    );
    assert!(c.cast_at(id, 2, vec![YES], start + skew).is_success());
    assert_eq!(c.view(LinliGovernance::getMeetingCall { meetingId: id }).sheetCount, 2);
}

// ------------------------------------------------------------------ roles

#[test]
fn every_function_is_refused_to_every_other_role() {
    let mut c = Chain::new();
    let all = [c.admin, c.forwarder, c.committee, c.property, c.bank, c.anchor, c.outsider];
    let missing = |caller: Address, required: u8| E::MissingRole(LinliGovernance::MissingRole { caller, requiredRole: required });
    let now = c.now_ms;
    for who in all {
        if who != c.committee {
            let call = LinliGovernance::openMeetingCall {
                meetingId: h(1),
                rollHash: h(1),
                totalAreaCm2: 1,
                totalHeads: 1,
                startMs: now + 1,
                endMs: now + 2,
                voteChangeAllowed: false,
                tallyRules: 0,
            };
            assert_eq!(c.err(who, call), missing(who, role::COMMITTEE));
            let call = LinliGovernance::addProposalCall { meetingId: h(1), proposalIndex: 0, matter: 1, contentHash: h(1), candidates: 0, seats: 0 };
            assert_eq!(c.err(who, call), missing(who, role::COMMITTEE));
            let call = LinliGovernance::addRollKeysCall { meetingId: h(1), keys: vec![h(1)], areaCm2: vec![1], heads: vec![1] };
            assert_eq!(c.err(who, call), missing(who, role::COMMITTEE));
            let call = LinliGovernance::approveDisbursementCall {
                disbursementId: h(1),
                planId: h(1),
                amountFen: 1,
                payeeHash: h(1),
                evidenceHash: h(1),
            };
            assert_eq!(c.err(who, call), missing(who, role::COMMITTEE));
        }
        if who != c.forwarder {
            let call = LinliGovernance::castSheetCall { meetingId: h(1), voter: h(1), keys: vec![h(1)], commitment: h(1), sheetHash: h(1), castAtMs: now };
            assert_eq!(c.err(who, call), missing(who, role::FORWARDER));
            let call = LinliGovernance::revealSheetCall { meetingId: h(1), voter: h(1), choices: Bytes::from(vec![0]), salt: h(1) };
            assert_eq!(c.err(who, call), missing(who, role::FORWARDER));
            let call = LinliGovernance::recordServedSilentCall { meetingId: h(1), areaCm2: 1, heads: 1, servedSilentRoot: h(1) };
            assert_eq!(c.err(who, call), missing(who, role::FORWARDER));
            assert_eq!(c.err(who, LinliGovernance::finalizeCall { meetingId: h(1) }), missing(who, role::FORWARDER));
            let call = LinliGovernance::recordResultCall { meetingId: h(1), resultHash: h(1), signingKey: h(1) };
            assert_eq!(c.err(who, call), missing(who, role::FORWARDER));
        }
        if who != c.property {
            let call = LinliGovernance::registerFundPlanCall { planId: h(1), meetingId: h(1), proposalIndex: 0, budgetFen: 1, planHash: h(1) };
            assert_eq!(c.err(who, call), missing(who, role::PROPERTY));
        }
        if who != c.bank {
            let call = LinliGovernance::recordDisbursementExecutionCall { disbursementId: h(1), amountFen: 1, bankRefHash: h(1) };
            assert_eq!(c.err(who, call), missing(who, role::BANK));
        }
        if who != c.anchor {
            let call = LinliGovernance::anchorBatchCall { stream: "audit".into(), firstSeq: 1, lastSeq: 1, root: h(1) };
            assert_eq!(c.err(who, call), missing(who, role::ANCHOR));
        }
        if who != c.admin {
            let call = LinliGovernance::grantRoleCall { account: addr(0x55), role: role::BANK };
            assert_eq!(c.err(who, call), E::NotAdmin(LinliGovernance::NotAdmin { caller: who }));
            let call = LinliGovernance::revokeRoleCall { account: c.bank };
            assert_eq!(c.err(who, call), E::NotAdmin(LinliGovernance::NotAdmin { caller: who }));
            let call = LinliGovernance::transferAdminCall { newAdmin: who };
            assert_eq!(c.err(who, call), E::NotAdmin(LinliGovernance::NotAdmin { caller: who }));
        }
    }
}

#[test]
fn role_administration() {
    let mut c = Chain::new();
    assert_eq!(c.view(LinliGovernance::adminCall {}), c.admin);
    assert_eq!(c.view(LinliGovernance::roleOfCall(c.bank)), role::BANK);
    assert_eq!(c.view(LinliGovernance::roleOfCall(c.outsider)), 0);
    let grant = |account: Address, r: u8| LinliGovernance::grantRoleCall { account, role: r };
    // One key, one role.
    assert_eq!(
        c.err(c.admin, grant(c.bank, role::ANCHOR)),
        E::AccountAlreadyHasRole(LinliGovernance::AccountAlreadyHasRole { account: c.bank, currentRole: role::BANK })
    );
    assert_eq!(c.err(c.admin, grant(c.admin, role::BANK)), E::AccountIsAdmin(LinliGovernance::AccountIsAdmin { account: c.admin }));
    assert_eq!(c.err(c.admin, grant(c.outsider, 0)), E::InvalidRole(LinliGovernance::InvalidRole { role: 0 }));
    assert_eq!(c.err(c.admin, grant(c.outsider, 6)), E::InvalidRole(LinliGovernance::InvalidRole { role: 6 }));
    assert_eq!(c.err(c.admin, grant(Address::ZERO, role::BANK)), E::ZeroAddress(LinliGovernance::ZeroAddress {}));
    // Several keys may hold the same role (e.g. two committee members).
    let logs = c.ok(c.admin, grant(c.outsider, role::COMMITTEE));
    let ev = LinliGovernance::RoleGranted::decode_log(&logs[0]).unwrap();
    assert_eq!((ev.data.account, ev.data.role), (c.outsider, role::COMMITTEE));
    let now = c.now_ms;
    let open = LinliGovernance::openMeetingCall { meetingId: h(9), rollHash: h(1), totalAreaCm2: 1, totalHeads: 1, startMs: now + 5, endMs: now + 9, voteChangeAllowed: false, tallyRules: 0 };
    c.ok(c.outsider, open.clone());
    // Revoked: refused from then on.
    let logs = c.ok(c.admin, LinliGovernance::revokeRoleCall { account: c.outsider });
    let ev = LinliGovernance::RoleRevoked::decode_log(&logs[0]).unwrap();
    assert_eq!((ev.data.account, ev.data.role), (c.outsider, role::COMMITTEE));
    let open2 = LinliGovernance::openMeetingCall { meetingId: h(8), ..open };
    assert_eq!(
        c.err(c.outsider, open2),
        E::MissingRole(LinliGovernance::MissingRole { caller: c.outsider, requiredRole: role::COMMITTEE })
    );
    assert_eq!(
        c.err(c.admin, LinliGovernance::revokeRoleCall { account: c.outsider }),
        E::AccountHasNoRole(LinliGovernance::AccountHasNoRole { account: c.outsider })
    );
    // Admin hand-over: the new admin must hold no role; the old one loses its powers.
    assert_eq!(
        c.err(c.admin, LinliGovernance::transferAdminCall { newAdmin: c.bank }),
        E::AccountAlreadyHasRole(LinliGovernance::AccountAlreadyHasRole { account: c.bank, currentRole: role::BANK })
    );
    assert_eq!(c.err(c.admin, LinliGovernance::transferAdminCall { newAdmin: Address::ZERO }), E::ZeroAddress(LinliGovernance::ZeroAddress {}));
    let new_admin = addr(0xaa);
    c.ok(c.admin, LinliGovernance::transferAdminCall { newAdmin: new_admin });
    assert_eq!(c.view(LinliGovernance::adminCall {}), new_admin);
    assert_eq!(c.err(c.admin, grant(addr(0x56), role::BANK)), E::NotAdmin(LinliGovernance::NotAdmin { caller: c.admin }));
    c.ok(new_admin, grant(addr(0x56), role::BANK));
}


// ------------------------------------------------------------------ funds

/// A finalized meeting with proposals: 0 = matter 5 passed, 1 = matter 6 passed, 2 = matter 5 failed,
/// 3 = matter 9 passed.
fn funded_meeting() -> (Chain, B256) {
    let mut c = Chain::new();
    let id = h(0x20);
    let (start, end) = c.open(id, 10_000, 10, &[(1, 8_000, 8), (2, 1_000, 1)]);
    c.propose(id, 0, 5);
    c.propose(id, 1, 6);
    c.propose(id, 2, 5);
    c.propose(id, 3, 9);
    c.now_ms = start;
    assert!(c.cast(id, 1, vec![YES, YES, NO, YES]).is_success());
    assert!(c.cast(id, 2, vec![NO, YES, NO, YES]).is_success());
    c.now_ms = end;
    c.finalize(id);
    (c, id)
}

fn plan(plan_id: B256, meeting: B256, index: u8, budget: u128) -> LinliGovernance::registerFundPlanCall {
    LinliGovernance::registerFundPlanCall { planId: plan_id, meetingId: meeting, proposalIndex: index, budgetFen: budget, planHash: h(0x33) }
}

fn approve(id: B256, plan_id: B256, amount: u128) -> LinliGovernance::approveDisbursementCall {
    LinliGovernance::approveDisbursementCall { disbursementId: id, planId: plan_id, amountFen: amount, payeeHash: h(0x34), evidenceHash: h(0x35) }
}

#[test]
fn fund_plans_only_for_a_passed_matter_five_or_six() {
    let (mut c, id) = funded_meeting();
    assert_eq!(c.err(c.property, plan(h(1), id, 3, 100)), E::MatterNotFundable(LinliGovernance::MatterNotFundable { matter: 9 }));
    assert_eq!(c.err(c.property, plan(h(1), id, 2, 100)), E::ProposalNotPassed(LinliGovernance::ProposalNotPassed { meetingId: id, proposalIndex: 2 }));
    assert_eq!(c.err(c.property, plan(h(1), id, 4, 100)), E::UnknownProposal(LinliGovernance::UnknownProposal { meetingId: id, proposalIndex: 4 }));
    assert_eq!(c.err(c.property, plan(h(1), h(0xee), 0, 100)), E::UnknownMeeting(LinliGovernance::UnknownMeeting { meetingId: h(0xee) }));
    assert_eq!(c.err(c.property, plan(h(1), id, 0, 0)), E::ZeroAmount(LinliGovernance::ZeroAmount {}));
    let logs = c.ok(c.property, plan(h(1), id, 0, 100_000));
    let ev = LinliGovernance::FundPlanRegistered::decode_log(&logs[0]).unwrap();
    assert_eq!((ev.data.planId, ev.data.meetingId, ev.data.proposalIndex, ev.data.budgetFen), (h(1), id, 0, 100_000));
    c.ok(c.property, plan(h(2), id, 1, 5));
    assert_eq!(c.err(c.property, plan(h(1), id, 1, 100)), E::PlanExists(LinliGovernance::PlanExists { planId: h(1) }));
    assert_eq!(
        c.err(c.property, plan(h(3), id, 0, 100)),
        E::ProposalAlreadyHasPlan(LinliGovernance::ProposalAlreadyHasPlan { meetingId: id, proposalIndex: 0, planId: h(1) })
    );
}


#[test]
fn fund_plan_refused_before_the_meeting_is_finalized() {
    let mut c = Chain::new();
    let id = h(0x21);
    let (start, _) = c.open(id, 10_000, 10, &[(1, 10_000, 10)]);
    c.propose(id, 0, 5);
    c.now_ms = start;
    assert!(c.cast(id, 1, vec![YES]).is_success());
    assert_eq!(c.err(c.property, plan(h(1), id, 0, 100)), E::NotFinalized(LinliGovernance::NotFinalized { meetingId: id }));
}

#[test]
fn disbursements_stay_within_the_budget_and_are_never_duplicated() {
    let (mut c, id) = funded_meeting();
    c.ok(c.property, plan(h(1), id, 0, 100_000));
    assert_eq!(c.err(c.committee, approve(h(0xd1), h(9), 1)), E::UnknownPlan(LinliGovernance::UnknownPlan { planId: h(9) }));
    assert_eq!(c.err(c.committee, approve(h(0xd1), h(1), 0)), E::ZeroAmount(LinliGovernance::ZeroAmount {}));
    // 100000 fen budget: 100001 is over it.
    assert_eq!(
        c.err(c.committee, approve(h(0xd1), h(1), 100_001)),
        E::OverBudget(LinliGovernance::OverBudget { requestedFen: 100_001, remainingFen: 100_000 })
    );
    c.ok(c.committee, approve(h(0xd1), h(1), 60_000));
    assert_eq!(c.err(c.committee, approve(h(0xd1), h(1), 1)), E::DisbursementExists(LinliGovernance::DisbursementExists { disbursementId: h(0xd1) }));
    assert_eq!(
        c.err(c.committee, approve(h(0xd2), h(1), 40_001)),
        E::OverBudget(LinliGovernance::OverBudget { requestedFen: 40_001, remainingFen: 40_000 })
    );
    // Exactly the remaining budget is allowed; then nothing more.
    let logs = c.ok(c.committee, approve(h(0xd2), h(1), 40_000));
    let ev = LinliGovernance::DisbursementApproved::decode_log(&logs[0]).unwrap();
    assert_eq!((ev.data.disbursementId, ev.data.planId, ev.data.amountFen), (h(0xd2), h(1), 40_000));
    assert_eq!(c.err(c.committee, approve(h(0xd3), h(1), 1)), E::OverBudget(LinliGovernance::OverBudget { requestedFen: 1, remainingFen: 0 }));

    let exec = |d: B256, amount: u128| LinliGovernance::recordDisbursementExecutionCall { disbursementId: d, amountFen: amount, bankRefHash: h(0x66) };
    assert_eq!(c.err(c.bank, exec(h(0xd9), 1)), E::UnknownDisbursement(LinliGovernance::UnknownDisbursement { disbursementId: h(0xd9) }));
    assert_eq!(c.err(c.bank, exec(h(0xd1), 59_999)), E::AmountMismatch(LinliGovernance::AmountMismatch { approvedFen: 60_000, reportedFen: 59_999 }));
    let logs = c.ok(c.bank, exec(h(0xd1), 60_000));
    let ev = LinliGovernance::DisbursementExecuted::decode_log(&logs[0]).unwrap();
    assert_eq!((ev.data.disbursementId, ev.data.planId, ev.data.amountFen, ev.data.bankRefHash), (h(0xd1), h(1), 60_000, h(0x66)));
    assert_eq!(c.err(c.bank, exec(h(0xd1), 60_000)), E::AlreadyExecuted(LinliGovernance::AlreadyExecuted { disbursementId: h(0xd1) }));
    let p = c.view(LinliGovernance::getFundPlanCall { planId: h(1) });
    assert_eq!((p.budgetFen, p.approvedFen, p.executedFen), (100_000, 100_000, 60_000));
    let d = c.view(LinliGovernance::getDisbursementCall { disbursementId: h(0xd1) });
    assert!(d.exists && d.executed);
    assert_eq!((d.planId, d.amountFen, d.bankRefHash), (h(1), 60_000, h(0x66)));
}

// ------------------------------------------------------------------ anchoring

#[test]
fn anchoring_refuses_gaps_and_overlaps_per_stream() {
    let mut c = Chain::new();
    let anchor = |stream: &str, first: u64, last: u64, root: B256| LinliGovernance::anchorBatchCall {
        stream: stream.into(),
        firstSeq: first,
        lastSeq: last,
        root,
    };
    // Sequences start at 1.
    assert_eq!(c.err(c.anchor, anchor("disclosure", 2, 5, h(1))), E::SequenceGap(LinliGovernance::SequenceGap { expectedFirst: 1, givenFirst: 2 }));
    assert_eq!(c.err(c.anchor, anchor("disclosure", 0, 5, h(1))), E::SequenceOverlap(LinliGovernance::SequenceOverlap { expectedFirst: 1, givenFirst: 0 }));
    let logs = c.ok(c.anchor, anchor("disclosure", 1, 10, h(1)));
    let ev = LinliGovernance::BatchAnchored::decode_log(&logs[0]).unwrap();
    assert_eq!(ev.data.streamId, alloy_primitives::keccak256("disclosure"));
    assert_eq!((ev.data.stream.as_str(), ev.data.firstSeq, ev.data.lastSeq, ev.data.root), ("disclosure", 1, 10, h(1)));
    assert_eq!(c.err(c.anchor, anchor("disclosure", 12, 20, h(2))), E::SequenceGap(LinliGovernance::SequenceGap { expectedFirst: 11, givenFirst: 12 }));
    assert_eq!(c.err(c.anchor, anchor("disclosure", 10, 20, h(2))), E::SequenceOverlap(LinliGovernance::SequenceOverlap { expectedFirst: 11, givenFirst: 10 }));
    assert_eq!(c.err(c.anchor, anchor("disclosure", 11, 10, h(2))), E::InvalidRange(LinliGovernance::InvalidRange { firstSeq: 11, lastSeq: 10 }));
    assert_eq!(c.err(c.anchor, anchor("disclosure", 11, 11, B256::ZERO)), E::ZeroRoot(LinliGovernance::ZeroRoot {}));
    assert_eq!(c.err(c.anchor, anchor("", 1, 1, h(1))), E::InvalidStreamName(LinliGovernance::InvalidStreamName {}));
    assert_eq!(c.err(c.anchor, anchor(&"x".repeat(65), 1, 1, h(1))), E::InvalidStreamName(LinliGovernance::InvalidStreamName {}));
    c.ok(c.anchor, anchor(&"x".repeat(64), 1, 1, h(1)));
    // A single-item batch directly after the previous one.
    c.ok(c.anchor, anchor("disclosure", 11, 11, h(3)));
    // Streams are independent.
    c.ok(c.anchor, anchor("work-orders", 1, 3, h(4)));
    assert_eq!(c.view(LinliGovernance::lastSequenceCall { stream: "disclosure".into() }), 11);
    assert_eq!(c.view(LinliGovernance::lastSequenceCall { stream: "work-orders".into() }), 3);
    assert_eq!(c.view(LinliGovernance::lastSequenceCall { stream: "audit".into() }), 0);
    assert_eq!(c.view(LinliGovernance::batchCountCall { stream: "disclosure".into() }), alloy_primitives::U256::from(2));
    let b = c.view(LinliGovernance::getBatchCall { stream: "disclosure".into(), batchIndex: alloy_primitives::U256::from(1) });
    assert_eq!((b.firstSeq, b.lastSeq, b.root, b.anchoredAtMs), (11, 11, h(3), c.now_ms));
    let _: FixedBytes<32> = b.root;
}


// ------------------------------------------------------------------ rule-set tally, binding tally, elections (issue 24)

const PARTICIPATES: u8 = 1;
const FOLLOWS: u8 = 2;

/// Roll 100 units of 1.00 m²; `yes` + `no` sheets of one unit each on one proposal of `matter`; `silent` served and
/// silent recorded after the window; revealed and finalized. Returns the chain.
fn ruled_meeting(rules: u8, matter: u8, yes: u8, no: u8, silent: u32) -> (Chain, B256) {
    let mut c = Chain::new();
    let id = h(0x30);
    let roll: Vec<_> = (1..=yes + no).map(|v| (v, 100, 1)).collect();
    let (start, end) = c.open_ruled(id, 10_000, 100, false, rules, &roll);
    c.propose(id, 0, matter);
    c.now_ms = start;
    for v in 0..yes {
        assert!(c.cast(id, v + 1, vec![YES]).is_success());
    }
    for v in 0..no {
        assert!(c.cast(id, yes + 1 + v, vec![NO]).is_success());
    }
    c.now_ms = end;
    if rules != 0 {
        let record = LinliGovernance::recordServedSilentCall { meetingId: id, areaCm2: u64::from(silent) * 100, heads: silent, servedSilentRoot: h(0x5e) };
        c.ok(c.forwarder, record);
    }
    c.finalize(id);
    (c, id)
}

/// Item 2: 70 of 100 vote, 40 yes, 30 served and silent, silent counted as participating. The strict tally passes
/// (40 of 70), the rule-set tally fails (40 of 100): the rule-set binds, and no fund plan can be registered.
#[test]
fn the_rule_set_tally_binds_the_decision_and_the_fund_plan() {
    let (mut c, id) = ruled_meeting(PARTICIPATES, 5, 40, 30, 30);
    let line = c.line(id, 0);
    assert!(line.quorumMet && line.passed, "strict: 70 of 100 is a quorum and 40 of 70 a majority");
    assert!(line.ruleQuorumMet && !line.rulePassed && !line.bindingPassed, "rule-set: 40 of 100 is no majority");
    assert_eq!(c.err(c.property, plan(h(1), id, 0, 100)), E::ProposalNotPassed(LinliGovernance::ProposalNotPassed { meetingId: id, proposalIndex: 0 }));
    // The other direction: 60 yes, 10 no, 30 silent pass both tallies and the plan registers.
    let (mut c, id) = ruled_meeting(PARTICIPATES, 5, 60, 10, 30);
    assert!(c.line(id, 0).bindingPassed);
    c.ok(c.property, plan(h(1), id, 0, 100));
    // And a strict-only meeting binds the strict tally: 40 of 70 passes, the plan registers.
    let (mut c, id) = ruled_meeting(0, 5, 40, 30, 0);
    assert!(c.line(id, 0).bindingPassed);
    c.ok(c.property, plan(h(1), id, 0, 100));
}

/// Item 4: matter 7, 43 yes and 24 no (64%, failing three quarters), 33 silent following: the voters decide "not
/// passed", so the silent participate without yes: 43 of 100 fails. With 51 yes and 16 no (76%) they follow.
#[test]
fn the_silent_follow_the_voters_decision_on_chain() {
    let (mut c, id) = ruled_meeting(FOLLOWS, 7, 43, 24, 33);
    let line = c.line(id, 0);
    assert!(line.quorumMet && !line.passed && line.ruleQuorumMet && !line.rulePassed);
    assert_eq!((line.bindingYesAreaCm2, line.bindingYesHeads), (4_300, 43));
    let (mut c, id) = ruled_meeting(FOLLOWS, 7, 51, 16, 33);
    let line = c.line(id, 0);
    assert!(line.rulePassed && line.bindingPassed);
    assert_eq!((line.bindingYesAreaCm2, line.bindingYesHeads), (8_400, 84));
    // Item 3 on chain: 66 vote, 34 yes; with no silent weight (the key without a caster is not recorded) there is
    // no quorum; one silent unit more would tip it to a quorum and a pass.
    let (mut c, id) = ruled_meeting(FOLLOWS, 9, 34, 32, 0);
    assert!(!c.line(id, 0).ruleQuorumMet);
    let (mut c, id) = ruled_meeting(FOLLOWS, 9, 34, 32, 1);
    assert!(c.line(id, 0).rulePassed);
}


#[test]
fn served_silent_weight_is_recorded_once_after_the_window_and_required_before_finalize() {
    let mut c = Chain::new();
    let id = h(0x31);
    let (start, end) = c.open_ruled(id, 10_000, 100, false, PARTICIPATES, &[(1, 6_000, 60), (2, 100, 1)]);
    c.propose(id, 0, 9);
    let record = |area: u64, heads: u32| LinliGovernance::recordServedSilentCall { meetingId: id, areaCm2: area, heads, servedSilentRoot: h(0x5e) };
    c.now_ms = start;
    assert!(c.cast(id, 1, vec![YES]).is_success());
    assert_eq!(
        c.err(c.forwarder, record(100, 1)),
        E::VotingNotEnded(LinliGovernance::VotingNotEnded { nowMs: start, endMs: end })
    );
    c.now_ms = end;
    assert_eq!(c.err(c.forwarder, LinliGovernance::finalizeCall { meetingId: id }), E::ServedSilentNotRecorded(LinliGovernance::ServedSilentNotRecorded { meetingId: id }));
    assert_eq!(c.err(c.committee, record(100, 1)), E::MissingRole(LinliGovernance::MissingRole { caller: c.committee, requiredRole: role::FORWARDER }));
    assert_eq!(
        c.err(c.forwarder, record(4_001, 1)),
        E::SilentExceedsRoll(LinliGovernance::SilentExceedsRoll { areaWouldBe: U256::from(10_001), headsWouldBe: U256::from(61) })
    );
    let logs = c.ok(c.forwarder, record(3_000, 30));
    let ev = LinliGovernance::ServedSilentRecorded::decode_log(&logs[0]).unwrap();
    assert_eq!((ev.data.areaCm2, ev.data.heads, ev.data.servedSilentRoot), (3_000, 30, h(0x5e)));
    assert_eq!(c.err(c.forwarder, record(3_000, 30)), E::ServedSilentAlreadyRecorded(LinliGovernance::ServedSilentAlreadyRecorded { meetingId: id }));
    // A late sheet stated inside the window is refused now: the silent weight was summed without it.
    assert_eq!(
        decode_err(&c.cast_at(id, 2, vec![YES], end - 1)).unwrap(),
        E::ServedSilentAlreadyRecorded(LinliGovernance::ServedSilentAlreadyRecorded { meetingId: id })
    );
    let logs = c.finalize(id);
    let by_rules: Vec<_> = logs.iter().filter_map(|l| LinliGovernance::LineDecidedByRules::decode_log(l).ok()).collect();
    assert_eq!(by_rules.len(), 1);
    assert_eq!((by_rules[0].data.partAreaCm2, by_rules[0].data.partHeads, by_rules[0].data.passed), (9_000, 90, true));
    let s = c.view(LinliGovernance::getServedSilentCall { meetingId: id });
    assert_eq!((s.tallyRules, s.recorded, s.areaCm2, s.heads), (PARTICIPATES, true, 3_000, 30));
    // A strict meeting has nothing to record.
    let other = h(0x32);
    c.open(other, 100, 1, &[]);
    c.now_ms += 3_600_000;
    let strict = LinliGovernance::recordServedSilentCall { meetingId: other, areaCm2: 0, heads: 0, servedSilentRoot: h(1) };
    assert_eq!(c.err(c.forwarder, strict), E::NoTallyRules(LinliGovernance::NoTallyRules { meetingId: other }));
    let bad = LinliGovernance::openMeetingCall { meetingId: h(0x33), rollHash: h(1), totalAreaCm2: 1, totalHeads: 1, startMs: c.now_ms + 5, endMs: c.now_ms + 9, voteChangeAllowed: false, tallyRules: 4 };
    assert_eq!(c.err(c.committee, bad), E::InvalidTallyRules(LinliGovernance::InvalidTallyRules { tallyRules: 4 }));
}

/// Item 1: one proposal 张三/李四/王五 for one seat plus a yes/no proposal; 李四 has 60 of 100 yes and is elected.
/// Two seats with the second and third tied: one elected, two tied; an election is never a fund plan.
#[test]
fn an_election_elects_the_best_passing_candidates_and_reports_ties() {
    let mut c = Chain::new();
    let id = h(0x34);
    // 100 voters of one unit each (1.00 m², one person): voters 1..=60 and 150..=189.
    let roll: Vec<_> = (1..=60u8).chain(150..190).map(|v| (v, 100, 1)).collect();
    let (start, end) = c.open(id, 10_000, 100, &roll);
    c.propose_election(id, 0, 3, 3, 1);
    c.propose_election(id, 1, 3, 3, 2);
    c.propose(id, 2, 5);
    c.now_ms = start;
    // Lines: 0-2 first election, 3-5 second, 6 the yes/no proposal.
    for v in 0..60u8 {
        // Second election: A yes from all 60, B and C from 30 each (the same 30: v < 30 on B, v >= 30 on C).
        let (b, cc) = if v < 30 { (YES, NO) } else { (NO, YES) };
        assert!(c.cast(id, v + 1, vec![NO, YES, ABSTAIN, YES, b, cc, YES]).is_success());
    }
    for v in 0..40u8 {
        let (b, cc) = if v < 30 { (YES, YES) } else { (NO, NO) };
        let out = c.cast(id, 150 + v, vec![YES, NO, NO, YES, b, cc, NO]);
        assert!(out.is_success(), "{:?}", decode_err(&out));
    }
    c.now_ms = end;
    let logs = c.finalize(id);
    // First election: 张三 40 yes, 李四 60, 王五 0 → only 李四 passes, elected.
    let p0 = c.proposal(id, 0);
    assert_eq!((p0.firstLine, p0.lineCount, p0.seats, p0.electedMask, p0.tiedMask), (0, 3, 1, 0b010, 0));
    // Second: A 100 yes, B 60, C 60 → all pass; A elected, B and C tied for the second seat.
    let p1 = c.proposal(id, 1);
    assert_eq!((p1.firstLine, p1.electedMask, p1.tiedMask), (3, 0b001, 0b110));
    let elections: Vec<_> = logs.iter().filter_map(|l| LinliGovernance::ElectionDecided::decode_log(l).ok()).map(|l| (l.data.proposalIndex, l.data.electedMask, l.data.tiedMask)).collect();
    assert_eq!(elections, vec![(0, 0b010, 0), (1, 0b001, 0b110)]);
    assert!(c.line(id, 6).passed);
    assert_eq!(c.line(id, 6).proposalIndex, 2);
    let election = plan(h(1), id, 0, 100);
    assert_eq!(c.err(c.property, election), E::MatterNotFundable(LinliGovernance::MatterNotFundable { matter: 3 }));
}

// ------------------------------------------------------------------ the roll on chain

fn roll_batch(id: B256, keys: &[(B256, u64, u32)]) -> LinliGovernance::addRollKeysCall {
    LinliGovernance::addRollKeysCall {
        meetingId: id,
        keys: keys.iter().map(|k| k.0).collect(),
        areaCm2: keys.iter().map(|k| k.1).collect(),
        heads: keys.iter().map(|k| k.2).collect(),
    }
}

#[test]
fn roll_keys_are_registered_in_ascending_batches_within_the_totals() {
    let mut c = Chain::new();
    let id = h(0x40);
    c.open_unregistered(id, 10_000, 10, false, 0);
    let (k1, k2, k3, k4) = (roll_key(1, 0), roll_key(2, 0), roll_key(3, 0), roll_key(4, 0));
    assert_eq!(c.err(c.committee, roll_batch(h(0xee), &[(k1, 1, 1)])), E::UnknownMeeting(LinliGovernance::UnknownMeeting { meetingId: h(0xee) }));
    // One area and one headcount per key.
    let uneven = LinliGovernance::addRollKeysCall { meetingId: id, keys: vec![k1, k2], areaCm2: vec![1], heads: vec![1, 1] };
    assert_eq!(
        c.err(c.committee, uneven),
        E::RollKeysMismatch(LinliGovernance::RollKeysMismatch { keys: U256::from(2), areas: U256::from(1), heads: U256::from(2) })
    );
    let uneven = LinliGovernance::addRollKeysCall { meetingId: id, keys: vec![k1, k2], areaCm2: vec![1, 1], heads: vec![1] };
    assert_eq!(
        c.err(c.committee, uneven),
        E::RollKeysMismatch(LinliGovernance::RollKeysMismatch { keys: U256::from(2), areas: U256::from(2), heads: U256::from(1) })
    );
    // Strictly ascending from the zero id: the zero id itself, a key twice and a descending pair are refused.
    assert_eq!(
        c.err(c.committee, roll_batch(id, &[(B256::ZERO, 1, 1)])),
        E::RollKeyOrder(LinliGovernance::RollKeyOrder { previous: B256::ZERO, given: B256::ZERO })
    );
    assert_eq!(c.err(c.committee, roll_batch(id, &[(k1, 1, 1), (k1, 1, 1)])), E::RollKeyOrder(LinliGovernance::RollKeyOrder { previous: k1, given: k1 }));
    assert_eq!(c.err(c.committee, roll_batch(id, &[(k2, 1, 1), (k1, 1, 1)])), E::RollKeyOrder(LinliGovernance::RollKeyOrder { previous: k2, given: k1 }));

    let out = c.send(c.committee, roll_batch(id, &[(k1, 4_000, 4), (k3, 2_000, 2)]));
    assert!(out.is_success(), "{:?}", decode_err(&out));
    let ev = LinliGovernance::RollKeysAdded::decode_log(&out.logs[0]).unwrap();
    assert_eq!((ev.data.keys.clone(), ev.data.areaCm2.clone(), ev.data.heads.clone()), (vec![k1, k3], vec![4_000, 2_000], vec![4, 2]));
    assert_eq!(out.logs[0].topics(), &[keccak256("RollKeysAdded(bytes32,bytes32[],uint64[],uint32[])"), id]);
    // Ascending across batches too: a later batch starts above the last key registered.
    assert_eq!(c.err(c.committee, roll_batch(id, &[(k2, 1, 1)])), E::RollKeyOrder(LinliGovernance::RollKeyOrder { previous: k3, given: k2 }));
    assert_eq!(c.err(c.committee, roll_batch(id, &[(k3, 1, 1)])), E::RollKeyOrder(LinliGovernance::RollKeyOrder { previous: k3, given: k3 }));
    // Never beyond the totals: 6000 + 4001 centi-m², resp. 6 + 5 persons; a weight beyond uint64 sums without wrapping.
    assert_eq!(
        c.err(c.committee, roll_batch(id, &[(k4, 4_001, 4)])),
        E::RollExceedsTotals(LinliGovernance::RollExceedsTotals { areaWouldBe: U256::from(10_001), headsWouldBe: U256::from(10) })
    );
    assert_eq!(
        c.err(c.committee, roll_batch(id, &[(k4, 4_000, 5)])),
        E::RollExceedsTotals(LinliGovernance::RollExceedsTotals { areaWouldBe: U256::from(10_000), headsWouldBe: U256::from(11) })
    );
    assert_eq!(
        c.err(c.committee, roll_batch(id, &[(k4, 1, 1), (roll_key(5, 0), u64::MAX, 1)])),
        E::RollExceedsTotals(LinliGovernance::RollExceedsTotals {
            areaWouldBe: U256::from(u64::MAX) + U256::from(6_001),
            headsWouldBe: U256::from(8)
        })
    );
    // A refused batch registers none of its keys.
    assert!(!c.roll_key(id, k4).registered);
    let k = c.roll_key(id, k1);
    assert_eq!((k.registered, k.areaCm2, k.heads, k.coveredBy), (true, 4_000, 4, B256::ZERO));
    let roll = c.view(LinliGovernance::getRollCall { meetingId: id });
    assert_eq!((roll.rollKeyCount, roll.rollAreaCm2, roll.rollHeads, roll.revealedCount), (2, 6_000, 6, 0));
    // Exactly the rest of the totals is accepted.
    c.ok(c.committee, roll_batch(id, &[(k4, 4_000, 4)]));
    let roll = c.view(LinliGovernance::getRollCall { meetingId: id });
    assert_eq!((roll.rollKeyCount, roll.rollAreaCm2, roll.rollHeads), (3, 10_000, 10));
}

#[test]
fn sheets_wait_for_the_whole_roll_and_the_roll_closes_with_the_first_sheet() {
    let mut c = Chain::new();
    let id = h(0x41);
    let (start, _) = c.open_unregistered(id, 10_000, 10, false, 0);
    c.propose(id, 0, 9);
    let (k1, k2, k3) = (roll_key(1, 0), roll_key(2, 0), roll_key(3, 0));
    c.ok(c.committee, roll_batch(id, &[(k1, 6_000, 6)]));
    // The chain's clock a second behind, the sheet stated at the start: only the roll is missing.
    c.now_ms = start - 1_000;
    let sheet = |c: &mut Chain| c.cast_keys(id, 1, vec![k1], vec![YES], h(0x81), start);
    assert_eq!(decode_err(&sheet(&mut c)).unwrap(), E::RollIncomplete(LinliGovernance::RollIncomplete { rollAreaCm2: 6_000, rollHeads: 6 }));
    // All the heads but not all the area: still incomplete.
    c.ok(c.committee, roll_batch(id, &[(k2, 0, 4)]));
    assert_eq!(decode_err(&sheet(&mut c)).unwrap(), E::RollIncomplete(LinliGovernance::RollIncomplete { rollAreaCm2: 6_000, rollHeads: 10 }));
    c.ok(c.committee, roll_batch(id, &[(k3, 4_000, 0)]));
    let out = sheet(&mut c);
    assert!(out.is_success(), "{:?}", decode_err(&out));
    assert_eq!(c.roll_key(id, k1).coveredBy, h(1));
    // Once a sheet is counted the roll is closed, although the chain's clock has not reached the start.
    assert_eq!(c.err(c.committee, roll_batch(id, &[(roll_key(9, 0), 0, 0)])), E::RollClosed(LinliGovernance::RollClosed { meetingId: id }));

    // All the area but not all the heads: incomplete; and at the start the roll closes, so the meeting takes no sheet.
    let other = h(0x42);
    let (other_start, _) = c.open_unregistered(other, 100, 1, false, 0);
    c.propose(other, 0, 9);
    c.ok(c.committee, roll_batch(other, &[(k1, 100, 0)]));
    assert_eq!(
        decode_err(&c.cast_keys(other, 1, vec![k1], vec![YES], h(0x81), other_start)).unwrap(),
        E::RollIncomplete(LinliGovernance::RollIncomplete { rollAreaCm2: 100, rollHeads: 0 })
    );
    c.now_ms = other_start;
    assert_eq!(c.err(c.committee, roll_batch(other, &[(k2, 0, 1)])), E::RollClosed(LinliGovernance::RollClosed { meetingId: other }));
}

#[test]
fn a_roll_key_is_covered_by_one_sheet_only() {
    let mut c = Chain::new();
    let id = h(0x43);
    let (start, end) = c.open(id, 10_000, 10, &[(1, 2_000, 2), (2, 3_000, 3), (2, 1_000, 1)]);
    c.propose(id, 0, 9);
    c.now_ms = start;
    let (k1, k2a, k2b) = (roll_key(1, 0), roll_key(2, 0), roll_key(2, 1));
    assert!(c.cast(id, 2, vec![YES]).is_success());
    // Another voter's sheet naming a key voter 2's sheet covers: refused, alone or after a free key...
    assert_eq!(
        decode_err(&c.cast_keys(id, 3, vec![k2b], vec![NO], h(0x83), start)).unwrap(),
        E::KeyCovered(LinliGovernance::KeyCovered { key: k2b, coveredBy: h(2) })
    );
    assert_eq!(
        decode_err(&c.cast_keys(id, 3, vec![k1, k2a], vec![NO], h(0x83), start)).unwrap(),
        E::KeyCovered(LinliGovernance::KeyCovered { key: k2a, coveredBy: h(2) })
    );
    // ...which the refused sheet leaves free.
    assert_eq!(c.roll_key(id, k1).coveredBy, B256::ZERO);
    // The contract knows no owner of a key, only that one sheet covers it: voter 3 may cover the free k1 and the
    // filler key, and then voter 1's own sheet is refused for k1.
    assert!(c.cast_keys(id, 3, vec![k1, FILLER_KEY], vec![NO], h(0x83), start).is_success());
    assert_eq!(
        decode_err(&c.cast(id, 1, vec![NO])).unwrap(),
        E::KeyCovered(LinliGovernance::KeyCovered { key: k1, coveredBy: h(3) })
    );
    let covered: Vec<_> = [k1, k2a, k2b, FILLER_KEY].into_iter().map(|k| c.roll_key(id, k).coveredBy).collect();
    assert_eq!(covered, vec![h(3), h(2), h(2), h(3)]);
    // Two sheets, all ten persons: voter 2 with 3000 + 1000 / 3 + 1, voter 3 with 2000/2 + the filler's 4000/4.
    let m = c.view(LinliGovernance::getMeetingCall { meetingId: id });
    assert_eq!((m.partAreaCm2, m.partHeads, m.sheetCount), (10_000, 10, 2));
    c.now_ms = end;
    c.finalize(id);
    assert_eq!(c.tallies(id, 1), vec![(vec![4_000, 6_000, 0], vec![4, 6, 0])]);
}

#[test]
fn a_sheet_weighs_exactly_the_registered_keys_it_covers() {
    let mut c = Chain::new();
    let id = h(0x44);
    let (start, end) = c.open(id, 10_000, 10, &[(1, 3_000, 3), (1, 1_000, 1), (2, 2_000, 2)]);
    c.propose(id, 0, 9);
    // Another meeting's key is not one of this meeting's roll.
    let other = h(0x45);
    c.open(other, 100, 1, &[(5, 100, 1)]);
    c.now_ms = start;
    let (k1a, k1b) = (roll_key(1, 0), roll_key(1, 1));
    let refused = |c: &mut Chain, keys: Vec<B256>| decode_err(&c.cast_keys(id, 1, keys, vec![YES], h(0x81), start)).unwrap();
    assert_eq!(refused(&mut c, vec![k1a, roll_key(1, 2)]), E::UnknownRollKey(LinliGovernance::UnknownRollKey { meetingId: id, key: roll_key(1, 2) }));
    assert_eq!(refused(&mut c, vec![roll_key(5, 0)]), E::UnknownRollKey(LinliGovernance::UnknownRollKey { meetingId: id, key: roll_key(5, 0) }));
    // Each key once, ascending from the zero id: a forwarder cannot count one key twice in a sheet.
    assert_eq!(refused(&mut c, vec![B256::ZERO]), E::KeyOrder(LinliGovernance::KeyOrder { previous: B256::ZERO, given: B256::ZERO }));
    assert_eq!(refused(&mut c, vec![k1a, k1a]), E::KeyOrder(LinliGovernance::KeyOrder { previous: k1a, given: k1a }));
    assert_eq!(refused(&mut c, vec![k1b, k1a]), E::KeyOrder(LinliGovernance::KeyOrder { previous: k1b, given: k1a }));
    // The refused sheets covered nothing.
    assert_eq!(c.roll_key(id, k1a).coveredBy, B256::ZERO);
    // The weight is the sum of the keys: 3000 + 1000 centi-m², 3 + 1 persons; nothing in the call names a weight.
    let out = c.cast(id, 1, vec![YES]);
    let ev = LinliGovernance::SheetCast::decode_log(&out.logs[0]).unwrap();
    assert_eq!((ev.data.areaCm2, ev.data.heads, ev.data.keys.clone()), (4_000, 4, vec![k1a, k1b]));
    let s = c.sheet(id, 1);
    assert_eq!((s.areaCm2, s.heads, s.keyCount), (4_000, 4, 2));
    assert!(c.cast(id, 2, vec![NO]).is_success());
    let m = c.view(LinliGovernance::getMeetingCall { meetingId: id });
    assert_eq!((m.partAreaCm2, m.partHeads, m.sheetCount), (6_000, 6, 2));
    // Counted with those weights: 6000 < 6667 of the area, no quorum.
    c.now_ms = end;
    c.finalize(id);
    assert_eq!(c.tallies(id, 1), vec![(vec![4_000, 2_000, 0], vec![4, 2, 0])]);
    assert!(!c.line(id, 0).quorumMet);
}

/// The zero id means "covered by no sheet": a sheet in the zero voter's name would leave its keys free for a
/// second sheet, counting their weight twice.
#[test]
fn a_sheet_for_the_zero_voter_is_refused() {
    let mut c = Chain::new();
    let id = h(0x46);
    let (start, _) = c.open(id, 10_000, 10, &[(1, 5_000, 5)]);
    c.propose(id, 0, 9);
    c.now_ms = start;
    let key = roll_key(1, 0);
    let nameless = LinliGovernance::castSheetCall {
        meetingId: id,
        voter: B256::ZERO,
        keys: vec![key],
        commitment: commitment(id, B256::ZERO, h(0x81), h(0x5a), &[YES]),
        sheetHash: h(0x81),
        castAtMs: start,
    };
    assert_eq!(c.err(c.forwarder, nameless), E::ZeroVoter(LinliGovernance::ZeroVoter {}));
    assert_eq!(c.roll_key(id, key).coveredBy, B256::ZERO);
    // The key's own voter covers it, once: 5000/5 of the roll, not twice that.
    assert!(c.cast(id, 1, vec![YES]).is_success());
    assert_eq!(c.roll_key(id, key).coveredBy, h(1));
    let m = c.view(LinliGovernance::getMeetingCall { meetingId: id });
    assert_eq!((m.partAreaCm2, m.partHeads, m.sheetCount), (5_000, 5, 1));
}

// ------------------------------------------------------------------ commit and reveal

/// Meeting `id` of 10000 / 10 with proposals 0 (matter 9) and 1 (matter 6); voters 1 (4000/4), 2 (2000/2) and
/// 3 (1000/1) have cast, voters 4 and 5 (500/1 each) have not. Returns the window.
fn voted_meeting(c: &mut Chain, id: B256, vote_change_allowed: bool) -> (u64, u64) {
    let roll = [(1, 4_000, 4), (2, 2_000, 2), (3, 1_000, 1), (4, 500, 1), (5, 500, 1)];
    let (start, end) = c.open_with(id, 10_000, 10, vote_change_allowed, &roll);
    c.propose(id, 0, 9);
    c.propose(id, 1, 6);
    c.now_ms = start;
    assert!(c.cast(id, 1, vec![YES, YES]).is_success());
    assert!(c.cast(id, 2, vec![YES, NO]).is_success());
    assert!(c.cast(id, 3, vec![NO, ABSTAIN]).is_success());
    (start, end)
}

#[test]
fn tallies_stay_zero_while_voting_and_count_each_sheet_once_revealed() {
    let mut c = Chain::new();
    let id = h(0x50);
    let (_, end) = voted_meeting(&mut c, id, false);
    // The weight is known while voting, the choices are not.
    assert_eq!(c.tallies(id, 2), zero_tallies(2));
    let m = c.view(LinliGovernance::getMeetingCall { meetingId: id });
    assert_eq!((m.partAreaCm2, m.partHeads, m.sheetCount), (7_000, 7, 3));
    c.now_ms = end;
    assert_eq!(c.tallies(id, 2), zero_tallies(2), "closing the window counts nothing");
    let out = c.reveal(id, 1);
    assert!(out.is_success(), "{:?}", decode_err(&out));
    let ev = LinliGovernance::SheetRevealed::decode_log(&out.logs[0]).unwrap();
    assert_eq!((ev.data.sheetHash, ev.data.choices.to_vec()), (h(1 ^ 0x80), vec![YES, YES]));
    assert_eq!(out.logs[0].topics(), &[keccak256("SheetRevealed(bytes32,bytes32,bytes32,bytes)"), id, h(1)]);
    assert_eq!(c.tallies(id, 2), vec![(vec![4_000, 0, 0], vec![4, 0, 0]); 2]);
    assert!(c.sheet(id, 1).revealed && !c.sheet(id, 2).revealed);
    assert_eq!(c.view(LinliGovernance::getRollCall { meetingId: id }).revealedCount, 1);
    // Revealed once: a second reveal of the same sheet is refused and counts nothing.
    let first = c.sent(id, 1);
    assert_eq!(
        decode_err(&c.reveal_with(id, h(1), first.choices, first.salt)).unwrap(),
        E::AlreadyRevealed(LinliGovernance::AlreadyRevealed { meetingId: id, voter: h(1) })
    );
    assert!(c.reveal(id, 2).is_success() && c.reveal(id, 3).is_success());
    assert_eq!(
        c.tallies(id, 2),
        vec![(vec![6_000, 1_000, 0], vec![6, 1, 0]), (vec![4_000, 2_000, 1_000], vec![4, 2, 1])]
    );
    // Participation 7000/7 is a quorum; line 0 yes 6000/6 > 3500/3.5 passes, line 1 (matter 6) yes 4000 < 5250 fails.
    c.finalize(id);
    let (l0, l1) = (c.line(id, 0), c.line(id, 1));
    assert_eq!((l0.quorumMet, l0.passed, l1.quorumMet, l1.passed), (true, true, true, false));
}

#[test]
fn a_reveal_must_open_the_commitment_after_the_window() {
    let mut c = Chain::new();
    let id = h(0x51);
    let (_, end) = voted_meeting(&mut c, id, false);
    let (one, two) = (c.sent(id, 1), c.sent(id, 2));
    c.now_ms = end - 1;
    assert_eq!(
        decode_err(&c.reveal(id, 1)).unwrap(),
        E::VotingNotEnded(LinliGovernance::VotingNotEnded { nowMs: end - 1, endMs: end })
    );
    c.now_ms = end;
    let mismatch = |voter: u8| E::CommitmentMismatch(LinliGovernance::CommitmentMismatch { meetingId: id, voter: h(voter) });
    // Wrong salt, wrong choices, the right choices without one line.
    assert_eq!(decode_err(&c.reveal_with(id, h(1), one.choices.clone(), h(0x5a))).unwrap(), mismatch(1));
    assert_eq!(decode_err(&c.reveal_with(id, h(1), vec![NO, YES], one.salt)).unwrap(), mismatch(1));
    assert_eq!(decode_err(&c.reveal_with(id, h(1), vec![YES], one.salt)).unwrap(), mismatch(1));
    // Another voter's choices and salt, either way round.
    assert_eq!(decode_err(&c.reveal_with(id, h(1), two.choices.clone(), two.salt)).unwrap(), mismatch(1));
    assert_eq!(decode_err(&c.reveal_with(id, h(2), one.choices.clone(), one.salt)).unwrap(), mismatch(2));
    // No sheet, no meeting.
    assert_eq!(
        decode_err(&c.reveal_with(id, h(4), vec![YES, YES], one.salt)).unwrap(),
        E::UnknownSheet(LinliGovernance::UnknownSheet { meetingId: id, voter: h(4) })
    );
    assert_eq!(
        decode_err(&c.reveal_with(h(0xee), h(1), one.choices.clone(), one.salt)).unwrap(),
        E::UnknownMeeting(LinliGovernance::UnknownMeeting { meetingId: h(0xee) })
    );
    assert_eq!(c.tallies(id, 2), zero_tallies(2));
    assert_eq!(c.view(LinliGovernance::getRollCall { meetingId: id }).revealedCount, 0);
    // The right ones open it.
    assert!(c.reveal(id, 1).is_success());
}

#[test]
fn the_commitment_binds_meeting_voter_sheet_hash_salt_and_choices() {
    let mut c = Chain::new();
    let id = h(0x52);
    let (start, end) = c.open(id, 10_000, 10, &[(1, 1_000, 1), (2, 1_000, 1), (3, 1_000, 1), (4, 1_000, 1)]);
    c.propose(id, 0, 9);
    c.now_ms = start;
    let salt = h(0x5a);
    // Each voter's sheet commits with one field other than the one the contract checks against; voter 4's is right.
    let committed = [
        (1, commitment(h(0xee), h(1), h(0x91), salt, &[YES])),
        (2, commitment(id, h(9), h(0x92), salt, &[YES])),
        (3, commitment(id, h(3), h(0x99), salt, &[YES])),
        (4, commitment(id, h(4), h(0x94), salt, &[YES])),
    ];
    for (voter, commitment) in committed {
        let call = LinliGovernance::castSheetCall {
            meetingId: id,
            voter: h(voter),
            keys: vec![roll_key(voter, 0)],
            commitment,
            sheetHash: h(0x90 + voter),
            castAtMs: start,
        };
        c.ok(c.forwarder, call);
    }
    c.now_ms = end;
    for voter in 1..=3 {
        assert_eq!(
            decode_err(&c.reveal_with(id, h(voter), vec![YES], salt)).unwrap(),
            E::CommitmentMismatch(LinliGovernance::CommitmentMismatch { meetingId: id, voter: h(voter) }),
            "voter {voter}"
        );
    }
    let out = c.reveal_with(id, h(4), vec![YES], salt);
    assert!(out.is_success(), "{:?}", decode_err(&out));
    assert_eq!(c.tallies(id, 1), vec![(vec![1_000, 0, 0], vec![1, 0, 0])]);
}

#[test]
fn finalize_waits_until_every_sheet_is_revealed() {
    let mut c = Chain::new();
    let id = h(0x53);
    let (_, end) = voted_meeting(&mut c, id, false);
    c.now_ms = end;
    let finalize = LinliGovernance::finalizeCall { meetingId: id };
    for (voter, unrevealed) in [(1, 3), (2, 2), (3, 1)] {
        assert_eq!(c.err(c.forwarder, finalize.clone()), E::UnrevealedSheets(LinliGovernance::UnrevealedSheets { unrevealed }));
        assert!(c.reveal(id, voter).is_success());
    }
    c.ok(c.forwarder, finalize);
    // Nothing is revealed after finalize.
    let one = c.sent(id, 1);
    assert_eq!(
        decode_err(&c.reveal_with(id, h(1), one.choices, one.salt)).unwrap(),
        E::AlreadyFinalized(LinliGovernance::AlreadyFinalized { meetingId: id })
    );
}

#[test]
fn only_the_current_sheet_of_a_changed_vote_is_revealed() {
    let mut c = Chain::new();
    let id = h(0x54);
    let (start, end) = c.open_with(id, 10_000, 10, true, &[(1, 4_000, 4), (2, 3_000, 3)]);
    c.propose(id, 0, 9);
    c.now_ms = start;
    assert!(c.cast_hashed(id, 1, vec![YES], h(0xa1), start).is_success());
    let superseded = c.sent(id, 1);
    assert!(c.cast_hashed(id, 1, vec![NO], h(0xa2), start + 1).is_success());
    assert!(c.cast(id, 2, vec![YES]).is_success());
    c.now_ms = end;
    // The superseded sheet's choices and salt open nothing: only the current commitment is on chain.
    assert_eq!(
        decode_err(&c.reveal_with(id, h(1), superseded.choices.clone(), superseded.salt)).unwrap(),
        E::CommitmentMismatch(LinliGovernance::CommitmentMismatch { meetingId: id, voter: h(1) })
    );
    let out = c.reveal(id, 1);
    let ev = LinliGovernance::SheetRevealed::decode_log(&out.logs[0]).unwrap();
    assert_eq!((ev.data.sheetHash, ev.data.choices.to_vec()), (h(0xa2), vec![NO]));
    // Two sheets, two reveals: the meeting finalizes, the change counted once with its last choice.
    c.finalize(id);
    assert_eq!(c.tallies(id, 1), vec![(vec![3_000, 4_000, 0], vec![3, 4, 0])]);
    let m = c.view(LinliGovernance::getMeetingCall { meetingId: id });
    assert_eq!((m.partAreaCm2, m.partHeads, m.sheetCount), (7_000, 7, 2));
    assert_eq!(c.view(LinliGovernance::getRollCall { meetingId: id }).revealedCount, 2);
}

#[test]
fn no_sheet_is_accepted_once_reveals_have_started() {
    let mut c = Chain::new();
    let id = h(0x55);
    let (_, end) = voted_meeting(&mut c, id, true);
    c.now_ms = end + 60_000;
    // Stated inside the window and arriving after it, before any reveal: accepted.
    assert!(c.cast_at(id, 4, vec![NO, NO], end - 1).is_success());
    assert!(c.reveal(id, 1).is_success());
    // After the first reveal neither a new sheet nor a change is accepted: a revealed choice must not be answered.
    let started = E::RevealStarted(LinliGovernance::RevealStarted { meetingId: id });
    assert_eq!(decode_err(&c.cast_at(id, 5, vec![NO, NO], end - 1)).unwrap(), started);
    assert_eq!(decode_err(&c.cast_hashed(id, 2, vec![NO, NO], h(0xb2), end - 1)).unwrap(), started);
    c.finalize(id);
    let m = c.view(LinliGovernance::getMeetingCall { meetingId: id });
    assert_eq!((m.partAreaCm2, m.partHeads, m.sheetCount), (7_500, 8, 4));
    assert_eq!(c.view(LinliGovernance::getVoteChangesCall { meetingId: id }).changeCount, 0);
    // Voter 2's first choices are the ones counted: line 0 yes = voters 1 and 2, 6000/6.
    assert_eq!(c.tallies(id, 1)[0], (vec![6_000, 1_500, 0], vec![6, 2, 0]));
}

/// The chain cannot see the choices until the reveal: a commitment to malformed choices is accepted while voting
/// and can never be revealed, so the meeting cannot be finalized (the server validates the choices before it
/// commits to them).
#[test]
fn a_commitment_to_malformed_choices_is_never_counted() {
    let mut c = Chain::new();
    let id = h(0x56);
    let (start, end) = c.open(id, 10_000, 10, &[(1, 3_000, 3), (2, 2_000, 2), (3, 2_000, 2)]);
    c.propose(id, 0, 9);
    c.propose(id, 1, 9);
    c.now_ms = start;
    for (voter, choices) in [(1, vec![YES]), (2, vec![ABSTAIN, 3]), (3, vec![3, YES])] {
        assert!(c.cast(id, voter, choices).is_success());
    }
    c.now_ms = end;
    assert_eq!(
        decode_err(&c.reveal(id, 1)).unwrap(),
        E::ChoiceCountMismatch(LinliGovernance::ChoiceCountMismatch { expected: U256::from(2), given: U256::from(1) })
    );
    assert_eq!(decode_err(&c.reveal(id, 2)).unwrap(), E::InvalidChoice(LinliGovernance::InvalidChoice { line: 1, choice: 3 }));
    assert_eq!(decode_err(&c.reveal(id, 3)).unwrap(), E::InvalidChoice(LinliGovernance::InvalidChoice { line: 0, choice: 3 }));
    assert_eq!(c.tallies(id, 2), zero_tallies(2));
    assert_eq!(
        c.err(c.forwarder, LinliGovernance::finalizeCall { meetingId: id }),
        E::UnrevealedSheets(LinliGovernance::UnrevealedSheets { unrevealed: 3 })
    );
}

// ------------------------------------------------------------------ the signed result

#[test]
fn the_signed_result_is_recorded_once_after_finalize() {
    let mut c = Chain::new();
    let id = h(0x57);
    let (_, end) = voted_meeting(&mut c, id, false);
    let record = |meeting: B256, hash: B256, key: B256| LinliGovernance::recordResultCall { meetingId: meeting, resultHash: hash, signingKey: key };
    c.now_ms = end;
    assert_eq!(c.err(c.forwarder, record(h(0xee), h(0x3a), h(0x3b))), E::UnknownMeeting(LinliGovernance::UnknownMeeting { meetingId: h(0xee) }));
    assert_eq!(c.err(c.forwarder, record(id, h(0x3a), h(0x3b))), E::NotFinalized(LinliGovernance::NotFinalized { meetingId: id }));
    c.finalize(id);
    assert_eq!(c.err(c.forwarder, record(id, B256::ZERO, h(0x3b))), E::ZeroRoot(LinliGovernance::ZeroRoot {}));
    assert_eq!(c.err(c.forwarder, record(id, h(0x3a), B256::ZERO)), E::ZeroRoot(LinliGovernance::ZeroRoot {}));
    let logs = c.ok(c.forwarder, record(id, h(0x3a), h(0x3b)));
    let ev = LinliGovernance::ResultRecorded::decode_log(&logs[0]).unwrap();
    assert_eq!((ev.data.meetingId, ev.data.resultHash, ev.data.signingKey), (id, h(0x3a), h(0x3b)));
    assert_eq!(logs[0].topics(), &[keccak256("ResultRecorded(bytes32,bytes32,bytes32)"), id]);
    // Once: another document (or the same again) is refused, the first stays.
    assert_eq!(c.err(c.forwarder, record(id, h(0x3c), h(0x3d))), E::ResultAlreadyRecorded(LinliGovernance::ResultAlreadyRecorded { meetingId: id }));
    assert_eq!(c.err(c.forwarder, record(id, h(0x3a), h(0x3b))), E::ResultAlreadyRecorded(LinliGovernance::ResultAlreadyRecorded { meetingId: id }));
    // The roll of voted_meeting: five voters' keys and the filler's (10000 - 8000, 10 - 9), three sheets revealed.
    let roll = c.view(LinliGovernance::getRollCall { meetingId: id });
    assert_eq!(
        (roll.rollKeyCount, roll.rollAreaCm2, roll.rollHeads, roll.revealedCount, roll.resultHash, roll.resultSigningKey),
        (6, 10_000, 10, 3, h(0x3a), h(0x3b))
    );
}
