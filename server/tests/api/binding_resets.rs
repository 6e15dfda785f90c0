//! Support binding resets against real rows (issue 25, item 3): a community's staff reset only a binding that serves
//! their community; the approval revokes it, resets the account's enrollments in every community it served, unlinks
//! the account everywhere and ends its sessions; pending resets lapse after 7 days, can be withdrawn, and block only
//! their own community.

use actix_web::test;
use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use linli_identity::enrollment::{Enrollment, EnrollmentEvent};
use linli_server::auth::Role;
use linli_server::schema::{account_persons, binding_resets, device_certificates, enrollments, units};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{TestApp, json_of};
use crate::service;

/// A demo owner (community A) and the owner of the second community's one unit (community B).
const OWNER_A: &str = "330106197601165874";
const OWNER_B: &str = "11010519491231002X";

async fn second_community(t: &TestApp) -> Uuid {
    let csv = "record,community,building,unit,name,kind,exclusive_area_m2,area_source,building_area_m2,owner_type,id_number,phone,holding\n\
               community,T-SECOND,,,别的小区,,,,,,,,\n\
               building,T-SECOND,B1,,1号楼,,,,,,,,\n\
               unit,T-SECOND,B1,0101,,residence,80.00,register,95.00,,,,\n\
               owner,T-SECOND,B1,0101,赵六,,,,,person,11010519491231002X,,\n";
    let register = linli_server::community::register_file::parse_register(csv.as_bytes()).unwrap();
    let mut conn = t.conn().await;
    linli_server::community::store::apply_register(&mut conn, &t.state.pii, &register, b"second", &|_| {})
        .await
        .unwrap()
        .community_id
}

async fn some_unit(t: &TestApp, community: Uuid) -> Uuid {
    units::table.filter(units::community_id.eq(community)).select(units::id).first(&mut t.conn().await).await.unwrap()
}

/// A completed enrollment (every factor passed, the device being `serial`), or an open one with no factor yet.
fn rules(completed: bool, serial: &str) -> Enrollment {
    let t0 = Utc::now() - Duration::hours(1);
    let mut e = Enrollment::start("2026-11", "2026-11", t0).unwrap();
    if completed {
        let events = [
            EnrollmentEvent::FaceConsentGiven { version: "2026-11-face".into() },
            EnrollmentEvent::FaceChecked { passed: true, score: 90.0, request_id: "r".into(), image_sha256: "h".into() },
            EnrollmentEvent::RegistryConfirmed { registered_area_centi_m2: None },
            EnrollmentEvent::DeviceBound { cert_serial: serial.to_owned() },
            EnrollmentEvent::PinSet,
        ];
        for (i, ev) in events.into_iter().enumerate() {
            e = e.apply(ev, t0 + Duration::minutes(i as i64 + 1)).unwrap().0;
        }
    }
    e
}

async fn insert_enrollment(t: &TestApp, account: Uuid, community: Uuid, rules: &Enrollment) -> Uuid {
    let id = Uuid::now_v7();
    let status = if rules.completed_at.is_some() { "completed" } else { "open" };
    diesel::insert_into(enrollments::table)
        .values((
            enrollments::id.eq(id),
            enrollments::account_id.eq(account),
            enrollments::community_id.eq(community),
            enrollments::unit_id.eq(some_unit(t, community).await),
            enrollments::real_name_enc.eq("not read here"),
            enrollments::id_number_enc.eq("not read here"),
            enrollments::id_number_bidx.eq("not read here"),
            enrollments::status.eq(status),
            enrollments::state.eq(serde_json::to_value(rules).unwrap()),
        ))
        .execute(&mut t.conn().await)
        .await
        .unwrap();
    id
}

async fn insert_certificate(t: &TestApp, account: Uuid, enrollment: Uuid, serial: &str) {
    let now = Utc::now();
    diesel::insert_into(device_certificates::table)
        .values((
            device_certificates::serial.eq(serial),
            device_certificates::account_id.eq(account),
            device_certificates::enrollment_id.eq(enrollment),
            device_certificates::public_key.eq(vec![4u8; 65]),
            device_certificates::device_hash.eq("d".repeat(64)),
            device_certificates::wx_hash.eq("w".repeat(64)),
            device_certificates::not_before.eq(now - Duration::hours(1)),
            device_certificates::not_after.eq(now + Duration::days(365)),
            device_certificates::status.eq("active"),
        ))
        .execute(&mut t.conn().await)
        .await
        .unwrap();
}

async fn support(t: &TestApp, community: Uuid) -> String {
    let (staff, token) = t.account().await;
    t.grant(staff, community, Role::Support).await;
    token
}

macro_rules! post {
    ($app:expr, $token:expr, $path:expr, $body:expr) => {{
        let req = test::TestRequest::post()
            .uri(&$path)
            .insert_header(("authorization", format!("Bearer {}", $token)))
            .set_json($body)
            .to_request();
        coded(json_of(test::call_service(&$app, req).await).await)
    }};
}

/// (status, problem code or "", body)
fn coded((status, _, body): (u16, String, Value)) -> (u16, String, Value) {
    (status, body["code"].as_str().unwrap_or_default().to_owned(), body)
}

