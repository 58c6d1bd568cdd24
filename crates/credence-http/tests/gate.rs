//! In-process tests of the request gate over the domain's mockall mocks: authentication
//! before the body, load shedding, rate limits per credential and per address, the deadline's
//! `408`, and `Retry-After` on every `503`, in each face and format.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "fixtures outside #[test] functions build known-good values"
)]

use std::future::Future as _;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;

use actix_web::dev::{Payload, Service as _, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::http::{ConnectionType, StatusCode};
use actix_web::web::Bytes;
use actix_web::{App, test};
use credence_domain::access::credentials::ApiKeySecret;
use credence_domain::customers::reference_data::User;
use credence_domain::ports::{MockCustomerRepository, MockRecordRepository, StoreError};
use credence_http::{HttpConfig, Services, configure};
use serde_json::Value;

mod common;
use common::{Ports, admin_key, deadline_of_50_ms};

const ADMIN: &str = "Bearer admin-key-for-tests";
const OTHER_ADMIN: &str = "Bearer other-admin-key-for-tests";
const UNKNOWN: &str = "Bearer no-such-key-anywhere";

/// Services whose key store knows two admin keys and counts its look-ups, and whose customer
/// store answers `get` with `customer_get`; every other port panics if called.
fn services(
    lookups: &Arc<AtomicUsize>,
    customer_get: impl Fn() -> Result<(), StoreError> + Send + Sync + 'static,
) -> Services {
    let mut ports = Ports::new("2020-01-01T00:00:00Z");
    let mut users = MockRecordRepository::<User>::new();
    users.expect_get().returning(|_| Ok(None));
    ports.refs.users = Arc::new(users);
    let mut customers = MockCustomerRepository::new();
    customers
        .expect_get()
        .returning(move |_| customer_get().map(|()| None));
    ports.customers = Arc::new(customers);
    let hashes = [
        ApiKeySecret::parse("admin-key-for-tests").unwrap().hash(),
        ApiKeySecret::parse("other-admin-key-for-tests")
            .unwrap()
            .hash(),
    ];
    let counter = Arc::clone(lookups);
    ports.keys.expect_find_by_hash().returning(move |hash, _| {
        counter.fetch_add(1, Ordering::SeqCst);
        let Some(n) = hashes.iter().position(|h| h == hash) else {
            return Ok(None);
        };
        let id = i64::try_from(n).unwrap() + 1;
        Ok(Some(admin_key(id, id, &format!("emp-{id}"))))
    });
    ports
        .secrets
        .expect_random_bytes()
        .returning(|| Ok([9; 32]));
    ports.services()
}

macro_rules! app {
    ($config:expr) => {
        app!($config, &Arc::new(AtomicUsize::new(0)))
    };
    ($config:expr, $lookups:expr) => {
        app!($config, $lookups, || Ok(()))
    };
    ($config:expr, $lookups:expr, $customer_get:expr) => {
        test::init_service(
            App::new().configure(configure(services($lookups, $customer_get), $config)),
        )
        .await
    };
}

/// The code of the first error in a marketplace envelope.
fn envelope_error(body: &str) -> Value {
    json(body)["task_response"]["request_status"]["errors"][0]["code"].clone()
}

/// A payload that never ends: the client is still sending.
fn never() -> Payload {
    let stream: Pin<Box<dyn futures_util::Stream<Item = Result<Bytes, PayloadError>>>> =
        Box::pin(futures_util::stream::pending());
    Payload::from(stream)
}

/// A POST whose announced body never finishes arriving.
fn slow_post(uri: &str, authorization: Option<&str>) -> actix_http::Request {
    let mut request = test::TestRequest::post()
        .uri(uri)
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::CONTENT_LENGTH, "100"));
    if let Some(authorization) = authorization {
        request = request.insert_header((header::AUTHORIZATION, authorization));
    }
    let (request, _) = request.to_request().replace_payload(never());
    request
}

fn get(uri: &str, authorization: &str) -> test::TestRequest {
    test::TestRequest::get()
        .uri(uri)
        .insert_header((header::AUTHORIZATION, authorization))
}

