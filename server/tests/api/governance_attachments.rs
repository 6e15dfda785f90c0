//! Proposal attachments through the API: added and removed by the committee while the meeting is a draft, each
//! change folded into the proposal's content hash (recomputed here from the documented encoding), frozen from
//! submission on (by the API and by the database), readable by the community's owners once published.

use actix_web::test;
use diesel_async::RunQueryDsl;
use linli_server::auth::Role;
use sha2::{Digest, Sha256};

use crate::common::{TestApp, json_of};
use crate::service;

const BOUNDARY: &str = "linli-test-boundary-7f3a";

/// A multipart body with a `file_name` text field and a `file` file field.
fn multipart(file_name: &str, file: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file_name\"\r\n\r\n{file_name}\r\n").as_bytes(),
    );
    body.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\nContent-Type: application/octet-stream\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn pdf(marker: &str) -> Vec<u8> {
    format!(
        "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
         2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n\
         3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >> endobj\n\
         4 0 obj << /Length 44 >> stream\nBT /F1 12 Tf 72 712 Td ({marker}) Tj ET\nendstream endobj\n\
         trailer << /Root 1 0 R >>\nstartxref\n0\n%%EOF\n"
    )
    .into_bytes()
}

fn png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 4) as u8, (y * 5) as u8, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// The documented content hash of proposal 0 of the draft below with these attachment hashes.
fn expected_hash(attachments: &[Vec<u8>]) -> String {
    let mut text = b"linli-proposal-v2".to_vec();
    let mut field = |f: &[u8]| {
        text.extend_from_slice(&u32::try_from(f.len()).unwrap().to_be_bytes());
        text.extend_from_slice(f);
    };
    for f in [&[5u8][..], "更换电梯".as_bytes(), "使用维修资金更换电梯".as_bytes(), b"yes_no", &[0]] {
        field(f);
    }
    if !attachments.is_empty() {
        field(b"");
        for a in attachments {
            field(a);
        }
    }
    hex::encode(Sha256::digest(&text))
}

macro_rules! upload {
    ($app:expr, $uri:expr, $token:expr, $body:expr) => {{
        let req = test::TestRequest::post()
            .uri(&$uri)
            .insert_header(("authorization", format!("Bearer {}", $token)))
            .insert_header(("content-type", format!("multipart/form-data; boundary={BOUNDARY}")))
            .set_payload($body)
            .to_request();
        json_of(test::call_service(&$app, req).await).await
    }};
}

macro_rules! call {
    ($app:expr, $method:ident, $uri:expr, $token:expr) => {{
        let req = test::TestRequest::$method()
            .uri(&$uri)
            .insert_header(("authorization", format!("Bearer {}", $token)))
            .insert_header(("content-type", "application/json"))
            .set_payload("{\"approved\": true}")
            .to_request();
        test::call_service(&$app, req).await
    }};
}

