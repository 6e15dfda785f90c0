//! A signed ballot sheet replayed after Redis lost its nonces changes nothing: the sheet's nonce is kept with the
//! sheet in PostgreSQL. The dangerous case is a meeting that allows vote changes, where a replayed earlier sheet
//! under a new Idempotency-Key (the key is not part of the signature) would replace the voter's later one. This
//! test runs its own Redis so restarting it disturbs nobody else.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use linli_server::schema::ballot_sheets;
use linli_tests::client::sign_request;
use linli_tests::meeting::{committee, enroll_voters, my_receipt, open_meeting_with_rules, submit_sheet, two_proposals, until_voting_opens};
use linli_tests::owner::Owner;
use linli_tests::redis::Redis;
use linli_tests::world::World;
use serde_json::{Value, json};

async fn send(owner: &Owner, path: &str, body: &[u8], headers: &[(String, String)], key: &str) -> (u16, Value) {
    let mut headers = headers.to_vec();
    headers.push(("Idempotency-Key".into(), key.into()));
    let resp = owner.send_raw("POST", path, body, &headers).await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_sheet_replayed_after_redis_lost_its_nonces_changes_nothing() {
    let redis = Redis::start(linli_tests::free_port().unwrap()).await.unwrap();
    let world = World::start_with(&[("LINLI_REDIS__URL".to_owned(), redis.url())]).await.unwrap();
    let mut voters = enroll_voters(&world, "o-replay", 1).await.unwrap();
    let a = committee(&world, "o-replay-com-a").await.unwrap();
    let b = committee(&world, "o-replay-com-b").await.unwrap();
    let starts = chrono::Utc::now() + chrono::Duration::seconds(5);
    let ends = starts + chrono::Duration::minutes(10);
    let rules = json!({"vote_change_allowed": true});
    let meeting = open_meeting_with_rules(&world, &a, &b, "重放测试", two_proposals(), rules, starts, ends).await.unwrap();
    until_voting_opens(starts).await;

    // The first sheet, as captured on the wire: body and signature headers.
    let voter = &voters[0];
    let path = format!("/v1/meetings/{meeting}/sheets");
    let body = serde_json::to_vec(&json!({"pin": voter.pin, "choices": [0, 0]})).unwrap();
    let captured = sign_request(voter.owner.key.as_ref().unwrap(), voter.owner.serial.as_deref().unwrap(), "POST", &path, &body);
    let (status, first) = send(&voter.owner, &path, &body, &captured, "replay-first").await;
    assert_eq!(status, 201, "{first}");
    // The voter changes their mind.
    let second = submit_sheet(voter, meeting, &[1, 1], "replay-second", Duration::from_secs(20)).await.unwrap();
    assert_eq!((second.status, &second.body["replaces"]), (201, &first["sheet_id"]), "{}", second.body);
    // While Redis remembers the nonce, Redis refuses the replay.
    let (status, refused) = send(&voter.owner, &path, &body, &captured, "replay-third").await;
    assert_eq!((status, refused["code"].as_str()), (401, Some("signature_nonce_replayed")), "{refused}");

    // Redis loses everything: sessions (the voter logs in again, keeping the device) and nonces.
    let _redis = redis.restart().await.unwrap();
    let mut owner = Owner::login(&world, &voters[0].owner.openid).await.unwrap();
    owner.key = voters[0].owner.key.take();
    owner.serial = voters[0].owner.serial.take();
    voters[0].owner = owner;
    let voter = &voters[0];
    let (status, refused) = send(&voter.owner, &path, &body, &captured, "replay-fourth").await;
    assert_eq!((status, refused["code"].as_str()), (401, Some("signature_nonce_replayed")), "{refused}");
    // Under its own key the replay is the first request again: its stored answer, nothing new.
    let (status, again) = send(&voter.owner, &path, &body, &captured, "replay-first").await;
    assert_eq!((status, &again["sheet_id"]), (201, &first["sheet_id"]), "{again}");

    // The later sheet still counts, and the meeting holds exactly the two sheets the voter sent.
    let receipt = my_receipt(voter, meeting).await.unwrap();
    assert_eq!(receipt["sheet_id"], second.body["sheet_id"], "{receipt}");
    let mut conn = AsyncPgConnection::establish(world.db.url()).await.unwrap();
    let stored: i64 = ballot_sheets::table.filter(ballot_sheets::meeting_id.eq(meeting)).count().get_result(&mut conn).await.unwrap();
    assert_eq!(stored, 2);
    // A fresh signature of the same choices is a real vote change, and still works.
    let third = submit_sheet(voter, meeting, &[0, 0], "replay-fifth", Duration::from_secs(20)).await.unwrap();
    assert_eq!((third.status, &third.body["replaces"]), (201, &second.body["sheet_id"]), "{}", third.body);
}
