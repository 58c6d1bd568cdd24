//! Conditional requests on customers, over real HTTP on both backends: every answer that shows
//! a customer carries an `ETag`; `If-None-Match` answers `304` while the copy is current, and
//! a new tag once anything shown changed (a payment included); `If-Match` lets exactly one of
//! two writers holding the same tag through and answers the other `412`; and writes without
//! `If-Match` that race each other lose nothing.
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
);

const CHANGED: &str =
    "The customer has changed since it was read; read it again and repeat the change.";

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
