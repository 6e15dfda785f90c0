//! Rolls that follow the register (issue 24 item 7): a re-import that merges two units into one retires the
//! dropped unit (only with removals allowed), which then leaves the next frozen roll and the register totals while
//! a roll already frozen stays as it was; and a re-import never lowers a unit's area source.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use linli_server::auth::Role;
use linli_server::community::domain::AreaSource;
use linli_server::community::register_file::parse_register;
use linli_server::community::store::{ImportOptions, ImportReport, StoreError, import_register};
use linli_server::schema::{roll_entries, units};
use uuid::Uuid;

use crate::common::TestApp;
use crate::service;

use crate::call_json as call;

/// A valid resident ID number (GB 11643-1999 check character) numbered `n`.
fn id_number(n: u32) -> String {
    let base = format!("110105199001{:02}{:03}", 1 + n / 900, n % 900 + 100);
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = base.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    format!("{base}{}", "10X98765432".as_bytes()[(sum % 11) as usize] as char)
}

/// A register of `units` (number, area m², source), unit `i` owned by person `i`.
fn register_csv(units: &[(&str, &str, &str)]) -> Vec<u8> {
    let mut text = String::from(
        "record,community,building,unit,name,kind,exclusive_area_m2,area_source,building_area_m2,owner_type,id_number,phone,holding\n\
         community,T-MERGE,,,合并小区,,,,,,,,\nbuilding,T-MERGE,B1,,1号楼,,,,,,,,\n",
    );
    for (number, area, source) in units {
        text.push_str(&format!("unit,T-MERGE,B1,{number},,residence,{area},{source},300.00,,,,\n"));
    }
    for (i, (number, _, _)) in units.iter().enumerate() {
        text.push_str(&format!("owner,T-MERGE,B1,{number},业主{i},,,,,person,{},,\n", id_number(i as u32)));
    }
    text.into_bytes()
}

/// Ten units of 110.00 m² (110,000 centi-m² in all), one owner each.
fn ten_units() -> Vec<(String, &'static str, &'static str)> {
    (1..=10).map(|i| (format!("01{i:02}"), "110.00", "register")).collect()
}

fn as_refs<'a>(units: &'a [(String, &'static str, &'static str)]) -> Vec<(&'a str, &'a str, &'a str)> {
    units.iter().map(|(n, a, s)| (n.as_str(), *a, *s)).collect()
}

async fn import(t: &TestApp, csv: &[u8], allow_removals: bool) -> Result<ImportReport, StoreError> {
    let register = parse_register(csv).unwrap();
    let mut conn = t.conn().await;
    import_register(&mut conn, &t.state.pii, &register, b"test", ImportOptions { allow_removals }, &|_| {}).await
}

#[derive(diesel::QueryableByName)]
struct Digest {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    digest: Option<String>,
}

/// A digest of every row of the register tables, to prove "nothing changed".
async fn snapshot(t: &TestApp) -> Vec<Option<String>> {
    let mut conn = t.conn().await;
    let mut out = Vec::new();
    for table in ["communities", "buildings", "units", "persons", "ownerships", "register_imports", "audit_log"] {
        let d: Digest =
            diesel::sql_query(format!("SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) AS digest FROM {table} t"))
                .get_result(&mut conn)
                .await
                .unwrap();
        out.push(d.digest);
    }
    out
}

struct Committee {
    token_a: String,
    token_b: String,
}

/// A meeting taken through review to voting (the roll freezes on open); returns its id.
async fn open_meeting(t: &TestApp, community: Uuid, c: &Committee, title: &str) -> String {
    let app = service!(t);
    let start = chrono::Utc::now() + chrono::Duration::seconds(3600);
    let draft = serde_json::json!({
        "title": title,
        "proposals": [{"matter": 9, "title": "议题", "body": "合并后的表决"}],
        "notice_days": 0,
        "voting_starts_at": start.to_rfc3339(),
        "voting_ends_at": (start + chrono::Duration::days(7)).to_rfc3339()
    });
    let (s, _, m) = call!(app, post, format!("/v1/communities/{community}/meetings"), c.token_a, draft);
    assert_eq!(s, 201, "{m}");
    let id = m["id"].as_str().unwrap().to_owned();
    let (s, _, m) = call!(app, post, format!("/v1/meetings/{id}/submit"), c.token_a, serde_json::json!({}));
    assert_eq!(s, 200, "{m}");
    for token in [&c.token_a, &c.token_b] {
        let (s, _, m) = call!(app, post, format!("/v1/meetings/{id}/committee-review"), token, serde_json::json!({"approved": true}));
        assert_eq!(s, 200, "{m}");
    }
    let (s, _, m) = call!(app, post, format!("/v1/meetings/{id}/open"), c.token_b, serde_json::json!({}));
    assert_eq!((s, m["status"].as_str()), (200, Some("open")), "{m}");
    id
}

