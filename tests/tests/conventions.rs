//! HTTP conventions over real HTTP, on both backends: every answer carries its request id (the
//! client's when usable); `HEAD` works where `GET` does; bodies are compressed on request; a
//! `201` says where the new resource lives; a replayed idempotent answer says so; CORS is off
//! unless origins are configured, and then allows those only; `/metrics` counts what operators
//! watch, open unless a key is configured.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "tests panic on a broken environment"
)]

use std::sync::Arc;

use credence_e2e::{TestApp, expect_json, expect_wrong_type, metric, on_both_backends};
use credence_store::test_support::TestDb;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::json;

on_both_backends!(
    every_answer_carries_its_request_id,
    head_works_where_get_does,
    another_method_is_405_with_allow,
    bodies_are_compressed_on_request,
    a_201_says_where_the_resource_lives,
    a_replayed_answer_says_so,
    cors_is_off_unless_configured,
    metrics_count_requests_admissions_and_connections,
);

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn every_answer_carries_its_request_id(app: TestApp) {
    let made = app.get("/api/v1.0/customers").await;
    let id = header(made.headers(), "x-request-id")
        .expect("an id")
        .to_owned();
    assert_eq!(id.len(), 32, "{id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    let other = app.get("/api/v1.0/customers").await;
    assert_ne!(header(other.headers(), "x-request-id"), Some(id.as_str()));

    let kept = app
        .request(Method::GET, "/api/v1.0/customers")
        .header("X-Request-Id", "trace-42/abc")
        .send()
        .await
        .unwrap();
    assert_eq!(header(kept.headers(), "x-request-id"), Some("trace-42/abc"));

    // Errors carry it too, and an unusable id is replaced.
    let refused = app
        .anonymous(Method::GET, "/api/v1.0/customers")
        .header("X-Request-Id", "x".repeat(129))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let replaced = header(refused.headers(), "x-request-id").unwrap();
    assert_eq!(replaced.len(), 32, "{replaced}");
    let missing = app.get("/no/such/route").await;
    assert_eq!(missing.status(), 404);
    assert!(header(missing.headers(), "x-request-id").is_some());
}

/// A method a route does not answer is `405` with `Allow`, the methods it does (as the
/// OpenAPI document names them, `HEAD` wherever `GET`), on both faces and the probes.
async fn another_method_is_405_with_allow(app: TestApp) {
    let trace = Method::from_bytes(b"TRACE").unwrap();
    for (path, allowed) in [
        (
            "/api/v1.0/customers/1",
            "GET, HEAD, POST, PUT, PATCH, DELETE",
        ),
        ("/api/v1.0/customers/1/account/payments", "POST"),
        ("/api/marketplace/v2/customer", "GET, HEAD"),
    ] {
        let answer = app.request(trace.clone(), path).send().await.unwrap();
        assert_eq!(header(answer.headers(), "allow"), Some(allowed), "{path}");
        assert_eq!(answer.status(), 405, "{path}");
    }
    let probe = app
        .anonymous(Method::DELETE, "/health/live")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (probe.status().as_u16(), header(probe.headers(), "allow")),
        (405, Some("GET, HEAD"))
    );
}

async fn head_works_where_get_does(app: TestApp) {
    let customer = app.add_customer("HEAD-1", "Head").await;
    let path = format!("/api/v1.0/customers/{}", customer["id"]);
    let got = app.get(&path).await;
    let headed = app.request(Method::HEAD, &path).send().await.unwrap();
    assert_eq!(headed.status(), 200);
    assert_eq!(
        header(headed.headers(), "content-type"),
        header(got.headers(), "content-type")
    );
    assert!(headed.bytes().await.unwrap().is_empty(), "no body");
    let list = app
        .request(Method::HEAD, "/api/v1.0/customers")
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 200);
    let absent = app
        .request(Method::HEAD, "/api/v1.0/customers/999999")
        .send()
        .await
        .unwrap();
    assert_eq!(absent.status(), 404);
    assert!(absent.bytes().await.unwrap().is_empty());
    let probe = app
        .anonymous(Method::HEAD, "/health/live")
        .send()
        .await
        .unwrap();
    assert_eq!(probe.status(), 200);
}

