//! `HttpSender` against real receivers on 127.0.0.1: plain TCP listeners that read the
//! request and write raw HTTP/1.1, so each test controls exactly what the receiver does
//! (answer, stall, never stop writing, redirect). Those senders allow private networks (the
//! receivers are on loopback); the guarded ones must never reach them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed set-up should panic"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use credence_domain::webhooks::{DeliveryRequest, SendOutcome, WebhookSender, WebhookUrl};
use credence_sender::{HttpSender, USER_AGENT};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

/// A request as the receiver read it.
#[derive(Debug)]
struct Received {
    /// `POST /hook HTTP/1.1`.
    request_line: String,
    /// Names lower-cased, values as sent, in order.
    headers: Vec<(String, String)>,
    body: String,
}

impl Received {
    /// Every value of header `name`.
    fn header(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Reads one request off `stream`; `None` once the client closed the connection.
async fn read_request(stream: &mut BufReader<TcpStream>) -> Option<Received> {
    let mut request_line = String::new();
    if stream.read_line(&mut request_line).await.ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        stream.read_line(&mut line).await.ok()?;
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').expect("a header line");
        headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(0, |(_, v)| v.parse().expect("a content length"));
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await.ok()?;
    Some(Received {
        request_line: request_line.trim_end().to_owned(),
        headers,
        body: String::from_utf8(body).expect("a UTF-8 body"),
    })
}

/// A bound listener and the URL of `/hook` on it.
async fn listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    (listener, url)
}

/// A receiver that answers every request with `response` (raw HTTP/1.1, keeping the
/// connection open), reports each request, and counts the connections it accepted.
async fn answering(
    response: &'static str,
) -> (String, mpsc::UnboundedReceiver<Received>, Arc<AtomicUsize>) {
    let (listener, url) = listener().await;
    let (report, requests) = mpsc::unbounded_channel();
    let connections = Arc::new(AtomicUsize::new(0));
    let accepted = Arc::clone(&connections);
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            accepted.fetch_add(1, Ordering::SeqCst);
            let report = report.clone();
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                while let Some(request) = read_request(&mut stream).await {
                    report.send(request).unwrap();
                    stream
                        .get_mut()
                        .write_all(response.as_bytes())
                        .await
                        .unwrap();
                }
            });
        }
    });
    (url, requests, connections)
}

fn request(url: &str, headers: Vec<(&'static str, String)>, body: &str) -> DeliveryRequest {
    DeliveryRequest {
        url: WebhookUrl::new(url).unwrap(),
        headers,
        body: body.to_owned(),
    }
}

/// A sender that may reach private networks, as the receivers here are on loopback.
fn sender(timeout: Duration) -> HttpSender {
    HttpSender::new(timeout, true).unwrap()
}

/// A sender with the address guard on.
fn guarded() -> HttpSender {
    HttpSender::new(Duration::from_secs(10), false).unwrap()
}

/// The port of a receiver's URL (`http://127.0.0.1:<port>/hook`).
fn port_of(url: &str) -> u16 {
    WebhookUrl::new(url).unwrap().port()
}

/// The reason of a delivery without an answer.
fn no_answer(outcome: SendOutcome) -> String {
    match outcome {
        SendOutcome::NoAnswer(why) => why,
        SendOutcome::Answered(status) => panic!("answered {status}"),
    }
}

/// A moment for a connection that should not come to show up anyway.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn a_receiver_gets_the_body_the_content_type_and_every_header() {
    for (response, status) in [
        ("HTTP/1.1 204 No Content\r\n\r\n", 204),
        (
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok",
            200,
        ),
    ] {
        let (url, mut requests, _) = answering(response).await;
        let body = r#"{"id":"evt_1","type":"customer.created","data":{"amount":20000.00}}"#;
        let headers = vec![
            ("webhook-id", "msg_42".to_owned()),
            ("webhook-timestamp", "1765000000".to_owned()),
            (
                "webhook-signature",
                "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4= v1,abc".to_owned(),
            ),
        ];

        let outcome = sender(Duration::from_secs(10))
            .send(&request(&url, headers.clone(), body))
            .await;

        assert_eq!(outcome, SendOutcome::Answered(status));
        let received = requests.recv().await.unwrap();
        assert_eq!(received.request_line, "POST /hook HTTP/1.1");
        assert_eq!(received.body, body);
        assert_eq!(received.header("content-type"), ["application/json"]);
        assert_eq!(received.header("user-agent"), [USER_AGENT]);
        assert!(USER_AGENT.starts_with("Credence-Webhooks/"));
        for (name, value) in &headers {
            assert_eq!(received.header(name), [value.as_str()], "header {name}");
        }
    }
}

