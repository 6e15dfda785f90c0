//! Owners' meetings through the API: the review pipeline, screening, the frozen roll (totals and hash
//! recomputed here from the register file, independently of the server's headcount code), immutability.

use actix_web::test;
use diesel_async::RunQueryDsl;
use linli_server::auth::Role;
use sha2::{Digest, Sha256};

use crate::common::{TestApp, demo_register, json_of};
use crate::service;

fn draft(title: &str, body: &str, starts_in_secs: i64) -> serde_json::Value {
    let start = chrono::Utc::now() + chrono::Duration::seconds(starts_in_secs);
    serde_json::json!({
        "title": title,
        "proposals": [
            {"matter": 5, "title": "更换电梯", "body": body},
            {"matter": 7, "title": "外墙翻新", "body": "翻新外墙"}
        ],
        "notice_days": 0,
        "voting_starts_at": start.to_rfc3339(),
        "voting_ends_at": (start + chrono::Duration::days(7)).to_rfc3339()
    })
}

use crate::call_json as call;

/// The roll as the law reads the register file: per owner set (a co-owned unit's owners together, the
/// developer's units together) sum the areas of non-parking units; heads = number of such sets.
fn roll_from_file() -> (i64, i64, Vec<(String, i64, String)>) {
    let mut rdr = csv::Reader::from_path(demo_register()).unwrap();
    type Unit = (String, i64, Vec<String>, bool);
    let mut units: std::collections::BTreeMap<(String, String), Unit> = Default::default();
    for rec in rdr.records() {
        let rec = rec.unwrap();
        match &rec[0] {
            "unit" => {
                let area = (rec[6].parse::<f64>().unwrap() * 100.0).round() as i64;
                units.insert((rec[2].to_owned(), rec[3].to_owned()), (rec[5].to_owned(), area, vec![], false));
            }
            "owner" => {
                let u = units.get_mut(&(rec[2].to_owned(), rec[3].to_owned())).unwrap();
                if &rec[9] == "developer" || !rec[12].is_empty() {
                    u.3 = true;
                }
                u.2.push(rec[10].to_owned());
            }
            _ => {}
        }
    }
    let mut persons: std::collections::BTreeMap<String, i64> = Default::default();
    let (mut area, mut unit_count) = (0, 0);
    let mut lines = vec![];
    for ((b, n), (kind, a, mut owners, developer)) in units {
        if kind == "parking" {
            continue;
        }
        owners.sort();
        let key = if developer { "developer".to_owned() } else { owners.join("+") };
        *persons.entry(key).or_default() += a;
        area += a;
        unit_count += 1;
        lines.push((b, a, n));
    }
    let _ = unit_count;
    (area, persons.len() as i64, lines)
}

