//! Starts the real `bcos-devnode` binary on a free port with a temporary data directory.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

pub struct Devnode {
    child: Child,
    pub url: String,
    pub data_dir: PathBuf,
}

impl Devnode {
    /// Starts the devnode on 127.0.0.1 with a system-chosen port; `args` are extra flags.
    pub fn start(data_dir: &Path, args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bcos-devnode"))
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(data_dir)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn bcos-devnode");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let addr = line.trim().strip_prefix("bcos-devnode listening on ").unwrap_or_else(|| {
            let _ = child.kill();
            panic!("unexpected first line from bcos-devnode: {line:?}")
        });
        Devnode { url: format!("http://{addr}"), child, data_dir: data_dir.to_path_buf() }
    }

    /// SIGKILL (std's `Child::kill` sends SIGKILL on Unix) and reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Devnode {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().unwrap()
}

/// Sends one JSON-RPC request and returns the whole response object.
pub async fn rpc(client: &reqwest::Client, url: &str, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "method": method, "params": params, "id": 1});
    let resp = client.post(url).json(&body).send().await.unwrap();
    assert!(resp.status().is_success(), "HTTP {}", resp.status());
    resp.json().await.unwrap()
}

pub fn result(v: &Value) -> &Value {
    assert!(v.get("error").is_none(), "unexpected error: {v}");
    &v["result"]
}

pub fn error_code(v: &Value) -> i64 {
    v["error"]["code"].as_i64().unwrap_or_else(|| panic!("expected an error, got {v}"))
}

pub fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/fisco").join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

pub fn go_sdk(name: &str) -> Value {
    fixture("go-sdk-tx-vectors.json")["go_sdk_vectors"][name].clone()
}
