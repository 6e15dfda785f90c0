//! Co-owners designate their unit's voter, end to end (issue 24 item 8): the real `linli` binary, sandbox and
//! devnode. Both co-owners of a unit enroll (the first one first: the fallback voter); a meeting opens; then they
//! sign a designation of the second one (device-signed, PIN); a second meeting opens. In the first meeting only
//! the first co-owner may cast the unit's sheet, in the second only the designee; each result counts the unit's
//! sheet once, with the unit's area, and states the rule in `rules.co_owner_voter`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{Value, json};
use linli_tests::meeting::{Voter, close_meeting, committee, open_meeting, published_result, submit_sheet, two_proposals, until_voting_opens};
use linli_tests::owner::{DemoPerson, Owner};
use linli_tests::voters::{EnrolledVoter, enroll_many, person_owners, unit_ids};
use linli_tests::world::World;

fn voter(v: EnrolledVoter) -> Voter {
    let unit = &v.person.units[0];
    let person = DemoPerson {
        name: v.person.name.clone(),
        id_number: v.person.id_number.clone(),
        building: unit.building.clone(),
        unit: unit.unit.clone(),
        face_path: Default::default(),
    };
    Voter { owner: v.owner, person, pin: v.pin }
}

async fn answer(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn sign(owner: &Owner, path: &str, body: &Value) -> (u16, Value) {
    answer(owner.signed("POST", path, body).await.unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_designated_co_owner_votes_from_the_next_meeting_on_and_the_result_counts_the_unit_once() {
    let world = World::start_with_chain().await.unwrap();
    let owners = person_owners(&world.sandbox.base_url()).await.unwrap();
    // A residence co-owned by exactly two persons who own nothing else: the unit is their only roll key.
    let (p1, p2) = owners
        .iter()
        .filter(|p| p.units.len() == 1 && p.units[0].building.starts_with('B'))
        .find_map(|p| {
            let others: Vec<_> = owners.iter().filter(|o| o.units.contains(&p.units[0])).collect();
            (others.len() == 2 && others.iter().all(|o| o.units.len() == 1) && others[0].id_number == p.id_number)
                .then(|| (p.clone(), others[1].clone()))
        })
        .expect("the demo register has such a unit");
    // Enrolled one after the other: p1 first, the fallback voter.
    let first = voter(enroll_many(&world, vec![p1.clone()], 1).await.unwrap().remove(0));
    let second = voter(enroll_many(&world, vec![p2.clone()], 1).await.unwrap().remove(0));
    let unit = unit_ids(&world).await.unwrap()[&p1.units[0]];
    let path = format!("/v1/units/{unit}/co-owner-voter");
    let a = committee(&world, "o-coowner-com-a").await.unwrap();
    let b = committee(&world, "o-coowner-com-b").await.unwrap();

    let view: Value = first.owner.get(&path).await.unwrap().json().await.unwrap();
    assert_eq!((view["voter"]["you"].as_bool(), view["voter"]["basis"].as_str()), (Some(true), Some("first_enrolled")), "{view}");
    let designee = view["co_owners"].as_array().unwrap().iter().find(|c| c["you"] == false).unwrap()["co_owner"].clone();

    let starts = chrono::Utc::now() + chrono::Duration::seconds(20);
    let ends = starts + chrono::Duration::seconds(10);
    let before = open_meeting(&world, &a, &b, "指定前", two_proposals(), starts, ends).await.unwrap();

    // Unsigned, or with a wrong PIN: refused, nothing recorded.
    let (s, e) = answer(first.owner.post(&path, &json!({"voter": designee, "pin": first.pin})).await.unwrap()).await;
    assert_eq!(s, 401, "{e}");
    let wrong = if first.pin == "739415" { "846203" } else { "739415" };
    let (s, e) = sign(&first.owner, &path, &json!({"voter": designee, "pin": wrong})).await;
    assert_eq!((s, e["code"].as_str()), (403, Some("pin_incorrect")), "{e}");
    // The first co-owner proposes the second; the second agrees: in effect.
    let (s, v) = sign(&first.owner, &path, &json!({"voter": designee, "pin": first.pin})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!((v["pending"]["waiting_for"].clone(), v["voter"]["basis"].as_str()), (json!([designee]), Some("first_enrolled")), "{v}");
    let (s, v) = sign(&second.owner, &path, &json!({"voter": designee, "pin": second.pin})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!((v["voter"]["you"].as_bool(), v["voter"]["basis"].as_str()), (Some(true), Some("designation")), "{v}");
    let seen_by_first: Value = first.owner.get(&path).await.unwrap().json().await.unwrap();
    assert_eq!(seen_by_first["voter"]["co_owner"], designee, "the other co-owner sees who holds the vote: {seen_by_first}");

    let after = open_meeting(&world, &a, &b, "指定后", two_proposals(), starts, ends).await.unwrap();
    until_voting_opens(starts).await;
    let give_up = Duration::from_secs(20);
    // Before the designation's freeze: the first co-owner; after it: the designee. Never both.
    let s = submit_sheet(&second, before, &[0, 0], "co-before-second", give_up).await.unwrap();
    assert_eq!((s.status, s.body["code"].as_str()), (403, Some("not_on_roll")), "{}", s.body);
    let own_before = submit_sheet(&first, before, &[0, 0], "co-before-first", give_up).await.unwrap();
    assert_eq!(own_before.status, 201, "{}", own_before.body);
    let s = submit_sheet(&first, after, &[0, 0], "co-after-first", give_up).await.unwrap();
    assert_eq!((s.status, s.body["code"].as_str()), (403, Some("not_on_roll")), "{}", s.body);
    let own_after = submit_sheet(&second, after, &[1, 0], "co-after-second", give_up).await.unwrap();
    assert_eq!(own_after.status, 201, "{}", own_after.body);
    assert_eq!(own_after.body["area_centi_m2"], own_before.body["area_centi_m2"], "the unit's weight either way");
    assert_eq!(own_after.body["heads"], 1);

    tokio::time::sleep((ends - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(300)).await;
    let area = own_after.body["area_centi_m2"].as_i64().unwrap();
    for (meeting, choice) in [(before, 0usize), (after, 1usize)] {
        close_meeting(&a, meeting).await.unwrap();
        let result = published_result(&a, meeting, Duration::from_secs(30)).await.unwrap();
        let doc = &result["document"];
        assert_eq!((doc["chain_agrees"].as_bool(), doc["sheets"].as_i64()), (Some(true), Some(1)), "{result}");
        assert!(doc["rules"]["co_owner_voter"].as_str().unwrap().contains("fallback: first co-owner to complete enrollment"), "{doc}");
        let options = &doc["proposals"][0]["lines"][0]["strict"]["options"];
        assert_eq!((options[choice]["area_centi_m2"].as_i64(), options[choice]["heads"].as_i64()), (Some(area), Some(1)), "{doc}");
        assert_eq!(options[1 - choice]["heads"].as_i64(), Some(0), "{doc}");
    }
}
