//! `cargo xtask bench admission`: how many admissions per second the service sustains.
//!
//! Starts the real application in-process on SQLite (and on PostgreSQL when
//! `CREDENCE_TEST_POSTGRES_URL` is set), then for 1 and for 100 accounts runs 64 concurrent
//! HTTP clients posting reservations for a fixed time, and beside it the same admission run
//! directly through the store (`AccountLedger::admit`: the one transaction an admission is)
//! with 64 concurrent tasks: the ceiling. Prints both and their ratio. Never run in CI.
//!
//! Options: `--seconds N` (default 10), `--clients N` (default 64).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use credence_domain::CustomerId;
use credence_domain::ports::{AccountLedger, Admission, Precondition};
use credence_domain::values::CurrencyCode;
use credence_server::Application;
use credence_server::config::{Config, Secret};
use credence_store::{Database, PoolOptions, Store};
use serde_json::json;

use crate::chaos::KEY;
use crate::flags::Load;

/// Runs the benchmark.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let options = Load::parse(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let targets = crate::bench::fresh_targets("admission")?;
        println!(
            "| backend | accounts | HTTP admissions/s | direct admissions/s | HTTP / direct |"
        );
        println!("|---|---|---|---|---|");
        for (backend, url) in targets {
            bench_backend(backend, &url, &options).await?;
        }
        Ok(())
    })
}

async fn bench_backend(backend: &str, url: &str, options: &Load) -> anyhow::Result<()> {
    let config = Config {
        database_url: Secret::new(url),
        bind: "127.0.0.1:0".into(),
        admin_key: Some(Secret::new(KEY)),
        pool_size: 16,
        // One key makes every request: its rate limit is not what is measured.
        rate_limit_per_second: 1_000_000,
        rate_limit_burst: 1_000_000,
        ..Config::default()
    };
    let app = Application::build(config).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let server = tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(options.clients)
        .build()?;
    let accounts = crate::chaos::create_customers(&client, &base, "bench", 100).await?;
    let database = Database::connect(
        url,
        PoolOptions {
            max_size: 16,
            ..PoolOptions::default()
        },
    )?;
    let store = Arc::new(Store::new(database));
    for n in [1_usize, 100] {
        let targets = Arc::new(accounts[..n].to_vec());
        let http = over_http(&client, &base, &targets, options).await;
        let eur = CurrencyCode::parse("EUR").context("EUR")?;
        let direct = direct(&store, &targets, eur, options).await;
        let ratio = if direct > 0.0 { http / direct } else { 0.0 };
        println!("| {backend} | {n} | {http:.0} | {direct:.0} | {ratio:.2} |");
    }
    server.abort();
    Ok(())
}

async fn over_http(
    client: &reqwest::Client,
    base: &str,
    accounts: &Arc<Vec<i64>>,
    options: &Load,
) -> f64 {
    let admitted = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(options.seconds);
    let workers = (0..options.clients).map(|worker| {
        let (client, admitted, accounts) =
            (client.clone(), Arc::clone(&admitted), Arc::clone(accounts));
        let base = base.to_owned();
        async move {
            let mut i = worker;
            while Instant::now() < deadline {
                let id = accounts[i % accounts.len()];
                i += options.clients;
                let response = client
                    .post(format!(
                        "{base}/api/v1.0/customers/{id}/account/reservations"
                    ))
                    .bearer_auth(KEY)
                    .json(&json!({"amount": "0.01"}))
                    .send()
                    .await;
                if response.is_ok_and(|r| r.status().as_u16() == 201) {
                    admitted.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    });
    let started = Instant::now();
    futures_util::future::join_all(workers).await;
    per_second(admitted.load(Ordering::Relaxed), started.elapsed())
}

async fn direct(
    store: &Arc<Store>,
    accounts: &Arc<Vec<i64>>,
    currency: CurrencyCode,
    options: &Load,
) -> f64 {
    let admitted = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(options.seconds);
    let step = options.clients;
    let workers = (0..options.clients).map(|worker| {
        let (store, admitted, accounts) = (
            Arc::clone(store),
            Arc::clone(&admitted),
            Arc::clone(accounts),
        );
        tokio::spawn(async move {
            let mut i = worker;
            while Instant::now() < deadline {
                let id = CustomerId(accounts[i % accounts.len()]);
                i += step;
                let now = chrono::Utc::now();
                let admission = Admission {
                    account: id,
                    customer: id,
                    amount: credence_domain::credit::Money::from_minor(1, currency),
                    description: None,
                    expires_at: now + chrono::TimeDelta::minutes(15),
                    user: None,
                    now,
                    idempotency: None,
                };
                if store.admit(&admission, Precondition::none()).await.is_ok() {
                    admitted.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    });
    let started = Instant::now();
    // A worker that panicked admitted what it counted; the rate stays honest either way.
    let _ = futures_util::future::join_all(workers).await;
    per_second(admitted.load(Ordering::Relaxed), started.elapsed())
}

#[expect(clippy::cast_precision_loss, reason = "a rate for humans to read")]
fn per_second(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(f64::EPSILON)
}
