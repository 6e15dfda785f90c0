//! Bad input gets problem+json with a stable code and changes nothing; unknown routes are 404 problems.

use actix_web::test;
use linli_server::auth::Role;

use crate::common::{TestApp, json_of};
use crate::service;

#[actix_web::test]
async fn unknown_route_is_a_404_problem() {
    let t = TestApp::new().await;
    let app = service!(t);
    for uri in ["/nope", "/v1/communities", "/v1/communities/not-a-uuid/units/mine"] {
        let resp = test::call_service(&app, test::TestRequest::get().uri(uri).to_request()).await;
        let (status, _, json) = json_of(resp).await;
        assert!(status == 404 || status == 401, "{uri}: {status}");
        if status == 404 {
            assert_eq!(json["code"], "not_found");
        }
    }
}

#[actix_web::test]
async fn malformed_and_invalid_bodies_are_4xx_problems_and_change_nothing() {
    let t = TestApp::new().await;
    let community = t.import_demo().await;
    let (admin, token) = t.account().await;
    t.grant(admin, community, Role::Admin).await;
    let app = service!(t);
    let uri = format!("/v1/admin/communities/{community}/rules");
    let cases: [(&str, &str, u16, &str); 5] = [
        ("application/json", "{\"count_parking_spaces\": tru", 400, "malformed_json"),
        ("application/json", "{\"count_parking_spaces\": \"yes\"}", 422, "invalid_body"),
        ("application/json", "{\"count_parking_spaces\": true, \"x\": 1}", 422, "invalid_body"),
        ("text/plain", "{\"count_parking_spaces\": true}", 415, "unsupported_media_type"),
        ("application/json", &"x".repeat(70 * 1024), 413, "payload_too_large"),
    ];
    for (content_type, body, want_status, want_code) in cases {
        let req = test::TestRequest::put()
            .uri(&uri)
            .insert_header(("authorization", format!("Bearer {token}")))
            .insert_header(("content-type", content_type))
            .set_payload(body.to_owned())
            .to_request();
        let (status, _, json) = json_of(test::call_service(&app, req).await).await;
        assert_eq!((status, json["code"].as_str().unwrap()), (want_status, want_code), "{body:.40}");
        assert!(!json.to_string().contains("serde"), "no internal text: {json}");
    }
    // Nothing changed: the rule is still the default and no audit row was written.
    let mut conn = t.conn().await;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let parking: bool = linli_server::schema::communities::table
        .find(community)
        .select(linli_server::schema::communities::count_parking_spaces)
        .first(&mut conn)
        .await
        .unwrap();
    assert!(!parking);
    let audits: i64 = linli_server::schema::audit_log::table
        .filter(linli_server::schema::audit_log::action.eq("community.rules.set"))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(audits, 0);

    // A well-formed body works, is audited once, and setting the same value again writes nothing.
    for _ in 0..2 {
        let req = test::TestRequest::put()
            .uri(&uri)
            .insert_header(("authorization", format!("Bearer {token}")))
            .set_json(serde_json::json!({"count_parking_spaces": true}))
            .to_request();
        let (status, _, json) = json_of(test::call_service(&app, req).await).await;
        assert_eq!(status, 200);
        assert_eq!(json["count_parking_spaces"], true);
    }
    let audits: i64 = linli_server::schema::audit_log::table
        .filter(linli_server::schema::audit_log::action.eq("community.rules.set"))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(audits, 1);
    assert_eq!(linli_server::audit::verify_chain(&mut conn).await.unwrap(), None);
}

#[actix_web::test]
async fn requests_carry_a_request_id_and_are_counted_by_route() {
    let t = TestApp::new().await;
    let app = service!(t);
    let resp = test::call_service(&app, test::TestRequest::get().uri("/healthz").to_request()).await;
    assert!(resp.headers().contains_key("x-request-id"));
    let resp = test::call_service(
        &app,
        test::TestRequest::get().uri("/healthz").insert_header(("x-request-id", "abcdef12-trace")).to_request(),
    )
    .await;
    assert_eq!(resp.headers().get("x-request-id").unwrap(), "abcdef12-trace");
    let resp = test::call_service(&app, test::TestRequest::get().uri("/readyz").to_request()).await;
    assert_eq!(resp.status(), 200);
    let resp = test::call_service(&app, test::TestRequest::get().uri("/metrics").to_request()).await;
    let body = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    assert!(
        body.contains(r#"linli_http_requests_total{method="GET",route="/healthz",status="200"} 2"#),
        "{body}"
    );
    assert!(body.contains("linli_http_request_duration_seconds_bucket"));
}

/// Routes that read their body as bytes (signed requests hash the exact bytes) hit actix-web's own 256 KiB limit
/// before any handler runs: that refusal is a problem+json 413 with the same code as a too-large JSON body, with a
/// length announced or found while reading.
#[actix_web::test]
async fn a_body_over_the_byte_limit_is_a_413_problem() {
    let t = TestApp::new().await;
    let app = service!(t);
    let big = vec![b'x'; 300 * 1024];
    for uri in ["/openapi/v1/billing/refunds", "/v1/payments/wechat/notify"] {
        for announced in [true, false] {
            let mut req = test::TestRequest::post()
                .uri(uri)
                .insert_header(("content-type", "application/json"))
                .set_payload(big.clone())
                .to_request();
            if !announced {
                req.headers_mut().remove(actix_web::http::header::CONTENT_LENGTH);
            }
            let (status, content_type, json) = json_of(test::call_service(&app, req).await).await;
            assert_eq!(
                (status, content_type.as_str(), json["code"].as_str()),
                (413, "application/problem+json", Some("payload_too_large")),
                "{uri}, length announced: {announced}"
            );
        }
    }
}
