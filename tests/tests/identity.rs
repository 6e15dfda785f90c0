//! Identity end to end: the real `linli` binary, the sandbox speaking WeChat / FaceID / registry protocols, and a
//! reference client doing what the mini-program does (DESIGN §4, §11; the identity issue's Acceptance).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};

use linli_tests::client::{DeviceKey, random_nonce, sign_request, signature_headers, string_to_sign};
use linli_tests::owner::{DemoPerson, Owner, demo_persons, unit_id};
use linli_tests::world::World;

/// A PIN that is not trivial and contains no part of the person's birth date or ID tail.
fn pin_for(person: &DemoPerson) -> String {
    let birth = &person.id_number[6..14];
    ["739415", "846203", "592730", "307948"]
        .into_iter()
        .find(|p| !p.contains(&birth[4..8]) && !p.contains(&birth[2..6]) && !p.contains(&birth[6..8]) && *p != &person.id_number[12..18])
        .unwrap()
        .to_owned()
}

async fn problem(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert_eq!(ct, "application/problem+json", "{status} {body}");
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

async fn staff(world: &World, openid: &str) -> Owner {
    use diesel_async::{AsyncConnection, AsyncPgConnection};
    let s = Owner::login(world, openid).await.unwrap();
    let mut conn = AsyncPgConnection::establish(world.db.url()).await.unwrap();
    linli_server::auth::roles::grant(&mut conn, s.account_id, world.community_id, linli_server::auth::Role::Support)
        .await
        .unwrap();
    s
}

#[tokio::test]
async fn login_enroll_sign_replay_second_device_reset_and_face_again() {
    let world = World::start().await.unwrap();
    let person = demo_persons(&world).await.unwrap().remove(0);
    let unit = unit_id(&world, &person.building, &person.unit).await.unwrap();
    let mut owner = Owner::login(&world, "o-owner-one").await.unwrap();
    let pin = pin_for(&person);
    let enrollment = owner.enroll(&world, unit, &person, &pin).await.unwrap();

    // GET /v1/me: a verified owner with the registered area.
    let me: Value = owner.get("/v1/me").await.unwrap().json().await.unwrap();
    assert_eq!(me["verified_owner"], true, "{me}");
    assert!(me["units"].as_array().unwrap().iter().any(|u| u["unit_id"] == unit.to_string()
        && u["exclusive_area_centi_m2"].as_i64().unwrap() > 0));
    assert_eq!(me["enrollments"][0]["status"], "completed");
    assert_eq!(me["pin_set"], true);
    let state: Value = owner.get(&format!("/v1/enrollments/{enrollment}")).await.unwrap().json().await.unwrap();
    assert_eq!((state["face"].as_str(), state["registry"].as_str(), state["device"].as_str(), state["pin"].as_str()),
               (Some("passed"), Some("passed"), Some("passed"), Some("passed")));

    // A signed request succeeds; the same bytes replayed are refused.
    let body = serde_json::to_vec(&json!({ "old_pin": pin, "new_pin": "615283" })).unwrap();
    let headers = sign_request(owner.key.as_ref().unwrap(), owner.serial.as_deref().unwrap(), "PUT", "/v1/me/pin", &body);
    let first = owner.send_raw("PUT", "/v1/me/pin", &body, &headers).await.unwrap();
    assert_eq!(first.status(), 204);
    let replay = owner.send_raw("PUT", "/v1/me/pin", &body, &headers).await.unwrap();
    assert_eq!(problem(replay).await, (401, "signature_nonce_replayed".to_owned()));

    // A second device for the same account: refused (the unit's enrollment is complete, the binding exists).
    let mut second = Owner::login(&world, "o-owner-one").await.unwrap();
    assert_eq!(second.account_id, owner.account_id);
    let refused = second.bind_device(enrollment, "install-second-phone").await.unwrap();
    assert_eq!(refused.status(), 409);

    // Support reset: filed by one staff member, refused to the same one, approved by a second.
    let s1 = staff(&world, "o-staff-one").await;
    let s2 = staff(&world, "o-staff-two").await;
    let path = format!("/v1/support/communities/{}/binding-resets", world.community_id);
    let filed = s1
        .post(&path, &json!({ "account_id": owner.account_id, "reason": "new phone", "ticket_id": "T-1001" }))
        .await
        .unwrap();
    assert_eq!(filed.status(), 201);
    let reset: Value = filed.json().await.unwrap();
    let approve = format!("{path}/{}/approve", reset["id"].as_str().unwrap());
    assert_eq!(problem(s1.post(&approve, &json!({})).await.unwrap()).await, (409, "reset_same_staff".to_owned()));
    assert_eq!(s2.post(&approve, &json!({})).await.unwrap().status(), 200);

    // The reset ended every session of the account: the phone logs in again.
    assert_eq!(problem(second.get("/v1/me").await.unwrap()).await, (401, "unauthenticated".to_owned()));
    let relogin = Owner::login(&world, "o-owner-one").await.unwrap();
    (owner.token, second.token) = (relogin.token.clone(), relogin.token);

    // The old certificate is revoked at once; the owner is notified; the account is no longer a verified owner.
    let old = owner.signed("PUT", "/v1/me/pin", &json!({ "old_pin": "615283", "new_pin": "615284" })).await.unwrap();
    assert_eq!(problem(old).await, (401, "signature_cert_revoked".to_owned()));
    let me: Value = second.get("/v1/me").await.unwrap().json().await.unwrap();
    assert_eq!(me["verified_owner"], false);
    let messages: Value = reqwest::get(format!("{}/sandbox/wechat/messages?openid=o-owner-one", world.sandbox.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(messages["messages"].as_array().unwrap().len(), 1, "{messages}");

    // The new device needs the face again first.
    let early = second.bind_device(enrollment, "install-second-phone").await.unwrap();
    assert_eq!(problem(early).await, (409, "enrollment_face_required".to_owned()));
    let face = second.upload_face(enrollment, std::fs::read(&person.face_path).unwrap(), "selfie.png").await.unwrap();
    assert_eq!(face.status(), 200);
    let bound = second.bind_device(enrollment, "install-second-phone").await.unwrap();
    assert_eq!(bound.status(), 201);
    let cert: Value = bound.json().await.unwrap();
    second.serial = cert["serial"].as_str().map(str::to_owned);
    let me: Value = second.get("/v1/me").await.unwrap().json().await.unwrap();
    assert_eq!(me["verified_owner"], true, "{me}");
    let ok = second.signed("PUT", "/v1/me/pin", &json!({ "old_pin": "615283", "new_pin": "615284" })).await.unwrap();
    assert_eq!(ok.status(), 204);
}

fn openssl(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    let out = std::process::Command::new("openssl").args(args).current_dir(dir).output().expect("openssl is installed");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// A device with `openssl` alone can enroll and sign: key and CSR by `openssl req`, the issued certificate checked
/// by `openssl verify` against our CA, the request signed by `openssl dgst -sha256 -sign`.
#[tokio::test]
async fn openssl_conformance() {
    let world = World::start().await.unwrap();
    let person = demo_persons(&world).await.unwrap().remove(1);
    let unit = unit_id(&world, &person.building, &person.unit).await.unwrap();
    let owner = Owner::login(&world, "o-openssl").await.unwrap();
    let id = owner.start_enrollment(world.community_id, unit, &person).await.unwrap();
    assert_eq!(owner.upload_face(id, std::fs::read(&person.face_path).unwrap(), "a.png").await.unwrap().status(), 200);
    assert_eq!(owner.post(&format!("/v1/enrollments/{id}/registry"), &json!({})).await.unwrap().status(), 200);

    let dir = tempfile_dir();
    openssl(&["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "device.key",
              "-subj", "/CN=device", "-out", "device.csr"], &dir);
    let csr = std::fs::read_to_string(dir.join("device.csr")).unwrap();
    let resp = owner
        .post(&format!("/v1/enrollments/{id}/device"), &json!({ "csr_pem": csr, "device_fingerprint": "openssl-box" }))
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let cert: Value = resp.json().await.unwrap();
    std::fs::write(dir.join("device.pem"), cert["certificate_pem"].as_str().unwrap()).unwrap();
    std::fs::write(dir.join("ca.pem"), cert["chain_pem"].as_str().unwrap()).unwrap();
    let verified = openssl(&["verify", "-CAfile", "ca.pem", "device.pem"], &dir);
    assert!(String::from_utf8_lossy(&verified.stdout).contains("device.pem: OK"));
    let text = openssl(&["x509", "-in", "device.pem", "-noout", "-text"], &dir);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("URI:urn:linli:device:") && text.contains("URI:urn:linli:wx:"), "{text}");
    assert!(text.contains("Digital Signature"));

    let serial = cert["serial"].as_str().unwrap();
    let path = format!("/v1/enrollments/{id}/pin");
    let body = serde_json::to_vec(&json!({ "pin": pin_for(&person) })).unwrap();
    let ts = chrono::Utc::now().timestamp_millis();
    let nonce = random_nonce();
    std::fs::write(dir.join("tosign"), string_to_sign("POST", &path, ts, &nonce, &body)).unwrap();
    openssl(&["dgst", "-sha256", "-sign", "device.key", "-out", "sig.der", "tosign"], &dir);
    let sig = std::fs::read(dir.join("sig.der")).unwrap();
    let resp = owner.send_raw("POST", &path, &body, &signature_headers(serial, ts, &nonce, &sig)).await.unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let me: Value = owner.get("/v1/me").await.unwrap().json().await.unwrap();
    assert_eq!(me["verified_owner"], true);
    let _ = std::fs::remove_dir_all(dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("linli-openssl-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A PNG whose header declares `w × h` pixels (valid signature and IHDR CRC, no real data).
fn png_header(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(b"IHDR");
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let crc = crc32(&ihdr);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&13u32.to_be_bytes());
    png.extend_from_slice(&ihdr);
    png.extend_from_slice(&crc.to_be_bytes());
    png.extend_from_slice(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xae, 0x42, 0x60, 0x82]);
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// Bad input is a 4xx problem with a stable code and changes nothing.
#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let world = World::start().await.unwrap();
    let persons = demo_persons(&world).await.unwrap();
    let person = persons[2].clone();
    let unit = unit_id(&world, &person.building, &person.unit).await.unwrap();
    let mut owner = Owner::login(&world, "o-bad-input").await.unwrap();
    let id = owner.start_enrollment(world.community_id, unit, &person).await.unwrap();

    // Images: truncated, oversized, a 50,000 × 50,000 PNG header (refused before decoding), HTML named .jpg.
    let real = std::fs::read(&person.face_path).unwrap();
    let cases: Vec<(Vec<u8>, &str, u16, &str)> = vec![
        (real[..real.len() / 3].to_vec(), "t.png", 422, "image_corrupt"),
        (vec![0xff; 11 * 1024 * 1024], "big.jpg", 413, "image_too_large"),
        (png_header(50_000, 50_000), "bomb.png", 422, "image_too_many_pixels"),
        (b"<html><body>hello</body></html>".to_vec(), "face.jpg", 415, "image_unsupported_format"),
    ];
    for (bytes, name, status, code) in cases {
        let started = std::time::Instant::now();
        let (s, c) = problem(owner.upload_face(id, bytes, name).await.unwrap()).await;
        assert_eq!((s, c.as_str()), (status, code), "{name}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{name} took {:?}", started.elapsed());
    }
    let state: Value = owner.get(&format!("/v1/enrollments/{id}")).await.unwrap().json().await.unwrap();
    assert_eq!(state["face"], "pending", "bad images change nothing");

    // A malformed ID number and a wrong consent version.
    let bad_id = owner
        .post("/v1/enrollments", &json!({ "community_id": world.community_id, "unit_id": unit, "real_name": "x",
                                           "id_number": "110105194912310021", "consent_version": "2026-11" }))
        .await
        .unwrap();
    assert_eq!(problem(bad_id).await, (422, "id_number_check_digit".to_owned()));

    // Face and registry pass; then bad CSRs.
    assert_eq!(owner.upload_face(id, real.clone(), "ok.png").await.unwrap().status(), 200);
    assert_eq!(owner.post(&format!("/v1/enrollments/{id}/registry"), &json!({})).await.unwrap().status(), 200);
    let dir = tempfile_dir();
    openssl(&["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp384r1", "-nodes", "-keyout", "k.key",
              "-subj", "/CN=x", "-out", "p384.csr"], &dir);
    let p384 = std::fs::read_to_string(dir.join("p384.csr")).unwrap();
    let wrong_curve = owner
        .post(&format!("/v1/enrollments/{id}/device"), &json!({ "csr_pem": p384, "device_fingerprint": "f" }))
        .await
        .unwrap();
    assert_eq!(problem(wrong_curve).await, (422, "csr_wrong_curve".to_owned()));
    let good = DeviceKey::generate().unwrap().csr_pem().unwrap();
    let broken = break_csr_signature(&good);
    let bad_sig = owner
        .post(&format!("/v1/enrollments/{id}/device"), &json!({ "csr_pem": broken, "device_fingerprint": "f" }))
        .await
        .unwrap();
    assert_eq!(problem(bad_sig).await.0, 422);
    let _ = std::fs::remove_dir_all(dir);

    // Bind for real, then: PIN 123456, a timestamp 301 s old, an unknown certificate serial.
    let device = owner.bind_device(id, "f-good").await.unwrap();
    assert_eq!(device.status(), 201);
    let cert: Value = device.json().await.unwrap();
    owner.serial = cert["serial"].as_str().map(str::to_owned);
    let path = format!("/v1/enrollments/{id}/pin");
    let trivial = owner.signed("POST", &path, &json!({ "pin": "123456" })).await.unwrap();
    assert_eq!(problem(trivial).await, (422, "pin_sequence".to_owned()));

    let body = serde_json::to_vec(&json!({ "pin": pin_for(&person) })).unwrap();
    let key = owner.key.as_ref().unwrap();
    let old_ts = chrono::Utc::now().timestamp_millis() - 301_000;
    let nonce = random_nonce();
    let sig = key.sign(string_to_sign("POST", &path, old_ts, &nonce, &body).as_bytes());
    let stale = owner.send_raw("POST", &path, &body, &signature_headers(owner.serial.as_deref().unwrap(), old_ts, &nonce, &sig)).await.unwrap();
    assert_eq!(problem(stale).await, (401, "signature_timestamp_out_of_window".to_owned()));
    let unknown = sign_request(key, "0123456789abcdef0123456789abcdef", "POST", &path, &body);
    let unknown = owner.send_raw("POST", &path, &body, &unknown).await.unwrap();
    assert_eq!(problem(unknown).await, (401, "signature_cert_unknown".to_owned()));
    let tampered = sign_request(key, owner.serial.as_deref().unwrap(), "POST", &path, b"{\"pin\":\"000000\"}");
    let tampered = owner.send_raw("POST", &path, &body, &tampered).await.unwrap();
    assert_eq!(problem(tampered).await, (401, "signature_invalid".to_owned()));

    let state: Value = owner.get(&format!("/v1/enrollments/{id}")).await.unwrap().json().await.unwrap();
    assert_eq!(state["pin"], "pending", "refused PIN requests change nothing");
    assert_eq!(state["state"], "open");
}

/// Flips a byte inside the signature BIT STRING at the end of a CSR's DER.
fn break_csr_signature(pem: &str) -> String {
    use base64::Engine;
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let mut der = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
    let last = der.len() - 3;
    der[last] ^= 0x55;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<String> = body.as_bytes().chunks(64).map(|c| String::from_utf8(c.to_vec()).unwrap()).collect();
    format!("-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n", lines.join("\n"))
}

/// No ID number, phone number, token, PIN or image byte in the logs or in plain text in the database.
#[tokio::test]
async fn no_personal_data_in_logs_or_tables() {
    let world = World::start().await.unwrap();
    let person = demo_persons(&world).await.unwrap().remove(3);
    let unit = unit_id(&world, &person.building, &person.unit).await.unwrap();
    let mut owner = Owner::login(&world, "o-privacy-check").await.unwrap();
    let pin = pin_for(&person);
    owner.enroll(&world, unit, &person, &pin).await.unwrap();
    let _ = owner.get("/v1/me").await.unwrap();

    let dump = dump_tables(world.db.url()).await;
    let log = world.server.log();
    let image = std::fs::read(&person.face_path).unwrap();
    let image_probe = hex_probe(&image);
    for (what, secret) in [("id number", person.id_number.as_str()), ("token", owner.token.as_str()),
                           ("openid", owner.openid.as_str()), ("name", person.name.as_str())] {
        assert!(!log.contains(secret), "{what} in the log");
        assert!(!dump.contains(secret), "{what} in the database");
    }
    assert!(!log.contains(&format!("\"{pin}\"")) && !dump.contains(&pin), "PIN leaked");
    assert!(!dump.contains(&image_probe), "image bytes stored");
    assert!(log.contains("request finished"), "the log was captured");
}

fn hex_probe(bytes: &[u8]) -> String {
    hex::encode(&bytes[bytes.len() / 2..bytes.len() / 2 + 24])
}

async fn dump_tables(url: &str) -> String {
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        table_name: String,
    }
    #[derive(diesel::QueryableByName)]
    struct Dump {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        text: Option<String>,
    }
    let mut conn = AsyncPgConnection::establish(url).await.unwrap();
    let tables: Vec<Name> = diesel::sql_query(
        "SELECT table_name::text AS table_name FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .load(&mut conn)
    .await
    .unwrap();
    let mut out = String::new();
    for t in tables {
        // Text form of every row, bytea as hex.
        let d: Dump = diesel::sql_query(format!("SELECT string_agg(x::text, '\n') AS text FROM \"{}\" x", t.table_name))
            .get_result(&mut conn)
            .await
            .unwrap();
        out.push_str(&d.text.unwrap_or_default());
    }
    out
}

async fn propose_review(staff: &Owner, path: &str, scan: Vec<u8>, file: &str, verdict: &str, area: Option<i64>) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new()
        .text("verdict", verdict.to_owned())
        .text("note", "certificate checked against the original at the desk")
        .part("scan", reqwest::multipart::Part::bytes(scan).file_name(file.to_owned()));
    if let Some(a) = area {
        form = form.text("registered_area_centi_m2", a.to_string());
    }
    staff.http.post(format!("{}{path}", staff.base)).bearer_auth(&staff.token).multipart(form).send().await.unwrap()
}

async fn unit_area(world: &World, unit: uuid::Uuid) -> i64 {
    use diesel::prelude::*;
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    use linli_server::schema::units;
    let mut conn = AsyncPgConnection::establish(world.db.url()).await.unwrap();
    units::table.find(unit).select(units::exclusive_area_centi_m2).first(&mut conn).await.unwrap()
}

async fn audit_actions(world: &World) -> Vec<String> {
    use diesel::prelude::*;
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    use linli_server::schema::audit_log;
    let mut conn = AsyncPgConnection::establish(world.db.url()).await.unwrap();
    audit_log::table.order(audit_log::seq).select(audit_log::action).load(&mut conn).await.unwrap()
}

/// The registry does not name the owner: the owner asks for a manual review, staff A uploads the certificate scan
/// and proposes approval with the registered area, A cannot also decide, staff B confirms; the registry factor
/// passes, the unit's area is corrected (audited), the owner is notified and completes the enrollment.
#[tokio::test]
async fn manual_registry_review_by_two_staff_members() {
    let world = World::start().await.unwrap();
    let person = demo_persons(&world).await.unwrap().remove(0);
    let unit = unit_id(&world, &person.building, &person.unit).await.unwrap();
    let http = linli_tests::client();
    let set = http
        .post(format!("{}/sandbox/registry/answers", world.sandbox.base_url()))
        .json(&json!({ "id_number": person.id_number, "mode": "not_named" }))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200);

    let mut owner = Owner::login(&world, "o-review-owner").await.unwrap();
    let id = owner.start_enrollment(world.community_id, unit, &person).await.unwrap();
    // The face first: the registry is asked only for someone who proved to be the person named.
    assert_eq!(owner.upload_face(id, std::fs::read(&person.face_path).unwrap(), "selfie.png").await.unwrap().status(), 200);
    // Staff cannot propose before the owner asks; the automatic check refuses the owner first.
    let refused: Value = owner.post(&format!("/v1/enrollments/{id}/registry"), &json!({})).await.unwrap().json().await.unwrap();
    assert_eq!((refused["confirmed"].as_bool(), refused["enrollment"]["registry"].as_str()), (Some(false), Some("failed")));
    let asked = owner.post(&format!("/v1/enrollments/{id}/registry/review"), &json!({})).await.unwrap();
    assert_eq!(asked.status(), 201);
    let asked: Value = asked.json().await.unwrap();
    assert_eq!(asked["enrollment"]["registry"], "under_review");
    let review = asked["review_id"].as_str().unwrap().to_owned();
    let again = owner.post(&format!("/v1/enrollments/{id}/registry/review"), &json!({})).await.unwrap();
    assert_eq!(problem(again).await, (409, "enrollment_review_under_way".to_owned()));
    let during = owner.post(&format!("/v1/enrollments/{id}/registry"), &json!({})).await.unwrap();
    assert_eq!(problem(during).await, (409, "enrollment_review_under_way".to_owned()));

    let a = staff(&world, "o-review-staff-a").await;
    let b = staff(&world, "o-review-staff-b").await;
    let base = format!("/v1/support/communities/{}/registry-reviews", world.community_id);
    let list: Value = a.get(&base).await.unwrap().json().await.unwrap();
    let listed = list["reviews"].as_array().unwrap().iter().find(|r| r["id"] == review.as_str()).cloned().unwrap();
    assert_eq!((listed["status"].as_str(), listed["owner_name"].as_str()), (Some("requested"), Some(person.name.as_str())));
    let masked = listed["owner_id_number_masked"].as_str().unwrap();
    assert!(masked.contains('*') && !masked.contains(&person.id_number[6..14]), "{masked}");
    // The owner is not staff: the staff routes do not exist for them.
    assert_eq!(owner.get(&base).await.unwrap().status(), 404);

    // Staff A: a scan that is really HTML is refused and changes nothing; then the real scan with the proposal.
    let proposal = format!("{base}/{review}/proposal");
    let html = propose_review(&a, &proposal, b"<html>certificate</html>".to_vec(), "cert.pdf", "approve", Some(9100)).await;
    assert_eq!(problem(html).await, (415, "image_unsupported_format".to_owned()));
    let no_area = propose_review(&a, &proposal, linli_tests::one_page_pdf("x"), "cert.pdf", "approve", None).await;
    assert_eq!(problem(no_area).await, (422, "enrollment_review_area_invalid".to_owned()));
    let before = unit_area(&world, unit).await;
    let registered = before + 137;
    let marker = format!("LINLI-CERT-{}", uuid::Uuid::new_v4().simple());
    let scan = linli_tests::one_page_pdf(&marker);
    let proposed = propose_review(&a, &proposal, scan.clone(), "cert.pdf", "approve", Some(registered)).await;
    assert_eq!(proposed.status(), 200, "{}", proposed.text().await.unwrap());
    let proposed: Value = proposed.json().await.unwrap();
    assert_eq!((proposed["status"].as_str(), proposed["proposal"]["scan_kind"].as_str()), (Some("proposed"), Some("pdf")));
    let twice = propose_review(&b, &proposal, scan.clone(), "cert.pdf", "approve", Some(registered)).await;
    assert_eq!(problem(twice).await, (409, "review_not_open".to_owned()));

    // A cannot also decide; B reads the scan and confirms.
    let decision = format!("{base}/{review}/decision");
    assert_eq!(problem(a.post(&decision, &json!({ "confirm": true })).await.unwrap()).await, (409, "enrollment_same_reviewer".to_owned()));
    let shown = b.get(&format!("{base}/{review}/scan")).await.unwrap();
    assert_eq!(shown.status(), 200);
    assert_eq!(shown.headers()["content-type"], "application/pdf");
    assert_eq!(shown.bytes().await.unwrap().to_vec(), scan);
    let decided = b.post(&decision, &json!({ "confirm": true })).await.unwrap();
    assert_eq!(decided.status(), 200);
    let decided: Value = decided.json().await.unwrap();
    assert_eq!(decided["status"], "approved");
    assert_eq!(problem(b.post(&decision, &json!({ "confirm": true })).await.unwrap()).await, (409, "review_not_proposed".to_owned()));

    // The factor passed with the registered area written to the unit; every step is audited; the owner notified.
    let state: Value = owner.get(&format!("/v1/enrollments/{id}")).await.unwrap().json().await.unwrap();
    assert_eq!(state["registry"], "passed");
    assert_eq!(unit_area(&world, unit).await, registered);
    let actions = audit_actions(&world).await;
    for action in ["registry_review.request", "registry_review.propose", "registry_review.scan_viewed", "unit.area.corrected", "registry_review.confirm"] {
        assert!(actions.iter().any(|a| a == action), "{action} not audited: {actions:?}");
    }
    let messages: Value = http
        .get(format!("{}/sandbox/wechat/messages?openid=o-review-owner", world.sandbox.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(messages["messages"].as_array().unwrap().iter().any(|m| m["template_id"] == "linli_registry_review"), "{messages}");

    // The rest of the enrollment (the face passed first), then a verified owner with the registered area.
    let device = owner.bind_device(id, "install-review").await.unwrap();
    assert_eq!(device.status(), 201);
    let cert: Value = device.json().await.unwrap();
    owner.serial = cert["serial"].as_str().map(str::to_owned);
    let pin = owner.signed("POST", &format!("/v1/enrollments/{id}/pin"), &json!({ "pin": pin_for(&person) })).await.unwrap();
    assert_eq!(pin.status(), 200);
    let me: Value = owner.get("/v1/me").await.unwrap().json().await.unwrap();
    assert_eq!(me["verified_owner"], true, "{me}");
    assert!(me["units"].as_array().unwrap().iter().any(|u| u["unit_id"] == unit.to_string() && u["exclusive_area_centi_m2"] == registered));

    // The scan is stored encrypted: its text is nowhere in the database, nor in the log.
    let dump = dump_tables(world.db.url()).await;
    assert!(!dump.contains(&marker) && !dump.contains(&hex::encode(marker.as_bytes())), "scan stored in plain text");
    assert!(!world.server.log().contains(&marker), "scan in the log");
}

/// A returned proposal waits for a new one; a confirmed rejection fails the factor; the registry being down
/// still lets the owner ask for a review.
#[tokio::test]
async fn registry_review_returned_then_rejected_while_the_registry_is_down() {
    let world = World::start().await.unwrap();
    let person = demo_persons(&world).await.unwrap().remove(1);
    let unit = unit_id(&world, &person.building, &person.unit).await.unwrap();
    linli_tests::client()
        .post(format!("{}/sandbox/registry/answers", world.sandbox.base_url()))
        .json(&json!({ "id_number": person.id_number, "mode": "unavailable" }))
        .send()
        .await
        .unwrap();
    let owner = Owner::login(&world, "o-review-down").await.unwrap();
    let id = owner.start_enrollment(world.community_id, unit, &person).await.unwrap();
    assert_eq!(owner.upload_face(id, std::fs::read(&person.face_path).unwrap(), "selfie.png").await.unwrap().status(), 200);
    let down = owner.post(&format!("/v1/enrollments/{id}/registry"), &json!({})).await.unwrap();
    assert_eq!(down.status(), 502);
    let asked: Value = owner.post(&format!("/v1/enrollments/{id}/registry/review"), &json!({})).await.unwrap().json().await.unwrap();
    let review = asked["review_id"].as_str().unwrap().to_owned();
    let (a, b) = (staff(&world, "o-down-staff-a").await, staff(&world, "o-down-staff-b").await);
    let base = format!("/v1/support/communities/{}/registry-reviews/{review}", world.community_id);
    let png = std::fs::read(&person.face_path).unwrap();
    assert_eq!(propose_review(&a, &format!("{base}/proposal"), png.clone(), "c.png", "approve", Some(8000)).await.status(), 200);
    // B returns it: the review waits for a new proposal, the factor is still under review.
    let returned: Value = b.post(&format!("{base}/decision"), &json!({ "confirm": false })).await.unwrap().json().await.unwrap();
    assert_eq!((returned["status"].as_str(), returned["proposal"].is_null()), (Some("requested"), true));
    assert_eq!(b.get(&format!("{base}/scan")).await.unwrap().status(), 404);
    // B proposes a rejection, A confirms it.
    assert_eq!(propose_review(&b, &format!("{base}/proposal"), png, "c.png", "reject", None).await.status(), 200);
    let rejected: Value = a.post(&format!("{base}/decision"), &json!({ "confirm": true })).await.unwrap().json().await.unwrap();
    assert_eq!(rejected["status"], "rejected");
    let state: Value = owner.get(&format!("/v1/enrollments/{id}")).await.unwrap().json().await.unwrap();
    assert_eq!(state["registry"], "failed");
}

/// The owner lists their devices and revokes one with the PIN: its signed requests are refused at once, and a
/// new device needs a new face match.
#[tokio::test]
async fn owner_lists_and_revokes_a_device() {
    let world = World::start().await.unwrap();
    let person = demo_persons(&world).await.unwrap().remove(2);
    let unit = unit_id(&world, &person.building, &person.unit).await.unwrap();
    let mut owner = Owner::login(&world, "o-devices").await.unwrap();
    let pin = pin_for(&person);
    let enrollment = owner.enroll(&world, unit, &person, &pin).await.unwrap();
    let serial = owner.serial.clone().unwrap();

    let listed = owner.get("/v1/me/devices").await.unwrap().text().await.unwrap();
    let list: Value = serde_json::from_str(&listed).unwrap();
    let devices = list["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!((devices[0]["serial"].as_str(), devices[0]["status"].as_str()), (Some(serial.as_str()), Some("active")));
    assert_eq!(devices[0]["fingerprint_sha256"].as_str().unwrap().len(), 64);
    assert!(!listed.contains("public_key") && !listed.contains("BEGIN"), "never the key: {listed}");

    let revoke = format!("/v1/me/devices/{serial}/revoke");
    let wrong = owner.post(&revoke, &json!({ "pin": "615283" })).await.unwrap();
    assert_eq!(problem(wrong).await, (403, "pin_incorrect".to_owned()));
    let unknown = owner.post("/v1/me/devices/0123456789abcdef0123456789abcdef/revoke", &json!({ "pin": pin })).await.unwrap();
    assert_eq!(problem(unknown).await, (404, "not_found".to_owned()));
    // Another account cannot revoke this one's device.
    let other = Owner::login(&world, "o-devices-other").await.unwrap();
    assert_eq!(problem(other.post(&revoke, &json!({ "pin": pin })).await.unwrap()).await.0, 404);

    // A session of the (lost) phone, opened before the revocation.
    let lost_phone = Owner::login(&world, "o-devices").await.unwrap();
    let done = owner.post(&revoke, &json!({ "pin": pin })).await.unwrap();
    assert_eq!(done.status(), 200);
    // Every other session of the account ended; the one that revoked stays open (it is used below).
    assert_eq!(problem(lost_phone.get("/v1/me").await.unwrap()).await, (401, "unauthenticated".to_owned()));
    let done: Value = done.json().await.unwrap();
    assert_eq!(done["status"], "revoked");
    assert!(done["revoked_at"].is_string());
    let signed = owner.signed("PUT", "/v1/me/pin", &json!({ "old_pin": pin, "new_pin": "615283" })).await.unwrap();
    assert_eq!(problem(signed).await, (401, "signature_cert_revoked".to_owned()));
    assert_eq!(problem(owner.post(&revoke, &json!({ "pin": pin })).await.unwrap()).await, (409, "device_already_revoked".to_owned()));
    let list: Value = owner.get("/v1/me/devices").await.unwrap().json().await.unwrap();
    assert_eq!(list["devices"][0]["status"], "revoked");
    let me: Value = owner.get("/v1/me").await.unwrap().json().await.unwrap();
    assert_eq!((me["verified_owner"].as_bool(), me["device"].is_null()), (Some(false), true));

    // The binding is free, but a new device needs a new face match first.
    let early = owner.bind_device(enrollment, "install-new-phone").await.unwrap();
    assert_eq!(problem(early).await, (409, "enrollment_face_required".to_owned()));
    assert_eq!(owner.upload_face(enrollment, std::fs::read(&person.face_path).unwrap(), "s.png").await.unwrap().status(), 200);
    let bound = owner.bind_device(enrollment, "install-new-phone").await.unwrap();
    assert_eq!(bound.status(), 201);
    let cert: Value = bound.json().await.unwrap();
    owner.serial = cert["serial"].as_str().map(str::to_owned);
    let me: Value = owner.get("/v1/me").await.unwrap().json().await.unwrap();
    assert_eq!(me["verified_owner"], true, "{me}");
    assert_eq!(owner.signed("PUT", "/v1/me/pin", &json!({ "old_pin": pin, "new_pin": "615283" })).await.unwrap().status(), 204);
    let list: Value = owner.get("/v1/me/devices").await.unwrap().json().await.unwrap();
    assert_eq!(list["devices"].as_array().unwrap().len(), 2);
}

/// A face upload with only the fields given (`face_consent_version` when `consent` is some).
async fn upload_face_with(owner: &Owner, enrollment: &str, image: Vec<u8>, consent: Option<&str>) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new().part("image", reqwest::multipart::Part::bytes(image).file_name("f.jpg"));
    if let Some(c) = consent {
        form = form.text("face_consent_version", c.to_owned());
    }
    owner
        .http
        .post(format!("{}/v1/enrollments/{enrollment}/face", owner.base))
        .bearer_auth(&owner.token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// Security finding 6: an upload is authorised (own enrollment, state, consent, attempts left) before its image is
/// decoded. Each refusal below names the authorisation step, not the image: HTML named `.jpg` would be a 415 had
/// it been decoded first.
#[tokio::test]
async fn uploads_are_authorised_before_they_are_decoded() {
    let world = World::start().await.unwrap();
    let persons = demo_persons(&world).await.unwrap();
    let (person, other) = (persons[0].clone(), persons[1].clone());
    let unit = unit_id(&world, &person.building, &person.unit).await.unwrap();
    let owner = Owner::login(&world, "o-upload-owner").await.unwrap();
    let stranger = Owner::login(&world, "o-upload-stranger").await.unwrap();
    let id = owner.start_enrollment(world.community_id, unit, &person).await.unwrap().to_string();
    let html = b"<html><body>not an image</body></html>".to_vec();
    let current = linli_tests::world::FACE_CONSENT_VERSION;

    // Another account's enrollment, and one that does not exist: not found, before anything is decoded.
    assert_eq!(problem(upload_face_with(&stranger, &id, html.clone(), Some(current)).await).await, (404, "not_found".to_owned()));
    let random = uuid::Uuid::now_v7().to_string();
    assert_eq!(problem(upload_face_with(&stranger, &random, html.clone(), Some(current)).await).await, (404, "not_found".to_owned()));
    // The owner without the face consent, or with an old consent text.
    assert_eq!(
        problem(upload_face_with(&owner, &id, html.clone(), None).await).await,
        (409, "enrollment_face_consent_missing".to_owned())
    );
    assert_eq!(
        problem(upload_face_with(&owner, &id, html.clone(), Some("2000-01")).await).await,
        (422, "enrollment_consent_version".to_owned())
    );
    // The consent came with refused uploads only: nothing was recorded.
    let state: Value = owner.get(&format!("/v1/enrollments/{id}")).await.unwrap().json().await.unwrap();
    assert_eq!((state["face_consent_given"].as_bool(), state["face"].as_str()), (Some(false), Some("pending")));
    // A valid image of someone else: the match fails; after three attempts today, the next upload is refused
    // before it is decoded.
    let wrong_face = std::fs::read(&other.face_path).unwrap();
    for _ in 0..3 {
        let resp = upload_face_with(&owner, &id, wrong_face.clone(), Some(current)).await;
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["passed"], false, "{body}");
    }
    assert_eq!(
        problem(upload_face_with(&owner, &id, html.clone(), Some(current)).await).await,
        (429, "enrollment_face_attempts_exhausted".to_owned())
    );
    // An authorised upload is decoded, and refused for what it is.
    let fresh = Owner::login(&world, "o-upload-fresh").await.unwrap();
    let fresh_id = fresh.start_enrollment(world.community_id, unit_id(&world, &other.building, &other.unit).await.unwrap(), &other).await.unwrap();
    assert_eq!(
        problem(upload_face_with(&fresh, &fresh_id.to_string(), html, Some(current)).await).await,
        (415, "image_unsupported_format".to_owned())
    );
}

/// Security finding 6: decoding counts against a per-account budget (here 2 per window), in Redis.
#[tokio::test]
async fn uploads_beyond_the_accounts_decode_budget_are_refused() {
    let world = World::start_with(&[("LINLI_HTTP__UPLOAD_DECODES_PER_WINDOW".to_owned(), "2".to_owned())]).await.unwrap();
    let persons = demo_persons(&world).await.unwrap();
    let current = linli_tests::world::FACE_CONSENT_VERSION;
    let mut enrolled = Vec::new();
    for (openid, person) in [("o-budget-one", &persons[0]), ("o-budget-two", &persons[1])] {
        let owner = Owner::login(&world, openid).await.unwrap();
        let unit = unit_id(&world, &person.building, &person.unit).await.unwrap();
        let id = owner.start_enrollment(world.community_id, unit, person).await.unwrap().to_string();
        enrolled.push((owner, id, std::fs::read(&person.face_path).unwrap()));
    }
    let (owner, id, face) = &enrolled[0];
    let truncated = face[..face.len() / 3].to_vec();
    for _ in 0..2 {
        assert_eq!(problem(upload_face_with(owner, id, truncated.clone(), Some(current)).await).await, (422, "image_corrupt".to_owned()));
    }
    assert_eq!(problem(upload_face_with(owner, id, face.clone(), Some(current)).await).await, (429, "upload_rate_limited".to_owned()));
    let state: Value = owner.get(&format!("/v1/enrollments/{id}")).await.unwrap().json().await.unwrap();
    assert_eq!(state["face"], "pending");
    // The budget is the account's own: another owner's upload goes through.
    let (other, other_id, other_face) = &enrolled[1];
    let resp = upload_face_with(other, other_id, other_face.clone(), Some(current)).await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
}

/// Security finding 5: the registry is no oracle. Asked only after this enrollment's face passed (so not with
/// someone else's name and ID number), at most three times per person per day, and an unconfirmed answer carries
/// no area.
#[tokio::test]
async fn the_registry_is_asked_only_after_the_face_and_tells_nothing_unconfirmed() {
    let world = World::start().await.unwrap();
    let persons = demo_persons(&world).await.unwrap();
    let (victim, prober) = (persons[0].clone(), persons[1].clone());
    let victim_unit = unit_id(&world, &victim.building, &victim.unit).await.unwrap();

    // Someone else's name and ID number for their unit: neither the registry nor a manual review without the face.
    let stranger = Owner::login(&world, "o-oracle-stranger").await.unwrap();
    let id = stranger.start_enrollment(world.community_id, victim_unit, &victim).await.unwrap();
    let asked = stranger.post(&format!("/v1/enrollments/{id}/registry"), &json!({})).await.unwrap();
    assert_eq!(problem(asked).await, (409, "enrollment_face_required".to_owned()));
    let review = stranger.post(&format!("/v1/enrollments/{id}/registry/review"), &json!({})).await.unwrap();
    assert_eq!(problem(review).await, (409, "enrollment_face_required".to_owned()));
    // The stranger's own face does not pass for the victim, so the registry stays closed.
    let face: Value = stranger.upload_face(id, std::fs::read(&prober.face_path).unwrap(), "me.png").await.unwrap().json().await.unwrap();
    assert_eq!(face["passed"], false);
    let asked = stranger.post(&format!("/v1/enrollments/{id}/registry"), &json!({})).await.unwrap();
    assert_eq!(problem(asked).await, (409, "enrollment_face_required".to_owned()));

    // A person with their own face, asking about a unit they do not own: not confirmed, and no area.
    let own = Owner::login(&world, "o-oracle-prober").await.unwrap();
    let id = own.start_enrollment(world.community_id, victim_unit, &prober).await.unwrap();
    assert_eq!(own.upload_face(id, std::fs::read(&prober.face_path).unwrap(), "me.png").await.unwrap().status(), 200);
    for _ in 0..3 {
        let answer: Value = own.post(&format!("/v1/enrollments/{id}/registry"), &json!({})).await.unwrap().json().await.unwrap();
        assert_eq!(answer["confirmed"], false, "{answer}");
        assert!(answer["registered_area_centi_m2"].is_null(), "an unconfirmed answer carries no area: {answer}");
        assert_eq!(answer["enrollment"]["registry"], "failed");
    }
    // Three calls a day per person, whichever enrollment asks.
    let again = own.post(&format!("/v1/enrollments/{id}/registry"), &json!({})).await.unwrap();
    assert_eq!(problem(again).await, (429, "enrollment_registry_attempts_exhausted".to_owned()));
    let other = Owner::login(&world, "o-oracle-prober-2").await.unwrap();
    let prober_unit = unit_id(&world, &prober.building, &prober.unit).await.unwrap();
    let id = other.start_enrollment(world.community_id, prober_unit, &prober).await.unwrap();
    assert_eq!(other.upload_face(id, std::fs::read(&prober.face_path).unwrap(), "me.png").await.unwrap().status(), 200);
    let again = other.post(&format!("/v1/enrollments/{id}/registry"), &json!({})).await.unwrap();
    assert_eq!(problem(again).await, (429, "enrollment_registry_attempts_exhausted".to_owned()));
}

/// Security finding 4: staff do not review their own person — neither the enrollment's account nor another
/// account enrolled with the same ID number — and an approved area far from the unit's (here twice it) takes
/// effect only when a third staff member confirms it after the second.
#[tokio::test]
async fn registry_reviews_are_independent_and_large_area_changes_need_a_third_staff_member() {
    use diesel_async::{AsyncConnection, AsyncPgConnection};
    let world = World::start().await.unwrap();
    let persons = demo_persons(&world).await.unwrap();
    let person = persons[0].clone();
    let unit = unit_id(&world, &person.building, &person.unit).await.unwrap();
    let other_unit = unit_id(&world, &persons[1].building, &persons[1].unit).await.unwrap();
    linli_tests::client()
        .post(format!("{}/sandbox/registry/answers", world.sandbox.base_url()))
        .json(&json!({ "id_number": person.id_number, "mode": "not_named" }))
        .send()
        .await
        .unwrap();
    let owner = Owner::login(&world, "o-indep-owner").await.unwrap();
    let id = owner.start_enrollment(world.community_id, unit, &person).await.unwrap();
    assert_eq!(owner.upload_face(id, std::fs::read(&person.face_path).unwrap(), "me.png").await.unwrap().status(), 200);
    assert_eq!(owner.post(&format!("/v1/enrollments/{id}/registry"), &json!({})).await.unwrap().status(), 200);
    let asked: Value = owner.post(&format!("/v1/enrollments/{id}/registry/review"), &json!({})).await.unwrap().json().await.unwrap();
    let review = asked["review_id"].as_str().unwrap().to_owned();
    let base = format!("/v1/support/communities/{}/registry-reviews/{review}", world.community_id);

    // The owner is support staff too: not for their own review.
    let mut conn = AsyncPgConnection::establish(world.db.url()).await.unwrap();
    linli_server::auth::roles::grant(&mut conn, owner.account_id, world.community_id, linli_server::auth::Role::Support).await.unwrap();
    let scan = linli_tests::one_page_pdf("certificate");
    let before = unit_area(&world, unit).await;
    let doubled = before * 2;
    let own = propose_review(&owner, &format!("{base}/proposal"), scan.clone(), "c.pdf", "approve", Some(doubled)).await;
    assert_eq!(problem(own).await, (403, "enrollment_review_own".to_owned()));
    // A staff member with another account enrolled as the same person: neither propose nor decide.
    let twin = staff(&world, "o-indep-twin").await;
    twin.start_enrollment(world.community_id, other_unit, &person).await.unwrap();
    let by_twin = propose_review(&twin, &format!("{base}/proposal"), scan.clone(), "c.pdf", "approve", Some(doubled)).await;
    assert_eq!(problem(by_twin).await, (403, "enrollment_review_own".to_owned()));

    let (a, b, c) = (staff(&world, "o-indep-a").await, staff(&world, "o-indep-b").await, staff(&world, "o-indep-c").await);
    let proposed = propose_review(&a, &format!("{base}/proposal"), scan, "c.pdf", "approve", Some(doubled)).await;
    assert_eq!(proposed.status(), 200, "{}", proposed.text().await.unwrap());
    let proposed: Value = proposed.json().await.unwrap();
    assert_eq!(proposed["proposal"]["third_review_required"], true, "{proposed}");
    let decision = format!("{base}/decision");
    for who in [&owner, &twin] {
        assert_eq!(problem(who.post(&decision, &json!({ "confirm": true })).await.unwrap()).await, (403, "enrollment_review_own".to_owned()));
    }
    // B's confirmation seconds it; nothing takes effect yet.
    let seconded: Value = b.post(&decision, &json!({ "confirm": true })).await.unwrap().json().await.unwrap();
    assert_eq!((seconded["status"].as_str(), seconded["proposal"]["seconded_by"].as_str()), (Some("seconded"), Some(b.account_id.to_string().as_str())));
    let state: Value = owner.get(&format!("/v1/enrollments/{id}")).await.unwrap().json().await.unwrap();
    assert_eq!(state["registry"], "under_review");
    assert_eq!(unit_area(&world, unit).await, before);
    for who in [&a, &b] {
        assert_eq!(problem(who.post(&decision, &json!({ "confirm": true })).await.unwrap()).await, (409, "enrollment_same_reviewer".to_owned()));
    }
    // C, the third, confirms: the factor passes with the area.
    let approved: Value = c.post(&decision, &json!({ "confirm": true })).await.unwrap().json().await.unwrap();
    assert_eq!(approved["status"], "approved", "{approved}");
    let state: Value = owner.get(&format!("/v1/enrollments/{id}")).await.unwrap().json().await.unwrap();
    assert_eq!(state["registry"], "passed");
    assert_eq!(unit_area(&world, unit).await, doubled);
    assert!(audit_actions(&world).await.iter().any(|a| a == "registry_review.second"));
}
