//! Co-owners designate their unit's voter (issue 24 item 8; `governance::co_owners`): a designation in effect when
//! a meeting's roll freezes decides who votes for the unit in it; one that takes effect after the freeze leaves
//! that roll alone and decides the next; revoked, the first co-owner to complete enrollment votes again. The
//! signature and PIN checks in front of `apply_signature` are the ballot sheet's (`auth::signed`, `auth::pin`).

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use linli_server::auth::Role;
use linli_server::governance::co_owner_voter::{Signed, apply_revocation, apply_signature};
use uuid::Uuid;

use crate::call_json as call;
use crate::common::TestApp;
use crate::service;

/// B01-0104 of the demo register: co-owned by these two.
const CO_OWNER_1: &str = "310104195802015447";
const CO_OWNER_2: &str = "310104196604210713";

fn draft(title: &str) -> serde_json::Value {
    let start = chrono::Utc::now() + chrono::Duration::seconds(3600);
    serde_json::json!({
        "title": title,
        "proposals": [{"matter": 5, "title": "更换电梯", "body": "更换 3 号楼电梯"}],
        "notice_days": 0,
        "voting_starts_at": start.to_rfc3339(),
        "voting_ends_at": (start + chrono::Duration::days(7)).to_rfc3339()
    })
}

/// The account voting for B01-0104 in a meeting's frozen roll.
async fn voter_of_unit(t: &TestApp, meeting: &str) -> Option<Uuid> {
    let mut conn = t.conn().await;
    let roll = linli_server::governance::store::roll(&mut conn, meeting.parse().unwrap()).await.unwrap();
    let entry = roll.iter().find(|e| e.units.iter().any(|u| u.building == "B01" && u.unit == "0104")).unwrap();
    entry.voter
}

