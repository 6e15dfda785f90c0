//! Meetings forwarded to a real chain: the real `linli` binary with its outbox worker, a real `bcos-devnode`, the
//! contract deployed by `linli chain deploy`. One voter, one sheet: the meeting is opened on chain, the sheet is
//! counted there with the receipt showing its transaction, and the meeting is finalized with the contract's tally
//! equal to the sheet.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use linli_tests::meeting::{close_meeting, committee, enroll_voters, my_receipt, open_meeting, open_meeting_with_rules, published_result, submit_sheet, two_proposals, until_voting_opens, wait_for};
use serde_json::{Value, json};
use linli_tests::world::World;

#[tokio::test]
async fn a_meeting_its_sheet_and_its_finalization_reach_the_chain() {
    let world = World::start_with_chain().await.unwrap();
    let chain = world.chain().unwrap();
    let voters = enroll_voters(&world, "o-chain-voter", 1).await.unwrap();
    let a = committee(&world, "o-chain-com-a").await.unwrap();
    let b = committee(&world, "o-chain-com-b").await.unwrap();
    let starts = chrono::Utc::now() + chrono::Duration::seconds(4);
    let ends = starts + chrono::Duration::seconds(6);
    let id = open_meeting(&world, &a, &b, "链上表决", two_proposals(), starts, ends).await.unwrap();

    let opened = wait_for(Duration::from_secs(20), || async { Ok(chain.meeting(id).await.ok().filter(|m| m.exists && m.proposal_count == 2)) })
        .await
        .unwrap();
    assert_eq!((opened.sheet_count, opened.finalized), (0, false));

    until_voting_opens(starts).await;
    let answer = submit_sheet(&voters[0], id, &[0, 1], "chain-sheet-1", Duration::from_secs(20)).await.unwrap();
    assert_eq!(answer.status, 201, "{}", answer.body);
    let area = answer.body["area_centi_m2"].as_i64().unwrap();
    assert!(area > 0);

    let receipt = wait_for(Duration::from_secs(20), || async {
        let r = my_receipt(&voters[0], id).await?;
        Ok((r["chain_status"] == "done").then_some(r))
    })
    .await
    .unwrap();
    assert_eq!(receipt["sheet_hash"], answer.body["sheet_hash"]);
    assert_eq!(receipt["tx_hash"].as_str().unwrap().len(), 66, "{receipt}");
    assert!(receipt["block_number"].as_i64().unwrap() > 0, "{receipt}");
    let on_chain = chain.sheet_of(id, voters[0].owner.account_id).await.unwrap();
    assert_eq!(on_chain.map(hex::encode).as_deref(), answer.body["sheet_hash"].as_str());
    let m = chain.meeting(id).await.unwrap();
    assert_eq!((m.sheet_count, m.participating_area_centi_m2, m.participating_heads), (1, area as u64, 1));
    // Sealed while voting: the weight is on chain, the choices are not.
    assert_eq!(chain.tally(id, 0).await.unwrap(), vec![(0, 0); 3]);
    assert_eq!(chain.tally(id, 1).await.unwrap(), vec![(0, 0); 3]);

    tokio::time::sleep((ends - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(200)).await;
    close_meeting(&a, id).await.unwrap();
    wait_for(Duration::from_secs(20), || async { Ok(chain.meeting(id).await?.finalized.then_some(())) }).await.unwrap();
    let result = published_result(&a, id, Duration::from_secs(20)).await
    .unwrap();
    assert_eq!(result["document"]["chain_agrees"], true, "{result}");
    assert_eq!(result["document"]["sheets"], 1, "{result}");
    // Revealed after the window: proposal 0 yes, proposal 1 no.
    assert_eq!(chain.tally(id, 0).await.unwrap(), vec![(area as u64, 1), (0, 0), (0, 0)]);
    assert_eq!(chain.tally(id, 1).await.unwrap(), vec![(0, 0), (area as u64, 1), (0, 0)]);
    let verified = voters[0].owner.get(&format!("/v1/meetings/{id}/verify?sheet={}", answer.body["sheet_id"].as_str().unwrap())).await.unwrap();
    let verified: Value = verified.json().await.unwrap();
    assert_eq!(verified["revealed"], true, "{verified}");
}

/// A meeting whose rules allow vote changes: a voter votes, changes their mind, and only the latest sheet counts,
/// on chain as in the server's tally. In a meeting without the rule the same second sheet is refused.
#[tokio::test]
async fn a_changed_sheet_replaces_the_first_on_chain_and_in_the_result() {
    let world = World::start_with_chain().await.unwrap();
    let chain = world.chain().unwrap();
    let voters = enroll_voters(&world, "o-change-voter", 2).await.unwrap();
    let a = committee(&world, "o-change-com-a").await.unwrap();
    let b = committee(&world, "o-change-com-b").await.unwrap();
    let starts = chrono::Utc::now() + chrono::Duration::seconds(6);
    let ends = starts + chrono::Duration::seconds(8);
    let changeable =
        open_meeting_with_rules(&world, &a, &b, "可改票表决", two_proposals(), json!({"vote_change_allowed": true}), starts, ends).await.unwrap();
    let fixed = open_meeting(&world, &a, &b, "不可改票表决", two_proposals(), starts, ends).await.unwrap();
    let on_chain = wait_for(Duration::from_secs(20), || async {
        Ok(chain.meeting(changeable).await.ok().filter(|m| m.exists && m.proposal_count == 2))
    })
    .await
    .unwrap();
    assert!(on_chain.vote_change_allowed);
    assert!(!chain.meeting(fixed).await.unwrap().vote_change_allowed);

    until_voting_opens(starts).await;
    let give_up = Duration::from_secs(20);
    let yes = submit_sheet(&voters[0], changeable, &[0, 0], "change-first", give_up).await.unwrap();
    assert_eq!((yes.status, &yes.body["replaces"]), (201, &Value::Null), "{}", yes.body);
    let other = submit_sheet(&voters[1], changeable, &[1, 2], "change-other", give_up).await.unwrap();
    assert_eq!(other.status, 201, "{}", other.body);
    let no = submit_sheet(&voters[0], changeable, &[1, 1], "change-second", give_up).await.unwrap();
    assert_eq!((no.status, &no.body["replaces"]), (201, &yes.body["sheet_id"]), "{}", no.body);
    // The same key is the same answer, not a third sheet.
    let replay = submit_sheet(&voters[0], changeable, &[1, 1], "change-second", give_up).await.unwrap();
    assert_eq!((replay.status, &replay.body["sheet_id"]), (201, &no.body["sheet_id"]));

    let receipt = my_receipt(&voters[0], changeable).await.unwrap();
    assert_eq!((&receipt["sheet_id"], &receipt["replaces"]), (&no.body["sheet_id"], &yes.body["sheet_id"]), "{receipt}");
    let verify = |sheet: &Value| {
        let path = format!("/v1/meetings/{changeable}/verify?sheet={}", sheet.as_str().unwrap());
        let owner = &voters[0].owner;
        async move { owner.get(&path).await.unwrap().json::<Value>().await.unwrap() }
    };
    let first = verify(&yes.body["sheet_id"]).await;
    assert_eq!((&first["counted"], &first["superseded_by"]), (&json!(false), &no.body["sheet_id"]), "{first}");
    let second = verify(&no.body["sheet_id"]).await;
    assert_eq!((&second["counted"], &second["superseded_by"]), (&json!(true), &Value::Null), "{second}");

    // Without the rule: the second sheet is refused and the first stays.
    let kept = submit_sheet(&voters[0], fixed, &[0, 0], "fixed-first", give_up).await.unwrap();
    assert_eq!(kept.status, 201, "{}", kept.body);
    let refused = submit_sheet(&voters[0], fixed, &[1, 1], "fixed-second", give_up).await.unwrap();
    assert_eq!((refused.status, refused.body["code"].as_str()), (409, Some("already_voted")), "{}", refused.body);
    assert_eq!(my_receipt(&voters[0], fixed).await.unwrap()["sheet_id"], kept.body["sheet_id"]);

    // The chain holds the changed sheet: participation of two sheets, tallies of the final choices only.
    let m = wait_for(Duration::from_secs(30), || async {
        let m = chain.meeting(changeable).await?;
        Ok((m.change_count == 1 && m.sheet_count == 2).then_some(m))
    })
    .await
    .unwrap();
    let (a0, a1) = (yes.body["area_centi_m2"].as_i64().unwrap() as u64, other.body["area_centi_m2"].as_i64().unwrap() as u64);
    assert_eq!((m.participating_area_centi_m2, m.participating_heads), (a0 + a1, 2));
    assert_eq!(chain.sheet_of(changeable, voters[0].owner.account_id).await.unwrap().map(hex::encode).as_deref(), no.body["sheet_hash"].as_str());
    assert_eq!(chain.tally(changeable, 0).await.unwrap(), vec![(0, 0); 3], "sealed while voting");
    wait_for(Duration::from_secs(30), || async { Ok((chain.meeting(fixed).await?.sheet_count == 1).then_some(())) }).await.unwrap();
    assert_eq!(chain.meeting(fixed).await.unwrap().change_count, 0);

    tokio::time::sleep((ends - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(200)).await;
    for (meeting, sheets, changed) in [(changeable, 2, 1), (fixed, 1, 0)] {
        close_meeting(&a, meeting).await.unwrap();
        let result = published_result(&a, meeting, Duration::from_secs(20)).await
        .unwrap();
        assert_eq!(result["document"]["chain_agrees"], true, "{result}");
        assert_eq!((&result["document"]["sheets"], &result["document"]["changed_sheets"]), (&json!(sheets), &json!(changed)), "{result}");
    }
    // Revealed: only the changed sheet's final choices count, never the replaced ones.
    assert_eq!(chain.tally(changeable, 0).await.unwrap(), vec![(0, 0), (a0 + a1, 2), (0, 0)]);
    assert_eq!(chain.tally(changeable, 1).await.unwrap(), vec![(0, 0), (a0, 1), (a1, 1)]);
    assert_eq!(chain.tally(fixed, 0).await.unwrap()[0], (a0, 1));
}

/// Two server instances on one database (Deliver 4: the outbox worker is safe with several): owners send their
/// sheets to either, both workers forward, and every sheet reaches the chain exactly once, in one outbox row each,
/// signed once (no row re-signed); the meeting is finalized by whichever worker claims it, after the sheets.
#[tokio::test]
async fn two_instances_forward_every_sheet_exactly_once() {
    let world = World::start_with_chain().await.unwrap();
    let chain = world.chain().unwrap();
    let second = world.start_another_server().await.unwrap();
    let mut voters = enroll_voters(&world, "o-twin-voter", 10).await.unwrap();
    for v in voters.iter_mut().skip(1).step_by(2) {
        v.owner.base = second.base_url.clone();
    }
    let a = committee(&world, "o-twin-com-a").await.unwrap();
    let b = committee(&world, "o-twin-com-b").await.unwrap();
    let starts = chrono::Utc::now() + chrono::Duration::seconds(5);
    let ends = starts + chrono::Duration::seconds(8);
    let id = open_meeting(&world, &a, &b, "双实例表决", two_proposals(), starts, ends).await.unwrap();
    until_voting_opens(starts).await;

    // All at once, half of them to each instance.
    let voters = std::sync::Arc::new(voters);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..voters.len() {
        let voters = voters.clone();
        tasks.spawn(async move {
            let choices = [u8::try_from(i % 3).unwrap(), 1];
            (i, submit_sheet(&voters[i], id, &choices, "twin", Duration::from_secs(20)).await.unwrap())
        });
    }
    let mut answers: Vec<_> = tasks.join_all().await;
    answers.sort_by_key(|(i, _)| *i);
    let answers: Vec<_> = answers.into_iter().map(|(_, a)| a).collect();
    assert!(answers.iter().all(|a| a.status == 201), "{answers:?}");
    wait_for(Duration::from_secs(30), || async { Ok((chain.meeting(id).await?.sheet_count == 10).then_some(())) }).await.unwrap();
    for (v, answer) in voters.iter().zip(&answers) {
        let on_chain = chain.sheet_of(id, v.owner.account_id).await.unwrap();
        assert_eq!(on_chain.map(hex::encode).as_deref(), answer.body["sheet_hash"].as_str());
    }

    tokio::time::sleep((ends - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(200)).await;
    close_meeting(&a, id).await.unwrap();
    let result = published_result(&a, id, Duration::from_secs(30)).await.unwrap();
    assert_eq!((result["document"]["chain_agrees"].as_bool(), result["document"]["sheets"].as_i64()), (Some(true), Some(10)), "{result}");
    let m = chain.meeting(id).await.unwrap();
    assert_eq!((m.finalized, m.sheet_count), (true, 10));

    // One row per effect, each done, none signed twice.
    use diesel::prelude::*;
    use diesel_async::{AsyncConnection, RunQueryDsl};
    use linli_server::schema::chain_outbox;
    let mut conn = diesel_async::AsyncPgConnection::establish(world.db.url()).await.unwrap();
    let rows: Vec<(String, String, serde_json::Value)> = chain_outbox::table
        .select((chain_outbox::kind, chain_outbox::status, chain_outbox::previous_hashes))
        .load(&mut conn)
        .await
        .unwrap();
    let count = |kind: &str| rows.iter().filter(|r| r.0 == kind).count();
    assert_eq!(
        (count("open_meeting"), count("cast_sheet"), count("reveal_sheet"), count("finalize")),
        (1, 10, 10, 1),
        "{rows:?}"
    );
    assert!(rows.iter().all(|r| r.1 == "done" && r.2.as_array().is_some_and(Vec::is_empty)), "{rows:?}");
}
