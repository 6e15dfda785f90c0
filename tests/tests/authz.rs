//! The authorization matrix: every route of the OpenAPI document × every kind of caller × own and foreign
//! community. A caller without the right gets 401 (not authenticated) or 404 (never reveal what exists) — never a
//! 2xx, never 403, never 500 — and the right caller on its own community is let through. New community-scoped
//! routes are held to the foreign-community rule automatically; add them to `allowed` to check the positive side.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use linli_identity::org_app::{AppSecret, authorization_header};
use linli_server::auth::Role;
use linli_server::auth::org_app::{OrgRole, create_app};
use linli_server::pii::Pii;
use linli_server::testing::test_pii_config;
use linli_tests::owner::{Owner, demo_persons, unit_id};
use linli_tests::world::World;
use serde_json::Value;
use uuid::Uuid;

#[derive(Clone)]
enum Caller {
    Anonymous,
    Session(String),
    App { id: String, secret: String },
}

/// A second, foreign community with one unit.
async fn foreign_community(world: &World) -> Uuid {
    let csv = "record,community,building,unit,name,kind,exclusive_area_m2,area_source,building_area_m2,owner_type,id_number,phone,holding\n\
               community,T-FOREIGN,,,别的小区,,,,,,,,\n\
               building,T-FOREIGN,B1,,1号楼,,,,,,,,\n\
               unit,T-FOREIGN,B1,0101,,residence,80.00,register,95.00,,,,\n\
               owner,T-FOREIGN,B1,0101,赵六,,,,,person,11010519491231002X,,\n";
    let register = linli_server::community::register_file::parse_register(csv.as_bytes()).unwrap();
    let pii = Pii::from_config(&test_pii_config()).unwrap();
    let mut conn = AsyncPgConnection::establish(world.db.url()).await.unwrap();
    linli_server::community::store::apply_register(&mut conn, &pii, &register, b"foreign", &|_| {})
        .await
        .unwrap()
        .community_id
}

