//! Conditional requests on customers, over real HTTP on both backends: every answer that shows
//! a customer carries an `ETag`; `If-None-Match` answers `304` while the copy is current, and
//! a new tag once anything shown changed (a payment included); `If-Match` lets exactly one of
//! two writers holding the same tag through and answers the other `412`; and writes without
//! `If-Match` that race each other lose nothing. A credit account is tagged the same way, and
//! every write that moves it takes an `If-Match` naming the account's tag.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "tests panic on a broken environment"
)]

use credence_e2e::{TestApp, etag, expect_error, expect_json, on_both_backends};
use reqwest::{Method, Response};
use serde_json::{Value, json};

on_both_backends!(
    reads_are_conditional_on_the_tag,
    one_of_two_writers_with_one_tag_wins,
    racing_writes_without_a_tag_lose_nothing,
    if_match_needs_a_customer_to_match,
    account_writes_name_the_account_they_read,
    one_of_many_orders_holding_one_account_tag_gets_in,
);

const CHANGED: &str =
    "The customer has changed since it was read; read it again and repeat the change.";

const ACCOUNT_CHANGED: &str =
    "The account has changed since it was read; read it again and repeat the change.";

async fn customer(app: &TestApp, reference: &str) -> (String, String) {
    let created = app
        .create_customer(&json!({"reference": reference, "name": "Tagged", "city": "Paris"}))
        .await;
    let path = format!("/api/v1.0/customers/{}", created["id"]);
    let tag = etag(&app.get(&path).await);
    (path, tag)
}

/// `method path` with one more header.
async fn send(app: &TestApp, method: Method, path: &str, header: (&str, &str)) -> Response {
    app.request(method, path)
        .header(header.0, header.1)
        .send()
        .await
        .unwrap()
}

async fn patch(app: &TestApp, path: &str, tag: Option<&str>, body: Value) -> Response {
    let mut request = app.request(Method::PATCH, path).json(&body);
    if let Some(tag) = tag {
        request = request.header("If-Match", tag);
    }
    request.send().await.unwrap()
}

async fn reads_are_conditional_on_the_tag(app: TestApp) {
    let (path, tag) = customer(&app, "TAG-READ").await;
    assert!(tag.starts_with('"') && tag.ends_with('"'), "{tag}");

    let again = send(&app, Method::GET, &path, ("If-None-Match", &tag)).await;
    assert_eq!(again.status(), 304);
    assert_eq!(etag(&again), tag);
    assert!(again.bytes().await.unwrap().is_empty());
    // The weak form and a list that holds the tag match as well; XML shows the same customer.
    for header in [format!("W/{tag}"), format!("\"other\", {tag}")] {
        let listed = send(&app, Method::GET, &path, ("If-None-Match", &header)).await;
        assert_eq!(listed.status(), 304);
    }
    let xml = send(&app, Method::GET, &path, ("Accept", "application/xml")).await;
    assert_eq!(etag(&xml), tag);

    // A payment changes the balance the customer shows: the old copy is stale.
    let paid = app
        .post_json(
            &format!("{path}/account/payments"),
            &json!({"amount": 10, "description": "wire"}),
        )
        .await;
    expect_json(paid, 201).await;
    let fresh = send(&app, Method::GET, &path, ("If-None-Match", &tag)).await;
    assert_eq!(fresh.status(), 200);
    assert_ne!(etag(&fresh), tag);
}

async fn one_of_two_writers_with_one_tag_wins(app: TestApp) {
    let (path, tag) = customer(&app, "TAG-WRITE").await;
    let first = patch(&app, &path, Some(&tag), json!({"city": "Lyon"})).await;
    assert_eq!(first.status(), 200);
    let after_first = etag(&first);
    assert_ne!(after_first, tag);
    let second = patch(&app, &path, Some(&tag), json!({"name": "Overwriter"})).await;
    expect_error(second, 412, "precondition_failed", CHANGED).await;
    let now = app.get_json(&path).await;
    assert_eq!(now["city"], "Lyon");
    assert_eq!(now["name"], "Tagged");

    // Ten writers holding one tag at once: exactly one gets through.
    let writers = (0..10).map(|i| {
        let body = json!({"name": format!("Writer {i}")});
        let (app, path, tag) = (&app, &path, &after_first);
        async move { patch(app, path, Some(tag), body).await.status().as_u16() }
    });
    let mut statuses = futures_util::future::join_all(writers).await;
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 412, 412, 412, 412, 412, 412, 412, 412, 412]);

    // A delete with a stale tag is refused too; with the current one it goes through.
    let stale = send(&app, Method::DELETE, &path, ("If-Match", &tag)).await;
    expect_error(stale, 412, "precondition_failed", CHANGED).await;
    let current = etag(&app.get(&path).await);
    let deleted = send(&app, Method::DELETE, &path, ("If-Match", &current)).await;
    assert_eq!(deleted.status(), 200);
}

