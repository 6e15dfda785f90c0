//! Written proxies end to end (DESIGN §5: "a written proxy (uploaded authorisation, staff-reviewed) lets one owner
//! vote for another"): the real `linli` binary, sandbox and devnode. A holder files scanned authorisations while
//! the meeting is published; support staff review them; the roll freeze gives each approved proxy its
//! principal's key and lapses the rest; the holder casts one sheet for themselves and one per principal; the
//! principal's own account no longer votes for that key; the chain and the published result count every sheet.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{Value, json};
use uuid::Uuid;

use linli_tests::meeting::{
    Voter, close_meeting, committee, enroll_voters, published_result, submit_proxy_sheet, submit_sheet, two_proposals, voter_persons, wait_for,
};
use linli_tests::owner::{DemoPerson, Owner};
use linli_tests::world::World;

/// Files a proxy for `principal`'s unit; returns (status, body).
async fn file(holder: &Owner, meeting: Uuid, building: &str, unit: &str, scan: Vec<u8>) -> (u16, Value) {
    let form = reqwest::multipart::Form::new()
        .text("building", building.to_owned())
        .text("unit", unit.to_owned())
        .part("scan", reqwest::multipart::Part::bytes(scan).file_name("authorisation.pdf"));
    let resp = holder
        .http
        .post(format!("{}/v1/meetings/{meeting}/proxies", holder.base))
        .bearer_auth(&holder.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn file_for(holder: &Owner, meeting: Uuid, principal: &DemoPerson) -> (u16, Value) {
    file(holder, meeting, &principal.building, &principal.unit, linli_tests::one_page_pdf(&principal.unit)).await
}

async fn staff(world: &World, openid: &str) -> Owner {
    use diesel_async::{AsyncConnection, AsyncPgConnection};
    let s = Owner::login(world, openid).await.unwrap();
    let mut conn = AsyncPgConnection::establish(world.db.url()).await.unwrap();
    linli_server::auth::roles::grant(&mut conn, s.account_id, world.community_id, linli_server::auth::Role::Support).await.unwrap();
    s
}

async fn decide(staff: &Owner, world: &World, proxy: &str, approve: bool) -> (u16, Value) {
    let path = format!("/v1/support/communities/{}/proxies/{proxy}/decision", world.community_id);
    let resp = staff.post(&path, &json!({"approve": approve, "note": "对照原件核验"})).await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn id_of(body: &Value) -> Uuid {
    body["id"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn staff_approved_written_proxies_vote_for_their_principals_on_chain() {
    let world = World::start_with_chain().await.unwrap();
    let chain = world.chain().unwrap();
    // voters[0] holds proxies; voters[1] is an enrolled principal; persons 2–4 never enrolled.
    let voters: Vec<Voter> = enroll_voters(&world, "o-proxy-voter", 2).await.unwrap();
    let persons = voter_persons(&world).await.unwrap();
    let (p_unenrolled, p_rejected, p_lapsed) = (&persons[2], &persons[3], &persons[4]);
    let a = committee(&world, "o-proxy-com-a").await.unwrap();
    let b = committee(&world, "o-proxy-com-b").await.unwrap();
    let reviewer = staff(&world, "o-proxy-staff").await;

    let starts = chrono::Utc::now() + chrono::Duration::seconds(20);
    let ends = starts + chrono::Duration::seconds(8);
    // Vote change allowed: a holder may change a principal's sheet as an owner changes their own.
    let draft = json!({
        "title": "书面委托表决", "proposals": two_proposals(), "notice_days": 0,
        "rules": {"vote_change_allowed": true},
        "voting_starts_at": starts.to_rfc3339(), "voting_ends_at": ends.to_rfc3339()
    });
    let m: Value = a.post(&format!("/v1/communities/{}/meetings", world.community_id), &draft).await.unwrap().json().await.unwrap();
    let id: Uuid = m["id"].as_str().unwrap().parse().unwrap();
    // Before publication nobody files.
    let holder = &voters[0];
    let (s, e) = file_for(&holder.owner, id, p_unenrolled).await;
    assert_eq!((s, e["code"].as_str()), (409, Some("proxy_filing_closed")), "{e}");
    for (who, step) in [(&a, "submit"), (&a, "committee-review"), (&b, "committee-review")] {
        let r = who.post(&format!("/v1/meetings/{id}/{step}"), &json!({"approved": true})).await.unwrap();
        assert_eq!(r.status(), 200, "{step}: {}", r.text().await.unwrap());
    }

    // Refusals change nothing.
    let own = &holder.person;
    let (s, e) = file_for(&holder.owner, id, own).await;
    assert_eq!((s, e["code"].as_str()), (422, Some("proxy_for_own_unit")), "{e}");
    let (s, e) = file(&holder.owner, id, "99", "9999", linli_tests::one_page_pdf("x")).await;
    assert_eq!((s, e["code"].as_str()), (422, Some("proxy_unit_unknown")), "{e}");
    let (s, _) = file(&holder.owner, id, &p_unenrolled.building, &p_unenrolled.unit, b"not a scan at all".to_vec()).await;
    assert_eq!(s, 415);
    let (s, e) = file_for(&a, id, p_unenrolled).await;
    assert_eq!((s, e["code"].as_str()), (404, Some("not_found")), "a committee member who owns nothing holds no proxy: {e}");

    // Four authorisations: two approved, one rejected, one left waiting.
    let (s, for_enrolled) = file_for(&holder.owner, id, &voters[1].person).await;
    assert_eq!(s, 201, "{for_enrolled}");
    assert_eq!(for_enrolled["status"], "submitted");
    let (s, for_unenrolled) = file_for(&holder.owner, id, p_unenrolled).await;
    assert_eq!(s, 201, "{for_unenrolled}");
    let (s, e) = file_for(&voters[1].owner, id, p_unenrolled).await;
    assert_eq!((s, e["code"].as_str()), (409, Some("proxy_exists")), "one live proxy per unit: {e}");
    let (s, to_reject) = file_for(&voters[1].owner, id, p_rejected).await;
    assert_eq!(s, 201, "{to_reject}");
    let (s, to_lapse) = file_for(&voters[1].owner, id, p_lapsed).await;
    assert_eq!(s, 201, "{to_lapse}");
    let mine: Value = holder.owner.get(&format!("/v1/meetings/{id}/proxies")).await.unwrap().json().await.unwrap();
    assert_eq!(mine["proxies"].as_array().unwrap().len(), 2, "{mine}");

    // Staff see the waiting proxies with the register's names and the holder's, and the scan itself.
    let list_path = format!("/v1/support/communities/{}/proxies", world.community_id);
    let list: Value = reviewer.get(&list_path).await.unwrap().json().await.unwrap();
    let waiting = list["proxies"].as_array().unwrap();
    assert_eq!(waiting.len(), 4, "{list}");
    let entry = waiting.iter().find(|p| p["id"] == for_unenrolled["id"]).unwrap();
    assert!(entry["principal_names"].as_array().unwrap().contains(&json!(p_unenrolled.name)), "{entry}");
    assert_eq!(entry["holder_name"], holder.person.name);
    assert_eq!(holder.owner.get(&list_path).await.unwrap().status(), 404, "owners are not staff");
    let scan = reviewer.get(&format!("{list_path}/{}/scan", for_unenrolled["id"].as_str().unwrap())).await.unwrap();
    assert_eq!(scan.status(), 200);
    assert_eq!(scan.headers()["cache-control"], "no-store");
    assert_eq!(scan.bytes().await.unwrap().as_ref(), linli_tests::one_page_pdf(&p_unenrolled.unit).as_slice());

    // A holder who is also staff cannot approve their own proxy.
    {
        use diesel_async::{AsyncConnection, AsyncPgConnection};
        let mut conn = AsyncPgConnection::establish(world.db.url()).await.unwrap();
        linli_server::auth::roles::grant(&mut conn, holder.owner.account_id, world.community_id, linli_server::auth::Role::Support)
            .await
            .unwrap();
    }
    let (s, e) = decide(&holder.owner, &world, for_enrolled["id"].as_str().unwrap(), true).await;
    assert_eq!((s, e["code"].as_str()), (409, Some("proxy_reviewer_is_holder")), "{e}");
    for (proxy, approve) in [(&for_enrolled, true), (&for_unenrolled, true), (&to_reject, false)] {
        let (s, v) = decide(&reviewer, &world, proxy["id"].as_str().unwrap(), approve).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["status"], if approve { "approved" } else { "rejected" });
    }
    let (s, e) = decide(&reviewer, &world, for_enrolled["id"].as_str().unwrap(), false).await;
    assert_eq!((s, e["code"].as_str()), (409, Some("proxy_not_submitted")), "decided once: {e}");

    // Voting opens: the roll freezes with the approved proxies; what is still waiting lapses.
    let r = b.post(&format!("/v1/meetings/{id}/open"), &json!({})).await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let (s, e) = file_for(&holder.owner, id, p_lapsed).await;
    assert_eq!((s, e["code"].as_str()), (409, Some("proxy_filing_closed")), "{e}");
    let theirs: Value = voters[1].owner.get(&format!("/v1/meetings/{id}/proxies")).await.unwrap().json().await.unwrap();
    let status_of = |p: &Value| theirs["proxies"].as_array().unwrap().iter().find(|x| x["id"] == p["id"]).unwrap()["status"].clone();
    assert_eq!((status_of(&to_reject), status_of(&to_lapse)), (json!("rejected"), json!("lapsed")));

    tokio::time::sleep((starts - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(300)).await;
    let give_up = Duration::from_secs(20);
    let own_sheet = submit_sheet(holder, id, &[0, 0], "proxy-own", give_up).await.unwrap();
    assert_eq!(own_sheet.status, 201, "{}", own_sheet.body);
    assert_eq!(own_sheet.body["proxy_id"], Value::Null);
    let (enrolled_proxy, unenrolled_proxy) = (id_of(&for_enrolled), id_of(&for_unenrolled));
    let by_proxy_1 = submit_proxy_sheet(holder, id, enrolled_proxy, &[1, 0], "proxy-p1", give_up).await.unwrap();
    assert_eq!(by_proxy_1.status, 201, "{}", by_proxy_1.body);
    assert_eq!(by_proxy_1.body["heads"], 1);
    let by_proxy_2 = submit_proxy_sheet(holder, id, unenrolled_proxy, &[1, 1], "proxy-p2", give_up).await.unwrap();
    assert_eq!(by_proxy_2.status, 201, "{}", by_proxy_2.body);
    // The same proxy again: a change of that principal's sheet, which leaves the holder's own sheet alone.
    let again = submit_proxy_sheet(holder, id, enrolled_proxy, &[0, 0], "proxy-p1-again", give_up).await.unwrap();
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!((&again.body["replaces"], &again.body["proxy_id"]), (&by_proxy_1.body["sheet_id"], &json!(enrolled_proxy)));
    assert_eq!(again.body["area_centi_m2"], by_proxy_1.body["area_centi_m2"], "the weight is the key's");
    // A proxy not held, the rejected one, and the principal voting themselves.
    let stranger = submit_proxy_sheet(holder, id, Uuid::now_v7(), &[0, 0], "proxy-none", give_up).await.unwrap();
    assert_eq!((stranger.status, stranger.body["code"].as_str()), (403, Some("proxy_not_on_roll")), "{}", stranger.body);
    let rejected = submit_proxy_sheet(&voters[1], id, id_of(&to_reject), &[0, 0], "proxy-rejected", give_up).await.unwrap();
    assert_eq!(rejected.body["code"], "proxy_not_on_roll", "{}", rejected.body);
    let themselves = submit_sheet(&voters[1], id, &[0, 0], "proxy-principal", give_up).await.unwrap();
    assert_eq!((themselves.status, themselves.body["code"].as_str()), (403, Some("not_on_roll")), "{}", themselves.body);

    // Receipts per sheet, and the chain holds each one under its own pseudonym.
    let receipt = holder.owner.get(&format!("/v1/meetings/{id}/sheets/mine?proxy_id={enrolled_proxy}")).await.unwrap();
    let receipt: Value = receipt.json().await.unwrap();
    assert_eq!(receipt["sheet_id"], again.body["sheet_id"], "{receipt}");
    assert_eq!(receipt["proxy_id"], json!(enrolled_proxy));
    let own_receipt: Value = holder.owner.get(&format!("/v1/meetings/{id}/sheets/mine")).await.unwrap().json().await.unwrap();
    assert_eq!(own_receipt["sheet_id"], own_sheet.body["sheet_id"], "{own_receipt}");
    // Three live sheets on chain, the proxy's changed one among them (the contract counts live sheets).
    wait_for(Duration::from_secs(30), || async {
        Ok((chain.sheet_of_proxy(id, enrolled_proxy).await?.map(hex::encode) == again.body["sheet_hash"].as_str().map(str::to_owned)).then_some(()))
    })
    .await
    .unwrap();
    let m = chain.meeting(id).await.unwrap();
    assert_eq!((m.sheet_count, m.change_count), (3, 1));
    let hex_of = |a: &linli_tests::meeting::SheetAnswer| a.body["sheet_hash"].as_str().unwrap().to_owned();
    assert_eq!(chain.sheet_of(id, holder.owner.account_id).await.unwrap().map(hex::encode), Some(hex_of(&own_sheet)));
    assert_eq!(chain.sheet_of_proxy(id, enrolled_proxy).await.unwrap().map(hex::encode), Some(hex_of(&again)));
    assert_eq!(chain.sheet_of_proxy(id, unenrolled_proxy).await.unwrap().map(hex::encode), Some(hex_of(&by_proxy_2)));

    tokio::time::sleep((ends - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(300)).await;
    close_meeting(&a, id).await.unwrap();
    let result = published_result(&a, id, Duration::from_secs(30)).await
    .unwrap();
    let doc = &result["document"];
    assert_eq!(doc["chain_agrees"], true, "{result}");
    assert_eq!((doc["sheets"].as_i64(), doc["proxy_sheets"].as_i64(), doc["changed_sheets"].as_i64()), (Some(3), Some(2), Some(1)), "{result}");
    // Proposal 0: the holder said yes for themselves and (after the change) for the first principal, no for the second.
    let area = |a: &linli_tests::meeting::SheetAnswer| a.body["area_centi_m2"].as_i64().unwrap() as u64;
    let tally = chain.tally(id, 0).await.unwrap();
    let heads = |a: &linli_tests::meeting::SheetAnswer| a.body["heads"].as_u64().unwrap() as u32;
    assert_eq!(tally[0], (area(&own_sheet) + area(&again), heads(&own_sheet) + 1), "{tally:?}");
    assert_eq!(tally[1], (area(&by_proxy_2), 1), "{tally:?}");
}