#[actix_web::test]
async fn attachments_enter_the_content_hash_and_freeze_at_submission() {
    let t = TestApp::new().await;
    let community = t.import_demo().await;
    let (a, ta) = t.account().await;
    let (b, tb) = t.account().await;
    let (owner, to) = t.account().await;
    let (_, stranger) = t.account().await;
    t.grant(a, community, Role::Committee).await;
    t.grant(b, community, Role::Committee).await;
    t.link_person(owner, community, "330106197601165874").await;
    let app = service!(t);

    let start = chrono::Utc::now() + chrono::Duration::seconds(3600);
    let draft = serde_json::json!({
        "title": "附件测试",
        "proposals": [{"matter": 5, "title": "更换电梯", "body": "使用维修资金更换电梯"}],
        "notice_days": 0,
        "voting_starts_at": start.to_rfc3339(),
        "voting_ends_at": (start + chrono::Duration::days(7)).to_rfc3339()
    });
    let req = test::TestRequest::post()
        .uri(&format!("/v1/communities/{community}/meetings"))
        .insert_header(("authorization", format!("Bearer {ta}")))
        .set_json(&draft)
        .to_request();
    let (s, _, m) = json_of(test::call_service(&app, req).await).await;
    assert_eq!(s, 201, "{m}");
    let id = m["id"].as_str().unwrap().to_owned();
    assert_eq!(m["proposals"][0]["content_hash"], expected_hash(&[]), "no attachment: the text alone");
    let uri = format!("/v1/meetings/{id}/proposals/0/attachments");

    // Refusals first: not committee, bad name, not a PDF/image, no such proposal. None changes the hash.
    let (s, _, e) = upload!(app, uri, to, multipart("报价单.pdf", &pdf("q")));
    assert_eq!((s, e["code"].as_str()), (404, Some("not_found")), "{e}");
    let (s, _, e) = upload!(app, uri, ta, multipart("../报价单.pdf", &pdf("q")));
    assert_eq!((s, e["code"].as_str()), (422, Some("attachment_name_invalid")), "{e}");
    let (s, _, e) = upload!(app, uri, ta, multipart("x.exe", b"MZ\x90\x00 not a document"));
    assert_eq!(s, 415, "{e}");
    let (s, _, e) = upload!(app, uri, ta, multipart("js.pdf", b"%PDF-1.4\n1 0 obj << /OpenAction << /S /JavaScript /JS (x) >> >> endobj\n%%EOF\n"));
    assert_eq!(s, 422, "active content refused: {e}");
    let (s, _, _) = upload!(app, format!("/v1/meetings/{id}/proposals/3/attachments"), ta, multipart("a.pdf", &pdf("q")));
    assert_eq!(s, 404);

    // Two files, then one removed: the hash follows.
    let (s, _, quote) = upload!(app, uri, ta, multipart("报价单.pdf", &pdf("quote")));
    assert_eq!(s, 201, "{quote}");
    let (s, _, plan) = upload!(app, uri, ta, multipart("平面图.png", &png()));
    assert_eq!((s, plan["position"].as_i64()), (201, Some(1)), "{plan}");
    let sha = |v: &serde_json::Value| hex::decode(v["sha256"].as_str().unwrap()).unwrap();
    assert_eq!(sha(&quote), Sha256::digest(pdf("quote")).to_vec(), "a PDF is stored as sent");
    let req = test::TestRequest::get().uri(&format!("/v1/meetings/{id}")).insert_header(("authorization", format!("Bearer {ta}"))).to_request();
    let (_, _, m) = json_of(test::call_service(&app, req).await).await;
    assert_eq!(m["attachments"].as_array().unwrap().len(), 2, "{m}");
    assert_eq!(m["proposals"][0]["content_hash"], expected_hash(&[sha(&quote), sha(&plan)]));
    let req = test::TestRequest::delete()
        .uri(&format!("{uri}/{}", plan["id"].as_str().unwrap()))
        .insert_header(("authorization", format!("Bearer {ta}")))
        .to_request();
    assert_eq!(test::call_service(&app, req).await.status(), 204);
    let (_, _, plan) = upload!(app, uri, tb, multipart("平面图-修订.png", &png()));
    assert_eq!(plan["position"], 1, "appended after the remaining ones");
    let req = test::TestRequest::get().uri(&format!("/v1/meetings/{id}")).insert_header(("authorization", format!("Bearer {ta}"))).to_request();
    let (_, _, m) = json_of(test::call_service(&app, req).await).await;
    assert_eq!(m["proposals"][0]["content_hash"], expected_hash(&[sha(&quote), sha(&plan)]));

    // Owners and the bureau see nothing of a draft.
    let download = format!("/v1/meetings/{id}/attachments/{}", quote["id"].as_str().unwrap());
    let req = test::TestRequest::get().uri(&download).insert_header(("authorization", format!("Bearer {to}"))).to_request();
    assert_eq!(test::call_service(&app, req).await.status(), 404);
    let org_app = async |role, scope| {
        let mut conn = t.conn().await;
        let (id, secret) = linli_server::auth::org_app::create_app(&mut conn, &t.state.pii, "街道办", role, &[scope]).await.unwrap();
        (id, linli_identity::org_app::AppSecret::from_text(secret.expose()))
    };
    let bureau = org_app(linli_server::auth::org_app::OrgRole::Bureau, community).await;
    let property = org_app(linli_server::auth::org_app::OrgRole::Property, community).await;
    let another_community = uuid::Uuid::now_v7();
    diesel::sql_query(format!("INSERT INTO communities (id, code, name) VALUES ('{another_community}', 'T-OTHER', '别的小区')"))
        .execute(&mut t.conn().await)
        .await
        .unwrap();
    let elsewhere = org_app(linli_server::auth::org_app::OrgRole::Bureau, another_community).await;
    let bureau_download = format!("/openapi{download}");
    let resp = test::call_service(&app, org_get(&bureau, &bureau_download).to_request()).await;
    assert_eq!(resp.status(), 404, "a draft is the committee's");

    // Submitted and published: frozen, and readable by the community's owners (not by strangers).
    for (token, step) in [(&ta, "submit"), (&ta, "committee-review"), (&tb, "committee-review")] {
        let resp = call!(app, post, format!("/v1/meetings/{id}/{step}"), token);
        assert_eq!(resp.status(), 200, "{step}");
    }
    let (s, _, e) = upload!(app, uri, ta, multipart("迟到.pdf", &pdf("late")));
    assert_eq!((s, e["code"].as_str()), (409, Some("meeting_not_draft")), "{e}");
    let req = test::TestRequest::delete()
        .uri(&format!("{uri}/{}", quote["id"].as_str().unwrap()))
        .insert_header(("authorization", format!("Bearer {ta}")))
        .to_request();
    assert_eq!(test::call_service(&app, req).await.status(), 409);
    let mut conn = t.conn().await;
    for sql in [
        format!("DELETE FROM proposal_attachments WHERE meeting_id = '{id}'"),
        format!("UPDATE proposal_attachments SET bytes = 'x' WHERE meeting_id = '{id}'"),
    ] {
        assert!(diesel::sql_query(&sql).execute(&mut conn).await.is_err(), "{sql} must be refused");
    }
    let req = test::TestRequest::get().uri(&download).insert_header(("authorization", format!("Bearer {to}"))).to_request();
    let resp = test::call_service(&app, req).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers().get("content-type").unwrap(), "application/pdf");
    assert!(resp.headers().get("content-disposition").unwrap().to_str().unwrap().contains("%E6%8A%A5%E4%BB%B7%E5%8D%95.pdf"));
    assert_eq!(test::read_body(resp).await.as_ref(), pdf("quote").as_slice());
    let req = test::TestRequest::get().uri(&download).insert_header(("authorization", format!("Bearer {stranger}"))).to_request();
    assert_eq!(test::call_service(&app, req).await.status(), 404);

    // The bureau's copy (supervision): its app reads the file of a meeting in its scope; an app of another role or
    // of another community's scope learns nothing.
    let resp = test::call_service(&app, org_get(&bureau, &bureau_download).to_request()).await;
    assert_eq!((resp.status().as_u16(), resp.headers().get("content-type").unwrap().to_str().unwrap()), (200, "application/pdf"));
    assert_eq!(test::read_body(resp).await.as_ref(), pdf("quote").as_slice());
    for other in [&property, &elsewhere] {
        assert_eq!(test::call_service(&app, org_get(other, &bureau_download).to_request()).await.status(), 404);
    }
}

/// A GET signed by an organisation app.
fn org_get(org: &(String, linli_identity::org_app::AppSecret), path: &str) -> test::TestRequest {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let auth = linli_identity::org_app::authorization_header(&org.0, &org.1, "GET", path, chrono::Utc::now().timestamp_millis(), &nonce, b"");
    test::TestRequest::get().uri(path).insert_header(("authorization", auth))
}
