//! Proof of service (issue 24 item 5; (2022)沪02民初16号) through the API and on the server's tally: WeChat's
//! acceptance serves only with the owner's consent to electronic service, staff record paper service and posting,
//! service counts only before voting opens, and the result warns when the rule-set decision rests on the silent.
//!
//! A community of its own keeps the arithmetic small: three flats of 100.00 m² in building B1 and one in B2, one
//! owner each (roll 400.00 m², 4 heads; the quorum needs 266.67 m² and 3 heads).

use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use linli_server::auth::Role;
use linli_server::governance::tally::{self, Weight};
use linli_server::governance::{service, store};
use linli_server::schema::{audit_log, electronic_service_consents, meeting_notices};
use uuid::Uuid;

use crate::call_json as call;
use crate::common::TestApp;
use crate::service;

const HEADER: &str = "record,community,building,unit,name,kind,exclusive_area_m2,area_source,building_area_m2,owner_type,id_number,phone,holding\n";
/// The owners of B1/0101, B1/0102, B1/0103 and B2/0101.
const OWNERS: [&str; 4] = ["330106197601165874", "310110196207036560", "44030519830627380X", "510104199102118897"];

async fn import(t: &TestApp, csv: &str) -> Uuid {
    let register = linli_server::community::register_file::parse_register(csv.as_bytes()).unwrap();
    let mut conn = t.conn().await;
    linli_server::community::store::apply_register(&mut conn, &t.state.pii, &register, csv.as_bytes(), &|_| {})
        .await
        .unwrap()
        .community_id
}

async fn small_community(t: &TestApp) -> Uuid {
    let mut csv = format!("{HEADER}community,T-SERVE,,,送达小区,,,,,,,,\nbuilding,T-SERVE,B1,,1号楼,,,,,,,,\nbuilding,T-SERVE,B2,,2号楼,,,,,,,,\n");
    for (b, u) in [("B1", "0101"), ("B1", "0102"), ("B1", "0103"), ("B2", "0101")] {
        csv.push_str(&format!("unit,T-SERVE,{b},{u},,residence,100.00,register,120.00,,,,\n"));
    }
    for ((b, u), id) in [("B1", "0101"), ("B1", "0102"), ("B1", "0103"), ("B2", "0101")].into_iter().zip(OWNERS) {
        csv.push_str(&format!("owner,T-SERVE,{b},{u},业主{u},,,,,person,{id},,\n"));
    }
    import(t, &csv).await
}

async fn other_community(t: &TestApp) -> Uuid {
    import(
        t,
        &format!(
            "{HEADER}community,T-OTHER,,,别的小区,,,,,,,,\nbuilding,T-OTHER,B1,,1号楼,,,,,,,,\n\
             unit,T-OTHER,B1,0101,,residence,80.00,register,95.00,,,,\nowner,T-OTHER,B1,0101,赵六,,,,,person,11010519491231002X,,\n"
        ),
    )
    .await
}

fn draft(starts_in: Duration, rules: serde_json::Value) -> serde_json::Value {
    let start = Utc::now() + starts_in;
    serde_json::json!({
        "title": "送达与表决",
        "proposals": [
            {"matter": 5, "title": "使用维修资金更换电梯", "body": "更换电梯"},
            {"matter": 7, "title": "外墙翻新", "body": "翻新外墙"}
        ],
        "rules": rules,
        "notice_days": 0,
        "voting_starts_at": start.to_rfc3339(),
        "voting_ends_at": (start + Duration::days(7)).to_rfc3339()
    })
}

/// The committee (two members), and an account per owner linked to its register person.
struct World {
    community: Uuid,
    committee: [(Uuid, String); 2],
    owners: Vec<(Uuid, String)>,
}

async fn world(t: &TestApp) -> World {
    let community = small_community(t).await;
    let a = t.account().await;
    let b = t.account().await;
    t.grant(a.0, community, Role::Committee).await;
    t.grant(b.0, community, Role::Committee).await;
    let mut owners = vec![];
    for id in OWNERS {
        let o = t.account().await;
        t.link_person(o.0, community, id).await;
        owners.push(o);
    }
    World { community, committee: [a, b], owners }
}

