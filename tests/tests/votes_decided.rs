//! Votes decided right (issue 24), through the real binaries and a real devnode: a sheet in flight when the
//! meeting closes is either counted before finalize or refused, never counted by one side only (item 9); an
//! election and a yes/no proposal decided under a rule-set meeting's binding tally, with the served-but-silent
//! weight on chain before finalize (items 1, 2).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use linli_tests::meeting::{
    close_meeting, committee, enroll_voters, open_meeting, open_meeting_with_rules, published_result, two_proposals, until_voting_opens,
    wait_for,
};
use linli_tests::world::World;
use serde_json::json;

async fn sleep_until(t: chrono::DateTime<Utc>) {
    tokio::time::sleep((t - Utc::now()).to_std().unwrap_or_default()).await;
}

/// The outbox kinds of a meeting's rows in queue order, the sheets' rows included; without the result's anchor,
/// queued once the result is published (whenever the worker gets there).
async fn queue_order(world: &World, meeting: uuid::Uuid) -> Vec<String> {
    let mut conn = AsyncPgConnection::establish(world.db.url()).await.unwrap();
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        kind: String,
    }
    diesel::sql_query(format!(
        "SELECT kind FROM chain_outbox WHERE kind <> 'record_result' AND (subject_id = '{meeting}' OR subject_id IN (SELECT id FROM ballot_sheets WHERE meeting_id = '{meeting}')) ORDER BY id"
    ))
    .load::<Row>(&mut conn)
    .await
    .unwrap()
    .into_iter()
    .map(|r| r.kind)
    .collect()
}

