//! The disclosure feed against a real PostgreSQL: the committee and the property company publish, owners and the
//! bureau read; a correction is a new item naming the old one, which stays as it was; each item is an entry of
//! the disclosure log whose inclusion proof verifies; refusals change nothing.

use actix_web::test;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use linli_server::auth::Role;
use linli_server::auth::org_app::OrgRole;
use linli_server::logs::{LogName, store, tree};
use serde_json::json;

use crate::common::{TestApp, json_of};
use crate::service;

const OWNER: &str = "330106197601165874";

fn post(uri: &str, token: &str, key: &str, body: &serde_json::Value) -> test::TestRequest {
    test::TestRequest::post()
        .uri(uri)
        .insert_header(("authorization", format!("Bearer {token}")))
        .insert_header(("idempotency-key", key))
        .set_json(body)
}

fn get(uri: &str, token: &str) -> test::TestRequest {
    test::TestRequest::get().uri(uri).insert_header(("authorization", format!("Bearer {token}")))
}

#[actix_web::test]
async fn items_are_published_read_corrected_and_proven() {
    let t = TestApp::new().await;
    let community = t.import_demo().await;
    let (member, committee) = t.account().await;
    t.grant(member, community, Role::Committee).await;
    let (owner, token) = t.account().await;
    t.link_person(owner, community, OWNER).await;
    let app = service!(t);
    let uri = format!("/v1/communities/{community}/disclosures");
    let pdf = b"%PDF-1.7\n% lift maintenance contract\n".to_vec();
    let item = json!({
        "category": "service_contract", "title": "电梯维保合同", "period": "2026",
        "body": "与上海某电梯工程有限公司签订的电梯维护保养合同及全部附件。",
        "attachments": [{"file_name": "电梯维保合同.pdf", "content_base64": B64.encode(&pdf)}]
    });

    // Refused, nothing published: an owner is not the committee; unknown and automatic categories; a correction
    // of nothing; a file that is not PDF/PNG/JPEG.
    let (s, _, _) = json_of(test::call_service(&app, post(&uri, &token, "k0", &item).to_request()).await).await;
    assert_eq!(s, 404);
    for (body, code) in [
        (json!({"category": "gossip", "title": "x", "body": "x"}), "disclosure_category_unknown"),
        (json!({"category": "monthly_statement", "title": "x", "body": "x"}), "disclosure_category_automatic"),
        (json!({"category": "fee_items", "title": "x", "body": "x", "corrects": uuid::Uuid::now_v7()}), "corrected_item_unknown"),
        (json!({"category": "fee_items", "title": "x", "body": "x", "attachments": [{"file_name": "a.html", "content_base64": B64.encode("<html>")}]}), "disclosure_attachment_invalid"),
    ] {
        let (s, _, p) = json_of(test::call_service(&app, post(&uri, &committee, &format!("bad-{code}"), &body).to_request()).await).await;
        assert_eq!((s, p["code"].as_str()), (422, Some(code)), "{p}");
    }
    let mut conn = t.conn().await;
    assert_eq!(store::size(&mut conn, community, LogName::Disclosure).await.unwrap(), 0);

    let (s, _, first) = json_of(test::call_service(&app, post(&uri, &committee, "k1", &item).to_request()).await).await;
    assert_eq!(s, 201, "{first}");
    // The same key again: the same item, not a second one.
    let (s, _, again) = json_of(test::call_service(&app, post(&uri, &committee, "k1", &item).to_request()).await).await;
    assert_eq!((s, &again["id"]), (201, &first["id"]));
    assert_eq!(store::size(&mut conn, community, LogName::Disclosure).await.unwrap(), 1);

    // The property company publishes the fee rates; then corrects them.
    let org = {
        let (id, secret) = linli_server::auth::org_app::create_app(&mut conn, &t.state.pii, "物业", OrgRole::Property, &[community]).await.unwrap();
        (id, linli_identity::org_app::AppSecret::from_text(secret.expose()))
    };
    let org_post = |body: &serde_json::Value, key: &str| {
        let path = format!("/openapi/v1/communities/{community}/disclosures");
        let bytes = serde_json::to_vec(body).unwrap();
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let auth = linli_identity::org_app::authorization_header(&org.0, &org.1, "POST", &path, chrono::Utc::now().timestamp_millis(), &nonce, &bytes);
        test::TestRequest::post().uri(&path).insert_header(("authorization", auth)).insert_header(("idempotency-key", key.to_owned())).insert_header(("content-type", "application/json")).set_payload(bytes)
    };
    let fees = json!({"category": "fee_items", "title": "物业费收费标准", "period": "2026", "body": "住宅 2.50 元/m²·月"});
    let (s, _, old) = json_of(test::call_service(&app, org_post(&fees, "f1").to_request()).await).await;
    assert_eq!(s, 201, "{old}");
    let fix = json!({"category": "fee_items", "title": "物业费收费标准（更正）", "period": "2026", "body": "住宅 2.30 元/m²·月", "corrects": old["id"]});
    let (s, _, new) = json_of(test::call_service(&app, org_post(&fix, "f2").to_request()).await).await;
    assert_eq!((s, &new["corrects"]), (201, &old["id"]), "{new}");

    // The owner's feed: newest first, the old item unchanged and naming its correction.
    let (s, _, list) = json_of(test::call_service(&app, get(&uri, &token).to_request()).await).await;
    assert_eq!(s, 200);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list[0]["id"], new["id"]);
    let old_now = list.iter().find(|i| i["id"] == old["id"]).unwrap();
    assert_eq!(old_now["body"], "住宅 2.50 元/m²·月");
    assert_eq!(old_now["corrected_by"], json!([new["id"]]));
    let (s, _, one) = json_of(test::call_service(&app, get(&format!("{uri}?category=service_contract"), &token).to_request()).await).await;
    assert_eq!((s, one.as_array().unwrap().len()), (200, 1));

    // The attachment as published, and the item's proof against a checkpoint.
    let id = first["id"].as_str().unwrap();
    let resp = test::call_service(&app, get(&format!("{uri}/{id}/attachments/0"), &token).to_request()).await;
    assert_eq!(resp.headers().get("content-type").unwrap(), "application/pdf");
    assert_eq!(test::read_body(resp).await.to_vec(), pdf);
    let signer = t.state.log_signer.clone().unwrap();
    let cp = store::cut_checkpoint(&mut conn, &signer, community, LogName::Disclosure).await.unwrap().unwrap();
    let index = first["log_index"].as_u64().unwrap();
    let base = format!("/v1/communities/{community}/logs/disclosure");
    let (_, _, entry) = json_of(test::call_service(&app, get(&format!("{base}/entries/{index}"), &token).to_request()).await).await;
    assert_eq!(entry["decoded"]["id"], first["id"]);
    assert_eq!(entry["decoded"]["attachments"][0]["sha256"], hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&pdf)));
    let (_, _, proof) = json_of(
        test::call_service(&app, get(&format!("{base}/proof/inclusion?index={index}&tree_size={}", cp.size), &token).to_request()).await,
    )
    .await;
    let hashes: Vec<tree::Hash> =
        proof["hashes"].as_array().unwrap().iter().map(|h| B64.decode(h.as_str().unwrap()).unwrap().try_into().unwrap()).collect();
    let leaf = tree::leaf_hash(&B64.decode(entry["entry"].as_str().unwrap()).unwrap());
    assert!(tree::verify_inclusion(index, cp.size, &leaf, &hashes, &cp.root));

    // A stranger sees nothing.
    let (_, stranger) = t.account().await;
    let (s, _, _) = json_of(test::call_service(&app, get(&uri, &stranger).to_request()).await).await;
    assert_eq!(s, 404);
}