/// Drafts, submits and publishes a meeting (two committee approvals); answers its id.
macro_rules! published {
    ($app:expr, $w:expr, $body:expr) => {{
        let (ta, tb) = (&$w.committee[0].1, &$w.committee[1].1);
        let (s, _, m) = call!($app, post, format!("/v1/communities/{}/meetings", $w.community), ta, $body);
        assert_eq!(s, 201, "{m}");
        let id: Uuid = m["id"].as_str().unwrap().parse().unwrap();
        let (s, _, m) = call!($app, post, format!("/v1/meetings/{id}/submit"), ta, serde_json::json!({}));
        assert_eq!(s, 200, "{m}");
        call!($app, post, format!("/v1/meetings/{id}/committee-review"), ta, serde_json::json!({"approved": true}));
        let (s, _, m) = call!($app, post, format!("/v1/meetings/{id}/committee-review"), tb, serde_json::json!({"approved": true}));
        assert_eq!((s, m["status"].as_str()), (200, Some("published")), "{m}");
        id
    }};
}

/// Gives (or withdraws) the owner's consent to electronic service through the API; answers the view.
macro_rules! consent {
    ($app:expr, $community:expr, $token:expr, $agreed:expr) => {{
        let body = serde_json::json!({"agreed": $agreed, "text_version": service::ELECTRONIC_SERVICE_CONSENT_VERSION});
        let (s, _, v) = call!($app, put, format!("/v1/communities/{}/electronic-service-consent", $community), $token, body);
        assert_eq!(s, 200, "{v}");
        v
    }};
}