/// Item 9. A sheet that passed the window check just before the end is still in its transaction (held here at its
/// PIN row) when the committee closes: the close waits for it, the sheet's outbox row goes before finalize, and the
/// chain counts what the server counts. The other direction: the close holds the meeting first and the sheet
/// reaches its transaction after the close committed: it is refused (409 voting_closed), stored nowhere.
#[tokio::test]
async fn a_sheet_in_flight_at_the_close_is_counted_before_finalize_or_refused() {
    let world = World::start_with_chain().await.unwrap();
    let chain = world.chain().unwrap();
    let voters = enroll_voters(&world, "o-race-voter", 2).await.unwrap();
    let a = committee(&world, "o-race-com-a").await.unwrap();
    let b = committee(&world, "o-race-com-b").await.unwrap();
    let starts = Utc::now() + chrono::Duration::seconds(5);
    let ends = starts + chrono::Duration::seconds(5);
    let counted = open_meeting(&world, &a, &b, "关闭前的表决票", two_proposals(), starts, ends).await.unwrap();
    wait_for(Duration::from_secs(20), || async { Ok(chain.meeting(counted).await.ok().filter(|m| m.exists && m.proposal_count == 2)) })
        .await
        .unwrap();
    until_voting_opens(starts).await;

    // Hold the voter's PIN row: the sheet's transaction takes the meeting row FOR SHARE, then waits here.
    let mut holder = AsyncPgConnection::establish(world.db.url()).await.unwrap();
    sleep_until(ends - chrono::Duration::milliseconds(1500)).await;
    diesel::sql_query("BEGIN").execute(&mut holder).await.unwrap();
    diesel::sql_query(format!("SELECT account_id FROM pins WHERE account_id = '{}' FOR UPDATE", voters[0].owner.account_id))
        .execute(&mut holder)
        .await
        .unwrap();
    let sheet = linli_tests::meeting::submit_sheet(&voters[0], counted, &[0, 0], "race-in-flight", Duration::from_secs(30));
    let closer = async {
        sleep_until(ends + chrono::Duration::milliseconds(300)).await;
        let asked = Instant::now();
        close_meeting(&a, counted).await.unwrap();
        asked.elapsed()
    };
    let releaser = async {
        sleep_until(ends + chrono::Duration::milliseconds(2300)).await;
        diesel::sql_query("COMMIT").execute(&mut holder).await.unwrap();
    };
    let (answer, close_waited, ()) = tokio::join!(sheet, closer, releaser);
    let answer = answer.unwrap();
    assert_eq!(answer.status, 201, "the sheet passed the window check before the end: {}", answer.body);
    assert!(close_waited >= Duration::from_millis(1500), "the close waited for the sheet in flight ({close_waited:?})");
    let order = queue_order(&world, counted).await;
    let setup = order.iter().take_while(|k| *k != "add_proposal").filter(|k| *k == "add_roll_keys").count();
    assert!(setup >= 1, "{order:?}");
    let expected: Vec<&str> = std::iter::once("open_meeting")
        .chain(std::iter::repeat_n("add_roll_keys", setup))
        .chain(["add_proposal", "add_proposal", "cast_sheet", "reveal_sheet", "finalize"])
        .collect();
    assert_eq!(order, expected);
    let result = published_result(&a, counted, Duration::from_secs(30)).await.unwrap();
    assert_eq!((result["document"]["chain_agrees"].as_bool(), result["document"]["sheets"].as_i64()), (Some(true), Some(1)), "{result}");
    assert_eq!(chain.meeting(counted).await.unwrap().sheet_count, 1);

    // The other direction: the close is queued on the meeting row before the sheet's transaction gets there.
    let starts = Utc::now() + chrono::Duration::seconds(4);
    let ends = starts + chrono::Duration::seconds(4);
    let refused = open_meeting(&world, &a, &b, "关闭后的表决票", two_proposals(), starts, ends).await.unwrap();
    wait_for(Duration::from_secs(20), || async { Ok(chain.meeting(refused).await.ok().filter(|m| m.exists && m.proposal_count == 2)) })
        .await
        .unwrap();
    until_voting_opens(starts).await;
    sleep_until(ends - chrono::Duration::milliseconds(2000)).await;
    diesel::sql_query("BEGIN").execute(&mut holder).await.unwrap();
    diesel::sql_query(format!("SELECT id FROM meetings WHERE id = '{refused}' FOR UPDATE")).execute(&mut holder).await.unwrap();
    let closer = async {
        // Waits at the meeting row; judged once it has it, after the end.
        sleep_until(ends - chrono::Duration::milliseconds(1500)).await;
        close_meeting(&a, refused).await.unwrap();
    };
    let sheet = async {
        sleep_until(ends - chrono::Duration::milliseconds(1000)).await;
        linli_tests::meeting::submit_sheet(&voters[1], refused, &[0, 0], "race-after-close", Duration::from_secs(30)).await.unwrap()
    };
    let releaser = async {
        sleep_until(ends + chrono::Duration::milliseconds(500)).await;
        diesel::sql_query("COMMIT").execute(&mut holder).await.unwrap();
    };
    let ((), answer, ()) = tokio::join!(closer, sheet, releaser);
    assert_eq!((answer.status, answer.body["code"].as_str()), (409, Some("voting_closed")), "{}", answer.body);
    let expected: Vec<&str> =
        std::iter::once("open_meeting").chain(std::iter::repeat_n("add_roll_keys", setup)).chain(["add_proposal", "add_proposal", "finalize"]).collect();
    assert_eq!(queue_order(&world, refused).await, expected);
    let result = published_result(&a, refused, Duration::from_secs(30)).await.unwrap();
    assert_eq!((result["document"]["chain_agrees"].as_bool(), result["document"]["sheets"].as_i64()), (Some(true), Some(0)), "{result}");
}

