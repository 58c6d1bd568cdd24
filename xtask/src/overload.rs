//! `cargo xtask bench overload`: whether the service stays responsive past its capacity.
//!
//! Starts the real application in-process (SQLite, and PostgreSQL when
//! `CREDENCE_TEST_POSTGRES_URL` is set) with its default `max_in_flight` and pool wait, then:
//!
//! 1. measures capacity: closed-loop clients for a few seconds on a representative
//!    authenticated mix (half reads of an account, half admissions of a reservation), counting
//!    `2xx` answers per second;
//! 2. offers `--factor` (default 2) times that rate open-loop for `--seconds` (default 30):
//!    requests leave on a fixed schedule whether or not earlier ones were answered, and each
//!    one's latency counts from when it was due, so a server that falls behind cannot hide it;
//! 3. reports the share of answers that were either a `2xx` within 1 s or a `503`/`429` within
//!    50 ms (the target is at least 99 %), with p50/p99 per kind of answer.
//!
//! The rate limits are raised for the benchmark (one key makes every request); shedding and
//! the pool wait are what is measured. Client and server share the machine, so the capacity
//! measured is the capacity with this load generator beside it. Never run in CI; build with
//! `--release` (`cargo xtask` does not, so run `cargo run --release -p xtask -- bench overload`).
//!
//! Options: `--seconds N` (default 30), `--factor F` (default 2), `--clients N` for the
//! capacity run (default 64), `--max-in-flight N` (default: the server's default).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use credence_server::Application;
use credence_server::config::{Config, Secret};
use serde_json::{Value, json};
use tokio::sync::Mutex;

const KEY: &str = "bench-overload-key-0123456789";

/// Requests still unanswered beyond which the generator stops sending (counted as failures):
/// it keeps the client's sockets and memory bounded if the server stops answering.
const MAX_OUTSTANDING: usize = 8_000;

struct Options {
    seconds: u64,
    factor: f64,
    clients: usize,
    max_in_flight: Option<usize>,
}

fn parse(args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options {
        seconds: 30,
        factor: 2.0,
        clients: 64,
        max_in_flight: None,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--seconds" => options.seconds = value()?.parse().context("--seconds")?,
            "--factor" => options.factor = value()?.parse().context("--factor")?,
            "--clients" => options.clients = value()?.parse().context("--clients")?,
            "--max-in-flight" => {
                options.max_in_flight = Some(value()?.parse().context("--max-in-flight")?);
            }
            other => bail!(
                "unknown option {other}; use --seconds N --factor F --clients N --max-in-flight N"
            ),
        }
    }
    Ok(options)
}

/// Runs the benchmark.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let options = parse(args)?;
    if cfg!(debug_assertions) {
        eprintln!(
            "note: a debug build; figures are only meaningful from `cargo run --release -p xtask -- bench overload`"
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let targets = crate::bench::fresh_targets("overload")?;
        for (backend, url) in targets {
            bench_backend(backend, &url, &options).await?;
        }
        Ok(())
    })
}

async fn bench_backend(backend: &str, url: &str, options: &Options) -> anyhow::Result<()> {
    let mut config = Config {
        database_url: Secret::new(url),
        bind: "127.0.0.1:0".into(),
        admin_key: Some(Secret::new(KEY)),
        pool_size: 16,
        rate_limit_per_second: 1_000_000,
        rate_limit_burst: 1_000_000,
        ..Config::default()
    };
    if let Some(max) = options.max_in_flight {
        config.max_in_flight = max;
    }
    let (max_in_flight, pool_wait) = (config.max_in_flight, config.pool_timeout_ms);
    let app = Application::build(config).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let server = tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let mut accounts = Vec::new();
    for i in 0..100 {
        let body = json!({"reference": format!("overload-{i}"), "name": "Bench", "creditLimit": "1000000000.00"});
        let created: Value = client
            .post(format!("{base}/api/v1.0/customers"))
            .bearer_auth(KEY)
            .json(&body)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        accounts.push(created["id"].as_i64().context("a customer id")?);
    }
    let work = Arc::new(Work {
        client,
        base,
        accounts,
    });
    let capacity = capacity(&work, options.clients, Duration::from_secs(10)).await;
    let rate = capacity * options.factor;
    println!(
        "{backend}: max_in_flight {max_in_flight}, pool wait {pool_wait} ms; capacity {capacity:.0} 2xx/s \
         (closed loop, {} clients, 10 s); offering {rate:.0}/s open-loop for {} s",
        options.clients, options.seconds
    );
    let outcomes = open_loop(&work, rate, Duration::from_secs(options.seconds)).await;
    report(&outcomes);
    server.abort();
    Ok(())
}

/// The mix every run sends: even requests read an account, odd ones admit a reservation.
struct Work {
    client: reqwest::Client,
    base: String,
    accounts: Vec<i64>,
}

