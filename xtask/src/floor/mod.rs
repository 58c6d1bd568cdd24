//! `cargo xtask bench` (also `bench floor`): each workload of Credence's request path
//! measured beside its floor, in the same run, with the same load and settings on both
//! sides, so the ratio says how much of the machine Credence's own code costs today.
//!
//! - **read own account** (`GET /api/marketplace/v2/customer` with a customer's key) beside
//!   an actix-web server answering the same path with the same bytes ([`constant`]);
//! - **admission, 100 accounts** and **admission, 1 hot account** (`POST
//!   /api/v1.0/customers/{id}/account/reservations`) beside the same transaction through
//!   bare diesel connections ([`direct`]).
//!
//! Credence is the release `credence serve`, a separate process configured through
//! `CREDENCE_*` like any deployment (rate limits and `max_in_flight` raised: one key makes
//! every request, and shedding is not what is measured). Its CPU time and peak memory come
//! from `/proc` ([`usage`]), as the floors' do. SQLite always; PostgreSQL as well when
//! `CREDENCE_TEST_POSTGRES_URL` is set. A benchmark, never a test: it is not run in CI.
//!
//! Options: `--connections N` (default 64), `--seconds N` measured (default 10),
//! `--warm-up N` seconds (default 2), `--workers N` (default: one per core, as Credence's
//! own default).

pub mod constant;
mod direct;
use direct::Floor;
pub(crate) mod load;
pub(crate) mod usage;
pub(crate) mod window;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::chaos::{self, Replica, Scratch};
use crate::flags::Flags;
use load::Template;
use window::{Tally, Window};

/// The route a customer reads its own account on.
const OWN_ACCOUNT: &str = "/api/marketplace/v2/customer";

/// How long a server process may take to answer `/health/ready`.
const READY_WITHIN: Duration = Duration::from_secs(60);

struct Options {
    connections: usize,
    seconds: u64,
    warm_up: u64,
    workers: usize,
}

fn parse(args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options {
        connections: 64,
        seconds: 10,
        warm_up: 2,
        workers: std::thread::available_parallelism().map_or(1, usize::from),
    };
    let mut flags = Flags::new(args);
    while let Some(flag) = flags.option() {
        match flag {
            "--connections" => options.connections = flags.parse()?,
            "--seconds" => options.seconds = flags.parse()?,
            "--warm-up" => options.warm_up = flags.parse()?,
            "--workers" => options.workers = flags.parse()?,
            other => bail!(
                "unknown option {other}; use --connections N --seconds N --warm-up N --workers N"
            ),
        }
    }
    if options.connections == 0 || options.seconds == 0 || options.workers == 0 {
        bail!("--connections, --seconds and --workers must be at least 1");
    }
    Ok(options)
}

/// One side of a ratio.
#[derive(Debug, Clone, Copy)]
struct Side {
    tally: Tally,
    /// Server CPU time (user + system) per correctly answered request, in microseconds.
    cpu_us: f64,
    /// The server's peak resident memory during the workload, in KiB (Credence's side).
    peak_rss_kib: Option<u64>,
}

/// One line of the table.
struct Row {
    workload: &'static str,
    backend: &'static str,
    floor: Side,
    credence: Side,
}

/// Runs the benchmark.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let options = parse(args)?;
    if cfg!(debug_assertions) {
        eprintln!(
            "note: xtask is a debug build, so the load client is slow; run \
             `cargo run --release -p xtask -- bench` for figures worth reading"
        );
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!("# Credence beside its floor");
    println!();
    println!(
        "machine: {cores} cores; load average at start (/proc/loadavg): {}",
        usage::load_average()
    );
    let binary = chaos::build_credence(true)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let targets = crate::bench::fresh_targets("floor")?;
    print_settings(&options);
    let ticks = usage::ticks_per_second();
    let mut rows = Vec::new();
    for (backend, url) in targets {
        eprintln!("{backend}: starting Credence...");
        rows.extend(bench_backend(
            &runtime, &binary, backend, &url, &options, ticks,
        )?);
    }
    if std::env::var_os("CREDENCE_TEST_POSTGRES_URL").is_none() {
        println!("PostgreSQL skipped: CREDENCE_TEST_POSTGRES_URL is not set");
    }
    println!();
    print_table(&rows);
    println!();
    println!("load average at the end: {}", usage::load_average());
    Ok(())
}

