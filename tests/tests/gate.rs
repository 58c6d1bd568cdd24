//! The request gate over real HTTP, on SQLite and PostgreSQL: an immediate `503` past
//! `max_in_flight` while a slow upload holds the only place, `408` for a body still arriving
//! at the deadline, `429` per credential and per client address, and credentials checked
//! before the body.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use credence_e2e::{ADMIN_KEY, Backend, TestApp};
use credence_server::config::Config;
use credence_store::test_support::TestDb;
use reqwest::{Method, Response};
use serde_json::Value;

async fn spawn(backend: Backend, configure: impl FnOnce(&mut Config)) -> Option<TestApp> {
    let db = match backend {
        Backend::Sqlite => TestDb::sqlite(),
        Backend::Postgres => TestDb::postgres()?,
    };
    Some(TestApp::spawn_configured(Arc::new(db), configure).await)
}

/// Opens a connection and sends a `POST` whose announced body never finishes arriving.
fn slow_upload(app: &TestApp, path: &str, key: &str) -> TcpStream {
    let address = app.address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"reference\":"
    )
    .unwrap();
    stream.flush().unwrap();
    stream
}

/// Whether the server has answered on `stream` yet (without waiting).
fn answered(stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).unwrap();
    let mut byte = [0_u8; 1];
    let answered = matches!(stream.peek(&mut byte), Ok(n) if n > 0);
    stream.set_nonblocking(false).unwrap();
    answered
}

/// Everything the server writes on `stream` until it closes it (or 30 s pass).
fn read_all(mut stream: TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut text = Vec::new();
    let _ = stream.read_to_end(&mut text);
    String::from_utf8_lossy(&text).into_owned()
}

fn retry_after(response: &Response) -> u64 {
    response
        .headers()
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn me(app: &TestApp) -> Response {
    app.get("/api/v1.0/customers/me").await
}

async fn tiny_max_in_flight_answers_503_at_once(backend: Backend) {
    let Some(app) = spawn(backend, |c| c.max_in_flight = 1).await else {
        return;
    };
    // The upload takes the only place once the server has read its headers; until then a
    // probe may take it first (and the upload is then the one refused, and tried again).
    let started = Instant::now();
    let mut upload = slow_upload(&app, "/api/v1.0/customers", ADMIN_KEY);
    let shed = loop {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the slow upload never held the place"
        );
        if answered(&upload) {
            upload = slow_upload(&app, "/api/v1.0/customers", ADMIN_KEY);
        }
        let response = me(&app).await;
        if response.status() == 503 {
            break response;
        }
        assert_eq!(
            response.status(),
            404,
            "the admin has no customer of its own"
        );
    };
    assert_eq!(retry_after(&shed), 1);
    let body: Value = shed.json().await.unwrap();
    assert_eq!(body["error"], "overloaded");
    // Probes and the metrics are never shed: a load balancer still sees the replica as ready,
    // and the scraper still sees it overloaded.
    assert_eq!(app.get("/health/ready").await.status(), 200);
    assert_eq!(app.get("/health/live").await.status(), 200);
    assert_eq!(app.get("/metrics").await.status(), 200);
    // The client hangs up: its place comes back.
    drop(upload);
    let started = Instant::now();
    while me(&app).await.status() == 503 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the place never came back"
        );
    }
}

async fn a_body_still_arriving_at_the_deadline_is_408(backend: Backend) {
    let Some(app) = spawn(backend, |c| c.request_timeout_secs = 1).await else {
        return;
    };
    let upload = slow_upload(&app, "/api/v1.0/customers", ADMIN_KEY);
    let answer = read_all(upload);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"error\":\"request_timeout\""), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
}

async fn a_credential_past_its_burst_is_429(backend: Backend) {
    let Some(app) = spawn(backend, |c| {
        c.rate_limit_per_second = 1;
        c.rate_limit_burst = 3;
    })
    .await
    else {
        return;
    };
    // Three at once, then one a second: twenty in a row meet the limit.
    let mut limited = None;
    for _ in 0..20 {
        let response = me(&app).await;
        if response.status() == 429 {
            limited = Some(response);
            break;
        }
        assert_eq!(response.status(), 404);
    }
    let limited = limited.expect("a 429 within twenty requests");
    assert!(retry_after(&limited) >= 1);
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited");
    assert!(body["error_description"].is_string());
    for _ in 0..20 {
        assert_eq!(app.get("/health/live").await.status(), 200);
    }
}

async fn an_address_past_its_failed_authentications_is_429(backend: Backend) {
    let Some(app) = spawn(backend, |c| c.auth_failures_per_minute = 2).await else {
        return;
    };
    let guess = || {
        app.with_key(
            "not-a-key-of-anyone-here",
            Method::GET,
            "/api/v1.0/customers/me",
        )
        .send()
    };
    assert_eq!(guess().await.unwrap().status(), 403);
    assert_eq!(guess().await.unwrap().status(), 403);
    let limited = guess().await.unwrap();
    assert_eq!(limited.status(), 429);
    assert!((1..=30).contains(&retry_after(&limited)));
    // The address is refused before any key is looked up, a good one included.
    assert_eq!(me(&app).await.status(), 429);
    let anonymous = app
        .anonymous(Method::GET, "/api/v1.0/customers/me")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 429);
    assert_eq!(app.get("/health/live").await.status(), 200);
}

async fn credentials_decide_before_a_malformed_body(backend: Backend) {
    let Some(app) = spawn(backend, |_| {}).await else {
        return;
    };
    let send = |request: reqwest::RequestBuilder| {
        request
            .header("content-type", "application/json")
            .body("{\"reference\": \"A\", \"reference\": ")
            .send()
    };
    let unknown = send(app.with_key(
        "not-a-key-of-anyone-here",
        Method::POST,
        "/api/v1.0/customers",
    ))
    .await
    .unwrap();
    assert_eq!(unknown.status(), 403);
    let missing = send(app.anonymous(Method::POST, "/api/v1.0/customers"))
        .await
        .unwrap();
    assert_eq!(missing.status(), 401);
    let known = send(app.request(Method::POST, "/api/v1.0/customers"))
        .await
        .unwrap();
    assert_eq!(known.status(), 400);
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(credence_e2e::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(credence_e2e::Backend::Postgres).await;
                }
            )*
        }
    };
}

on_both!(
    tiny_max_in_flight_answers_503_at_once,
    a_body_still_arriving_at_the_deadline_is_408,
    a_credential_past_its_burst_is_429,
    an_address_past_its_failed_authentications_is_429,
    credentials_decide_before_a_malformed_body,
);
