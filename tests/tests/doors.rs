//! Door access end to end (issue 13 acceptance): the real `linli` server, the sandbox's Hikvision terminal and a
//! real `linli-gate` process on the demo community. An owner opens the gate online (the terminal saw exactly
//! one command), registers a tenant who accepts and opens their building door; passes are decided by the reader
//! offline, also with the server killed, and its buffered events reach the access log exactly once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Stdio;

use base64::Engine;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use linli_identity::access_pass::{proof_message, resident_text};
use linli_server::auth::org_app::OrgRole;
use linli_tests::org::OrgApp;
use linli_tests::owner::{Owner, demo_persons, unit_id};
use linli_tests::world::World;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

struct Gate {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    stdout: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl Gate {
    async fn start(world: &World, app: &OrgApp, state_dir: &std::path::Path, door_code: u32) -> Self {
        let mut child = tokio::process::Command::new(linli_tests::binary("linli-gate").unwrap())
            .arg("--state-dir")
            .arg(state_dir)
            .arg("run")
            .args(["--server", &world.url(""), "--app-id", &app.id, "--community", &world.community_id.to_string()])
            .args(["--door-code", &door_code.to_string(), "--sync-secs", "3600", "--upload-secs", "3600"])
            .env("LINLI_GATE_APP_SECRET", app.secret().expose())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        Self { child, stdin, stdout }
    }