/// (total area, total heads, unit numbers) of a meeting's published roll.
async fn roll(t: &TestApp, meeting: &str, token: &str) -> (i64, i64, Vec<String>) {
    let app = service!(t);
    let (s, _, r) = call!(app, get, format!("/v1/meetings/{meeting}/roll"), token, serde_json::json!({}));
    assert_eq!(s, 200, "{r}");
    let mut numbers: Vec<String> = r["entries"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["units"].as_array().unwrap().iter().map(|u| u["unit"].as_str().unwrap().to_owned()))
        .collect();
    numbers.sort();
    (r["total_area_centi_m2"].as_i64().unwrap(), r["total_heads"].as_i64().unwrap(), numbers)
}

async fn voters(t: &TestApp, meeting: &str) -> Vec<Uuid> {
    let meeting: Uuid = meeting.parse().unwrap();
    roll_entries::table
        .filter(roll_entries::meeting_id.eq(meeting))
        .select(roll_entries::voter_account)
        .load::<Option<Uuid>>(&mut t.conn().await)
        .await
        .unwrap()
        .into_iter()
        .flatten()
        .collect()
}

#[actix_web::test]
async fn a_merge_retires_the_dropped_unit_from_new_rolls_and_totals_only_with_removals_allowed() {
    let t = TestApp::new().await;
    let before_merge = ten_units();
    let community = import(&t, &register_csv(&as_refs(&before_merge)), false).await.unwrap().community_id;
    let (a, token_a) = t.account().await;
    let (b, token_b) = t.account().await;
    t.grant(a, community, Role::Committee).await;
    t.grant(b, community, Role::Committee).await;
    let committee = Committee { token_a, token_b };
    // The owners of 0109 and 0110 are verified voters.
    let (keeper, _) = t.account().await;
    t.link_person(keeper, community, &id_number(8)).await;
    let (seller, _) = t.account().await;
    t.link_person(seller, community, &id_number(9)).await;
    let app = service!(t);

    let first = open_meeting(&t, community, &committee, "合并前").await;
    let (area, heads, numbers) = roll(&t, &first, &committee.token_a).await;
    assert_eq!((area, heads, numbers.len()), (110_000, 10, 10));
    assert!(voters(&t, &first).await.contains(&seller));

    // 0109 and 0110 merged into 0109 (120.00 m²): 9 units, 100,000 centi-m².
    let mut merged = before_merge.clone();
    merged.truncate(9);
    merged[8].1 = "120.00";
    let merged_csv = register_csv(&as_refs(&merged));

    // Without removals allowed the file is refused with the missing unit, and nothing changes.
    let unchanged = snapshot(&t).await;
    match import(&t, &merged_csv, false).await {
        Err(StoreError::MissingUnits(missing)) => assert_eq!(missing, ["B1-0110"]),
        other => panic!("a file leaving out a unit must be refused: {other:?}"),
    }
    assert_eq!(snapshot(&t).await, unchanged, "nothing imported");

    // With removals allowed the dropped unit is retired, listed in the report.
    let report = import(&t, &merged_csv, true).await.unwrap();
    assert_eq!(report.retired_units, ["B1-0110"]);
    assert!(report.reinstated_units.is_empty() && report.area_conflicts.is_empty(), "{report:?}");
    // Importing the same file again changes nothing and retires nothing more.
    let again = import(&t, &merged_csv, false).await.unwrap();
    assert_eq!((again.changed_rows, again.retired_units.len()), (0, 0), "{again:?}");

    // The roll frozen before stays as it was.
    assert_eq!(roll(&t, &first, &committee.token_a).await, (area, heads, numbers.clone()));
    // The register totals and the next roll follow the register: 100,000 / 9, the seller no longer a voter.
    let (s, _, summary) = call!(app, get, format!("/v1/communities/{community}/register/summary"), committee.token_a, serde_json::json!({}));
    assert_eq!(s, 200, "{summary}");
    assert_eq!(summary["totals"]["counted_area_centi_m2"], 100_000, "{summary}");
    assert_eq!(summary["totals"]["headcount"], 9);
    assert_eq!(summary["totals"]["all_units"], 9);
    let second = open_meeting(&t, community, &committee, "合并后").await;
    let (area, heads, numbers_after) = roll(&t, &second, &committee.token_a).await;
    assert_eq!((area, heads), (100_000, 9));
    assert!(!numbers_after.contains(&"0110".to_owned()), "{numbers_after:?}");
    let second_voters = voters(&t, &second).await;
    assert!(second_voters.contains(&keeper) && !second_voters.contains(&seller), "{second_voters:?}");

    // The other direction: the unit listed again is reinstated (no flag needed) and counts again.
    let report = import(&t, &register_csv(&as_refs(&before_merge)), false).await.unwrap();
    assert_eq!(report.reinstated_units, ["B1-0110"]);
    assert!(report.retired_units.is_empty());
    let (_, _, summary) = call!(app, get, format!("/v1/communities/{community}/register/summary"), committee.token_a, serde_json::json!({}));
    assert_eq!((summary["totals"]["counted_area_centi_m2"].as_i64(), summary["totals"]["headcount"].as_i64()), (Some(110_000), Some(10)));
    let third = open_meeting(&t, community, &committee, "恢复后").await;
    assert_eq!(roll(&t, &third, &committee.token_a).await.0, 110_000);
    assert!(voters(&t, &third).await.contains(&seller));
}

