//! Ballot sheets through faults of their own commit (DESIGN §10: nothing lost, nothing doubled):
//! - the app's retries of one sheet arriving all at once (a flaky network);
//! - the server SIGKILLed just before and just after a sheet's commit (test-only kill points), the app retrying
//!   with the same Idempotency-Key;
//! - PostgreSQL restarted under load: the server's connections to the database are cut several times and the
//!   database is unreachable for a few seconds while owners cast sheets, retrying as the app does. The server
//!   keeps running (its pool replaces the dead connections).
//!
//! Either way every sheet is acknowledged in the end, each voter has exactly one sheet with one outbox row, and
//! every receipt names that sheet: a commit whose answer was lost is answered from the idempotency record on the
//! retry, not stored twice.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use linli_server::schema::{ballot_sheets, chain_outbox};
use linli_tests::cutter::Cutter;
use linli_tests::client::sign_request;
use linli_tests::meeting::{Voter, committee, enroll_voters, open_meeting, submit_sheet, two_proposals, until_voting_opens};
use linli_tests::world::World;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sheets_are_neither_lost_nor_doubled_when_postgres_connections_are_cut_and_it_is_down() {
    let mut world = World::start().await.unwrap();
    let voters = enroll_voters(&world, "o-pgcut-voter", 12).await.unwrap();
    let a = committee(&world, "o-pgcut-com-a").await.unwrap();
    let b = committee(&world, "o-pgcut-com-b").await.unwrap();
    let starts = chrono::Utc::now() + chrono::Duration::seconds(5);
    let ends = starts + chrono::Duration::seconds(60);
    let id = open_meeting(&world, &a, &b, "断库表决", two_proposals(), starts, ends).await.unwrap();

    // The same server binary and configuration, its database reached through the relay.
    let (cutter, through) = Cutter::in_front_of(world.db.url()).await.unwrap();
    world.route_database_through(through).await.unwrap();
    until_voting_opens(starts).await;

    // A sheet every 400 ms; meanwhile two cuts, then 2.5 s down, then one more cut.
    let voters = std::sync::Arc::new(voters);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..voters.len() {
        let voters = voters.clone();
        tasks.spawn(async move {
            tokio::time::sleep(Duration::from_millis(400) * u32::try_from(i).unwrap()).await;
            let choices = [u8::try_from(i % 3).unwrap(), 0];
            (i, submit_sheet(&voters[i], id, &choices, &format!("pgcut-{i}"), Duration::from_secs(40)).await.unwrap())
        });
    }
    let connections_before = cutter.connections();
    for (after_ms, step) in [(500, "cut"), (500, "cut"), (400, "down"), (2500, "up"), (600, "cut")] {
        tokio::time::sleep(Duration::from_millis(after_ms)).await;
        match step {
            "cut" => cutter.cut(),
            "down" => cutter.set_down(true),
            _ => cutter.set_down(false),
        }
    }
    let mut receipts: BTreeMap<usize, serde_json::Value> = BTreeMap::new();
    let mut attempts = 0;
    while let Some(r) = tasks.join_next().await {
        let (i, answer) = r.unwrap();
        assert_eq!(answer.status, 201, "voter {i}: {}", answer.body);
        attempts += answer.attempts;
        receipts.insert(i, answer.body);
    }
    eprintln!("{attempts} attempts for {} sheets; {} database connections through the relay", voters.len(), cutter.connections());
    assert!(!world.server.has_exited().unwrap(), "the server rode out the outage without a restart");
    assert!(attempts > u32::try_from(voters.len()).unwrap(), "the faults reached some requests ({attempts} attempts)");
    assert!(cutter.connections() > connections_before, "the pool opened new connections after the cuts");

    // Checked directly, not through the relay: one sheet per voter, the one its receipt names, one outbox row each.
    let mut conn = AsyncPgConnection::establish(world.db.url()).await.unwrap();
    let stored: Vec<(Uuid, Uuid)> = ballot_sheets::table
        .filter(ballot_sheets::meeting_id.eq(id))
        .select((ballot_sheets::account_id, ballot_sheets::id))
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(stored.len(), voters.len(), "{stored:?}");
    let by_account: BTreeMap<Uuid, Uuid> = stored.iter().copied().collect();
    for (i, receipt) in &receipts {
        let sheet: Uuid = receipt["sheet_id"].as_str().unwrap().parse().unwrap();
        assert_eq!(by_account.get(&voters[*i].owner.account_id), Some(&sheet), "voter {i}");
    }
    let queued: Vec<Uuid> = chain_outbox::table
        .filter(chain_outbox::kind.eq("cast_sheet"))
        .select(chain_outbox::subject_id)
        .load(&mut conn)
        .await
        .unwrap();
    let mut expected: Vec<Uuid> = by_account.values().copied().collect();
    let mut queued_sorted = queued.clone();
    expected.sort();
    queued_sorted.sort();
    assert_eq!(queued_sorted, expected, "one outbox row per stored sheet");
}

