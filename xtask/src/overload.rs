//! `cargo xtask bench overload`: whether the service stays responsive past its capacity.
//!
//! Starts the release `credence serve` as its own process (SQLite, and PostgreSQL when
//! `CREDENCE_TEST_POSTGRES_URL` is set), configured like a deployment with its defaults
//! (`max_in_flight`, pool size and pool wait), then:
//!
//! 1. measures capacity: closed-loop connections for 10 s (after 2 s of warm-up) on a
//!    representative authenticated mix (half reads of an account, half admissions of a
//!    reservation, over 100 accounts; with `--mix lists`, a third of each and a third of
//!    pages of the customer list), counting `2xx` answers per second;
//! 2. offers `--factor` (default 2) times that rate open-loop for `--seconds` (default 30):
//!    requests leave on a fixed schedule whether or not earlier ones were answered, each on
//!    an idle keep-alive connection or a new one, and each one's latency counts from when it
//!    was due, so a server that falls behind cannot hide it;
//! 3. reports the share of answers that were either a `2xx` within 1 s or a `503`/`429` within
//!    50 ms (the target is at least 99 %), with p50/p99 per kind of answer.
//!
//! The rate limits are raised (one key makes every request); shedding and the pool wait are
//! what is measured. The load client is this process, on hyper's bare connections; it shares
//! the machine with the server, so the capacity measured is the capacity with this client
//! beside it, and the client's own work is the same in both phases. Never run in CI; run
//! `cargo run --release -p xtask -- bench overload`.
//!
//! Options: `--seconds N` (default 30), `--factor F` (default 2), `--clients N` for the
//! capacity run (default 64), `--max-in-flight N` (default: the server's default),
//! `--mix lists` (see above: a mix whose requests cost the server far more than they cost
//! this client, so that twice the server's capacity is within what a client sharing its
//! machine can send; with the lightest requests alone, a fast server can answer about as
//! many as the client can send, and the client, not the server, is what gets overloaded), and
//! `--pin`: the server (one worker) on CPU 0 and this load client on the others, through
//! `taskset`, so that the client's own work cannot delay the server's answers (and a busy
//! server cannot delay the client's clock) as it would on shared cores. Clients of a real
//! deployment run on other machines; pinning is the nearest a single machine comes to that.
//! PostgreSQL's processes stay unpinned.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::HeaderValue;
use hyper_util::rt::TokioIo;

use crate::chaos::{self, Replica, Scratch};
use crate::flags::Flags;
use crate::floor::load::{self, Template};
use crate::floor::window::Window;

/// Requests still unanswered beyond which the generator stops sending (counted as failures):
/// it keeps the client's sockets and memory bounded if the server stops answering.
const MAX_OUTSTANDING: usize = 8_000;

/// How long the server process may take to answer `/health/ready`.
const READY_WITHIN: Duration = Duration::from_secs(60);

struct Options {
    seconds: u64,
    factor: f64,
    clients: usize,
    max_in_flight: Option<usize>,
    pin: bool,
    /// `--mix lists`: pages of the customer list join the mix.
    lists: bool,
    /// With `--pin`: the CPUs of this load client, as `taskset` names them.
    client_cpus: String,
}

fn parse(args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options {
        seconds: 30,
        factor: 2.0,
        clients: 64,
        max_in_flight: None,
        pin: false,
        lists: false,
        client_cpus: String::new(),
    };
    let mut flags = Flags::new(args);
    while let Some(flag) = flags.option() {
        match flag {
            "--seconds" => options.seconds = flags.parse()?,
            "--factor" => options.factor = flags.parse()?,
            "--clients" => options.clients = flags.parse()?,
            "--max-in-flight" => {
                options.max_in_flight = Some(flags.parse()?);
            }
            "--pin" => options.pin = true,
            "--mix" => match flags.value()?.as_str() {
                "lists" => options.lists = true,
                "default" => options.lists = false,
                other => bail!("--mix {other}: use lists or default"),
            },
            other => bail!(
                "unknown option {other}; use --seconds N --factor F --clients N \
                 --max-in-flight N --mix lists --pin"
            ),
        }
    }
    if options.clients == 0 || options.seconds == 0 || options.factor <= 0.0 {
        bail!("--clients, --seconds and --factor must be positive");
    }
    Ok(options)
}

