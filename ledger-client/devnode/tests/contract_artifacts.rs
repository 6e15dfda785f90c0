//! The committed ABI and bytecode must be exactly what solc 0.8.11 produces from the sources.
//! Needs node and npm (`compile.sh` runs `npm ci` when solc is not installed); fails when they are missing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

#[test]
fn committed_artifacts_match_a_fresh_solc_compile() {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../contracts/compile.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg("--check")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "compile.sh --check failed (node and npm are required):\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
