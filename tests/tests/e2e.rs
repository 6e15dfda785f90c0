//! The real `linli` binary, started as a user would, over real HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use linli_server::testing::redis_url;
use linli_tests::client;
use linli_tests::world::World;

#[tokio::test]
async fn serves_readiness_docs_spec_and_problems() {
    let world = World::start().await.unwrap();
    let server = &world.server;
    let http = client();
    let get = |path: &str| http.get(format!("{}{path}", server.base_url)).send();

    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    assert_eq!(get("/readyz").await.unwrap().status(), 200);

    let docs = get("/docs/").await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(docs.text().await.unwrap().contains("swagger-ui"));
    // The UI's assets come from the binary itself, not from a CDN.
    assert_eq!(get("/docs/swagger-ui.css").await.unwrap().status(), 200);

    let spec: serde_json::Value = get("/openapi.json").await.unwrap().json().await.unwrap();
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(spec, committed, "the served spec is the committed one");

    let missing = get("/no/such/route").await.unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["code"], "not_found");

    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(metrics.contains(r#"route="/readyz""#), "{metrics}");
}

/// SIGTERM lets a request that is already being handled finish, then the process exits cleanly.
#[tokio::test]
async fn sigterm_finishes_in_flight_requests() {
    let mut world = World::start().await.unwrap();
    let server = &mut world.server;
    // A session for a bare account so the request reaches its body extractor.
    let account = {
        use diesel::prelude::*;
        use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
        let mut conn = AsyncPgConnection::establish(world.db.url()).await.unwrap();
        let id = uuid::Uuid::now_v7();
        diesel::insert_into(linli_server::schema::accounts::table)
            .values(linli_server::schema::accounts::id.eq(id))
            .execute(&mut conn)
            .await
            .unwrap();
        id
    };
    let redis = linli_server::cache::connect(&redis_url()).await.unwrap();
    let sessions = linli_server::auth::SessionStore::new(redis, Duration::from_secs(60));
    let token = sessions.create(account, 0).await.unwrap();

    let addr = server.base_url.trim_start_matches("http://").to_owned();
    let body = br#"{"count_parking_spaces": true}"#;
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    write!(
        stream,
        "PUT /v1/admin/communities/{}/rules HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        uuid::Uuid::now_v7(),
        token.0,
        body.len()
    )
    .unwrap();
    stream.write_all(&body[..5]).unwrap();
    stream.flush().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    server.terminate().unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // New connections are refused once shutdown began...
    assert!(client().get(format!("{}/healthz", server.base_url)).send().await.is_err());
    // ...but the request in flight completes.
    stream.write_all(&body[5..]).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 404"), "{response}");
    assert!(response.contains("application/problem+json"));

    let status = server.wait(Duration::from_secs(20)).unwrap().expect("exited");
    assert!(status.success(), "{status:?}\n{}", server.log());
}
