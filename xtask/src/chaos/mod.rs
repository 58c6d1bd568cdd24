//! `cargo xtask chaos <failover | kill>`: the service under faults, as an operator would try
//! it, with real processes (the `credence` binary, PostgreSQL's own tools) on 127.0.0.1 only.
//!
//! - `failover`: two fresh PostgreSQL clusters (a primary and a synchronous streaming
//!   standby), three replicas on a multi-host URL, bounded load; the primary is stopped
//!   (`immediate`, as a crash) and the standby promoted. See [`failover`].
//! - `kill`: three replicas on one fresh database of the local server, bounded load,
//!   `kill -9` of a random replica every few seconds and a restart. See [`kill`].
//!
//! Both then check, in the database itself, that every acknowledged (2xx) write is stored,
//! that each `Idempotency-Key` moved money at most once (after retrying every unanswered
//! request with its key), and the ledger invariant. They print their figures, exit non-zero
//! when a check fails, and remove their processes and folders. Never run in CI. The server is
//! the debug build (`cargo build -p credence-server --bin credence`).

pub mod failover;
pub mod kill;
mod verdict;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use crate::flags::Flags;
use verdict::{Verdict, psql, report_retries, statuses, verify_database};

/// The admin key every replica accepts.
pub(crate) const KEY: &str = "chaos-admin-key-0123456789abcdef";

/// The accounts the load spreads over.
const ACCOUNTS: usize = 4;

/// Longest wait for one HTTP answer; a request that takes longer counts as unanswered.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the service keeps a started `Idempotency-Key` in progress (a crashed request's
/// key answers 409 until then), plus a margin: the retry phase waits at most this long.
const LEASE_WAIT: Duration = Duration::from_secs(75);

pub fn run(args: &[String]) -> anyhow::Result<()> {
    match args.first().map(String::as_str) {
        Some("failover") => failover::run(&args[1..]),
        Some("kill") => kill::run(&args[1..]),
        _ => bail!("usage: cargo xtask chaos <failover | kill> [--seconds N]"),
    }
}

/// `--seconds N` and `--workers N`, the only options.
struct Options {
    seconds: u64,
    workers: usize,
}

fn options(args: &[String], seconds: u64) -> anyhow::Result<Options> {
    let mut options = Options {
        seconds,
        workers: 6,
    };
    let mut flags = Flags::new(args);
    while let Some(flag) = flags.option() {
        match flag {
            "--seconds" => options.seconds = flags.parse()?,
            "--workers" => options.workers = flags.parse()?,
            other => bail!("unknown option {other}; use --seconds N --workers N"),
        }
    }
    if !(1..=64).contains(&options.workers) || !(1..=600).contains(&options.seconds) {
        bail!("--workers must be 1 to 64 and --seconds 1 to 600");
    }
    Ok(options)
}

/// Builds the server (debug) and returns the binary's path.
fn build_server() -> anyhow::Result<PathBuf> {
    build_credence(false)
}

/// Builds the `credence` binary, debug or release, and returns its path.
pub(crate) fn build_credence(release: bool) -> anyhow::Result<PathBuf> {
    let profile = if release { "release" } else { "debug" };
    println!("building the server ({profile})...");
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.args(["build", "-p", "credence-server", "--bin", "credence"]);
    if release {
        command.arg("--release");
    }
    let status = command
        .current_dir(crate::root())
        .status()
        .context("cannot run cargo build")?;
    if !status.success() {
        bail!("cargo build -p credence-server failed");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| crate::root().join("target"), PathBuf::from);
    Ok(target.join(profile).join("credence"))
}

/// A port that was free a moment ago.
pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A small deterministic-enough generator (xorshift), seeded from the clock: which replica,
/// which account, which kind of request.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(salt: u64) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.subsec_nanos().into());
        Self((nanos ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        usize::try_from(self.0 % (n.max(1) as u64)).unwrap_or(0)
    }
}

/// A temporary folder, removed on drop.
pub(crate) struct Scratch(pub(crate) PathBuf);

