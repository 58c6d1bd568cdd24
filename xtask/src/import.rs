//! `cargo xtask bench import`: how fast a bulk import goes, and how much memory the server
//! needs for it.
//!
//! Starts the release `credence serve` as its own process on a fresh database (SQLite, and
//! PostgreSQL when `CREDENCE_TEST_POSTGRES_URL` is set), then posts 100,000 generated
//! customers to `POST /api/v1.0/customers/import`: first as CSV, every line a new customer
//! (half of them with an opening balance), then the same references as NDJSON, every line
//! an update. Prints lines per second and the server's peak resident set (`VmHWM` of its
//! process, reset before each import). A benchmark, never a test: it is not run in CI.
//!
//! Options: `--lines N` (default 100000); `--only sqlite|postgresql` runs one backend;
//! `--debug` runs the debug server instead (quicker to build, for comparing changes, not
//! for the figures).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use crate::chaos::{self, KEY, Replica, Scratch};
use crate::flags::Flags;
use crate::floor::usage;

/// The targets the benchmark is held to (lines per second).
const SQLITE_TARGET: f64 = 5_000.0;
const POSTGRES_TARGET: f64 = 2_000.0;

/// The most memory the server may use for an import.
const RSS_TARGET_MIB: u64 = 150;

/// The benchmark's options.
struct Options {
    lines: u64,
    /// The backend to run alone (lower case), or every one.
    only: Option<String>,
    /// The debug server instead of the release one.
    debug: bool,
}

fn parse(args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options {
        lines: 100_000,
        only: None,
        debug: false,
    };
    let mut flags = Flags::new(args);
    while let Some(flag) = flags.option() {
        match flag {
            "--lines" => options.lines = flags.parse()?,
            "--only" => {
                let backend = flags.parse::<String>()?.to_lowercase();
                if !["sqlite", "postgresql"].contains(&backend.as_str()) {
                    bail!("--only takes sqlite or postgresql, not {backend}");
                }
                options.only = Some(backend);
            }
            "--debug" => options.debug = true,
            other => bail!("unknown option {other}; use --lines N, --only BACKEND or --debug"),
        }
    }
    Ok(options)
}

/// Runs the benchmark.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let Options { lines, only, debug } = parse(args)?;
    let binary = chaos::build_credence(!debug)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut rows = Vec::new();
    let targets = crate::bench::fresh_targets("import")?
        .into_iter()
        .filter(|(backend, _)| only.as_ref().is_none_or(|o| *o == backend.to_lowercase()));
    for (backend, url) in targets {
        crate::floor::migrate(&binary, &url)?;
        let scratch = Scratch::new("bench-import")?;
        let mut server = Replica::start_with(&binary, &url, &scratch.0, 0, &[])?;
        // As long as the server gives an import in all (it bounds each step itself).
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60 * 60))
            .build()?;
        runtime.block_on(chaos::wait_ready(
            &client,
            &mut server,
            Duration::from_secs(60),
        ))?;
        let pid = server.pid().context("the server is not running")?;
        for (what, content_type, body) in [
            ("create (CSV)", "text/csv", csv_body(lines)),
            (
                "update (NDJSON)",
                "application/x-ndjson",
                ndjson_body(lines),
            ),
        ] {
            let reset = usage::reset_peak_rss(pid);
            let started = Instant::now();
            let report = runtime
                .block_on(import(&client, &server.base(), content_type, body))
                .map_err(|error| {
                    // An answer sent while the body is still going out (a time-out, a
                    // failure) reaches the client as a closed connection: the server's log
                    // says what it was.
                    anyhow::anyhow!(
                        "{backend} {what}: {error:#}\nthe server's last lines:\n{}",
                        log_tail(server.log())
                    )
                })?;
            let elapsed = started.elapsed();
            let peak = usage::peak_rss_kib(pid).ok().filter(|_| reset).map_or_else(
                || "n/a".to_owned(),
                |kib| format!("{:.1} MiB", kib as f64 / 1024.0),
            );
            let done =
                report["created"].as_u64().unwrap_or(0) + report["updated"].as_u64().unwrap_or(0);
            let failed = report["failed"].as_u64().unwrap_or(0);
            if done != lines || failed != 0 {
                bail!(
                    "{backend} {what}: {done} lines applied and {failed} failed of {lines}: {}",
                    report["lines"]
                        .as_array()
                        .and_then(|l| l.iter().find(|l| l["result"] == "failed"))
                        .map_or_else(String::new, Value::to_string)
                );
            }
            let rate = lines as f64 / elapsed.as_secs_f64();
            let target = if backend == "SQLite" {
                SQLITE_TARGET
            } else {
                POSTGRES_TARGET
            };
            eprintln!("{backend} {what}: {lines} lines in {elapsed:.1?}");
            rows.push(format!(
                "| {backend} | {what} | {lines} | {:.1} | {rate:.0} | ≥ {target:.0} | {peak} | < {RSS_TARGET_MIB} MiB |",
                elapsed.as_secs_f64()
            ));
        }
        server.kill();
    }
    println!(
        "| backend | import | lines | seconds | lines/s | target | server peak RSS | target |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        println!("{row}");
    }
    Ok(())
}

/// The last lines of a server's log.
fn log_tail(path: &std::path::Path) -> String {
    let log = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = log.lines().rev().take(10).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join("\n")
}

/// Posts one import and answers its report.
async fn import(
    client: &reqwest::Client,
    base: &str,
    content_type: &str,
    body: Vec<u8>,
) -> anyhow::Result<Value> {
    let response = client
        .post(format!("{base}/api/v1.0/customers/import"))
        .bearer_auth(KEY)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .context("the import was not answered")?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        bail!("the import answered {status}: {text}");
    }
    serde_json::from_str(&text).context("the report is not JSON")
}

/// `lines` new customers as CSV, every other one with an opening balance.
fn csv_body(lines: u64) -> Vec<u8> {
    let mut body = String::from("reference,name,email,city,country,creditLimit,openingBalance\n");
    for i in 0..lines {
        let opening = if i % 2 == 0 {
            format!("{}.{:02}", i % 1000, i % 100)
        } else {
            String::new()
        };
        let _ = writeln!(
            body,
            "IMP-{i:06},Import customer {i},customer{i}@example.com,City {},DE,{}.00,{opening}",
            i % 500,
            1000 + i % 5000
        );
    }
    body.into_bytes()
}

/// The same references as NDJSON, each a change of name and credit limit.
fn ndjson_body(lines: u64) -> Vec<u8> {
    let mut body = String::new();
    for i in 0..lines {
        let line = json!({
            "reference": format!("IMP-{i:06}"),
            "name": format!("Imported customer {i}"),
            "creditLimit": format!("{}.50", 2000 + i % 5000),
        });
        let _ = writeln!(body, "{line}");
    }
    body.into_bytes()
}