async fn call(world: &World, caller: &Caller, method: &str, path: &str) -> u16 {
    let http = linli_tests::client();
    let url = world.url(path);
    let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let body = b"{}".to_vec();
    let mut req = http.request(method.clone(), url).header("content-type", "application/json");
    match caller {
        Caller::Anonymous => {}
        Caller::Session(token) => req = req.bearer_auth(token),
        Caller::App { id, secret } => {
            let ts = chrono::Utc::now().timestamp_millis();
            let nonce = linli_tests::client::random_nonce();
            let sent: &[u8] = if method == reqwest::Method::GET { b"" } else { &body };
            req = req.header(
                "authorization",
                authorization_header(id, &AppSecret::from_text(secret), method.as_str(), path, ts, &nonce, sent),
            );
        }
    }
    if method != reqwest::Method::GET {
        req = req.body(body);
    }
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn every_route_every_caller_own_and_foreign() {
    let world = World::start().await.unwrap();
    let own = world.community_id;
    let foreign = foreign_community(&world).await;
    let mut conn = AsyncPgConnection::establish(world.db.url()).await.unwrap();
    let pii = Pii::from_config(&test_pii_config()).unwrap();

    // Callers: a verified owner, committee/support/admin of the own community, and one app per role.
    let person = demo_persons(&world).await.unwrap().remove(4);
    let unit = unit_id(&world, &person.building, &person.unit).await.unwrap();
    let mut owner = Owner::login(&world, "o-matrix-owner").await.unwrap();
    owner.enroll(&world, unit, &person, "739415").await.unwrap();
    let mut callers: BTreeMap<String, Caller> = BTreeMap::new();
    callers.insert("anonymous".into(), Caller::Anonymous);
    callers.insert("owner".into(), Caller::Session(owner.token.clone()));
    let plain = Owner::login(&world, "o-matrix-nobody").await.unwrap();
    callers.insert("account".into(), Caller::Session(plain.token.clone()));
    for (name, role) in [("committee", Role::Committee), ("support", Role::Support), ("admin", Role::Admin)] {
        let s = Owner::login(&world, &format!("o-matrix-{name}")).await.unwrap();
        linli_server::auth::roles::grant(&mut conn, s.account_id, own, role).await.unwrap();
        callers.insert(name.into(), Caller::Session(s.token.clone()));
    }
    for role in OrgRole::ALL {
        let (id, secret) = create_app(&mut conn, &pii, "matrix org", role, &[own]).await.unwrap();
        callers.insert(format!("app:{}", role.as_str()), Caller::App { id, secret: secret.expose().to_owned() });
    }

    // Who may use which community-scoped route on its own community (routes of areas not listed here are held to
    // the foreign-community rule only).
    let allowed: BTreeMap<(&str, &str), &[&str]> = BTreeMap::from([
        (("get", "/v1/communities/{community_id}/units/mine"), &["owner"][..]),
        (("get", "/v1/communities/{community_id}/electronic-service-consent"), &["owner"][..]),
        (("put", "/v1/communities/{community_id}/electronic-service-consent"), &["owner"][..]),
        (("get", "/v1/communities/{community_id}/register/summary"), &["committee"][..]),
        (("put", "/v1/admin/communities/{community_id}/rules"), &["admin"][..]),
        (("post", "/v1/support/communities/{community_id}/binding-resets"), &["support"][..]),
        (("get", "/v1/support/communities/{community_id}/registry-reviews"), &["support"][..]),
        (("get", "/v1/support/communities/{community_id}/proxies"), &["support"][..]),
        (("get", "/openapi/v1/communities/{community_id}/register/summary"), &["app:property", "app:bureau"][..]),
        (("get", "/openapi/v1/communities/{community_id}/arrears"), &["app:property"][..]),
        (("get", "/openapi/v1/communities/{community_id}/statements/{date}"), &["app:property"][..]),
        (("post", "/v1/communities/{community_id}/meetings"), &["committee"][..]),
        (("get", "/openapi/v1/communities/{community_id}/meetings"), &["app:bureau"][..]),
        (("post", "/openapi/v1/communities/{community_id}/doors"), &["app:property"][..]),
        (("get", "/openapi/v1/communities/{community_id}/doors"), &["app:property"][..]),
        (("post", "/openapi/v1/communities/{community_id}/tenants"), &["app:property"][..]),
        (("get", "/openapi/v1/communities/{community_id}/access-events"), &["app:property"][..]),
        (("get", "/openapi/v1/communities/{community_id}/access/sync"), &["app:door_gateway"][..]),
        (("get", "/v1/communities/{community_id}/passes"), &["owner"][..]),
        (("post", "/v1/communities/{community_id}/passes"), &["owner"][..]),
        (("post", "/v1/communities/{community_id}/visitor-passes"), &["owner"][..]),
        (("get", "/v1/communities/{community_id}/fund-plans"), &["owner", "committee"][..]),
        (("post", "/openapi/v1/communities/{community_id}/fund-plans"), &["app:property"][..]),
        (("get", "/v1/communities/{community_id}/disclosures"), &["owner", "committee", "app:bureau"][..]),
        (("post", "/v1/communities/{community_id}/disclosures"), &["committee"][..]),
        (("post", "/openapi/v1/communities/{community_id}/disclosures"), &["app:property"][..]),
    ]);

    let spec: Value = linli_tests::client().get(world.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let mut checked = 0;
    for (template, ops) in spec["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let security: Vec<String> = op["security"]
                .as_array()
                .map(|a| a.iter().flat_map(|s| s.as_object().unwrap().keys().cloned()).collect())
                .unwrap_or_default();
            let scoped = template.contains("{community_id}");
            for community in [own, foreign] {
                let path = fill(template, community);
                for (name, caller) in &callers {
                    // Logging out would end the session every later case of this caller uses; its own test
                    // (server/tests/api/binding_resets.rs) covers it with a session of its own.
                    if template == "/v1/auth/logout" && matches!(caller, Caller::Session(_)) {
                        continue;
                    }
                    let status = call(&world, caller, method, &path).await;
                    checked += 1;
                    let ctx = format!("{method} {path} as {name}");
                    assert_ne!(status, 403, "{ctx}: refusals are 401 or 404, never 403");
                    assert!(status != 500, "{ctx}: 500");
                    let may_authenticate = match caller {
                        Caller::Anonymous => security.is_empty(),
                        Caller::Session(_) => security.is_empty() || security.iter().any(|s| s == "session"),
                        Caller::App { .. } => security.is_empty() || security.iter().any(|s| s == "app_hmac"),
                    };
                    if !may_authenticate {
                        assert_eq!(status, 401, "{ctx}: wrong kind of credentials");
                        continue;
                    }
                    if !scoped || security.is_empty() {
                        continue;
                    }
                    let permitted = community == own
                        && allowed.get(&(method.as_str(), template.as_str())).is_some_and(|who| who.contains(&name.as_str()));
                    if permitted {
                        assert!(status != 401 && status != 404, "{ctx}: the right caller was refused ({status})");
                    } else {
                        // 404 as for a community that does not exist; a body refused before the role check (400,
                        // 415, 422 — the probe sends `{}`) says nothing about the community either.
                        assert!(
                            matches!(status, 401 | 404 | 400 | 415 | 422),
                            "{ctx}: got {status}, expected 404"
                        );
                    }
                }
            }
        }
    }
    assert!(checked > 100, "the matrix walked {checked} cases");
}

fn fill(template: &str, community: Uuid) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').map(|e| start + e).unwrap_or(rest.len() - 1);
        let name = &rest[start + 1..end];
        if name == "community_id" {
            out.push_str(&community.to_string());
        } else if name == "date" {
            out.push_str("2026-11-21");
        } else {
            out.push_str(&Uuid::now_v7().to_string());
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}
