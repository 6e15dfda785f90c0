//! Ballot sheets end to end: the real `linli` binary and sandbox, owners enrolled with the reference client
//! (face, registry, device certificate, PIN), device-signed sheets. Proves the sheet refusals of the governance
//! issue's Acceptance: missing proposal, replayed nonce, same Idempotency-Key twice (second gets the first
//! answer), different keys twice (refused), an account not on the roll, a sheet after the window.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};

use linli_tests::client::sign_request;
use linli_tests::owner::{DemoPerson, Owner, demo_persons, unit_id};
use linli_tests::world::World;

fn pin_for(person: &DemoPerson) -> String {
    let birth = &person.id_number[6..14];
    ["739415", "846203", "592730", "307948"]
        .into_iter()
        .find(|p| !p.contains(&birth[4..8]) && !p.contains(&birth[2..6]) && !p.contains(&birth[6..8]) && *p != &person.id_number[12..18])
        .unwrap()
        .to_owned()
}

async fn committee(world: &World, openid: &str) -> Owner {
    use diesel_async::{AsyncConnection, AsyncPgConnection};
    let s = Owner::login(world, openid).await.unwrap();
    let mut conn = AsyncPgConnection::establish(world.db.url()).await.unwrap();
    linli_server::auth::roles::grant(&mut conn, s.account_id, world.community_id, linli_server::auth::Role::Committee)
        .await
        .unwrap();
    s
}

/// A signed sheet with an Idempotency-Key; returns (status, body, headers used).
async fn sheet(owner: &Owner, path: &str, body: &Value, key: &str, reuse: Option<&[(String, String)]>) -> (u16, Value, Vec<(String, String)>) {
    let bytes = serde_json::to_vec(body).unwrap();
    let mut headers = match reuse {
        Some(h) => h.to_vec(),
        None => sign_request(owner.key.as_ref().unwrap(), owner.serial.as_deref().unwrap(), "POST", path, &bytes),
    };
    headers.retain(|(k, _)| !k.eq_ignore_ascii_case("idempotency-key"));
    headers.push(("Idempotency-Key".into(), key.into()));
    let resp = owner.send_raw("POST", path, &bytes, &headers).await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null), headers)
}

#[tokio::test]
async fn sheet_refusals_and_idempotent_receipts() {
    let world = World::start().await.unwrap();
    let persons = demo_persons(&world).await.unwrap();
    let (p1, p2) = (&persons[0], &persons[1]);
    let mut voter = Owner::login(&world, "o-gov-voter").await.unwrap();
    let u1 = unit_id(&world, &p1.building, &p1.unit).await.unwrap();
    voter.enroll(&world, u1, p1, &pin_for(p1)).await.unwrap();

    let a = committee(&world, "o-gov-com-a").await;
    let b = committee(&world, "o-gov-com-b").await;
    let start = chrono::Utc::now() + chrono::Duration::seconds(4);
    let end = start + chrono::Duration::seconds(25);
    let draft = json!({
        "title": "第一次业主大会",
        "proposals": [
            {"matter": 5, "title": "更换电梯", "body": "使用维修资金更换电梯", "options": ["同意", "反对", "弃权"]},
            {"matter": 7, "title": "外墙翻新", "body": "翻新外墙", "options": ["同意", "反对", "弃权"]}
        ],
        "notice_days": 0,
        "voting_starts_at": start.to_rfc3339(),
        "voting_ends_at": end.to_rfc3339()
    });
    let m: Value = a.post(&format!("/v1/communities/{}/meetings", world.community_id), &draft).await.unwrap().json().await.unwrap();
    let id = m["id"].as_str().unwrap().to_owned();
    for (who, path) in [(&a, "submit"), (&a, "committee-review"), (&b, "committee-review"), (&b, "open")] {
        let r = who.post(&format!("/v1/meetings/{id}/{path}"), &json!({"approved": true})).await.unwrap();
        assert_eq!(r.status(), 200, "{path}: {}", r.text().await.unwrap());
    }
    let path = format!("/v1/meetings/{id}/sheets");
    let good = json!({"pin": pin_for(p1), "choices": [0, 1]});
    // Before the window.
    let (s, e, _) = sheet(&voter, &path, &good, "k-early", None).await;
    assert_eq!((s, e["code"].as_str()), (409, Some("voting_not_open")), "{e}");
    // Enrolled after the roll froze: not on the roll.
    let mut late = Owner::login(&world, "o-gov-late").await.unwrap();
    let u2 = unit_id(&world, &p2.building, &p2.unit).await.unwrap();
    late.enroll(&world, u2, p2, &pin_for(p2)).await.unwrap();

    tokio::time::sleep((start - chrono::Utc::now()).to_std().unwrap_or_default() + std::time::Duration::from_millis(200)).await;

    let (s, e, _) = sheet(&late, &path, &json!({"pin": pin_for(p2), "choices": [0, 0]}), "k-late", None).await;
    assert_eq!((s, e["code"].as_str()), (403, Some("not_on_roll")), "{e}");
    let (s, e, _) = sheet(&voter, &path, &json!({"pin": pin_for(p1), "choices": [0]}), "k-missing", None).await;
    assert_eq!((s, e["code"].as_str()), (422, Some("choices_mismatch")), "{e}");

    let (s, first, headers) = sheet(&voter, &path, &good, "k-1", None).await;
    assert_eq!(s, 201, "{first}");
    assert_eq!(first["sheet_hash"].as_str().unwrap().len(), 64);
    // Same key, same body: the first answer again (even though the signature nonce is now spent).
    let (s, again, _) = sheet(&voter, &path, &good, "k-1", None).await;
    assert_eq!((s, &again["sheet_id"]), (201, &first["sheet_id"]));
    // The same signed bytes under a new key: the nonce is refused.
    let (s, e, _) = sheet(&voter, &path, &good, "k-2", Some(&headers)).await;
    assert_eq!((s, e["code"].as_str()), (401, Some("signature_nonce_replayed")), "{e}");
    // A fresh signature under a new key: already voted.
    let (s, e, _) = sheet(&voter, &path, &good, "k-3", None).await;
    assert_eq!((s, e["code"].as_str()), (409, Some("already_voted")), "{e}");

    let mine: Value = voter.get(&format!("/v1/meetings/{id}/sheets/mine")).await.unwrap().json().await.unwrap();
    assert_eq!((&mine["sheet_id"], &mine["sheet_hash"]), (&first["sheet_id"], &first["sheet_hash"]));
    let verify: Value =
        voter.get(&format!("/v1/meetings/{id}/verify?sheet={}", first["sheet_id"].as_str().unwrap())).await.unwrap().json().await.unwrap();
    assert_eq!(verify["counted"], true);

    // After the window.
    tokio::time::sleep((end - chrono::Utc::now()).to_std().unwrap_or_default() + std::time::Duration::from_millis(200)).await;
    let (s, e, _) = sheet(&late, &path, &json!({"pin": pin_for(p2), "choices": [0, 0]}), "k-after", None).await;
    assert_eq!((s, e["code"].as_str()), (409, Some("voting_closed")), "{e}");
}
