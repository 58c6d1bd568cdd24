//! `cargo xtask bench list` and `cargo xtask bench search`: the customer-list and
//! customer-search benchmarks on generated data.
//!
//! Generates (once; the data is reused on later runs) a million customers on SQLite, and on
//! PostgreSQL when `CREDENCE_TEST_POSTGRES_URL` is set, then times `CustomerRepository::list`
//! for a page of 100 with its total: unfiltered, with a prefix filter (`name=abc*`) and with
//! a mid-string filter (`name=*abc*`). Prints p50/p99 per case as a Markdown table, ready for
//! `docs/performance.md`. Never run in CI.
//!
//! `bench search` uses the same data and times `CustomerRepository::search` (a page of 100
//! with its total) for a few representative queries (see [`SEARCH_CASES`]).
//!
//! Options: `--rows N` (default 1000000), `--iterations N` (default 50), `--fresh`
//! (regenerate), `--sqlite PATH` (default: the system temp dir).

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use credence_domain::customer::{CustomerFilter, CustomerQuery};
use credence_domain::listing::{PageRequest, TextPattern};
use credence_domain::ports::CustomerRepository;
use credence_domain::search::{SearchQuery, SearchTerms};
use credence_domain::values::CurrencyCode;
use credence_store::bench_support::{
    count_customers, generate_customers, postgres_database, refresh_statistics,
};
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
    run(
        args,
        "customer list",
        ("", ""),
        |backend, store, iterations| Box::pin(measure(backend, store, iterations)),
    )
}

/// `cargo xtask bench search`.
pub fn search(args: &[String]) -> anyhow::Result<()> {
    run(
        args,
        "customer search",
        (" top hit (score) |", "---|"),
        |backend, store, iterations| Box::pin(measure_search(backend, store, iterations)),
    )
}

type Measure = for<'a> fn(
    &'a str,
    &'a Store,
    usize,
) -> std::pin::Pin<Box<dyn Future<Output = anyhow::Result<()>> + 'a>>;

/// A fresh, empty database per backend for an HTTP benchmark named `name`: a SQLite file in
/// the temporary directory (removed first), and a PostgreSQL database on the server
/// `CREDENCE_TEST_POSTGRES_URL` names, when it is set.
pub(crate) fn fresh_targets(name: &str) -> anyhow::Result<Vec<(&'static str, String)>> {
    let mut targets = Vec::new();
    let sqlite = std::env::temp_dir().join(format!("credence-bench-{name}.db"));
    for suffix in ["", "-wal", "-shm"] {
        // Absent files are fine: the point is that none is left.
        let _ = std::fs::remove_file(format!("{}{suffix}", sqlite.display()));
    }
    targets.push(("SQLite", format!("sqlite://{}", sqlite.display())));
    if let Ok(admin) = std::env::var("CREDENCE_TEST_POSTGRES_URL") {
        let url = credence_store::bench_support::postgres_database(
            &admin,
            &format!("credence_bench_{name}"),
            true,
        )?;
        targets.push(("PostgreSQL", url));
    }
    Ok(targets)
}

fn profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

/// Prepares the data on each backend and runs `measure` on it.
fn run(args: &[String], name: &str, columns: (&str, &str), measure: Measure) -> anyhow::Result<()> {
    let options = parse(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    println!(
        "{name} benchmark: {} rows, {} iterations, {} build",
        options.rows,
        options.iterations,
        profile()
    );
    println!();
    println!(
        "| backend | case | matches (total) |{} p50 | p99 |",
        columns.0
    );
    println!("|---|---|---|{}---|---|", columns.1);

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
    let before = Instant::now();
    database.migrate()?;
    if before.elapsed() > Duration::from_secs(5) {
        // A migration just rewrote the table (the search backfill does): fresh statistics,
        // and on PostgreSQL no dead rows, as a long-running database would have.
        eprintln!(
            "migrated in {:.1} s; refreshing statistics...",
            before.elapsed().as_secs_f64()
        );
        refresh_statistics(&database)?;
    }
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

/// The search cases: label (for the table) and query text. On the generated data (names
/// `<First> <Second> <0..9999> [<suffix>]`, references `<PREFIX>-<n:07>`, a city):
const SEARCH_CASES: &[(&str, &str)] = &[
    // A name number: ~100 customers.
    ("rare name word", "4711"),
    // One of 30 second words: ~33,000 customers, over the 10,000-candidate cap.
    ("common word", "bakery"),
    // Two of 40 first words, ORed: ~50,000 customers.
    ("two words ORed", "acme globex"),
    // A reference as typed, low id: its prefix (`c`, `ref`...: a fifth of all customers) OR
    // its number (one). `@` means "the reference of the customer with this number", looked
    // up first, since the generator picks each prefix at random.
    ("reference, low id", "@0004712"),
    // The same for a customer beyond the first 10,000 prefix matches by id.
    ("reference, high id", "@0900001"),
    // A reference's number alone: one customer.
    ("reference number", "0900000"),
];

async fn measure_search(backend: &str, store: &Store, iterations: usize) -> anyhow::Result<()> {
    for (label, text) in SEARCH_CASES {
        let text = &match text.strip_prefix('@') {
            Some(number) => reference_of(store, number).await?,
            None => (*text).to_owned(),
        };
        let query = SearchQuery {
            terms: SearchTerms::parse(text)?,
            include_inactive: false,
            within: None,
            page: PageRequest::new(Some(100), None)?,
        };
        let mut total = 0;
        for _ in 0..3 {
            total = store.search(&query).await?.total;
        }
        let mut samples = Vec::with_capacity(iterations);
        for _ in 0..iterations.max(1) {
            let started = Instant::now();
            let page = store.search(&query).await?;
            samples.push(started.elapsed());
            total = page.total;
        }
        samples.sort();
        let top = store.search(&query).await?.items.first().map_or_else(
            || "none".to_owned(),
            |hit| format!("{} ({})", hit.customer.data.reference.as_str(), hit.score),
        );
        println!(
            "| {backend} | {label} `{text}` | {total} | {top} | {} | {} |",
            show(percentile(&samples, 50)),
            show(percentile(&samples, 99))
        );
    }
    Ok(())
}

/// The full reference (`<PREFIX>-<number>`) of the active generated customer with this number.
async fn reference_of(store: &Store, number: &str) -> anyhow::Result<String> {
    // Active customers only, like the timed queries: an inactive one would not be found.
    let query = SearchQuery {
        terms: SearchTerms::parse(number)?,
        include_inactive: false,
        within: None,
        page: PageRequest::new(Some(1), None)?,
    };
    let page = store.search(&query).await?;
    let hit = page
        .items
        .first()
        .with_context(|| format!("no generated customer has the number {number}"))?;
    Ok(hit.customer.data.reference.as_str().to_owned())
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
