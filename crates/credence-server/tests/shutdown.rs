//! Graceful shutdown of a real `credence serve` process: SIGTERM turns readiness to `503` at
//! once while the listener still accepts, then the listener closes, the request already in
//! flight still gets its answer, and the process exits 0.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests panic on a broken environment"
)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{free_port, http_get};

const ADMIN_KEY: &str = "shutdown-admin-key-0123456789";

/// The status line of `GET path`, or `None` when no connection could be made.
fn status_of(port: u16, path: &str) -> Option<String> {
    http_get(port, path)?.lines().next().map(str::to_owned)
}

/// Polls `check` every 20 ms until it holds or `limit` passes.
fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn wait_with_limit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn sigterm_drains_then_finishes_in_flight_requests_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_credence"))
        .arg("serve")
        .env_remove("CREDENCE_DATABASE_URL")
        .env("CREDENCE_BIND", format!("127.0.0.1:{port}"))
        .env("CREDENCE_WORKERS", "1")
        .env("CREDENCE_ADMIN_KEY", ADMIN_KEY)
        .env("CREDENCE_SHUTDOWN_DRAIN_SECS", "3")
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        eventually(Duration::from_secs(60), || {
            status_of(port, "/health/ready").is_some_and(|s| s.contains(" 200 "))
        }),
        "the server became ready"
    );

    // A request in flight: headers sent, half of its body still to come.
    let body = r#"{"reference": "IN-FLIGHT", "name": "Still served"}"#;
    let (head, tail) = body.split_at(20);
    let mut in_flight = TcpStream::connect(("127.0.0.1", port)).unwrap();
    in_flight
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        in_flight,
        "POST /api/v1.0/customers HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {ADMIN_KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
        body.len()
    )
    .unwrap();
    in_flight.flush().unwrap();

    let signalled = Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());

    // Readiness turns 503 at once, while liveness (and so the listener) still answers.
    assert!(
        eventually(Duration::from_secs(1), || {
            status_of(port, "/health/ready").is_some_and(|s| s.contains(" 503 "))
        }),
        "readiness answers 503 right after SIGTERM"
    );
    let live = status_of(port, "/health/live");
    assert!(
        signalled.elapsed() < Duration::from_secs(3),
        "the drain had not ended yet when liveness was asked"
    );
    assert!(
        live.as_deref().is_some_and(|s| s.contains(" 200 ")),
        "the listener keeps accepting during the drain: {live:?}"
    );

    // After the drain the listener closes...
    assert!(
        eventually(Duration::from_secs(10), || status_of(port, "/health/live")
            .is_none()),
        "new connections are refused after the drain"
    );
    assert!(
        signalled.elapsed() >= Duration::from_secs(3),
        "the drain lasted its 3 s"
    );

    // ...but the request in flight is still served.
    in_flight.write_all(tail.as_bytes()).unwrap();
    let mut response = String::new();
    in_flight.read_to_string(&mut response).unwrap();
    assert!(
        response.starts_with("HTTP/1.1 201"),
        "the in-flight request finished: {response}"
    );

    let status = wait_with_limit(&mut child, Duration::from_secs(30));
    if status.is_none() {
        child.kill().unwrap();
    }
    assert_eq!(status.and_then(|s| s.code()), Some(0), "exit code 0");
}
