//! Vehicles of a unit (issue 14 item 2): registered by the unit's verified owners with a plate parsed at the edge,
//! one live registration per plate in the community, at most `[parking] vehicles_per_unit` per unit (2 here).

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;
use uuid::Uuid;

use crate::call_json as call;
use crate::common::TestApp;
use crate::service;

/// Owners of B01-0101 and B01-0102 in the demo register.
const OWNER_0101: &str = "330106197601165874";
const OWNER_0102: &str = "310110196207036560";

async fn unit(t: &TestApp, community: Uuid, number: &str) -> Uuid {
    use linli_server::schema::{buildings, units};
    units::table
        .inner_join(buildings::table)
        .filter(buildings::code.eq("B01"))
        .filter(units::number.eq(number))
        .filter(units::community_id.eq(community))
        .select(units::id)
        .first(&mut t.conn().await)
        .await
        .unwrap()
}

async fn live_vehicles(t: &TestApp) -> i64 {
    use linli_server::schema::vehicles;
    vehicles::table.filter(vehicles::removed_at.is_null()).count().get_result(&mut t.conn().await).await.unwrap()
}

#[actix_web::test]
async fn owners_register_list_and_remove_their_units_vehicles() {
    let t = TestApp::new().await;
    let community = t.import_demo().await;
    let (owner, token) = t.account().await;
    t.link_person(owner, community, OWNER_0101).await;
    let (neighbour, neighbour_token) = t.account().await;
    t.link_person(neighbour, community, OWNER_0102).await;
    let (_stranger, stranger_token) = t.account().await;
    let (mine, theirs) = (unit(&t, community, "0101").await, unit(&t, community, "0102").await);
    let app = service!(t);
    let path = format!("/v1/units/{mine}/vehicles");

    // Registered as printed, stored normalised with its kind.
    let (s, _, v) = call!(app, post, path.clone(), token, json!({"plate": "粤b·d12345", "plate_color": "green"}));
    assert_eq!(s, 201, "{v}");
    assert_eq!((v["plate"].as_str(), v["plate_kind"].as_str(), v["plate_color"].as_str()), (Some("粤BD12345"), Some("new_energy_small"), Some("green")));
    // The same plate again (a retry): the same registration.
    let (s, _, again) = call!(app, post, path.clone(), token, json!({"plate": "粤BD12345", "plate_color": "green"}));
    assert_eq!((s, &again["id"]), (200, &v["id"]));

    // Bad plates change nothing and say what is wrong.
    for (plate, color, detail) in [
        ("粤B1234I", "blue", "I and O"),
        ("粤BD12345", "blue", "green"),
        ("XX12345", "blue", "province"),
        ("粤B12345", "purple", "colour"),
    ] {
        let (s, _, p) = call!(app, post, path.clone(), token, json!({"plate": plate, "plate_color": color}));
        assert_eq!((s, p["code"].as_str()), (422, Some("plate_invalid")), "{plate}: {p}");
        assert!(p["detail"].as_str().unwrap().contains(detail), "{plate}: {p}");
    }
    let (s, _, p) = call!(app, post, path.clone(), token, json!({"plate": "粤B12345"}));
    assert_eq!(s, 422, "{p}");
    assert_eq!(live_vehicles(&t).await, 1);

    // The unit's limit (2 here); the neighbour cannot take a plate that is live on this unit.
    let (s, _, second) = call!(app, post, path.clone(), token, json!({"plate": "沪A12345", "plate_color": "blue"}));
    assert_eq!(s, 201, "{second}");
    let (s, _, p) = call!(app, post, path.clone(), token, json!({"plate": "沪A54321", "plate_color": "blue"}));
    assert_eq!((s, p["code"].as_str()), (409, Some("vehicle_limit_reached")), "{p}");
    let (s, _, p) = call!(app, post, format!("/v1/units/{theirs}/vehicles"), neighbour_token, json!({"plate": "沪A12345", "plate_color": "blue"}));
    assert_eq!((s, p["code"].as_str()), (409, Some("plate_registered")), "{p}");

    // Another unit's vehicles are not the caller's: 404, whatever the request.
    for (uri, tok) in [(path.clone(), &stranger_token), (format!("/v1/units/{theirs}/vehicles"), &token)] {
        let (s, _, p) = call!(app, get, uri.clone(), tok, json!({}));
        assert_eq!(s, 404, "{p}");
        let (s, _, p) = call!(app, post, uri, tok, json!({"plate": "京A99999", "plate_color": "blue"}));
        assert_eq!(s, 404, "{p}");
    }
    let (s, _, p) = call!(app, delete, format!("/v1/units/{theirs}/vehicles/{}", v["id"].as_str().unwrap()), neighbour_token, json!({}));
    assert_eq!(s, 404, "another unit's vehicle id: {p}");
    assert_eq!(live_vehicles(&t).await, 2);

    let (s, _, list) = call!(app, get, path.clone(), token, json!({}));
    assert_eq!(s, 200);
    let plates: Vec<&str> = list["vehicles"].as_array().unwrap().iter().map(|v| v["plate"].as_str().unwrap()).collect();
    assert_eq!(plates, ["粤BD12345", "沪A12345"]);

    // Removed: gone from the list, a second removal is 404, and the plate is free for the neighbour.
    let req = actix_web::test::TestRequest::delete()
        .uri(&format!("{path}/{}", second["id"].as_str().unwrap()))
        .insert_header(("authorization", format!("Bearer {token}")))
        .to_request();
    assert_eq!(actix_web::test::call_service(&app, req).await.status(), 204);
    let (s, _, _) = call!(app, delete, format!("{path}/{}", second["id"].as_str().unwrap()), token, json!({}));
    assert_eq!(s, 404);
    let (s, _, list) = call!(app, get, path.clone(), token, json!({}));
    assert_eq!((s, list["vehicles"].as_array().unwrap().len()), (200, 1));
    let (s, _, p) = call!(app, post, format!("/v1/units/{theirs}/vehicles"), neighbour_token, json!({"plate": "沪A12345", "plate_color": "blue"}));
    assert_eq!(s, 201, "{p}");
    // A tenant the owner registered registers a vehicle once they accepted, and not after the owner ended it.
    let now = chrono::Utc::now();
    let body = json!({"kind": "tenant", "name": "李四", "phone": "13812345678", "relation": "租户",
                      "valid_from": (now - chrono::Duration::minutes(1)).to_rfc3339(),
                      "valid_until": (now + chrono::Duration::days(30)).to_rfc3339()});
    let (s, _, invitation) = call!(app, post, format!("/v1/units/{mine}/residents"), token, body);
    assert_eq!(s, 201, "{invitation}");
    let (_tenant, tenant_token) = t.account().await;
    let (s, _, _) = call!(app, get, path.clone(), tenant_token, json!({}));
    assert_eq!(s, 404, "not a resident before accepting");
    let (s, _, _) = call!(app, post, "/v1/resident-invitations/accept", tenant_token, json!({"invitation_code": invitation["invitation_code"]}));
    assert_eq!(s, 200);
    let (s, _, list) = call!(app, get, path.clone(), tenant_token, json!({}));
    assert_eq!((s, list["vehicles"].as_array().unwrap().len()), (200, 1), "{list}");
    let resident = invitation["resident"]["id"].as_str().unwrap();
    let (s, _, v) = call!(app, post, format!("/v1/units/{mine}/residents/{resident}/end"), token, json!({}));
    assert!(s < 300, "{v}");
    let (s, _, _) = call!(app, post, path.clone(), tenant_token, json!({"plate": "京A99999", "plate_color": "blue"}));
    assert_eq!(s, 404, "an ended tenant is no longer a resident");
    // Malformed JSON: a 4xx problem, nothing stored.
    let req = actix_web::test::TestRequest::post()
        .uri(&path)
        .insert_header(("authorization", format!("Bearer {token}")))
        .insert_header(("content-type", "application/json"))
        .set_payload("{\"plate\": ")
        .to_request();
    let (s, _, _) = crate::common::json_of(actix_web::test::call_service(&app, req).await).await;
    assert_eq!(s, 400);
    assert_eq!(live_vehicles(&t).await, 2);
}