async fn racing_writes_without_a_tag_lose_nothing(app: TestApp) {
    let (path, _) = customer(&app, "TAG-RACE").await;
    // Each write reads the customer, merges its change and writes it back: without revisions
    // some of these would write over the others.
    let projects = format!("{path}/projects");
    let adds = (0..8).map(|i| {
        let (app, projects) = (&app, &projects);
        async move {
            let body = json!({"name": format!("Project {i}")});
            app.post_json(projects, &body).await.status().as_u16()
        }
    });
    let fields = ["phone", "fax", "mobile", "comment"].map(|field| {
        let (app, path) = (&app, &path);
        async move {
            let body = json!({field: format!("set {field}")});
            patch(app, path, None, body).await.status().as_u16()
        }
    });
    let (added, set) = tokio::join!(
        futures_util::future::join_all(adds),
        futures_util::future::join_all(fields)
    );
    assert_eq!(added, [201; 8]);
    assert_eq!(set, [200; 4]);
    let now = app.get_json(&path).await;
    for field in ["phone", "fax", "mobile", "comment"] {
        assert_eq!(now[field], format!("set {field}"), "{now}");
    }
    let projects = app.get_json(&format!("{path}/projects")).await;
    assert_eq!(projects["paging"]["total"], 8, "{projects}");
}

async fn if_match_needs_a_customer_to_match(app: TestApp) {
    let (path, _) = customer(&app, "TAG-ANY").await;
    // `*` matches any customer that exists; a tag that is not the customer's does not.
    let any = patch(&app, &path, Some("*"), json!({"city": "Nice"})).await;
    assert_eq!(any.status(), 200);
    let wrong = patch(
        &app,
        &path,
        Some("\"not-its-tag\""),
        json!({"city": "Nancy"}),
    )
    .await;
    expect_error(wrong, 412, "precondition_failed", CHANGED).await;
    // A write that would create the customer fails its `If-Match`: there is nothing to match.
    let upsert = app
        .request(Method::POST, "/api/v1.0/customers/reference/TAG-NONE")
        .header("If-Match", "*")
        .json(&json!({"name": "Nobody"}))
        .send()
        .await
        .unwrap();
    expect_error(upsert, 412, "precondition_failed", CHANGED).await;
    let absent = app.get("/api/v1.0/customers/reference/TAG-NONE").await;
    assert_eq!(absent.status(), 404);
}

