//! `credence copy` end to end: a SQLite database filled over the HTTP API is copied by the
//! binary to PostgreSQL (when `CREDENCE_TEST_POSTGRES_URL` is set) and back to a new SQLite
//! file, and a server on each copy answers the API as the original did. Its refusals are one
//! line each, with exit code 2, and write nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests panic on a broken environment"
)]

use std::path::Path;
use std::process::{Child, Output};
use std::time::{Duration, Instant};

use credence_store::test_support::TestDb;
use serde_json::{Value, json};

mod common;
use common::{credence, free_port, http, http_get, succeeds};

const ADMIN_KEY: &str = "copy-admin-key-0123456789";

/// `credence serve` on the database `url`, until dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(url: &str, dir: &Path) -> Self {
        let port = free_port();
        let child = credence()
            .arg("serve")
            .env("CREDENCE_DATABASE_URL", url)
            .env("CREDENCE_BIND", format!("127.0.0.1:{port}"))
            .env("CREDENCE_WORKERS", "1")
            .env("CREDENCE_ADMIN_KEY", ADMIN_KEY)
            .env("RUST_LOG", "error")
            .current_dir(dir)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !http_get(port, "/health/ready").is_some_and(|r| r.starts_with("HTTP/1.1 200")) {
            assert!(
                Instant::now() < deadline,
                "the server on {url} did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, port }
    }

    /// Sends a request as the admin: the status and the body (JSON, or a string).
    fn call(&self, method: &str, path: &str, content: Option<(&str, &[u8])>) -> (u16, Value) {
        let (kind, body) = content.unwrap_or(("application/json", b""));
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {ADMIN_KEY}\r\n\
             Accept: application/json\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n",
            body.len()
        );
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        let answer = http(self.port, &String::from_utf8_lossy(&request)).unwrap();
        let (headers, body) = answer.split_once("\r\n\r\n").unwrap();
        let status = headers[9..12].parse().unwrap();
        let body = if headers
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(body)
        } else {
            body.to_owned()
        };
        let value = serde_json::from_str(&body).unwrap_or(Value::String(body));
        (status, value)
    }

    fn send(&self, method: &str, path: &str, body: &Value) -> Value {
        let text = body.to_string();
        let (status, answer) = self.call(method, path, Some(("application/json", text.as_bytes())));
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {answer}"
        );
        answer
    }

    fn get(&self, path: &str) -> Value {
        let (status, answer) = self.call("GET", path, None);
        assert_eq!(status, 200, "GET {path}: {answer}");
        answer
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A chunked body, joined.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// Fills the database behind `server` over the API: customers in a hierarchy, money moved,
/// reservations, a limit change, a document, a disabled webhook endpoint.
fn populate(server: &Server) -> (Vec<i64>, String) {
    let parent = server.send(
        "POST",
        "/api/v1.0/customers",
        &json!({"reference": "P-1", "name": "Parent Société", "creditLimit": 1000}),
    );
    let child = server.send(
        "POST",
        "/api/v1.0/customers",
        &json!({"reference": "C-1", "name": "Child", "parentCustomer": parent["id"],
                "creditLimit": 300}),
    );
    let ids = vec![
        parent["id"].as_i64().unwrap(),
        child["id"].as_i64().unwrap(),
    ];
    for id in &ids {
        let base = format!("/api/v1.0/customers/{id}/account");
        server.send(
            "POST",
            &format!("{base}/payments"),
            &json!({"amount": "50.25", "description": "wire"}),
        );
        let held = server.send(
            "POST",
            &format!("{base}/reservations"),
            &json!({"amount": "20.00", "description": "order"}),
        );
        server.send(
            "POST",
            &format!("{base}/reservations/{}/release", held["id"]),
            &json!({}),
        );
        server.send(
            "POST",
            &format!("{base}/reservations"),
            &json!({"amount": 7, "description": "open"}),
        );
        server.send(
            "PUT",
            &format!("{base}/creditLimit"),
            &json!({"creditLimit": 900}),
        );
    }
    server.send(
        "PUT",
        "/api/v1.0/products/research",
        &json!({
            "titles": {"en": "Research", "de": "Recherche"},
            "descriptions": {"en": "A search."},
            "available": true, "price": "15.00", "currency": "EUR",
            "attributes": [{
                "code": "language", "type": "option", "is_mandatory": true,
                "titles": {"en": "Language"}, "helps": {"en": "Which one."},
                "options": [{"titles": {"en": "DE"}, "value": "de"}]
            }]
        }),
    );
    let boundary = "credence-copy-boundary";
    let form = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"notes.txt\"\r\n\
         Content-Type: text/plain\r\n\r\nthe bytes of a document\r\n--{boundary}--\r\n"
    );
    let (status, uploaded) = server.call(
        "POST",
        "/api/v1.0/documents/content",
        Some((
            &format!("multipart/form-data; boundary={boundary}"),
            form.as_bytes(),
        )),
    );
    assert_eq!(status, 200, "{uploaded}");
    let document = uploaded["document"]["uuid"].as_str().unwrap().to_owned();
    server.send(
        "POST",
        "/api/v1.0/webhookEndpoints",
        &json!({"url": "https://203.0.113.10/hooks", "types": ["*"], "enabled": false}),
    );
    (ids, document)
}

