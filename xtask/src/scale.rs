//! `cargo xtask bench scale`: what one database carries behind one or several service
//! replicas, for the scaling guide (`docs/scaling.md`).
//!
//! Builds the release `credence` and starts it as separate processes, as a deployment runs
//! it: one on a fresh SQLite file, then one and three replicas sharing a fresh PostgreSQL
//! database (when `CREDENCE_TEST_POSTGRES_URL` is set). Against each it runs, for a fixed time
//! and with a fixed number of concurrent keep-alive clients spread over the replicas, two
//! workloads on 100 accounts: admissions (`POST .../account/reservations` of 0.01, each one
//! the serialized write at the heart of the service) and reads (`GET .../account`). It prints
//! answers per second, latency percentiles and what was not a `2xx`. The load client runs on
//! the same machine, so the figures are what the machine does with its client beside it.
//! Never run in CI.
//!
//! Options: `--seconds N` (default 10), `--clients N` (default 64).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::bench::{percentile, show};
use crate::chaos::{KEY, Replica, Scratch, build_credence, create_customers, wait_ready};
use crate::flags::Load;

#[derive(Clone, Copy)]
enum Workload {
    Admissions,
    Reads,
}

impl Workload {
    fn label(self) -> &'static str {
        match self {
            Self::Admissions => "admissions",
            Self::Reads => "account reads",
        }
    }
}

/// What one workload measured.
struct Outcome {
    per_second: f64,
    p50: Duration,
    p99: Duration,
    failed: u64,
}

/// `cargo xtask bench scale`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let options = Load::parse(args)?;
    let binary = build_credence(true)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let targets = crate::bench::fresh_targets("scale")?;
        println!(
            "{} s per workload, {} clients, 100 accounts",
            options.seconds, options.clients
        );
        println!("| database | replicas | workload | answers/s | p50 | p99 | not 2xx |");
        println!("|---|---:|---|---:|---:|---:|---:|");
        for (backend, url) in targets {
            let counts: &[usize] = if backend == "SQLite" { &[1] } else { &[1, 3] };
            for &replicas in counts {
                measure(&binary, backend, &url, replicas, &options).await?;
            }
        }
        Ok(())
    })
}

async fn measure(
    binary: &std::path::Path,
    backend: &str,
    url: &str,
    count: usize,
    options: &Load,
) -> anyhow::Result<()> {
    let scratch = Scratch::new("scale")?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(options.clients)
        .timeout(Duration::from_secs(10))
        .build()?;
    let mut replicas = Vec::new();
    // One at a time: the first applies the migrations.
    for index in 0..count {
        let mut replica = Replica::start_with(binary, url, &scratch.0, index, &[])?;
        wait_ready(&client, &mut replica, Duration::from_secs(60)).await?;
        replicas.push(replica);
    }
    let bases: Arc<Vec<String>> = Arc::new(replicas.iter().map(Replica::base).collect());
    let prefix = format!("scale-{count}");
    let accounts = Arc::new(create_customers(&client, &bases[0], &prefix, 100).await?);
    for workload in [Workload::Admissions, Workload::Reads] {
        let outcome = load(&client, &bases, &accounts, workload, options).await;
        println!(
            "| {backend} | {count} | {} | {:.0} | {} | {} | {} |",
            workload.label(),
            outcome.per_second,
            show(outcome.p50),
            show(outcome.p99),
            outcome.failed
        );
    }
    drop(replicas);
    Ok(())
}

/// Closed-loop clients, each sending its next request when the last is answered, dealt over
/// the replicas and the accounts in turn.
async fn load(
    client: &reqwest::Client,
    bases: &Arc<Vec<String>>,
    accounts: &Arc<Vec<i64>>,
    workload: Workload,
    options: &Load,
) -> Outcome {
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(options.seconds);
    let workers = (0..options.clients).map(|worker| {
        let (client, failed) = (client.clone(), Arc::clone(&failed));
        let (bases, accounts) = (Arc::clone(bases), Arc::clone(accounts));
        let clients = options.clients;
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = worker;
            while Instant::now() < deadline {
                let base = &bases[i % bases.len()];
                let id = accounts[i % accounts.len()];
                i += clients;
                let account = format!("{base}/api/v1.0/customers/{id}/account");
                let request = match workload {
                    Workload::Admissions => client
                        .post(format!("{account}/reservations"))
                        .json(&json!({"amount": "0.01"})),
                    Workload::Reads => client.get(account),
                };
                let sent = Instant::now();
                // The body is part of the answer a client waits for.
                let answered = match request.bearer_auth(KEY).send().await {
                    Ok(response) if response.status().is_success() => {
                        response.bytes().await.is_ok()
                    }
                    _ => false,
                };
                if answered {
                    latencies.push(sent.elapsed());
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies
        })
    });
    let mut latencies = Vec::new();
    for worker in futures_util::future::join_all(workers).await {
        latencies.extend(worker.unwrap_or_default());
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    #[allow(clippy::cast_precision_loss, reason = "a rate for a report")]
    let per_second = latencies.len() as f64 / elapsed;
    Outcome {
        per_second,
        p50: percentile(&latencies, 50),
        p99: percentile(&latencies, 99),
        failed: failed.load(Ordering::Relaxed),
    }
}
