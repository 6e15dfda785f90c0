//! Verifiable logs against a real PostgreSQL: appends, checkpoints, proofs served by the routes and checked with
//! RFC 9162's verification algorithms, the signed note checked with the published key, the anchor queued, the
//! audit rows followed, and refusals (beyond the tree, foreign callers, rewriting rows).

use actix_web::test;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use linli_server::logs::{LogName, store, tree};
use linli_server::schema::{chain_outbox, log_entries};
use uuid::Uuid;

use crate::common::{TestApp, json_of};
use crate::service;

const OWNER: &str = "330106197601165874";

fn get(uri: &str, token: &str) -> actix_web::test::TestRequest {
    test::TestRequest::get().uri(uri).insert_header(("authorization", format!("Bearer {token}")))
}

fn org_get(org: &(String, linli_identity::org_app::AppSecret), path: &str) -> test::TestRequest {
    let nonce = Uuid::new_v4().simple().to_string();
    let auth = linli_identity::org_app::authorization_header(&org.0, &org.1, "GET", path, chrono::Utc::now().timestamp_millis(), &nonce, b"");
    test::TestRequest::get().uri(path).insert_header(("authorization", auth))
}

fn hashes(v: &serde_json::Value) -> Vec<tree::Hash> {
    v["hashes"].as_array().unwrap().iter().map(|h| B64.decode(h.as_str().unwrap()).unwrap().try_into().unwrap()).collect()
}

/// (size, root) of a signed note, after checking its signature with the verifier key the API publishes.
fn open_checkpoint(note: &str, vkey: &str, origin: &str) -> (u64, tree::Hash) {
    let parts: Vec<&str> = vkey.trim().splitn(3, '+').collect();
    let data = B64.decode(parts[2]).unwrap();
    let (text, sig) = note.split_once("\n\n").unwrap();
    let text = format!("{text}\n");
    let blob = B64.decode(sig.strip_prefix(&format!("\u{2014} {} ", parts[0])).unwrap().trim_end()).unwrap();
    assert_eq!(hex::encode(&blob[..4]), parts[1]);
    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &data[1..]).verify(text.as_bytes(), &blob[4..]).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], origin);
    (lines[1].parse().unwrap(), B64.decode(lines[2]).unwrap().try_into().unwrap())
}

