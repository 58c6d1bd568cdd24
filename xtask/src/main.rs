//! Developer tasks, run as `cargo xtask <task>`:
//!
//! - `deps`: fails when a crate depends on what the architecture forbids it (the domain on
//!   actix, diesel or tokio; the HTTP adapter on diesel).
//! - `openapi [--check]`: writes `docs/openapi.json` from the handlers, or fails when the
//!   committed copy is stale.
//! - `bench` (or `bench floor`): each workload of the request path beside its floor, in one
//!   run (never run in CI; build with `--release`).
//! - `bench list`, `bench search`: the customer-list and customer-search benchmarks on
//!   generated data (never run in CI).
//! - `bench admission`: admissions per second over HTTP against the store's own ceiling.
//! - `bench import`: a bulk import of 100,000 customers: lines per second and the server's
//!   peak memory.
//! - `bench copy`: `credence copy` of a million customers from SQLite to PostgreSQL: time,
//!   rows per second and peak memory.
//! - `bench deliveries`: webhook deliveries per second one replica sends to a local receiver.
//! - `bench overload`: answers at twice the measured capacity: fast 2xx or fast 503/429.
//! - `bench statement`: a statement of a million entries streamed: time and peak memory.
//! - `bench accounts`: accounts across customers at a million accounts.
//! - `bench scale`: admissions and reads per second on SQLite, and on PostgreSQL behind one
//!   and three replicas (separate release processes).
//! - `chaos failover`, `chaos kill`: the service under PostgreSQL failover and under
//!   `kill -9` of its replicas, with real processes (never run in CI).
//! - `contract`: schemathesis against a live server: it answers as `docs/openapi.json` says.
//! - `readme`: runs the README's walk-through as written, on a fresh database and a free
//!   port, and fails when an answer differs from the one the README writes beside it.
//! - `ci`: runs `.ci/run`.
#![forbid(unsafe_code)]

mod accounts;
mod admission;
mod bench;
mod chaos;
mod contract;
mod copy;
mod deliveries;
mod flags;
mod floor;
mod import;
mod overload;
mod readme;
mod scale;
mod statement;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("deps") => deps(),
        Some("openapi") => openapi(args.iter().any(|a| a == "--check")),
        Some("bench") => match args.get(1).map(String::as_str) {
            None => floor::run(&[]),
            Some("floor") => floor::run(&args[2..]),
            Some(option) if option.starts_with("--") => floor::run(&args[1..]),
            // Hidden: the floor's constant server, which `bench` starts as its own process.
            Some("constant-server") => floor::constant::serve(&args[2..]),
            Some("list") => bench::list(&args[2..]),
            Some("search") => bench::search(&args[2..]),
            Some("admission") => admission::run(&args[2..]),
            Some("import") => import::run(&args[2..]),
            Some("deliveries") => deliveries::run(&args[2..]),
            Some("overload") => overload::run(&args[2..]),
            Some("statement") => statement::run(&args[2..]),
            Some("accounts") => accounts::run(&args[2..]),
            Some("scale") => scale::run(&args[2..]),
            Some("copy") => copy::run(&args[2..]),
            _ => bail!(
                "usage: cargo xtask bench [floor | list | search | admission | import | deliveries | overload | statement | accounts | scale | copy]"
            ),
        },
        Some("chaos") => chaos::run(&args[1..]),
        Some("contract") => contract::run(&args[1..]),
        Some("readme") => readme::run(&args[1..]),
        Some("ci") => {
            let status = Command::new(root().join(".ci/run"))
                .status()
                .context("cannot run .ci/run")?;
            if !status.success() {
                bail!(".ci/run failed");
            }
            Ok(())
        }
        _ => bail!(
            "usage: cargo xtask <deps | openapi [--check] | bench [floor | list | search | admission | import | deliveries | overload | statement | accounts | scale | copy] | \
             chaos <failover | kill> | contract | readme | ci>"
        ),
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The normal (non-dev) dependency names of one package.
fn normal_dependencies(package: &str) -> anyhow::Result<Vec<String>> {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "tree", "-p", package, "-e", "normal", "--prefix", "none", "--format", "{p}",
        ])
        .current_dir(root())
        .output()
        .context("cannot run cargo tree")?;
    if !output.status.success() {
        bail!(
            "cargo tree failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect())
}

fn forbidden_in(package: &str, forbidden: &[&str]) -> anyhow::Result<Vec<String>> {
    let found = normal_dependencies(package)?;
    let mut hits: Vec<String> = found
        .into_iter()
        .filter(|dep| {
            forbidden.iter().any(|f| {
                dep == f || dep.starts_with(&format!("{f}-")) || dep.starts_with(&format!("{f}_"))
            })
        })
        .collect();
    hits.sort();
    hits.dedup();
    Ok(hits)
}

fn deps() -> anyhow::Result<()> {
    let rules: [(&str, &[&str]); 4] = [
        ("credence-domain", &["actix", "diesel", "tokio", "reqwest"]),
        ("credence-http", &["diesel", "reqwest"]),
        ("credence-store", &["actix", "reqwest"]),
        ("credence-sender", &["actix", "diesel"]),
    ];
    let mut failed = false;
    for (package, forbidden) in rules {
        let hits = forbidden_in(package, forbidden)?;
        if hits.is_empty() {
            println!("{package}: no {}", forbidden.join(", no "));
        } else {
            failed = true;
            eprintln!("{package} depends on forbidden crates: {}", hits.join(", "));
        }
    }
    if failed {
        bail!("dependency rules broken (see docs/ARCHITECTURE.md)");
    }
    Ok(())
}

fn openapi(check: bool) -> anyhow::Result<()> {
    let path = root().join("docs/openapi.json");
    let mut fresh = credence_http::openapi()
        .to_pretty_json()
        .context("cannot render the OpenAPI document")?;
    fresh.push('\n');
    if check {
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != fresh {
            bail!("docs/openapi.json is stale: run `cargo xtask openapi` and commit the result");
        }
        println!("docs/openapi.json is up to date");
    } else {
        std::fs::write(&path, fresh).with_context(|| format!("cannot write {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