impl Scratch {
    pub(crate) fn new(name: &str) -> anyhow::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path =
            std::env::temp_dir().join(format!("credence-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(error) = std::fs::remove_dir_all(&self.0) {
            eprintln!("could not remove {}: {error}", self.0.display());
        }
    }
}

/// One `credence serve` child process on a fixed port (or, through [`Replica::adopt`], any
/// server process that answers `GET /health/ready`).
pub(crate) struct Replica {
    port: u16,
    child: Option<Child>,
    log: PathBuf,
    /// `CREDENCE_*` settings set after (so over) the ones every replica gets.
    env: Vec<(String, String)>,
}

impl Replica {
    fn start(binary: &Path, database_url: &str, dir: &Path, index: usize) -> anyhow::Result<Self> {
        Self::start_with(binary, database_url, dir, index, &[])
    }

    /// [`Replica::start`] with more `CREDENCE_*` settings, which win over the defaults here.
    pub(crate) fn start_with(
        binary: &Path,
        database_url: &str,
        dir: &Path,
        index: usize,
        env: &[(&str, String)],
    ) -> anyhow::Result<Self> {
        let mut replica = Self {
            port: free_port()?,
            child: None,
            log: dir.join(format!("replica-{index}.log")),
            env: env
                .iter()
                .map(|(name, value)| ((*name).to_owned(), value.clone()))
                .collect(),
        };
        replica.spawn(binary, database_url, dir)?;
        Ok(replica)
    }

    /// Takes charge of a server process started elsewhere: it is killed on drop like a
    /// replica, and [`wait_ready`] polls it the same way.
    pub(crate) fn adopt(port: u16, child: Child, log: PathBuf) -> Self {
        Self {
            port,
            child: Some(child),
            log,
            env: Vec::new(),
        }
    }

