//! Verifiable logs end to end: the real server cuts and anchors checkpoints on a real `bcos-devnode`, an owner
//! downloads a checkpoint, an entry and its proofs, and `linli-verify` (which shares no code with the server)
//! agrees with them and with the chain; a changed entry or an unanchored root is refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use linli_tests::meeting::{enroll_voters, wait_for};
use linli_tests::world::World;
use serde_json::Value;

fn verify(dir: &Path, args: &[String]) -> (i32, String) {
    let out = std::process::Command::new(linli_tests::binary("linli-verify").unwrap()).args(args).current_dir(dir).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

#[tokio::test]
async fn an_owner_checks_the_audit_log_against_the_chain_with_the_verifier() {
    let env = [("LINLI_LOGS__CHECKPOINT_INTERVAL_MS".to_owned(), "200".to_owned())];
    let world = World::start_with_chain_env(&env).await.unwrap();
    let chain = world.chain().unwrap();
    let owner = enroll_voters(&world, "o-logs", 1).await.unwrap().remove(0).owner;
    let base = format!("/v1/communities/{}/logs/audit", world.community_id);
    let dir = tempfile_dir(&world);

    let text = async |path: String| -> String {
        let r = owner.get(&path).await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        r.text().await.unwrap()
    };
    let json = async |path: String| -> Value {
        let r = owner.get(&path).await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        r.json().await.unwrap()
    };
    // The import's audit row is in the community's audit log; wait for a checkpoint and its anchor.
    let key = text(format!("{base}/key")).await;
    std::fs::write(dir.join("key"), &key).unwrap();
    let mut args: Vec<String> = Vec::new();
    let (size, _) = wait_for(Duration::from_secs(30), || async {
        let r = owner.get(&format!("{base}/checkpoint")).await?;
        if r.status() != 200 {
            return Ok(None);
        }
        let note = r.text().await?;
        std::fs::write(dir.join("cp.txt"), &note)?;
        let size: u64 = note.lines().nth(1).unwrap().parse()?;
        Ok(Some((size, note)))
    })
    .await
    .unwrap();
    assert!(size >= 1);
    let index = size - 1;
    std::fs::write(dir.join("entry.json"), json(format!("{base}/entries/{index}")).await.to_string()).unwrap();
    std::fs::write(
        dir.join("proof.json"),
        json(format!("{base}/proof/inclusion?index={index}&tree_size={size}")).await.to_string(),
    )
    .unwrap();
    args.extend(["--key", "@key", "--checkpoint", "cp.txt", "--entry", "entry.json", "--inclusion", "proof.json"].map(String::from));
    args.extend(["--rpc".to_owned(), chain.devnode.url.clone(), "--contract".to_owned(), chain.contract.to_string()]);
    let (code, out) = wait_for(Duration::from_secs(30), || async {
        let (code, out) = verify(&dir, &args);
        Ok((code == 0).then_some((code, out)))
    })
    .await
    .unwrap_or_else(|_| verify(&dir, &args));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ok    anchor") && out.contains("ok    inclusion") && out.contains("ok    checkpoint signature"), "{out}");

    // A changed entry fails the inclusion check; a changed root fails the signature.
    let mut entry: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("entry.json")).unwrap()).unwrap();
    entry["entry"] = Value::String(base64_of(b"{\"forged\":true}"));
    std::fs::write(dir.join("forged.json"), entry.to_string()).unwrap();
    let forged: Vec<String> = args.iter().map(|a| if a == "entry.json" { "forged.json".to_owned() } else { a.clone() }).collect();
    let (code, out) = verify(&dir, &forged);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL  inclusion"), "{out}");
    let note = std::fs::read_to_string(dir.join("cp.txt")).unwrap();
    let mut lines: Vec<String> = note.lines().map(String::from).collect();
    lines[1] = (size + 1).to_string();
    std::fs::write(dir.join("cp2.txt"), lines.join("\n") + "\n").unwrap();
    let changed: Vec<String> = args.iter().map(|a| if a == "cp.txt" { "cp2.txt".to_owned() } else { a.clone() }).collect();
    let (code, out) = verify(&dir, &changed);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL  checkpoint signature"), "{out}");
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn tempfile_dir(world: &World) -> std::path::PathBuf {
    let d = world.dir().join("verify");
    std::fs::create_dir_all(&d).unwrap();
    d
}
