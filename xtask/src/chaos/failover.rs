//! `cargo xtask chaos failover`: a primary and a synchronous streaming standby (two fresh
//! clusters made with the machine's PostgreSQL 15 tools, run as the `postgres` OS user, in
//! their own folders on their own ports), three replicas on
//! `postgres://postgres@127.0.0.1:P1,127.0.0.1:P2/credence_chaos?target_session_attrs=read-write`,
//! bounded load (payments and admissions with an `Idempotency-Key` each). After a warm-up
//! the primary is stopped `immediate` (no shutdown checkpoint: a crash), a few seconds later
//! the standby is promoted. Figures: how fast requests answer 503 after the kill and whether
//! each carries `Retry-After`, how long until they succeed again (per replica), and the
//! database checks of [`super::verify_database`] on the new primary.
//!
//! Options: `--seconds N` (load after the promotion, default 10), `--workers N` (default 6).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use super::{
    Answer, Load, Replica, Scratch, Verdict, free_port, http_client, options, percentile,
    report_retries, retry_unanswered, statuses, verify_database,
};

const BIN: &str = "/usr/lib/postgresql/15/bin";
const DATABASE: &str = "credence_chaos";
/// Load before the primary is stopped.
const WARM_UP: Duration = Duration::from_secs(5);
/// Time with no primary at all, before the standby is promoted.
const OUTAGE: Duration = Duration::from_secs(3);

