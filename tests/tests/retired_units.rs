//! Units retired by a register import (issue 24 item 7), end to end through the real `linli` binary: no
//! enrollment starts for a retired unit and an open enrollment's registry step is refused; and the registry
//! factor stores the registry's own `area_source` as given.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};

use linli_tests::owner::{Owner, demo_persons, unit_id};
use linli_tests::world::{World, repo_root};

async fn problem(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert_eq!(ct, "application/problem+json", "{status} {body}");
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

/// The demo register's `area_source` of a unit.
fn file_area_source(building: &str, unit: &str) -> String {
    let text = std::fs::read_to_string(repo_root().join("fixtures/demo-register.csv")).unwrap();
    let line = text.lines().find(|l| l.starts_with("unit,") && l.split(',').nth(2) == Some(building) && l.split(',').nth(3) == Some(unit)).unwrap();
    line.split(',').nth(7).unwrap().to_owned()
}

#[tokio::test]
async fn a_retired_unit_takes_no_enrollment_and_no_registry_step() {
    let world = World::start().await.unwrap();
    let persons = demo_persons(&world).await.unwrap();
    let (early, late, confirmed) = (&persons[0], &persons[1], &persons[2]);
    assert!((early.building.as_str(), early.unit.as_str()) != (late.building.as_str(), late.unit.as_str()));
    let early_unit = unit_id(&world, &early.building, &early.unit).await.unwrap();
    let late_unit = unit_id(&world, &late.building, &late.unit).await.unwrap();

    // The registry factor passes for a unit still in the register: the registry's source is stored as given.
    let owner = Owner::login(&world, "o-retired-confirmed").await.unwrap();
    let confirmed_unit = unit_id(&world, &confirmed.building, &confirmed.unit).await.unwrap();
    let id = owner.start_enrollment(world.community_id, confirmed_unit, confirmed).await.unwrap();
    assert_eq!(owner.upload_face(id, std::fs::read(&confirmed.face_path).unwrap(), "a.png").await.unwrap().status(), 200);
    let r: Value = owner.post(&format!("/v1/enrollments/{id}/registry"), &json!({})).await.unwrap().json().await.unwrap();
    assert_eq!(r["confirmed"], true, "{r}");
    let mut conn = AsyncPgConnection::establish(world.db.url()).await.unwrap();
    use linli_server::schema::units;
    let (registry_area, registry_source): (Option<i64>, Option<String>) = units::table
        .find(confirmed_unit)
        .select((units::registry_area_centi_m2, units::registry_area_source))
        .first(&mut conn)
        .await
        .unwrap();
    assert!(registry_area.is_some());
    assert_eq!(registry_source, Some(file_area_source(&confirmed.building, &confirmed.unit)));

    // An enrollment under way for one unit, then both units leave the register.
    let first = Owner::login(&world, "o-retired-early").await.unwrap();
    let enrollment = first.start_enrollment(world.community_id, early_unit, early).await.unwrap();
    assert_eq!(first.upload_face(enrollment, std::fs::read(&early.face_path).unwrap(), "a.png").await.unwrap().status(), 200);

    let text = std::fs::read_to_string(repo_root().join("fixtures/demo-register.csv")).unwrap();
    let dropped = |l: &str| {
        let f: Vec<&str> = l.split(',').collect();
        (f[0] == "unit" || f[0] == "owner")
            && [(&early.building, &early.unit), (&late.building, &late.unit)].iter().any(|(b, u)| f[2] == b.as_str() && f[3] == u.as_str())
    };
    let merged: String = text.lines().filter(|l| !dropped(l)).map(|l| format!("{l}\n")).collect();
    let path = world.dir().join("merged.csv");
    std::fs::write(&path, merged).unwrap();
    let refused = world.linli(&["import-register", path.to_str().unwrap()]);
    assert!(refused.is_err(), "a file leaving out units needs --allow-removals");
    let report: Value = serde_json::from_str(&world.linli(&["import-register", path.to_str().unwrap(), "--allow-removals"]).unwrap()).unwrap();
    let mut want = vec![format!("{}-{}", early.building, early.unit), format!("{}-{}", late.building, late.unit)];
    want.sort();
    assert_eq!(report["retired_units"], json!(want), "{report}");

    // The enrollment under way cannot reach the registry; a new one for a retired unit does not start.
    let step = first.post(&format!("/v1/enrollments/{enrollment}/registry"), &json!({})).await.unwrap();
    assert_eq!(problem(step).await, (409, "unit_retired".to_owned()));
    let second = Owner::login(&world, "o-retired-late").await.unwrap();
    let start = second
        .post(
            "/v1/enrollments",
            &json!({ "community_id": world.community_id, "unit_id": late_unit, "real_name": late.name,
                     "id_number": late.id_number, "consent_version": linli_tests::world::CONSENT_VERSION }),
        )
        .await
        .unwrap();
    assert_eq!(problem(start).await, (404, "not_found".to_owned()));
}
