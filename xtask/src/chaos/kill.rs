//! `cargo xtask chaos kill`: three replicas on one fresh database of the local PostgreSQL
//! (`CREDENCE_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`),
//! bounded load (payments and admissions with an `Idempotency-Key` each), and every 2 to 5 s
//! a random replica killed with SIGKILL and started again on its port. Afterwards every
//! unanswered request is sent again with its key, then the database checks of
//! [`super::verify_database`] run.
//!
//! Options: `--seconds N` (length of the chaos, default 30), `--workers N` (default 6).

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use super::{
    Answer, Load, Replica, Rng, Scratch, Verdict, http_client, options, percentile, report_retries,
    retry_unanswered, statuses, verify_database, wait_ready,
};

const DATABASE: &str = "credence_chaos_kill";

/// Runs the scenario.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let options = options(args, 30)?;
    let admin = std::env::var("CREDENCE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let port = admin_port(&admin)?;
    let url = credence_store::bench_support::postgres_database(&admin, DATABASE, true)?;
    println!("fresh database {DATABASE} on 127.0.0.1:{port}");
    let binary = super::build_server()?;
    let scratch = Scratch::new("chaos-kill")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(scenario(&binary, &url, &scratch.0, port, &options))
}

/// The port of a `postgres://user@127.0.0.1:PORT/db` URL (the checks use `psql` on it).
fn admin_port(url: &str) -> anyhow::Result<u16> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if !host.starts_with("127.0.0.1") && !host.starts_with("localhost") {
        bail!("the chaos runs only against 127.0.0.1, not {host}");
    }
    Ok(host
        .rsplit_once(':')
        .map(|(_, p)| p.parse())
        .transpose()
        .context("the port in CREDENCE_TEST_POSTGRES_URL")?
        .unwrap_or(5432))
}

async fn scenario(
    binary: &std::path::Path,
    url: &str,
    scratch: &std::path::Path,
    port: u16,
    options: &super::Options,
) -> anyhow::Result<()> {
    let client = http_client()?;
    let mut replicas = super::start_replicas(&client, binary, url, scratch).await?;
    let bases: Vec<String> = replicas.iter().map(Replica::base).collect();
    let run = format!("k{}", std::process::id());
    let accounts = super::create_accounts(&client, &bases[0], &run).await?;
    println!(
        "3 replicas ready; load: {} workers for {} s, payments and admissions on {} accounts",
        options.workers,
        options.seconds,
        accounts.len()
    );
    let origin = Instant::now();
    let length = Duration::from_secs(options.seconds);
    let load = Load::start(
        &client,
        bases.clone(),
        &accounts,
        options.workers,
        &run,
        origin,
        length + Duration::from_secs(60),
    );
    let mut rng = Rng::new(99);
    let mut kills = 0;
    let mut restarts = Vec::new();
    // Bounded in count as well as in time.
    for _ in 0..1000 {
        let pause = Duration::from_millis(2000 + 1000 * rng.below(4) as u64);
        if origin.elapsed() + pause >= length {
            break;
        }
        tokio::time::sleep(pause).await;
        let index = rng.below(replicas.len());
        let replica = &mut replicas[index];
        replica.kill();
        kills += 1;
        let killed = Instant::now();
        replica.spawn(binary, url, scratch)?;
        wait_ready(&client, replica, Duration::from_secs(60)).await?;
        let ready = killed.elapsed().as_secs_f64();
        println!(
            "t = {:5.1} s: replica {index} killed (SIGKILL), ready again {ready:.2} s later",
            origin.elapsed().as_secs_f64()
        );
        restarts.push(ready);
    }
    let remaining = length.saturating_sub(origin.elapsed());
    tokio::time::sleep(remaining).await;
    let journal = load.finish().await;
    let elapsed = origin.elapsed().as_secs_f64();
    for replica in &mut replicas {
        if replica.exited() {
            replica.spawn(binary, url, scratch)?;
        }
        wait_ready(&client, replica, Duration::from_secs(60)).await?;
    }

    let mut verdict = Verdict::default();
    let answers: Vec<&Answer> = journal.iter().map(|(_, a)| a).collect();
    let ok = answers.iter().filter(|a| a.ok()).count();
    let unanswered = answers.iter().filter(|a| a.status.is_none()).count();
    let refused = answers.iter().filter(|a| a.refused).count();
    restarts.sort_by(f64::total_cmp);
    println!(
        "{} requests in {elapsed:.1} s ({}); {ok} acknowledged, {unanswered} unanswered \
         ({refused} refused at connect, {} cut off in flight); {kills} kills, restart to ready p50 {:.2} s, max {:.2} s",
        answers.len(),
        statuses(answers.iter().copied()),
        unanswered - refused,
        percentile(&restarts, 0.5),
        restarts.last().copied().unwrap_or(0.0)
    );
    verdict.check(kills > 0, format!("{kills} replicas killed and restarted"));
    verdict.check(
        answers.iter().all(|a| a.status.is_none_or(|s| s < 500)),
        "no answer is a 5xx (the database never went away)",
    );
    let retries = retry_unanswered(&client, &bases, &journal, origin).await;
    report_retries(&mut verdict, &retries);
    tokio::task::spawn_blocking(move || {
        verify_database(&mut verdict, port, DATABASE, &run, &journal, &retries).map(|()| verdict)
    })
    .await??
    .finish()
}
