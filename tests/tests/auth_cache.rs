//! Authenticated keys are trusted from memory for `auth_cache_secs` (1 s by default), and no
//! longer: a key revoked through one replica stops working at once there and within that
//! bound on every other replica sharing the database.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "tests panic on a broken environment"
)]

use std::time::{Duration, Instant};

use credence_e2e::{Backend, TestApp, expect_json};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_revoked_key_stops_on_every_replica_within_the_bound() {
    let apps = TestApp::replicas(Backend::Sqlite, 2)
        .await
        .expect("SQLite is always available");
    revoked_everywhere(&apps).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_revoked_key_stops_on_every_replica_within_the_bound() {
    let Some(apps) = TestApp::replicas(Backend::Postgres, 2).await else {
        return;
    };
    revoked_everywhere(&apps).await;
}

async fn status(app: &TestApp, key: &str) -> u16 {
    app.get_with_key(key, "/api/marketplace/v2/customer")
        .await
        .status()
        .as_u16()
}

async fn revoked_everywhere(apps: &[TestApp]) {
    let (first, other) = (&apps[0], &apps[1]);
    let customer = first.add_customer("CACHED", "Cached").await;
    let body = json!({"reference": "cached-user", "name": "c", "role": "customer", "customerId": customer["id"]});
    let user: Value = first.create("/api/v1.0/users", &body).await;
    let keys = format!("/api/v1.0/users/{}/keys", user["id"]);
    let record: Value = first.create(&keys, &json!({})).await;
    let key = record["secret"].as_str().expect("a secret").to_owned();

    // Both replicas know the key (and now hold it in memory).
    assert_eq!(status(first, &key).await, 200);
    assert_eq!(status(other, &key).await, 200);

    let revoked_at = Instant::now();
    expect_json(first.delete(&format!("{keys}/{}", record["id"])).await, 200).await;
    assert_eq!(
        status(first, &key).await,
        403,
        "the replica that revoked forgets the key at once"
    );
    // The other replica may answer from memory until its entry lapses: at most 1 s (plus
    // this test's own request time), never longer.
    loop {
        let answered = status(other, &key).await;
        if answered == 403 {
            break;
        }
        assert_eq!(answered, 200);
        assert!(
            revoked_at.elapsed() < Duration::from_millis(1_500),
            "a revoked key still worked on another replica after {:?}",
            revoked_at.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // And it stays refused.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(status(other, &key).await, 403);
}
