//! Door access: doors registered by the property company, residents (owners, household members, tenants), online
//! opening through the sandbox's Hikvision ISAPI terminal over real HTTP with Digest, the access log. Each case
//! checks what the terminal itself saw (`GET /sandbox/doors/commands`), never only what the server says.

use std::sync::Arc;

use actix_web::test;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use linli_identity::org_app::AppSecret;
use linli_server::access::{AccessConfig, AccessServices};
use linli_server::auth::org_app::{OrgRole, create_app};
use linli_server::schema::{access_events, doors, residents};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{TestApp, demo_register, json_of, repo_root};
use crate::{call_json, service};

/// Two person owners of the demo register: one in building B01, one in B02: (id number, building, unit).
fn owners() -> [(String, String, String); 2] {
    let mut rdr = csv::Reader::from_path(demo_register()).unwrap();
    let mut found: Vec<(String, String, String)> = Vec::new();
    for rec in rdr.records() {
        let r = rec.unwrap();
        if &r[0] == "owner" && &r[9] == "person" && !found.iter().any(|f| f.1 == r[2]) && (&r[2] == "B01" || &r[2] == "B02") {
            found.push((r[10].to_owned(), r[2].to_owned(), r[3].to_owned()));
        }
    }
    found.sort_by(|a, b| a.1.cmp(&b.1));
    [found[0].clone(), found[1].clone()]
}

struct Fixture {
    t: TestApp,
    community: Uuid,
    sandbox: linli_sandbox::Sandbox,
    property: (String, AppSecret),
    http: reqwest::Client,
}

async fn setup(config: AccessConfig) -> Fixture {
    let mut t = TestApp::new().await;
    t.state.access = Arc::new(AccessServices::new(config).unwrap());
    let community = t.import_demo().await;
    let sandbox = linli_sandbox::start(linli_sandbox::SandboxConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls_listen: None,
        fixtures: repo_root().join("fixtures"),
        register: None,
        credentials: linli_sandbox::Credentials::default(),
    })
    .await
    .unwrap();
    let mut conn = t.conn().await;
    let (id, secret) = create_app(&mut conn, &t.state.pii, "阳光物业", OrgRole::Property, &[community]).await.unwrap();
    drop(conn);
    Fixture { t, community, sandbox, property: (id, secret), http: reqwest::Client::new() }
}

/// A request signed by an organisation app.
fn org_request(app: &(String, AppSecret), method: &str, path: &str, body: &[u8]) -> test::TestRequest {
    let nonce = Uuid::new_v4().simple().to_string();
    let auth = linli_identity::org_app::authorization_header(&app.0, &app.1, method, path, chrono::Utc::now().timestamp_millis(), &nonce, body);
    let req = if method == "GET" { test::TestRequest::get() } else { test::TestRequest::post() };
    req.uri(path).insert_header(("authorization", auth)).insert_header(("content-type", "application/json")).set_payload(body.to_vec())
}

fn door_body(f: &Fixture, kind: &str, code: u32, building: Option<&str>, door_no: i32, format: &str) -> Vec<u8> {
    let mut body = json!({
        "kind": kind, "code": code, "name": format!("{kind} {code}"),
        "gateway": {"url": f.sandbox.base_url(), "username": linli_sandbox::hikvision::USERNAME,
                    "password": linli_sandbox::hikvision::PASSWORD, "door_no": door_no, "format": format},
    });
    if let Some(b) = building {
        body["building"] = json!(b);
    }
    serde_json::to_vec(&body).unwrap()
}

/// The sandbox terminal's record: (commands, opens per door number).
async fn terminal(f: &Fixture) -> (Vec<Value>, Value) {
    let v: Value = f.http.get(format!("{}/sandbox/doors/commands", f.sandbox.base_url())).send().await.unwrap().json().await.unwrap();
    (v["commands"].as_array().unwrap().clone(), v["opened"].clone())
}