/// The voter's sheets in the meeting, read directly from the database.
async fn sheets_of(world: &World, meeting: Uuid, voter: &Voter) -> Vec<Uuid> {
    let mut conn = AsyncPgConnection::establish(world.db.url()).await.unwrap();
    ballot_sheets::table
        .filter(ballot_sheets::meeting_id.eq(meeting))
        .filter(ballot_sheets::account_id.eq(voter.owner.account_id))
        .select(ballot_sheets::id)
        .load(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_kill_around_the_sheet_commit_leaves_one_sheet_and_the_retry_gets_its_receipt() {
    let mut world = World::start().await.unwrap();
    let voters = enroll_voters(&world, "o-sheetkill-voter", 2).await.unwrap();
    let a = committee(&world, "o-sheetkill-com-a").await.unwrap();
    let b = committee(&world, "o-sheetkill-com-b").await.unwrap();
    let starts = chrono::Utc::now() + chrono::Duration::seconds(5);
    let id = open_meeting(&world, &a, &b, "断电表决", two_proposals(), starts, starts + chrono::Duration::seconds(60)).await.unwrap();
    until_voting_opens(starts).await;

    let path = format!("/v1/meetings/{id}/sheets");
    for (voter, point, committed) in [(&voters[0], "sheet.before_commit", false), (&voters[1], "sheet.after_commit_before_answer", true)] {
        let key = format!("kill-{point}");
        world.restart_server_with(&[("LINLI_FAULT__KILL_AT".to_owned(), point.to_owned())]).await.unwrap();
        // One attempt: the server dies at the point, the phone gets no answer.
        let body = serde_json::to_vec(&serde_json::json!({"pin": voter.pin, "choices": [1, 2]})).unwrap();
        let mut headers = sign_request(voter.owner.key.as_ref().unwrap(), voter.owner.serial.as_deref().unwrap(), "POST", &path, &body);
        headers.push(("Idempotency-Key".into(), key.clone()));
        assert!(voter.owner.send_raw("POST", &path, &body, &headers).await.is_err(), "{point}: no answer");
        for _ in 0..50 {
            if world.server.has_exited().unwrap() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(world.server.has_exited().unwrap(), "{point}: killed");
        let before_retry = sheets_of(&world, id, voter).await;
        assert_eq!(before_retry.len(), usize::from(committed), "{point}");

        // The app retries with the same key once the server is back.
        world.restart_server().await.unwrap();
        let answer = submit_sheet(voter, id, &[1, 2], &key, Duration::from_secs(20)).await.unwrap();
        assert_eq!(answer.status, 201, "{point}: {}", answer.body);
        let sheet: Uuid = answer.body["sheet_id"].as_str().unwrap().parse().unwrap();
        assert_eq!(sheets_of(&world, id, voter).await, vec![sheet], "{point}: one sheet, the receipt's");
        if committed {
            assert_eq!(before_retry, vec![sheet], "{point}: the retry is answered with the sheet committed before the kill");
        }
    }
}

/// Six copies of one sheet at once (same key, each freshly signed), in each of four meetings: one sheet per
/// meeting, and every copy answered 201 with its receipt, whichever moment of the first one's commit it met.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_copies_of_a_sheet_store_it_once_and_all_get_its_receipt() {
    let world = World::start().await.unwrap();
    let voters = std::sync::Arc::new(enroll_voters(&world, "o-copies-voter", 1).await.unwrap());
    let a = committee(&world, "o-copies-com-a").await.unwrap();
    let b = committee(&world, "o-copies-com-b").await.unwrap();
    let starts = chrono::Utc::now() + chrono::Duration::seconds(8);
    let mut meetings = Vec::new();
    for n in 0..4 {
        meetings.push(open_meeting(&world, &a, &b, &format!("重发表决 {n}"), two_proposals(), starts, starts + chrono::Duration::seconds(60)).await.unwrap());
    }
    until_voting_opens(starts).await;
    for id in meetings {
        let mut copies = tokio::task::JoinSet::new();
        for _ in 0..6 {
            let voters = voters.clone();
            copies.spawn(async move { submit_sheet(&voters[0], id, &[2, 0], &format!("copies-{id}"), Duration::from_secs(20)).await.unwrap() });
        }
        let answers = copies.join_all().await;
        assert!(answers.iter().all(|a| a.status == 201 && a.body == answers[0].body), "{answers:?}");
        let sheet: Uuid = answers[0].body["sheet_id"].as_str().unwrap().parse().unwrap();
        assert_eq!(sheets_of(&world, id, &voters[0]).await, vec![sheet]);
    }
}
