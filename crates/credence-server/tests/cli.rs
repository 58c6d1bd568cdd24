//! The `credence` binary itself: migrate, configuration errors, serve answering health checks.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests panic on a broken environment"
)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{credence, free_port, http, http_get, succeeds};

/// `credence` on the SQLite database `file` in `dir`.
fn credence_on(dir: &Path, file: &str) -> Command {
    let url = format!("sqlite://{}", dir.join(file).display());
    let mut command = credence();
    command.env("CREDENCE_DATABASE_URL", url);
    command
}

#[test]
fn migrate_creates_the_sqlite_database_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let output = succeeds(credence_on(dir.path(), "cli.db").arg("migrate"));
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
    succeeds(credence().arg("migrate").current_dir(dir.path()));
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

    let not_a_number = credence()
        .arg("migrate")
        .env("CREDENCE_POOL_SIZE", "many")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        not_a_number.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&not_a_number.stderr)
    );

    // A misspelt key stops the server, naming it, instead of falling back to a default.
    let strict = tempfile::tempdir().unwrap();
    std::fs::write(strict.path().join("credence.toml"), "databse_url = \"x\"\n").unwrap();
    let typo = credence()
        .arg("migrate")
        .current_dir(strict.path())
        .output()
        .unwrap();
    assert_eq!(typo.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&typo.stderr).trim(),
        "credence: unknown setting databse_url in credence.toml"
    );
    assert!(
        !strict.path().join("credence.db").exists(),
        "nothing was opened"
    );
    let variable = credence()
        .arg("migrate")
        .env("CREDENCE_DATABSE_URL", "x")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(variable.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&variable.stderr).trim(),
        "credence: unknown setting CREDENCE_DATABSE_URL in the environment"
    );
    // Empty, a known setting reads as unset; an unknown one is refused all the same.
    let empty_variable = credence()
        .arg("migrate")
        .env("CREDENCE_DATABSE_URL", "")
        .env("CREDENCE_ADMIN_KEY", "")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(empty_variable.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&empty_variable.stderr).trim(),
        "credence: unknown setting CREDENCE_DATABSE_URL in the environment"
    );

    // A database that cannot be opened is named, in one line, once.
    let empty = tempfile::tempdir().unwrap();
    let unopenable = credence()
        .arg("migrate")
        .env("CREDENCE_DATABASE_URL", "sqlite:///nonexistent/dir/x.db")
        .current_dir(empty.path())
        .output()
        .unwrap();
    assert!(!unopenable.status.success());
    let stderr = String::from_utf8_lossy(&unopenable.stderr);
    assert_eq!(
        stderr.trim(),
        "credence: cannot open the SQLite database /nonexistent/dir/x.db: unable to open database file"
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
    let port = free_port();
    let log = dir.path().join("stderr.log");
    let mut child = credence()
        .args(["--config", file.to_str().unwrap(), "serve"])
        .env("CREDENCE_BIND", format!("127.0.0.1:{port}"))
        .env("CREDENCE_WORKERS", "1")
        .env("CREDENCE_ADMIN_KEY", ADMIN_KEY)
        .env(
            "CREDENCE_CORS_ORIGINS",
            "https://a.example,https://b.example",
        )
        .current_dir(dir.path())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let log_path = log.clone();
    let so_far = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let read_so_far = std::sync::Arc::clone(&so_far);
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("credence is listening") {
                let _ = tx.send(line.clone());
            }
            let mut all = read_so_far.lock().unwrap();
            all.push_str(&line);
            all.push('\n');
        }
        let all = read_so_far.lock().unwrap().clone();
        std::fs::write(log_path, all).unwrap();
    });
    let line = rx.recv_timeout(Duration::from_secs(60));
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut answered = false;
    while Instant::now() < deadline && !answered {
        answered = http_get(port, "/health/ready").is_some_and(|r| r.starts_with("HTTP/1.1 200"));
    }
    let anonymous = http_get(port, "/api/v1.0/customers").unwrap_or_default();
    let customers = http_get_with_key(port, "/api/v1.0/customers", ADMIN_KEY).unwrap_or_default();
    let key = http_post_with_key(port, "/api/v1.0/users/1/keys", ADMIN_KEY).unwrap_or_default();
    let secret = key
        .split("\"secret\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_owned();
    let listed = http_get_with_key(port, "/api/v1.0/users/1/keys", &secret).unwrap_or_default();
    // A list in a variable: each origin of CREDENCE_CORS_ORIGINS is allowed.
    let preflight = http(
        port,
        "OPTIONS /api/v1.0/customers HTTP/1.1\r\nHost: localhost\r\nOrigin: https://b.example\r\n\
         Access-Control-Request-Method: GET\r\nConnection: close\r\n\r\n",
    )
    .unwrap_or_default();
    // A request's access line is written once its answer is sent: wait for the key list's
    // (which the test reads below) before stopping the server, or the kill can come first.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline
        && !so_far
            .lock()
            .unwrap()
            .contains("\"route\":\"/api/v1.0/users/{id}/keys\",\"status\":200")
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let line = line.expect("a 'credence is listening' log line");
    assert!(anonymous.starts_with("HTTP/1.1 401"), "{anonymous}");
    assert!(
        preflight
            .to_ascii_lowercase()
            .contains("access-control-allow-origin: https://b.example"),
        "{preflight}"
    );
    assert!(
        key.starts_with("HTTP/1.1 201") && secret.starts_with("ck_"),
        "{key}"
    );
    assert!(
        listed.starts_with("HTTP/1.1 200"),
        "the new key works: {listed}"
    );
    assert!(
        !listed.contains(&secret),
        "a key never appears in a body after its creation"
    );
    assert!(line.starts_with('{'), "logs are JSON lines: {line}");
    assert!(answered, "the server answered /health/ready");
    assert!(customers.starts_with("HTTP/1.1 200"), "{customers}");
    reader.join().unwrap();
    let logs = std::fs::read_to_string(&log).unwrap();
    // One JSON line per request, with what an operator filters on and the request's id.
    let access = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|line| {
            let text = line.to_string();
            text.contains("\"route\":\"/api/v1.0/customers\"") && text.contains("\"status\":200")
        })
        .unwrap_or_else(|| panic!("no access line for GET /api/v1.0/customers: {logs}"));
    let text = access.to_string();
    for field in [
        "\"method\":\"GET\"",
        "\"bytes\":",
        "\"duration_ms\":",
        "\"request_id\":",
    ] {
        assert!(text.contains(field), "{field} in {text}");
    }
    // The principal is named by its user id: the list of keys was asked for with user 1's key.
    let by_user = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|line| {
            let text = line.to_string();
            text.contains("\"route\":\"/api/v1.0/users/{id}/keys\"")
                && text.contains("\"method\":\"GET\"")
        })
        .unwrap_or_else(|| panic!("no access line for the key list: {logs}"));
    assert_eq!(
        (
            by_user.to_string().contains("\"status\":200"),
            by_user.to_string().contains("\"user_id\":1")
        ),
        (true, true),
        "{by_user}"
    );
    assert!(
        !logs.contains(ADMIN_KEY) && !logs.contains(&secret),
        "no key ever reaches a log line"
    );
}

