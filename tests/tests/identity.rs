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
