//! Enough verified voters for a real meeting: every person owner of the demo register has a reference face in the
//! sandbox (the 20 committed ones, the rest derived from the ID number), so any of them can enroll through the real
//! flow; another person's face still fails. Bulk enrollment with bounded concurrency, timed.
//!
//! `LINLI_BULK_ENROLL_COUNT` (default 24) sets how many owners the bulk test enrolls; `LINLI_BULK_ENROLL_CONCURRENCY`
//! (default 8) how many at once. The figure for 850 is in the README ("Other scripts").

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use serde_json::Value;

use linli_tests::owner::Owner;
use linli_tests::voters::{enroll_many, face_png, person_owners, sharing_no_unit, unit_ids};
use linli_tests::world::World;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_person_owner_can_enroll_and_a_stranger_face_fails() {
    let world = World::start().await.unwrap();
    let sandbox = world.sandbox.base_url();
    let all = person_owners(&sandbox).await.unwrap();
    assert!(all.len() > 900, "the register's person owners: {}", all.len());
    let committed: Vec<String> = linli_tests::owner::demo_persons(&world).await.unwrap().into_iter().map(|p| p.id_number).collect();
    assert_eq!(committed.len(), 20);
    assert!(committed.iter().all(|id| all.iter().any(|p| &p.id_number == id)), "the 20 are person owners too");

    // A person without a committed image: their derived face passes, another person's derived face does not.
    let voters = sharing_no_unit(&all);
    let derived: Vec<_> = voters.iter().filter(|p| !committed.contains(&p.id_number)).take(2).cloned().collect();
    let (alice, bob) = (&derived[0], &derived[1]);
    let units = unit_ids(&world).await.unwrap();
    let owner = Owner::login(&world, "o-stranger-face").await.unwrap();
    let id = owner.start_enrollment_as(world.community_id, units[&alice.units[0]], &alice.name, &alice.id_number).await.unwrap();
    let stranger = face_png(&owner.http, &sandbox, &bob.id_number).await.unwrap();
    let r: Value = owner.upload_face(id, stranger, "selfie.png").await.unwrap().json().await.unwrap();
    assert_eq!(r["passed"], false, "{r}");
    assert!(r["score"].as_f64().unwrap() < 50.0, "{r}");
    let own = face_png(&owner.http, &sandbox, &alice.id_number).await.unwrap();
    let r: Value = owner.upload_face(id, own, "selfie.png").await.unwrap().json().await.unwrap();
    assert_eq!(r["passed"], true, "{r}");
    // An ID number outside the register has no face at all.
    let missing = owner.http.get(format!("{sandbox}/sandbox/faces/110101199003070011")).send().await.unwrap();
    assert_eq!(missing.status(), 404);

    // Bulk: committed and derived persons alike, all four factors each, bounded concurrency.
    let count = env_usize("LINLI_BULK_ENROLL_COUNT", 24);
    let concurrency = env_usize("LINLI_BULK_ENROLL_CONCURRENCY", 8);
    // Some committed persons first, then derived ones.
    let mut batch: Vec<_> = voters.iter().filter(|p| p.id_number != alice.id_number).cloned().collect();
    batch.sort_by_key(|p| !committed.iter().take(4).any(|c| c == &p.id_number));
    batch.truncate(count);
    assert_eq!(batch.len(), count, "not enough persons sharing no unit");
    let started = Instant::now();
    let enrolled = enroll_many(&world, batch, concurrency).await.unwrap();
    let elapsed = started.elapsed();
    println!(
        "bulk enrollment: {count} owners, concurrency {concurrency}: {:.1} s ({:.1} owners/s)",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(enrolled.len(), count);
    for v in enrolled.iter().step_by((count / 6).max(1)) {
        let me: Value = v.owner.get("/v1/me").await.unwrap().json().await.unwrap();
        assert_eq!(me["verified_owner"], true, "{me}");
        assert_eq!(me["pin_set"], true, "{me}");
        assert!(me["device"]["serial"].is_string(), "{me}");
    }
}