/// What the notice worker records when WeChat accepts a message (the end-to-end test drives the worker itself).
async fn wechat_accepted(t: &TestApp, meeting: Uuid, account: Uuid) {
    let n = diesel::update(meeting_notices::table.find((meeting, account)))
        .set((meeting_notices::status.eq("sent"), meeting_notices::sent_at.eq(Utc::now()), meeting_notices::errcode.eq(0i64)))
        .execute(&mut t.conn().await)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

/// A yes sheet on every proposal for the owner's own key (what a cast stores; casting is tested elsewhere).
async fn yes_sheet(t: &TestApp, meeting: Uuid, account: Uuid) {
    diesel::sql_query(format!(
        "INSERT INTO ballot_sheets (id, meeting_id, account_id, voter_pseudonym, area_centi_m2, heads, choices, sheet_hash, device_serial) \
         VALUES ('{}', '{meeting}', '{account}', decode(repeat('00', 32), 'hex'), 10000, 1, '[0, 0]', decode(repeat('11', 32), 'hex'), 'test')",
        Uuid::now_v7()
    ))
    .execute(&mut t.conn().await)
    .await
    .unwrap();
}

/// The served-but-silent weight and the tally of the server's own rows.
async fn server_tally(t: &TestApp, meeting: Uuid) -> (Weight, Vec<tally::ProposalResult>) {
    let mut conn = t.conn().await;
    let m = store::meeting(&mut conn, meeting).await.unwrap();
    let input = store::tally_input(&mut conn, &m).await.unwrap();
    (input.served_silent, tally::tally(&input).unwrap())
}

/// Owner 1 votes yes (100.00 m², 1 of 4 heads: no quorum). Owner 2's notice was accepted by WeChat and never
/// opened, and owner 2 had not agreed to electronic service: nobody is silent, the rule-set tally is the sheets'.
/// Owner 2 agreeing afterwards changes nothing (service is judged at delivery). The other direction: owners 3 and 4
/// agreed before their notices were delivered, so they are served and silent. Counted as participating
/// (`silent_counts_as_participating`): 30000 centi-m², 3 heads of 40000 and 4 — 3·30000 ≥ 2·40000 and 9 ≥ 8, the
/// quorum; yes 10000 of 30000 does not pass. The strict tally has no quorum: the decisions differ, the result warns.
#[actix_web::test]
async fn a_notice_wechat_accepted_without_consent_makes_nobody_silent_and_with_consent_it_serves() {
    let t = TestApp::new().await;
    let w = world(&t).await;
    let app = service!(t);
    let owner = |i: usize| w.owners[i].clone();
    // Owners 3 and 4 agree to electronic service before the meeting; owner 2 does not.
    consent!(app, w.community, &owner(2).1, true);
    consent!(app, w.community, &owner(3).1, true);
    let id = published!(app, w, draft(Duration::hours(1), serde_json::json!({"silent_counts_as_participating": true})));
    wechat_accepted(&t, id, owner(1).0).await;
    let (s, _, _) = call!(app, post, format!("/v1/meetings/{id}/open"), w.committee[1].1, serde_json::json!({}));
    assert_eq!(s, 200);
    yes_sheet(&t, id, owner(0).0).await;

    let (silent, results) = server_tally(&t, id).await;
    assert_eq!(silent, Weight::new(0, 0), "a WeChat acceptance without consent, unread, serves nobody");
    let rule_set = results[0].lines[0].rule_set.clone().unwrap();
    assert_eq!(rule_set.participation, results[0].lines[0].strict.participation);
    assert!(!rule_set.quorum && service::silent_weight_warnings(&results, silent).is_empty());

    // Consent given after the delivery does not serve it.
    consent!(app, w.community, &owner(1).1, true);
    assert_eq!(server_tally(&t, id).await.0, Weight::new(0, 0));

    // The other direction: owners 3 and 4 consented before WeChat accepted their notices.
    wechat_accepted(&t, id, owner(2).0).await;
    wechat_accepted(&t, id, owner(3).0).await;
    let (silent, results) = server_tally(&t, id).await;
    assert_eq!(silent, Weight::new(20000, 2));
    for r in &results {
        let rs = r.lines[0].rule_set.clone().unwrap();
        assert_eq!((r.lines[0].strict.quorum, r.lines[0].strict.passed), (false, false));
        assert_eq!((rs.participation, rs.quorum, rs.passed), (Weight::new(30000, 3), true, false));
    }
    let warnings = service::silent_weight_warnings(&results, silent);
    assert_eq!(warnings.iter().map(|w| w.proposal).collect::<Vec<_>>(), [0, 1], "the decision rests on the silent");
    assert!(warnings[0].message.contains("200.00 m²") && warnings[0].message.contains("达到法定人数但未通过"));

    let mut conn = t.conn().await;
    let m = store::meeting(&mut conn, id).await.unwrap();
    let summary = store::service_summary(&mut conn, &m).await.unwrap();
    assert_eq!((summary.sent, summary.accepted_without_service, summary.served_keys_count), (3, 1, 2));
    assert_eq!(summary.served_keys_by_channel.get(&service::Channel::WechatAcceptedWithConsent), Some(&2));
}

/// Committee or support staff of the meeting's community record paper service and posting (channel, time,
/// evidence hash), audited; it serves by its recorded time. Staff of another community, owners and strangers get
/// 404; a bad hash, a time outside publication..opening or ahead of now, and a target the register does not know
/// get 422 with their codes; a draft gets 409. The meeting page shows the consequence of not voting.
#[actix_web::test]
async fn staff_record_paper_service_and_posting_and_it_serves() {
    let t = TestApp::new().await;
    let w = world(&t).await;
    let other = other_community(&t).await;
    let (support, ts) = t.account().await;
    t.grant(support, w.community, Role::Support).await;
    let (foreign, tf) = t.account().await;
    t.grant(foreign, other, Role::Committee).await;
    let (_, stranger) = t.account().await;
    let app = service!(t);
    let ta = w.committee[0].1.clone();
    let evidence = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";
    let paper = |served_at: chrono::DateTime<Utc>| {
        serde_json::json!({"channel": "paper_hand_delivery", "served_at": served_at.to_rfc3339(), "evidence_sha256": evidence,
                           "units": [{"building": "B1", "unit": "0102"}]})
    };

    // A draft cannot be served yet.
    let (s, _, d) = call!(app, post, format!("/v1/communities/{}/meetings", w.community), ta, draft(Duration::hours(1), serde_json::json!({})));
    assert_eq!(s, 201);
    let (s, _, e) = call!(app, post, format!("/v1/meetings/{}/service-records", d["id"].as_str().unwrap()), ta, paper(Utc::now()));
    assert_eq!((s, e["code"].as_str()), (409, Some("service_not_recordable")), "{e}");

    let id = published!(app, w, draft(Duration::hours(1), serde_json::json!({"silent_counts_as_participating": true})));
    let url = format!("/v1/meetings/{id}/service-records");

    // The meeting page tells owners what not voting means; a meeting without a flag says nothing.
    let (s, _, page) = call!(app, get, format!("/v1/meetings/{id}"), w.owners[0].1, serde_json::json!({}));
    assert_eq!(s, 200);
    assert!(page["consequence_of_not_voting"].as_str().unwrap().contains("视为参与表决"), "{page}");
    assert!(d["consequence_of_not_voting"].is_null());

    // Hand delivery to B1/0102 by a committee member.
    let served_at = Utc::now() - Duration::milliseconds(1);
    let (s, _, r) = call!(app, post, url, ta, paper(served_at));
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["channel"], "paper_hand_delivery");
    assert_eq!(r["evidence_sha256"], evidence.to_lowercase());
    assert_eq!(r["headcount_keys"].as_array().unwrap().len(), 1);
    // Posting in B2 by support staff: every key with a unit there (B2/0101's owner).
    let posting = serde_json::json!({"channel": "posting", "served_at": Utc::now().to_rfc3339(), "evidence_sha256": evidence, "building": "B2"});
    let (s, _, r) = call!(app, post, url, ts, posting);
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["headcount_keys"].as_array().unwrap().len(), 1);

    // Not staff of this community: 404, as for a meeting that does not exist.
    for token in [&tf, &w.owners[0].1, &stranger] {
        let (s, _, e) = call!(app, post, url, token, paper(Utc::now()));
        assert_eq!((s, e["code"].as_str()), (404, Some("not_found")));
    }
    // Refused input, each with its code.
    let cases = [
        (serde_json::json!({"evidence_sha256": "abc"}), "invalid_evidence_hash"),
        (serde_json::json!({"evidence_sha256": "z".repeat(64)}), "invalid_evidence_hash"),
        (serde_json::json!({"served_at": (Utc::now() + Duration::minutes(5)).to_rfc3339()}), "invalid_served_at"),
        (serde_json::json!({"served_at": (Utc::now() - Duration::days(1)).to_rfc3339()}), "invalid_served_at"),
        (serde_json::json!({"units": [{"building": "B1", "unit": "9999"}]}), "invalid_service_target"),
        (serde_json::json!({"units": [], "headcount_keys": ["buyer:00"]}), "invalid_service_target"),
        (serde_json::json!({"building": "B1"}), "invalid_service_target"),
        (serde_json::json!({"channel": "carrier_pigeon"}), "invalid_body"),
    ];
    for (change, code) in cases {
        let mut body = paper(Utc::now());
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (s, _, e) = call!(app, post, url, ta, body.clone());
        assert_eq!((s, e["code"].as_str()), (422, Some(code)), "{body} → {e}");
    }

    let mut conn = t.conn().await;
    let audited: i64 = audit_log::table
        .filter(audit_log::action.eq("meeting.service.recorded"))
        .filter(audit_log::subject.eq(id.to_string()))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(audited, 2);
    let r = diesel::sql_query(format!("DELETE FROM meeting_service_records WHERE meeting_id = '{id}'")).execute(&mut conn).await;
    assert!(r.is_err(), "a service record is evidence and never changes");

    // On the server's tally: B1/0102 (hand delivery) and B2/0101 (posting) are served and silent.
    let (s, _, _) = call!(app, post, format!("/v1/meetings/{id}/open"), w.committee[1].1, serde_json::json!({}));
    assert_eq!(s, 200);
    yes_sheet(&t, id, w.owners[0].0).await;
    let (silent, results) = server_tally(&t, id).await;
    assert_eq!(silent, Weight::new(20000, 2));
    assert!(results[0].lines[0].rule_set.as_ref().unwrap().quorum && !results[0].lines[0].strict.quorum);
    let m = store::meeting(&mut conn, id).await.unwrap();
    let summary = store::service_summary(&mut conn, &m).await.unwrap();
    use service::{Channel, PaperChannel};
    assert_eq!(summary.service_records.get(&PaperChannel::PaperHandDelivery), Some(&1));
    assert_eq!(summary.service_records.get(&PaperChannel::Posting), Some(&1));
    assert_eq!(summary.served_keys_by_channel.get(&Channel::PaperHandDelivery), Some(&1));
    assert_eq!(summary.served_keys_by_channel.get(&Channel::Posting), Some(&1));
}