/// A POST of `body` to `path` under `If-Match: tag`, with more headers if given.
async fn post_if(
    app: &TestApp,
    path: &str,
    tag: &str,
    body: &Value,
    more: &[(&str, &str)],
) -> Response {
    let mut request = app
        .request(Method::POST, path)
        .header("If-Match", tag)
        .json(body);
    for (name, value) in more {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

async fn account_writes_name_the_account_they_read(app: TestApp) {
    let created = app
        .create_customer(&json!({"reference": "TAG-ACC", "name": "Tagged", "creditLimit": 1000}))
        .await;
    let account = format!("/api/v1.0/customers/{}/account", created["id"]);
    let tag = etag(&app.get(&account).await);
    let again = send(&app, Method::GET, &account, ("If-None-Match", &tag)).await;
    assert_eq!(again.status(), 304);

    // The limit's write answers the account, tagged as a read of it is.
    let limit = app
        .request(Method::PUT, &format!("{account}/creditLimit"))
        .header("If-Match", &tag)
        .json(&json!({"creditLimit": 2000}))
        .send()
        .await
        .unwrap();
    assert_eq!(limit.status(), 200);
    let limited = etag(&limit);
    assert_ne!(limited, tag);
    assert_eq!(etag(&app.get(&account).await), limited);

    // Each kind of write refuses the old tag, moving nothing, and takes the current one.
    let payments = format!("{account}/payments");
    let reservations = format!("{account}/reservations");
    let paid = json!({"amount": 100});
    let stale = post_if(&app, &payments, &tag, &paid, &[]).await;
    expect_error(stale, 412, "precondition_failed", ACCOUNT_CHANGED).await;
    for (path, body) in [
        (format!("{account}/charges"), json!({"amount": 5})),
        (
            format!("{account}/adjustments"),
            json!({"amount": 5, "reason": "typo"}),
        ),
        (reservations.clone(), json!({"amount": 5})),
    ] {
        let stale = post_if(&app, &path, &tag, &body, &[]).await;
        assert_eq!(stale.status(), 412, "{path}");
    }
    let shown = app.get_json(&account).await;
    assert_eq!(shown["balance"].to_string(), "0.00", "{shown}");
    assert_eq!(shown["reservedAmount"].to_string(), "0.00", "{shown}");
    expect_json(post_if(&app, &payments, &limited, &paid, &[]).await, 201).await;

    // A reservation, then its capture and a release, each naming the tag it read.
    let current = etag(&app.get(&account).await);
    let held = post_if(&app, &reservations, &current, &json!({"amount": 40}), &[]).await;
    let held = expect_json(held, 201).await;
    let other = post_if(
        &app,
        &reservations,
        &etag(&app.get(&account).await),
        &json!({"amount": 10}),
        &[],
    )
    .await;
    let other = expect_json(other, 201).await;
    let capture = format!("{reservations}/{}/capture", held["id"]);
    let release = format!("{reservations}/{}/release", other["id"]);
    for path in [&capture, &release] {
        let stale = post_if(&app, path, &current, &json!({}), &[]).await;
        expect_error(stale, 412, "precondition_failed", ACCOUNT_CHANGED).await;
    }
    let open = app.get_json(&account).await;
    assert_eq!(open["reservedAmount"].to_string(), "50.00", "{open}");
    let now = etag(&app.get(&account).await);
    expect_json(post_if(&app, &capture, &now, &json!({}), &[]).await, 200).await;
    expect_json(post_if(&app, &release, "*", &json!({}), &[]).await, 200).await;

    // A retried payment answers as the first one did, though the tag it names is stale now.
    let now = etag(&app.get(&account).await);
    let keyed = [("Idempotency-Key", "tagged-payment-1")];
    let first = post_if(&app, &payments, &now, &paid, &keyed).await;
    let first = expect_json(first, 201).await;
    let repeat = post_if(&app, &payments, &now, &paid, &keyed).await;
    assert_eq!(expect_json(repeat, 201).await["id"], first["id"]);

    // For a customer billing with its parent, a reservation moves the parent's account: the
    // tag it names is that account's.
    let child = app
        .create_customer(&json!({"reference": "TAG-KID", "name": "Kid", "parentCustomer": created["id"], "billWithParent": true}))
        .await;
    let child_account = format!("/api/v1.0/customers/{}/account", child["id"]);
    let child_tag = etag(&app.get(&child_account).await);
    let child_reservations = format!("{child_account}/reservations");
    let order = json!({"amount": 1});
    let own = post_if(&app, &child_reservations, &child_tag, &order, &[]).await;
    expect_error(own, 412, "precondition_failed", ACCOUNT_CHANGED).await;
    let payer_tag = etag(&app.get(&account).await);
    let paid_by_parent = post_if(&app, &child_reservations, &payer_tag, &order, &[]).await;
    expect_json(paid_by_parent, 201).await;
}

async fn one_of_many_orders_holding_one_account_tag_gets_in(app: TestApp) {
    let created = app
        .create_customer(
            &json!({"reference": "TAG-RACE-ACC", "name": "Racing", "creditLimit": 1000}),
        )
        .await;
    let account = format!("/api/v1.0/customers/{}/account", created["id"]);
    let tag = etag(&app.get(&account).await);
    // Ten orders that all fit, each only if the account is still as read: one gets in.
    let orders = (0..10).map(|i| {
        let (app, path, tag) = (&app, format!("{account}/reservations"), &tag);
        async move {
            let body = json!({"amount": 10 + i});
            post_if(app, &path, tag, &body, &[]).await.status().as_u16()
        }
    });
    let mut statuses = futures_util::future::join_all(orders).await;
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 412, 412, 412, 412, 412, 412, 412, 412, 412]);
    let reservations = app.get_json(&format!("{account}/reservations")).await;
    assert_eq!(reservations["paging"]["total"], 1, "{reservations}");
}