#[actix_web::test]
async fn entries_checkpoints_and_proofs_verify_and_refusals_change_nothing() {
    let t = TestApp::new().await;
    let community = t.import_demo().await;
    let signer = t.state.log_signer.clone().unwrap();
    let mut conn = t.conn().await;
    let (owner, token) = t.account().await;
    t.link_person(owner, community, OWNER).await;
    let (_, stranger) = t.account().await;
    let app = service!(t);
    let base = format!("/v1/communities/{community}/logs/disclosure");

    // Nothing yet: no checkpoint.
    let (s, _, p) = json_of(test::call_service(&app, get(&format!("{base}/checkpoint"), &token).to_request()).await).await;
    assert_eq!((s, p["code"].as_str()), (404, Some("log_no_checkpoint")));

    let entries: Vec<serde_json::Value> = (0..5).map(|i| serde_json::json!({"kind": "item", "n": i, "title": format!("公示{i}")})).collect();
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(store::append(&mut conn, community, LogName::Disclosure, e).await.unwrap(), i as u64);
    }
    let first = store::cut_checkpoint(&mut conn, &signer, community, LogName::Disclosure).await.unwrap().unwrap();
    assert_eq!(first.size, 5);
    assert!(store::cut_checkpoint(&mut conn, &signer, community, LogName::Disclosure).await.unwrap().is_none(), "nothing new");
    for i in 5..13 {
        store::append(&mut conn, community, LogName::Disclosure, &serde_json::json!({"n": i})).await.unwrap();
    }
    let cut = store::checkpoint_due(&mut conn, &signer).await.unwrap();
    assert!(cut >= 1, "the disclosure log (and the audit log of the import) are cut");

    let vkey = String::from_utf8(test::read_body(test::call_service(&app, get(&format!("{base}/key"), &token).to_request()).await).await.to_vec()).unwrap();
    assert_eq!(vkey.trim(), signer.verifier_key());
    let resp = test::call_service(&app, get(&format!("{base}/checkpoint"), &token).to_request()).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("content-type").unwrap().to_str().unwrap().starts_with("text/plain"));
    let note = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    let (size, root) = open_checkpoint(&note, &vkey, &format!("linli/{community}/disclosure"));
    assert_eq!(size, 13);

    // Every entry: its bytes are what was appended, and its inclusion proof verifies against the checkpoint and
    // against the older one.
    for index in 0..size {
        let (s, _, e) = json_of(test::call_service(&app, get(&format!("{base}/entries/{index}"), &token).to_request()).await).await;
        assert_eq!(s, 200);
        let bytes = B64.decode(e["entry"].as_str().unwrap()).unwrap();
        if index < 5 {
            assert_eq!(e["decoded"], entries[index as usize]);
        }
        let leaf = tree::leaf_hash(&bytes);
        let uri = format!("{base}/proof/inclusion?index={index}&tree_size={size}");
        let (s, _, p) = json_of(test::call_service(&app, get(&uri, &token).to_request()).await).await;
        assert_eq!((s, p["leaf_index"].as_u64(), p["tree_size"].as_u64()), (200, Some(index), Some(size)));
        assert!(tree::verify_inclusion(index, size, &leaf, &hashes(&p), &root), "entry {index}");
        if index < 5 {
            let uri = format!("{base}/proof/inclusion?index={index}&tree_size=5");
            let (_, _, p) = json_of(test::call_service(&app, get(&uri, &token).to_request()).await).await;
            assert!(tree::verify_inclusion(index, 5, &leaf, &hashes(&p), &first.root));
        }
    }
    let uri = format!("{base}/proof/consistency?first=5&second={size}");
    let (s, _, p) = json_of(test::call_service(&app, get(&uri, &token).to_request()).await).await;
    assert_eq!(s, 200);
    assert!(tree::verify_consistency(5, size, &first.root, &root, &hashes(&p)));

    // Each checkpoint queued its anchor: anchorBatch(disclosure, 1, 5) then (6, 13), with the roots.
    let calls: Vec<Vec<u8>> = chain_outbox::table
        .filter(chain_outbox::kind.eq("anchor_batch"))
        .filter(chain_outbox::signer.eq("anchor"))
        .order(chain_outbox::id)
        .select(chain_outbox::call_data)
        .load(&mut conn)
        .await
        .unwrap();
    use alloy_sol_types::SolCall;
    let decoded: Vec<_> = calls
        .iter()
        .map(|c| linli_ledger_client::governance::LinliGovernance::anchorBatchCall::abi_decode(c).unwrap())
        .filter(|c| c.stream == "disclosure")
        .map(|c| (c.firstSeq, c.lastSeq, <[u8; 32]>::from(c.root)))
        .collect();
    assert_eq!(decoded, vec![(1, 5, first.root), (6, 13, root)]);

    // Refusals: beyond the tree, index not below tree_size, bad query, unknown log, non-owners.
    for uri in [
        format!("{base}/proof/inclusion?index=0&tree_size=14"),
        format!("{base}/proof/inclusion?index=13&tree_size=13"),
        format!("{base}/proof/consistency?first=6&second=14"),
        format!("{base}/proof/consistency?first=0&second=5"),
        format!("{base}/proof/consistency?first=6&second=5"),
    ] {
        let (s, _, p) = json_of(test::call_service(&app, get(&uri, &token).to_request()).await).await;
        assert_eq!((s, p["code"].as_str()), (422, Some("log_range_invalid")), "{uri}");
    }
    let (s, _, _) = json_of(test::call_service(&app, get(&format!("{base}/proof/inclusion?index=x&tree_size=1"), &token).to_request()).await).await;
    assert_eq!(s, 400);
    let (s, _, _) = json_of(test::call_service(&app, get(&format!("{base}/entries/13"), &token).to_request()).await).await;
    assert_eq!(s, 404);
    let (s, _, _) = json_of(test::call_service(&app, get(&format!("/v1/communities/{community}/logs/secret/checkpoint"), &token).to_request()).await).await;
    assert_eq!(s, 404);
    for (uri, tok) in [(format!("{base}/checkpoint"), &stranger), (format!("/v1/communities/{}/logs/disclosure/checkpoint", Uuid::now_v7()), &token)] {
        let (s, _, _) = json_of(test::call_service(&app, get(&uri, tok).to_request()).await).await;
        assert_eq!(s, 404, "{uri}");
    }
    let (s, _, _) = json_of(test::call_service(&app, test::TestRequest::get().uri(&format!("{base}/checkpoint")).to_request()).await).await;
    assert_eq!(s, 401);

    // The bureau reads; a property app or a bureau of another community does not.
    let org_app = async |role, scope| {
        let mut conn = t.conn().await;
        let (id, secret) = linli_server::auth::org_app::create_app(&mut conn, &t.state.pii, "街道办", role, &[scope]).await.unwrap();
        (id, linli_identity::org_app::AppSecret::from_text(secret.expose()))
    };
    use linli_server::auth::org_app::OrgRole;
    let bureau = org_app(OrgRole::Bureau, community).await;
    let property = org_app(OrgRole::Property, community).await;
    let path = format!("{base}/proof/consistency?first=5&second=13");
    let (s, _, p) = json_of(test::call_service(&app, org_get(&bureau, &path).to_request()).await).await;
    assert_eq!(s, 200);
    assert!(tree::verify_consistency(5, 13, &first.root, &root, &hashes(&p)));
    let (s, _, _) = json_of(test::call_service(&app, org_get(&property, &path).to_request()).await).await;
    assert_eq!(s, 404);

    // Entries are never rewritten, not even by SQL.
    let err = diesel::update(log_entries::table.filter(log_entries::community_id.eq(community)))
        .set(log_entries::entry.eq(b"forged".to_vec()))
        .execute(&mut conn)
        .await;
    assert!(err.is_err());
    let err = diesel::delete(log_entries::table.filter(log_entries::community_id.eq(community))).execute(&mut conn).await;
    assert!(err.is_err());
    assert_eq!(store::size(&mut conn, community, LogName::Disclosure).await.unwrap(), 13);
}