/// Service is recorded while the meeting is published or open until voting starts; from the start on it is
/// refused with `service_not_recordable`, and what was recorded before still counts.
#[actix_web::test]
async fn service_cannot_be_recorded_once_voting_started() {
    let t = TestApp::new().await;
    let w = world(&t).await;
    let app = service!(t);
    let ta = w.committee[0].1.clone();
    let starts_in = Duration::seconds(4);
    let id = published!(app, w, draft(starts_in, serde_json::json!({"silent_counts_as_participating": true})));
    let (s, _, m) = call!(app, post, format!("/v1/meetings/{id}/open"), w.committee[1].1, serde_json::json!({}));
    assert_eq!((s, m["status"].as_str()), (200, Some("open")));
    let starts: chrono::DateTime<Utc> = m["voting_starts_at"].as_str().unwrap().parse().unwrap();
    let body = || {
        serde_json::json!({"channel": "registered_mail", "served_at": Utc::now().to_rfc3339(),
                           "evidence_sha256": "ab".repeat(32), "units": [{"building": "B1", "unit": "0103"}]})
    };
    let (s, _, r) = call!(app, post, format!("/v1/meetings/{id}/service-records"), ta, body());
    assert_eq!(s, 201, "open, before the start: {r}");
    let wait = (starts - Utc::now()).to_std().unwrap_or_default() + std::time::Duration::from_millis(50);
    tokio::time::sleep(wait).await;
    let (s, _, e) = call!(app, post, format!("/v1/meetings/{id}/service-records"), ta, body());
    assert_eq!((s, e["code"].as_str()), (409, Some("service_not_recordable")), "{e}");
    assert_eq!(server_tally(&t, id).await.0, Weight::new(10000, 1), "the record made before the start serves");
}