const ADMIN_KEY: &str = "cli-admin-key-0123456789";

#[test]
fn keys_create_prints_a_working_key_alone_on_the_last_line() {
    let dir = tempfile::tempdir().unwrap();
    let keys = |args: &[&str]| {
        credence_on(dir.path(), "keys.db")
            .arg("keys")
            .args(args)
            .output()
            .unwrap()
    };
    let admin = succeeds(
        credence_on(dir.path(), "keys.db")
            .args(["keys", "create", "--role", "admin", "--name", "ops"]),
    );
    let stdout = String::from_utf8(admin.stdout).unwrap();
    let last = stdout.lines().last().unwrap();
    assert!(
        last.starts_with("ck_") && last.len() == 67,
        "the key alone on the last line: {stdout}"
    );
    let again = keys(&["create", "--role", "admin"]);
    assert_ne!(
        String::from_utf8(again.stdout).unwrap().lines().last(),
        Some(last),
        "every key is new"
    );

    let unbound = keys(&["create", "--role", "reseller"]);
    assert!(!unbound.status.success());
    assert!(String::from_utf8_lossy(&unbound.stderr).contains("--customer"));
    let unknown = keys(&["create", "--role", "customer", "--customer", "NOPE"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("NOPE"));
    let bad_role = keys(&["create", "--role", "pope"]);
    assert_eq!(
        bad_role.status.code(),
        Some(2),
        "clap refuses an unknown role"
    );
}

#[test]
fn keys_are_listed_without_secrets_and_revoked_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        credence_on(dir.path(), "list.db")
            .args(args)
            .output()
            .unwrap()
    };
    let created = run(&["keys", "create", "--role", "admin", "--name", "ops"]);
    assert!(created.status.success());
    let secret = String::from_utf8(created.stdout).unwrap();
    let secret = secret.lines().last().unwrap().to_owned();
    assert!(
        run(&["keys", "create", "--role", "admin", "--name", "billing"])
            .status
            .success()
    );

    let listed = run(&["keys", "list"]);
    assert!(listed.status.success());
    let table = String::from_utf8(listed.stdout).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "a header and two keys: {table}");
    let header: Vec<&str> = lines[0]
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        header,
        [
            "ID",
            "NAME",
            "ROLE",
            "USER",
            "CUSTOMER",
            "CREATED",
            "LAST USED",
            "REVOKED"
        ]
    );
    assert!(lines[1].starts_with("1 ") && lines[1].contains("ops") && lines[1].contains("admin"));
    assert!(
        lines[1].trim_end().ends_with('-'),
        "not revoked: {}",
        lines[1]
    );
    assert!(lines[2].starts_with("2 ") && lines[2].contains("billing"));
    assert!(!table.contains("ck_"), "never a secret: {table}");
    assert!(!table.contains(&secret[3..12]));

    let revoked = run(&["keys", "revoke", "1"]);
    assert!(revoked.status.success());
    assert_eq!(
        String::from_utf8(revoked.stdout).unwrap().trim(),
        "key 1 revoked"
    );
    let table = String::from_utf8(run(&["keys", "list"]).stdout).unwrap();
    let first = table.lines().nth(1).unwrap();
    assert!(!first.trim_end().ends_with('-'), "revoked now: {first}");
    assert!(table.lines().nth(2).unwrap().trim_end().ends_with('-'));

    let again = run(&["keys", "revoke", "1"]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("no live API key has the id 1"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

fn http_get_with_key(port: u16, path: &str, key: &str) -> Option<String> {
    http(
        port,
        &format!(
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"
        ),
    )
}

fn http_post_with_key(port: u16, path: &str, key: &str) -> Option<String> {
    let body = "{\"name\": \"cli\"}";
    http(
        port,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nAPI-Key: {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

#[test]
fn demo_loads_data_and_prints_a_key_per_role_and_can_run_again() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let output = succeeds(credence_on(dir.path(), "demo.db").arg("demo"));
        let stdout = String::from_utf8(output.stdout).unwrap();
        // One line per key, `<label> key: <secret>`, and no line holds another's label: the
        // README finds the customer's key with `sed -n 's/^customer key: //p'`.
        for label in [
            "admin key: ",
            "reseller key: ",
            "customer key: ",
            "customer-2 key: ",
        ] {
            let lines: Vec<&str> = stdout.lines().filter(|l| l.contains(label)).collect();
            assert_eq!(lines.len(), 1, "{label} in {stdout}");
            let key = lines[0].strip_prefix(label).unwrap_or_default();
            assert!(key.starts_with("ck_") && !key.contains(' '), "{}", lines[0]);
        }
        assert!(stdout.contains("product_research"), "{stdout}");
    }
}

/// `credence backup` writes a checked copy of a SQLite database that a server can open as is,
/// never overwrites a file, and points PostgreSQL at its own tools; refusals exit 2.
#[test]
fn backup_copies_sqlite_checks_the_copy_and_refuses_what_it_cannot_do() {
    let dir = tempfile::tempdir().unwrap();
    succeeds(credence_on(dir.path(), "live.db").arg("demo"));
    let copy = dir.path().join("copy.db");
    let output = succeeds(credence_on(dir.path(), "live.db").arg("backup").arg(&copy));
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains("integrity ok"), "{said}");
    assert!(said.contains("equal their ledger"), "{said}");
    let keys = |file: &str| {
        let output = succeeds(credence_on(dir.path(), file).args(["keys", "list"]));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert_eq!(
        keys("copy.db"),
        keys("live.db"),
        "the copy holds the same keys"
    );

    let again = credence_on(dir.path(), "live.db")
        .arg("backup")
        .arg(&copy)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("exists already"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    if let Ok(url) = std::env::var("CREDENCE_TEST_POSTGRES_URL") {
        let postgres = credence()
            .arg("backup")
            .arg(dir.path().join("pg.db"))
            .env("CREDENCE_DATABASE_URL", url)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(postgres.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&postgres.stderr).contains("pg_dump"));
        assert!(!dir.path().join("pg.db").exists());
    }
}