#[actix_web::test]
async fn pipeline_two_reviewers_publish_open_and_the_roll_matches_the_register() {
    let t = TestApp::new().await;
    let community = t.import_demo().await;
    let (a, ta) = t.account().await;
    let (b, tb) = t.account().await;
    t.grant(a, community, Role::Committee).await;
    t.grant(b, community, Role::Committee).await;
    let app = service!(t);

    let (s, _, m) = call!(app, post, format!("/v1/communities/{community}/meetings"), ta, draft("2026 年第一次业主大会", "使用维修资金更换 3 号楼电梯", 3600));
    assert_eq!(s, 201, "{m}");
    let id = m["id"].as_str().unwrap().to_owned();
    assert_eq!(m["status"], "draft");

    let (s, _, m) = call!(app, post, format!("/v1/meetings/{id}/submit"), ta, serde_json::json!({}));
    assert_eq!((s, m["status"].as_str()), (200, Some("committee_review")), "{m}");

    // Open before publication is refused; one member cannot approve twice.
    let (s, _, e) = call!(app, post, format!("/v1/meetings/{id}/open"), ta, serde_json::json!({}));
    assert_eq!((s, e["code"].as_str()), (409, Some("meeting_not_published")));
    let (s, _, m) = call!(app, post, format!("/v1/meetings/{id}/committee-review"), ta, serde_json::json!({"approved": true}));
    assert_eq!((s, m["status"].as_str()), (200, Some("committee_review")));
    let (s, _, e) = call!(app, post, format!("/v1/meetings/{id}/committee-review"), ta, serde_json::json!({"approved": true}));
    assert_eq!((s, e["code"].as_str()), (409, Some("already_reviewed")));
    let (s, _, m) = call!(app, post, format!("/v1/meetings/{id}/committee-review"), tb, serde_json::json!({"approved": true}));
    assert_eq!((s, m["status"].as_str()), (200, Some("published")), "{m}");

    let (s, _, m) = call!(app, post, format!("/v1/meetings/{id}/open"), tb, serde_json::json!({}));
    assert_eq!((s, m["status"].as_str()), (200, Some("open")), "{m}");

    let (s, _, roll) = call!(app, get, format!("/v1/meetings/{id}/roll"), ta, serde_json::json!({}));
    assert_eq!(s, 200, "{roll}");
    let (area, heads, _) = roll_from_file();
    assert_eq!(roll["total_area_centi_m2"].as_i64().unwrap(), area);
    assert_eq!(roll["total_heads"].as_i64().unwrap(), heads);
    // Recompute the hash from the published roll with the documented encoding.
    let mut text = String::from("linli-roll-v1\n");
    for e in roll["entries"].as_array().unwrap() {
        let units: Vec<String> = e["units"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| format!("{}/{}:{}", u["building"].as_str().unwrap(), u["unit"].as_str().unwrap(), u["area_centi_m2"]))
            .collect();
        text.push_str(&format!("{}\t{}\t1\t{}\n", e["headcount_key"].as_str().unwrap(), e["area_centi_m2"], units.join(",")));
    }
    assert_eq!(roll["roll_hash"].as_str().unwrap(), hex::encode(Sha256::digest(text.as_bytes())));
    assert!(!roll.to_string().contains("name"), "the roll carries no names");

    // Chain writes queued in order: openMeeting, the roll's keys in batches of 500, then one addProposal per proposal.
    let mut conn = t.conn().await;
    let kinds: Vec<String> = diesel::sql_query("SELECT kind FROM chain_outbox ORDER BY id")
        .load::<KindRow>(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.kind)
        .collect();
    let batches = roll["entries"].as_array().unwrap().len().div_ceil(500);
    let expected: Vec<&str> =
        std::iter::once("open_meeting").chain(std::iter::repeat_n("add_roll_keys", batches)).chain(["add_proposal", "add_proposal"]).collect();
    assert_eq!(kinds, expected);

    // The database refuses to change a published meeting, its proposals or its roll.
    for sql in [
        format!("UPDATE meetings SET title = 'x' WHERE id = '{id}'"),
        format!("UPDATE meeting_proposals SET body = 'x' WHERE meeting_id = '{id}'"),
        format!("DELETE FROM roll_entries WHERE meeting_id = '{id}'"),
    ] {
        let r = diesel::sql_query(&sql).execute(&mut conn).await;
        assert!(r.is_err(), "{sql} must be refused");
    }
}

#[derive(diesel::QueryableByName)]
struct KindRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    kind: String,
}

#[actix_web::test]
async fn sensitive_words_go_to_human_review_with_the_terms_shown() {
    let t = TestApp::new().await;
    let community = t.import_demo().await;
    let (a, ta) = t.account().await;
    let (s, ts) = t.account().await;
    t.grant(a, community, Role::Committee).await;
    t.grant(s, community, Role::Support).await;
    let app = service!(t);
    let (st, _, m) = call!(app, post, format!("/v1/communities/{community}/meetings"), ta, draft("会议", "禁止在会所赌博", 3600));
    assert_eq!(st, 201);
    let id = m["id"].as_str().unwrap().to_owned();
    let (_, _, m) = call!(app, post, format!("/v1/meetings/{id}/submit"), ta, serde_json::json!({}));
    assert_eq!(m["status"], "screening_review");
    assert_eq!(m["screening_terms"], serde_json::json!(["赌博"]));
    // A committee member cannot clear it; support staff can.
    let (st, _, _) = call!(app, post, format!("/v1/meetings/{id}/screening-review"), ta, serde_json::json!({"approved": true}));
    assert_eq!(st, 404);
    let (st, _, m) = call!(app, post, format!("/v1/meetings/{id}/screening-review"), ts, serde_json::json!({"approved": true, "note": "禁止赌博的提醒，合规"}));
    assert_eq!((st, m["status"].as_str()), (200, Some("committee_review")));
}

