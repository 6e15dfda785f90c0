//! End to end through `linli-ledger-client` against the real devnode: deploy with role grants, open a
//! meeting, register its roll keys, cast sheets covering them with commitments to their choices, reveal them
//! after the window, finalize, record the signed result, read the results and compare them with a tally
//! computed here in plain Rust from the same inputs; then a fund plan, disbursements and an anchored batch.
//! Runs on a secp256k1 chain and on an SM chain (same Keccak-dispatch bytecode on both).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use alloy_primitives::{B256, Bytes, keccak256};
use alloy_sol_types::SolCall;
use common::Devnode;
use linli_ledger_client::abi::RevertReason;
use linli_ledger_client::client::{ChainClient, TxOutcome};
use linli_ledger_client::crypto::{Address, CryptoSuite, Signer};
use linli_ledger_client::governance::{LinliGovernance as G, RoleGrant, decode_error, deploy_governance, role};
use linli_ledger_client::rpc::RpcConfig;
use serde_json::json;

struct Unit {
    area: u64,
    heads: u32,
}

/// The roll: 20 units of 80.00 m² + 1.37 m² steps; one of them (the developer's unsold units
/// together) counts as one person with 3 units' area.
fn roll() -> Vec<Unit> {
    (0..20u64)
        .map(|i| Unit { area: if i == 19 { 3 * 8_000 } else { 8_000 + 137 * i }, heads: 1 })
        .collect()
}

/// Who voted what: voters 0..=16 of the roll; one choice per proposal (0 yes, 1 no, 2 abstain).
fn choices(voter: usize) -> Vec<u8> {
    vec![
        if voter.is_multiple_of(3) { 1 } else { 0 },// matter 5
        if voter.is_multiple_of(4) { 2 } else { 0 },// matter 7 (3/4 needed)
        if voter < 8 { 0 } else if voter < 12 { 2 } else { 1 }, // matter 9
    ]
}

const MATTERS: [u8; 3] = [5, 7, 9];
const VOTERS: usize = 17;

/// The law as DESIGN §5 states it, computed independently of the contract.
fn expected(matter: u8, proposal: usize) -> (bool, bool, u64, u32) {
    let units = roll();
    let total_area: u64 = units.iter().map(|u| u.area).sum();
    let total_heads: u32 = units.iter().map(|u| u.heads).sum();
    let (mut part_area, mut part_heads, mut yes_area, mut yes_heads) = (0u128, 0u128, 0u128, 0u128);
    for (v, unit) in units.iter().enumerate().take(VOTERS) {
        part_area += u128::from(unit.area);
        part_heads += u128::from(unit.heads);
        if choices(v)[proposal] == 0 {
            yes_area += u128::from(unit.area);
            yes_heads += u128::from(unit.heads);
        }
    }
    let quorum = part_area * 3 >= u128::from(total_area) * 2 && part_heads * 3 >= u128::from(total_heads) * 2;
    let majority = if (6..=8).contains(&matter) {
        yes_area * 4 >= part_area * 3 && yes_heads * 4 >= part_heads * 3
    } else {
        yes_area * 2 > part_area && yes_heads * 2 > part_heads
    };
    (quorum, quorum && majority, yes_area as u64, yes_heads as u32)
}

/// The roll key of unit `unit`: ascending with the unit's index, as addRollKeys needs them.
fn roll_key(unit: usize) -> B256 {
    B256::left_padding_from(&[0x6b, unit as u8 + 1])
}

/// Voter `v` casts for unit `v` (its one key).
fn voter(v: usize) -> B256 {
    B256::left_padding_from(&[v as u8 + 1])
}

fn salt(v: usize) -> B256 {
    keccak256([0x5a, v as u8])
}

/// `keccak256(meetingId ‖ voter ‖ sheetHash ‖ salt ‖ choices)`, one byte per ballot line.
fn commitment(meeting: B256, voter: B256, sheet_hash: B256, salt: B256, choices: &[u8]) -> B256 {
    keccak256([meeting.as_slice(), voter.as_slice(), sheet_hash.as_slice(), salt.as_slice(), choices].concat())
}

