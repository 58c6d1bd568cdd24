//! The event feed over real HTTP, on both backends: what each change writes, the object as
//! the API shows the resource, paging with `after`, type filters, scope, and bad input.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "tests panic on a broken environment"
)]

use std::time::Duration;

use credence_e2e::{
    TestApp, expect_error, expect_json, expect_not_found, expect_wrong_type, on_both_backends,
};
use reqwest::Method;
use serde_json::{Value, json};

on_both_backends!(
    changes_appear_in_the_feed_as_the_api_shows_them,
    the_feed_filters_pages_and_refuses_bad_input,
    a_reseller_reads_only_its_trees_events,
    credit_alerts_fire_once_in_the_feed,
);

const EVENTS: &str = "/api/v1.0/events";

/// The events of `path` (a feed URL), once `expected` of them are there: the feed shows an
/// event once every older write transaction has ended, which on a shared PostgreSQL server
/// can be a moment after the change answered.
async fn feed(app: &TestApp, path: &str, expected: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let page = app.get_json(path).await;
        let events = page["data"].as_array().expect("events").clone();
        if events.len() >= expected || tokio::time::Instant::now() > deadline {
            assert_eq!(events.len(), expected, "{page}");
            return events;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn types(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["type"].as_str().expect("a type"))
        .collect()
}

async fn changes_appear_in_the_feed_as_the_api_shows_them(app: TestApp) {
    let customer = app
        .create_customer(&json!({"reference": "EVT", "name": "Events", "creditLimit": 100}))
        .await;
    let id = &customer["id"];
    let account = format!("/api/v1.0/customers/{id}/account");
    let payment = app
        .create(&format!("{account}/payments"), &json!({"amount": 50}))
        .await;
    let reservation = app
        .create(
            &format!("{account}/reservations"),
            &json!({"amount": "20.00"}),
        )
        .await;
    let refused = app
        .post_json(&format!("{account}/reservations"), &json!({"amount": 1000}))
        .await;
    assert_eq!(refused.status(), 422);

    let events = feed(&app, &format!("{EVENTS}?customerId={id}"), 4).await;
    assert_eq!(
        types(&events),
        [
            "customer.created",
            "account.payment",
            "reservation.admitted",
            "reservation.refused"
        ]
    );
    for (n, event) in events.iter().enumerate() {
        assert!(event["id"].as_str().unwrap().starts_with("evt_"), "{event}");
        assert_eq!(event["customerId"], *id);
        assert_eq!(event["customerReference"], "EVT");
        assert_eq!(event["sequence"], json!(n + 1));
        assert!(
            event["createdAt"].as_str().unwrap().ends_with('Z'),
            "{event}"
        );
    }
    // The object is the resource after the change, as the API shows it.
    let shown = app.get_json(&format!("/api/v1.0/customers/{id}")).await;
    assert_eq!(events[0]["data"]["object"]["reference"], shown["reference"]);
    assert_eq!(events[0]["data"]["object"]["id"], shown["id"]);
    assert_eq!(events[1]["data"]["object"], payment);
    assert_eq!(events[2]["data"]["object"], reservation);
    let refusal = &events[3]["data"]["object"];
    assert_eq!(
        (
            refusal["requested"].to_string(),
            refusal["available"].to_string()
        ),
        ("1000.00".to_owned(), "130.00".to_owned()),
        "{refusal}"
    );
    // One event by its id, the same as in the feed.
    let one = events[1]["id"].as_str().unwrap();
    let shown = app.get_json(&format!("{EVENTS}/{one}")).await;
    assert_eq!(shown, events[1]);
    expect_not_found(
        app.get(&format!("{EVENTS}/evt_999999999")).await,
        "The event evt_999999999 doesn't exist.",
    )
    .await;
}

async fn the_feed_filters_pages_and_refuses_bad_input(app: TestApp) {
    let mut ids = Vec::new();
    for n in 0..3 {
        let customer = app
            .create_customer(&json!({"reference": format!("P{n}"), "name": "Paged"}))
            .await;
        let account = format!("/api/v1.0/customers/{}/account", customer["id"]);
        app.create(&format!("{account}/payments"), &json!({"amount": 1}))
            .await;
        ids.push(customer["id"].clone());
    }
    let all = feed(&app, EVENTS, 6).await;
    // Pages of two of the payments, each asked by the last one's `next` (after its last
    // event, with its filter): every payment once, in the feed's order. A page with no
    // events points to itself.
    let payments_only = |event: &&Value| event["type"] == "account.payment";
    let expected: Vec<Value> = all.iter().filter(payments_only).cloned().collect();
    assert_eq!(expected.len(), 3);
    let mut paged: Vec<Value> = Vec::new();
    let mut next = format!("{EVENTS}?max=2&type=account.payment");
    loop {
        let page = app.get_json(&next).await;
        let events = page["data"].as_array().unwrap().clone();
        assert_eq!(page["paging"]["max"], 2, "{page}");
        assert_eq!(
            page["paging"]["hasMore"],
            json!(paged.len() + events.len() < 3),
            "{page}"
        );
        let after = page["paging"]["next"].as_str().unwrap().to_owned();
        let Some(last) = events.last() else {
            assert_eq!(after, next, "an empty page goes on from where it started");
            break;
        };
        let id = last["id"].as_str().unwrap();
        assert_eq!(
            after,
            format!("{EVENTS}?after={id}&max=2&type=account.payment")
        );
        if let Some(previous) = paged.last() {
            assert_eq!(page["paging"]["after"], previous["id"], "{page}");
        }
        paged.extend(events);
        next = after;
    }
    assert_eq!(paged, expected);
    // A customer's filter goes on too.
    let first = &all[0];
    let theirs = format!("{EVENTS}?customerId={}&max=1", first["customerId"]);
    let page = app.get_json(&theirs).await;
    assert_eq!(page["data"][0]["id"], first["id"], "{page}");
    assert_eq!(
        page["paging"]["next"],
        format!(
            "{EVENTS}?after={}&max=1&customerId={}",
            first["id"].as_str().unwrap(),
            first["customerId"]
        )
    );

    let payments = feed(&app, &format!("{EVENTS}?type=account.*"), 3).await;
    assert!(types(&payments).iter().all(|t| *t == "account.payment"));
    let both = feed(
        &app,
        &format!("{EVENTS}?type=customer.created,account.payment"),
        6,
    )
    .await;
    assert_eq!(both, all);

    for (query, description) in [
        (
            "type=customer.exploded",
            "customer.exploded is not an event type",
        ),
        ("type=account.*,nope.*", "nope.* is not an event type"),
        ("after=42", "after must be an event id (evt_…), not 42"),
        ("max=0", "max must be between 1 and 1000"),
        (
            "colour=red",
            "The parameters [colour] you provided are not valid for this request.",
        ),
    ] {
        let response = app.get(&format!("{EVENTS}?{query}")).await;
        expect_error(response, 400, "invalid_param", description).await;
    }
    expect_wrong_type(
        app.get(&format!("{EVENTS}?customerId=abc")).await,
        "customerId",
    )
    .await;
}

async fn a_reseller_reads_only_its_trees_events(app: TestApp) {
    let root = app.add_customer("ROOT", "Reseller").await;
    let child = app
        .create_customer(
            &json!({"reference": "CHILD", "name": "Child", "isSubCustomer": true, "parentCustomer": root["id"]}),
        )
        .await;
    let outside = app.add_customer("OUT", "Outside").await;
    app.create(
        &format!("/api/v1.0/customers/{}/account/payments", root["id"]),
        &json!({"amount": 10}),
    )
    .await;
    let key = app.key_for("reseller", &root).await;
    let all = feed(&app, EVENTS, 4).await;
    let theirs: Vec<Value> = loop {
        let page = expect_json(app.get_with_key(&key, EVENTS).await, 200).await;
        let events = page["data"].as_array().unwrap().clone();
        if events.len() >= 2 {
            break events;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // Of its own customer, the reseller reads the account's events, not the record's (that
    // record, and the internal documents about it, are the operator's).
    let seen: Vec<(&Value, &str)> = theirs
        .iter()
        .map(|e| (&e["customerId"], e["type"].as_str().unwrap()))
        .collect();
    assert_eq!(
        seen,
        [
            (&child["id"], "customer.created"),
            (&root["id"], "account.payment")
        ]
    );
    let own_record = all
        .iter()
        .find(|e| e["customerId"] == root["id"])
        .expect("the admin reads the reseller's own creation");
    let path = format!("{EVENTS}/{}", own_record["id"].as_str().unwrap());
    assert_eq!(app.get_with_key(&key, &path).await.status(), 404);
    let out_event = all
        .iter()
        .find(|e| e["customerId"] == outside["id"])
        .expect("the outside customer's event");
    let path = format!("{EVENTS}/{}", out_event["id"].as_str().unwrap());
    let hidden = app.get_with_key(&key, &path).await;
    assert_eq!(hidden.status(), 404, "an event out of scope is not found");
}

async fn credit_alerts_fire_once_in_the_feed(app: TestApp) {
    let customer = app.add_customer("ALERT", "Alerted").await;
    let id = &customer["id"];
    let account = format!("/api/v1.0/customers/{id}/account");
    let alerts = format!("{account}/alerts");
    app.create(&format!("{account}/payments"), &json!({"amount": 2000}))
        .await;
    let set = app
        .send_ok(
            Method::PUT,
            &alerts,
            &json!({"availableBelow": ["100", 1000, 1000.00]}),
        )
        .await;
    assert_eq!(set.to_string(), r#"{"availableBelow":[1000.00,100.00]}"#);
    let shown = app.get_json(&alerts).await;
    assert_eq!(shown, set);
    for (body, status, error, description) in [
        (
            json!({}),
            400,
            "missing_param",
            "availableBelow parameter is missing",
        ),
        (
            json!({"availableBelow": ["lots"]}),
            400,
            "invalid_param_type",
            "The type of parameter availableBelow you provided is not valid for this request.",
        ),
        (
            json!({"availableBelow": (1..=11).collect::<Vec<i32>>()}),
            400,
            "invalid_param",
            "availableBelow cannot hold more than 10 thresholds",
        ),
    ] {
        expect_error(
            app.send_json(Method::PUT, &alerts, &body).await,
            status,
            error,
            description,
        )
        .await;
    }
    let charge = app
        .create(&format!("{account}/charges"), &json!({"amount": 1500}))
        .await;
    app.create(&format!("{account}/charges"), &json!({"amount": 100}))
        .await;
    let crossed = feed(
        &app,
        &format!("{EVENTS}?customerId={id}&type=account.threshold_crossed"),
        1,
    )
    .await;
    let object = &crossed[0]["data"]["object"];
    assert_eq!(object["threshold"].to_string(), "1000.00", "{object}");
    assert_eq!(object["available"].to_string(), "500.00", "{object}");
    assert_eq!(object["movement"], charge);
}