#[actix_web::test]
async fn bad_drafts_and_foreign_readers_are_refused() {
    let t = TestApp::new().await;
    let community = t.import_demo().await;
    let (a, ta) = t.account().await;
    let (_, stranger) = t.account().await;
    t.grant(a, community, Role::Committee).await;
    let app = service!(t);
    let mut bad = draft("m", "b", 3600);
    bad["proposals"][0]["matter"] = serde_json::json!(10);
    let (s, _, e) = call!(app, post, format!("/v1/communities/{community}/meetings"), ta, bad);
    assert_eq!((s, e["code"].as_str()), (422, Some("invalid_meeting")));
    let mut change = draft("m", "b", 3600);
    change["rules"] = serde_json::json!({"vote_change_allowed": true});
    let (s, _, created) = call!(app, post, format!("/v1/communities/{community}/meetings"), ta, change);
    assert_eq!((s, created["vote_change_allowed"].as_bool()), (201, Some(true)), "{created}");
    let (s, _, _) = call!(app, post, format!("/v1/communities/{community}/meetings"), stranger, draft("m", "b", 3600));
    assert_eq!(s, 404);
    let (_, _, m) = call!(app, post, format!("/v1/communities/{community}/meetings"), ta, draft("m", "b", 3600));
    let id = m["id"].as_str().unwrap();
    let (s, _, _) = call!(app, get, format!("/v1/meetings/{id}"), stranger, serde_json::json!({}));
    assert_eq!(s, 404);
    // A sheet without a device signature is refused before anything else happens.
    let req = test::TestRequest::post()
        .uri(&format!("/v1/meetings/{id}/sheets"))
        .insert_header(("authorization", format!("Bearer {ta}")))
        .insert_header(("idempotency-key", "k1"))
        .set_json(serde_json::json!({"pin": "135790", "choices": [0, 0]}))
        .to_request();
    let (s, _, _) = json_of(test::call_service(&app, req).await).await;
    assert_eq!(s, 401);
}

#[derive(diesel::QueryableByName, Debug)]
struct NoticeRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    account_id: uuid::Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    status: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    keys: String,
}