#[tokio::test]
async fn a_server_error_is_an_answer() {
    let (url, _requests, _) =
        answering("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops").await;

    let outcome = sender(Duration::from_secs(10))
        .send(&request(&url, vec![], "{}"))
        .await;

    assert_eq!(outcome, SendOutcome::Answered(500));
    assert!(!outcome.succeeded());
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out() {
    let (listener, url) = listener().await;
    let (got_request, request_read) = oneshot::channel();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut stream = BufReader::new(stream);
        let request = read_request(&mut stream).await;
        got_request.send(request.is_some()).unwrap();
        // Holds the connection open without a word.
        std::future::pending::<()>().await;
        drop(stream);
    });

    let sender = sender(Duration::from_secs(1));
    let request = request(&url, vec![], "{}");
    let started = Instant::now();
    // The guard fails the test rather than hanging it if the time-out is lost.
    let outcome = tokio::time::timeout(Duration::from_secs(5), sender.send(&request))
        .await
        .expect("the send gave up on its own");
    let took = started.elapsed();

    assert_eq!(
        outcome,
        SendOutcome::NoAnswer("timed out after 1 s".to_owned())
    );
    assert!(
        request_read.await.unwrap(),
        "the request reached the receiver"
    );
    assert!(
        took >= Duration::from_millis(900),
        "gave up early: {took:?}"
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[tokio::test]
async fn a_refused_connection_could_not_connect() {
    let (listener, url) = listener().await;
    drop(listener);

    let outcome = sender(Duration::from_secs(10))
        .send(&request(&url, vec![], "{}"))
        .await;

    let SendOutcome::NoAnswer(why) = outcome else {
        panic!("answered: {outcome:?}");
    };
    assert!(why.starts_with("could not connect: "), "{why}");
    assert!(!why.contains("127.0.0.1"), "the URL is no cause: {why}");
}

#[tokio::test]
async fn an_endless_body_is_cut_off() {
    let (listener, url) = listener().await;
    let (wrote, written) = oneshot::channel();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut stream = BufReader::new(stream);
        read_request(&mut stream).await.unwrap();
        let stream = stream.get_mut();
        // No length: the body runs until the connection closes, which the receiver never does.
        stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n")
            .await
            .unwrap();
        let chunk = [b'x'; 16 * 1024];
        let mut total = 0usize;
        while stream.write_all(&chunk).await.is_ok() {
            total += chunk.len();
        }
        wrote.send(total).unwrap();
    });

    // Without the cap the read would go on until this time-out; with it the send returns as
    // soon as 64 KiB are in.
    let started = Instant::now();
    let outcome = sender(Duration::from_secs(30))
        .send(&request(&url, vec![], "{}"))
        .await;
    let took = started.elapsed();

    assert_eq!(outcome, SendOutcome::Answered(200));
    assert!(took < Duration::from_secs(10), "read on for {took:?}");
    // The sender dropped the connection: the receiver's writes fail.
    let total = tokio::time::timeout(Duration::from_secs(10), written)
        .await
        .expect("the connection was closed")
        .unwrap();
    assert!(total >= 64 * 1024, "wrote only {total} bytes");
}

#[tokio::test]
async fn a_redirect_is_an_answer_not_followed() {
    // The redirect's target answers 200 at once: following it would report that.
    let (target, _target_requests, target_connections) =
        answering("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").await;
    let response: &'static str = Box::leak(
        format!("HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\n\r\n")
            .into_boxed_str(),
    );
    let (url, mut requests, _) = answering(response).await;

    let outcome = sender(Duration::from_secs(10))
        .send(&request(&url, vec![], "{}"))
        .await;

    assert_eq!(outcome, SendOutcome::Answered(302));
    assert!(requests.recv().await.is_some());
    assert_eq!(target_connections.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn one_connection_serves_consecutive_deliveries() {
    let (url, mut requests, connections) =
        answering("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").await;
    let sender = sender(Duration::from_secs(10));

    for body in ["{\"n\":1}", "{\"n\":2}"] {
        let outcome = sender.send(&request(&url, vec![], body)).await;
        assert_eq!(outcome, SendOutcome::Answered(200));
        assert_eq!(requests.recv().await.unwrap().body, body);
    }
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "the pooled connection was reused"
    );
}

#[tokio::test]
async fn the_guard_refuses_a_private_address_literal_without_connecting() {
    let (url, _requests, connections) =
        answering("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").await;
    let port = port_of(&url);

    let why = no_answer(guarded().send(&request(&url, vec![], "{}")).await);

    assert_eq!(
        why,
        "refused: the URL points to a private address (127.0.0.1)"
    );
    // The same receiver, reached without the guard: the refusal was the guard's.
    settle().await;
    assert_eq!(connections.load(Ordering::SeqCst), 0, "no connection");
    let outcome = sender(Duration::from_secs(10))
        .send(&request(
            &format!("http://127.0.0.1:{port}/hook"),
            vec![],
            "{}",
        ))
        .await;
    assert_eq!(outcome, SendOutcome::Answered(200));
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_guard_refuses_addresses_written_as_shorthand() {
    // Names to the domain's URL check, but addresses to the URL parser that connects:
    // 2130706433 and 127.1 are both 127.0.0.1, and never go through DNS.
    let (url, _requests, connections) =
        answering("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").await;
    let port = port_of(&url);

    for host in ["2130706433", "127.1", "0x7f.0.0.1"] {
        let url = format!("http://{host}:{port}/hook");
        let why = no_answer(guarded().send(&request(&url, vec![], "{}")).await);
        assert_eq!(
            why, "refused: the URL points to a private address (127.0.0.1)",
            "{host}"
        );
    }
    settle().await;
    assert_eq!(connections.load(Ordering::SeqCst), 0, "no connection");
}

#[tokio::test]
async fn the_guard_refuses_a_name_that_resolves_only_to_private_addresses() {
    let (url, _requests, connections) =
        answering("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").await;
    let url = format!("http://localhost:{}/hook", port_of(&url));

    let why = no_answer(guarded().send(&request(&url, vec![], "{}")).await);

    assert_eq!(
        why,
        "could not connect: localhost resolves only to private addresses"
    );
    settle().await;
    assert_eq!(connections.load(Ordering::SeqCst), 0, "no connection");
    // Without the guard the name reaches the receiver.
    let outcome = sender(Duration::from_secs(10))
        .send(&request(&url, vec![], "{}"))
        .await;
    assert_eq!(outcome, SendOutcome::Answered(200));
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}