#[actix_web::test]
async fn a_designation_in_effect_at_the_freeze_decides_the_voter_and_one_after_it_does_not() {
    let t = TestApp::new().await;
    let community = t.import_demo().await;
    let (a, ta) = t.account().await;
    let (b, tb) = t.account().await;
    t.grant(a, community, Role::Committee).await;
    t.grant(b, community, Role::Committee).await;
    // Co-owner 1 completes enrollment first: the fallback voter.
    let (first, first_token) = t.account().await;
    let p1 = t.link_person(first, community, CO_OWNER_1).await;
    let (second, second_token) = t.account().await;
    let p2 = t.link_person(second, community, CO_OWNER_2).await;
    let unit: Uuid = {
        use linli_server::schema::{buildings, units};
        units::table
            .inner_join(buildings::table)
            .filter(buildings::code.eq("B01"))
            .filter(units::number.eq("0104"))
            .filter(units::community_id.eq(community))
            .select(units::id)
            .first(&mut t.conn().await)
            .await
            .unwrap()
    };
    let app = service!(t);
    let open = async |title: &str| -> String {
        let (s, _, m) = call!(app, post, format!("/v1/communities/{community}/meetings"), ta, draft(title));
        assert_eq!(s, 201, "{m}");
        let id = m["id"].as_str().unwrap().to_owned();
        let (s, _, m) = call!(app, post, format!("/v1/meetings/{id}/submit"), ta, serde_json::json!({}));
        assert_eq!(s, 200, "{m}");
        for token in [&ta, &tb] {
            let (s, _, m) = call!(app, post, format!("/v1/meetings/{id}/committee-review"), token, serde_json::json!({"approved": true}));
            assert_eq!(s, 200, "{m}");
        }
        let (s, _, m) = call!(app, post, format!("/v1/meetings/{id}/open"), tb, serde_json::json!({}));
        assert_eq!((s, m["status"].as_str()), (200, Some("open")), "{m}");
        id
    };

    // Before any designation: the first to enroll votes.
    let (s, _, view) = call!(app, get, format!("/v1/units/{unit}/co-owner-voter"), second_token, serde_json::json!({}));
    assert_eq!(s, 200, "{view}");
    assert_eq!(view["voter"]["co_owner"], p1.to_string());
    assert_eq!((view["voter"]["basis"].as_str(), view["voter"]["you"].as_bool()), (Some("first_enrolled"), Some(false)));
    let before = open("designation 前").await;
    assert_eq!(voter_of_unit(&t, &before).await, Some(first));

    // Both enrolled co-owners sign the designation of co-owner 2: in effect with the second signature.
    let mut conn = t.conn().await;
    let signed = apply_signature(&mut conn, unit, first, p2, "serial-1", "nonce-1").await.unwrap();
    assert!(matches!(&signed.outcome, Signed::Waiting { missing, .. } if missing.iter().eq([&p2])), "{:?}", signed.outcome);
    assert_eq!(signed.tell, [second], "the other co-owner is told");
    let (s, _, view) = call!(app, get, format!("/v1/units/{unit}/co-owner-voter"), second_token, serde_json::json!({}));
    assert_eq!((s, view["pending"]["waiting_for"].clone()), (200, serde_json::json!([p2])), "{view}");
    assert_eq!(view["voter"]["co_owner"], p1.to_string(), "not yet in effect");
    let signed = apply_signature(&mut conn, unit, second, p2, "serial-2", "nonce-2").await.unwrap();
    assert!(matches!(signed.outcome, Signed::Effective { .. }), "{:?}", signed.outcome);
    assert_eq!(signed.tell, [first]);
    let again = apply_signature(&mut conn, unit, first, p2, "serial-1", "nonce-3").await.unwrap();
    assert!(matches!(again.outcome, Signed::AlreadyInEffect { .. }), "{:?}", again.outcome);
    // Co-owner 1 proposes themself; co-owner 2 signs the designation in effect instead: the proposal ends.
    let proposal = apply_signature(&mut conn, unit, first, p1, "serial-1", "nonce-4").await.unwrap();
    assert!(matches!(proposal.outcome, Signed::Waiting { .. }), "{:?}", proposal.outcome);
    let kept = apply_signature(&mut conn, unit, second, p2, "serial-2", "nonce-5").await.unwrap();
    assert!(matches!(kept.outcome, Signed::AlreadyInEffect { .. }), "{:?}", kept.outcome);
    let (s, _, view) = call!(app, get, format!("/v1/units/{unit}/co-owner-voter"), first_token, serde_json::json!({}));
    assert_eq!((s, &view["pending"], &view["designation"]["voter"]), (200, &serde_json::Value::Null, &serde_json::json!(p2)), "{view}");

    // The meeting frozen before keeps its voter; the next one gets the designee.
    assert_eq!(voter_of_unit(&t, &before).await, Some(first), "a frozen roll never changes");
    let after = open("designation 后").await;
    assert_eq!(voter_of_unit(&t, &after).await, Some(second));
    // The server's own gate for a sheet: the roll keys it finds for the caster.
    let ctx = |account: Uuid, meeting: &str| {
        let meeting: Uuid = meeting.parse().unwrap();
        let t = &t;
        async move {
            let conn = t.conn().await;
            linli_server::governance::store::sheet_context(&conn, meeting, account, None).await.unwrap().roll_keys
        }
    };
    let area = ctx(second, &after).await;
    assert_eq!(area.len(), 1, "the designee votes for the unit in the later meeting");
    assert!(ctx(second, &before).await.is_empty(), "but not in the one frozen before");
    let (s, _, view) = call!(app, get, format!("/v1/units/{unit}/co-owner-voter"), first_token, serde_json::json!({}));
    assert_eq!(s, 200, "{view}");
    assert_eq!((view["voter"]["basis"].as_str(), view["voter"]["you"].as_bool()), (Some("designation"), Some(false)));
    assert_eq!(view["designation"]["signed_by"].as_array().unwrap().len(), 2);
    assert!(view["voter"]["name"].as_str().unwrap().ends_with('*'), "names masked: {view}");

    // Any co-owner revokes; the fallback votes from the next freeze on.
    let revoked = apply_revocation(&mut conn, unit, first).await.unwrap();
    assert_eq!((revoked.outcome.len(), revoked.tell.as_slice()), (1, [second].as_slice()));
    let third = open("撤销后").await;
    assert_eq!(voter_of_unit(&t, &third).await, Some(first));
    assert_eq!(voter_of_unit(&t, &after).await, Some(second));

    // A designee who has not enrolled, a stranger, a sole-owned unit: refused.
    let (stranger, stranger_token) = t.account().await;
    let e = apply_signature(&mut conn, unit, stranger, p2, "serial-9", "nonce-9").await.unwrap_err();
    assert!(e.to_string().contains("not_found"), "{e}");
    let (s, _, e) = call!(app, get, format!("/v1/units/{unit}/co-owner-voter"), stranger_token, serde_json::json!({}));
    assert_eq!((s, e["code"].as_str()), (404, Some("not_found")));
    let nobody = Uuid::now_v7();
    let e = apply_signature(&mut conn, unit, first, nobody, "serial-1", "nonce-10").await.unwrap_err();
    assert!(e.to_string().contains("voter_not_a_co_owner"), "{e}");
    // One signed request is one signature: the same device and nonce again is a replay.
    let e = apply_signature(&mut conn, unit, first, p1, "serial-1", "nonce-1").await.unwrap_err();
    assert!(e.to_string().contains("nonce"), "{e}");
}