/// Proof of service feeds the rule-set tally: publication queues a notice for every verified owner behind a roll
/// key (both co-owners of a co-owned unit); a key counts as served when a notice to one of its owners was read, or
/// delivered to an owner who agreed to electronic service, before voting opened (`governance::service`), and
/// served-but-silent = served keys whose voter cast no sheet.
/// Expected weights come from the register file: B01/0101 is 138.34 m², B01/0104 (co-owned) 47.86 m².
#[actix_web::test]
async fn served_but_silent_weight_comes_from_the_notice_records() {
    let t = TestApp::new().await;
    let community = t.import_demo().await;
    let (a, ta) = t.account().await;
    let (b, tb) = t.account().await;
    t.grant(a, community, Role::Committee).await;
    t.grant(b, community, Role::Committee).await;
    let (o1, t1) = t.account().await;
    let (o2, _) = t.account().await;
    let (o3, t3) = t.account().await;
    let (o4, t4) = t.account().await;
    t.link_person(o1, community, "330106197601165874").await; // B01/0101 alone
    t.link_person(o2, community, "310104195802015447").await; // B01/0104 with o3's person
    t.link_person(o3, community, "310104196604210713").await;
    let app = service!(t);
    // o3 agreed to electronic service, so WeChat's acceptance of o3's notice serves it.
    let consent = serde_json::json!({"agreed": true, "text_version": linli_server::governance::service::ELECTRONIC_SERVICE_CONSENT_VERSION});
    let (s, _, _) = call!(app, put, format!("/v1/communities/{community}/electronic-service-consent"), t3, consent);
    assert_eq!(s, 200);
    let mut body = draft("送达测试", "使用维修资金更换电梯", 3600);
    body["rules"] = serde_json::json!({"silent_follows_majority": true});
    let (_, _, m) = call!(app, post, format!("/v1/communities/{community}/meetings"), ta, body);
    let id: uuid::Uuid = m["id"].as_str().unwrap().parse().unwrap();
    let (s, _, _) = call!(app, post, format!("/v1/meetings/{id}/submit"), ta, serde_json::json!({}));
    assert_eq!(s, 200);
    let (_, _, _) = call!(app, post, format!("/v1/meetings/{id}/committee-review"), ta, serde_json::json!({"approved": true}));
    let (s, _, m) = call!(app, post, format!("/v1/meetings/{id}/committee-review"), tb, serde_json::json!({"approved": true}));
    assert_eq!((s, m["status"].as_str()), (200, Some("published")));

    let mut conn = t.conn().await;
    let rows: Vec<NoticeRow> = diesel::sql_query(format!(
        "SELECT account_id, status, headcount_keys::text AS keys FROM meeting_notices WHERE meeting_id = '{id}' ORDER BY account_id"
    ))
    .load(&mut conn)
    .await
    .unwrap();
    assert_eq!(rows.iter().map(|r| r.account_id).collect::<Vec<_>>(), {
        let mut v = vec![o1, o2, o3];
        v.sort();
        v
    });
    assert!(rows.iter().all(|r| r.status == "pending"), "{rows:?}");
    let keys_of = |acc| rows.iter().find(|r| r.account_id == acc).unwrap().keys.clone();
    assert_eq!(keys_of(o2), keys_of(o3), "co-owners answer for one key");
    assert_ne!(keys_of(o1), keys_of(o2));

    // o1 opens the notice in the app (a read receipt); WeChat accepted o3's message (what the worker records;
    // the end-to-end test drives the worker itself); o2's send failed. An account that owns nothing is refused.
    let (s, _, r) = call!(app, post, format!("/v1/meetings/{id}/notice/read"), t1, serde_json::json!({}));
    assert_eq!(s, 200, "{r}");
    assert!(r["read_at"].is_string());
    let (s, _, _) = call!(app, post, format!("/v1/meetings/{id}/notice/read"), t4, serde_json::json!({}));
    assert_eq!(s, 404, "account {o4} answers for no key");
    diesel::sql_query(format!("UPDATE meeting_notices SET status = 'sent', sent_at = now(), errcode = 0 WHERE account_id = '{o3}'"))
        .execute(&mut conn)
        .await
        .unwrap();
    diesel::sql_query(format!("UPDATE meeting_notices SET status = 'failed', errcode = 43101 WHERE account_id = '{o2}'"))
        .execute(&mut conn)
        .await
        .unwrap();

    let (s, _, _) = call!(app, post, format!("/v1/meetings/{id}/open"), tb, serde_json::json!({}));
    assert_eq!(s, 200);
    let meeting = linli_server::governance::store::meeting(&mut conn, id).await.unwrap();
    // Nobody voted: both served keys are silent (0101 through the read, 0104 through o3's delivery).
    let input = linli_server::governance::store::tally_input(&mut conn, &meeting).await.unwrap();
    assert_eq!(input.served_silent, linli_server::governance::tally::Weight::new(13834 + 4786, 2));

    // o1 votes: 0101 counts through the sheet, only 0104 is served-but-silent.
    let sheet = uuid::Uuid::now_v7();
    diesel::sql_query(format!(
        "INSERT INTO ballot_sheets (id, meeting_id, account_id, voter_pseudonym, area_centi_m2, heads, choices, sheet_hash, device_serial) \
         VALUES ('{sheet}', '{id}', '{o1}', decode(repeat('00', 32), 'hex'), 13834, 1, '[0, 0]', decode(repeat('11', 32), 'hex'), 'test')"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let input = linli_server::governance::store::tally_input(&mut conn, &meeting).await.unwrap();
    assert_eq!(input.served_silent, linli_server::governance::tally::Weight::new(4786, 1));
    let summary = linli_server::governance::store::service_summary(&mut conn, &meeting).await.unwrap();
    assert_eq!((summary.notices, summary.sent, summary.failed, summary.read, summary.served_keys_count), (3, 1, 1, 1, 2));
}

/// A notice claimed by a process that died before recording WeChat's answer is never sent again: after the
/// claim timeout it is recorded `unknown`.
#[actix_web::test]
async fn a_notice_left_mid_send_becomes_unknown_and_is_not_resent() {
    let t = TestApp::new().await;
    let community = t.import_demo().await;
    let (a, ta) = t.account().await;
    t.grant(a, community, Role::Committee).await;
    let (o1, _) = t.account().await;
    let (o2, _) = t.account().await;
    t.link_person(o1, community, "330106197601165874").await;
    t.link_person(o2, community, "310110196207036560").await;
    let app = service!(t);
    let (_, _, m) = call!(app, post, format!("/v1/communities/{community}/meetings"), ta, draft("m", "b", 3600));
    let id = m["id"].as_str().unwrap().to_owned();
    let mut conn = t.conn().await;
    // Published as the handler publishes (the review path is tested above).
    let meeting = linli_server::governance::store::meeting(&mut conn, id.parse().unwrap()).await.unwrap();
    linli_server::governance::store::enqueue_notices(&mut conn, &meeting).await.unwrap();
    let stale = linli_server::governance::notices::SENDING_TIMEOUT_SECS + 1;
    diesel::sql_query(format!(
        "UPDATE meeting_notices SET status = 'sending', attempts = 1, claimed_at = now() - interval '{stale} seconds' WHERE account_id = '{o1}'"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    // A fresh claim (another instance is sending right now) is left alone.
    diesel::sql_query(format!("UPDATE meeting_notices SET status = 'sending', attempts = 1, claimed_at = now() WHERE account_id = '{o2}'"))
        .execute(&mut conn)
        .await
        .unwrap();
    let metrics = linli_server::governance::notices::NoticeMetrics::register(t.state.metrics.registry()).unwrap();
    let handled = linli_server::governance::notices::step(&t.state, Some(&metrics)).await.unwrap();
    assert_eq!(handled, 0, "nothing was pending, nothing was sent");
    assert_eq!(metrics.backlog.get(), 1, "the fresh claim is still mid-send");
    assert!(metrics.oldest_age_seconds.get() >= 0);
    assert!(t.state.metrics.render().unwrap().contains("linli_meeting_notices_backlog 1"));
    let rows: Vec<NoticeRow> = diesel::sql_query(format!(
        "SELECT account_id, status, '' AS keys FROM meeting_notices WHERE meeting_id = '{id}'"
    ))
    .load(&mut conn)
    .await
    .unwrap();
    let status = |acc| rows.iter().find(|r| r.account_id == acc).unwrap().status.clone();
    assert_eq!((status(o1).as_str(), status(o2).as_str()), ("unknown", "sending"));
}

/// WeChat's content-security check v2 between our client and the sandbox, in WeChat's shapes: a bad token is
/// refused with 40001, a clean text passes with label 100, a configured word is flagged with its label, suggest
/// and keyword in `detail[]`, an over-long text is refused with 47001.
#[actix_web::test]
async fn msg_sec_check_v2_speaks_wechats_protocol() {
    use linli_identity::wechat::{AccessToken, SecScene, Suggest, WeChatClient, WeChatConfig, WeChatError};
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sandbox = linli_sandbox::start(linli_sandbox::SandboxConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls_listen: None,
        fixtures: crate::common::repo_root().join("fixtures"),
        register: None,
        credentials: linli_sandbox::Credentials::default(),
    })
    .await
    .unwrap();
    let creds = linli_sandbox::Credentials::default();
    let client = WeChatClient::new(
        reqwest::Client::new(),
        WeChatConfig { base_url: sandbox.base_url(), appid: creds.wechat_appid.clone(), secret: creds.wechat_secret.clone().into() },
    );
    let bad = AccessToken { token: "not-a-token".to_owned().into(), expires_in: 0 };
    match client.msg_sec_check(&bad, "o-author", SecScene::Forum, "你好").await {
        Err(WeChatError::Api { code, .. }) => assert_eq!(code.errcode(), 40001),
        other => panic!("{other:?}"),
    }
    let token = client.stable_token(false).await.unwrap();
    let clean = client.msg_sec_check(&token, "o-author", SecScene::Forum, "更换电梯").await.unwrap();
    assert_eq!((clean.suggest, clean.label), (Suggest::Pass, 100));
    assert!(clean.trace_id.is_some());

    let r = reqwest::Client::new()
        .put(format!("{}/sandbox/wechat/sec-check-words", sandbox.base_url()))
        .json(&serde_json::json!({"words": [{"keyword": "高息理财", "label": 20008, "suggest": "review"},
                                            {"keyword": "暴力抗法", "label": 20006, "suggest": "risky"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let flagged = client.msg_sec_check(&token, "o-author", SecScene::Forum, "推荐高息理财，拒绝暴力抗法").await.unwrap();
    assert_eq!((flagged.suggest, flagged.label), (Suggest::Risky, 20006), "the worst finding decides");
    let keywords: Vec<_> = flagged.detail.iter().filter_map(|d| d.keyword.clone()).collect();
    assert_eq!(keywords, ["高息理财", "暴力抗法"]);
    let summary = linli_server::governance::screening::summarize(&[flagged]);
    assert_eq!(summary.labels.iter().map(|l| l.label).collect::<Vec<_>>(), [20006, 20008]);
    match client.msg_sec_check(&token, "o-author", SecScene::Forum, &"字".repeat(2501)).await {
        Err(WeChatError::Api { code, .. }) => assert_eq!(code.errcode(), 47001),
        other => panic!("{other:?}"),
    }
    sandbox.stop().await;
}

/// Issue 24 item 6: whether parking spaces count is the community's setting (DESIGN §5), copied when a meeting is
/// drafted; a draft cannot choose otherwise. Before, the draft decided (default false): with 90 flats and 30
/// spaces and 62 flat owners voting, a meeting drafted with the default met the quorum (62·3 ≥ 90·2) that the
/// community's rule (120 heads: 62·3 < 120·2) does not.
#[actix_web::test]
async fn parking_spaces_count_by_the_communitys_rule_not_the_drafts() {
    use diesel::{ExpressionMethods, QueryDsl};
    let t = TestApp::new().await;
    let community = t.import_demo().await;
    let (a, ta) = t.account().await;
    t.grant(a, community, Role::Committee).await;
    let app = service!(t);
    let set_rule = async |count: bool| {
        let mut conn = t.conn().await;
        diesel::update(linli_server::schema::communities::table.find(community))
            .set(linli_server::schema::communities::count_parking_spaces.eq(count))
            .execute(&mut conn)
            .await
            .unwrap();
    };
    let with_rule = |count: Option<bool>| {
        let mut d = draft("业主大会", "使用维修资金更换电梯", 3600);
        if let Some(c) = count {
            d["rules"] = serde_json::json!({"count_parking_spaces": c});
        }
        d
    };
    for community_rule in [true, false] {
        set_rule(community_rule).await;
        // Left out: the community's setting.
        let (s, _, m) = call!(app, post, format!("/v1/communities/{community}/meetings"), ta, with_rule(None));
        assert_eq!((s, m["count_parking_spaces"].as_bool()), (201, Some(community_rule)), "{m}");
        // The same value is accepted; the other one refused, and nothing is stored.
        let (s, _, m) = call!(app, post, format!("/v1/communities/{community}/meetings"), ta, with_rule(Some(community_rule)));
        assert_eq!((s, m["count_parking_spaces"].as_bool()), (201, Some(community_rule)), "{m}");
        let (s, _, e) = call!(app, post, format!("/v1/communities/{community}/meetings"), ta, with_rule(Some(!community_rule)));
        assert_eq!((s, e["code"].as_str()), (422, Some("parking_rule_mismatch")), "{e}");
    }
    let mut conn = t.conn().await;
    let meetings: i64 = linli_server::schema::meetings::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(meetings, 4);
}