/// (exclusive, source, register, surveyed, contract, registry, registry source) of a unit.
type AreaRow = (i64, String, Option<i64>, Option<i64>, Option<i64>, Option<i64>, Option<String>);

async fn areas(t: &TestApp, community: Uuid, number: &str) -> (Uuid, AreaRow) {
    let (id, exclusive, source, register, surveyed, contract, registry, registry_source) = units::table
        .filter(units::community_id.eq(community))
        .filter(units::number.eq(number))
        .select((
            units::id,
            units::exclusive_area_centi_m2,
            units::area_source,
            units::register_area_centi_m2,
            units::surveyed_area_centi_m2,
            units::contract_area_centi_m2,
            units::registry_area_centi_m2,
            units::registry_area_source,
        ))
        .first::<(Uuid, i64, String, Option<i64>, Option<i64>, Option<i64>, Option<i64>, Option<String>)>(&mut t.conn().await)
        .await
        .unwrap();
    (id, (exclusive, source, register, surveyed, contract, registry, registry_source))
}

async fn registry_answer(t: &TestApp, unit: Uuid, centi: i64, source: Option<&str>) {
    let mut conn = t.conn().await;
    conn.transaction(async |conn| {
        linli_server::enrollment::store::record_registry_answer(conn, unit, Some(centi), source, "registry", serde_json::json!({})).await
    })
    .await
    .unwrap();
}