    async fn send(&mut self, line: &str) -> Value {
        self.stdin.write_all(format!("{line}\n").as_bytes()).await.unwrap();
        self.stdin.flush().await.unwrap();
        let answer = tokio::time::timeout(std::time::Duration::from_secs(20), self.stdout.next_line()).await.unwrap().unwrap().unwrap();
        serde_json::from_str(&answer).unwrap()
    }
}

async fn opened(world: &World) -> Value {
    let v: Value = linli_tests::client().get(format!("{}/sandbox/doors/commands", world.sandbox.base_url())).send().await.unwrap().json().await.unwrap();
    v["opened"].clone()
}

fn register(world: &World, kind: &str, code: u32, building: Option<&str>, door_no: i32) -> Value {
    let mut body = json!({"kind": kind, "code": code, "name": format!("{kind} {code}"),
        "gateway": {"url": world.sandbox.base_url(), "username": linli_sandbox::hikvision::USERNAME,
                    "password": linli_sandbox::hikvision::PASSWORD, "door_no": door_no}});
    if let Some(b) = building {
        body["building"] = json!(b);
    }
    body
}

fn resident_pass_text(owner: &Owner, issued: &Value, at_ms: u64) -> String {
    let cose = base64::engine::general_purpose::STANDARD.decode(issued["cose_sign1"].as_str().unwrap()).unwrap();
    let pass_id: uuid::Uuid = issued["pass_id"].as_str().unwrap().parse().unwrap();
    let proof = owner.key.as_ref().unwrap().sign_fixed(&proof_message(pass_id.as_bytes(), at_ms));
    resident_text(&cose, at_ms, &proof).unwrap()
}

#[tokio::test]
async fn doors_online_tenants_and_offline_passes_at_a_reader() {
    let mut world = World::start().await.unwrap();
    let community = world.community_id;
    let property = OrgApp::create(&world, OrgRole::Property, &[community]).await.unwrap();
    let gateway = OrgApp::create(&world, OrgRole::DoorGateway, &[community]).await.unwrap();

    let person = demo_persons(&world).await.unwrap().remove(0);
    let unit = unit_id(&world, &person.building, &person.unit).await.unwrap();
    let doors_path = format!("/openapi/v1/communities/{community}/doors");
    let gate: Value = property.post(&doors_path, &register(&world, "community_gate", 101, None, 1)).await.unwrap().json().await.unwrap();
    let building: Value =
        property.post(&doors_path, &register(&world, "building_door", 201, Some(&person.building), 2)).await.unwrap().json().await.unwrap();
    // The operator CLI registers a door too (password from the environment).
    let cli = std::process::Command::new(linli_tests::binary("linli").unwrap())
        .args(["doors", "add", "--community", "SH-PD-0001", "--kind", "garage_barrier", "--code", "301", "--name", "车库道闸"])
        .args(["--gateway-url", &world.sandbox.base_url(), "--gateway-username", linli_sandbox::hikvision::USERNAME, "--door-no", "3"])
        .envs(linli_tests::base_env(&world.db))
        .env("LINLI_GATEWAY_PASSWORD", linli_sandbox::hikvision::PASSWORD)
        .output()
        .unwrap();
    assert!(cli.status.success(), "{}", String::from_utf8_lossy(&cli.stderr));

    // A verified owner opens the community gate online: the terminal saw exactly one open command.
    let mut owner = Owner::login(&world, "o-doors-owner").await.unwrap();
    owner.enroll(&world, unit, &person, "739415").await.unwrap();
    let mine: Value = owner.get("/v1/me/doors").await.unwrap().json().await.unwrap();
    assert_eq!(mine["doors"].as_array().unwrap().len(), 3, "{mine}");
    let resp = owner.post(&format!("/v1/doors/{}/open", gate["id"].as_str().unwrap()), &json!({})).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(opened(&world).await, json!({"1": 1}));

    // A tenant registered by the owner accepts with their own WeChat account and opens the building door.
    let now = chrono::Utc::now();
    let inv: Value = owner
        .post(&format!("/v1/units/{unit}/residents"), &json!({"kind": "tenant", "name": "租客甲", "phone": "13700001111",
            "relation": "租户", "valid_from": now.to_rfc3339(), "valid_until": (now + chrono::Duration::days(180)).to_rfc3339()}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tenant = Owner::login(&world, "o-doors-tenant").await.unwrap();
    let accepted = tenant.post("/v1/resident-invitations/accept", &json!({"invitation_code": inv["invitation_code"]})).await.unwrap();
    assert_eq!(accepted.status(), 200);
    let resp = tenant.post(&format!("/v1/doors/{}/open", building["id"].as_str().unwrap()), &json!({})).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(opened(&world).await, json!({"1": 1, "2": 1}));

    // The JWK Set is public.
    let jwks: Value = linli_tests::client().get(world.url(&format!("/v1/communities/{community}/access-keys"))).send().await.unwrap().json().await.unwrap();

    // Passes: a visitor pass with 2 uses, a resident pass, and two unlimited visitor passes (one to be revoked).
    let visitor = |uses: u32| json!({"visitor_name": "访客乙", "valid_from": now.to_rfc3339(),
        "valid_until": (now + chrono::Duration::days(1)).to_rfc3339(), "uses": uses, "plate": "沪A12345"});
    let passes = format!("/v1/communities/{community}/visitor-passes");
    let two_uses: Value = owner.post(&passes, &visitor(2)).await.unwrap().json().await.unwrap();
    let kept: Value = owner.post(&passes, &visitor(0)).await.unwrap().json().await.unwrap();
    let revoked: Value = owner.post(&passes, &visitor(0)).await.unwrap().json().await.unwrap();
    let issued: Value = owner
        .post(&format!("/v1/communities/{community}/passes"), &json!({"device_serial": owner.serial.clone().unwrap()}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(issued["cose_sign1"].is_string(), "{issued}");
    let jwks_after: Value = linli_tests::client().get(world.url(&format!("/v1/communities/{community}/access-keys"))).send().await.unwrap().json().await.unwrap();
    assert_eq!(jwks_after["keys"].as_array().unwrap().len(), 1, "{jwks} then {jwks_after}");
    let qr = owner.get(&format!("{passes}/{}/qr.png", two_uses["pass_id"].as_str().unwrap())).await.unwrap();
    assert_eq!(qr.headers()["content-type"], "image/png");

    // The reader at the gate.
    let state_dir = world.dir().join("gate");
    let mut reader = Gate::start(&world, &gateway, &state_dir, 101).await;
    assert_eq!(reader.send("!sync").await["synced"], true);
    let text = two_uses["pass_text"].as_str().unwrap();
    assert_eq!(reader.send(text).await["decision"], "admit");
    assert_eq!(reader.send(text).await["decision"], "admit");
    let third = reader.send(text).await;
    assert_eq!((third["decision"].as_str(), third["reason"].as_str()), (Some("refuse"), Some("used_up")));
    let fresh = resident_pass_text(&owner, &issued, chrono::Utc::now().timestamp_millis() as u64);
    assert_eq!(reader.send(&fresh).await["decision"], "admit");
    let stale = resident_pass_text(&owner, &issued, (chrono::Utc::now().timestamp_millis() - 61_000) as u64);
    assert_eq!(reader.send(&stale).await["reason"], "proof_stale");
    // `linli-gate verify` decides the same from the command line (counting nothing).
    let out = std::process::Command::new(linli_tests::binary("linli-gate").unwrap())
        .arg("--state-dir").arg(&state_dir).args(["verify", "--door-code", "101", text]).output().unwrap();
    let verdict: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdict["reason"], "used_up", "{verdict}");

    // Revoke one pass, let the reader sync, then cut it off from the server.
    let r = owner.post(&format!("/v1/communities/{community}/passes/{}/revoke", revoked["pass_id"].as_str().unwrap()), &json!({})).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(reader.send("!sync").await["synced"], true);
    world.kill_server().unwrap();
    assert_eq!(reader.send(kept["pass_text"].as_str().unwrap()).await["decision"], "admit", "valid passes still admit");
    assert_eq!(reader.send(revoked["pass_text"].as_str().unwrap()).await["reason"], "revoked");
    assert_eq!(reader.send("LL1:not-base45").await["reason"], "malformed");
    let failed = reader.send("!upload").await;
    assert_eq!(failed["uploaded"], 0, "{failed}");

    // The server comes back: the buffered events are uploaded, each exactly once in the access log (some of
    // those decided while it was up may have gone already, right after their scan; the three of the outage
    // cannot have).
    world.restart_server().await.unwrap();
    let up = reader.send("!upload").await;
    assert!(up.get("error").is_none() && up["uploaded"].as_u64().unwrap() >= 3, "{up}");
    assert_eq!(reader.send("!upload").await["uploaded"], 0, "nothing left");
    drop(reader.stdin);
    let _ = reader.child.wait().await;
    let mut conn = AsyncPgConnection::establish(world.db.url()).await.unwrap();
    use linli_server::schema::access_events;
    let reader_events: Vec<(String, Option<String>)> = access_events::table
        .filter(access_events::source.eq("reader"))
        .order(access_events::occurred_at)
        .select((access_events::outcome, access_events::reason))
        .load(&mut conn)
        .await
        .unwrap();
    let reasons: Vec<&str> = reader_events.iter().map(|(o, r)| r.as_deref().unwrap_or(o)).collect();
    assert_eq!(reasons, vec!["opened", "opened", "used_up", "opened", "proof_stale", "opened", "revoked", "malformed"]);

    // The owner's unit log has the online openings through the unit (theirs and the tenant's) and the reader
    // events of the owner's genuine passes, admitted or refused (all but the malformed text).
    let unit_log: Value = owner.get(&format!("/v1/units/{unit}/access-events")).await.unwrap().json().await.unwrap();
    let sources: Vec<&str> = unit_log["events"].as_array().unwrap().iter().map(|e| e["source"].as_str().unwrap()).collect();
    assert_eq!((sources.iter().filter(|s| **s == "online").count(), sources.iter().filter(|s| **s == "reader").count()), (2, 7), "{unit_log}");

    // The property company reads it; the same batch sent twice by the gateway changes nothing.
    let log: Value = property.get(&format!("/openapi/v1/communities/{community}/access-events?limit=500")).await.unwrap().json().await.unwrap();
    assert_eq!(log["events"].as_array().unwrap().len(), 10, "2 online + 8 at the reader: {log}");
    let batch = json!({"community_id": community, "events": [{"id": uuid::Uuid::now_v7(), "door_code": 101, "outcome": "opened",
        "occurred_at": chrono::Utc::now().to_rfc3339()}]});
    let first: Value = gateway.post("/openapi/v1/access/events", &batch).await.unwrap().json().await.unwrap();
    let again: Value = gateway.post("/openapi/v1/access/events", &batch).await.unwrap().json().await.unwrap();
    assert_eq!((first["recorded"].as_u64(), again["recorded"].as_u64()), (Some(1), Some(0)));
    // A batch for another community is 404; a property app cannot post events.
    let foreign = json!({"community_id": uuid::Uuid::now_v7(), "events": batch["events"]});
    assert_eq!(gateway.post("/openapi/v1/access/events", &foreign).await.unwrap().status(), 404);
    assert_eq!(property.post("/openapi/v1/access/events", &batch).await.unwrap().status(), 404);
}
