//! `cargo xtask bench list`: the customer-list benchmark on generated data.
//!
//! Generates (once; the data is reused on later runs) a million customers on SQLite, and on
//! PostgreSQL when `CREDENCE_TEST_POSTGRES_URL` is set, then times `CustomerRepository::list`
//! for a page of 100 with its total: unfiltered, with a prefix filter (`name=abc*`) and with
//! a mid-string filter (`name=*abc*`). Prints p50/p99 per case as a Markdown table, ready for
//! `docs/performance.md`. Never run in CI.
//!
//! Options: `--rows N` (default 1000000), `--iterations N` (default 50), `--fresh`
//! (regenerate), `--sqlite PATH` (default: the system temp dir).

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use credence_domain::customer::{CustomerFilter, CustomerQuery};
use credence_domain::listing::TextPattern;
use credence_domain::ports::CustomerRepository;
use credence_domain::values::CurrencyCode;
use credence_store::bench_support::{count_customers, generate_customers, postgres_database};
use credence_store::{Database, PoolOptions, Store};

struct Options {
    rows: u64,
    iterations: usize,
    fresh: bool,
    sqlite: String,
}

fn parse(args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options {
        rows: 1_000_000,
        iterations: 50,
        fresh: false,
        sqlite: std::env::temp_dir()
            .join("credence-bench.db")
            .display()
            .to_string(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--rows" => options.rows = value()?.parse().context("--rows")?,
            "--iterations" => options.iterations = value()?.parse().context("--iterations")?,
            "--sqlite" => options.sqlite = value()?.clone(),
            "--fresh" => options.fresh = true,
            other => {
                bail!("unknown option {other}; use --rows N --iterations N --fresh --sqlite PATH")
            }
        }
    }
    Ok(options)
}

/// `cargo xtask bench list`.
pub fn list(args: &[String]) -> anyhow::Result<()> {
    let options = parse(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "customer list benchmark: {} rows, {} iterations, {profile} build",
        options.rows, options.iterations
    );
    println!();
    println!("| backend | case | matches (total) | p50 | p99 |");
    println!("|---|---|---|---|---|");

    if options.fresh {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", options.sqlite));
        }
    }
    let sqlite = prepare(&format!("sqlite://{}", options.sqlite), options.rows)?;
    runtime.block_on(measure("SQLite", &Store::new(sqlite), options.iterations))?;

    match std::env::var("CREDENCE_TEST_POSTGRES_URL") {
        Ok(admin) => {
            let url = postgres_database(
                &admin,
                &format!("credence_bench_{}", options.rows),
                options.fresh,
            )?;
            let postgres = prepare(&url, options.rows)?;
            runtime.block_on(measure(
                "PostgreSQL",
                &Store::new(postgres),
                options.iterations,
            ))?;
        }
        Err(_) => eprintln!("PostgreSQL skipped: CREDENCE_TEST_POSTGRES_URL is not set"),
    }
    Ok(())
}

/// Opens, migrates and fills the database up to `rows` customers.
fn prepare(url: &str, rows: u64) -> anyhow::Result<Database> {
    let options = PoolOptions {
        max_size: 4,
        connection_timeout: Duration::from_secs(30),
    };
    let database = Database::connect(url, options)?;
    database.migrate()?;
    database.ensure_organization_currency(CurrencyCode::parse("EUR")?)?;
    let present = count_customers(&database)?;
    if present < rows {
        let started = Instant::now();
        eprintln!("generating {} customers...", rows - present);
        generate_customers(&database, rows - present)?;
        eprintln!("generated in {:.1} s", started.elapsed().as_secs_f64());
    }
    Ok(database)
}

async fn measure(backend: &str, store: &Store, iterations: usize) -> anyhow::Result<()> {
    let cases = [
        ("no filter", None),
        ("name=abc*", Some("abc*")),
        ("name=*abc*", Some("*abc*")),
    ];
    for (label, pattern) in cases {
        let query = CustomerQuery {
            filter: CustomerFilter {
                name: pattern.map(TextPattern::parse),
                ..CustomerFilter::default()
            },
            ..CustomerQuery::default()
        };
        // Warm the caches first: the figures are for a running server.
        let mut total = 0;
        for _ in 0..3 {
            total = store.list(&query).await?.total;
        }
        let mut samples = Vec::with_capacity(iterations);
        for _ in 0..iterations.max(1) {
            let started = Instant::now();
            let page = store.list(&query).await?;
            samples.push(started.elapsed());
            total = page.total;
        }
        samples.sort();
        println!(
            "| {backend} | `{label}` | {total} | {} | {} |",
            show(percentile(&samples, 50)),
            show(percentile(&samples, 99))
        );
    }
    Ok(())
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let index = (sorted.len() * p).div_ceil(100).saturating_sub(1);
    sorted
        .get(index.min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

fn show(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}