#[actix_web::test]
async fn a_re_import_never_lowers_a_registry_confirmed_area_and_reports_the_conflict() {
    let t = TestApp::new().await;
    let file = register_csv(&[("0101", "90.00", "contract"), ("0102", "88.00", "register"), ("0103", "70.00", "contract")]);
    let community = import(&t, &file, false).await.unwrap().community_id;
    let (u1, row) = areas(&t, community, "0101").await;
    assert_eq!(row, (9000, "contract".into(), None, None, Some(9000), None, None));

    // The registry confirms 89.35 m² as the register's area: the unit counts with it.
    registry_answer(&t, u1, 8935, Some("register")).await;
    assert_eq!(areas(&t, community, "0101").await.1, (8935, "register".into(), None, None, Some(9000), Some(8935), Some("register".into())));
    // The registry's own source is stored as given: a surveyed answer does not beat the file's register area …
    let (u2, _) = areas(&t, community, "0102").await;
    registry_answer(&t, u2, 8810, Some("surveyed")).await;
    assert_eq!(areas(&t, community, "0102").await.1, (8800, "register".into(), Some(8800), None, None, Some(8810), Some("surveyed".into())));
    // … and an answer without a source counts as the register's.
    let (u3, _) = areas(&t, community, "0103").await;
    registry_answer(&t, u3, 7050, None).await;
    assert_eq!(areas(&t, community, "0103").await.1, (7050, "register".into(), None, None, Some(7000), Some(7050), None));

    // The same file again: the registry's 89.35 stays, the file's 90.00 stays the contract area, conflicts reported.
    let report = import(&t, &file, false).await.unwrap();
    assert_eq!(report.changed_rows, 0, "{report:?}");
    let conflicts: Vec<(&str, AreaSource, i64, AreaSource, i64, bool)> = report
        .area_conflicts
        .iter()
        .map(|c| {
            let k = &c.conflict;
            (c.unit.as_str(), k.file_source, k.file_area.get(), k.counted.source, k.counted.area.get(), k.counted.by_registry)
        })
        .collect();
    assert_eq!(
        conflicts,
        [
            ("B1-0101", AreaSource::Contract, 9000, AreaSource::Register, 8935, true),
            ("B1-0103", AreaSource::Contract, 7000, AreaSource::Register, 7050, true),
        ]
    );
    assert_eq!(areas(&t, community, "0101").await.1, (8935, "register".into(), None, None, Some(9000), Some(8935), Some("register".into())));

    // A changed contract area in the file is stored as the contract area, still not counted.
    let changed = register_csv(&[("0101", "91.00", "contract"), ("0102", "88.00", "register"), ("0103", "70.00", "contract")]);
    let report = import(&t, &changed, false).await.unwrap();
    assert_eq!(report.changed_rows, 1);
    assert_eq!(areas(&t, community, "0101").await.1, (8935, "register".into(), None, None, Some(9100), Some(8935), Some("register".into())));
    // The file's surveyed area raises nothing above the registry's register area but is kept too.
    let surveyed = register_csv(&[("0101", "89.50", "surveyed"), ("0102", "88.00", "register"), ("0103", "70.00", "contract")]);
    import(&t, &surveyed, false).await.unwrap();
    assert_eq!(areas(&t, community, "0101").await.1, (8935, "register".into(), None, Some(8950), Some(9100), Some(8935), Some("register".into())));
}

/// The migration reads the registry corrections of the audit log: a registry area that a later import had turned
/// back into the file's contract area counts again; other units keep their area in the slot of their source.
#[actix_web::test]
async fn the_migration_restores_registry_areas_an_import_had_overwritten() {
    use diesel_async::SimpleAsyncConnection;
    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/2026-12-03-000401_unit_area_sources");
    let t = TestApp::new().await;
    let file = register_csv(&[("0101", "90.00", "contract"), ("0102", "88.00", "register"), ("0103", "70.00", "surveyed")]);
    let community = import(&t, &file, false).await.unwrap().community_id;
    let (u1, _) = areas(&t, community, "0101").await;
    let mut conn = t.conn().await;
    conn.batch_execute(&std::fs::read_to_string(format!("{DIR}/down.sql")).unwrap()).await.unwrap();
    // Before this migration: the registry corrected 0101 to 89.35 (audited), then a re-import wrote 90.00 back.
    linli_server::audit::append(
        &mut conn,
        "registry",
        "unit.area.corrected",
        &format!("unit:{u1}"),
        serde_json::json!({ "from_centi_m2": 9000, "to_centi_m2": 8935 }),
    )
    .await
    .unwrap();
    conn.batch_execute(&format!(
        "UPDATE units SET exclusive_area_centi_m2 = 9000, area_source = 'contract' WHERE id = '{u1}'"
    ))
    .await
    .unwrap();
    conn.batch_execute(&std::fs::read_to_string(format!("{DIR}/up.sql")).unwrap()).await.unwrap();
    drop(conn);
    assert_eq!(areas(&t, community, "0101").await.1, (8935, "register".into(), None, None, Some(9000), Some(8935), None));
    assert_eq!(areas(&t, community, "0102").await.1, (8800, "register".into(), Some(8800), None, None, None, None));
    assert_eq!(areas(&t, community, "0103").await.1, (7000, "surveyed".into(), None, Some(7000), None, None, None));
    // And the next import of the same file keeps it.
    let report = import(&t, &file, false).await.unwrap();
    assert_eq!((report.changed_rows, report.area_conflicts.len()), (0, 1), "{report:?}");
}
