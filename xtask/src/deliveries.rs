//! `cargo xtask bench deliveries`: how many webhook deliveries per second one replica sends.
//!
//! Starts the real application in-process on SQLite (and on PostgreSQL when
//! `CREDENCE_TEST_POSTGRES_URL` is set) and a local receiver answering `204` at once, registers
//! an endpoint for `account.*`, then posts payments straight through the store (32 tasks,
//! `--seconds`, default 10) while the replica's dispatcher delivers. Reports the events
//! written, what was delivered meanwhile, and the rate at which the backlog left then drains:
//! the dispatcher's own speed (queue, claim, sign, post, record), with nothing else to do.
//! Never run in CI.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use credence_domain::CustomerId;
use credence_domain::credit::{EntryKind, Money};
use credence_domain::ports::{AccountLedger, Posting, Precondition};
use credence_domain::values::CurrencyCode;
use credence_http::EventJson;
use credence_server::Application;
use credence_server::config::{Config, Secret};
use credence_store::{Database, PoolOptions, Store};
use serde_json::{Value, json};

const KEY: &str = "bench-deliveries-key-0123456789";
const WRITERS: usize = 32;

/// Runs the benchmark.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut seconds = 10;
    let mut flags = crate::flags::Flags::new(args);
    while let Some(flag) = flags.option() {
        match flag {
            "--seconds" => seconds = flags.parse()?,
            other => bail!("unknown option {other}; use --seconds N"),
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let delivered = Arc::new(AtomicU64::new(0));
        let receiver = receiver(Arc::clone(&delivered))?;
        println!(
            "| backend | events written/s | delivered while writing/s | backlog | backlog drained/s |"
        );
        println!("|---|---|---|---|---|");
        for (backend, url) in crate::bench::fresh_targets("deliveries")? {
            delivered.store(0, Ordering::Relaxed);
            bench_backend(backend, &url, &receiver, &delivered, seconds).await?;
        }
        Ok(())
    })
}

/// A receiver that counts deliveries and answers `204`; returns its URL.
fn receiver(delivered: Arc<AtomicU64>) -> anyhow::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/hooks", listener.local_addr()?);
    let server = actix_web::HttpServer::new(move || {
        let delivered = Arc::clone(&delivered);
        actix_web::App::new().default_service(actix_web::web::to(move || {
            delivered.fetch_add(1, Ordering::Relaxed);
            async { actix_web::HttpResponse::NoContent().finish() }
        }))
    })
    .workers(1)
    .listen(listener)?
    .run();
    tokio::spawn(server);
    Ok(url)
}

async fn bench_backend(
    backend: &str,
    url: &str,
    receiver: &str,
    delivered: &AtomicU64,
    seconds: u64,
) -> anyhow::Result<()> {
    let config = Config {
        database_url: Secret::new(url),
        bind: "127.0.0.1:0".into(),
        admin_key: Some(Secret::new(KEY)),
        rate_limit_per_second: 1_000_000,
        rate_limit_burst: 1_000_000,
        webhook_allow_private_networks: true,
        ..Config::default()
    };
    let organization = config.organization.clone();
    let app = Application::build(config).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let server = tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(KEY)
            .json(&body)
            .send()
    };
    let mut accounts = Vec::new();
    for i in 0..100 {
        let created: Value = post(
            "/api/v1.0/customers",
            json!({"reference": format!("hook-{i}"), "name": "Bench"}),
        )
        .await?
        .error_for_status()?
        .json()
        .await?;
        accounts.push(CustomerId(created["id"].as_i64().context("a customer id")?));
    }
    post(
        "/api/v1.0/webhookEndpoints",
        json!({"url": receiver, "types": ["account.*"]}),
    )
    .await?
    .error_for_status()?;

    let database = Database::connect(url, PoolOptions::default())?;
    let store =
        Arc::new(Store::new(database).with_event_encoder(Arc::new(EventJson::new(organization))));
    let eur = CurrencyCode::parse("EUR").context("EUR")?;
    let written = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let accounts = Arc::new(accounts);
    let started = Instant::now();
    let writers = (0..WRITERS).map(|worker| {
        let (store, written, accounts) = (
            Arc::clone(&store),
            Arc::clone(&written),
            Arc::clone(&accounts),
        );
        tokio::spawn(async move {
            let mut i = worker;
            while Instant::now() < deadline {
                let posting = Posting {
                    account: accounts[i % accounts.len()],
                    kind: EntryKind::Payment,
                    balance_delta: Money::from_minor(1, eur),
                    description: None,
                    user: None,
                    now: chrono::Utc::now(),
                    idempotency: None,
                };
                i += WRITERS;
                if store.post(&posting, Precondition::none()).await.is_ok() {
                    written.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    });
    let _ = futures_util::future::join_all(writers).await;
    let writing = started.elapsed();
    let written = written.load(Ordering::Relaxed);
    let during = delivered.load(Ordering::Relaxed);
    let drain_started = Instant::now();
    let limit = Duration::from_secs(600);
    while delivered.load(Ordering::Relaxed) < written {
        if drain_started.elapsed() > limit {
            bail!(
                "{backend}: only {} of {written} delivered after {limit:?}",
                delivered.load(Ordering::Relaxed)
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let backlog = written - during;
    println!(
        "| {backend} | {:.0} | {:.0} | {backlog} | {:.0} |",
        per_second(written, writing),
        per_second(during, writing),
        per_second(backlog, drain_started.elapsed()),
    );
    server.abort();
    Ok(())
}

#[expect(clippy::cast_precision_loss, reason = "a rate for humans to read")]
fn per_second(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(f64::EPSILON)
}
