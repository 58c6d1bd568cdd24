//! Webhook deliveries to a real receiver, with three replicas on one database, on both
//! backends: deliveries are signed and carry the event as the feed shows it; a receiver that
//! fails twice gets the event three times, with growing gaps, before the customer's next
//! event; the delivery log tells the story; redelivery sends it again; and a replica that dies
//! mid-delivery leaves the attempt to another, which makes it once its lease lapses.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "tests panic on a broken environment"
)]

use std::sync::Arc;
use std::time::Duration;

use credence_domain::events::signature;
use credence_e2e::receiver::{Answer, Received, Receiver};
use credence_e2e::{TestApp, expect_error, expect_json, expect_not_found, metric};
use credence_server::config::Config;
use credence_store::test_support::TestDb;
use serde_json::{Value, json};

const ENDPOINTS: &str = "/api/v1.0/webhookEndpoints";
/// The sender's time-out in these tests: a dead replica's lease lapses this plus 5 s later.
const TIMEOUT_SECS: u64 = 1;

fn settings(config: &mut Config) {
    config.webhook_allow_private_networks = true;
    config.webhook_retry_base_secs = 1;
    config.webhook_timeout_secs = TIMEOUT_SECS;
}

async fn replicas(db: &Arc<TestDb>, n: usize) -> Vec<TestApp> {
    let mut apps = Vec::new();
    for _ in 0..n {
        apps.push(TestApp::spawn_configured(Arc::clone(db), settings).await);
    }
    apps
}

/// Creates an admin endpoint for `types` posting to `receiver`; returns its id and secret.
async fn subscribe(app: &TestApp, receiver: &Receiver, types: &[&str]) -> (i64, String) {
    let created = app
        .create(ENDPOINTS, &json!({"url": receiver.url(), "types": types}))
        .await;
    (
        created["id"].as_i64().unwrap(),
        created["secret"].as_str().unwrap().to_owned(),
    )
}