/// Items 1 and 2 end to end: an election of one seat among 张三 and 李四 and a yes/no proposal in a meeting whose
/// rules count the served-but-silent as participating. The sheets carry one choice per candidate; the result names
/// the elected candidate, binds the rule-set tally, and the chain decided the same after the served-silent weight
/// was recorded (its transaction is listed before finalize).
#[tokio::test]
async fn an_election_under_a_rule_set_is_decided_by_the_binding_tally_on_chain() {
    let world = World::start_with_chain().await.unwrap();
    let chain = world.chain().unwrap();
    let voters = enroll_voters(&world, "o-elect-voter", 3).await.unwrap();
    let a = committee(&world, "o-elect-com-a").await.unwrap();
    let b = committee(&world, "o-elect-com-b").await.unwrap();
    let starts = Utc::now() + chrono::Duration::seconds(5);
    let ends = starts + chrono::Duration::seconds(6);
    let proposals = json!([
        {"matter": 3, "title": "选举业主委员会委员", "body": "应选一名", "kind": {"election": {"seats": 1, "candidates": ["张三", "李四"]}}},
        {"matter": 9, "title": "公共收益存放", "body": "存入共管账户"}
    ]);
    let rules = json!({"silent_counts_as_participating": true});
    let id = open_meeting_with_rules(&world, &a, &b, "选举与议题", proposals, rules, starts, ends).await.unwrap();
    wait_for(Duration::from_secs(20), || async { Ok(chain.meeting(id).await.ok().filter(|m| m.exists && m.proposal_count == 2)) })
        .await
        .unwrap();
    // An old-style choice for the election is refused with the reason.
    until_voting_opens(starts).await;
    let body = json!({"pin": voters[0].pin, "choices": [0, 0]});
    let wrong = linli_tests::meeting::submit_sheet_json(&voters[0], id, &body, "elect-wrong", Duration::from_secs(20)).await.unwrap();
    assert_eq!((wrong.status, wrong.body["code"].as_str()), (422, Some("choices_mismatch")), "{}", wrong.body);
    for (i, (election, other)) in [([1u8, 0u8], 0u8), ([0, 0], 0), ([2, 0], 1)].into_iter().enumerate() {
        let body = json!({"pin": voters[i].pin, "choices": [election, other]});
        let answer = linli_tests::meeting::submit_sheet_json(&voters[i], id, &body, &format!("elect-{i}"), Duration::from_secs(20)).await.unwrap();
        assert_eq!(answer.status, 201, "{}", answer.body);
        assert_eq!(answer.body["choices"].as_array().unwrap().len(), 3, "one option per ballot line: {}", answer.body);
    }
    sleep_until(ends + chrono::Duration::milliseconds(200)).await;
    close_meeting(&a, id).await.unwrap();
    let result = published_result(&a, id, Duration::from_secs(30)).await.unwrap();
    let doc = &result["document"];
    assert_eq!(doc["chain_agrees"], true, "{doc}");
    assert_eq!((doc["binding_tally"].as_str(), doc["rules"]["binding_tally"].as_str()), (Some("rule_set"), Some("rule_set")));
    let kinds: Vec<&str> = doc["chain"].as_array().unwrap().iter().map(|c| c["kind"].as_str().unwrap()).collect();
    let record = kinds.iter().position(|k| *k == "record_served_silent").expect("the silent weight went on chain");
    assert_eq!(kinds[record + 1..], ["finalize"]);
    let election = &doc["proposals"][0];
    assert_eq!(election["kind"], "election");
    // 李四 (candidate 1): yes on all three sheets; 张三: one yes of three.
    assert_eq!(election["lines"][1]["candidate"], "李四");
    assert_eq!(election["lines"][1]["strict"]["options"][0]["heads"], 3);
    assert_eq!(election["lines"][0]["strict"]["options"][0]["heads"], 1);
    // Three sheets of a large roll: no quorum under either tally, so nobody is elected and nothing passes; the
    // rule-set participation is the sheets plus the recorded silent weight.
    let silent = doc["service"]["served_silent"]["heads"].as_i64().unwrap();
    assert_eq!(election["lines"][1]["rule_set"]["participation"]["heads"].as_i64(), Some(3 + silent));
    assert_eq!(election["lines"][1]["rule_set"]["quorum"], false);
    assert_eq!((election["elected"].clone(), election["passed"].clone()), (json!([]), json!(false)), "{election}");
    let on_chain = chain.meeting(id).await.unwrap();
    assert!(on_chain.finalized);
}