#[actix_web::test]
async fn concurrent_appends_get_distinct_indices_and_the_root_of_all_of_them() {
    let t = TestApp::new().await;
    let community = t.import_demo().await;
    let tasks: Vec<_> = (0..16u32)
        .map(|i| {
            let pool = t.state.db.clone();
            tokio::spawn(async move {
                let mut conn = pool.get().await.unwrap();
                use diesel_async::AsyncConnection;
                conn.transaction(async |c| store::append(c, community, LogName::Funds, &serde_json::json!({"i": i})).await)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut got = Vec::new();
    for task in tasks {
        got.push(task.await.unwrap());
    }
    got.sort();
    assert_eq!(got, (0..16).collect::<Vec<u64>>());
    let mut conn = t.conn().await;
    let stored: Vec<Vec<u8>> = log_entries::table
        .filter(log_entries::community_id.eq(community))
        .filter(log_entries::log.eq("funds"))
        .order(log_entries::idx)
        .select(log_entries::entry)
        .load(&mut conn)
        .await
        .unwrap();
    let leaves: Vec<tree::Hash> = stored.iter().map(|e| tree::leaf_hash(e)).collect();
    let expected = tree::root(16, &tree::all_nodes(&leaves)).unwrap();
    assert_eq!(store::root_at(&mut conn, community, LogName::Funds, 16).await.unwrap(), expected);
    for size in 1..=16 {
        let want = tree::root(size, &tree::all_nodes(&leaves[..size as usize])).unwrap();
        assert_eq!(store::root_at(&mut conn, community, LogName::Funds, size).await.unwrap(), want, "size {size}");
    }
}

#[actix_web::test]
async fn the_audit_log_follows_the_audit_rows_of_the_community() {
    let t = TestApp::new().await;
    let community = t.import_demo().await;
    let (a, _) = t.account().await;
    let mut conn = t.conn().await;
    use diesel_async::AsyncConnection;
    conn.transaction(async |c| {
        linli_server::audit::append(c, "test", "role.grant", &format!("account:{a}"), serde_json::json!({"community": community})).await?;
        linli_server::audit::append(c, "test", "org_app.create", "org_app:x", serde_json::json!({})).await
    })
    .await
    .unwrap();
    let signer = t.state.log_signer.clone().unwrap();
    store::checkpoint_due(&mut conn, &signer).await.unwrap();
    let audit_rows: i64 = linli_server::schema::audit_log::table.count().get_result(&mut conn).await.unwrap();
    let size = store::size(&mut conn, community, LogName::Audit).await.unwrap();
    // The import's row and the grant; not the platform-level app creation.
    assert!(size >= 2 && (size as i64) < audit_rows, "{size} of {audit_rows}");
    let last = store::entry(&mut conn, community, LogName::Audit, size - 1).await.unwrap().unwrap();
    let last: serde_json::Value = serde_json::from_slice(&last).unwrap();
    assert_eq!(last["action"], "role.grant");
    // Following again copies nothing twice.
    store::checkpoint_due(&mut conn, &signer).await.unwrap();
    assert_eq!(store::size(&mut conn, community, LogName::Audit).await.unwrap(), size);
    assert_eq!(store::latest_checkpoint(&mut conn, community, LogName::Audit).await.unwrap().unwrap().size, size);
}