async fn set_mode(f: &Fixture, door_no: i32, mode: &str) {
    let r = f.http.put(format!("{}/sandbox/doors/{door_no}/mode", f.sandbox.base_url())).json(&json!({"mode": mode})).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

/// Gate (door 1), B01 door (2), B02 door (3), garage (4), and a JSON-speaking second gate (5); returns door ids by
/// door number.
macro_rules! register_doors {
    ($app:expr, $f:expr) => {{
        let mut ids = std::collections::HashMap::new();
        let path = format!("/openapi/v1/communities/{}/doors", $f.community);
        for (kind, code, building, no, format) in [
            ("community_gate", 101u32, None, 1, "xml"),
            ("building_door", 201, Some("B01"), 2, "xml"),
            ("building_door", 202, Some("B02"), 3, "xml"),
            ("garage_barrier", 301, None, 4, "xml"),
            ("community_gate", 102, None, 5, "json"),
        ] {
            let resp = test::call_service(&$app, org_request(&$f.property, "POST", &path, &door_body(&$f, kind, code, building, no, format)).to_request()).await;
            let (status, _, v) = json_of(resp).await;
            assert_eq!(status, 201, "{v}");
            assert_eq!(v["code"], code);
            assert!(v.get("gateway").is_none(), "the gateway credentials are never shown");
            ids.insert(no, v["id"].as_str().unwrap().parse::<Uuid>().unwrap());
        }
        ids
    }};
}

async fn owner(f: &Fixture, id_number: &str) -> (Uuid, String) {
    let (account, token) = f.t.account().await;
    f.t.link_person(account, f.community, id_number).await;
    (account, token)
}

async fn unit_of(f: &Fixture, building: &str, number: &str) -> Uuid {
    use linli_server::schema::{buildings, units};
    let mut conn = f.t.conn().await;
    units::table
        .inner_join(buildings::table)
        .filter(buildings::code.eq(building).and(units::number.eq(number)).and(units::community_id.eq(f.community)))
        .select(units::id)
        .first(&mut conn)
        .await
        .unwrap()
}

async fn event_count(f: &Fixture) -> i64 {
    let mut conn = f.t.conn().await;
    access_events::table.count().get_result(&mut conn).await.unwrap()
}

/// A verified owner sees and opens their building's door, the gates and the garage; the terminal received exactly
/// one command per opening, over Digest, in the door's format. A door of another building or another community is
/// 404 and nothing is sent or logged.
#[actix_web::test]
async fn owner_opens_own_doors_once_and_never_others() {
    let f = setup(AccessConfig::default()).await;
    let app = service!(f.t);
    let ids = register_doors!(app, f);
    let [(b01_owner, _, b01_unit), _] = owners();
    let (_, token) = owner(&f, &b01_owner).await;

    let (status, _, mine) = call_json!(app, get, "/v1/me/doors", token, json!({}));
    assert_eq!(status, 200);
    let mut codes: Vec<i64> = mine["doors"].as_array().unwrap().iter().map(|d| d["code"].as_i64().unwrap()).collect();
    codes.sort();
    assert_eq!(codes, vec![101, 102, 201, 301], "{mine}");
    assert_eq!(mine["doors"][0]["community_name"], "阳光花园");

    let (status, _, opened) = call_json!(app, post, format!("/v1/doors/{}/open", ids[&1]), token, json!({}));
    assert_eq!((status, opened["result"].as_str()), (200, Some("opened")), "{opened}");
    let (status, _, _) = call_json!(app, post, format!("/v1/doors/{}/open", ids[&5]), token, json!({}));
    assert_eq!(status, 200, "the JSON terminal opens too");
    let (commands, per_door) = terminal(&f).await;
    assert_eq!(per_door, json!({"1": 1, "5": 1}));
    assert_eq!(commands.iter().map(|c| c["format"].as_str().unwrap()).collect::<Vec<_>>(), vec!["xml", "json"]);

    // The opening is in the access log with the unit it was opened through.
    let event: Uuid = opened["event_id"].as_str().unwrap().parse().unwrap();
    let mut conn = f.t.conn().await;
    let (outcome, unit): (String, Option<Uuid>) =
        access_events::table.find(event).select((access_events::outcome, access_events::unit_id)).first(&mut conn).await.unwrap();
    assert_eq!((outcome.as_str(), unit), ("opened", Some(unit_of(&f, "B01", &b01_unit).await)));

    // Another building's door, another community's door, no door: 404, nothing sent, nothing logged.
    let foreign = foreign_door(&f).await;
    let before = event_count(&f).await;
    for door in [ids[&3], foreign, Uuid::now_v7()] {
        let (status, _, v) = call_json!(app, post, format!("/v1/doors/{door}/open"), token, json!({}));
        assert_eq!(status, 404, "{v}");
    }
    assert_eq!(terminal(&f).await.0.len(), 2);
    assert_eq!(event_count(&f).await, before);

    // An account that lives nowhere has no doors.
    let (_, nobody) = f.t.account().await;
    let (_, _, none) = call_json!(app, get, "/v1/me/doors", nobody, json!({}));
    assert_eq!(none["doors"], json!([]));
    let (status, _, _) = call_json!(app, post, format!("/v1/doors/{}/open", ids[&1]), nobody, json!({}));
    assert_eq!(status, 404);
}

/// A door of a second community (T-FOREIGN), registered through the store.
async fn foreign_door(f: &Fixture) -> Uuid {
    let csv = "record,community,building,unit,name,kind,exclusive_area_m2,area_source,building_area_m2,owner_type,id_number,phone,holding\n\
               community,T-FOREIGN,,,别的小区,,,,,,,,\n\
               building,T-FOREIGN,B1,,1号楼,,,,,,,,\n\
               unit,T-FOREIGN,B1,0101,,residence,80.00,register,95.00,,,,\n\
               owner,T-FOREIGN,B1,0101,赵六,,,,,person,11010519491231002X,,\n";
    let register = linli_server::community::register_file::parse_register(csv.as_bytes()).unwrap();
    let mut conn = f.t.conn().await;
    let other = linli_server::community::store::apply_register(&mut conn, &f.t.state.pii, &register, b"foreign", &|_| {})
        .await
        .unwrap()
        .community_id;
    let input: linli_server::access::routes::RegisterDoor =
        serde_json::from_slice(&door_body(f, "community_gate", 101, None, 9, "xml")).unwrap();
    let new = linli_server::access::routes::parse_door(input, other).unwrap();
    linli_server::access::store::register_door(&mut conn, &f.t.state.pii, &new).await.unwrap().id
}

/// The terminal's refusals (HTTP 200 with statusCode 4 or 2) are failures with the status; a terminal that hangs
/// is reported as a timeout and is not sent the command again; an unreachable terminal is reported as such.
/// Each outcome is in the log.
#[actix_web::test]
async fn refusals_timeouts_and_unreachable_terminals() {
    let f = setup(AccessConfig { gateway_timeout_ms: 800, ..AccessConfig::default() }).await;
    let app = service!(f.t);
    let ids = register_doors!(app, f);
    let [(b01_owner, _, _), _] = owners();
    let (_, token) = owner(&f, &b01_owner).await;
    let open = format!("/v1/doors/{}/open", ids[&1]);

    set_mode(&f, 1, "invalid").await;
    let (status, _, v) = call_json!(app, post, open, token, json!({}));
    assert_eq!((status, v["code"].as_str()), (502, Some("door_refused")), "{v}");
    assert!(v["detail"].as_str().unwrap().contains("statusCode 4"), "{v}");
    set_mode(&f, 1, "busy").await;
    let (status, _, v) = call_json!(app, post, open, token, json!({}));
    assert_eq!((status, v["code"].as_str()), (502, Some("door_refused")));
    assert!(v["detail"].as_str().unwrap().contains("statusCode 2"), "{v}");

    set_mode(&f, 1, "timeout").await;
    let started = std::time::Instant::now();
    let (status, _, v) = call_json!(app, post, open, token, json!({}));
    assert_eq!((status, v["code"].as_str()), (504, Some("gateway_timeout")), "{v}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // Well past the deadline, the terminal still has exactly the one command of that call.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let (commands, opened) = terminal(&f).await;
    assert_eq!(commands.len(), 3, "one command per call, none repeated: {commands:?}");
    // The hanging terminal did act on its one command (the answer was what got lost): opened once, never twice.
    assert_eq!(opened, json!({"1": 1}));

    // A terminal nobody listens at.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut conn = f.t.conn().await;
    diesel::update(doors::table.find(ids[&2])).set(doors::gateway_url.eq(&dead_url)).execute(&mut conn).await.unwrap();
    let (status, _, v) = call_json!(app, post, format!("/v1/doors/{}/open", ids[&2]), token, json!({}));
    assert_eq!((status, v["code"].as_str()), (502, Some("gateway_unreachable")), "{v}");

    let mut outcomes: Vec<(String, Option<i32>)> = access_events::table
        .order(access_events::occurred_at)
        .select((access_events::outcome, access_events::terminal_status))
        .load(&mut conn)
        .await
        .unwrap();
    outcomes.sort();
    assert_eq!(
        outcomes,
        vec![("failed".into(), None), ("failed".into(), None), ("refused".into(), Some(2)), ("refused".into(), Some(4))]
    );
}

/// Openings per account are limited; the refused ones send nothing to the terminal.
#[actix_web::test]
async fn openings_are_rate_limited_per_account() {
    let f = setup(AccessConfig { opens_per_minute: 2, ..AccessConfig::default() }).await;
    let app = service!(f.t);
    let ids = register_doors!(app, f);
    let [(b01_owner, _, _), (b02_owner, _, _)] = owners();
    let (_, token) = owner(&f, &b01_owner).await;
    let (_, other) = owner(&f, &b02_owner).await;
    let open = format!("/v1/doors/{}/open", ids[&1]);
    let mut statuses = vec![];
    for _ in 0..3 {
        statuses.push(call_json!(app, post, open, token, json!({})).0);
    }
    // A minute boundary between the calls would reset the count: then the third passes too.
    if statuses != vec![200, 200, 200] {
        assert_eq!(statuses, vec![200, 200, 429]);
        assert_eq!(terminal(&f).await.1, json!({"1": 2}));
    }
    assert_eq!(call_json!(app, post, open, other, json!({})).0, 200, "another account has its own budget");
}

fn resident_body(kind: &str, phone: &str, days: i64) -> Value {
    let now = chrono::Utc::now();
    json!({"kind": kind, "name": "李四", "phone": phone, "relation": "租户",
           "valid_from": (now - chrono::Duration::minutes(1)).to_rfc3339(),
           "valid_until": (now + chrono::Duration::days(days)).to_rfc3339()})
}

/// An owner registers a tenant, who accepts with their own account and opens the building's door; the owner
/// ends their access and the next opening is 404. Phones are stored encrypted and shown masked; bad input is
/// 4xx and registers nothing.
#[actix_web::test]
async fn tenants_accept_open_and_are_ended_by_the_owner() {
    let f = setup(AccessConfig::default()).await;
    let app = service!(f.t);
    let ids = register_doors!(app, f);
    let [(b01_owner, b01, b01_unit), (_, b02, b02_unit)] = owners();
    let (_, token) = owner(&f, &b01_owner).await;
    let unit = unit_of(&f, &b01, &b01_unit).await;
    let residents_path = format!("/v1/units/{unit}/residents");

    // Bad input, and a unit the caller does not own: nothing is registered.
    for (body, code) in [
        (resident_body("tenant", "1381234567", 30), "phone_invalid"),
        (resident_body("cousin", "13812345678", 30), "resident_kind_invalid"),
        (resident_body("tenant", "13812345678", 3000), "window_invalid"),
        (resident_body("tenant", "13812345678", -1), "window_invalid"),
        (json!({"kind": "tenant"}), "invalid_body"),
    ] {
        let (status, _, v) = call_json!(app, post, residents_path, token, body);
        assert_eq!((status, v["code"].as_str()), (422, Some(code)), "{v}");
    }
    let other_unit = unit_of(&f, &b02, &b02_unit).await;
    let (status, _, _) = call_json!(app, post, format!("/v1/units/{other_unit}/residents"), token, resident_body("tenant", "13812345678", 30));
    assert_eq!(status, 404);
    let mut conn = f.t.conn().await;
    assert_eq!(residents::table.count().get_result::<i64>(&mut conn).await.unwrap(), 0);

    let (status, _, invitation) = call_json!(app, post, residents_path, token, resident_body("tenant", "13812345678", 30));
    assert_eq!(status, 201, "{invitation}");
    assert_eq!(invitation["resident"]["phone"], "138****5678");
    assert_eq!(invitation["resident"]["status"], "invited");
    let code = invitation["invitation_code"].as_str().unwrap().to_owned();
    let stored: (String, String) = residents::table.select((residents::phone_enc, residents::name_enc)).first(&mut conn).await.unwrap();
    assert!(!stored.0.contains("13812345678") && !stored.1.contains("李四"), "encrypted at rest");

    // Before accepting, the tenant has no doors; an unknown code is 404.
    let (tenant, tenant_token) = f.t.account().await;
    assert_eq!(call_json!(app, get, "/v1/me/doors", tenant_token, json!({})).2["doors"], json!([]));
    let (status, _, v) = call_json!(app, post, "/v1/resident-invitations/accept", tenant_token, json!({"invitation_code": "0".repeat(32)}));
    assert_eq!((status, v["code"].as_str()), (404, Some("invitation_not_found")));
    let (status, _, accepted) = call_json!(app, post, "/v1/resident-invitations/accept", tenant_token, json!({"invitation_code": code}));
    assert_eq!((status, accepted["status"].as_str()), (200, Some("active")), "{accepted}");
    let (status, _, _) = call_json!(app, post, "/v1/resident-invitations/accept", tenant_token, json!({"invitation_code": code}));
    assert_eq!(status, 200, "accepting again from the same account is the same");
    let (_, intruder) = f.t.account().await;
    let (status, _, v) = call_json!(app, post, "/v1/resident-invitations/accept", intruder, json!({"invitation_code": code}));
    assert_eq!((status, v["code"].as_str()), (409, Some("invitation_used")));

    let (_, _, mine) = call_json!(app, get, "/v1/me/doors", tenant_token, json!({}));
    assert_eq!(mine["doors"].as_array().unwrap().len(), 4, "{mine}");
    let (status, _, _) = call_json!(app, post, format!("/v1/doors/{}/open", ids[&2]), tenant_token, json!({}));
    assert_eq!(status, 200);
    let (status, _, _) = call_json!(app, post, format!("/v1/doors/{}/open", ids[&3]), tenant_token, json!({}));
    assert_eq!(status, 404, "not the tenant's building");
    let bound: Option<Uuid> = residents::table.select(residents::account_id).first(&mut conn).await.unwrap();
    assert_eq!(bound, Some(tenant));

    // The owner lists and ends; from then on the tenant opens nothing.
    let (_, _, list) = call_json!(app, get, residents_path, token, json!({}));
    assert_eq!(list["residents"][0]["phone"], "138****5678");
    let resident = invitation["resident"]["id"].as_str().unwrap();
    let (status, _, ended) = call_json!(app, post, format!("{residents_path}/{resident}/end"), token, json!({}));
    assert_eq!((status, ended["status"].as_str()), (200, Some("ended")));
    let (status, _, _) = call_json!(app, post, format!("/v1/doors/{}/open", ids[&2]), tenant_token, json!({}));
    assert_eq!(status, 404);
    assert_eq!(call_json!(app, get, "/v1/me/doors", tenant_token, json!({})).2["doors"], json!([]));
    assert_eq!(terminal(&f).await.1, json!({"2": 1}));
}

/// The property company registers doors (bad input refused, codes unique) and tenants, and reads the
/// community's access log with filters and pages; an owner reads their unit's. Other apps and communities: 404.
#[actix_web::test]
async fn property_company_doors_tenants_and_access_log() {
    let f = setup(AccessConfig::default()).await;
    let app = service!(f.t);
    let ids = register_doors!(app, f);
    let path = format!("/openapi/v1/communities/{}/doors", f.community);
    let before: i64 = { let mut c = f.t.conn().await; doors::table.count().get_result(&mut c).await.unwrap() };
    let no_building: Value = serde_json::from_slice(&door_body(&f, "building_door", 500, None, 7, "xml")).unwrap();
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (door_body(&f, "community_gate", 101, None, 7, "xml"), 409, "door_code_taken"),
        (serde_json::to_vec(&no_building).unwrap(), 422, "building_mismatch"),
        (door_body(&f, "building_door", 501, Some("B99"), 7, "xml"), 422, "building_unknown"),
        (door_body(&f, "community_gate", 502, Some("B01"), 7, "xml"), 422, "building_mismatch"),
        (door_body(&f, "window", 503, None, 7, "xml"), 422, "door_kind_invalid"),
        (door_body(&f, "community_gate", 504, None, 0, "xml"), 422, "gateway_door_no_invalid"),
        (door_body(&f, "community_gate", 505, None, 1, "soap"), 422, "gateway_format_invalid"),
        (br#"{"kind": "community_gate"}"#.to_vec(), 422, "invalid_body"),
    ];
    let bad_url = serde_json::to_vec(&json!({"kind": "community_gate", "code": 506, "name": "x",
        "gateway": {"url": "http://admin:pw@10.0.0.1", "username": "u", "password": "p", "door_no": 1}})).unwrap();
    for (body, status, code) in cases.into_iter().chain([(bad_url, 422, "gateway_url_invalid")]) {
        let (s, _, v) = json_of(test::call_service(&app, org_request(&f.property, "POST", &path, &body).to_request()).await).await;
        assert_eq!((s, v["code"].as_str()), (status, Some(code)), "{v}");
    }
    let after: i64 = { let mut c = f.t.conn().await; doors::table.count().get_result(&mut c).await.unwrap() };
    assert_eq!(before, after);
    let (s, _, listed) = json_of(test::call_service(&app, org_request(&f.property, "GET", &path, b"").to_request()).await).await;
    assert_eq!((s, listed["doors"].as_array().unwrap().len()), (200, 5));
    // The gateway password is encrypted at rest.
    let mut conn = f.t.conn().await;
    let enc: String = doors::table.select(doors::gateway_password_enc).first(&mut conn).await.unwrap();
    assert!(!enc.contains(linli_sandbox::hikvision::PASSWORD));

    // Another role's app, and another community's scope, see nothing.
    let (bank_id, bank_secret) = create_app(&mut conn, &f.t.state.pii, "银行", OrgRole::Bank, &[f.community]).await.unwrap();
    let (s, _, _) = json_of(test::call_service(&app, org_request(&(bank_id, bank_secret), "GET", &path, b"").to_request()).await).await;
    assert_eq!(s, 404);

    // A tenant registered by the property company.
    let [(b01_owner, b01, b01_unit), (_, b02, b02_unit)] = owners();
    let unit = unit_of(&f, &b02, &b02_unit).await;
    let now = chrono::Utc::now();
    let tenant_body = serde_json::to_vec(&json!({"unit_id": unit, "name": "王五", "phone": "13912345678",
        "valid_from": now.to_rfc3339(), "valid_until": (now + chrono::Duration::days(365)).to_rfc3339()})).unwrap();
    let tenants = format!("/openapi/v1/communities/{}/tenants", f.community);
    let (s, _, inv) = json_of(test::call_service(&app, org_request(&f.property, "POST", &tenants, &tenant_body).to_request()).await).await;
    assert_eq!(s, 201, "{inv}");
    assert_eq!(inv["resident"]["phone"], "139****5678");
    let (_, tenant_token) = f.t.account().await;
    let (s, _, _) = call_json!(app, post, "/v1/resident-invitations/accept", tenant_token, json!({"invitation_code": inv["invitation_code"]}));
    assert_eq!(s, 200);
    assert_eq!(call_json!(app, post, format!("/v1/doors/{}/open", ids[&3]), tenant_token, json!({})).0, 200);
    let foreign_unit = serde_json::to_vec(&json!({"unit_id": Uuid::now_v7(), "name": "王五", "phone": "13912345678",
        "valid_from": now.to_rfc3339(), "valid_until": (now + chrono::Duration::days(3)).to_rfc3339()})).unwrap();
    let (s, _, _) = json_of(test::call_service(&app, org_request(&f.property, "POST", &tenants, &foreign_unit).to_request()).await).await;
    assert_eq!(s, 404);

    // The owner of B01 opens three times; one refusal.
    let (_, token) = owner(&f, &b01_owner).await;
    for _ in 0..2 {
        assert_eq!(call_json!(app, post, format!("/v1/doors/{}/open", ids[&1]), token, json!({})).0, 200);
    }
    set_mode(&f, 2, "invalid").await;
    assert_eq!(call_json!(app, post, format!("/v1/doors/{}/open", ids[&2]), token, json!({})).0, 502);

    // The community's log: 4 events, newest first, in pages of 3; filters.
    let events = format!("/openapi/v1/communities/{}/access-events", f.community);
    let get = |p: String| org_request(&f.property, "GET", &p, b"").to_request();
    let (s, _, page1) = json_of(test::call_service(&app, get(format!("{events}?limit=3"))).await).await;
    assert_eq!((s, page1["events"].as_array().unwrap().len()), (200, 3), "{page1}");
    assert_eq!(page1["events"][0]["outcome"], "refused");
    let next = page1["next"].as_str().unwrap();
    let (_, _, page2) = json_of(test::call_service(&app, get(format!("{events}?limit=3&before={next}"))).await).await;
    assert_eq!(page2["events"].as_array().unwrap().len(), 1);
    assert!(page2.get("next").is_none());
    let (_, _, refused) = json_of(test::call_service(&app, get(format!("{events}?outcome=refused"))).await).await;
    assert_eq!(refused["events"].as_array().unwrap().len(), 1);
    assert_eq!(refused["events"][0]["terminal_status"], 4);
    let (_, _, gate) = json_of(test::call_service(&app, get(format!("{events}?door_code=101"))).await).await;
    assert_eq!(gate["events"].as_array().unwrap().len(), 2);
    let (s, _, v) = json_of(test::call_service(&app, get(format!("{events}?outcome=maybe"))).await).await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid_query")));
    let (s, _, _) = json_of(test::call_service(&app, get(format!("{events}?before=nonsense"))).await).await;
    assert_eq!(s, 400);

    // The owner's unit log has their three; the tenant's opening of B02 is not in it.
    let b01_unit_id = unit_of(&f, &b01, &b01_unit).await;
    let (s, _, mine) = call_json!(app, get, format!("/v1/units/{b01_unit_id}/access-events"), token, json!({}));
    assert_eq!((s, mine["events"].as_array().unwrap().len()), (200, 3), "{mine}");
    let (s, _, _) = call_json!(app, get, format!("/v1/units/{unit}/access-events"), token, json!({}));
    assert_eq!(s, 404, "not the caller's unit");
}

/// Civil Code art. 944: a unit with unpaid bills opens its doors like any other.
#[actix_web::test]
async fn arrears_never_block_a_door() {
    let f = setup(AccessConfig::default()).await;
    let app = service!(f.t);
    let ids = register_doors!(app, f);
    let [(b01_owner, b01, b01_unit), _] = owners();
    let (_, token) = owner(&f, &b01_owner).await;
    let mut conn = f.t.conn().await;
    use linli_server::billing::fees::{Method, Period};
    linli_server::billing::store::upsert_fee_item(&mut conn, f.community, "property", "物业费", Method::PerArea, 250, "any", false)
        .await
        .unwrap();
    linli_server::billing::store::generate_bills(&mut conn, "SH-PD-0001", Period::parse("2026-11").unwrap()).await.unwrap();
    let unit = unit_of(&f, &b01, &b01_unit).await;
    let unpaid: i64 = linli_server::schema::bills::table
        .filter(linli_server::schema::bills::unit_id.eq(unit).and(linli_server::schema::bills::status.eq("unpaid")))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert!(unpaid > 0, "the unit is in arrears");
    for door in [1, 2, 4] {
        assert_eq!(call_json!(app, post, format!("/v1/doors/{}/open", ids[&door]), token, json!({})).0, 200);
    }
    assert_eq!(terminal(&f).await.1, json!({"1": 1, "2": 1, "4": 1}));
}

fn visitor_body(days: i64, uses: u32, plate: Option<&str>) -> Value {
    let now = chrono::Utc::now();
    let mut body = json!({"visitor_name": "访客", "valid_from": now.to_rfc3339(),
        "valid_until": (now + chrono::Duration::days(days)).to_rfc3339(), "uses": uses});
    if let Some(p) = plate {
        body["plate"] = json!(p);
    }
    body
}

/// The keys a reader gets from the published JWK Set.
macro_rules! jwks {
    ($app:expr, $community:expr) => {{
        let req = test::TestRequest::get().uri(&format!("/v1/communities/{}/access-keys", $community)).to_request();
        let resp = test::call_service(&$app, req).await;
        assert_eq!(resp.headers().get("content-type").unwrap(), "application/jwk-set+json");
        let set: linli_identity::access_pass::JwkSet = serde_json::from_slice(&test::read_body(resp).await).unwrap();
        set.keys.iter().map(|k| linli_identity::access_pass::VerifyingKey::from_jwk(k).unwrap()).collect::<Vec<_>>()
    }};
}

fn verify_at_gate(text: &str, keys: &[linli_identity::access_pass::VerifyingKey], community: Uuid, door: u32) -> Result<linli_identity::access_pass::PassClaims, linli_identity::access_pass::Refusal> {
    let issuer = linli_identity::access_pass::issuer_for(&community);
    let revoked = std::collections::HashSet::new();
    let view = linli_identity::access_pass::ReaderView { issuer: &issuer, door_code: door, now_ms: chrono::Utc::now().timestamp_millis(), keys, revoked: &revoked };
    linli_identity::access_pass::verify_pass(text, &view)
}

/// Visitor passes: bad requests change nothing; a good one verifies against the published JWK Set for the
/// caller's doors, its QR code decodes to its text; listing, revoking (readers get the revocation list), and a
/// key rotation with overlap, then an immediate retirement after which the old key's passes are refused.
#[actix_web::test]
async fn visitor_passes_keys_and_revocations() {
    use linli_server::schema::passes;
    let f = setup(AccessConfig::default()).await;
    let app = service!(f.t);
    register_doors!(app, f);
    let [(b01_owner, _, _), _] = owners();
    let (_, token) = owner(&f, &b01_owner).await;
    let visitor_path = format!("/v1/communities/{}/visitor-passes", f.community);

    for (body, code) in [
        (visitor_body(8, 2, None), "window_invalid"),
        (visitor_body(-1, 2, None), "window_invalid"),
        (visitor_body(1, 101, None), "uses_invalid"),
        (visitor_body(1, 2, Some("沪A")), "plate_invalid"),
        (json!({"visitor_name": "", "valid_from": chrono::Utc::now().to_rfc3339(), "valid_until": (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339(), "uses": 1}), "visitor_name_invalid"),
        (json!({"visitor_name": "x"}), "invalid_body"),
    ] {
        let (s, _, v) = call_json!(app, post, visitor_path, token, body);
        assert_eq!((s, v["code"].as_str()), (422, Some(code)), "{v}");
    }
    for serial in ["zz", "00ff00ff"] {
        let (s, _, v) = call_json!(app, post, format!("/v1/communities/{}/passes", f.community), token, json!({"device_serial": serial}));
        assert_eq!((s, v["code"].as_str()), (422, Some("device_invalid")), "not the caller's active certificate: {v}");
    }
    let (_, stranger) = f.t.account().await;
    assert_eq!(call_json!(app, post, visitor_path, stranger, visitor_body(1, 2, None)).0, 404, "not a resident");
    assert_eq!(call_json!(app, get, format!("/v1/communities/{}/passes", f.community), stranger, json!({})).0, 404);
    let other_community = format!("/v1/communities/{}/visitor-passes", Uuid::now_v7());
    assert_eq!(call_json!(app, post, other_community, token, visitor_body(1, 2, None)).0, 404);
    let mut conn = f.t.conn().await;
    assert_eq!(passes::table.count().get_result::<i64>(&mut conn).await.unwrap(), 0);

    let (s, _, pass) = call_json!(app, post, visitor_path, token, visitor_body(1, 2, Some("沪AD12345")));
    assert_eq!(s, 201, "{pass}");
    let text = pass["pass_text"].as_str().unwrap().to_owned();
    let keys = jwks!(app, f.community);
    assert_eq!(keys.len(), 1);
    let claims = verify_at_gate(&text, &keys, f.community, 101).unwrap();
    assert_eq!((claims.doors.clone(), claims.uses), (vec![101, 102, 201, 301], 2));
    assert_eq!(verify_at_gate(&text, &keys, f.community, 202), Err(linli_identity::access_pass::Refusal::WrongDoor), "another building's door");
    assert_eq!(verify_at_gate(&text, &keys, Uuid::now_v7(), 101), Err(linli_identity::access_pass::Refusal::WrongIssuer));
    let name: String = passes::table.select(passes::visitor_name_enc).first::<Option<String>>(&mut conn).await.unwrap().unwrap();
    assert!(!name.contains("访客"), "the visitor's name is encrypted");

    // The QR code holds exactly the pass text.
    let id = pass["pass_id"].as_str().unwrap();
    let qr_path = format!("{visitor_path}/{id}/qr.png");
    let req = test::TestRequest::get().uri(&qr_path).insert_header(("authorization", format!("Bearer {token}"))).to_request();
    let resp = test::call_service(&app, req).await;
    assert_eq!(resp.status(), 200);
    let png = test::read_body(resp).await;
    let luma = image::load_from_memory(&png).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(luma);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1);
    assert_eq!(grids[0].decode().unwrap().1, text);
    let req = test::TestRequest::get().uri(&qr_path).insert_header(("authorization", format!("Bearer {stranger}"))).to_request();
    assert_eq!(test::call_service(&app, req).await.status(), 404, "another account's pass");

    // Listing and revoking; the reader's sync carries the revocation.
    let list_path = format!("/v1/communities/{}/passes", f.community);
    let (_, _, listed) = call_json!(app, get, list_path, token, json!({}));
    assert_eq!((listed["passes"][0]["status"].as_str(), listed["passes"][0]["plate"].as_str()), (Some("active"), Some("沪AD12345")));
    assert_eq!(call_json!(app, post, format!("{list_path}/{id}/revoke"), stranger, json!({})).0, 404);
    let (s, _, revoked) = call_json!(app, post, format!("{list_path}/{id}/revoke"), token, json!({}));
    assert_eq!((s, revoked["status"].as_str()), (200, Some("revoked")));
    assert_eq!(call_json!(app, post, format!("{list_path}/{id}/revoke"), token, json!({})).0, 200, "again: the same");
    let req = test::TestRequest::get().uri(&qr_path).insert_header(("authorization", format!("Bearer {token}"))).to_request();
    assert_eq!(test::call_service(&app, req).await.status(), 404, "no QR code for a revoked pass");
    let (gw_id, gw_secret) = create_app(&mut conn, &f.t.state.pii, "门禁", OrgRole::DoorGateway, &[f.community]).await.unwrap();
    let sync_path = format!("/openapi/v1/communities/{}/access/sync", f.community);
    let (s, _, sync) = json_of(test::call_service(&app, org_request(&(gw_id, gw_secret), "GET", &sync_path, b"").to_request()).await).await;
    assert_eq!((s, sync["revoked"].clone()), (200, json!([id])), "{sync}");
    let (s, _, _) = json_of(test::call_service(&app, org_request(&f.property, "GET", &sync_path, b"").to_request()).await).await;
    assert_eq!(s, 404, "the property company's app is no reader");

    // Rotation with overlap: both keys published, the old pass still verifies, new passes use the new key.
    let (s, _, kept) = call_json!(app, post, visitor_path, token, visitor_body(1, 0, None));
    assert_eq!(s, 201);
    let old_kid: String = passes::table.select(passes::kid).first(&mut conn).await.unwrap();
    let new_kid = linli_server::access::keys::rotate(&mut conn, &f.t.state.pii, f.community, chrono::Duration::days(8)).await.unwrap();
    assert_ne!(old_kid, new_kid);
    let keys = jwks!(app, f.community);
    assert_eq!(keys.len(), 2);
    assert!(verify_at_gate(kept["pass_text"].as_str().unwrap(), &keys, f.community, 101).is_ok());
    let (_, _, fresh) = call_json!(app, post, visitor_path, token, visitor_body(1, 0, None));
    assert!(verify_at_gate(fresh["pass_text"].as_str().unwrap(), &keys, f.community, 101).is_ok());
    // Retired at once: no longer published, and its passes are refused by a reader that synced after.
    assert!(linli_server::access::keys::retire_now(&mut conn, &old_kid).await.unwrap());
    let keys = jwks!(app, f.community);
    assert_eq!(keys.len(), 1);
    assert_eq!(verify_at_gate(kept["pass_text"].as_str().unwrap(), &keys, f.community, 101), Err(linli_identity::access_pass::Refusal::UnknownKey));
    assert!(verify_at_gate(fresh["pass_text"].as_str().unwrap(), &keys, f.community, 101).is_ok());
    // An unknown community has no key set.
    let req = test::TestRequest::get().uri(&format!("/v1/communities/{}/access-keys", Uuid::now_v7())).to_request();
    assert_eq!(test::call_service(&app, req).await.status(), 404);
}

/// Reader event batches: unknown outcomes and reasons, duplicate ids, empty batches are 422 and record nothing;
/// a batch sent twice records once.
#[actix_web::test]
async fn reader_event_batches_are_checked_and_idempotent() {
    let f = setup(AccessConfig::default()).await;
    let app = service!(f.t);
    register_doors!(app, f);
    let mut conn = f.t.conn().await;
    let gw = create_app(&mut conn, &f.t.state.pii, "门禁", OrgRole::DoorGateway, &[f.community]).await.unwrap();
    let now = chrono::Utc::now().to_rfc3339();
    let event = |id: Uuid, outcome: &str, reason: Option<&str>| json!({"id": id, "door_code": 101, "outcome": outcome, "reason": reason, "occurred_at": now});
    let post = |body: Value| org_request(&gw, "POST", "/openapi/v1/access/events", &serde_json::to_vec(&body).unwrap()).to_request();
    let dup = Uuid::now_v7();
    for body in [
        json!({"community_id": f.community, "events": []}),
        json!({"community_id": f.community, "events": [event(Uuid::now_v7(), "opened", Some("expired"))]}),
        json!({"community_id": f.community, "events": [event(Uuid::now_v7(), "refused", Some("because"))]}),
        json!({"community_id": f.community, "events": [event(Uuid::now_v7(), "exploded", None)]}),
        json!({"community_id": f.community, "events": [event(dup, "opened", None), event(dup, "opened", None)]}),
    ] {
        let (s, _, v) = json_of(test::call_service(&app, post(body)).await).await;
        assert_eq!(s, 422, "{v}");
    }
    assert_eq!(event_count(&f).await, 0);
    let batch = json!({"community_id": f.community, "events": [event(Uuid::now_v7(), "opened", None), event(Uuid::now_v7(), "refused", Some("revoked"))]});
    let (s, _, first) = json_of(test::call_service(&app, post(batch.clone())).await).await;
    assert_eq!((s, first["recorded"].as_u64()), (200, Some(2)));
    let (_, _, again) = json_of(test::call_service(&app, post(batch)).await).await;
    assert_eq!((again["received"].as_u64(), again["recorded"].as_u64()), (Some(2), Some(0)));
    assert_eq!(event_count(&f).await, 2);
}