macro_rules! me {
    ($app:expr, $token:expr) => {{
        let req = test::TestRequest::get()
            .uri("/v1/me")
            .insert_header(("authorization", format!("Bearer {}", $token)))
            .to_request();
        coded(json_of(test::call_service(&$app, req).await).await)
    }};
}

fn reset_body(account: Uuid) -> Value {
    json!({ "account_id": account, "reason": "lost phone", "ticket_id": "T-25" })
}

async fn enrollment_status(t: &TestApp, id: Uuid) -> (String, Value) {
    enrollments::table.find(id).select((enrollments::status, enrollments::state)).first(&mut t.conn().await).await.unwrap()
}

async fn resets_of(t: &TestApp, account: Uuid) -> i64 {
    binding_resets::table.filter(binding_resets::account_id.eq(account)).count().get_result(&mut t.conn().await).await.unwrap()
}

#[actix_web::test]
async fn staff_of_a_community_the_binding_does_not_serve_cannot_reset_it() {
    let t = TestApp::new().await;
    let a = t.import_demo().await;
    let b = second_community(&t).await;
    let (owner, owner_token) = t.account().await;
    let serial = "0a".repeat(16);
    let in_a = insert_enrollment(&t, owner, a, &rules(true, &serial)).await;
    insert_certificate(&t, owner, in_a, &serial).await;
    t.link_person(owner, a, OWNER_A).await;
    // Some enrollment of the account in B, none of whose factors passed: the binding does not serve B.
    insert_enrollment(&t, owner, b, &rules(false, "")).await;
    let (staff_b, staff_a) = (support(&t, b).await, support(&t, a).await);
    let app = service!(t);

    let (status, code, _) =
        post!(app, staff_b, format!("/v1/support/communities/{b}/binding-resets"), reset_body(owner));
    assert_eq!((status, code.as_str()), (409, "reset_no_binding_here"));
    assert_eq!(resets_of(&t, owner).await, 0, "a refusal files nothing");
    let (status, _, me) = me!(app, owner_token);
    assert_eq!((status, me["verified_owner"].as_bool()), (200, Some(true)), "the owner in A is untouched");

    // A's staff may.
    let (status, _, filed) = post!(app, staff_a, format!("/v1/support/communities/{a}/binding-resets"), reset_body(owner));
    assert_eq!(status, 201, "{filed}");
    assert_eq!(filed["state"], "pending");
}

#[actix_web::test]
async fn an_approved_reset_resets_every_community_and_ends_the_sessions() {
    let t = TestApp::new().await;
    let a = t.import_demo().await;
    let b = second_community(&t).await;
    let (owner, owner_token) = t.account().await;
    let serial = "0b".repeat(16);
    let in_a = insert_enrollment(&t, owner, a, &rules(true, &serial)).await;
    let in_b = insert_enrollment(&t, owner, b, &rules(true, &serial)).await;
    insert_certificate(&t, owner, in_a, &serial).await;
    t.link_person(owner, a, OWNER_A).await;
    t.link_person(owner, b, OWNER_B).await;
    let (filer, approver) = (support(&t, b).await, support(&t, b).await);
    let app = service!(t);
    // The session is in use (its epoch cached) when the reset lands.
    assert_eq!(me!(app, owner_token).0, 200);

    let path = format!("/v1/support/communities/{b}/binding-resets");
    let (status, _, filed) = post!(app, filer, path, reset_body(owner));
    assert_eq!(status, 201, "{filed}");
    let approve = format!("{path}/{}/approve", filed["id"].as_str().unwrap());
    let (status, _, approved) = post!(app, approver, approve, json!({}));
    assert_eq!((status, approved["state"].as_str()), (200, Some("approved")), "{approved}");

    for id in [in_a, in_b] {
        let (status, state) = enrollment_status(&t, id).await;
        assert_eq!((status.as_str(), state["face"].as_str(), state["device"].as_str()), ("open", Some("pending"), Some("pending")));
        assert_eq!(state["pin"], "passed", "the PIN stays");
    }
    let linked: i64 =
        account_persons::table.filter(account_persons::account_id.eq(owner)).count().get_result(&mut t.conn().await).await.unwrap();
    assert_eq!(linked, 0, "a verified owner nowhere");
    let cert: String = device_certificates::table.find(&serial).select(device_certificates::status).first(&mut t.conn().await).await.unwrap();
    assert_eq!(cert, "revoked");

    // Every session of the account ended at once; the staff's did not.
    assert_eq!(me!(app, owner_token).1, "unauthenticated");
    assert_eq!(me!(app, approver).0, 200);
    // PostgreSQL, not the cache, is the truth: a session of the old epoch is refused with the cache gone too.
    let stale = t.state.sessions.create(owner, 0).await.unwrap();
    let mut redis = t.state.redis.clone();
    redis::cmd("DEL").arg(format!("session_epoch:{owner}")).query_async::<i64>(&mut redis).await.unwrap();
    assert_eq!(me!(app, stale.0).1, "unauthenticated");
    // A new login (the current epoch) works.
    let epoch: i64 = linli_server::schema::accounts::table
        .find(owner)
        .select(linli_server::schema::accounts::session_epoch)
        .first(&mut t.conn().await)
        .await
        .unwrap();
    let fresh = t.state.sessions.create(owner, epoch).await.unwrap();
    assert_eq!(me!(app, fresh.0).0, 200);
}

