//! Issue 23 acceptance, end to end with the real server, sandbox and devnode: a 120,000.00 yuan lift-repair plan
//! filed by the property company, put to a meeting by the committee and passed by the owners, registered on
//! chain; 70,000.00 and 50,000.00 requested, approved by two committee members (device-signed, PIN) and reported
//! by the bank; a third of 0.01 refused by the API and, sent straight to the contract, by the chain; the funds
//! log anchored and every event's inclusion proof, and a consistency proof from an older checkpoint, verified
//! with `linli-verify`. Refusals along the way change nothing.
//!
//! The community's register is cut down to the three voters' units first (`import-register --allow-removals`),
//! so that three sheets are a full turnout and the proposal can pass.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use alloy_sol_types::SolCall;
use linli_ledger_client::governance::{LinliGovernance, decode_error};
use linli_ledger_client::{CryptoSuite, TxOutcome};
use linli_server::auth::org_app::OrgRole;
use linli_tests::meeting::{Voter, close_meeting, enroll_voters, published_result, submit_sheet, until_voting_opens, voter_persons, wait_for};
use linli_tests::org::OrgApp;
use linli_tests::world::World;
use serde_json::{Value, json};
use uuid::Uuid;

fn sha(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

fn evidence(name: &str) -> Value {
    json!([{"file_name": name, "sha256": sha(name)}])
}

/// Keeps only the units (with their owners) of the first `n` voters of the demo register.
async fn small_register(world: &World, n: usize) {
    let persons = voter_persons(world).await.unwrap();
    let keep: Vec<(String, String)> = persons.iter().take(n).map(|p| (p.building.clone(), p.unit.clone())).collect();
    let demo = std::fs::read_to_string(linli_tests::world::repo_root().join("fixtures/demo-register.csv")).unwrap();
    let mut out = String::new();
    for (i, line) in demo.lines().enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        let keep_line = i == 0
            || f[0] == "community"
            || (f[0] == "building" && keep.iter().any(|(b, _)| b == f[2]))
            || (matches!(f[0], "unit" | "owner") && keep.iter().any(|(b, u)| b == f[2] && u == f[3]));
        if keep_line {
            out.push_str(line);
            out.push('\n');
        }
    }
    let file = world.dir().join("small-register.csv");
    std::fs::write(&file, out).unwrap();
    world.linli(&["import-register", file.to_str().unwrap(), "--allow-removals"]).unwrap();
}

async fn status_of(r: reqwest::Response) -> (u16, Value) {
    let s = r.status().as_u16();
    let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    if s >= 400 {
        assert_eq!(ct, "application/problem+json", "{s} {v}");
    }
    (s, v)
}