/// An owner (or someone enrolling) reads the consent text, agrees to the current version, and withdraws; each
/// change is its own row, a repeated call records nothing, the rows never change, and nobody else's community
/// answers.
#[actix_web::test]
async fn owners_give_and_withdraw_consent_to_electronic_service() {
    let t = TestApp::new().await;
    let w = world(&t).await;
    let other = other_community(&t).await;
    let (_, stranger) = t.account().await;
    let app = service!(t);
    let (owner, token) = w.owners[0].clone();
    let url = format!("/v1/communities/{}/electronic-service-consent", w.community);
    let (s, _, v) = call!(app, get, url, token, serde_json::json!({}));
    assert_eq!(s, 200);
    assert_eq!((v["agreed"].as_bool(), v["since"].is_null()), (Some(false), true));
    assert_eq!(v["text"], service::ELECTRONIC_SERVICE_CONSENT_TEXT);
    let (s, _, e) = call!(app, put, url, token, serde_json::json!({"agreed": true, "text_version": "2020-old"}));
    assert_eq!((s, e["code"].as_str()), (422, Some("electronic_service_consent_version")));
    let (s, _, e) = call!(app, put, url, token, serde_json::json!({"agreed": true}));
    assert_eq!((s, e["code"].as_str()), (422, Some("electronic_service_consent_version")), "agreeing names the text");
    let given = consent!(app, w.community, &token, true);
    assert_eq!(given["agreed"], true);
    let again = consent!(app, w.community, &token, true);
    assert_eq!(again["since"], given["since"], "unchanged: nothing recorded");
    let withdrawn = consent!(app, w.community, &token, false);
    assert_eq!(withdrawn["agreed"], false);
    for (path, tok) in [(url.clone(), &stranger), (format!("/v1/communities/{other}/electronic-service-consent"), &token)] {
        let (s, _, _) = call!(app, get, path, tok, serde_json::json!({}));
        assert_eq!(s, 404);
        let (s, _, _) = call!(app, put, path, tok, serde_json::json!({"agreed": false}));
        assert_eq!(s, 404);
    }
    let mut conn = t.conn().await;
    let rows: Vec<(bool, Option<String>, String)> = electronic_service_consents::table
        .filter(electronic_service_consents::account_id.eq(owner))
        .order(electronic_service_consents::at.asc())
        .select((electronic_service_consents::agreed, electronic_service_consents::text_version, electronic_service_consents::source))
        .load(&mut conn)
        .await
        .unwrap();
    let version = Some(service::ELECTRONIC_SERVICE_CONSENT_VERSION.to_owned());
    assert_eq!(rows, [(true, version, "owner".to_owned()), (false, None, "owner".to_owned())]);
    let r = diesel::sql_query("UPDATE electronic_service_consents SET agreed = true").execute(&mut conn).await;
    assert!(r.is_err(), "consent records never change");
}