/// Runs the benchmark.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut options = parse(args)?;
    if cfg!(debug_assertions) {
        eprintln!(
            "note: xtask is a debug build, so the load client is slow; figures are only \
             meaningful from `cargo run --release -p xtask -- bench overload`"
        );
    }
    let binary = chaos::build_credence(true)?;
    if options.pin {
        options.client_cpus = client_cpus()?;
        pin(std::process::id(), &options.client_cpus)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    println!(
        "load average at start (/proc/loadavg): {}",
        crate::floor::usage::load_average()
    );
    for (backend, url) in crate::bench::fresh_targets("overload")? {
        bench_backend(&runtime, &binary, backend, &url, &options)?;
    }
    println!(
        "load average at the end: {}",
        crate::floor::usage::load_average()
    );
    Ok(())
}

fn bench_backend(
    runtime: &tokio::runtime::Runtime,
    binary: &std::path::Path,
    backend: &str,
    url: &str,
    options: &Options,
) -> anyhow::Result<()> {
    let scratch = Scratch::new("bench-overload")?;
    let mut env = vec![
        ("CREDENCE_RATE_LIMIT_PER_SECOND", "1000000000".to_owned()),
        ("CREDENCE_RATE_LIMIT_BURST", "1000000000".to_owned()),
    ];
    if let Some(max) = options.max_in_flight {
        env.push(("CREDENCE_MAX_IN_FLIGHT", max.to_string()));
    }
    if options.pin {
        env.push(("CREDENCE_WORKERS", "1".to_owned()));
    }
    crate::floor::migrate(binary, url)?;
    let mut server = Replica::start_with(binary, url, &scratch.0, 0, &env)?;
    if options.pin {
        let pid = server.pid().context("the server exited at once")?;
        pin(pid, SERVER_CPUS)?;
    }
    let client = chaos::http_client()?;
    runtime.block_on(chaos::wait_ready(&client, &mut server, READY_WITHIN))?;
    let accounts = runtime.block_on(chaos::create_customers(
        &client,
        &server.base(),
        "overload",
        100,
    ))?;
    let reservation = Bytes::from_static(br#"{"amount": "0.01", "expiresIn": 60}"#);
    let list = Template {
        method: hyper::Method::GET,
        path: "/api/v1.0/customers?max=100".to_owned(),
        key: chaos::KEY.to_owned(),
        body: None,
    };
    let templates: Vec<Template> = accounts
        .iter()
        .flat_map(|id| {
            let account = format!("/api/v1.0/customers/{id}/account");
            let mut mix = vec![
                Template {
                    method: hyper::Method::GET,
                    path: account.clone(),
                    key: chaos::KEY.to_owned(),
                    body: None,
                },
                Template {
                    method: hyper::Method::POST,
                    path: format!("{account}/reservations"),
                    key: chaos::KEY.to_owned(),
                    body: Some(reservation.clone()),
                },
            ];
            if options.lists {
                mix.push(list.clone());
            }
            mix
        })
        .collect();
    let templates = Arc::new(templates);
    let addr = SocketAddr::from(([127, 0, 0, 1], server.port()));

    let window = Arc::new(Window::default());
    let tasks = load::start(runtime, addr, &templates, options.clients, &window);
    let (tally, (), ()) =
        window.drive(Duration::from_secs(2), Duration::from_secs(10), || Ok(()))?;
    runtime.block_on(futures_util::future::join_all(tasks));
    #[expect(clippy::cast_precision_loss, reason = "a rate for humans to read")]
    let capacity = tally.done as f64 / tally.elapsed.as_secs_f64().max(f64::EPSILON);
    if capacity < 1.0 {
        bail!(
            "{backend}: no capacity measured ({tally:?}); see {}",
            server.log().display()
        );
    }
    let rate = capacity * options.factor;
    println!(
        "{backend}: {} mix, max_in_flight {}, {}other settings the defaults; capacity {capacity:.0} 2xx/s \
         (closed loop, {} connections, 10 s; {} other answers); offering {rate:.0}/s open-loop \
         for {} s",
        if options.lists {
            "reads, admissions and lists"
        } else {
            "reads and admissions"
        },
        options
            .max_in_flight
            .map_or_else(|| "default".to_owned(), |m| m.to_string()),
        if options.pin {
            format!(
                "pinned (server, one worker, on CPU {SERVER_CPUS}; client on CPUs {}), ",
                options.client_cpus
            )
        } else {
            String::new()
        },
        options.clients,
        tally.other + tally.failed + tally.refused,
        options.seconds
    );
    let outcomes = runtime.block_on(open_loop(
        addr,
        &templates,
        rate,
        Duration::from_secs(options.seconds),
    ));
    report(&outcomes);
    server.kill();
    Ok(())
}

/// Where `--pin` puts the server.
const SERVER_CPUS: &str = "0";

/// Every CPU but the server's, as `taskset` names them.
fn client_cpus() -> anyhow::Result<String> {
    let cpus = std::thread::available_parallelism()?.get();
    if cpus < 2 {
        bail!("--pin needs at least two CPUs, this machine has {cpus}");
    }
    Ok(if cpus == 2 {
        "1".to_owned()
    } else {
        format!("1-{}", cpus - 1)
    })
}

/// Binds every thread of a process (and the threads it starts later) to `cpus`.
fn pin(pid: u32, cpus: &str) -> anyhow::Result<()> {
    let status = std::process::Command::new("taskset")
        .args(["--all-tasks", "--cpu-list", "--pid", cpus, &pid.to_string()])
        .stdout(std::process::Stdio::null())
        .status()
        .context("cannot run taskset (util-linux), which --pin needs")?;
    if !status.success() {
        bail!("taskset could not pin process {pid} to CPUs {cpus}: {status}");
    }
    Ok(())
}

/// One answer (or its absence) and how long after it was due it came.
struct Outcome {
    status: Option<u16>,
    latency: Duration,
    /// How late the client itself began to send it (part of `latency`): when this grows, the
    /// client is short of CPU, and the latencies say less about the server.
    lag: Duration,
}

/// Keep-alive connections not carrying a request at the moment.
type Idle = Mutex<Vec<SendRequest<Full<Bytes>>>>;

async fn open_loop(
    addr: SocketAddr,
    templates: &Arc<Vec<Template>>,
    rate: f64,
    length: Duration,
) -> Vec<Outcome> {
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let outstanding = Arc::new(AtomicUsize::new(0));
    let idle: Arc<Idle> = Arc::default();
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
                record(&outcomes, None, Duration::MAX, Duration::ZERO);
                continue;
            }
            outstanding.fetch_add(1, Ordering::Relaxed);
            let template = templates[usize::try_from(n).unwrap_or(0) % templates.len()].clone();
            let (outcomes, outstanding, idle) = (
                Arc::clone(&outcomes),
                Arc::clone(&outstanding),
                Arc::clone(&idle),
            );
            tasks.push(tokio::spawn(async move {
                let lag = due_at.elapsed();
                let status = send(addr, &idle, &template).await;
                outstanding.fetch_sub(1, Ordering::Relaxed);
                record(&outcomes, status, due_at.elapsed(), lag);
            }));
        }
    }
    futures_util::future::join_all(tasks).await;
    std::mem::take(
        &mut *outcomes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
}