/// Runs a PostgreSQL tool as the `postgres` OS user.
fn as_postgres(tool: &str, args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(Path::new(BIN).join(tool))
        .args(args)
        .output()
        .with_context(|| format!("cannot run {tool} as postgres"))?;
    if !output.status.success() {
        bail!(
            "{tool} {} failed: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The two clusters; both are stopped (`immediate`) on drop.
struct Clusters {
    primary: PathBuf,
    standby: PathBuf,
    primary_port: u16,
    standby_port: u16,
}

impl Drop for Clusters {
    fn drop(&mut self) {
        for dir in [&self.primary, &self.standby] {
            if dir.join("postmaster.pid").exists() {
                let dir = dir.display().to_string();
                if let Err(error) = as_postgres("pg_ctl", &["-D", &dir, "stop", "-m", "immediate"])
                {
                    eprintln!("could not stop the cluster in {dir}: {error}");
                }
            }
        }
    }
}

fn append(path: &Path, lines: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut file = std::fs::OpenOptions::new().append(true).open(path)?;
    file.write_all(lines.as_bytes())?;
    Ok(())
}

fn set_up_clusters(scratch: &Path) -> anyhow::Result<Clusters> {
    let status = Command::new("chown")
        .args(["postgres:postgres"])
        .arg(scratch)
        .status()?;
    if !status.success() {
        bail!("cannot give {} to the postgres user", scratch.display());
    }
    let clusters = Clusters {
        primary: scratch.join("primary"),
        standby: scratch.join("standby"),
        primary_port: free_port()?,
        standby_port: free_port()?,
    };
    let (primary, standby) = (
        clusters.primary.display().to_string(),
        clusters.standby.display().to_string(),
    );
    let sockets = scratch.display().to_string();
    as_postgres(
        "initdb",
        &[
            "-D",
            &primary,
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
    )?;
    append(
        &clusters.primary.join("postgresql.conf"),
        &format!(
            "\nport = {}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{sockets}'\n\
             wal_level = replica\nmax_wal_senders = 5\nsynchronous_commit = on\n\
             synchronous_standby_names = '*'\n",
            clusters.primary_port
        ),
    )?;
    let primary_log = scratch.join("primary.log").display().to_string();
    as_postgres(
        "pg_ctl",
        &[
            "-D",
            &primary,
            "-l",
            &primary_log,
            "-w",
            "-t",
            "60",
            "start",
        ],
    )?;
    as_postgres(
        "pg_basebackup",
        &[
            "-h",
            "127.0.0.1",
            "-p",
            &clusters.primary_port.to_string(),
            "-U",
            "postgres",
            "-D",
            &standby,
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
        ],
    )?;
    // The standby's copy of the configuration: its own port, and no synchronous standby of
    // its own once promoted (else every commit on the new primary would wait forever).
    append(
        &clusters.standby.join("postgresql.conf"),
        &format!(
            "\nport = {}\nsynchronous_standby_names = ''\n",
            clusters.standby_port
        ),
    )?;
    let standby_log = scratch.join("standby.log").display().to_string();
    as_postgres(
        "pg_ctl",
        &[
            "-D",
            &standby,
            "-l",
            &standby_log,
            "-w",
            "-t",
            "60",
            "start",
        ],
    )?;
    let started = Instant::now();
    loop {
        let rows = super::psql(
            clusters.primary_port,
            "postgres",
            "SELECT sync_state FROM pg_stat_replication",
        )?;
        if rows.iter().any(|r| r.first().is_some_and(|s| s == "sync")) {
            break;
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!("the standby did not become synchronous within 30 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    super::psql(
        clusters.primary_port,
        "postgres",
        &format!("CREATE DATABASE {DATABASE}"),
    )?;
    Ok(clusters)
}

/// Runs the scenario.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let options = options(args, 10)?;
    let binary = super::build_server()?;
    let scratch = Scratch::new("chaos-failover")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let clusters = set_up_clusters(&scratch.0)?;
    println!(
        "primary on port {}, synchronous standby on port {}",
        clusters.primary_port, clusters.standby_port
    );
    let url = format!(
        "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/{DATABASE}?target_session_attrs=read-write",
        clusters.primary_port, clusters.standby_port
    );
    let outcome = runtime.block_on(scenario(&binary, &url, &scratch.0, &clusters, &options));
    drop(runtime);
    drop(clusters);
    if outcome.is_err() {
        // Keep nothing behind but say where the logs were.
        eprintln!("(logs were in {}, now removed)", scratch.0.display());
    }
    outcome
}

async fn scenario(
    binary: &Path,
    url: &str,
    scratch: &Path,
    clusters: &Clusters,
    options: &super::Options,
) -> anyhow::Result<()> {
    let client = http_client()?;
    let replicas = super::start_replicas(&client, binary, url, scratch).await?;
    let bases: Vec<String> = replicas.iter().map(Replica::base).collect();
    let run = format!("f{}", std::process::id());
    let accounts = super::create_accounts(&client, &bases[0], &run).await?;
    println!(
        "3 replicas ready; load: {} workers, payments and admissions on {} accounts",
        options.workers,
        accounts.len()
    );
    let origin = Instant::now();
    let limit = WARM_UP + OUTAGE + Duration::from_secs(options.seconds) + Duration::from_secs(30);
    let load = Load::start(
        &client,
        bases.clone(),
        &accounts,
        options.workers,
        &run,
        origin,
        limit,
    );
    tokio::time::sleep(WARM_UP).await;

    let primary = clusters.primary.display().to_string();
    let kill = tokio::task::spawn_blocking(move || {
        as_postgres("pg_ctl", &["-D", &primary, "stop", "-m", "immediate"])
    });
    let killed_at = origin.elapsed().as_secs_f64();
    kill.await??;
    println!("primary stopped (immediate) at t = {killed_at:.2} s");
    tokio::time::sleep(OUTAGE).await;
    let standby = clusters.standby.display().to_string();
    let promote_started = origin.elapsed().as_secs_f64();
    tokio::task::spawn_blocking(move || as_postgres("pg_ctl", &["-D", &standby, "promote", "-w"]))
        .await??;
    let promoted_at = origin.elapsed().as_secs_f64();
    println!(
        "standby promoted at t = {promoted_at:.2} s (pg_ctl promote took {:.2} s)",
        promoted_at - promote_started
    );
    tokio::time::sleep(Duration::from_secs(options.seconds)).await;
    let journal = load.finish().await;
    let elapsed = origin.elapsed().as_secs_f64();

    let mut verdict = Verdict::default();
    let answers: Vec<&Answer> = journal.iter().map(|(_, a)| a).collect();
    println!(
        "{} requests in {elapsed:.1} s ({})",
        answers.len(),
        statuses(answers.iter().copied())
    );
    let before: Vec<&Answer> = answers
        .iter()
        .copied()
        .filter(|a| a.done < killed_at)
        .collect();
    println!(
        "before the kill: {} requests ({})",
        before.len(),
        statuses(before.iter().copied())
    );
    // Answered after the kill and sent before the first success after the promotion.
    let first_success = answers
        .iter()
        .filter(|a| a.ok() && a.sent >= promote_started)
        .map(|a| a.done)
        .fold(f64::INFINITY, f64::min);
    let outage: Vec<&Answer> = answers
        .iter()
        .copied()
        .filter(|a| a.done >= killed_at && a.sent < first_success)
        .collect();
    let unavailable: Vec<&Answer> = outage
        .iter()
        .copied()
        .filter(|a| a.status == Some(503))
        .collect();
    let mut latencies: Vec<f64> = unavailable.iter().map(|a| a.latency()).collect();
    latencies.sort_by(f64::total_cmp);
    let first_503 = unavailable
        .iter()
        .map(|a| a.done - killed_at)
        .fold(f64::INFINITY, f64::min);
    let with_retry_after = unavailable.iter().filter(|a| a.retry_after).count();
    println!(
        "no primary: {} requests ({}); first 503 {:.3} s after the kill; 503 latency p50 {:.3} s, \
         p99 {:.3} s, max {:.3} s; {with_retry_after} of {} with Retry-After",
        outage.len(),
        statuses(outage.iter().copied()),
        first_503,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0.0),
        unavailable.len()
    );
    let mut recovered = Vec::new();
    for replica in 0..bases.len() {
        let first = answers
            .iter()
            .filter(|a| a.replica == replica && a.ok() && a.sent >= promote_started)
            .map(|a| a.done)
            .fold(f64::INFINITY, f64::min);
        recovered.push(first - promoted_at);
    }
    println!(
        "after the promotion: first 2xx {:.3} s later; per replica: {}",
        first_success - promoted_at,
        recovered
            .iter()
            .map(|s| format!("{s:.3} s"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let after: Vec<&Answer> = answers
        .iter()
        .copied()
        .filter(|a| a.sent >= first_success)
        .collect();
    println!(
        "after the first success: {} requests ({})",
        after.len(),
        statuses(after.iter().copied())
    );

    verdict.check(
        !unavailable.is_empty() && latencies.last().is_some_and(|l| *l < 1.0),
        "while no primary is reachable, requests answer 503 within 1 s",
    );
    verdict.check(
        with_retry_after == unavailable.len() && !unavailable.is_empty(),
        "every 503 carries Retry-After",
    );
    verdict.check(
        answers
            .iter()
            .all(|a| a.status.is_some_and(|s| s < 500 || s == 503)),
        "no answer is a 5xx other than 503, none is missing",
    );
    verdict.check(
        recovered.iter().all(|s| s.is_finite()),
        "every replica succeeds again after the promotion",
    );
    let late: Vec<&Answer> = after
        .iter()
        .copied()
        .filter(|a| a.sent >= first_success + 2.0)
        .collect();
    verdict.check(
        !late.is_empty() && late.iter().all(|a| a.ok()),
        format!(
            "from 2 s after the first success on, every request succeeds ({} of {})",
            late.iter().filter(|a| a.ok()).count(),
            late.len()
        ),
    );
    let retries = retry_unanswered(&client, &bases, &journal, origin).await;
    report_retries(&mut verdict, &retries);
    let port = clusters.standby_port;
    let run_for_check = run.clone();
    let journal_for_check = journal.clone();
    tokio::task::spawn_blocking(move || {
        verify_database(
            &mut verdict,
            port,
            DATABASE,
            &run_for_check,
            &journal_for_check,
            &retries,
        )
        .map(|()| verdict)
    })
    .await??
    .finish()
}
