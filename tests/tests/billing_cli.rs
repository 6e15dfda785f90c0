//! `linli bills …` as an operator runs it: the real binary against a fresh database with the demo register.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use linli_server::testing::{TestDb, redis_url};

fn linli(db: &TestDb, args: &[&str]) -> (bool, serde_json::Value, String) {
    let out = Command::new(linli_tests::binary("linli").unwrap())
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LINLI_DATABASE__URL", db.url())
        .env("LINLI_REDIS__URL", redis_url())
        .env("LINLI_PII__ACTIVE_KEY_ID", "test1")
        .env("LINLI_PII__ENCRYPTION_KEY", "0f".repeat(32))
        .env("LINLI_PII__BLIND_INDEX_KEY", "1e".repeat(32))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let json = serde_json::from_str(stdout.trim()).unwrap_or(serde_json::Value::Null);
    (out.status.success(), json, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[tokio::test]
async fn bills_generate_creates_each_bill_once() {
    let db = TestDb::new().await.unwrap();
    linli_tests::world::import_demo(&db).await.unwrap();
    let set = |code: &'static str, method: &'static str, rate: &'static str, kind: &'static str| {
        vec!["bills", "set-item", "--community", "SH-PD-0001", "--code", code, "--name", code, "--method", method,
             "--rate-fen", rate, "--unit-kind", kind]
    };
    let (ok, _, err) = linli(&db, &set("property", "per_area", "250", "residence"));
    assert!(ok, "{err}");
    let mut parking = set("parking", "fixed", "15000", "parking");
    parking.push("--public-income");
    let (ok, _, err) = linli(&db, &parking);
    assert!(ok, "{err}");

    let generate = ["bills", "generate", "--community", "SH-PD-0001", "--period", "2026-12"];
    // 1,056 residences and 144 parking spaces in fixtures/demo-register.csv.
    let (ok, first, err) = linli(&db, &generate);
    assert!(ok, "{err}");
    assert_eq!(first, serde_json::json!({ "created": 1200, "already_present": 0 }));
    let (ok, second, _) = linli(&db, &generate);
    assert!(ok);
    assert_eq!(second, serde_json::json!({ "created": 0, "already_present": 1200 }));

    let (ok, _, err) = linli(&db, &["bills", "generate", "--community", "SH-PD-0001", "--period", "2026-13"]);
    assert!(!ok && err.contains("YYYY-MM"), "{err}");
    let (ok, _, err) = linli(&db, &["bills", "generate", "--community", "NO-SUCH", "--period", "2026-12"]);
    assert!(!ok && err.contains("NO-SUCH"), "{err}");
}
