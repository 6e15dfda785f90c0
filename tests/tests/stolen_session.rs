//! A stolen session must never vote (issue 25; DESIGN §4): end to end with the real `linli` binary and sandbox.
//!
//! The takeover the security review found: with only the victim's bearer token, after a reset had revoked the
//! victim's certificate, the thief enrolled themselves (own name, ID, unit, face, registry) on the victim's account,
//! bound their own device, set a PIN over the victim's and cast the victim's sheet on the victim's roll keys. An
//! account is one person's now, so the first step is refused; and a later enrollment of the same person keeps the
//! account's PIN instead of replacing it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};

use linli_tests::meeting::{committee, open_meeting, pin_for, two_proposals, until_voting_opens};
use linli_tests::owner::{Owner, demo_persons, unit_id};
use linli_tests::voters::{face_png, person_owners};
use linli_tests::world::World;

async fn problem(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

/// PINs the policy accepts for this person (so a refusal below is about the account's PIN, not the policy).
fn acceptable_pins(id_number: &str) -> Vec<&'static str> {
    use linli_identity::id_number::IdNumber;
    use linli_identity::pin::{Pin, check_policy};
    let id = IdNumber::parse(id_number).unwrap();
    let pins: Vec<&str> = ["739415", "846203", "592730", "307948", "185296", "964031", "270583", "813740"]
        .into_iter()
        .filter(|p| check_policy(&Pin::parse(p).unwrap(), Some(&id)).is_ok())
        .collect();
    assert!(pins.len() >= 3, "{pins:?}");
    pins
}

async fn support(world: &World, openid: &str) -> Owner {
    use diesel_async::{AsyncConnection, AsyncPgConnection};
    let s = Owner::login(world, openid).await.unwrap();
    let mut conn = AsyncPgConnection::establish(world.db.url()).await.unwrap();
    linli_server::auth::roles::grant(&mut conn, s.account_id, world.community_id, linli_server::auth::Role::Support)
        .await
        .unwrap();
    s
}

/// The victim is on a meeting's roll; a legitimate reset (lost phone) revokes their certificate; they log in
/// again on the new phone, and that session's token is stolen before they bind the new device. The thief's
/// enrollment with their own ID number on the victim's account is refused at its first step, nothing of the
/// victim's changes, and the victim then votes with their own face, new device and unchanged PIN.
#[tokio::test]
async fn a_stolen_session_cannot_enroll_its_thief_on_the_victims_account() {
    let world = World::start().await.unwrap();
    let persons = demo_persons(&world).await.unwrap();
    let victim_person = persons[0].clone();
    let thief_person = persons
        .iter()
        .find(|p| p.id_number != victim_person.id_number && (&p.building, &p.unit) != (&victim_person.building, &victim_person.unit))
        .unwrap()
        .clone();
    let victim_unit = unit_id(&world, &victim_person.building, &victim_person.unit).await.unwrap();
    let thief_unit = unit_id(&world, &thief_person.building, &thief_person.unit).await.unwrap();
    let mut victim = Owner::login(&world, "o-victim").await.unwrap();
    let victim_pin = pin_for(&victim_person);
    let enrollment = victim.enroll(&world, victim_unit, &victim_person, &victim_pin).await.unwrap();

    // The roll freezes with the victim's keys on it.
    let (a, b) = (committee(&world, "o-ss-com-a").await.unwrap(), committee(&world, "o-ss-com-b").await.unwrap());
    let starts = chrono::Utc::now() + chrono::Duration::seconds(3);
    let meeting = open_meeting(&world, &a, &b, "业主大会", two_proposals(), starts, starts + chrono::Duration::seconds(120))
        .await
        .unwrap();

    // Lost phone: a support reset, filed and approved by two staff members.
    let (s1, s2) = (support(&world, "o-ss-staff-1").await, support(&world, "o-ss-staff-2").await);
    let path = format!("/v1/support/communities/{}/binding-resets", world.community_id);
    let filed = s1.post(&path, &json!({ "account_id": victim.account_id, "reason": "lost phone", "ticket_id": "T-25" })).await.unwrap();
    assert_eq!(filed.status(), 201);
    let filed: Value = filed.json().await.unwrap();
    let approved = s2.post(&format!("{path}/{}/approve", filed["id"].as_str().unwrap()), &json!({})).await.unwrap();
    assert_eq!(approved.status(), 200);

    // The new phone's session; the thief has its token and nothing else.
    let relogin = Owner::login(&world, "o-victim").await.unwrap();
    victim.token = relogin.token.clone();
    let thief = Owner { key: None, serial: None, ..relogin };
    assert_eq!(thief.account_id, victim.account_id);

    // Step 1 of the takeover: an enrollment with the thief's own name, ID number and unit — refused.
    let start = thief
        .post(
            "/v1/enrollments",
            &json!({ "community_id": world.community_id, "unit_id": thief_unit, "real_name": thief_person.name,
                     "id_number": thief_person.id_number, "consent_version": linli_tests::world::CONSENT_VERSION }),
        )
        .await
        .unwrap();
    assert_eq!(problem(start).await, (409, "enrollment_other_person".to_owned()));
    let me: Value = thief.get("/v1/me").await.unwrap().json().await.unwrap();
    assert_eq!(me["enrollments"].as_array().unwrap().len(), 1, "no enrollment was started: {me}");
    assert_eq!((me["verified_owner"].as_bool(), me["device"].is_null()), (Some(false), true));
    // Nor can the thief bind a device through the victim's reopened enrollment: it needs the victim's face.
    let mut thief = thief;
    let early = thief.bind_device(enrollment, "install-thief").await.unwrap();
    assert_eq!(problem(early).await, (409, "enrollment_face_required".to_owned()));
    let face = thief.upload_face(enrollment, std::fs::read(&thief_person.face_path).unwrap(), "selfie.png").await.unwrap();
    let face: Value = face.json().await.unwrap();
    assert_eq!(face["passed"], false, "the thief's face is not the victim's: {face}");

    // The victim: face again, the new phone bound, and the sheet signed with the PIN they always had.
    let face = victim.upload_face(enrollment, std::fs::read(&victim_person.face_path).unwrap(), "selfie.png").await.unwrap();
    assert_eq!(face.status(), 200);
    let bound = victim.bind_device(enrollment, "install-victim-new-phone").await.unwrap();
    assert_eq!(bound.status(), 201);
    let cert: Value = bound.json().await.unwrap();
    victim.serial = cert["serial"].as_str().map(str::to_owned);
    until_voting_opens(starts).await;
    let sheet_path = format!("/v1/meetings/{meeting}/sheets");
    let body = json!({ "pin": victim_pin, "choices": [0, 1] });
    let bytes = serde_json::to_vec(&body).unwrap();
    let mut headers =
        linli_tests::client::sign_request(victim.key.as_ref().unwrap(), victim.serial.as_deref().unwrap(), "POST", &sheet_path, &bytes);
    headers.push(("Idempotency-Key".into(), "ss-victim-1".into()));
    let cast = victim.send_raw("POST", &sheet_path, &bytes, &headers).await.unwrap();
    assert_eq!(cast.status(), 201, "{}", cast.text().await.unwrap());
}