/// What the API answers about the data: the bodies of a sample of requests.
fn answers(server: &Server, (ids, document): &(Vec<i64>, String)) -> Vec<(String, Value)> {
    let mut paths = vec![
        "/api/v1.0/customers".to_owned(),
        "/api/v1.0/customers/search?q=parent".to_owned(),
        "/api/v1.0/customers?name=*aren*".to_owned(),
        "/api/v1.0/products".to_owned(),
        "/api/v1.0/events?max=1000".to_owned(),
        "/api/v1.0/users".to_owned(),
        "/api/v1.0/webhookEndpoints".to_owned(),
        "/api/v1.0/accounts".to_owned(),
    ];
    for id in ids {
        let base = format!("/api/v1.0/customers/{id}");
        paths.push(base.clone());
        for what in [
            "",
            "/ledger",
            "/reservations",
            "/statement",
            "/creditLimitHistory",
        ] {
            paths.push(format!("{base}/account{what}"));
        }
    }
    paths.push(format!("/api/v1.0/documents/{document}"));
    paths.push(format!("/api/v1.0/documents/{document}/content"));
    paths
        .into_iter()
        .map(|path| {
            let body = server.get(&path);
            (path, body)
        })
        .collect()
}

fn copy(from: &str, to: &str, force: bool) -> Output {
    let mut command = credence();
    command.args(["copy", "--from", from, "--to", to]);
    if force {
        command.arg("--force");
    }
    command.output().unwrap()
}

/// Asserts `output` is a refusal: exit code 2 and one line naming `why`.
fn refused(output: &Output, why: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(why), "{why}: {stderr}");
}

#[test]
fn copies_sqlite_to_postgres_and_back_and_the_api_answers_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let original = format!("sqlite://{}", dir.path().join("original.db").display());
    succeeds(
        credence()
            .arg("migrate")
            .env("CREDENCE_DATABASE_URL", &original),
    );
    let (expected, data) = {
        let server = Server::start(&original, dir.path());
        let data = populate(&server);
        (answers(&server, &data), data)
    };
    assert!(
        expected.iter().any(|(path, _)| path.ends_with("/content")),
        "a document"
    );
    // Mid-name filters read SQLite's trigram index, which the target builds itself.
    let filtered = &expected
        .iter()
        .find(|(p, _)| p.contains("*aren*"))
        .unwrap()
        .1;
    assert_eq!(filtered["paging"]["total"], 1, "{filtered}");

    let back = TestDb::sqlite();
    let postgres = TestDb::postgres();
    let hops: Vec<(&str, &str)> = match &postgres {
        Some(pg) => vec![(&original, pg.url()), (pg.url(), back.url())],
        None => vec![(&original, back.url())],
    };
    for (from, to) in hops {
        let output = copy(from, to, false);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        assert!(
            stderr.contains("copy: customers: 2 rows"),
            "progress per table: {stderr}"
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("2 accounts equal their ledger"), "{stdout}");
        let server = Server::start(to, dir.path());
        let got = answers(&server, &data);
        for ((path, want), (_, have)) in expected.iter().zip(&got) {
            assert_eq!(have, want, "GET {path} after copying to {to}");
        }
        assert_eq!(got.len(), expected.len());
    }

    // The target holds data now: refused, unless forced.
    let again = copy(&original, back.url(), false);
    refused(&again, "not empty");
    let forced = copy(&original, back.url(), true);
    assert!(
        forced.status.success(),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
}

#[test]
fn refusals_are_one_line_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let source = TestDb::sqlite();
    let missing = format!("sqlite://{}", dir.path().join("nothing.db").display());
    refused(
        &copy("mysql://db/credence", source.url(), false),
        "unsupported database URL",
    );
    refused(
        &copy(source.url(), "redis://localhost", false),
        "unsupported database URL",
    );
    refused(
        &copy(
            source.url(),
            "postgres://credence@127.0.0.1:1/credence",
            false,
        ),
        "cannot open the PostgreSQL database",
    );
    refused(&copy(source.url(), &missing, false), "does not exist");
    assert!(!dir.path().join("nothing.db").exists(), "no file was made");
    refused(
        &copy(source.url(), source.url(), false),
        "the same database",
    );
    let unmigrated = dir.path().join("blank.db");
    std::fs::write(&unmigrated, b"").unwrap();
    refused(
        &copy(
            source.url(),
            &format!("sqlite://{}", unmigrated.display()),
            false,
        ),
        "not migrated",
    );
}