async fn bodies_are_compressed_on_request(app: TestApp) {
    for n in 0..20 {
        app.create_customer(&json!({"reference": format!("GZ-{n}"), "name": "Compressed"}))
            .await;
    }
    for encoding in ["gzip", "br"] {
        let compressed = app
            .request(Method::GET, "/api/v1.0/customers")
            .header("Accept-Encoding", encoding)
            .send()
            .await
            .unwrap();
        assert_eq!(compressed.status(), 200);
        assert_eq!(
            header(compressed.headers(), "content-encoding"),
            Some(encoding)
        );
    }
    let plain = app.get("/api/v1.0/customers").await;
    assert_eq!(header(plain.headers(), "content-encoding"), None);
    expect_json(plain, 200).await;
}

async fn a_201_says_where_the_resource_lives(app: TestApp) {
    let created = app
        .post_json(
            "/api/v1.0/customers",
            &json!({"reference": "LOC-1", "name": "Located"}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let location = header(created.headers(), "location").unwrap().to_owned();
    let body = expect_json(created, 201).await;
    assert_eq!(location, format!("/api/v1.0/customers/{}", body["id"]));
    let shown = app.get_json(&location).await;
    assert_eq!(shown["reference"], "LOC-1");

    let endpoint = app
        .post_json(
            "/api/v1.0/webhookEndpoints",
            &json!({"url": "https://203.0.113.10/hooks"}),
        )
        .await;
    let location = header(endpoint.headers(), "location").unwrap().to_owned();
    app.get_json(&location).await;
    let category = app
        .post_json(
            "/api/v1.0/customerCategories",
            &json!({"reference": "loc", "name": "Located"}),
        )
        .await;
    assert_eq!(category.status(), 201);
    let location = header(category.headers(), "location").unwrap().to_owned();
    app.get_json(&location).await;

    // Money: a payment's entry and a reservation live where their Location says, also when
    // the answer is a replay; an entry is found only in its own customer's ledger.
    let funded = app
        .create_customer(&json!({"reference": "LOC-2", "name": "Funded", "creditLimit": 100}))
        .await;
    let account = format!("/api/v1.0/customers/{}/account", funded["id"]);
    let pay = || {
        app.request(Method::POST, &format!("{account}/payments"))
            .header("Idempotency-Key", "located-payment")
            .json(&json!({"amount": 10}))
            .send()
    };
    let paid = pay().await.unwrap();
    let location = header(paid.headers(), "location").unwrap().to_owned();
    let entry = expect_json(paid, 201).await;
    assert_eq!(location, format!("{account}/ledger/{}", entry["id"]));
    assert_eq!(entry["href"], location.as_str());
    assert_eq!(app.get_json(&location).await, entry);
    let replayed = pay().await.unwrap();
    assert_eq!(
        header(replayed.headers(), "location"),
        Some(location.as_str())
    );
    let held = app
        .post_json(&format!("{account}/reservations"), &json!({"amount": 5}))
        .await;
    let location = header(held.headers(), "location").unwrap().to_owned();
    let held = expect_json(held, 201).await;
    assert_eq!(location, format!("{account}/reservations/{}", held["id"]));
    assert_eq!(app.get_json(&location).await, held);
    let elsewhere = format!(
        "/api/v1.0/customers/{}/account/ledger/{}",
        body["id"], entry["id"]
    );
    // An id that is no number names its parameter.
    expect_wrong_type(app.get(&format!("{account}/ledger/first")).await, "entryId").await;
    expect_wrong_type(
        app.get(&format!("{account}/reservations/x")).await,
        "reservationId",
    )
    .await;
    let missing = app.get(&elsewhere).await;
    assert_eq!(missing.status(), 404);
    let text = missing.text().await.unwrap();
    assert!(
        text.contains(&format!(
            "The ledger entry with the id {} doesn't exist.",
            entry["id"]
        )),
        "{text}"
    );

    // A replace through the same route is no creation.
    let replaced = app
        .send_json(
            Method::PUT,
            &format!("/api/v1.0/customers/{}", body["id"]),
            &json!({"reference": "LOC-1", "name": "Replaced"}),
        )
        .await;
    assert_eq!(replaced.status(), 200);
    assert_eq!(header(replaced.headers(), "location"), None);
}

async fn a_replayed_answer_says_so(app: TestApp) {
    let customer = app.add_customer("IDEM-1", "Once").await;
    let path = format!("/api/v1.0/customers/{}/account/payments", customer["id"]);
    let pay = || {
        app.request(Method::POST, &path)
            .header("Idempotency-Key", "pay-once-1")
            .json(&json!({"amount": 10}))
            .send()
    };
    let first = pay().await.unwrap();
    assert_eq!(first.status(), 201);
    assert_eq!(header(first.headers(), "idempotent-replayed"), None);
    let first = expect_json(first, 201).await;
    let again = pay().await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(header(again.headers(), "idempotent-replayed"), Some("true"));
    assert_eq!(expect_json(again, 201).await, first);
}

async fn cors_is_off_unless_configured(app: TestApp) {
    let preflight = |app: &TestApp, origin: &'static str| {
        app.anonymous(Method::OPTIONS, "/api/v1.0/customers")
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization, content-type",
            )
            .send()
    };
    let off = preflight(&app, "https://app.example.com").await.unwrap();
    assert_eq!(
        header(off.headers(), "access-control-allow-origin"),
        None,
        "no origin is allowed by default"
    );

    let db = Arc::new(TestDb::sqlite());
    let on = TestApp::spawn_configured(db, |config| {
        config.cors_origins = vec!["https://app.example.com".into()];
    })
    .await;
    let allowed = preflight(&on, "https://app.example.com").await.unwrap();
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(
        header(allowed.headers(), "access-control-allow-origin"),
        Some("https://app.example.com")
    );
    let methods = header(allowed.headers(), "access-control-allow-methods").unwrap();
    assert!(methods.contains("POST"), "{methods}");
    let other = preflight(&on, "https://evil.example.com").await.unwrap();
    assert_eq!(header(other.headers(), "access-control-allow-origin"), None);

    // A real request from the allowed origin sees the headers it may read.
    let mut headers = HeaderMap::new();
    headers.insert(
        "Origin",
        HeaderValue::from_static("https://app.example.com"),
    );
    let listed = on
        .request(Method::GET, "/api/v1.0/customers")
        .headers(headers)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    let exposed = header(listed.headers(), "access-control-expose-headers")
        .unwrap()
        .to_ascii_lowercase();
    assert!(exposed.contains("x-request-id"), "{exposed}");
}