#[actix_web::test]
async fn pending_resets_lapse_or_are_withdrawn_and_block_only_their_community() {
    let t = TestApp::new().await;
    let a = t.import_demo().await;
    let b = second_community(&t).await;
    let (owner, _) = t.account().await;
    let serial = "0c".repeat(16);
    let in_a = insert_enrollment(&t, owner, a, &rules(true, &serial)).await;
    insert_enrollment(&t, owner, b, &rules(true, &serial)).await;
    insert_certificate(&t, owner, in_a, &serial).await;
    let (a1, a2) = (support(&t, a).await, support(&t, a).await);
    let (b1, b2) = (support(&t, b).await, support(&t, b).await);
    let app = service!(t);
    let path_a = format!("/v1/support/communities/{a}/binding-resets");
    let path_b = format!("/v1/support/communities/{b}/binding-resets");

    // B's pending reset does not block A's staff; A's own pending one does.
    let (status, _, in_b) = post!(app, b1, path_b, reset_body(owner));
    assert_eq!(status, 201, "{in_b}");
    let (status, _, first) = post!(app, a1, path_a, reset_body(owner));
    assert_eq!(status, 201, "{first}");
    let (status, code, _) = post!(app, a2, path_a, reset_body(owner));
    assert_eq!((status, code.as_str()), (409, "reset_pending"));

    // Withdrawn by a colleague: it cannot be approved, and A may file anew.
    let first_id = first["id"].as_str().unwrap();
    let (status, _, withdrawn) = post!(app, a2, format!("{path_a}/{first_id}/withdraw"), json!({}));
    assert_eq!((status, withdrawn["state"].as_str()), (200, Some("withdrawn")), "{withdrawn}");
    let (status, code, _) = post!(app, a2, format!("{path_a}/{first_id}/approve"), json!({}));
    assert_eq!((status, code.as_str()), (409, "reset_withdrawn"));
    // Another community's staff cannot touch it.
    let (status, _, _) = post!(app, b2, format!("{path_b}/{first_id}/withdraw"), json!({}));
    assert_eq!(status, 404);

    // Left unapproved for 7 days it lapses: refused, and it no longer holds the pending place.
    let (status, _, second) = post!(app, a1, path_a, reset_body(owner));
    assert_eq!(status, 201, "{second}");
    let second_id: Uuid = second["id"].as_str().unwrap().parse().unwrap();
    let expires: chrono::DateTime<Utc> = second["expires_at"].as_str().unwrap().parse().unwrap();
    assert!((expires - Utc::now() - Duration::days(7)).num_seconds().abs() < 60, "{expires}");
    diesel::update(binding_resets::table.find(second_id))
        .set(binding_resets::expires_at.eq(Utc::now() - Duration::seconds(1)))
        .execute(&mut t.conn().await)
        .await
        .unwrap();
    let (status, code, _) = post!(app, a2, format!("{path_a}/{second_id}/approve"), json!({}));
    assert_eq!((status, code.as_str()), (410, "reset_expired"));
    let (status, _, third) = post!(app, a1, path_a, reset_body(owner));
    assert_eq!(status, 201, "{third}");

    // B's approval revokes the binding; A's pending reset of it can then only fail.
    let (status, _, approved) = post!(app, b2, format!("{path_b}/{}/approve", in_b["id"].as_str().unwrap()), json!({}));
    assert_eq!(status, 200, "{approved}");
    let (status, code, _) = post!(app, a2, format!("{path_a}/{}/approve", third["id"].as_str().unwrap()), json!({}));
    assert_eq!((status, code.as_str()), (409, "reset_binding_gone"));
    let (status, code, _) = post!(app, a1, path_a, reset_body(owner));
    assert_eq!((status, code.as_str()), (409, "reset_no_binding_here"));
}

#[actix_web::test]
async fn logout_ends_only_this_session() {
    let t = TestApp::new().await;
    let (account, token) = t.account().await;
    let other = t.state.sessions.create(account, 0).await.unwrap();
    let app = service!(t);
    let req = |token: &str| {
        test::TestRequest::post().uri("/v1/auth/logout").insert_header(("authorization", format!("Bearer {token}"))).to_request()
    };
    let (status, _, _) = json_of(test::call_service(&app, req(&token)).await).await;
    assert_eq!(status, 204);
    assert_eq!(me!(app, token).1, "unauthenticated");
    let (status, code, _) = coded(json_of(test::call_service(&app, req(&token)).await).await);
    assert_eq!((status, code.as_str()), (401, "unauthenticated"), "a second logout is refused as any dead session");
    let anonymous = test::TestRequest::post().uri("/v1/auth/logout").to_request();
    assert_eq!(json_of(test::call_service(&app, anonymous).await).await.0, 401);
    assert_eq!(me!(app, other.0).0, 200, "the account's other session stays open");
}