fn verify(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(linli_tests::binary("linli-verify").unwrap()).args(args).current_dir(dir).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

async fn approve(voter: &Voter, disbursement: &str, pin: &str) -> (u16, Value) {
    let r = voter.owner.signed("POST", &format!("/v1/disbursements/{disbursement}/approve"), &json!({"pin": pin})).await.unwrap();
    status_of(r).await
}

async fn plan_status(app: &OrgApp, plan: &str) -> Value {
    let r = app.get(&format!("/openapi/v1/fund-plans/{plan}")).await.unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn outbox_done(world: &World, kind: &str) -> i64 {
    use diesel::prelude::*;
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    use linli_server::schema::chain_outbox;
    let mut conn = AsyncPgConnection::establish(world.db.url()).await.unwrap();
    chain_outbox::table
        .filter(chain_outbox::kind.eq(kind))
        .filter(chain_outbox::status.eq("done"))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_lift_repair_plan_is_voted_spent_within_budget_and_verified() {
    let env = [("LINLI_LOGS__CHECKPOINT_INTERVAL_MS".to_owned(), "200".to_owned())];
    let world = World::start_with_chain_env(&env).await.unwrap();
    let chain = world.chain().unwrap();
    let community = world.community_id;
    small_register(&world, 3).await;
    let voters = enroll_voters(&world, "o-funds", 3).await.unwrap();
    {
        use diesel_async::{AsyncConnection, AsyncPgConnection};
        let mut conn = AsyncPgConnection::establish(world.db.url()).await.unwrap();
        for v in &voters[..2] {
            linli_server::auth::roles::grant(&mut conn, v.owner.account_id, community, linli_server::auth::Role::Committee).await.unwrap();
        }
    }
    let (a, b) = (&voters[0], &voters[1]);
    let property = OrgApp::create(&world, OrgRole::Property, &[community]).await.unwrap();
    let bank = OrgApp::create(&world, OrgRole::Bank, &[community]).await.unwrap();
    let other_bank = OrgApp::create(&world, OrgRole::Bank, &[]).await.unwrap();

    // An excluded item is refused and files nothing.
    let plan = |category: &str| {
        json!({
            "title": "1号楼电梯大修",
            "description": "更换1号楼两部电梯的曳引机与控制柜",
            "items": [
                {"category": "lift", "description": "曳引机更换", "budget_fen": 9_000_000, "contractor": "上海某电梯工程有限公司"},
                {"category": category, "description": "控制柜更换", "budget_fen": 3_000_000, "contractor": "上海某电梯工程有限公司"}
            ],
            "evidence": evidence("报价单.pdf")
        })
    };
    let path = format!("/openapi/v1/communities/{community}/fund-plans");
    let (s, p) = status_of(property.post_keyed(&path, &plan("warranty_defect"), Some("plan-bad")).await.unwrap()).await;
    assert_eq!((s, p["code"].as_str()), (422, Some("fund_item_excluded")), "{p}");
    let (s, filed) = status_of(property.post_keyed(&path, &plan("lift"), Some("plan-1")).await.unwrap()).await;
    assert_eq!(s, 201, "{filed}");
    assert_eq!(filed["budget_fen"], 12_000_000);
    let shares: i64 = filed["document"]["apportionment"].as_array().unwrap().iter().map(|s| s["share_fen"].as_i64().unwrap()).sum();
    assert_eq!(shares, 12_000_000, "the apportionment covers the budget exactly");
    // The same key again: the same plan, not a second one.
    let (s, again) = status_of(property.post_keyed(&path, &plan("lift"), Some("plan-1")).await.unwrap()).await;
    assert_eq!((s, &again["id"]), (201, &filed["id"]));
    let plan_id = filed["id"].as_str().unwrap().to_owned();
    let (s, p) = status_of(property.post_keyed(&format!("/openapi/v1/fund-plans/{plan_id}/file"), &json!({}), None).await.unwrap()).await;
    assert_eq!((s, p["status"].as_str()), (200, Some("filed")), "{p}");

    // A disbursement against a plan that did not pass is refused.
    let disb = |fen: i64| {
        json!({"amount_fen": fen, "contractor": "上海某电梯工程有限公司", "invoice": evidence(&format!("发票{fen}.pdf")), "acceptance": evidence(&format!("验收单{fen}.pdf"))})
    };
    let dpath = format!("/openapi/v1/fund-plans/{plan_id}/disbursements");
    let (s, p) = status_of(property.post_keyed(&dpath, &disb(7_000_000), Some("d-early")).await.unwrap()).await;
    assert_eq!((s, p["code"].as_str()), (409, Some("fund_plan_not_approved")), "{p}");

    // The committee drafts a meeting, attaches the plan to its matter-5 proposal, opens it; all three vote yes.
    let base = format!("/v1/communities/{community}/logs/funds");
    let starts = chrono::Utc::now() + chrono::Duration::seconds(10);
    let ends = starts + chrono::Duration::seconds(8);
    let draft = json!({
        "title": "电梯大修表决", "proposals": [{"matter": 5, "title": "使用维修资金大修电梯", "body": "使用维修资金大修1号楼电梯"}],
        "notice_days": 0, "voting_starts_at": starts.to_rfc3339(), "voting_ends_at": ends.to_rfc3339()
    });
    let r = a.owner.post(&format!("/v1/communities/{community}/meetings"), &draft).await.unwrap();
    let (s, m) = status_of(r).await;
    assert_eq!(s, 201, "{m}");
    let meeting = m["id"].as_str().unwrap().to_owned();
    let (s, p) = status_of(a.owner.post(&format!("/v1/fund-plans/{plan_id}/attach"), &json!({"meeting_id": meeting, "proposal_index": 0})).await.unwrap()).await;
    assert_eq!((s, p["status"].as_str()), (200, Some("in_meeting")), "{p}");
    let (s, view) = status_of(a.owner.get(&format!("/v1/meetings/{meeting}")).await.unwrap()).await;
    assert_eq!(s, 200);
    assert!(view["proposals"][0]["body"].as_str().unwrap().contains(filed["plan_hash"].as_str().unwrap()), "{view}");
    for (who, step) in [(a, "submit"), (a, "committee-review"), (b, "committee-review"), (b, "open")] {
        let r = who.owner.post(&format!("/v1/meetings/{meeting}/{step}"), &json!({"approved": true})).await.unwrap();
        assert_eq!(r.status(), 200, "{step}: {}", r.text().await.unwrap());
    }
    // The checkpoint before the money moves, for the consistency proof at the end.
    let dir = world.dir().join("verify");
    std::fs::create_dir_all(&dir).unwrap();
    let old_note = wait_for(Duration::from_secs(20), || async {
        let r = a.owner.get(&format!("{base}/checkpoint")).await?;
        Ok(if r.status() == 200 { Some(r.text().await?) } else { None })
    })
    .await
    .unwrap();
    let old_size: u64 = old_note.lines().nth(1).unwrap().parse().unwrap();
    std::fs::write(dir.join("old.txt"), &old_note).unwrap();

    until_voting_opens(starts).await;
    let mid: Uuid = meeting.parse().unwrap();
    for (i, v) in voters.iter().enumerate() {
        let answer = submit_sheet(v, mid, &[0], &format!("funds-sheet-{i}"), Duration::from_secs(20)).await.unwrap();
        assert_eq!(answer.status, 201, "{}", answer.body);
    }
    tokio::time::sleep((ends - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(300)).await;
    close_meeting(&a.owner, mid).await.unwrap();
    let result = published_result(&a.owner, mid, Duration::from_secs(30)).await.unwrap();
    assert_eq!(result["document"]["proposals"][0]["passed"], true, "{result}");

    // Passed: approved here and registered on chain.
    wait_for(Duration::from_secs(30), || async {
        let v = plan_status(&property, &plan_id).await;
        Ok((v["status"] == "approved" && outbox_done(&world, "register_fund_plan").await == 1).then_some(()))
    })
    .await
    .unwrap();
    let pid = linli_server::funds::domain::chain_id(plan_id.parse().unwrap());
    let call = LinliGovernance::getFundPlanCall { planId: pid.into() }.abi_encode();
    let out = chain.client.call(&chain.contract, &call).await.unwrap().unwrap();
    let on_chain = LinliGovernance::getFundPlanCall::abi_decode_returns(&out).unwrap();
    assert!(on_chain.exists);
    assert_eq!(on_chain.budgetFen, 12_000_000);
    assert_eq!(hex::encode(on_chain.planHash), filed["plan_hash"].as_str().unwrap());

    // Two disbursements, each approved by two members and reported by the bank.
    let mut ids = Vec::new();
    for (n, fen) in [(1, 7_000_000i64), (2, 5_000_000)] {
        let (s, d) = status_of(property.post_keyed(&dpath, &disb(fen), Some(&format!("d-{n}"))).await.unwrap()).await;
        assert_eq!(s, 201, "{d}");
        let id = d["id"].as_str().unwrap().to_owned();
        if n == 1 {
            // Not on the committee, or a wrong PIN: refused, nothing counted.
            let (s, _) = approve(&voters[2], &id, &voters[2].pin).await;
            assert_eq!(s, 404);
            let wrong = if a.pin == "258147" { "369258" } else { "258147" };
            let (s, p) = approve(a, &id, wrong).await;
            assert_eq!((s, p["code"].as_str()), (403, Some("pin_incorrect")), "{p}");
        }
        let (s, first) = approve(a, &id, &a.pin).await;
        assert_eq!((s, first["approvals"].as_i64(), first["disbursement"]["status"].as_str()), (200, Some(1), Some("requested")), "{first}");
        let (s, second) = approve(b, &id, &b.pin).await;
        assert_eq!((s, second["approvals"].as_i64(), second["disbursement"]["status"].as_str()), (200, Some(2), Some("approved")), "{second}");
        let report = json!({"bank_ref": format!("BOC2026120{n}0001"), "amount_fen": fen, "executed_on": "2026-12-05", "counterparty": "上海某电梯工程有限公司"});
        let rpath = format!("/openapi/v1/disbursements/{id}/bank-report");
        let (s, p) = status_of(other_bank.post_keyed(&rpath, &report, Some(&format!("r-{n}"))).await.unwrap()).await;
        assert_eq!(s, 404, "another bank's app: {p}");
        let (s, done) = status_of(bank.post_keyed(&rpath, &report, Some(&format!("r-{n}"))).await.unwrap()).await;
        assert_eq!((s, done["status"].as_str()), (200, Some("executed")), "{done}");
        // Repeated, with the key or without it being the same: one entry, the same answer.
        let (s, again) = status_of(bank.post_keyed(&rpath, &report, Some(&format!("r-{n}"))).await.unwrap()).await;
        assert_eq!((s, &again["reported_at"]), (200, &done["reported_at"]));
        let (s, again) = status_of(bank.post_keyed(&rpath, &report, Some(&format!("r-{n}-retry"))).await.unwrap()).await;
        assert_eq!((s, &again["reported_at"]), (200, &done["reported_at"]));
        ids.push(id);
    }
    let (s, p) = status_of(bank.post_keyed("/openapi/v1/disbursements/0193a5b2-0000-7000-8000-000000000000/bank-report", &json!({"bank_ref": "X", "amount_fen": 1, "executed_on": "2026-12-05", "counterparty": "X"}), Some("r-unknown")).await.unwrap()).await;
    assert_eq!(s, 404, "{p}");

    // A third of 0.01 yuan: refused by the API …
    let (s, p) = status_of(property.post_keyed(&dpath, &disb(1), Some("d-3")).await.unwrap()).await;
    assert_eq!((s, p["code"].as_str()), (422, Some("over_budget")), "{p}");
    // … and by the chain when sent straight to the contract with the committee's key.
    wait_for(Duration::from_secs(30), || async {
        Ok((outbox_done(&world, "approve_disbursement").await == 2 && outbox_done(&world, "record_disbursement_execution").await == 2).then_some(()))
    })
    .await
    .unwrap();
    let key = chain.env.iter().find(|(k, _)| k == "LINLI_CHAIN__COMMITTEE_KEY_FILE").unwrap().1.clone();
    let committee = linli_ledger_client::keys::load_signer(CryptoSuite::Ecdsa, &key).unwrap();
    let direct = LinliGovernance::approveDisbursementCall {
        disbursementId: linli_server::funds::domain::chain_id(Uuid::now_v7()).into(),
        planId: pid.into(),
        amountFen: 1,
        payeeHash: [1u8; 32].into(),
        evidenceHash: [2u8; 32].into(),
    };
    let prepared = chain.client.prepare(&committee, Some(chain.contract), direct.abi_encode()).await.unwrap();
    match chain.client.send_prepared_with(&prepared, &decode_error).await.unwrap() {
        TxOutcome::Reverted { reason, .. } => assert!(format!("{reason:?}").contains("OverBudget"), "{reason:?}"),
        other => panic!("the chain accepted a disbursement over budget: {other:?}"),
    }
    let on_chain = LinliGovernance::getFundPlanCall::abi_decode_returns(&chain.client.call(&chain.contract, &call).await.unwrap().unwrap()).unwrap();
    assert_eq!((on_chain.approvedFen, on_chain.executedFen), (12_000_000, 12_000_000));
    let v = plan_status(&property, &plan_id).await;
    assert_eq!((v["status"].as_str(), v["executed_fen"].as_i64(), v["remaining_fen"].as_i64()), (Some("closed"), Some(12_000_000), Some(0)), "{v}");

    // The funds log: anchored, every event's inclusion proof verified by linli-verify, and consistent with the
    // checkpoint taken before the money moved.
    let key = a.owner.get(&format!("{base}/key")).await.unwrap().text().await.unwrap();
    std::fs::write(dir.join("key"), key).unwrap();
    let events = ["plan_filed", "plan_in_meeting", "plan_decided", "disbursement_requested", "disbursement_approval", "disbursement_approved", "disbursement_executed"];
    let (note, size) = wait_for(Duration::from_secs(30), || async {
        let note = a.owner.get(&format!("{base}/checkpoint")).await?.text().await?;
        let size: u64 = note.lines().nth(1).unwrap_or("0").parse().unwrap_or(0);
        // 3 plan events, then per disbursement: request, 2 approvals, approved, executed.
        Ok((size == 3 + 2 * 5).then_some((note, size)))
    })
    .await
    .unwrap();
    std::fs::write(dir.join("cp.txt"), &note).unwrap();
    let rpc = chain.devnode.url.clone();
    let contract = chain.contract.to_string();
    let mut seen = std::collections::BTreeSet::new();
    for index in 0..size {
        let entry: Value = a.owner.get(&format!("{base}/entries/{index}")).await.unwrap().json().await.unwrap();
        seen.insert(entry["decoded"]["event"].as_str().unwrap().to_owned());
        let proof: Value = a.owner.get(&format!("{base}/proof/inclusion?index={index}&tree_size={size}")).await.unwrap().json().await.unwrap();
        std::fs::write(dir.join("entry.json"), entry.to_string()).unwrap();
        std::fs::write(dir.join("proof.json"), proof.to_string()).unwrap();
        let args = ["--key", "@key", "--checkpoint", "cp.txt", "--entry", "entry.json", "--inclusion", "proof.json", "--rpc", &rpc, "--contract", &contract];
        let (code, out) = wait_for(Duration::from_secs(20), || async {
            let (code, out) = verify(&dir, &args);
            Ok((code == 0).then_some((code, out)))
        })
        .await
        .unwrap_or_else(|_| verify(&dir, &args));
        assert_eq!(code, 0, "entry {index}: {out}");
    }
    assert_eq!(seen, events.iter().map(|e| e.to_string()).collect());
    let consistency: Value =
        a.owner.get(&format!("{base}/proof/consistency?first={old_size}&second={size}")).await.unwrap().json().await.unwrap();
    std::fs::write(dir.join("consistency.json"), consistency.to_string()).unwrap();
    let (code, out) = verify(&dir, &["--key", "@key", "--checkpoint", "cp.txt", "--old-checkpoint", "old.txt", "--consistency", "consistency.json", "--rpc", &rpc, "--contract", &contract]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ok    consistency") && out.contains("ok    anchor"), "{out}");
    // Fund events were disclosed automatically; a disclosed service contract verifies like any entry.
    let feed: Value = a.owner.get(&format!("/v1/communities/{community}/disclosures?category=fund_event")).await.unwrap().json().await.unwrap();
    assert_eq!(feed.as_array().unwrap().len(), 3, "the decision and two transfers: {feed}");
    use base64::Engine;
    let contract_item = json!({
        "category": "service_contract", "title": "电梯维保合同", "period": "2026", "body": "电梯维护保养合同及全部附件",
        "attachments": [{"file_name": "电梯维保合同.pdf", "content_base64": base64::engine::general_purpose::STANDARD.encode(b"%PDF-1.7\n%contract\n")}]
    });
    let (s, item) = status_of(property.post_keyed(&format!("/openapi/v1/communities/{community}/disclosures"), &contract_item, Some("contract-1")).await.unwrap()).await;
    assert_eq!(s, 201, "{item}");
    let index = item["log_index"].as_u64().unwrap();
    let dbase = format!("/v1/communities/{community}/logs/disclosure");
    let (dnote, dsize) = wait_for(Duration::from_secs(30), || async {
        let r = a.owner.get(&format!("{dbase}/checkpoint")).await?;
        if r.status() != 200 {
            return Ok(None);
        }
        let note = r.text().await?;
        let size: u64 = note.lines().nth(1).unwrap_or("0").parse().unwrap_or(0);
        Ok((size > index).then_some((note, size)))
    })
    .await
    .unwrap();
    std::fs::write(dir.join("dcp.txt"), &dnote).unwrap();
    let entry: Value = a.owner.get(&format!("{dbase}/entries/{index}")).await.unwrap().json().await.unwrap();
    assert_eq!(entry["decoded"]["title"], "电梯维保合同");
    let proof: Value = a.owner.get(&format!("{dbase}/proof/inclusion?index={index}&tree_size={dsize}")).await.unwrap().json().await.unwrap();
    std::fs::write(dir.join("dentry.json"), entry.to_string()).unwrap();
    std::fs::write(dir.join("dproof.json"), proof.to_string()).unwrap();
    let args = ["--key", "@key", "--checkpoint", "dcp.txt", "--entry", "dentry.json", "--inclusion", "dproof.json", "--rpc", &rpc, "--contract", &contract];
    let (code, out) = wait_for(Duration::from_secs(20), || async {
        let (code, out) = verify(&dir, &args);
        Ok((code == 0).then_some((code, out)))
    })
    .await
    .unwrap_or_else(|_| verify(&dir, &args));
    assert_eq!(code, 0, "{out}");

    // A proof request beyond the tree: 422.
    let (s, p) = status_of(a.owner.get(&format!("{base}/proof/inclusion?index=0&tree_size={}", size + 100)).await.unwrap()).await;
    assert_eq!((s, p["code"].as_str()), (422, Some("log_range_invalid")));
}