    /// The process id, while it runs.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    pub(crate) fn log(&self) -> &Path {
        &self.log
    }

    fn spawn(&mut self, binary: &Path, database_url: &str, dir: &Path) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let mut command = Command::new(binary);
        // Unknown CREDENCE_* variables stop the server: pass only ours.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("CREDENCE_") {
                command.env_remove(name);
            }
        }
        let child = command
            .arg("serve")
            .current_dir(dir)
            .env("CREDENCE_DATABASE_URL", database_url)
            .env("CREDENCE_BIND", format!("127.0.0.1:{}", self.port))
            .env("CREDENCE_ADMIN_KEY", KEY)
            .env("CREDENCE_WORKERS", "2")
            .env("CREDENCE_BLOB_DIR", dir.join("blobs"))
            .env("CREDENCE_RATE_LIMIT_PER_SECOND", "100000")
            .env("CREDENCE_RATE_LIMIT_BURST", "100000")
            .envs(self.env.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        self.child = Some(child);
        Ok(())
    }

    pub(crate) fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `kill -9`.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether the process has exited on its own.
    fn exited(&mut self) -> bool {
        self.child
            .as_mut()
            .is_none_or(|child| child.try_wait().ok().flatten().is_some())
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `/health/ready` until it answers 200 (every 50 ms, at most `limit`).
pub(crate) async fn wait_ready(
    client: &reqwest::Client,
    replica: &mut Replica,
    limit: Duration,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if replica.exited() {
            let log = std::fs::read_to_string(&replica.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(5).collect();
            bail!(
                "replica on port {} exited; its last lines:\n{}",
                replica.port,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        let answer = client
            .get(format!("{}/health/ready", replica.base()))
            .timeout(Duration::from_secs(2))
            .send()
            .await;
        if answer.is_ok_and(|a| a.status().is_success()) {
            return Ok(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!(
        "replica on port {} not ready after {limit:?}; see {}",
        replica.port,
        replica.log.display()
    )
}

/// Starts three replicas on `url`, one at a time, since the first applies the migrations,
/// and waits until each is ready.
async fn start_replicas(
    client: &reqwest::Client,
    binary: &Path,
    url: &str,
    scratch: &Path,
) -> anyhow::Result<Vec<Replica>> {
    let mut replicas = Vec::new();
    for index in 0..3 {
        let mut replica = Replica::start(binary, url, scratch, index)?;
        wait_ready(client, &mut replica, Duration::from_secs(60)).await?;
        replicas.push(replica);
    }
    Ok(replicas)
}

pub(crate) fn http_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(Duration::from_secs(2))
        .build()?)
}

/// Creates the accounts the load uses, through the first base URL that answers.
async fn create_accounts(
    client: &reqwest::Client,
    base: &str,
    run: &str,
) -> anyhow::Result<Vec<i64>> {
    create_customers(client, base, &format!("chaos-{run}"), ACCOUNTS).await
}

/// Creates `count` customers referenced `{prefix}-{i}`, each with 1,000,000,000.00 of credit
/// (no load runs it out), and returns their ids.
pub(crate) async fn create_customers(
    client: &reqwest::Client,
    base: &str,
    prefix: &str,
    count: usize,
) -> anyhow::Result<Vec<i64>> {
    let mut ids = Vec::new();
    for i in 0..count {
        let body = json!({
            "reference": format!("{prefix}-{i}"),
            "name": format!("{prefix} {i}"),
            "creditLimit": "1000000000.00",
        });
        let created: Value = client
            .post(format!("{base}/api/v1.0/customers"))
            .bearer_auth(KEY)
            .json(&body)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        ids.push(created["id"].as_i64().context("a customer id")?);
    }
    Ok(ids)
}

/// What a request does; its `Idempotency-Key` is also its description, so the database
/// shows which key made which row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `POST .../payments` of 1.00: one ledger entry.
    Payment,
    /// `POST .../reservations` of 0.01: one reservation (and its ledger entry).
    Admission,
}

#[derive(Debug, Clone)]
struct Op {
    kind: Kind,
    key: String,
    account: i64,
}

impl Op {
    fn path(&self) -> String {
        match self.kind {
            Kind::Payment => format!("/api/v1.0/customers/{}/account/payments", self.account),
            Kind::Admission => {
                format!("/api/v1.0/customers/{}/account/reservations", self.account)
            }
        }
    }

    fn body(&self) -> Value {
        match self.kind {
            Kind::Payment => json!({"amount": "1.00", "description": self.key}),
            Kind::Admission => {
                json!({"amount": "0.01", "description": self.key, "expiresIn": 3600})
            }
        }
    }
}

/// The answer to one request, or why there was none.
#[derive(Debug, Clone)]
struct Answer {
    status: Option<u16>,
    /// No answer because the connection was refused (the replica was down): the request
    /// never reached it, unlike one cut off while the replica worked on it.
    refused: bool,
    retry_after: bool,
    replayed: bool,
    id: Option<i64>,
    error: Option<String>,
    /// Seconds since the run's start when the request was sent and answered.
    sent: f64,
    done: f64,
    replica: usize,
}

impl Answer {
    fn ok(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    fn latency(&self) -> f64 {
        self.done - self.sent
    }
}

async fn send(
    client: &reqwest::Client,
    base: &str,
    op: &Op,
    origin: Instant,
    replica: usize,
) -> Answer {
    let sent = origin.elapsed().as_secs_f64();
    let result = client
        .post(format!("{base}{}", op.path()))
        .bearer_auth(KEY)
        .header("Idempotency-Key", &op.key)
        .json(&op.body())
        .send()
        .await;
    let mut answer = Answer {
        status: None,
        refused: false,
        retry_after: false,
        replayed: false,
        id: None,
        error: None,
        sent,
        done: sent,
        replica,
    };
    match result {
        Ok(response) => {
            answer.status = Some(response.status().as_u16());
            answer.retry_after = response.headers().contains_key("retry-after");
            answer.replayed = response
                .headers()
                .get("idempotent-replayed")
                .is_some_and(|v| v == "true");
            match response.json::<Value>().await {
                Ok(body) => answer.id = body["id"].as_i64(),
                Err(error) => answer.error = Some(format!("body: {error}")),
            }
        }
        Err(error) => {
            answer.refused = error.is_connect();
            answer.error = Some(error.to_string());
        }
    }
    answer.done = origin.elapsed().as_secs_f64();
    answer
}

/// Every request made, in the order they were made, with its answer.
type Journal = Arc<Mutex<Vec<(Op, Answer)>>>;

/// Closed-loop load: `workers` clients, each sending one request at a time to a random
/// replica that `alive` says is up, until `stop` (or `limit`, whichever first).
struct Load {
    journal: Journal,
    stop: Arc<AtomicBool>,
    handles: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(
        client: &reqwest::Client,
        bases: Vec<String>,
        accounts: &[i64],
        workers: usize,
        run: &str,
        origin: Instant,
        limit: Duration,
    ) -> Self {
        let journal: Journal = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let bases = Arc::new(bases);
        let accounts = Arc::new(accounts.to_vec());
        let sequence = Arc::new(AtomicU64::new(0));
        let handles = (0..workers)
            .map(|worker| {
                let (client, journal, stop, bases, accounts, sequence) = (
                    client.clone(),
                    Arc::clone(&journal),
                    Arc::clone(&stop),
                    Arc::clone(&bases),
                    Arc::clone(&accounts),
                    Arc::clone(&sequence),
                );
                let run = run.to_owned();
                tokio::spawn(async move {
                    let mut rng = Rng::new(worker as u64 + 1);
                    // Bounded in count as well as in time.
                    for _ in 0..1_000_000 {
                        if stop.load(Ordering::Relaxed) || origin.elapsed() > limit {
                            break;
                        }
                        let n = sequence.fetch_add(1, Ordering::Relaxed);
                        let op = Op {
                            kind: if rng.below(2) == 0 {
                                Kind::Payment
                            } else {
                                Kind::Admission
                            },
                            key: format!("chaos-{run}-{n}"),
                            account: accounts[rng.below(accounts.len())],
                        };
                        let replica = rng.below(bases.len());
                        let answer = send(&client, &bases[replica], &op, origin, replica).await;
                        let unanswered = answer.status.is_none();
                        if let Ok(mut journal) = journal.lock() {
                            journal.push((op, answer));
                        }
                        if unanswered {
                            // A replica that is down refuses at once: do not spin on it.
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                })
            })
            .collect();
        Self {
            journal,
            stop,
            handles,
        }
    }

    async fn finish(self) -> Vec<(Op, Answer)> {
        self.stop.store(true, Ordering::Relaxed);
        futures_util::future::join_all(self.handles).await;
        self.journal.lock().map(|j| j.clone()).unwrap_or_default()
    }
}

/// Sends again, with the same key, route and body, every request that got no definite
/// answer (none, a 5xx, or 409 while its key was still leased), until each has one (bounded
/// by [`LEASE_WAIT`]). Returns the final answer per key.
async fn retry_unanswered(
    client: &reqwest::Client,
    bases: &[String],
    journal: &[(Op, Answer)],
    origin: Instant,
) -> BTreeMap<String, Answer> {
    let definite = |a: &Answer| a.status.is_some_and(|s| s < 500 && s != 409);
    let mut pending: Vec<Op> = journal
        .iter()
        .filter(|(_, a)| !definite(a))
        .map(|(op, _)| op.clone())
        .collect();
    let mut finals = BTreeMap::new();
    let started = Instant::now();
    let mut rng = Rng::new(7);
    while !pending.is_empty() && started.elapsed() < LEASE_WAIT {
        let mut still = Vec::new();
        for op in pending {
            let replica = rng.below(bases.len());
            let answer = send(client, &bases[replica], &op, origin, replica).await;
            if definite(&answer) {
                finals.insert(op.key.clone(), answer);
            } else {
                finals.insert(op.key.clone(), answer);
                still.push(op);
            }
        }
        pending = still;
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    finals
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "an index into a short list"
    )]
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}