/// The same person enrolling a second unit after a revocation: the PIN step checks the account's PIN and keeps
/// it (a different PIN is refused, not stored), and the new device also serves the reopened first enrollment,
/// which completes again with its own new face match.
#[tokio::test]
async fn a_later_enrollment_keeps_the_accounts_pin() {
    let world = World::start().await.unwrap();
    let owners = person_owners(&world.sandbox.base_url()).await.unwrap();
    let person = owners.iter().find(|p| p.units.iter().filter(|u| u.building.starts_with('B')).count() >= 2).unwrap();
    let homes: Vec<_> = person.units.iter().filter(|u| u.building.starts_with('B')).collect();
    let first_unit = unit_id(&world, &homes[0].building, &homes[0].unit).await.unwrap();
    let second_unit = unit_id(&world, &homes[1].building, &homes[1].unit).await.unwrap();
    let face = face_png(&linli_tests::client(), &world.sandbox.base_url(), &person.id_number).await.unwrap();
    let pins = acceptable_pins(&person.id_number);
    let (pin, other_pin, new_pin) = (pins[0], pins[1], pins[2]);

    let mut owner = Owner::login(&world, "o-two-homes").await.unwrap();
    let first = owner
        .enroll_with_face(world.community_id, first_unit, &person.name, &person.id_number, face.clone(), pin)
        .await
        .unwrap();
    let serial = owner.serial.clone().unwrap();
    let revoked = owner.post(&format!("/v1/me/devices/{serial}/revoke"), &json!({ "pin": pin })).await.unwrap();
    assert_eq!(revoked.status(), 200);

    // The second home, through all factors; the PIN step with another PIN is refused and stores nothing.
    let second = owner.start_enrollment_as(world.community_id, second_unit, &person.name, &person.id_number).await.unwrap();
    assert_eq!(owner.upload_face(second, face.clone(), "selfie.png").await.unwrap().status(), 200);
    assert_eq!(owner.post(&format!("/v1/enrollments/{second}/registry"), &json!({})).await.unwrap().status(), 200);
    let bound = owner.bind_device(second, "install-two-homes-2").await.unwrap();
    assert_eq!(bound.status(), 201);
    let cert: Value = bound.json().await.unwrap();
    owner.serial = cert["serial"].as_str().map(str::to_owned);
    let pin_path = format!("/v1/enrollments/{second}/pin");
    let replaced = owner.signed("POST", &pin_path, &json!({ "pin": other_pin })).await.unwrap();
    assert_eq!(problem(replaced).await, (403, "pin_incorrect".to_owned()));
    let kept = owner.signed("POST", &pin_path, &json!({ "pin": pin })).await.unwrap();
    assert_eq!(kept.status(), 200);
    let kept: Value = kept.json().await.unwrap();
    assert_eq!(kept["state"], "completed", "{kept}");

    // The first home's enrollment counts the new device; its own face match completes it.
    let state: Value = owner.get(&format!("/v1/enrollments/{first}")).await.unwrap().json().await.unwrap();
    assert_eq!((state["state"].as_str(), state["face"].as_str(), state["device"].as_str()), (Some("open"), Some("pending"), Some("passed")));
    assert_eq!(owner.upload_face(first, face, "selfie.png").await.unwrap().status(), 200);
    let state: Value = owner.get(&format!("/v1/enrollments/{first}")).await.unwrap().json().await.unwrap();
    assert_eq!(state["state"], "completed", "{state}");

    // The PIN is the one set first: changing it needs that one.
    let wrong = owner.signed("PUT", "/v1/me/pin", &json!({ "old_pin": other_pin, "new_pin": new_pin })).await.unwrap();
    assert_eq!(problem(wrong).await, (403, "pin_incorrect".to_owned()));
    let ok = owner.signed("PUT", "/v1/me/pin", &json!({ "old_pin": pin, "new_pin": new_pin })).await.unwrap();
    assert_eq!(ok.status(), 204);
}