fn record(outcomes: &Mutex<Vec<Outcome>>, status: Option<u16>, latency: Duration, lag: Duration) {
    outcomes
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(Outcome {
            status,
            latency,
            lag,
        });
}

/// Sends one request on an idle connection (or a new one when none is idle or the idle one
/// has closed) and reads the whole answer; its status, or `None` for no answer.
async fn send(addr: SocketAddr, idle: &Idle, template: &Template) -> Option<u16> {
    let host = HeaderValue::from_str(&addr.to_string()).ok()?;
    let reused = idle
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .pop();
    let mut sender = match reused {
        Some(mut sender) => match sender.ready().await {
            Ok(()) => sender,
            Err(_) => connect(addr).await?,
        },
        None => connect(addr).await?,
    };
    let response = sender
        .send_request(template.request(&host).ok()?)
        .await
        .ok()?;
    let status = response.status().as_u16();
    // Read the body, as a client would, so the latency covers the whole answer.
    response.into_body().collect().await.ok()?;
    idle.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(sender);
    Some(status)
}

async fn connect(addr: SocketAddr) -> Option<SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    stream.set_nodelay(true).ok()?;
    let (sender, driver) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .ok()?;
    tokio::spawn(driver);
    Some(sender)
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
    let mut lags: Vec<Duration> = outcomes.iter().map(|o| o.lag).collect();
    lags.sort();
    let kinds = kinds
        .into_iter()
        .chain([("all", all), ("(client's own lag before sending)", lags)]);
    for (kind, latencies) in &kinds.collect::<Vec<_>>() {
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
