//! The `linli-sandbox` binary as the quickstart runs it: a child process on free ports.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn binary_starts_and_serves_control_endpoints() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let dir = tempfile::tempdir().unwrap();
    let register = dir.path().join("register.csv");
    std::fs::write(
        &register,
        "record,community,building,unit,name,kind,exclusive_area_m2,area_source,building_area_m2,owner_type,id_number,phone,holding\n\
         community,T-0001,,,测试小区,,,,,,,,\n\
         building,T-0001,B01,,1号楼,,,,,,,,\n\
         unit,T-0001,B01,0101,,residence,89.35,register,102.50,,,,\n\
         owner,T-0001,B01,0101,张三,,,,,person,11010519491231002X,,\n",
    )
    .unwrap();
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_linli-sandbox"))
            .args(["--listen", "127.0.0.1:0", "--tls-listen", "127.0.0.1:0", "--fixtures"])
            .arg(&fixtures)
            .arg("--register")
            .arg(&register)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap()).read_line(&mut line).unwrap();
    // "linli-sandbox listening on http://127.0.0.1:PORT and https://127.0.0.1:PORT (registry, mutual TLS)"
    let base = line.split_whitespace().find(|w| w.starts_with("http://")).unwrap().to_owned();
    assert!(line.contains("https://127.0.0.1:"), "{line}");

    let http = reqwest::Client::builder().build().unwrap();
    let health: serde_json::Value = http.get(format!("{base}/sandbox/health")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    // The committed face index lists 20 persons.
    let persons: serde_json::Value = http.get(format!("{base}/sandbox/persons")).send().await.unwrap().json().await.unwrap();
    assert_eq!(persons["persons"].as_array().unwrap().len(), 20);
    let code: serde_json::Value = http
        .post(format!("{base}/sandbox/wechat/login-code"))
        .json(&serde_json::json!({"openid": "o-1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(code["code"].as_str().unwrap().len(), 32);
    drop(child);
}
