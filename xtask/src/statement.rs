//! `cargo xtask bench statement`: a statement of a million entries, streamed.
//!
//! Starts the real application in-process on a fresh SQLite database (and on PostgreSQL when
//! `CREDENCE_TEST_POSTGRES_URL` is set), gives one account `--entries` ledger entries (default
//! 1,000,000), then downloads its statement over HTTP as CSV and as JSON, reading the body
//! as it arrives and keeping none of it. Prints the time, the bytes, and how far the
//! process's peak resident memory (`VmHWM`, reset before each download) rose above what it
//! held before: a statement held whole would need hundreds of megabytes; a streamed one, a few
//! pages. Never run in CI.
//!
//! Options: `--entries N` (default 1000000).

use std::time::Instant;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use credence_domain::values::CurrencyCode;
use credence_server::Application;
use credence_server::config::{Config, Secret};
use credence_store::bench_support::{generate_customers, generate_ledger};
use credence_store::{Database, PoolOptions};

use crate::bench::{memory, mib};
use crate::chaos::KEY;
use crate::flags::Flags;

/// `cargo xtask bench statement`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut entries: u64 = 1_000_000;
    let mut flags = Flags::new(args);
    while let Some(flag) = flags.option() {
        match flag {
            "--entries" => entries = flags.parse()?,
            other => anyhow::bail!("unknown option {other}; use --entries N"),
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        println!("| backend | entries | format | seconds | body | RSS before | peak RSS rise |");
        println!("|---|---|---|---|---|---|---|");
        for (backend, url) in crate::bench::fresh_targets("statement")? {
            bench_backend(backend, &url, entries).await?;
        }
        Ok(())
    })
}

async fn bench_backend(backend: &str, url: &str, entries: u64) -> anyhow::Result<()> {
    // The data first, on a database no server holds yet: one generated customer, whose
    // account gets the entries.
    let owned = url.to_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let database = Database::connect(&owned, PoolOptions::default())?;
        database.migrate()?;
        database.ensure_organization_currency(CurrencyCode::parse("EUR")?)?;
        generate_customers(&database, 1)?;
        let start: DateTime<Utc> = "2026-01-01T00:00:00Z".parse()?;
        Ok(generate_ledger(&database, 1, entries, start)?)
    })
    .await??;
    let config = Config {
        database_url: Secret::new(url),
        bind: "127.0.0.1:0".into(),
        admin_key: Some(Secret::new(KEY)),
        ..Config::default()
    };
    let app = Application::build(config).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let server = tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let path = format!(
        "{base}/api/v1.0/customers/1/account/statement\
         ?from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z"
    );
    // One small statement first, so the figures are a running server's, not its first
    // request's.
    client
        .get(format!(
            "{base}/api/v1.0/customers/1/account/statement?from=2026-01-01T00:00:00Z&to=2026-01-01T00:01:00Z"
        ))
        .bearer_auth(KEY)
        .header("accept", "text/csv")
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    for (format, accept) in [("CSV", "text/csv"), ("JSON", "application/json")] {
        std::fs::write("/proc/self/clear_refs", "5").context("cannot reset VmHWM")?;
        let before = memory("VmRSS")?;
        let started = Instant::now();
        let mut response = client
            .get(&path)
            .bearer_auth(KEY)
            .header("accept", accept)
            .send()
            .await?
            .error_for_status()?;
        let (mut bytes, mut lines) = (0_usize, 0_usize);
        while let Some(chunk) = response.chunk().await? {
            bytes += chunk.len();
            lines += chunk.iter().filter(|b| **b == b'\n').count();
        }
        let seconds = started.elapsed().as_secs_f64();
        let peak = memory("VmHWM")?;
        if format == "CSV" {
            anyhow::ensure!(
                u64::try_from(lines)? == entries + 1,
                "the CSV has {lines} lines for {entries} entries"
            );
        }
        println!(
            "| {backend} | {entries} | {format} | {seconds:.1} | {} | {} | {} |",
            mib(u64::try_from(bytes / 1024)?),
            mib(before),
            mib(peak.saturating_sub(before)),
        );
    }
    server.abort();
    Ok(())
}