impl Work {
    /// Sends request `n` of the mix; the status, or `None` for no answer.
    async fn send(&self, n: u64) -> Option<u16> {
        let index = usize::try_from(n / 2).unwrap_or(0) % self.accounts.len();
        let id = self.accounts[index];
        let account = format!("{}/api/v1.0/customers/{id}/account", self.base);
        let request = if n.is_multiple_of(2) {
            self.client.get(account)
        } else {
            self.client
                .post(format!("{account}/reservations"))
                .json(&json!({"amount": "0.01", "expiresIn": 60}))
        };
        let response = request.bearer_auth(KEY).send().await.ok()?;
        let status = response.status().as_u16();
        // Read the body, as a client would, so the latency covers the whole answer.
        response.bytes().await.ok()?;
        Some(status)
    }
}

async fn capacity(work: &Arc<Work>, clients: usize, length: Duration) -> f64 {
    let ok = Arc::new(AtomicU64::new(0));
    let next = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + length;
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (work, ok, next) = (Arc::clone(work), Arc::clone(&ok), Arc::clone(&next));
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if work.send(n).await.is_some_and(|s| (200..300).contains(&s)) {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
    per_second(ok.load(Ordering::Relaxed), started.elapsed())
}

/// One answer (or its absence) and how long after it was due it came.
struct Outcome {
    status: Option<u16>,
    latency: Duration,
}

async fn open_loop(work: &Arc<Work>, rate: f64, length: Duration) -> Vec<Outcome> {
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let outstanding = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut sent: u64 = 0;
    let mut ticks = tokio::time::interval(Duration::from_millis(1));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::new();
    while start.elapsed() < length {
        ticks.tick().await;
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a positive request count far below u64::MAX"
        )]
        let due = (start.elapsed().as_secs_f64() * rate) as u64;
        while sent < due {
            let n = sent;
            sent += 1;
            #[expect(
                clippy::cast_precision_loss,
                reason = "request numbers stay far below 2^52"
            )]
            let due_at = start + Duration::from_secs_f64(n as f64 / rate);
            if outstanding.load(Ordering::Relaxed) >= MAX_OUTSTANDING {
                outcomes.lock().await.push(Outcome {
                    status: None,
                    latency: Duration::MAX,
                });
                continue;
            }
            outstanding.fetch_add(1, Ordering::Relaxed);
            let (work, outcomes, outstanding) = (
                Arc::clone(work),
                Arc::clone(&outcomes),
                Arc::clone(&outstanding),
            );
            tasks.push(tokio::spawn(async move {
                let status = work.send(n).await;
                let latency = due_at.elapsed();
                outstanding.fetch_sub(1, Ordering::Relaxed);
                outcomes.lock().await.push(Outcome { status, latency });
            }));
        }
    }
    for task in tasks {
        let _ = task.await;
    }
    let mut outcomes = outcomes.lock().await;
    std::mem::take(&mut *outcomes)
}

fn report(outcomes: &[Outcome]) {
    let total = outcomes.len();
    let ok = |o: &&Outcome| o.status.is_some_and(|s| (200..300).contains(&s));
    let refused = |o: &&Outcome| matches!(o.status, Some(503 | 429));
    let good = outcomes
        .iter()
        .filter(|o| {
            (ok(o) && o.latency <= Duration::from_secs(1))
                || (refused(o) && o.latency <= Duration::from_millis(50))
        })
        .count();
    let kinds: [(&str, Vec<Duration>); 4] = [
        ("2xx", pick(outcomes, ok)),
        ("503/429", pick(outcomes, refused)),
        (
            "other status",
            pick(outcomes, |o| o.status.is_some() && !ok(o) && !refused(o)),
        ),
        ("no answer", pick(outcomes, |o| o.status.is_none())),
    ];
    #[expect(clippy::cast_precision_loss, reason = "a share for humans to read")]
    let share = 100.0 * good as f64 / (total.max(1)) as f64;
    println!(
        "answers: {total}; 2xx within 1 s or 503/429 within 50 ms: {good} ({share:.2} %, target >= 99 %)"
    );
    println!("| answer | count | p50 | p99 | max |");
    println!("|---|---|---|---|---|");
    let all: Vec<Duration> = {
        let mut all: Vec<Duration> = outcomes.iter().map(|o| o.latency).collect();
        all.sort();
        all
    };
    for (kind, latencies) in kinds.iter().chain(std::iter::once(&("all", all))) {
        println!(
            "| {kind} | {} | {} | {} | {} |",
            latencies.len(),
            quantile(latencies, 0.50),
            quantile(latencies, 0.99),
            quantile(latencies, 1.0),
        );
    }
}

fn pick(outcomes: &[Outcome], keep: impl Fn(&&Outcome) -> bool) -> Vec<Duration> {
    let mut latencies: Vec<Duration> = outcomes
        .iter()
        .filter(|o| keep(o))
        .map(|o| o.latency)
        .collect();
    latencies.sort();
    latencies
}

/// The `q` quantile of sorted latencies, in milliseconds, for the table.
fn quantile(sorted: &[Duration], q: f64) -> String {
    if sorted.is_empty() {
        return "-".into();
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "an index into a slice of known length"
    )]
    let index = (((sorted.len() - 1) as f64) * q).round() as usize;
    let latency = sorted[index.min(sorted.len() - 1)];
    if latency == Duration::MAX {
        return "not sent".into();
    }
    format!("{:.1} ms", latency.as_secs_f64() * 1000.0)
}

#[expect(clippy::cast_precision_loss, reason = "a rate for humans to read")]
fn per_second(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(f64::EPSILON)
}
