//! The `credence` binary itself: migrate, configuration errors, serve answering health checks.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests panic on a broken environment"
)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn credence() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_credence"));
    command
        .env_remove("CREDENCE_DATABASE_URL")
        .env_remove("CREDENCE_BIND")
        .env("RUST_LOG", "info");
    command
}

#[test]
fn migrate_creates_the_sqlite_database_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cli.db").display());
    for _ in 0..2 {
        let output = credence()
            .arg("migrate")
            .env("CREDENCE_DATABASE_URL", &url)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            "migrations applied"
        );
    }
    assert!(dir.path().join("cli.db").exists());
}

#[test]
fn the_default_database_is_credence_db_in_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let output = credence()
        .arg("migrate")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(dir.path().join("credence.db").exists());
}

#[test]
fn configuration_errors_are_reported_not_panicked() {
    let missing = credence()
        .args(["--config", "/nonexistent/credence.toml", "migrate"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("not found"));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credence.toml");
    std::fs::write(&file, "currency = \"XYZ\"\n").unwrap();
    let bad_currency = credence()
        .args(["--config", file.to_str().unwrap(), "migrate"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!bad_currency.status.success());
    assert!(String::from_utf8_lossy(&bad_currency.stderr).contains("XYZ"));

    let unknown_key = credence()
        .arg("migrate")
        .env("CREDENCE_POOL_SIZE", "many")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        unknown_key.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&unknown_key.stderr)
    );
}

#[test]
fn serve_reads_toml_and_env_and_answers_health_checks() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("custom.toml");
    std::fs::write(
        &file,
        "bind = \"127.0.0.1:1\"\norganization = \"from-file\"\n",
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = credence()
        .args(["--config", file.to_str().unwrap(), "serve"])
        .env("CREDENCE_BIND", format!("127.0.0.1:{port}"))
        .env("CREDENCE_WORKERS", "1")
        .current_dir(dir.path())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("credence is listening") {
                let _ = tx.send(line);
            }
        }
    });
    let line = rx.recv_timeout(Duration::from_secs(60));
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut answered = false;
    while Instant::now() < deadline && !answered {
        answered = http_get(port, "/health/ready").is_some_and(|r| r.starts_with("HTTP/1.1 200"));
    }
    let customers = http_get(port, "/api/v1.0/customers").unwrap_or_default();
    child.kill().unwrap();
    child.wait().unwrap();
    let line = line.expect("a 'credence is listening' log line");
    assert!(line.starts_with('{'), "logs are JSON lines: {line}");
    assert!(answered, "the server answered /health/ready");
    assert!(customers.starts_with("HTTP/1.1 200"), "{customers}");
}

fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}
