//! PIN lockout lives in PostgreSQL: it holds across a Redis restart; and a signed request replayed after Redis
//! lost its nonces has no second effect. This test runs its own Redis so restarting it disturbs nobody else.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use linli_tests::client::sign_request;
use linli_tests::owner::{Owner, demo_persons, unit_id};
use linli_tests::redis::Redis;
use linli_tests::world::World;
use serde_json::{Value, json};

async fn change_pin(owner: &Owner, old: &str, new: &str) -> (u16, String) {
    let resp = owner.signed("PUT", "/v1/me/pin", &json!({ "old_pin": old, "new_pin": new })).await.unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

/// Logs in again after Redis lost the sessions, keeping the device key and certificate.
async fn relogin(world: &World, owner: Owner) -> Owner {
    let mut again = Owner::login(world, &owner.openid).await.unwrap();
    again.key = owner.key;
    again.serial = owner.serial;
    again
}

#[tokio::test]
async fn lockout_survives_a_redis_restart_and_replays_have_no_second_effect() {
    let redis = Redis::start(linli_tests::free_port().unwrap()).await.unwrap();
    let env = vec![("LINLI_REDIS__URL".to_owned(), redis.url())];
    let world = World::start_with(&env).await.unwrap();
    let person = demo_persons(&world).await.unwrap().remove(5);
    let unit = unit_id(&world, &person.building, &person.unit).await.unwrap();
    let mut owner = Owner::login(&world, "o-lockout").await.unwrap();
    owner.enroll(&world, unit, &person, "739415").await.unwrap();

    // A PIN change, then Redis forgets every nonce and session; the identical request replayed has no effect.
    let body = serde_json::to_vec(&json!({ "old_pin": "739415", "new_pin": "846203" })).unwrap();
    let headers = sign_request(owner.key.as_ref().unwrap(), owner.serial.as_deref().unwrap(), "PUT", "/v1/me/pin", &body);
    assert_eq!(owner.send_raw("PUT", "/v1/me/pin", &body, &headers).await.unwrap().status(), 204);
    let redis = redis.restart().await.unwrap();
    let owner = relogin(&world, owner).await;
    let replay = owner.send_raw("PUT", "/v1/me/pin", &body, &headers).await.unwrap();
    let status = replay.status().as_u16();
    let code: Value = replay.json().await.unwrap();
    assert_eq!((status, code["code"].as_str().unwrap()), (403, "pin_incorrect"), "the old PIN no longer works");
    // The PIN is still the one the first request set.
    assert_eq!(change_pin(&owner, "846203", "592730").await.0, 204);

    // Five wrong PINs lock PIN use (the success just now reset the failure counter).
    let mut last = (0, String::new());
    for _ in 0..5 {
        last = change_pin(&owner, "000001", "307948").await;
    }
    assert_eq!(last, (423, "pin_locked".to_owned()));
    // Redis restarts: sessions are gone, the lock is not.
    let _redis = redis.restart().await.unwrap();
    let owner = relogin(&world, owner).await;
    assert_eq!(change_pin(&owner, "592730", "307948").await, (423, "pin_locked".to_owned()));
    let me: Value = owner.get("/v1/me").await.unwrap().json().await.unwrap();
    assert!(me["pin_locked_until"].is_string(), "{me}");
}