/// Posts a payment and returns its event's id, once the feed shows it.
async fn pay(app: &TestApp, customer: &Value, amount: u32) -> String {
    let path = format!("/api/v1.0/customers/{}/account/payments", customer["id"]);
    let entry = app.create(&path, &json!({"amount": amount})).await;
    let feed = format!(
        "/api/v1.0/events?customerId={}&type=account.payment&max=1000",
        customer["id"]
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let page = app.get_json(&feed).await;
        if let Some(event) = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["data"]["object"]["id"] == entry["id"])
        {
            return event["id"].as_str().unwrap().to_owned();
        }
        assert!(tokio::time::Instant::now() < deadline, "no event: {page}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn of_event<'a>(received: &'a [Received], event: &str) -> Vec<&'a Received> {
    received.iter().filter(|r| r.event_id == event).collect()
}

async fn three_replicas_deliver_signed_in_order_with_backoff(db: TestDb) {
    let db = Arc::new(db);
    let apps = replicas(&db, 3).await;
    // The first delivery of each event fails twice, then succeeds.
    let receiver = Receiver::start(|_, before| {
        if before < 2 {
            Answer::Status(500)
        } else {
            Answer::Status(204)
        }
    });
    let (endpoint, secret) = subscribe(&apps[0], &receiver, &["account.payment"]).await;
    let customer = apps[1]
        .create_customer(&json!({"reference": "HOOK", "name": "Hooked"}))
        .await;
    let first = pay(&apps[1], &customer, 100).await;
    let second = pay(&apps[2], &customer, 200).await;

    let received = receiver
        .wait_for(Duration::from_secs(60), |r| {
            of_event(r, &first).len() >= 3 && of_event(r, &second).len() >= 3
        })
        .await;
    // The second event was not sent before the first one succeeded.
    let order: Vec<&str> = received.iter().map(|r| r.event_id.as_str()).collect();
    assert_eq!(
        order[..4],
        [&first, &first, &first, &second].map(String::as_str),
        "{order:?}"
    );
    let tries = of_event(&received, &first);
    let (gap1, gap2) = (tries[1].at - tries[0].at, tries[2].at - tries[1].at);
    assert!(gap1 >= Duration::from_millis(900), "{gap1:?}");
    assert!(gap2 > gap1, "the wait grows: {gap1:?} then {gap2:?}");

    // Each delivery is signed with the endpoint's secret and is the event as the feed shows it.
    let shown = expect_json(apps[0].get(&format!("/api/v1.0/events/{first}")).await, 200).await;
    for delivery in &received {
        assert!(
            signature::verifies(&delivery.signature, &secret, &delivery.body),
            "{}",
            delivery.signature
        );
        assert_eq!(delivery.event_type, "account.payment");
        assert_eq!(delivery.content_type, "application/json");
        assert_eq!(delivery.json()["id"], delivery.event_id.as_str());
    }
    assert_eq!(tries[0].json(), shown);
    // A wrong secret does not verify.
    assert!(!signature::verifies(
        &tries[0].signature,
        "whsec_other",
        &tries[0].body
    ));

    // No attempt was made twice by the replicas.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.received().len(), 6, "three tries of each event");
    // Each replica counts the attempts it made, by outcome: together, two that succeeded and
    // four that failed.
    let mut counted = (0.0, 0.0);
    for app in &apps {
        let text = app.get("/metrics").await.text().await.unwrap();
        let outcome = |outcome| {
            metric(
                &text,
                &format!("credence_webhook_deliveries_total{{outcome=\"{outcome}\"}}"),
            )
            .unwrap_or(0.0)
        };
        counted.0 += outcome("succeeded");
        counted.1 += outcome("failed");
    }
    assert_eq!(counted, (2.0, 4.0));

    // The log, newest first.
    let log = expect_json(
        apps[2]
            .get(&format!("{ENDPOINTS}/{endpoint}/deliveries"))
            .await,
        200,
    )
    .await;
    let rows = log["data"].as_array().unwrap();
    let of_first: Vec<(u64, &str, u64)> = rows
        .iter()
        .filter(|row| row["eventId"] == first.as_str())
        .map(|row| {
            (
                row["attempt"].as_u64().unwrap(),
                row["status"].as_str().unwrap(),
                row["responseStatus"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        of_first,
        [
            (3, "succeeded", 204),
            (2, "failed", 500),
            (1, "failed", 500)
        ],
        "{log}"
    );
    let failed = rows
        .iter()
        .find(|row| row["eventId"] == first.as_str() && row["attempt"] == 1)
        .unwrap();
    assert!(failed["nextAttemptAt"].is_string(), "{failed}");
    assert!(failed["attemptedAt"].is_string(), "{failed}");
    assert!(failed["durationMs"].is_u64(), "{failed}");
    assert!(failed["error"].is_null(), "{failed}");

    // Redelivery queues one more attempt, sent at once.
    let queued = expect_json(
        apps[1]
            .post_json(
                &format!("/api/v1.0/events/{second}/redeliver"),
                &json!({"endpointId": endpoint}),
            )
            .await,
        202,
    )
    .await;
    assert_eq!(queued["attempt"], 4);
    assert_eq!(queued["status"], "pending");
    receiver
        .wait_for(Duration::from_secs(30), |r| of_event(r, &second).len() == 4)
        .await;
    expect_error(
        apps[0]
            .post_json(&format!("/api/v1.0/events/{second}/redeliver"), &json!({}))
            .await,
        400,
        "missing_param",
        "endpointId parameter is missing",
    )
    .await;
    expect_not_found(
        apps[0]
            .post_json(
                "/api/v1.0/events/evt_999999/redeliver",
                &json!({"endpointId": endpoint}),
            )
            .await,
        "The event evt_999999 doesn't exist.",
    )
    .await;
    expect_not_found(
        apps[0]
            .post_json(
                &format!("/api/v1.0/events/{second}/redeliver"),
                &json!({"endpointId": 999_999}),
            )
            .await,
        "The webhook endpoint with the id 999999 doesn't exist.",
    )
    .await;
}

/// Starts a replica on a runtime of its own, so that shutting that runtime down kills the
/// replica's dispatcher wherever it is (here: waiting for a receiver's answer), as a crash
/// would; it creates the endpoint and a customer, whose creation is the delivered event.
fn doomed_replica(db: Arc<TestDb>, url: String) -> (tokio::runtime::Runtime, i64) {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let endpoint = runtime.block_on(async move {
            let app = TestApp::spawn_configured(db, settings).await;
            let created = app
                .create(
                    ENDPOINTS,
                    &json!({"url": url, "types": ["customer.created"]}),
                )
                .await;
            app.add_customer("DOOMED", "Doomed").await;
            created["id"].as_i64().unwrap()
        });
        (runtime, endpoint)
    })
    .join()
    .unwrap()
}

async fn a_replica_killed_mid_delivery_leaves_it_to_another(db: TestDb) {
    let db = Arc::new(db);
    // The first delivery never gets an answer; the next one succeeds.
    let receiver = Receiver::start(|_, before| {
        if before == 0 {
            Answer::Hang
        } else {
            Answer::Status(200)
        }
    });
    let (doomed, endpoint) = doomed_replica(Arc::clone(&db), receiver.url());
    receiver
        .wait_for(Duration::from_secs(30), |r| r.len() == 1)
        .await;
    // The replica dies while its delivery waits for an answer.
    doomed.shutdown_background();
    let survivors = replicas(&db, 2).await;
    let received = receiver
        .wait_for(Duration::from_secs(30), |r| r.len() == 2)
        .await;
    assert_eq!(received[0].event_id, received[1].event_id);
    let waited = received[1].at - received[0].at;
    assert!(
        waited >= Duration::from_secs(TIMEOUT_SECS + 4),
        "made again only once the lease lapsed: {waited:?}"
    );
    let log = expect_json(
        survivors[0]
            .get(&format!("{ENDPOINTS}/{endpoint}/deliveries"))
            .await,
        200,
    )
    .await;
    let rows = log["data"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{log}");
    assert_eq!(rows[0]["attempt"], 1);
    assert_eq!(rows[0]["status"], "succeeded");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(receiver.received().len(), 2, "delivered, and not again");
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(credence_store::test_support::TestDb::sqlite()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = credence_store::test_support::TestDb::postgres() else { return };
                    super::$name(db).await;
                }
            )*
        }
    };
}

on_both!(
    three_replicas_deliver_signed_in_order_with_backoff,
    a_replica_killed_mid_delivery_leaves_it_to_another,
);