/// Calls the app, turning an error that escaped the middlewares into its response.
async fn call(
    app: &impl actix_web::dev::Service<
        actix_http::Request,
        Response = ServiceResponse,
        Error = actix_web::Error,
    >,
    request: actix_http::Request,
) -> (StatusCode, header::HeaderMap, String) {
    match app.call(request).await {
        Ok(response) => {
            let (status, headers) = (response.status(), response.headers().clone());
            let body = test::read_body(response).await;
            (status, headers, String::from_utf8(body.to_vec()).unwrap())
        }
        Err(error) => {
            let response = error.error_response();
            let (status, headers) = (response.status(), response.headers().clone());
            let body = actix_web::body::to_bytes(response.into_body())
                .await
                .unwrap();
            (status, headers, String::from_utf8(body.to_vec()).unwrap())
        }
    }
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

fn retry_after(headers: &header::HeaderMap) -> u64 {
    headers
        .get(header::RETRY_AFTER)
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[actix_web::test]
async fn credentials_are_checked_before_the_body_is_read() {
    let app = app!(HttpConfig::default());
    for face in ["/api/v1.0/customers", "/api/marketplace/v2/customer/tasks"] {
        // A malformed body: the key decides, not the body.
        for (authorization, status) in [
            (Some(UNKNOWN), StatusCode::FORBIDDEN),
            (None, StatusCode::UNAUTHORIZED),
        ] {
            let mut request = test::TestRequest::post()
                .uri(face)
                .insert_header((header::CONTENT_TYPE, "application/json"))
                .set_payload("{not json");
            if let Some(authorization) = authorization {
                request = request.insert_header((header::AUTHORIZATION, authorization));
            }
            let (actual, headers, body) = call(&app, request.to_request()).await;
            assert_eq!(actual, status, "{face}: {body}");
            assert_eq!(
                headers.contains_key(header::WWW_AUTHENTICATE),
                status == StatusCode::UNAUTHORIZED
            );
        }
        // A body that never arrives: the answer comes anyway, so nothing waited for it.
        for (authorization, status) in [
            (Some(UNKNOWN), StatusCode::FORBIDDEN),
            (None, StatusCode::UNAUTHORIZED),
        ] {
            let (actual, _, body) = call(&app, slow_post(face, authorization)).await;
            assert_eq!(actual, status, "{face}: {body}");
        }
    }
    // The back office says it in seed 002's shape, the marketplace in its envelope.
    let (_, _, body) = call(&app, slow_post("/api/v1.0/customers", Some(UNKNOWN))).await;
    assert_eq!(json(&body)["error"], "forbidden");
    let (_, _, body) = call(&app, slow_post("/api/marketplace/v2/customer/tasks", None)).await;
    assert_eq!(envelope_error(&body), "unauthorized");
}

#[actix_web::test]
async fn past_max_in_flight_the_answer_is_an_immediate_503_and_health_is_exempt() {
    let config = HttpConfig {
        max_in_flight: 1,
        ..HttpConfig::default()
    };
    let app = app!(config);
    // An authenticated request waits for its body, holding the only place.
    let holder = app.call(slow_post("/api/v1.0/customers", Some(ADMIN)));
    let mut holder = Box::pin(holder);
    let first_poll = std::future::poll_fn(|cx| Poll::Ready(holder.as_mut().poll(cx))).await;
    assert!(first_poll.is_pending());

    let (status, headers, body) =
        call(&app, get("/api/v1.0/customers/me", ADMIN).to_request()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(retry_after(&headers), 1);
    assert_eq!(json(&body)["error"], "overloaded");
    // Shed before authentication: even an unknown key gets the 503, not a 403.
    let (status, _, _) = call(&app, get("/api/v1.0/customers/me", UNKNOWN).to_request()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    // The marketplace says it in its envelope, XML included, with the header kept.
    let request = get("/api/marketplace/v2/customer", ADMIN)
        .insert_header((header::ACCEPT, "application/xml"))
        .to_request();
    let (status, headers, body) = call(&app, request).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(retry_after(&headers), 1);
    assert!(
        body.contains("<customer_response><request_status><status>error</status><code>503</code><errors><error><code>overloaded</code>"),
        "{body}"
    );
    // Probes and documentation are never shed.
    let (status, _, _) = call(
        &app,
        test::TestRequest::get().uri("/health/live").to_request(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = call(
        &app,
        test::TestRequest::get().uri("/openapi.json").to_request(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // The client gives up: its place is free again.
    drop(holder);
    let (status, _, body) = call(&app, get("/api/v1.0/customers/me", ADMIN).to_request()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[actix_web::test]
async fn a_credential_past_its_burst_is_429_with_retry_after() {
    let config = HttpConfig {
        rate_limit_per_second: 1,
        rate_limit_burst: 2,
        ..HttpConfig::default()
    };
    let app = app!(config);
    for _ in 0..2 {
        let (status, _, body) = call(&app, get("/api/v1.0/customers/me", ADMIN).to_request()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    }
    let (status, headers, body) =
        call(&app, get("/api/v1.0/customers/me", ADMIN).to_request()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(retry_after(&headers), 1);
    assert_eq!(json(&body)["error"], "rate_limited");
    // In XML too, with the header kept.
    let request = get("/api/v1.0/customers/me", ADMIN)
        .insert_header((header::ACCEPT, "application/xml"))
        .to_request();
    let (status, headers, body) = call(&app, request).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&headers), 1);
    assert!(
        body.contains("<error><error>rate_limited</error>"),
        "{body}"
    );
    // Limited before the body is read: a slow body is not waited for.
    let (status, _, _) = call(&app, slow_post("/api/v1.0/customers", Some(ADMIN))).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Another credential has its own bucket.
    let (status, _, _) = call(
        &app,
        get("/api/v1.0/customers/me", OTHER_ADMIN).to_request(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn an_address_past_its_failed_authentications_is_429_before_any_lookup() {
    let config = HttpConfig {
        auth_failures_per_minute: 2,
        ..HttpConfig::default()
    };
    let lookups = Arc::new(AtomicUsize::new(0));
    let app = app!(config, &lookups);
    let guesser: std::net::SocketAddr = "192.0.2.7:40000".parse().unwrap();
    let neighbour: std::net::SocketAddr = "192.0.2.8:40000".parse().unwrap();
    let from = |peer, authorization| {
        get("/api/v1.0/customers/me", authorization)
            .peer_addr(peer)
            .to_request()
    };
    for _ in 0..2 {
        let (status, _, _) = call(&app, from(guesser, UNKNOWN)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (status, headers, body) = call(&app, from(guesser, UNKNOWN)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(json(&body)["error"], "rate_limited");
    // Two a minute: a token comes back within 30 s.
    assert!((1..=30).contains(&retry_after(&headers)));
    // From now on that address is refused before its key is looked up, a good key included.
    let before = lookups.load(Ordering::SeqCst);
    let (status, _, _) = call(&app, from(guesser, ADMIN)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, _, _) = call(&app, from(guesser, UNKNOWN)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(lookups.load(Ordering::SeqCst), before);
    // Missing credentials count as failures too, and other addresses are not affected.
    let (status, _, _) = call(
        &app,
        test::TestRequest::get()
            .uri("/api/v1.0/customers/me")
            .peer_addr(guesser)
            .to_request(),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, _, _) = call(&app, from(neighbour, ADMIN)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = call(&app, from(neighbour, UNKNOWN)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn a_body_still_arriving_at_the_deadline_is_408_in_each_face() {
    let config = deadline_of_50_ms();
    let app = app!(config);
    let (status, headers, body) = call(&app, slow_post("/api/v1.0/customers", Some(ADMIN))).await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT, "{body}");
    assert_eq!(json(&body)["error"], "request_timeout");
    assert!(!headers.contains_key(header::RETRY_AFTER));
    let (status, _, body) = call(
        &app,
        slow_post("/api/marketplace/v2/customer/tasks", Some(ADMIN)),
    )
    .await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
    assert_eq!(envelope_error(&body), "request_timeout");
}

#[actix_web::test]
async fn the_connection_of_a_408_is_closed() {
    let config = deadline_of_50_ms();
    let app = app!(config);
    let error = match app
        .call(slow_post("/api/v1.0/customers", Some(ADMIN)))
        .await
    {
        Ok(response) => panic!("expected the deadline's error, got {}", response.status()),
        Err(error) => error,
    };
    let response = error.error_response();
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    assert_eq!(response.head().connection_type(), ConnectionType::Close);
}

#[actix_web::test]
async fn an_exhausted_pool_is_503_with_retry_after_in_json_and_xml() {
    let app = app!(
        HttpConfig::default(),
        &Arc::new(AtomicUsize::new(0)),
        || Err(StoreError::Unavailable(
            "timed out waiting for connection".into()
        ))
    );
    for accept in ["application/json", "application/xml"] {
        let request = get("/api/v1.0/customers/1", ADMIN)
            .insert_header((header::ACCEPT, accept))
            .to_request();
        let (status, headers, body) = call(&app, request).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(retry_after(&headers), 1, "{accept}");
        assert!(body.contains("service_unavailable"), "{body}");
    }
}
