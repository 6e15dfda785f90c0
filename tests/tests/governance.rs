//! Ballot sheets end to end: the real `linli` binary and sandbox, owners enrolled with the reference client
//! (face, registry, device certificate, PIN), device-signed sheets. Proves the sheet refusals of the governance
//! issue's Acceptance: missing proposal, replayed nonce, same Idempotency-Key twice (second gets the first
//! answer), different keys twice (refused), an account not on the roll, a sheet after the window; parallel wrong
//! PINs on a sheet are each counted (the lockout).

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

/// A PIN that is not the person's.
fn wrong_pin(p: &DemoPerson) -> &'static str {
    if pin_for(p) == "000001" { "000002" } else { "000001" }
}

#[tokio::test]
async fn sheet_refusals_and_idempotent_receipts() {
    let world = World::start().await.unwrap();
    let persons = demo_persons(&world).await.unwrap();
    let (p1, p2) = (&persons[0], &persons[1]);
    let mut voter = Owner::login(&world, "o-gov-voter").await.unwrap();
    let u1 = unit_id(&world, &p1.building, &p1.unit).await.unwrap();
    voter.enroll(&world, u1, p1, &pin_for(p1)).await.unwrap();

    // A voter whose PIN is guessed at in parallel (enrolled before the roll freezes).
    let p3 = persons[2..].iter().find(|p| (&p.building, &p.unit) != (&p1.building, &p1.unit) && (&p.building, &p.unit) != (&p2.building, &p2.unit)).unwrap();
    let mut guessed = Owner::login(&world, "o-gov-guessed").await.unwrap();
    let u3 = unit_id(&world, &p3.building, &p3.unit).await.unwrap();
    guessed.enroll(&world, u3, p3, &pin_for(p3)).await.unwrap();

    let a = committee(&world, "o-gov-com-a").await;
    let b = committee(&world, "o-gov-com-b").await;
    let start = chrono::Utc::now() + chrono::Duration::seconds(4);
    let end = start + chrono::Duration::seconds(25);
    let draft = json!({
        "title": "第一次业主大会",
        "proposals": [
            {"matter": 5, "title": "更换电梯", "body": "使用维修资金更换电梯"},
            {"matter": 7, "title": "外墙翻新", "body": "翻新外墙"}
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

    // Five wrong PINs at once: the PIN row lock counts every one (four refusals, the fifth locks), and then
    // the right PIN is locked out too; no sheet is stored.
    let wrong = wrong_pin(p3);
    let guess = |i: u32| {
        let (guessed, path) = (&guessed, &path);
        async move { sheet(guessed, path, &json!({"pin": wrong, "choices": [0, 1]}), &format!("k-guess-{i}"), None).await }
    };
    let (g0, g1, g2, g3, g4) = tokio::join!(guess(0), guess(1), guess(2), guess(3), guess(4));
    let mut codes: Vec<(u16, String)> =
        [g0, g1, g2, g3, g4].into_iter().map(|(s, e, _)| (s, e["code"].as_str().unwrap_or_default().to_owned())).collect();
    codes.sort();
    let refused = (403, "pin_incorrect".to_owned());
    assert_eq!(codes, vec![refused.clone(), refused.clone(), refused.clone(), refused, (423, "pin_locked".to_owned())]);
    let (s, e, _) = sheet(&guessed, &path, &json!({"pin": pin_for(p3), "choices": [0, 1]}), "k-guess-right", None).await;
    assert_eq!((s, e["code"].as_str()), (423, Some("pin_locked")), "{e}");
    let none = guessed.get(&format!("/v1/meetings/{id}/sheets/mine")).await.unwrap();
    assert_eq!(none.status(), 404);

    // A refused PIN stores no answer under its key: the corrected sheet may use the same key.
    let (s, e, _) = sheet(&voter, &path, &json!({"pin": wrong_pin(p1), "choices": [0, 1]}), "k-1", None).await;
    assert_eq!((s, e["code"].as_str()), (403, Some("pin_incorrect")), "{e}");
    // The same request twice at once (each freshly signed): one sheet, and both get its receipt (the second
    // waits at the key until the first commits, then answers as it did).
    let ((s, first, headers), (s2, twin, _)) = tokio::join!(sheet(&voter, &path, &good, "k-1", None), sheet(&voter, &path, &good, "k-1", None));
    assert_eq!((s, s2), (201, 201), "{first} {twin}");
    assert_eq!(first, twin);
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
    // Another owner's session with this voter's device signature (a stolen key): the certificate is not theirs.
    let bytes = serde_json::to_vec(&json!({"pin": pin_for(p3), "choices": [0, 1]})).unwrap();
    let stolen = sign_request(voter.key.as_ref().unwrap(), voter.serial.as_deref().unwrap(), "POST", &path, &bytes);
    let (s, e, _) = sheet(&guessed, &path, &json!({"pin": pin_for(p3), "choices": [0, 1]}), "k-stolen", Some(&stolen)).await;
    assert_eq!((s, e["code"].as_str()), (401, Some("signature_cert_not_owned")), "{e}");

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

async fn sandbox_messages(world: &World, openid: &str) -> Vec<Value> {
    let url = format!("{}/sandbox/wechat/messages?openid={openid}", world.sandbox.base_url());
    let v: Value = linli_tests::client().get(url).send().await.unwrap().json().await.unwrap();
    v["messages"].as_array().cloned().unwrap_or_default()
}

/// Waits until no notice of the meeting is pending or mid-send; returns the committee's proof-of-service list.
async fn settled_notices(committee: &Owner, id: &str) -> Vec<Value> {
    for _ in 0..200 {
        let list: Value = committee.get(&format!("/v1/meetings/{id}/notices")).await.unwrap().json().await.unwrap();
        let rows = list.as_array().cloned().unwrap_or_default();
        if !rows.is_empty() && rows.iter().all(|r| r["status"] != "pending" && r["status"] != "sending") {
            return rows;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("notices did not settle");
}

/// Proof of service (issue 6, Deliver 5): publishing queues one notice per owner behind the roll's keys; the
/// server's worker sends each through WeChat's subscribe-message API (the sandbox records what it received) and
/// records sent/failed with WeChat's errcode; the owner's read receipt is recorded once; a SIGKILL and restart
/// of the server sends nothing twice.
#[tokio::test]
async fn publication_serves_each_owner_once_and_records_sends_failures_and_reads() {
    let mut world = World::start_with(&[(
        // The console's template id for meeting notices, as production configures it.
        "LINLI_IDENTITY__WECHAT__TEMPLATES__MEETING_NOTICE".into(),
        "tmpl-7Hq2meetingNotice".into(),
    )])
    .await
    .unwrap();
    let persons = demo_persons(&world).await.unwrap();
    let (p1, p2) = (&persons[2], &persons[3]);
    let mut served = Owner::login(&world, "o-notice-served").await.unwrap();
    // This owner agrees to electronic service with the enrollment (issue 24 item 5); the other does not.
    served.electronic_service_consent_version = Some(linli_server::governance::service::ELECTRONIC_SERVICE_CONSENT_VERSION.to_owned());
    let u1 = unit_id(&world, &p1.building, &p1.unit).await.unwrap();
    served.enroll(&world, u1, p1, &pin_for(p1)).await.unwrap();
    let mut refusing = Owner::login(&world, "o-notice-refusing").await.unwrap();
    let u2 = unit_id(&world, &p2.building, &p2.unit).await.unwrap();
    refusing.enroll(&world, u2, p2, &pin_for(p2)).await.unwrap();
    // This owner never accepted subscribe messages: WeChat answers 43101.
    let r = linli_tests::client()
        .post(format!("{}/sandbox/wechat/subscribe-refusals", world.sandbox.base_url()))
        .json(&json!({"openid": "o-notice-refusing"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);

    let mut a = committee(&world, "o-notice-com-a").await;
    let b = committee(&world, "o-notice-com-b").await;
    let start = chrono::Utc::now() + chrono::Duration::hours(1);
    let title = "2026 年度业主大会：电梯更换与外墙翻新";
    let draft = json!({
        "title": title,
        "proposals": [{"matter": 5, "title": "更换电梯", "body": "使用维修资金更换电梯"}],
        "rules": {"silent_follows_majority": true},
        "notice_days": 0,
        "voting_starts_at": start.to_rfc3339(),
        "voting_ends_at": (start + chrono::Duration::days(7)).to_rfc3339()
    });
    let m: Value = a.post(&format!("/v1/communities/{}/meetings", world.community_id), &draft).await.unwrap().json().await.unwrap();
    let id = m["id"].as_str().unwrap().to_owned();
    // Nothing to read before publication.
    let r = served.post(&format!("/v1/meetings/{id}/notice/read"), &json!({})).await.unwrap();
    assert_eq!(r.status(), 404, "a draft is invisible to owners");
    let submitted: Value = a.post(&format!("/v1/meetings/{id}/submit"), &json!({})).await.unwrap().json().await.unwrap();
    assert_eq!(submitted["status"], "committee_review", "{submitted}");
    for who in [&a, &b] {
        let r = who.post(&format!("/v1/meetings/{id}/committee-review"), &json!({"approved": true})).await.unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }

    let rows = settled_notices(&a, &id).await;
    assert_eq!(rows.len(), 2, "one notice per enrolled owner, none for the committee members: {rows:?}");
    let row_of = |rows: &[Value], acc: uuid::Uuid| rows.iter().find(|r| r["account_id"] == acc.to_string()).cloned().unwrap();
    let ok = row_of(&rows, served.account_id);
    assert_eq!((ok["status"].as_str(), ok["errcode"].as_i64(), ok["channel"].as_str()), (Some("sent"), Some(0), Some("wechat_subscribe")), "{ok}");
    assert!(ok["sent_at"].is_string() && ok["read_at"].is_null());
    assert_eq!(ok["headcount_keys"].as_array().unwrap().len(), 1);
    let refused = row_of(&rows, refusing.account_id);
    assert_eq!((refused["status"].as_str(), refused["errcode"].as_i64()), (Some("failed"), Some(43101)), "{refused}");
    assert!(refused["sent_at"].is_null());

    // What WeChat received: one message for the served owner, the meeting's title and page; none for the other.
    let got = sandbox_messages(&world, "o-notice-served").await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["template_id"], "tmpl-7Hq2meetingNotice", "the configured template id");
    assert_eq!(got[0]["page"].as_str().unwrap(), format!("pages/meetings/notice?id={id}"));
    let thing1 = got[0]["data"]["thing1"]["value"].as_str().unwrap();
    assert!(thing1.chars().count() <= 20 && title.starts_with(thing1.trim_end_matches('…')), "{thing1}");
    // Under `silent_follows_majority` the notice states the consequence of not voting; the page it links (the
    // meeting with its agenda) states it in full.
    assert_eq!(got[0]["data"]["thing4"]["value"], "逾期未表决视为随多数意见");
    let page: Value = served.get(&format!("/v1/meetings/{id}")).await.unwrap().json().await.unwrap();
    assert!(page["consequence_of_not_voting"].as_str().unwrap().contains("随已表决业主的决定"), "{page}");
    assert!(page["proposals"].as_array().is_some_and(|p| p.len() == 1));
    assert!(sandbox_messages(&world, "o-notice-refusing").await.is_empty());
    // The consent given at enrollment is on record; the other owner gave none.
    let consent_of = async |o: &Owner| -> Value {
        let url = format!("/v1/communities/{}/electronic-service-consent", world.community_id);
        o.get(&url).await.unwrap().json().await.unwrap()
    };
    assert_eq!(consent_of(&served).await["agreed"], true);
    assert_eq!(consent_of(&refusing).await["agreed"], false);

    // Read receipts: recorded once, the first time; the refused owner opening the notice in the app is served.
    let first: Value = served.post(&format!("/v1/meetings/{id}/notice/read"), &json!({})).await.unwrap().json().await.unwrap();
    assert!(first["read_at"].is_string(), "{first}");
    let again: Value = served.post(&format!("/v1/meetings/{id}/notice/read"), &json!({})).await.unwrap().json().await.unwrap();
    assert_eq!(again["read_at"], first["read_at"]);
    let r = refusing.post(&format!("/v1/meetings/{id}/notice/read"), &json!({})).await.unwrap();
    assert_eq!(r.status(), 200);
    // Only the committee sees everyone's proof of service.
    assert_eq!(served.get(&format!("/v1/meetings/{id}/notices")).await.unwrap().status(), 404);

    // SIGKILL and restart on the same database: the queue is durable and nothing is sent again.
    std::process::Command::new("kill").arg("-KILL").arg(world.server.pid().to_string()).status().unwrap();
    let ca_key = world.ca_cert.with_file_name("device-ca.key");
    let env = linli_tests::world::identity_env(&world.sandbox, &world.ca_cert, &ca_key);
    world.server = linli_tests::LinliServer::start_with(&world.db, &env).await.unwrap();
    a.base = world.server.base_url.clone();
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(sandbox_messages(&world, "o-notice-served").await.len(), 1, "no second send after a restart");
    let rows = settled_notices(&a, &id).await;
    assert_eq!(row_of(&rows, served.account_id)["attempts"], 1);
}

/// Content screening (issue 6, Deliver 1): after the sensitive-word list, WeChat's `msg_sec_check` v2 (the
/// sandbox flags the words its control list names). A text WeChat does not pass goes to human review with
/// WeChat's labels and keywords shown; a clean text goes straight to committee review with WeChat's "pass".
#[tokio::test]
async fn wechat_content_security_sends_flagged_meetings_to_human_review() {
    let world = World::start().await.unwrap();
    let r = linli_tests::client()
        .put(format!("{}/sandbox/wechat/sec-check-words", world.sandbox.base_url()))
        .json(&json!({"words": [{"keyword": "保本高息", "label": 20008, "suggest": "review"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let a = committee(&world, "o-screen-com").await;
    let start = chrono::Utc::now() + chrono::Duration::hours(1);
    let draft = |body: &str| {
        json!({
            "title": "公共收益使用",
            "proposals": [{"matter": 9, "title": "公共收益存放", "body": body}],
            "notice_days": 0,
            "voting_starts_at": start.to_rfc3339(),
            "voting_ends_at": (start + chrono::Duration::days(7)).to_rfc3339()
        })
    };
    let submit = async |body: &str| -> Value {
        let m: Value = a.post(&format!("/v1/communities/{}/meetings", world.community_id), &draft(body)).await.unwrap().json().await.unwrap();
        let id = m["id"].as_str().unwrap().to_owned();
        a.post(&format!("/v1/meetings/{id}/submit"), &json!({})).await.unwrap().json().await.unwrap()
    };
    let flagged = submit("公共收益存入保本高息产品").await;
    assert_eq!(flagged["status"], "screening_review", "{flagged}");
    assert_eq!(flagged["screening_terms"], json!([]), "the word list found nothing; WeChat did");
    let wx = &flagged["screening_wechat"];
    assert_eq!(wx["suggest"], "review", "{wx}");
    assert_eq!(wx["labels"], json!([{"label": 20008, "name": "欺诈"}]));
    assert_eq!(wx["keywords"], json!(["保本高息"]));
    assert!(wx["error"].is_null() && !wx["trace_ids"].as_array().unwrap().is_empty());

    let clean = submit("公共收益存入业委会专户").await;
    assert_eq!(clean["status"], "committee_review", "{clean}");
    assert_eq!(clean["screening_wechat"]["suggest"], "pass");

    // Bureau supervision (issue 6, Deliver 8): the bureau's app lists the community's meetings past the draft
    // stage; an app with another role learns nothing (404; other communities are the authorization matrix's).
    let draft_only: Value = a.post(&format!("/v1/communities/{}/meetings", world.community_id), &draft("草稿")).await.unwrap().json().await.unwrap();
    let list_as = async |role: linli_server::auth::org_app::OrgRole, scope: uuid::Uuid| -> (u16, Value) {
        let app = linli_tests::org::OrgApp::create(&world, role, &[scope]).await.unwrap();
        let r = app.get(&format!("/openapi/v1/communities/{}/meetings", world.community_id)).await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    };
    let (s, list) = list_as(linli_server::auth::org_app::OrgRole::Bureau, world.community_id).await;
    assert_eq!(s, 200, "{list}");
    let seen: Vec<(&str, &str)> = list.as_array().unwrap().iter().map(|m| (m["id"].as_str().unwrap(), m["status"].as_str().unwrap())).collect();
    assert_eq!(
        seen,
        [(clean["id"].as_str().unwrap(), "committee_review"), (flagged["id"].as_str().unwrap(), "screening_review")],
        "newest first, the draft {} left out",
        draft_only["id"]
    );
    assert_eq!(list_as(linli_server::auth::org_app::OrgRole::Property, world.community_id).await.0, 404);
}

/// Issue 25 item 2: a sheet's stored answer is no PIN oracle. The `Idempotency-Key` keeps a keyed fingerprint of
/// the request (a database copy cannot try the 10⁶ PINs against it), and the stored answer is given only to a
/// request whose device signature verifies — a session plus the key learns nothing, whatever PIN it sends.
#[tokio::test]
async fn a_stored_sheet_answer_needs_the_device_signature_and_its_fingerprint_hides_the_pin() {
    use diesel::prelude::*;
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    use linli_server::schema::idempotency_keys;
    use sha2::{Digest, Sha256};

    let world = World::start().await.unwrap();
    let persons = demo_persons(&world).await.unwrap();
    let p1 = &persons[0];
    let mut voter = Owner::login(&world, "o-oracle-voter").await.unwrap();
    let u1 = unit_id(&world, &p1.building, &p1.unit).await.unwrap();
    voter.enroll(&world, u1, p1, &pin_for(p1)).await.unwrap();
    let a = committee(&world, "o-oracle-com-a").await;
    let b = committee(&world, "o-oracle-com-b").await;
    let start = chrono::Utc::now() + chrono::Duration::seconds(3);
    let id = linli_tests::meeting::open_meeting(&world, &a, &b, "业主大会", linli_tests::meeting::two_proposals(), start, start + chrono::Duration::seconds(60))
        .await
        .unwrap();
    linli_tests::meeting::until_voting_opens(start).await;
    let path = format!("/v1/meetings/{id}/sheets");
    let good = json!({"pin": pin_for(p1), "choices": [0, 1]});
    let (s, receipt, signed_headers) = sheet(&voter, &path, &good, "k-oracle", None).await;
    assert_eq!(s, 201, "{receipt}");

    // The fingerprint is not the unkeyed SHA-256 of method, path and body that a PIN search would match.
    let mut conn = AsyncPgConnection::establish(world.db.url()).await.unwrap();
    let stored: Vec<u8> = idempotency_keys::table
        .find((format!("account:{}", voter.account_id), "k-oracle"))
        .select(idempotency_keys::request_sha256)
        .first(&mut conn)
        .await
        .unwrap();
    let body = serde_json::to_vec(&good).unwrap();
    let unkeyed = Sha256::new().chain_update(b"POST\0").chain_update(path.as_bytes()).chain_update([0]).chain_update(&body).finalize();
    assert_eq!(stored.len(), 32);
    assert_ne!(stored, unkeyed.to_vec(), "the idempotency fingerprint is an unkeyed hash of a body holding the PIN");

    // The session and the key alone, with the right PIN and with a wrong one: both refused at the signature, so
    // neither 201 (a match) nor 422 (no match) tells anything.
    for pin in [pin_for(p1), wrong_pin(p1).to_owned()] {
        let bytes = serde_json::to_vec(&json!({"pin": pin, "choices": [0, 1]})).unwrap();
        let resp = voter.send_raw("POST", &path, &bytes, &[("Idempotency-Key".into(), "k-oracle".into())]).await.unwrap();
        let status = resp.status().as_u16();
        let e: Value = resp.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 401, "an unsigned request with the sheet's key was answered: {e}");
        assert_eq!(e["code"].as_str(), Some("signature_headers_missing"), "{e}");
    }
    // A signature by the device over other bytes (the headers of the first request, another PIN) is refused too.
    let (s, e, _) = sheet(&voter, &path, &json!({"pin": wrong_pin(p1), "choices": [0, 1]}), "k-oracle", Some(&signed_headers)).await;
    assert_eq!((s, e["code"].as_str()), (401, Some("signature_invalid")), "{e}");
    // The device's own retries still get the receipt: the very same signed bytes (nonce already spent), and a
    // fresh signature of the same body.
    let (s, again, _) = sheet(&voter, &path, &good, "k-oracle", Some(&signed_headers)).await;
    assert_eq!((s, &again["sheet_id"]), (201, &receipt["sheet_id"]), "{again}");
    let (s, again, _) = sheet(&voter, &path, &good, "k-oracle", None).await;
    assert_eq!((s, &again["sheet_id"]), (201, &receipt["sheet_id"]), "{again}");
}
