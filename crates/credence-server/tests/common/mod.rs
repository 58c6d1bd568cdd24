//! What the tests of the `credence` binary share: the command, a free port, raw HTTP.
#![allow(dead_code, reason = "each test file uses a part of it")]

use std::io::{Read, Write};
use std::process::{Command, Output};
use std::time::Duration;

/// The `credence` binary, with no database or bind address from the environment.
pub fn credence() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_credence"));
    command
        .env_remove("CREDENCE_DATABASE_URL")
        .env_remove("CREDENCE_BIND")
        .env("RUST_LOG", "info");
    command
}

/// Runs `command` to its end and asserts it succeeded (showing its standard error if not).
pub fn succeeds(command: &mut Command) -> Output {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Sends `request` as it is and returns the whole answer, or `None` when no connection could
/// be made or the answer did not come within 5 s.
pub fn http(port: u16, request: &str) -> Option<String> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

/// The whole answer to `GET path` with no credentials.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    http(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
    )
}
