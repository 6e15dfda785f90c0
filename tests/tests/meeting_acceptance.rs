//! The owners' meeting acceptance (issue 6, Acceptance 1) on the demo community 阳光花园: the real `linli` binary
//! with its outbox worker, the sandbox, a real `bcos-devnode` with the contract deployed by `linli chain deploy`.
//!
//! Hundreds of owners enroll through the real flow (face, registry, device certificate, PIN). A meeting with a
//! matter-5 and a matter-7 proposal freezes its roll; the test reads the PUBLISHED roll and, by integer
//! cross-multiplication, picks who votes and how so that participation sits on the quorum bound, the matter-7
//! proposal passes with yes at exactly three quarters of the participating headcount, and the matter-5 proposal
//! fails with yes at exactly half (过半数 is strict) although its yes area is a majority. After close and finalize:
//! the published result equals the contract's tally and decisions, equals this test's own recomputation from the
//! published roll and the sheets it sent, the roll hash recomputes from the published roll, and an owner's verify
//! call finds their sheet counted and on chain.
//!
//! Knobs: `LINLI_ACCEPTANCE_VOTERS` (owners to enroll, default 640), `LINLI_ACCEPTANCE_WINDOW_SECS` (voting
//! window, default 75), `LINLI_ACCEPTANCE_CONCURRENCY` (default 8).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy_sol_types::SolCall;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use linli_ledger_client::governance::LinliGovernance;
use linli_tests::client::sign_request;
use linli_tests::meeting::{close_meeting, committee, open_meeting, published_result, two_proposals, until_voting_opens, wait_for};
use linli_server::auth::org_app::OrgRole;
use linli_tests::org::OrgApp;
use linli_tests::owner::Owner;
use linli_tests::voters::{EnrolledVoter, UnitRef, enroll_many, person_owners, sharing_no_unit};
use linli_tests::world::World;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Area (centi-m²) and headcount.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct W {
    area: i64,
    heads: i64,
}

impl W {
    fn add(&mut self, o: W) {
        self.area += o.area;
        self.heads += o.heads;
    }
    fn from_json(v: &Value) -> W {
        W { area: v["area_centi_m2"].as_i64().unwrap(), heads: v["heads"].as_i64().unwrap() }
    }
}

/// Who votes and how, chosen from the voters' roll weights.
struct Plan {
    /// Index into the voters → (matter-5 choice, matter-7 choice).
    choices: BTreeMap<usize, [u8; 2]>,
}

/// Takes voters (largest area first) until their heads add up to exactly `heads`; None if it cannot.
fn take_exact(order: &[usize], weights: &[W], heads: i64) -> Option<BTreeSet<usize>> {
    let mut sum = 0;
    let mut out = BTreeSet::new();
    for &i in order {
        if sum == heads {
            break;
        }
        if sum + weights[i].heads <= heads {
            sum += weights[i].heads;
            out.insert(i);
        }
    }
    (sum == heads).then_some(out)
}

fn sum(set: &BTreeSet<usize>, weights: &[W]) -> W {
    let mut w = W::default();
    set.iter().for_each(|&i| w.add(weights[i]));
    w
}

/// Participation: the smallest headcount that is a multiple of 4 with `3·h ≥ 2·H` (so three quarters and one half
/// of it are whole), filled with the largest-area voters. Matter 7 yes: exactly 3/4 of those heads (`4·yes = 3·part`,
/// "以上" includes the bound → passes). Matter 5 yes: exactly 1/2 of the heads (`2·yes = part`, "过半数" is strict →
/// fails), with a yes area above half so the headcount alone decides.
fn plan(weights: &[W], total: W) -> Plan {
    let mut order: Vec<usize> = (0..weights.len()).filter(|&i| weights[i].heads > 0).collect();
    order.sort_by_key(|&i| (-weights[i].area, i));
    let mut part_heads = (2 * total.heads + 2) / 3;
    part_heads += (4 - part_heads % 4) % 4;
    let part = take_exact(&order, weights, part_heads).expect("not enough enrolled heads for the quorum: raise LINLI_ACCEPTANCE_VOTERS");
    let pw = sum(&part, weights);
    assert!(3 * pw.heads >= 2 * total.heads && 3 * pw.area >= 2 * total.area, "participation {pw:?} misses the quorum of {total:?}");
    let order_part: Vec<usize> = order.iter().copied().filter(|i| part.contains(i)).collect();
    let yes7 = take_exact(&order_part, weights, pw.heads * 3 / 4).unwrap();
    let y7 = sum(&yes7, weights);
    assert!(4 * y7.heads == 3 * pw.heads && 4 * y7.area >= 3 * pw.area, "matter 7 plan {y7:?} of {pw:?}");
    let yes5 = take_exact(&order_part, weights, pw.heads / 2).unwrap();
    let y5 = sum(&yes5, weights);
    assert!(2 * y5.heads == pw.heads && 2 * y5.area > pw.area, "matter 5 plan {y5:?} of {pw:?}");
    // The others say no or abstain, alternately (abstention participates, never counts as yes).
    let mut choices = BTreeMap::new();
    for (n, &i) in order_part.iter().enumerate() {
        let other = if n % 2 == 0 { 1 } else { 2 };
        choices.insert(i, [if yes5.contains(&i) { 0 } else { other }, if yes7.contains(&i) { 0 } else { other }]);
    }
    Plan { choices }
}