fn print_settings(options: &Options) {
    println!(
        "load client: in xtask, hyper {} HTTP/1.1 on bare connections, closed loop, {} keep-alive \
         connections with one request in flight each; {} s warm-up, then {} s measured. The same \
         client and settings on both sides of every HTTP ratio.",
        locked_version("hyper"),
        options.connections,
        options.warm_up,
        options.seconds
    );
    println!(
        "admission floors: {} threads, one bare diesel connection each, same warm-up and window.",
        options.connections
    );
    println!(
        "Credence: target/release/credence serve (its own process), CREDENCE_WORKERS={}, \
         pool_size 8 (default), max_in_flight 100000, rate limits 1000000000/s, JSON logs to a file.",
        options.workers
    );
    println!(
        "constant server: actix-web {} (`xtask bench constant-server`, its own process), {} workers.",
        locked_version("actix-web"),
        options.workers
    );
    println!(
        "server CPU: utime + stime of /proc/PID/stat across the window over correct answers; for \
         the admission floor, the benchmark's own process (its threads run the transactions). \
         PostgreSQL's own processes are counted on neither side. Peak RSS: VmHWM of Credence's \
         process, reset before each workload."
    );
}

/// The version of a package in the workspace's `Cargo.lock`, for the report.
fn locked_version(name: &str) -> String {
    let lock = std::fs::read_to_string(crate::root().join("Cargo.lock")).unwrap_or_default();
    let wanted = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == wanted
            && let Some(version) = lines
                .next()
                .and_then(|l| l.strip_prefix("version = \""))
                .and_then(|v| v.strip_suffix('"'))
        {
            return version.to_owned();
        }
    }
    "(version unknown)".to_owned()
}