async fn metrics_count_requests_admissions_and_connections(app: TestApp) {
    let customer = app
        .create_customer(&json!({"reference": "MET-1", "name": "Metered", "creditLimit": 10}))
        .await;
    let account = format!("/api/v1.0/customers/{}/account", customer["id"]);
    app.create(&format!("{account}/reservations"), &json!({"amount": 5}))
        .await;
    let refused = app
        .post_json(&format!("{account}/reservations"), &json!({"amount": 500}))
        .await;
    assert_eq!(refused.status(), 422);
    app.get_json(&account).await;

    let scraped = app.anonymous(Method::GET, "/metrics").send().await.unwrap();
    assert_eq!(scraped.status(), 200);
    assert!(
        header(scraped.headers(), "content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    let text = scraped.text().await.unwrap();
    // Routes are templates, never raw paths.
    let account_reads = metric(
        &text,
        "http_requests_total{method=\"GET\",route=\"/api/v1.0/customers/{id}/account\",status=\"200\"}",
    );
    assert_eq!(account_reads, Some(1.0), "{text}");
    assert!(
        !text.contains(&format!("/customers/{}/", customer["id"])),
        "{text}"
    );
    assert!(
        text.contains("http_request_duration_seconds_bucket{method=\"POST\",route=\"/api/v1.0/customers/{id}/account/reservations\""),
        "{text}"
    );
    assert_eq!(
        metric(&text, "credence_admissions_total{outcome=\"admitted\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        metric(&text, "credence_admissions_total{outcome=\"refused\"}"),
        Some(1.0),
        "{text}"
    );
    assert!(
        text.contains("credence_db_pool_connections{pool="),
        "{text}"
    );
    assert!(text.contains("credence_webhook_backlog"), "{text}");
    assert!(
        text.contains("credence_reservations_expired_total"),
        "{text}"
    );

    // With a key configured, the scrape needs it.
    let db = Arc::new(TestDb::sqlite());
    let keyed = TestApp::spawn_configured(db, |config| {
        config.metrics_key = Some(credence_server::config::Secret::new(
            "scrape-key-0123456789",
        ));
    })
    .await;
    let refused = keyed
        .anonymous(Method::GET, "/metrics")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let allowed = keyed
        .get_with_key("scrape-key-0123456789", "/metrics")
        .await;
    assert_eq!(allowed.status(), 200);
}