/// Voter `v`'s sheet covering its unit's key, committed to `choices` under `salt(v)`.
fn sheet(meeting: B256, v: usize, choices: &[u8], sheet_hash: B256, cast_at_ms: u64) -> G::castSheetCall {
    G::castSheetCall {
        meetingId: meeting,
        voter: voter(v),
        keys: vec![roll_key(v)],
        commitment: commitment(meeting, voter(v), sheet_hash, salt(v), choices),
        sheetHash: sheet_hash,
        castAtMs: cast_at_ms,
    }
}

fn roll_batch(meeting: B256, units: &[Unit], range: std::ops::Range<usize>) -> G::addRollKeysCall {
    G::addRollKeysCall {
        meetingId: meeting,
        keys: range.clone().map(roll_key).collect(),
        areaCm2: units[range.clone()].iter().map(|u| u.area).collect(),
        heads: units[range].iter().map(|u| u.heads).collect(),
    }
}

/// The custom error's name of a reverted transaction.
fn revert_name(outcome: TxOutcome) -> String {
    match outcome {
        TxOutcome::Reverted { reason: RevertReason::Custom(name), .. } => name,
        other => panic!("expected a custom revert, got {other:?}"),
    }
}

fn evm(a: Address) -> alloy_primitives::Address {
    alloy_primitives::Address::from(a.0)
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

struct Ctx {
    client: ChainClient,
    contract: Address,
}

impl Ctx {
    async fn send<C: SolCall>(&self, from: &Signer, call: C) -> TxOutcome {
        let tx = self.client.prepare(from, Some(self.contract), call.abi_encode()).await.unwrap();
        let outcome = self.client.send_prepared_with(&tx, &decode_error).await.unwrap();
        // Delivering the same bytes again has no second effect: the node answers 10005 and the client
        // reports the committed receipt.
        let again = self.client.send_prepared_with(&tx, &decode_error).await.unwrap();
        assert_eq!(again.receipt().map(|r| r.transaction_hash.clone()), outcome.receipt().map(|r| r.transaction_hash.clone()));
        outcome
    }

    async fn ok<C: SolCall>(&self, from: &Signer, call: C) {
        let outcome = self.send(from, call).await;
        assert!(outcome.is_committed_ok(), "{outcome:?}");
    }

    async fn view<C: SolCall>(&self, call: C) -> C::Return {
        let out = self.client.call(&self.contract, &call.abi_encode()).await.unwrap().unwrap();
        C::abi_decode_returns(&out).unwrap()
    }
}

async fn full_cycle(suite: CryptoSuite, flags: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let node = Devnode::start(dir.path(), flags);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = ChainClient::new("chain0", "group0", suite, RpcConfig::plain(node.url.clone(), "group0")).unwrap();
    let [admin, forwarder, committee, property, bank, anchor] = std::array::from_fn(|_| Signer::random(suite));
    let grants = [
        RoleGrant { account: forwarder.address(), role: role::FORWARDER },
        RoleGrant { account: committee.address(), role: role::COMMITTEE },
        RoleGrant { account: property.address(), role: role::PROPERTY },
        RoleGrant { account: bank.address(), role: role::BANK },
        RoleGrant { account: anchor.address(), role: role::ANCHOR },
    ];
    let contract = deploy_governance(&client, &admin, &grants).await.unwrap();
    let ctx = Ctx { client, contract };
    for g in &grants {
        assert_eq!(ctx.view(G::roleOfCall(evm(g.account))).await, g.role);
    }
    assert_eq!(ctx.view(G::adminCall {}).await, evm(admin.address()));

    // Meeting: opens in one minute, lasts a day.
    let units = roll();
    let total_area: u64 = units.iter().map(|u| u.area).sum();
    let total_heads: u32 = units.iter().map(|u| u.heads).sum();
    let meeting = B256::repeat_byte(0x4d);
    let start = now_ms() + 60_000;
    let end = start + 86_400_000;
    ctx.ok(&committee, G::openMeetingCall {
        meetingId: meeting,
        rollHash: B256::repeat_byte(0x11),
        totalAreaCm2: total_area,
        totalHeads: total_heads,
        startMs: start,
        endMs: end,
        voteChangeAllowed: false,
        tallyRules: 0,
    })
    .await;
    for (i, matter) in MATTERS.iter().enumerate() {
        ctx.ok(&committee, G::addProposalCall {
            meetingId: meeting,
            proposalIndex: i as u8,
            matter: *matter,
            contentHash: B256::repeat_byte(0x20 + i as u8),
            candidates: 0,
            seats: 0,
        })
        .await;
    }
    let sheet_hash = |v: usize| B256::repeat_byte(v as u8 + 0x80);
    // Too early to vote.
    let name = revert_name(ctx.send(&forwarder, sheet(meeting, 0, &choices(0), sheet_hash(0), now_ms())).await);
    assert!(name.starts_with("VotingNotOpen"), "{name}");
    // The frozen roll's keys, one per unit, in two batches. A sheet stated at the start (within the clock skew
    // ahead of the chain) waits for the whole roll.
    ctx.ok(&committee, roll_batch(meeting, &units, 0..10)).await;
    let name = revert_name(ctx.send(&forwarder, sheet(meeting, 0, &choices(0), sheet_hash(0), start)).await);
    assert!(name.starts_with("RollIncomplete"), "{name}");
    ctx.ok(&committee, roll_batch(meeting, &units, 10..20)).await;
    ctx.client.rpc().request("devnode_advanceTime", vec![json!(61_000)]).await.unwrap();

    for v in 0..VOTERS {
        ctx.ok(&forwarder, sheet(meeting, v, &choices(v), sheet_hash(v), start + 1_000)).await;
    }
    // A second sheet for voter 1 (new transaction, other choices) is refused by the contract; so is another
    // voter's sheet naming voter 1's key.
    let dup = sheet(meeting, 0, &[1, 1, 1], B256::repeat_byte(0x7f), start + 1_000);
    let name = revert_name(ctx.send(&forwarder, dup.clone()).await);
    assert!(name.starts_with("DuplicateVoter"), "{name}");
    let name = revert_name(ctx.send(&forwarder, G::castSheetCall { voter: voter(VOTERS), ..dup }).await);
    assert!(name.starts_with("KeyCovered"), "{name}");
    // While voting nothing is counted, and nothing is revealed before the end.
    for line in 0..MATTERS.len() as u8 {
        let t = ctx.view(G::getTallyCall { meetingId: meeting, line }).await;
        assert_eq!((t.areaCm2, t.heads), (vec![0; 3], vec![0; 3]), "line {line}");
    }
    let reveal = |v: usize| G::revealSheetCall { meetingId: meeting, voter: voter(v), choices: Bytes::from(choices(v)), salt: salt(v) };
    let name = revert_name(ctx.send(&forwarder, reveal(0)).await);
    assert!(name.starts_with("VotingNotEnded"), "{name}");

    ctx.client.rpc().request("devnode_advanceTime", vec![json!(86_400_000)]).await.unwrap();
    let name = revert_name(ctx.send(&forwarder, G::revealSheetCall { salt: salt(1), ..reveal(0) }).await);
    assert!(name.starts_with("CommitmentMismatch"), "{name}");
    let name = revert_name(ctx.send(&forwarder, G::finalizeCall { meetingId: meeting }).await);
    assert!(name.starts_with("UnrevealedSheets"), "{name}");
    for v in 0..VOTERS {
        ctx.ok(&forwarder, reveal(v)).await;
    }
    ctx.ok(&forwarder, G::finalizeCall { meetingId: meeting }).await;
    // The signed result document's hash and signing key, once.
    let result = G::recordResultCall { meetingId: meeting, resultHash: B256::repeat_byte(0x3a), signingKey: B256::repeat_byte(0x3b) };
    ctx.ok(&forwarder, result.clone()).await;
    let name = revert_name(ctx.send(&forwarder, result).await);
    assert!(name.starts_with("ResultAlreadyRecorded"), "{name}");
    let roll = ctx.view(G::getRollCall { meetingId: meeting }).await;
    assert_eq!(
        (roll.rollKeyCount, roll.rollAreaCm2, roll.rollHeads, roll.revealedCount, roll.resultHash, roll.resultSigningKey),
        (20, total_area, total_heads, VOTERS as u32, B256::repeat_byte(0x3a), B256::repeat_byte(0x3b))
    );

    for (i, matter) in MATTERS.iter().enumerate() {
        let p = ctx.view(G::getLineCall { meetingId: meeting, line: i as u8 }).await;
        let (quorum, passed, yes_area, yes_heads) = expected(*matter, i);
        assert_eq!((p.quorumMet, p.passed), (quorum, passed), "proposal {i} (matter {matter})");
        let t = ctx.view(G::getTallyCall { meetingId: meeting, line: i as u8 }).await;
        assert_eq!((t.areaCm2[0], t.heads[0]), (yes_area, yes_heads), "proposal {i}");
    }
    // The chosen inputs exercise both outcomes: matter 5 passes, matter 7 and matter 9 fail.
    assert_eq!(MATTERS.iter().enumerate().map(|(i, m)| expected(*m, i).1).collect::<Vec<_>>(), vec![true, false, false]);

    // Funds: plan for the passed matter-5 proposal, a disbursement, its execution, an over-budget one.
    let plan = B256::repeat_byte(0x50);
    ctx.ok(&property, G::registerFundPlanCall { planId: plan, meetingId: meeting, proposalIndex: 0, budgetFen: 1_000_000, planHash: B256::repeat_byte(0x51) }).await;
    let d1 = B256::repeat_byte(0xd1);
    ctx.ok(&committee, G::approveDisbursementCall { disbursementId: d1, planId: plan, amountFen: 600_000, payeeHash: B256::repeat_byte(2), evidenceHash: B256::repeat_byte(3) }).await;
    ctx.ok(&bank, G::recordDisbursementExecutionCall { disbursementId: d1, amountFen: 600_000, bankRefHash: B256::repeat_byte(4) }).await;
    let over = G::approveDisbursementCall { disbursementId: B256::repeat_byte(0xd2), planId: plan, amountFen: 400_001, payeeHash: B256::repeat_byte(2), evidenceHash: B256::repeat_byte(3) };
    match ctx.send(&committee, over).await {
        TxOutcome::Reverted { reason: RevertReason::Custom(name), .. } => assert!(name.starts_with("OverBudget"), "{name}"),
        other => panic!("expected OverBudget, got {other:?}"),
    }
    let p = ctx.view(G::getFundPlanCall { planId: plan }).await;
    assert_eq!((p.budgetFen, p.approvedFen, p.executedFen), (1_000_000, 600_000, 600_000));

    // Anchoring, and its event in the receipt.
    let outcome = ctx
        .send(&anchor, G::anchorBatchCall { stream: "disclosure".into(), firstSeq: 1, lastSeq: 42, root: B256::repeat_byte(0xab) })
        .await;
    let receipt = outcome.receipt().unwrap();
    assert_eq!(receipt.log_entries.len(), 1);
    assert_eq!(receipt.log_entries[0].address, Some(contract));
    assert_eq!(receipt.log_entries[0].topics[0].0, alloy_primitives::keccak256("BatchAnchored(bytes32,string,uint64,uint64,bytes32,uint256)").to_vec());
    assert_eq!(ctx.view(G::lastSequenceCall { stream: "disclosure".into() }).await, 42);
}

#[tokio::test]
async fn full_cycle_on_a_secp256k1_chain() {
    full_cycle(CryptoSuite::Ecdsa, &[]).await;
}

#[tokio::test]
async fn full_cycle_on_an_sm_chain() {
    full_cycle(CryptoSuite::Sm, &["--sm"]).await;
}