/// This test's own tally of one proposal: per-option weights, quorum, pass, by cross-multiplication.
fn recompute(matter: u8, options: usize, sheets: &[(W, u8)], total: W) -> (Vec<W>, W, bool, bool) {
    let mut per = vec![W::default(); options];
    let mut part = W::default();
    for (w, c) in sheets {
        per[usize::from(*c)].add(*w);
        part.add(*w);
    }
    let quorum = 3 * part.area >= 2 * total.area && 3 * part.heads >= 2 * total.heads;
    let yes = per[0];
    let passes = if (6..=8).contains(&matter) {
        4 * yes.area >= 3 * part.area && 4 * yes.heads >= 3 * part.heads
    } else {
        2 * yes.area > part.area && 2 * yes.heads > part.heads
    };
    (per, part, quorum, quorum && passes)
}

/// The documented roll hash (DESIGN §5, `governance::domain::roll_hash`), from the published roll alone.
fn roll_hash(roll: &Value) -> String {
    let mut entries: Vec<&Value> = roll["entries"].as_array().unwrap().iter().collect();
    entries.sort_by_key(|e| e["headcount_key"].as_str().unwrap().to_owned());
    let mut text = String::from("linli-roll-v1\n");
    for e in entries {
        let mut units: Vec<(String, String, i64)> = e["units"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| (u["building"].as_str().unwrap().to_owned(), u["unit"].as_str().unwrap().to_owned(), u["area_centi_m2"].as_i64().unwrap()))
            .collect();
        units.sort();
        let units: Vec<String> = units.iter().map(|(b, u, a)| format!("{b}/{u}:{a}")).collect();
        text.push_str(&format!("{}\t{}\t1\t{}\n", e["headcount_key"].as_str().unwrap(), e["area_centi_m2"], units.join(",")));
    }
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Sends one sheet as the mini-program does (fresh signature per attempt, same Idempotency-Key), retrying on
/// transport errors, 5xx and a key still in progress.
async fn send_sheet(owner: &Owner, pin: &str, meeting: uuid::Uuid, choices: [u8; 2], key: &str) -> (u16, Value) {
    let path = format!("/v1/meetings/{meeting}/sheets");
    let bytes = serde_json::to_vec(&json!({"pin": pin, "choices": choices})).unwrap();
    for _ in 0..40 {
        let mut headers = sign_request(owner.key.as_ref().unwrap(), owner.serial.as_deref().unwrap(), "POST", &path, &bytes);
        headers.push(("Idempotency-Key".into(), key.into()));
        if let Ok(resp) = owner.send_raw("POST", &path, &bytes, &headers).await {
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            if status < 500 && body["code"] != "idempotency_in_progress" {
                return (status, body);
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("no answer to a sheet after 40 attempts");
}

async fn view<C: SolCall>(chain: &linli_tests::chain::ChainWorld, call: C) -> C::Return {
    let out = chain.client.call(&chain.contract, &call.abi_encode()).await.unwrap().unwrap();
    C::abi_decode_returns(&out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matter_5_fails_and_matter_7_passes_on_their_boundaries() {
    let started = Instant::now();
    let world = World::start_with_chain().await.unwrap();
    let chain = world.chain().unwrap();
    let concurrency = env_u64("LINLI_ACCEPTANCE_CONCURRENCY", 8) as usize;

    // Owners with the largest holdings first, no two sharing a unit (each roll key then has one known voter).
    let mut owners = person_owners(&world.sandbox.base_url()).await.unwrap();
    owners.sort_by_key(|p| (-p.register_area_centi_m2, p.id_number.clone()));
    let mut chosen = sharing_no_unit(&owners);
    chosen.truncate(env_u64("LINLI_ACCEPTANCE_VOTERS", 640) as usize);
    let t = Instant::now();
    let voters: Vec<EnrolledVoter> = enroll_many(&world, chosen, concurrency).await.unwrap();
    println!("enrolled {} owners in {:.1} s", voters.len(), t.elapsed().as_secs_f64());

    let a = committee(&world, "o-acc-com-a").await.unwrap();
    let b = committee(&world, "o-acc-com-b").await.unwrap();
    let starts = chrono::Utc::now() + chrono::Duration::seconds(4);
    let ends = starts + chrono::Duration::seconds(env_u64("LINLI_ACCEPTANCE_WINDOW_SECS", 75) as i64);
    let id = open_meeting(&world, &a, &b, "阳光花园2026年第一次业主大会", two_proposals(), starts, ends).await.unwrap();

    // The published roll: totals, hash, and each voter's weight from the entries holding their units.
    let roll: Value = voters[0].owner.get(&format!("/v1/meetings/{id}/roll")).await.unwrap().json().await.unwrap();
    let total = W { area: roll["total_area_centi_m2"].as_i64().unwrap(), heads: roll["total_heads"].as_i64().unwrap() };
    let entries = roll["entries"].as_array().unwrap();
    assert_eq!(total.heads, entries.len() as i64);
    assert_eq!(total.area, entries.iter().map(|e| e["area_centi_m2"].as_i64().unwrap()).sum::<i64>());
    assert_eq!(roll["roll_hash"].as_str().unwrap(), roll_hash(&roll), "the roll hash recomputes from the published roll");
    let mut entry_of_unit: HashMap<UnitRef, usize> = HashMap::new();
    for (n, e) in entries.iter().enumerate() {
        assert!(e.get("voter_account").is_none() && e.get("name").is_none(), "the published roll names no one");
        for u in e["units"].as_array().unwrap() {
            entry_of_unit.insert(UnitRef { building: u["building"].as_str().unwrap().into(), unit: u["unit"].as_str().unwrap().into() }, n);
        }
    }
    let weights: Vec<W> = voters
        .iter()
        .map(|v| {
            let mine: BTreeSet<usize> = v.person.units.iter().filter_map(|u| entry_of_unit.get(u).copied()).collect();
            let mut w = W::default();
            mine.iter().for_each(|&n| w.add(W { area: entries[n]["area_centi_m2"].as_i64().unwrap(), heads: 1 }));
            w
        })
        .collect();
    let plan = plan(&weights, total);
    println!("roll: {total:?}; {} of {} enrolled owners will vote", plan.choices.len(), voters.len());

    // Voting: every planned sheet, concurrently, before the window ends.
    until_voting_opens(starts).await;
    let voters = Arc::new(voters);
    let t = Instant::now();
    let slots = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    for (&i, &choices) in &plan.choices {
        let (voters, slots) = (voters.clone(), slots.clone());
        tasks.spawn(async move {
            let _slot = slots.acquire_owned().await.unwrap();
            let v = &voters[i];
            let (status, body) = send_sheet(&v.owner, &v.pin, id, choices, &format!("acc-{i}")).await;
            (i, status, body)
        });
    }
    let mut receipts: BTreeMap<usize, Value> = BTreeMap::new();
    while let Some(r) = tasks.join_next().await {
        let (i, status, body) = r.unwrap();
        assert_eq!(status, 201, "voter {i}: {body}");
        // The receipt's weight is the one the published roll gives this voter.
        assert_eq!(W::from_json(&body), weights[i], "voter {i}");
        receipts.insert(i, body);
    }
    let sheets = receipts.len() as u32;
    println!("{sheets} sheets acknowledged in {:.1} s", t.elapsed().as_secs_f64());
    wait_for((ends - chrono::Utc::now()).to_std().unwrap_or_default(), || async {
        Ok((chain.meeting(id).await?.sheet_count == sheets).then_some(()))
    })
    .await
    .expect("every sheet on chain before the window closes (raise LINLI_ACCEPTANCE_WINDOW_SECS)");
    println!("all sheets on chain after {:.1} s", t.elapsed().as_secs_f64());
    // Ballot secrecy while voting (issue 24 item 11): every sheet is on chain, yet the chain holds no choice, and
    // nobody can inspect the ballots before the result.
    for p in 0..2u8 {
        assert_eq!(chain.tally(id, p).await.unwrap(), vec![(0, 0); 3], "proposal {p}: sealed while voting");
    }
    let early = voters[0].owner.get(&format!("/v1/meetings/{id}/ballots")).await.unwrap();
    assert_eq!(early.status(), 409);

    tokio::time::sleep((ends - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(200)).await;
    close_meeting(&a, id).await.unwrap();
    let signed = published_result(&a, id, Duration::from_secs(60)).await
    .unwrap();
    let doc = &signed["document"];
    assert_eq!(doc["chain_agrees"], true);
    assert_eq!(doc["sheets"], sheets);
    assert_eq!(doc["roll_hash"], roll["roll_hash"]);
    assert_eq!((doc["roll_total_area_centi_m2"].as_i64(), doc["roll_total_heads"].as_i64()), (Some(total.area), Some(total.heads)));
    let on_chain = chain.meeting(id).await.unwrap();
    assert!(on_chain.finalized);
    assert_eq!(on_chain.sheet_count, sheets);

    // Anyone can recount (issue 24): the audit script, from the published roll, the document's per-key flags and
    // the chain's events alone, agrees with the document.
    let dir = std::env::temp_dir().join(format!("linli-recount-{id}"));
    std::fs::create_dir_all(&dir).unwrap();
    let (roll_file, result_file) = (dir.join("roll.json"), dir.join("result.json"));
    std::fs::write(&roll_file, serde_json::to_vec(&roll).unwrap()).unwrap();
    std::fs::write(&result_file, serde_json::to_vec(&signed).unwrap()).unwrap();
    let recount = std::process::Command::new("python3")
        .arg(linli_tests::world::repo_root().join("audit/recount.py"))
        .args(["--roll", roll_file.to_str().unwrap(), "--result", result_file.to_str().unwrap(), "--rpc", &chain.devnode.url, "--group", linli_tests::chain::GROUP_ID])
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&recount.stdout);
    println!("{printed}{}", String::from_utf8_lossy(&recount.stderr));
    assert!(recount.status.success() && printed.contains("AGREES"), "the recount disagrees: {printed}");
    // ...and it is no rubber stamp: a document with one decision flipped, or one sheet's key dropped, disagrees...
    // ...nor a document changed anywhere else (its hash is anchored on chain).
    for tamper in ["decision", "key", "title"] {
        let mut forged = signed.clone();
        match tamper {
            "decision" => forged["document"]["proposals"][1]["passed"] = json!(!forged["document"]["proposals"][1]["passed"].as_bool().unwrap()),
            "title" => forged["document"]["title"] = json!("另一个会议"),
            _ => {
                let keys = forged["document"]["roll_keys"].as_array_mut().unwrap();
                let voted = keys.iter_mut().find(|k| k["voted_by"].is_string()).unwrap();
                voted["voted_by"] = Value::Null;
            }
        }
        std::fs::write(&result_file, serde_json::to_vec(&forged).unwrap()).unwrap();
        let out = std::process::Command::new("python3")
            .arg(linli_tests::world::repo_root().join("audit/recount.py"))
            .args(["--roll", roll_file.to_str().unwrap(), "--result", result_file.to_str().unwrap(), "--rpc", &chain.devnode.url, "--group", linli_tests::chain::GROUP_ID])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "a forged {tamper} must disagree: {}", String::from_utf8_lossy(&out.stdout));
    }

    // After the result, owners may inspect every counted sheet without names: the keys it covers and its choices.
    let ballots: Value = voters[0].owner.get(&format!("/v1/meetings/{id}/ballots")).await.unwrap().json().await.unwrap();
    let ballots = ballots["ballots"].as_array().unwrap();
    assert_eq!(ballots.len() as u32, sheets);
    for receipt in receipts.values() {
        let b = ballots.iter().find(|b| b["sheet_hash"] == receipt["sheet_hash"]).expect("every receipt's sheet is inspectable");
        assert_eq!((&b["choices"], &b["area_centi_m2"]), (&receipt["choices"], &receipt["area_centi_m2"]));
        assert!(b["reveal_tx_hash"].is_string() && b.get("account_id").is_none(), "{b}");
    }

    let mid = linli_server::governance::domain::chain_meeting_id(id);
    let mut decided = vec![];
    for (p, matter) in [(0u8, 5u8), (1, 7)] {
        let published = &doc["proposals"][usize::from(p)];
        assert_eq!(published["matter"], matter);
        let strict = &published["lines"][0]["strict"];
        let options: Vec<W> = strict["options"].as_array().unwrap().iter().map(W::from_json).collect();
        // = the contract's tally and decisions.
        let chain_tally: Vec<W> = chain
            .tally(id, p)
            .await
            .unwrap()
            .into_iter()
            .map(|(area, heads)| W { area: area as i64, heads: i64::from(heads) })
            .collect();
        assert_eq!(options, chain_tally, "proposal {p}: published = contract");
        let chain_decision = view(chain, LinliGovernance::getLineCall { meetingId: mid.into(), line: p }).await;
        assert_eq!((strict["quorum"].as_bool(), strict["passed"].as_bool()), (Some(chain_decision.quorumMet), Some(chain_decision.passed)));
        // = this test's recomputation from the published roll and the sheets it sent.
        let sent: Vec<(W, u8)> = plan.choices.iter().map(|(&i, c)| (weights[i], c[usize::from(p)])).collect();
        let (per, part, quorum, passed) = recompute(matter, 3, &sent, total);
        assert_eq!(options, per, "proposal {p}: published = recomputed");
        assert_eq!(W::from_json(&strict["participation"]), part);
        assert_eq!((strict["quorum"].as_bool(), strict["passed"].as_bool()), (Some(quorum), Some(passed)));
        assert_eq!(published["passed"].as_bool(), Some(passed));
        println!("matter {matter}: yes {:?} of participating {part:?} (roll {total:?}): quorum {quorum}, passed {passed}", per[0]);
        decided.push((quorum, passed, per[0], part));
    }
    // The boundaries: matter 5 fails with yes heads exactly half; matter 7 passes with yes heads exactly 3/4.
    let ((q5, pass5, yes5, part), (q7, pass7, yes7, _)) = (decided[0], decided[1]);
    assert!(q5 && q7 && !pass5 && pass7);
    assert_eq!(2 * yes5.heads, part.heads);
    assert!(2 * yes5.area > part.area, "matter 5 fails on heads alone");
    assert_eq!(4 * yes7.heads, 3 * part.heads);

    // An owner checks their sheet: counted and on chain, with the receipt's transaction.
    let (&i, receipt) = receipts.iter().next().unwrap();
    let sheet_id = receipt["sheet_id"].as_str().unwrap();
    let v: Value = voters[i].owner.get(&format!("/v1/meetings/{id}/verify?sheet={sheet_id}")).await.unwrap().json().await.unwrap();
    assert_eq!((v["counted"].as_bool(), v["on_chain"].as_bool()), (Some(true), Some(true)), "{v}");
    assert_eq!(v["sheet_hash"], receipt["sheet_hash"]);
    let mine: Value = voters[i].owner.get(&format!("/v1/meetings/{id}/sheets/mine")).await.unwrap().json().await.unwrap();
    assert_eq!(mine["tx_hash"], v["tx_hash"]);
    let recorded = chain.sheet_of(id, voters[i].owner.account_id).await.unwrap();
    assert_eq!(recorded.map(hex::encode).as_deref(), receipt["sheet_hash"].as_str());

    // The street office supervises (Deliver 8): its app reads the meeting, the roll (hash and totals) and the signed
    // result with its chain references, each equal to what the owners and the committee see.
    let bureau = OrgApp::create(&world, OrgRole::Bureau, &[world.community_id]).await.unwrap();
    let read = async |path: String| -> Value {
        let r = bureau.get(&path).await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        r.json().await.unwrap()
    };
    let m = read(format!("/openapi/v1/meetings/{id}")).await;
    assert_eq!((m["status"].as_str(), &m["roll_hash"]), (Some("finalized"), &roll["roll_hash"]), "{m}");
    assert_eq!(read(format!("/openapi/v1/meetings/{id}/roll")).await, roll);
    assert_eq!(read(format!("/openapi/v1/meetings/{id}/result")).await, signed);
    println!("acceptance run: {:.1} s", started.elapsed().as_secs_f64());
}