/// Every workload on one backend: Credence started once on a fresh database, each workload
/// measured on Credence first, then on its floor.
fn bench_backend(
    runtime: &tokio::runtime::Runtime,
    binary: &Path,
    backend: &'static str,
    url: &str,
    options: &Options,
    ticks: u64,
) -> anyhow::Result<Vec<Row>> {
    let scratch = Scratch::new("bench-floor")?;
    let env = [
        ("CREDENCE_WORKERS", options.workers.to_string()),
        ("CREDENCE_MAX_IN_FLIGHT", "100000".to_owned()),
        ("CREDENCE_RATE_LIMIT_PER_SECOND", "1000000000".to_owned()),
        ("CREDENCE_RATE_LIMIT_BURST", "1000000000".to_owned()),
    ];
    migrate(binary, url)?;
    let mut credence = Replica::start_with(binary, url, &scratch.0, 0, &env)?;
    let client = chaos::http_client()?;
    runtime.block_on(chaos::wait_ready(&client, &mut credence, READY_WITHIN))?;
    let base = credence.base();
    let accounts = runtime.block_on(chaos::create_customers(&client, &base, "floor", 100))?;
    let reader = *accounts.first().context("no customer created")?;
    let key = runtime.block_on(customer_key(&client, &base, reader))?;
    let mut rows = Vec::new();

    eprintln!("{backend}: read own account");
    let read = Template {
        method: hyper::Method::GET,
        path: OWN_ACCOUNT.to_owned(),
        key: key.clone(),
        body: None,
    };
    let credence_side = over_http(runtime, &credence, vec![read.clone()], options, ticks)?;
    let body = runtime.block_on(own_account(&client, &base, &key))?;
    let body_file = scratch.0.join("own-account.json");
    std::fs::write(&body_file, &body)
        .with_context(|| format!("cannot write {}", body_file.display()))?;
    let mut constant = start_constant(runtime, &client, &body_file, &scratch.0, options)?;
    let floor = over_http(runtime, &constant, vec![read], options, ticks)?;
    constant.kill();
    rows.push(Row {
        workload: "read own account",
        backend,
        floor,
        credence: credence_side,
    });

    let reservation = Bytes::from_static(br#"{"amount": "0.01", "expiresIn": 3600}"#);
    for (workload, n) in [
        ("admission, 100 accounts", 100),
        ("admission, 1 hot account", 1),
    ] {
        eprintln!("{backend}: {workload}");
        let targets: Arc<Vec<i64>> = Arc::new(accounts.iter().copied().take(n).collect());
        let templates = targets
            .iter()
            .map(|id| Template {
                method: hyper::Method::POST,
                path: format!("/api/v1.0/customers/{id}/account/reservations"),
                key: chaos::KEY.to_owned(),
                body: Some(reservation.clone()),
            })
            .collect();
        let credence_side = over_http(runtime, &credence, templates, options, ticks)?;
        let floor = direct_floor(url, &targets, options, ticks, Floor::Admission)?;
        rows.push(Row {
            workload,
            backend,
            floor,
            credence: credence_side,
        });
        // What the outbox adds to the admission's own transaction: the same floor with the
        // event's statements, beside the floor without them.
        eprintln!("{backend}: {workload}, floor with the outbox");
        let with_outbox = direct_floor(url, &targets, options, ticks, Floor::WithOutbox)?;
        rows.push(Row {
            workload: if n == 1 {
                "outbox: floor with its event (right) / floor, 1 hot account"
            } else {
                "outbox: floor with its event (right) / floor, 100 accounts"
            },
            backend,
            floor,
            credence: with_outbox,
        });
    }
    credence.kill();
    Ok(rows)
}

/// `credence migrate`, as a deployment runs it before `serve`. (`serve` migrates too, but on
/// a SQLite file that does not exist yet, its pools can time out while they create it.)
pub(crate) fn migrate(binary: &Path, url: &str) -> anyhow::Result<()> {
    credence(binary, url, "migrate").map(drop)
}

/// Runs `credence <command>` on the database at `url` and returns what it printed.
pub(crate) fn credence(binary: &Path, url: &str, command: &str) -> anyhow::Result<String> {
    let mut process = Command::new(binary);
    // Unknown CREDENCE_* variables stop the binary: pass only ours.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("CREDENCE_") {
            process.env_remove(name);
        }
    }
    let output = process
        .arg(command)
        .env("CREDENCE_DATABASE_URL", url)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run credence {command}"))?;
    if !output.status.success() {
        bail!(
            "credence {command} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A user with the `customer` role on `customer`, and a key for it.
async fn customer_key(
    client: &reqwest::Client,
    base: &str,
    customer: i64,
) -> anyhow::Result<String> {
    let user: Value = client
        .post(format!("{base}/api/v1.0/users"))
        .bearer_auth(chaos::KEY)
        .json(&json!({"reference": "floor-reader", "name": "Floor reader", "role": "customer", "customerId": customer}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let user = user["id"].as_i64().context("a user id")?;
    let key: Value = client
        .post(format!("{base}/api/v1.0/users/{user}/keys"))
        .bearer_auth(chaos::KEY)
        .json(&json!({"name": "floor"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(key["secret"].as_str().context("a key secret")?.to_owned())
}

/// Credence's answer to the read, byte for byte, as the load client gets it.
async fn own_account(client: &reqwest::Client, base: &str, key: &str) -> anyhow::Result<Bytes> {
    Ok(client
        .get(format!("{base}{OWN_ACCOUNT}"))
        .bearer_auth(key)
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?)
}

/// Starts the constant server as its own process (this very binary, hidden sub-command) and
/// waits until it answers.
fn start_constant(
    runtime: &tokio::runtime::Runtime,
    client: &reqwest::Client,
    body: &Path,
    dir: &Path,
    options: &Options,
) -> anyhow::Result<Replica> {
    let port = chaos::free_port()?;
    let log_path = dir.join("constant-server.log");
    let log = std::fs::File::create(&log_path)?;
    let child = Command::new(std::env::current_exe().context("cannot find xtask's own binary")?)
        .args(["bench", "constant-server", "--port", &port.to_string()])
        .args([
            "--path",
            OWN_ACCOUNT,
            "--workers",
            &options.workers.to_string(),
        ])
        .arg("--body")
        .arg(body)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("cannot start the constant server")?;
    let mut server = Replica::adopt(port, child, log_path);
    runtime.block_on(chaos::wait_ready(client, &mut server, READY_WITHIN))?;
    Ok(server)
}

/// The HTTP load on one server process, with its CPU time and peak memory.
fn over_http(
    runtime: &tokio::runtime::Runtime,
    server: &Replica,
    templates: Vec<Template>,
    options: &Options,
    ticks: u64,
) -> anyhow::Result<Side> {
    let pid = server.pid().context("the server is not running")?;
    let reset = usage::reset_peak_rss(pid);
    let window = Arc::new(Window::default());
    let addr = SocketAddr::from(([127, 0, 0, 1], server.port()));
    let tasks = load::start(
        runtime,
        addr,
        &Arc::new(templates),
        options.connections,
        &window,
    );
    let measured = window.drive(
        Duration::from_secs(options.warm_up),
        Duration::from_secs(options.seconds),
        || usage::cpu_ticks(pid),
    );
    runtime.block_on(futures_util::future::join_all(tasks));
    let (tally, before, after) =
        measured.with_context(|| format!("the server stopped; see {}", server.log().display()))?;
    check(&tally, &server.log().display().to_string())?;
    let peak = usage::peak_rss_kib(pid).ok();
    Ok(Side {
        tally,
        cpu_us: cpu_per_request(after.saturating_sub(before), ticks, &tally),
        peak_rss_kib: peak.filter(|_| reset),
    })
}

/// The admission floor on `accounts`, with this process's CPU time (its threads do the work).
fn direct_floor(
    url: &str,
    accounts: &Arc<Vec<i64>>,
    options: &Options,
    ticks: u64,
    kind: Floor,
) -> anyhow::Result<Side> {
    let pid = std::process::id();
    let window = Arc::new(Window::default());
    let threads = direct::start(url, accounts, options.connections, &window, kind)?;
    let measured = window.drive(
        Duration::from_secs(options.warm_up),
        Duration::from_secs(options.seconds),
        || usage::cpu_ticks(pid),
    );
    for thread in threads {
        if thread.join().is_err() {
            bail!("a thread of the admission floor panicked");
        }
    }
    let (tally, before, after) = measured?;
    check(&tally, "the admission floor")?;
    Ok(Side {
        tally,
        cpu_us: cpu_per_request(after.saturating_sub(before), ticks, &tally),
        peak_rss_kib: None,
    })
}

/// Fails loudly when most answers were not `2xx`: the figures would measure an error path.
fn check(tally: &Tally, whose: &str) -> anyhow::Result<()> {
    if tally.total() == 0 || tally.done * 2 < tally.total() {
        bail!(
            "most answers were not 2xx: {} of {} (refused {}, other statuses {} (last {}), \
             no answer {}); see {whose}",
            tally.done,
            tally.total(),
            tally.refused,
            tally.other,
            tally.last_other,
            tally.failed
        );
    }
    Ok(())
}

#[expect(clippy::cast_precision_loss, reason = "a cost for humans to read")]
fn cpu_per_request(used_ticks: u64, ticks_per_second: u64, tally: &Tally) -> f64 {
    let seconds = used_ticks as f64 / ticks_per_second.max(1) as f64;
    seconds * 1e6 / tally.correct().max(1) as f64
}

fn print_table(rows: &[Row]) {
    println!(
        "| workload | backend | floor req/s | Credence req/s | Credence / floor | floor CPU µs/req \
         | Credence CPU µs/req | Credence peak RSS | errors (floor / Credence) |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---|");
    for row in rows {
        let (floor, credence) = (row.floor.per_second(), row.credence.per_second());
        let ratio = if floor > 0.0 { credence / floor } else { 0.0 };
        println!(
            "| {} | {} | {floor:.0} | {credence:.0} | {ratio:.3} | {:.0} | {:.0} | {} | {} / {} |",
            row.workload,
            row.backend,
            row.floor.cpu_us,
            row.credence.cpu_us,
            row.credence
                .peak_rss_kib
                .map_or_else(|| "n/a".to_owned(), mib),
            row.floor.not_ok(),
            row.credence.not_ok(),
        );
    }
    let refused: Vec<String> = rows
        .iter()
        .flat_map(|row| {
            [("floor", row.floor), ("Credence", row.credence)]
                .into_iter()
                .filter(|(_, side)| side.tally.refused > 0)
                .map(move |(name, side)| {
                    format!(
                        "{} on {} ({name}): {} refused for credit (counted as correct answers)",
                        row.workload, row.backend, side.tally.refused
                    )
                })
        })
        .collect();
    for line in refused {
        println!("{line}");
    }
    for row in rows {
        for (name, side) in [("floor", row.floor), ("Credence", row.credence)] {
            if side.not_ok() > 0 {
                println!(
                    "{} on {} ({name}): {} other statuses (the last {}), {} without an answer",
                    row.workload,
                    row.backend,
                    side.tally.other,
                    side.tally.last_other,
                    side.tally.failed
                );
            }
        }
    }
}

#[expect(clippy::cast_precision_loss, reason = "a size for humans to read")]
fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

impl Side {
    fn per_second(&self) -> f64 {
        self.tally.per_second()
    }

    /// Errors: answers that were neither `2xx` nor a `422` refusal, and requests with no
    /// answer.
    fn not_ok(&self) -> u64 {
        self.tally.other + self.tally.failed
    }
}
