//! `linli import-register`, run as the real binary: all or nothing, idempotent, and no personal data in its log.

use std::process::{Command, Output};

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use linli_server::testing::{TestDb, redis_url};

use crate::common::demo_register;

fn linli(db: &TestDb, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_linli"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LINLI_DATABASE__URL", db.url())
        .env("LINLI_REDIS__URL", redis_url())
        .env("LINLI_PII__ACTIVE_KEY_ID", "test1")
        .env("LINLI_PII__ENCRYPTION_KEY", "0f".repeat(32))
        .env("LINLI_PII__BLIND_INDEX_KEY", "1e".repeat(32))
        .env("LINLI_LOG__FORMAT", "json")
        // Everything we log, at the most verbose level, is searched below.
        .env("RUST_LOG", "trace")
        .output()
        .unwrap()
}

#[derive(diesel::QueryableByName)]
struct Digest {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    digest: Option<String>,
}

/// A digest of every row of every register table (including timestamps), to prove "nothing changed".
async fn snapshot(url: &str) -> Vec<Option<String>> {
    let mut conn = AsyncPgConnection::establish(url).await.unwrap();
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

fn id_numbers_in(path: &std::path::Path) -> Vec<String> {
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let mut ids: Vec<String> = rdr
        .records()
        .map(|r| r.unwrap())
        .filter(|r| &r[0] == "owner")
        .flat_map(|r| [r[10].to_owned(), r[11].to_owned()])
        .filter(|s| !s.is_empty())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

#[tokio::test]
async fn demo_import_is_idempotent_and_logs_no_personal_data() {
    let db = TestDb::new().await.unwrap();
    let file = demo_register();
    let out = linli(&db, &["import-register", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["units"], 1200);
    assert_eq!(report["buildings"], 12);
    assert!(report["changed_rows"].as_u64().unwrap() > 2400);

    // No ID number or phone number in anything the command printed or logged.
    let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(printed.contains("register imported"), "the log was captured: {printed}");
    let secrets = id_numbers_in(&file);
    assert!(secrets.len() > 1000);
    for s in &secrets {
        assert!(!printed.contains(s.as_str()), "personal data in the log");
    }
    // Nor in clear in the database.
    let mut conn = AsyncPgConnection::establish(db.url()).await.unwrap();
    let dump: Digest = diesel::sql_query(
        "SELECT string_agg(name_enc || id_number_enc || coalesce(phone_enc, ''), '|') AS digest FROM persons",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    let dump = dump.digest.unwrap();
    for s in secrets.iter().take(200) {
        assert!(!dump.contains(s.as_str()));
    }

    // The same file again changes nothing at all.
    let before = snapshot(db.url()).await;
    let out = linli(&db, &["import-register", file.to_str().unwrap()]);
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["changed_rows"], 0);
    assert_eq!(snapshot(db.url()).await, before);
}

fn write_variant(dir: &tempfile::TempDir, name: &str, edit: impl Fn(&mut Vec<String>)) -> std::path::PathBuf {
    let text = std::fs::read_to_string(demo_register()).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    edit(&mut lines);
    let path = dir.path().join(name);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

#[tokio::test]
async fn a_bad_row_imports_nothing_and_names_its_line() {
    let db = TestDb::new().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Line numbers are 1-based with the header as line 1: index 99 is line 100, a unit line.
    let bad = write_variant(&dir, "zero-area.csv", |lines| {
        let fields: Vec<&str> = lines[99].split(',').collect();
        assert_eq!(fields[0], "unit");
        let mut fields: Vec<String> = fields.into_iter().map(str::to_owned).collect();
        fields[6] = "0.00".to_owned();
        lines[99] = fields.join(",");
    });
    let before = snapshot(db.url()).await;
    let out = linli(&db, &["import-register", bad.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("line 100: exclusive_area_m2: area must be greater than zero"), "{stderr}");
    assert_eq!(snapshot(db.url()).await, before, "nothing imported");
}

#[tokio::test]
async fn a_duplicate_unit_imports_nothing_even_over_an_existing_register() {
    let db = TestDb::new().await.unwrap();
    let good = demo_register();
    assert!(linli(&db, &["import-register", good.to_str().unwrap()]).status.success());
    let dir = tempfile::tempdir().unwrap();
    let dup = write_variant(&dir, "dup.csv", |lines| {
        // Duplicate the first unit line and change an area elsewhere: neither may land.
        let first_unit = lines.iter().position(|l| l.starts_with("unit,")).unwrap();
        let copy = lines[first_unit].clone();
        lines.insert(first_unit + 1, copy);
        let other = first_unit + 5;
        let mut fields: Vec<String> = lines[other].split(',').map(str::to_owned).collect();
        fields[6] = "99.99".to_owned();
        fields[8] = "120.00".to_owned();
        lines[other] = fields.join(",");
    });
    let before = snapshot(db.url()).await;
    let out = linli(&db, &["import-register", dup.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("line 16: unit B01-0101 is declared twice (first on line 15)"), "{stderr}");
    assert_eq!(snapshot(db.url()).await, before);
}

#[tokio::test]
async fn a_changed_register_updates_only_what_changed() {
    let db = TestDb::new().await.unwrap();
    let good = demo_register();
    assert!(linli(&db, &["import-register", good.to_str().unwrap()]).status.success());
    let dir = tempfile::tempdir().unwrap();
    let changed = write_variant(&dir, "changed.csv", |lines| {
        let i = lines.iter().position(|l| l.starts_with("unit,")).unwrap();
        let mut fields: Vec<String> = lines[i].split(',').map(str::to_owned).collect();
        fields[6] = "45.01".to_owned();
        lines[i] = fields.join(",");
    });
    let out = linli(&db, &["import-register", changed.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["changed_rows"], 1);
}

#[tokio::test]
async fn a_file_leaving_out_units_is_refused_with_their_list_unless_removals_are_allowed() {
    let db = TestDb::new().await.unwrap();
    let good = demo_register();
    assert!(linli(&db, &["import-register", good.to_str().unwrap()]).status.success());
    let dir = tempfile::tempdir().unwrap();
    // B01-0101 and B01-0102 merged into B01-0101: the unit line of 0102 and its owner lines are gone.
    let merged = write_variant(&dir, "merged.csv", |lines| {
        lines.retain(|l| !l.starts_with("unit,SH-PD-0001,B01,0102,") && !l.starts_with("owner,SH-PD-0001,B01,0102,"));
        let i = lines.iter().position(|l| l.starts_with("unit,SH-PD-0001,B01,0101,")).unwrap();
        let mut fields: Vec<String> = lines[i].split(',').map(str::to_owned).collect();
        fields[6] = "246.35".to_owned();
        fields[8] = "297.77".to_owned();
        lines[i] = fields.join(",");
    });
    let before = snapshot(db.url()).await;
    let out = linli(&db, &["import-register", merged.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("unit B01-0102 is in the register but not in the file"), "{stderr}");
    assert!(stderr.contains("1 unit(s) missing from the file; nothing was imported"), "{stderr}");
    assert_eq!(snapshot(db.url()).await, before, "nothing imported");

    let out = linli(&db, &["import-register", merged.to_str().unwrap(), "--allow-removals"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["units"], 1199);
    assert_eq!(report["retired_units"], serde_json::json!(["B01-0102"]));
    assert_eq!(report["reinstated_units"], serde_json::json!([]));
    assert_eq!(report["area_conflicts"], serde_json::json!([]));
    // The merged unit's area and the retirement: two rows.
    assert_eq!(report["changed_rows"], 2);

    // Listed again, the unit is reinstated without the flag.
    let out = linli(&db, &["import-register", good.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["reinstated_units"], serde_json::json!(["B01-0102"]));
}

#[tokio::test]
async fn the_report_lists_area_lines_a_better_source_disagrees_with() {
    let db = TestDb::new().await.unwrap();
    let good = demo_register();
    assert!(linli(&db, &["import-register", good.to_str().unwrap()]).status.success());
    let dir = tempfile::tempdir().unwrap();
    // The file now calls B01-0101's area a contract area of 140.00 m²: its register area 138.34 stays counted.
    let lowered = write_variant(&dir, "lowered.csv", |lines| {
        let i = lines.iter().position(|l| l.starts_with("unit,SH-PD-0001,B01,0101,")).unwrap();
        let mut fields: Vec<String> = lines[i].split(',').map(str::to_owned).collect();
        fields[6] = "140.00".to_owned();
        fields[7] = "contract".to_owned();
        lines[i] = fields.join(",");
    });
    let out = linli(&db, &["import-register", lowered.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["area_conflicts"],
        serde_json::json!([{
            "unit": "B01-0101",
            "file": { "area_source": "contract", "area_m2": "140.00" },
            "counted": { "area_source": "register", "area_m2": "138.34", "confirmed_by_registry": false },
        }])
    );
    // The contract area is stored (one row changed), the counted area is not.
    assert_eq!(report["changed_rows"], 1);
    let mut conn = AsyncPgConnection::establish(db.url()).await.unwrap();
    let d: Digest = diesel::sql_query(
        "SELECT exclusive_area_centi_m2 || ' ' || area_source || ' ' || contract_area_centi_m2 AS digest FROM units u \
         JOIN buildings b ON b.id = u.building_id WHERE b.code = 'B01' AND u.number = '0101'",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    assert_eq!(d.digest.as_deref(), Some("13834 register 14000"));
}

#[derive(diesel::QueryableByName)]
struct PersonKind {
    #[diesel(sql_type = diesel::sql_types::Text)]
    kind: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    id_type: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// A register with owners the register could not hold before (issue 24 item 8): an organisation other than the
/// developer, a passport holder co-owning with a resident, a Hong Kong permit holder, and two developers. It
/// imports whole, the headcount rules hold for them, no document number reaches the log or the database in
/// clear, and importing it again changes nothing.
#[tokio::test]
async fn organisations_foreign_documents_and_two_developers_import_and_count() {
    let db = TestDb::new().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("owner-kinds.csv");
    let units: String = (1..=7)
        .map(|n| format!("unit,OK-001,B1,010{n},,residence,{n}0.00,register,{n}5.00,,,,,\n"))
        .collect();
    std::fs::write(
        &path,
        format!(
            "record,community,building,unit,name,kind,exclusive_area_m2,area_source,building_area_m2,owner_type,id_number,phone,holding,id_type\n\
             community,OK-001,,,多种业主小区,,,,,,,,,\n\
             building,OK-001,B1,,1号楼,,,,,,,,,\n\
             {units}\
             owner,OK-001,B1,0101,某贸易有限公司,,,,,organisation,91330100799655058B,,,\n\
             owner,OK-001,B1,0102,某贸易有限公司,,,,,organisation,91330100799655058B,,,\n\
             owner,OK-001,B1,0103,John Smith,,,,,person,E1234567,,,passport:GBR\n\
             owner,OK-001,B1,0103,张三,,,,,person,11010519491231002X,,,\n\
             owner,OK-001,B1,0104,陈大文,,,,,person,H12345678,,,hk_macao_permit\n\
             owner,OK-001,B1,0105,某置业,,,,,developer,9144030071526726XG,,unsold,\n\
             owner,OK-001,B1,0106,某置业,,,,,developer,9144030071526726XG,,undelivered,\n\
             owner,OK-001,B1,0107,另一置业,,,,,developer,91310000MA1FL1234Q,,unsold,\n"
        ),
    )
    .unwrap();
    let out = linli(&db, &["import-register", path.to_str().unwrap()]);
    let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{printed}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((report["units"].as_u64(), report["owners"].as_u64(), report["persons"].as_u64()), (Some(7), Some(8), Some(6)));
    for secret in ["E1234567", "H12345678", "11010519491231002X"] {
        assert!(!printed.contains(secret), "a document number in the output");
    }

    let mut conn = AsyncPgConnection::establish(db.url()).await.unwrap();
    let kinds: Vec<PersonKind> =
        diesel::sql_query("SELECT kind, id_type, count(*) AS n FROM persons GROUP BY kind, id_type ORDER BY kind, id_type")
            .load(&mut conn)
            .await
            .unwrap();
    let kinds: Vec<(String, String, i64)> = kinds.into_iter().map(|k| (k.kind, k.id_type, k.n)).collect();
    let row = |k: &str, t: &str, n: i64| (k.to_owned(), t.to_owned(), n);
    assert_eq!(
        kinds,
        [
            row("developer", "credit_code", 2),
            row("natural", "hk_macao_permit", 1),
            row("natural", "passport", 1),
            row("natural", "resident_id", 1),
            row("organisation", "credit_code", 1),
        ]
    );
    let dump: Digest = diesel::sql_query("SELECT string_agg(name_enc || id_number_enc, '|') AS digest FROM persons")
        .get_result(&mut conn)
        .await
        .unwrap();
    let dump = dump.digest.unwrap();
    assert!(!dump.contains("E1234567") && !dump.contains("John Smith"), "encrypted like ID numbers");

    // The headcount: {organisation} with 0101+0102, {passport holder, resident} for 0103, {permit holder} for
    // 0104, the first developer's 0105+0106, the second developer's 0107: five persons.
    let community: uuid::Uuid = report["community_id"].as_str().unwrap().parse().unwrap();
    let holdings = linli_server::community::store::holdings(&mut conn, community).await.unwrap();
    let totals = linli_server::community::headcount::totals(
        &linli_server::community::store::as_holdings(&holdings),
        linli_server::community::headcount::CountingRules::default(),
    );
    assert_eq!(totals.headcount, 5);
    assert_eq!((totals.developer_units, totals.developer_area_centi_m2), (3, 18000));
    assert_eq!((totals.co_owned_units, totals.multi_unit_buyers), (1, 1));
    assert_eq!(totals.counted_area_centi_m2, 28000);

    let before = snapshot(db.url()).await;
    let again = linli(&db, &["import-register", path.to_str().unwrap()]);
    assert!(again.status.success());
    let report: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(report["changed_rows"], 0);
    assert_eq!(snapshot(db.url()).await, before);
}
