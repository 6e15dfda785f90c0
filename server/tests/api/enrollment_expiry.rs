//! The enrollment expiry job against real rows: an enrollment left open for 7 days expires; one waiting for a
//! manual registry review does not, however old; one whose review ended recently gets its 7 days again.

use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use linli_identity::enrollment::{Enrollment, EnrollmentEvent, ReviewVerdict};
use linli_server::schema::{enrollments, units};
use uuid::Uuid;

use crate::common::TestApp;

async fn insert(t: &TestApp, community: Uuid, unit: Uuid, rules: &Enrollment) -> Uuid {
    let (account, _) = t.account().await;
    let id = Uuid::now_v7();
    let mut conn = t.conn().await;
    diesel::insert_into(enrollments::table)
        .values((
            enrollments::id.eq(id),
            enrollments::account_id.eq(account),
            enrollments::community_id.eq(community),
            enrollments::unit_id.eq(unit),
            enrollments::real_name_enc.eq("not read by the job"),
            enrollments::id_number_enc.eq("not read by the job"),
            enrollments::id_number_bidx.eq(format!("bidx-{id}")),
            enrollments::status.eq("open"),
            enrollments::state.eq(serde_json::to_value(rules).unwrap()),
            enrollments::created_at.eq(rules.created_at),
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    id
}

async fn status(t: &TestApp, id: Uuid) -> String {
    enrollments::table.find(id).select(enrollments::status).first(&mut t.conn().await).await.unwrap()
}

#[actix_web::test]
async fn the_expiry_job_skips_enrollments_waiting_for_staff() {
    let t = TestApp::new().await;
    let community = t.import_demo().await;
    let unit: Uuid = units::table.filter(units::community_id.eq(community)).select(units::id).first(&mut t.conn().await).await.unwrap();
    let long_ago = Utc::now() - Duration::days(20);
    let start = || Enrollment::start("2026-01", "2026-01", long_ago).unwrap();
    // The registry (and its manual review) is asked only after the face factor passed.
    let face_passed = || {
        let e = start().apply(EnrollmentEvent::FaceConsentGiven { version: "f1".into() }, long_ago).unwrap().0;
        let face = EnrollmentEvent::FaceChecked { passed: true, score: 92.0, request_id: "r".into(), image_sha256: "h".into() };
        e.apply(face, long_ago).unwrap().0
    };

    let stale = insert(&t, community, unit, &start()).await;

    let (waiting, _) = face_passed().apply(EnrollmentEvent::RegistryReviewRequested, long_ago + Duration::hours(1)).unwrap();
    let waiting = insert(&t, community, unit, &waiting).await;

    let (staff_a, staff_b) = (Uuid::now_v7(), Uuid::now_v7());
    let (e, _) = face_passed().apply(EnrollmentEvent::RegistryReviewRequested, long_ago + Duration::hours(1)).unwrap();
    let proposal = EnrollmentEvent::RegistryReviewProposed {
        verdict: ReviewVerdict::Approve,
        proposed_by: staff_a,
        registered_area_centi_m2: Some(8935),
        scan_sha256: "00".into(),
        third_review_required: false,
    };
    let (e, _) = e.apply(proposal, Utc::now() - Duration::days(3)).unwrap();
    let decided = EnrollmentEvent::RegistryReviewDecided { confirmed: true, proposed_by: staff_a, decided_by: staff_b };
    let (reviewed, _) = e.apply(decided, Utc::now() - Duration::days(2)).unwrap();
    let reviewed = insert(&t, community, unit, &reviewed).await;

    let mut conn = t.conn().await;
    let expired = linli_server::enrollment::store::expire_stale(&mut conn).await.unwrap();
    assert_eq!(expired, 1);
    assert_eq!(status(&t, stale).await, "expired");
    assert_eq!(status(&t, waiting).await, "open", "waiting for staff does not count against the owner");
    assert_eq!(status(&t, reviewed).await, "open", "7 days again from the review's end");
}
