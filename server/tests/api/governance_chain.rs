//! The outbox worker against a real `bcos-devnode` (built by `cargo build -p bcos-devnode`; its path is taken
//! from `LINLI_DEVNODE_BIN` or the same target directory as this test): a meeting is opened, proposals added,
//! sheets cast and the meeting finalized on chain in order; the server then compares the contract's tally with
//! its own and publishes the signed result. Expected sums are computed here from the sheets this test inserts.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use actix_web::test;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use linli_ledger_client::governance::{RoleGrant, deploy_governance, role};
use linli_ledger_client::{ChainClient, ChainRegistry, CryptoSuite, Signer};
use linli_server::auth::Role;
use linli_server::chain::outbox::{self, Kind};
use linli_server::chain::worker::{ChainMetrics, Forwarder, step};
use linli_server::governance::domain;
use linli_server::schema::{accounts, ballot_sheets, chain_contracts, meetings, roll_entries};
use uuid::Uuid;

use crate::common::{TestApp, json_of};
use crate::service;

struct Devnode(Child, String);

impl Drop for Devnode {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn devnode(dir: &std::path::Path) -> Devnode {
    let bin = std::env::var("LINLI_DEVNODE_BIN").map(std::path::PathBuf::from).unwrap_or_else(|_| {
        let mut d = std::env::current_exe().unwrap();
        d.pop();
        if d.ends_with("deps") {
            d.pop();
        }
        d.join("bcos-devnode")
    });
    assert!(bin.exists(), "{} missing: run `cargo build -p bcos-devnode` first", bin.display());
    let mut child = Command::new(bin)
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .args(["--chain-id", "chain0", "--group-id", "group0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("bcos-devnode listening on ").unwrap().to_owned();
    Devnode(child, format!("http://{addr}"))
}

#[actix_web::test]
async fn outbox_forwards_in_order_the_published_result_equals_the_chain_and_a_lost_publication_is_retried() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let node = devnode(&dir.path().join("chain"));
    let t = TestApp::new().await;
    let community = t.import_demo().await;

    let (config, client) = deploy(&t, community, dir.path(), &node).await;
    let mut conn = t.conn().await;

    // A meeting through the API: matter 5 and matter 7, opened (roll frozen) before its window.
    let (a, ta) = t.account().await;
    let (b, tb) = t.account().await;
    t.grant(a, community, Role::Committee).await;
    t.grant(b, community, Role::Committee).await;
    let app = service!(t);
    let start = chrono::Utc::now() + chrono::Duration::seconds(5);
    let body = serde_json::json!({
        "title": "电梯与外墙",
        "proposals": [
            {"matter": 5, "title": "使用维修资金更换电梯", "body": "更换电梯"},
            {"matter": 7, "title": "外墙翻新", "body": "翻新外墙"}
        ],
        "notice_days": 0,
        "voting_starts_at": start.to_rfc3339(),
        "voting_ends_at": (start + chrono::Duration::seconds(600)).to_rfc3339()
    });
    let post = |uri: String, token: &str, body: serde_json::Value| {
        test::TestRequest::post().uri(&uri).insert_header(("authorization", format!("Bearer {token}"))).set_json(body).to_request()
    };
    let (s, _, m) = json_of(test::call_service(&app, post(format!("/v1/communities/{community}/meetings"), &ta, body)).await).await;
    assert_eq!(s, 201, "{m}");
    let id: Uuid = m["id"].as_str().unwrap().parse().unwrap();
    for (uri, tok) in [
        (format!("/v1/meetings/{id}/submit"), &ta),
        (format!("/v1/meetings/{id}/committee-review"), &ta),
        (format!("/v1/meetings/{id}/committee-review"), &tb),
        (format!("/v1/meetings/{id}/open"), &tb),
    ] {
        let (s, _, m) = json_of(test::call_service(&app, post(uri, tok, serde_json::json!({"approved": true}))).await).await;
        assert_eq!(s, 200, "{m}");
    }

    let forwarder = Forwarder::from_config(&config).unwrap();
    let metrics = ChainMetrics::register(&prometheus::Registry::new()).unwrap();
    // Until no row is open: "nothing due now" is not "drained" (a slow send leaves its row pending for a poll).
    let drain = async || {
        let mut conn = t.conn().await;
        for _ in 0..2000 {
            if !step(&t.state, &forwarder, &metrics).await.unwrap() {
                let open: i64 = linli_server::schema::chain_outbox::table
                    .filter(linli_server::schema::chain_outbox::status.eq_any(["pending", "sent"]))
                    .count()
                    .get_result(&mut conn)
                    .await
                    .unwrap();
                if open == 0 {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
        panic!("outbox did not drain");
    };
    drain().await;
    assert_eq!(metrics.backlog.get(), 0, "nothing left in the outbox");

    // Inside the window on the chain's clock.
    client.rpc().request("devnode_advanceTime", vec![serde_json::json!(6_000)]).await.unwrap();

    // Sheets for every roll entry (100 % participation): proposal 0 all yes; proposal 1 yes for the first
    // half, no for the rest. Inserted as the sheet handler stores them (sheet + outbox row).
    let entries: Vec<(String, i64)> = roll_entries::table
        .filter(roll_entries::meeting_id.eq(id))
        .order(roll_entries::headcount_key.asc())
        .select((roll_entries::headcount_key, roll_entries::area_centi_m2))
        .load(&mut conn)
        .await
        .unwrap();
    let half = entries.len() / 2;
    let (mut total, mut yes1) = ((0i64, 0i64), (0i64, 0i64));
    let mid = domain::chain_meeting_id(id);
    let mut reveals = Vec::new();
    for (i, (key, area)) in entries.iter().enumerate() {
        let account = Uuid::now_v7();
        diesel::insert_into(accounts::table).values(accounts::id.eq(account)).execute(&mut conn).await.unwrap();
        let choices = vec![0u8, if i < half { 0 } else { 1 }];
        total = (total.0 + area, total.1 + 1);
        if i < half {
            yes1 = (yes1.0 + area, yes1.1 + 1);
        }
        let sheet = Uuid::now_v7();
        let pseudonym = t.state.pii.voter_pseudonym(id, account);
        let keys = [domain::chain_roll_key(key)];
        let hash = domain::sheet_hash(sheet, id, &pseudonym, *area, 1, &choices, &keys);
        let salt = [u8::try_from(i % 256).unwrap(); 32];
        diesel::insert_into(ballot_sheets::table)
            .values((
                ballot_sheets::id.eq(sheet),
                ballot_sheets::meeting_id.eq(id),
                ballot_sheets::account_id.eq(account),
                ballot_sheets::voter_pseudonym.eq(pseudonym.to_vec()),
                ballot_sheets::area_centi_m2.eq(area),
                ballot_sheets::heads.eq(1),
                ballot_sheets::choices.eq(serde_json::json!(choices)),
                ballot_sheets::sheet_hash.eq(hash.to_vec()),
                ballot_sheets::device_serial.eq("test"),
                ballot_sheets::reveal_salt.eq(salt.to_vec()),
            ))
            .execute(&mut conn)
            .await
            .unwrap();
        let call = linli_ledger_client::governance::LinliGovernance::castSheetCall {
            meetingId: mid.into(),
            voter: pseudonym.into(),
            keys: keys.iter().map(|k| (*k).into()).collect(),
            commitment: domain::sheet_commitment(&mid, &pseudonym, &hash, &salt, &choices).into(),
            sheetHash: hash.into(),
            // One second into the window, as the sheet handler would state it.
            castAtMs: u64::try_from((start + chrono::Duration::seconds(1)).timestamp_millis()).unwrap(),
        };
        outbox::enqueue(&conn, community, Kind::CastSheet, sheet, alloy_sol_types::SolCall::abi_encode(&call)).await.unwrap();
        let reveal = linli_ledger_client::governance::LinliGovernance::revealSheetCall {
            meetingId: mid.into(),
            voter: pseudonym.into(),
            choices: choices.into(),
            salt: salt.into(),
        };
        reveals.push((sheet, reveal));
    }
    drain().await;
    // After the window on the chain's clock: close (the server's clock has not reached the end, so the rows are
    // queued as the close handler queues them): the reveals, then finalize.
    client.rpc().request("devnode_advanceTime", vec![serde_json::json!(610_000)]).await.unwrap();
    diesel::update(meetings::table.find(id)).set(meetings::status.eq("closed")).execute(&mut conn).await.unwrap();
    for (sheet, reveal) in &reveals {
        outbox::enqueue(&conn, community, Kind::RevealSheet, *sheet, alloy_sol_types::SolCall::abi_encode(reveal)).await.unwrap();
    }
    let fin = linli_ledger_client::governance::LinliGovernance::finalizeCall { meetingId: domain::chain_meeting_id(id).into() };
    outbox::enqueue(&conn, community, Kind::Finalize, id, alloy_sol_types::SolCall::abi_encode(&fin)).await.unwrap();
    drain().await;

    let failed: i64 = linli_server::schema::chain_outbox::table
        .filter(linli_server::schema::chain_outbox::status.ne("done"))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    let open: Vec<(i64, String, String, Option<String>)> = linli_server::schema::chain_outbox::table
        .filter(linli_server::schema::chain_outbox::status.ne("done"))
        .select((
            linli_server::schema::chain_outbox::id,
            linli_server::schema::chain_outbox::kind,
            linli_server::schema::chain_outbox::status,
            linli_server::schema::chain_outbox::last_error,
        ))
        .limit(3)
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(failed, 0, "every row committed: {open:?}");
    let (status, result): (String, Option<serde_json::Value>) =
        meetings::table.find(id).select((meetings::status, meetings::result)).first(&mut conn).await.unwrap();
    let result = result.unwrap();
    assert_eq!(status, "finalized", "{result}");
    assert_eq!(result["chain_agrees"], true);
    // The signed document's hash and its key are anchored on chain (issue 24 item 10).
    let (sha256, signature): (Option<Vec<u8>>, Option<String>) =
        meetings::table.find(id).select((meetings::result_sha256, meetings::result_signature)).first(&mut conn).await.unwrap();
    let contract: linli_ledger_client::Address =
        chain_contracts::table.find(community).select(chain_contracts::address).first::<String>(&mut conn).await.unwrap().parse().unwrap();
    let call = linli_ledger_client::governance::LinliGovernance::getRollCall { meetingId: domain::chain_meeting_id(id).into() };
    let out = client.call(&contract, &alloy_sol_types::SolCall::abi_encode(&call)).await.unwrap().unwrap();
    let roll = <linli_ledger_client::governance::LinliGovernance::getRollCall as alloy_sol_types::SolCall>::abi_decode_returns(&out).unwrap();
    let bytes = serde_json::to_vec(&result).unwrap();
    assert_eq!(sha256.as_deref(), Some(ring::digest::digest(&ring::digest::SHA256, &bytes).as_ref()));
    assert_eq!(roll.resultHash.as_slice(), sha256.unwrap().as_slice());
    let key_b64 = signature.unwrap().split(':').nth(1).unwrap().to_owned();
    assert_eq!(base64::Engine::encode(&base64::engine::general_purpose::STANDARD, roll.resultSigningKey), key_b64);
    assert_eq!((roll.rollKeyCount as usize, roll.revealedCount as usize), (entries.len(), entries.len()));
    // Independent expectations from the inserted sheets.
    let p0 = &result["proposals"][0]["lines"][0]["strict"];
    assert_eq!((p0["options"][0]["area_centi_m2"].as_i64(), p0["options"][0]["heads"].as_i64()), (Some(total.0), Some(total.1)));
    assert_eq!(p0["quorum"], true);
    assert_eq!(result["proposals"][0]["passed"], true);
    let p1 = &result["proposals"][1]["lines"][0]["strict"];
    assert_eq!((p1["options"][0]["area_centi_m2"].as_i64(), p1["options"][0]["heads"].as_i64()), (Some(yes1.0), Some(yes1.1)));
    let pass7 = 4 * yes1.0 >= 3 * total.0 && 4 * yes1.1 >= 3 * total.1;
    assert_eq!(result["proposals"][1]["passed"], pass7);
    assert!(!pass7, "half the voters cannot carry a three-quarter matter");
    assert_eq!(metrics.tally_mismatch.get(), 0);

    // The chart: decode the PNG and measure the bars against the sums computed here. Proposal 0: all area and
    // all heads on yes (full bars), nothing elsewhere. Proposal 1: yes and no, each against the larger of the two.
    let req = test::TestRequest::get().uri(&format!("/v1/meetings/{id}/result.png")).insert_header(("authorization", format!("Bearer {ta}"))).to_request();
    let resp = test::call_service(&app, req).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers().get("content-type").unwrap(), "image/png");
    let img = image::load_from_memory_with_format(&test::read_body(resp).await, image::ImageFormat::Png).unwrap().to_rgb8();
    use linli_server::governance::chart::{BAR_W, PLOT_H, bar_origin, colour};
    let bar = |p: u32, g: u32, i: u32| -> i64 {
        let (x, base) = bar_origin(3, p, g, i);
        (1..=base).take_while(|d| *img.get_pixel(x + BAR_W / 2, base - d) == colour(i as usize)).count() as i64
    };
    let ph = i64::from(PLOT_H);
    assert_eq!((bar(0, 0, 0), bar(0, 1, 0), bar(0, 0, 1), bar(0, 1, 2)), (ph, ph, 0, 0));
    let no1 = (total.0 - yes1.0, total.1 - yes1.1);
    for (g, yes, no) in [(0, yes1.0, no1.0), (1, yes1.1, no1.1)] {
        let max = yes.max(no);
        for (i, v) in [(0, yes), (1, no)] {
            let h = bar(1, g, i);
            assert!((2 * h * max - 2 * ph * v).abs() <= max, "proposal 1 group {g} option {i}: {h} px for {v} of {max}");
        }
    }
    let req = test::TestRequest::get().uri(&format!("/v1/meetings/{id}/result.html")).insert_header(("authorization", format!("Bearer {ta}"))).to_request();
    let html = String::from_utf8(test::read_body(test::call_service(&app, req).await).await.to_vec()).unwrap();
    assert!(html.contains("<img alt=") && html.contains("data:image/png;base64,"));

    // A SIGKILL (or a failed chain read) between recording the finalize row as done and publishing leaves the
    // meeting closed without a result, and the finalize row is never claimed again. That state, exactly: the next
    // idle step of the worker must publish it (before the fix it stayed closed for ever).
    diesel::update(meetings::table.find(id))
        .set((
            meetings::status.eq("closed"),
            meetings::result.eq(None::<serde_json::Value>),
            meetings::result_signature.eq(None::<String>),
            meetings::finalized_at.eq(None::<chrono::DateTime<chrono::Utc>>),
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    assert!(!step(&t.state, &forwarder, &metrics).await.unwrap(), "no outbox row is left to send");
    let (status, again): (String, Option<serde_json::Value>) =
        meetings::table.find(id).select((meetings::status, meetings::result)).first(&mut conn).await.unwrap();
    assert_eq!(status, "finalized");
    assert_eq!(again.as_ref().map(|r| &r["proposals"]), Some(&result["proposals"]), "the same result, read again from the chain");
}

/// Registry, keys, the contract deployed with the forwarder and committee roles, its address recorded.
async fn deploy(t: &TestApp, community: Uuid, dir: &std::path::Path, node: &Devnode) -> (linli_server::chain::ChainConfig, ChainClient) {
    let registry_file = dir.join("chains.toml");
    std::fs::write(
        &registry_file,
        format!("[communities.SH-PD-0001]\nendpoints = [\"{}\"]\nchain_id = \"chain0\"\ngroup_id = \"group0\"\n", node.1),
    )
    .unwrap();
    let key_file = |name: &str, s: &Signer| {
        let p = dir.join(name);
        std::fs::write(&p, hex::encode(s.secret_bytes())).unwrap();
        p
    };
    let (admin, fwd, com) =
        (Signer::random(CryptoSuite::Ecdsa), Signer::random(CryptoSuite::Ecdsa), Signer::random(CryptoSuite::Ecdsa));
    let config = linli_server::chain::ChainConfig {
        registry_file: registry_file.clone(),
        forwarder_key_file: key_file("fwd.key", &fwd),
        committee_key_file: key_file("com.key", &com),
        admin_key_file: Some(key_file("admin.key", &admin)),
        anchor_key_file: None,
        property_key_file: None,
        bank_key_file: None,
        platform_key_hex: hex::encode([7u8; 32]).into(),
        poll_ms: 20,
    };
    let target = ChainRegistry::load(&registry_file).unwrap().target("SH-PD-0001").unwrap().clone();
    let client = ChainClient::from_target(&target).unwrap();
    let grants = [
        RoleGrant { account: fwd.address(), role: role::FORWARDER },
        RoleGrant { account: com.address(), role: role::COMMITTEE },
    ];
    let contract = deploy_governance(&client, &admin, &grants).await.unwrap();
    let mut conn = t.conn().await;
    diesel::insert_into(chain_contracts::table)
        .values((chain_contracts::community_id.eq(community), chain_contracts::address.eq(contract.to_string())))
        .execute(&mut conn)
        .await
        .unwrap();
    (config, client)
}

/// An `openMeeting` row for a fresh meeting id (the contract needs no meeting in our tables for it).
async fn enqueue_open_meeting(conn: &mut diesel_async::AsyncPgConnection, community: Uuid) -> (i64, Uuid) {
    let meeting = Uuid::now_v7();
    let now = chrono::Utc::now().timestamp_millis() as u64;
    let call = linli_ledger_client::governance::LinliGovernance::openMeetingCall {
        meetingId: domain::chain_meeting_id(meeting).into(),
        rollHash: [9u8; 32].into(),
        totalAreaCm2: 10_000,
        totalHeads: 1,
        startMs: now + 60_000,
        endMs: now + 120_000,
        voteChangeAllowed: false,
        tallyRules: 0,
    };
    let id = outbox::enqueue(conn, community, Kind::OpenMeeting, meeting, alloy_sol_types::SolCall::abi_encode(&call)).await.unwrap();
    (id, meeting)
}

async fn on_chain(client: &ChainClient, contract: &linli_ledger_client::Address, meeting: Uuid) -> bool {
    let call = linli_ledger_client::governance::LinliGovernance::getMeetingCall { meetingId: domain::chain_meeting_id(meeting).into() };
    let out = client.call(contract, &alloy_sol_types::SolCall::abi_encode(&call)).await.unwrap().unwrap();
    <linli_ledger_client::governance::LinliGovernance::getMeetingCall as alloy_sol_types::SolCall>::abi_decode_returns(&out).unwrap().exists
}

/// A process killed after committing a row's signed bytes and before (or while) sending them holds nothing: the
/// next step sends exactly those bytes at once. While a live instance holds a row (its lock, mid-send), another
/// step leaves it alone and keeps the community's order; once released, it is sent.
#[actix_web::test]
async fn a_row_claimed_by_a_killed_worker_is_sent_at_once_and_a_held_row_is_left_alone() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let node = devnode(&dir.path().join("chain"));
    let t = TestApp::new().await;
    let community = t.import_demo().await;
    let (config, client) = deploy(&t, community, dir.path(), &node).await;
    let mut conn = t.conn().await;
    let contract: linli_ledger_client::Address =
        chain_contracts::table.find(community).select(chain_contracts::address).first::<String>(&mut conn).await.unwrap().parse().unwrap();
    let forwarder = Forwarder::from_config(&config).unwrap();
    let metrics = ChainMetrics::register(&prometheus::Registry::new()).unwrap();
    use diesel_async::AsyncConnection;
    use linli_server::schema::chain_outbox as o;

    // Killed between the claim's commit and the send: the committed claim is all it leaves behind.
    let (row, meeting) = enqueue_open_meeting(&mut conn, community).await;
    {
        let mut dead = t.conn().await;
        let claimed = linli_server::chain::worker::claim(&mut dead, &forwarder).await.unwrap().unwrap();
        assert_eq!(claimed.id, row);
    }
    let stored: Option<Vec<u8>> = o::table.find(row).select(o::tx_hash).first(&mut conn).await.unwrap();
    assert!(step(&t.state, &forwarder, &metrics).await.unwrap(), "the row is taken up at once");
    let (status, hash): (String, Option<Vec<u8>>) = o::table.find(row).select((o::status, o::tx_hash)).first(&mut conn).await.unwrap();
    assert_eq!((status.as_str(), &hash), ("done", &stored), "the stored bytes were sent, not new ones");
    assert!(on_chain(&client, &contract, meeting).await);

    // A live instance mid-send holds the row's lock: a step neither sends it nor passes it.
    let (held, held_meeting) = enqueue_open_meeting(&mut conn, community).await;
    let (after, after_meeting) = enqueue_open_meeting(&mut conn, community).await;
    let mut other = t.conn().await;
    let claimed = linli_server::chain::worker::claim(&mut other, &forwarder).await.unwrap().unwrap();
    assert_eq!(claimed.id, held);
    other
        .transaction(async |other| {
            let _: i64 = o::table.find(held).select(o::id).for_update().first(other).await?;
            assert!(!step(&t.state, &forwarder, &metrics).await.unwrap(), "nothing may be sent meanwhile");
            Ok::<_, diesel::result::Error>(())
        })
        .await
        .unwrap();
    assert!(!on_chain(&client, &contract, held_meeting).await && !on_chain(&client, &contract, after_meeting).await);
    for _ in 0..2 {
        assert!(step(&t.state, &forwarder, &metrics).await.unwrap());
    }
    let done: i64 = o::table.filter(o::id.eq_any([held, after])).filter(o::status.eq("done")).count().get_result(&mut conn).await.unwrap();
    assert_eq!(done, 2);
    assert!(on_chain(&client, &contract, held_meeting).await && on_chain(&client, &contract, after_meeting).await);
}
