//! The register read endpoints: owners see their own units, the committee sees aggregates without names, and
//! nobody sees another community's data (404, never 403).

use actix_web::test;
use linli_server::auth::Role;

use crate::common::{TestApp, demo_register, json_of};
use crate::service;

/// (building code, unit number)
type UnitRef = (String, String);

/// Owners of the demo register read straight from the CSV: (id number, their units).
fn demo_owners() -> Vec<(String, Vec<UnitRef>)> {
    let mut rdr = csv::Reader::from_path(demo_register()).unwrap();
    let mut by_id: std::collections::BTreeMap<String, Vec<UnitRef>> = Default::default();
    for rec in rdr.records() {
        let rec = rec.unwrap();
        if &rec[0] == "owner" && &rec[9] == "person" {
            by_id.entry(rec[10].to_owned()).or_default().push((rec[2].to_owned(), rec[3].to_owned()));
        }
    }
    by_id.into_iter().collect()
}

#[actix_web::test]
async fn an_owner_sees_exactly_their_units_with_areas() {
    let t = TestApp::new().await;
    let community = t.import_demo().await;
    // Someone with three or more units in the file.
    let (id_number, units) = demo_owners().into_iter().find(|(_, u)| u.len() >= 3).unwrap();
    let (account, token) = t.account().await;
    t.link_person(account, community, &id_number).await;
    let app = service!(t);
    let req = test::TestRequest::get()
        .uri(&format!("/v1/communities/{community}/units/mine"))
        .insert_header(("authorization", format!("Bearer {token}")))
        .to_request();
    let (status, _, json) = json_of(test::call_service(&app, req).await).await;
    assert_eq!(status, 200, "{json}");
    let got: Vec<(String, String)> = json["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["building_code"].as_str().unwrap().to_owned(), u["number"].as_str().unwrap().to_owned()))
        .collect();
    let mut want = units.clone();
    want.sort();
    assert_eq!(got, want);
    assert!(json["units"].as_array().unwrap().iter().all(|u| u["exclusive_area_centi_m2"].as_i64().unwrap() > 0));
    assert!(!json.to_string().contains(&id_number));
}

#[actix_web::test]
async fn the_committee_sees_aggregates_that_match_the_file() {
    let t = TestApp::new().await;
    let community = t.import_demo().await;
    let (member, token) = t.account().await;
    t.grant(member, community, Role::Committee).await;
    let app = service!(t);
    let req = test::TestRequest::get()
        .uri(&format!("/v1/communities/{community}/register/summary"))
        .insert_header(("authorization", format!("Bearer {token}")))
        .to_request();
    let (status, _, json) = json_of(test::call_service(&app, req).await).await;
    assert_eq!(status, 200, "{json}");

    // Independent recomputation from the CSV with the SPC rules written out here (parking not counted).
    let mut rdr = csv::Reader::from_path(demo_register()).unwrap();
    let mut areas = std::collections::BTreeMap::new();
    let mut kinds = std::collections::BTreeMap::new();
    let mut owners: std::collections::BTreeMap<(String, String), Vec<String>> = Default::default();
    for rec in rdr.records() {
        let rec = rec.unwrap();
        let key = (rec[2].to_owned(), rec[3].to_owned());
        match &rec[0] {
            "unit" => {
                let (w, f) = rec[6].split_once('.').unwrap();
                areas.insert(key.clone(), w.parse::<i64>().unwrap() * 100 + f.parse::<i64>().unwrap());
                kinds.insert(key, rec[5].to_owned());
            }
            "owner" => {
                let who = if &rec[9] == "developer" { "DEVELOPER".to_owned() } else { rec[10].to_owned() };
                owners.entry(key).or_default().push(who);
            }
            _ => {}
        }
    }
    let mut area = 0;
    let mut people = std::collections::BTreeSet::new();
    let mut counted = 0;
    for (key, kind) in &kinds {
        if kind == "parking" {
            continue;
        }
        counted += 1;
        area += areas[key];
        let mut o = owners[key].clone();
        o.sort();
        people.insert(o);
    }
    let totals = &json["totals"];
    assert_eq!(totals["counted_units"], counted);
    assert_eq!(totals["counted_area_centi_m2"], area);
    assert_eq!(totals["headcount"], people.len());
    assert_eq!(totals["all_units"], 1200);
    assert_eq!(totals["parking_spaces_counted"], false);
    assert_eq!(json["totals_other_parking_rule"]["parking_spaces_counted"], true);
    assert_eq!(json["buildings"].as_array().unwrap().len(), 12);
    // No names or ID numbers anywhere in the answer.
    let text = json.to_string();
    for (id, _) in demo_owners().iter().take(50) {
        assert!(!text.contains(id.as_str()));
    }
}

#[actix_web::test]
async fn foreign_and_anonymous_requests_see_nothing() {
    let t = TestApp::new().await;
    let community = t.import_demo().await;
    let (member, token) = t.account().await;
    let app = service!(t);
    // No session: 401.
    let req = test::TestRequest::get().uri(&format!("/v1/communities/{community}/register/summary")).to_request();
    assert_eq!(json_of(test::call_service(&app, req).await).await.0, 401);
    // A forged token: 401.
    let req = test::TestRequest::get()
        .uri(&format!("/v1/communities/{community}/register/summary"))
        .insert_header(("authorization", "Bearer forged"))
        .to_request();
    assert_eq!(json_of(test::call_service(&app, req).await).await.0, 401);
    // Logged in but not on the committee, not an owner: 404 for both, same as a community that does not exist.
    for uri in [
        format!("/v1/communities/{community}/register/summary"),
        format!("/v1/communities/{community}/units/mine"),
        format!("/v1/communities/{}/register/summary", uuid::Uuid::now_v7()),
    ] {
        let req = test::TestRequest::get().uri(&uri).insert_header(("authorization", format!("Bearer {token}"))).to_request();
        let (status, _, json) = json_of(test::call_service(&app, req).await).await;
        assert_eq!((status, json["code"].as_str().unwrap()), (404, "not_found"), "{uri}");
    }
    // A committee member of one community is nobody in another.
    let other = uuid::Uuid::now_v7();
    t.grant(member, community, Role::Committee).await;
    let req = test::TestRequest::get()
        .uri(&format!("/v1/communities/{other}/register/summary"))
        .insert_header(("authorization", format!("Bearer {token}")))
        .to_request();
    assert_eq!(json_of(test::call_service(&app, req).await).await.0, 404);
}
