//! `cargo xtask bench list` and `cargo xtask bench search`: the customer-list and
//! customer-search benchmarks on generated data (`bench accounts` runs on the same data, see
//! [`crate::accounts`]).
//!
//! Generates (once; the data is reused on later runs) a million customers on SQLite, and on
//! PostgreSQL when `CREDENCE_TEST_POSTGRES_URL` is set, then times `CustomerRepository::list`
//! for a page of 100 with its total, for each of [`LIST_CASES`]. Each case also runs as bare
//! SQL (the *floor*: hand-written statements with binds on a plain diesel connection, no
//! Credence code), so the table shows what the store adds to what the database must do.
//! Prints p50/p99 per case as a Markdown table, ready for `docs/performance.md`. Never run in
//! CI.
//!
//! `bench search` uses the same data and times `CustomerRepository::search` (a page of 100
//! with its total) for a few representative queries (see [`SEARCH_CASES`]).
//!
//! With `--concurrency N`, either command then has N tasks call list and search (every case
//! of both, in turn) for `--seconds S` on a pool of 8 connections (the server's default), and
//! reports the process's peak resident memory (`VmHWM`, reset before the phase), which is
//! what a server doing the same work would hold: on SQLite the database runs in-process.
//!
//! Options: `--rows N` (default 1000000), `--iterations N` (default 50), `--fresh`
//! (regenerate), `--sqlite PATH` (default: the system temp dir), `--concurrency N` (default
//! 0: no concurrent phase), `--seconds S` (default 10).

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use credence_domain::customers::search::{SearchQuery, SearchTerms};
use credence_domain::customers::{CustomerFilter, CustomerQuery};
use credence_domain::listing::{PageRequest, TextPattern};
use credence_domain::ports::CustomerRepository;
use credence_domain::values::CurrencyCode;
use credence_store::bench_support::{
    count_customers, generate_customers, postgres_database, refresh_statistics,
};
use credence_store::{Database, PoolOptions, Store};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Double, Nullable, Text, Timestamp};
use diesel::sqlite::Sqlite;

use crate::flags::Flags;

struct Options {
    rows: u64,
    iterations: usize,
    fresh: bool,
    sqlite: String,
    concurrency: usize,
    seconds: u64,
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
        concurrency: 0,
        seconds: 10,
    };
    let mut flags = Flags::new(args);
    while let Some(flag) = flags.option() {
        match flag {
            "--rows" => options.rows = flags.parse()?,
            "--iterations" => options.iterations = flags.parse()?,
            "--sqlite" => options.sqlite = flags.value()?.clone(),
            "--concurrency" => options.concurrency = flags.parse()?,
            "--seconds" => options.seconds = flags.parse()?,
            "--fresh" => options.fresh = true,
            other => bail!(
                "unknown option {other}; use --rows N --iterations N --fresh --sqlite PATH \
                 --concurrency N --seconds S"
            ),
        }
    }
    Ok(options)
}

/// `cargo xtask bench list`.
pub fn list(args: &[String]) -> anyhow::Result<()> {
    run(
        args,
        "customer list",
        (
            " floor p50 | p50 | floor / Credence | p99 |",
            "---|---|---|---|",
        ),
        |target, store, iterations| Box::pin(measure(target, store, iterations)),
    )
}

/// `cargo xtask bench search`.
pub fn search(args: &[String]) -> anyhow::Result<()> {
    run(
        args,
        "customer search",
        (" top hit (score) | p50 | p99 |", "---|---|---|"),
        |target, store, iterations| Box::pin(measure_search(target, store, iterations)),
    )
}

/// A backend under test: its name for the tables and the URL the store opened.
pub(crate) struct Target<'a> {
    pub(crate) backend: &'a str,
    pub(crate) url: &'a str,
}

pub(crate) type Measure =
    for<'a> fn(
        &'a Target<'a>,
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

/// Prepares the data on each backend and runs `measure` on it, then the concurrent phase
/// when asked for.
pub(crate) fn run(
    args: &[String],
    name: &str,
    columns: (&str, &str),
    measure: Measure,
) -> anyhow::Result<()> {
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
    println!("| backend | case | matches (total) |{}", columns.0);
    println!("|---|---|---|{}", columns.1);

    if options.fresh {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", options.sqlite));
        }
    }
    let mut targets = vec![("SQLite", format!("sqlite://{}", options.sqlite))];
    match std::env::var("CREDENCE_TEST_POSTGRES_URL") {
        Ok(admin) => targets.push((
            "PostgreSQL",
            postgres_database(
                &admin,
                &format!("credence_bench_{}", options.rows),
                options.fresh,
            )?,
        )),
        Err(_) => eprintln!("PostgreSQL skipped: CREDENCE_TEST_POSTGRES_URL is not set"),
    }
    let mut memory = Vec::new();
    for &(backend, ref url) in &targets {
        let store = Store::new(prepare(url, options.rows)?);
        let target = Target {
            backend,
            url: url.as_str(),
        };
        runtime.block_on(measure(&target, &store, options.iterations))?;
        if options.concurrency > 0 {
            memory.push(runtime.block_on(hammer(
                backend,
                &store,
                options.concurrency,
                Duration::from_secs(options.seconds),
            ))?);
        }
    }
    if !memory.is_empty() {
        println!();
        println!(
            "| backend | clients | seconds | calls | RSS before | peak RSS (VmHWM) | RSS after |"
        );
        println!("|---|---|---|---|---|---|---|");
        for line in memory {
            println!("{line}");
        }
    }
    Ok(())
}

/// Opens, migrates and fills the database up to `rows` customers. The pool has the server's
/// default size, so the concurrent phase holds as many connections as a server would.
fn prepare(url: &str, rows: u64) -> anyhow::Result<Database> {
    let options = PoolOptions {
        connection_timeout: Duration::from_secs(30),
        ..PoolOptions::default()
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

/// A list case: the filters of `GET /api/v1.0/customers` it stands for.
struct ListCase {
    label: &'static str,
    /// The `name` filter, as a client writes it.
    name: Option<&'static str>,
    /// The `isActive` filter.
    active: Option<bool>,
}

/// The list cases, each a page of 100 (`max=100`) with its exact total, default sort
/// (`dateCreated`, then id). On the generated data, `abc*` and `ab*` are two of 40 first
/// words (`Abcor`, `Abcam`); `*abc*` adds one of 30 second words (`Abcdaire`).
const LIST_CASES: &[ListCase] = &[
    ListCase {
        label: "no filter",
        name: None,
        active: None,
    },
    ListCase {
        label: "isActive=true",
        name: None,
        active: Some(true),
    },
    ListCase {
        label: "name=abc*",
        name: Some("abc*"),
        active: None,
    },
    ListCase {
        label: "name=ab*&isActive=true",
        name: Some("ab*"),
        active: Some(true),
    },
    ListCase {
        label: "name=*abc*",
        name: Some("*abc*"),
        active: None,
    },
];

impl ListCase {
    fn query(&self) -> CustomerQuery {
        CustomerQuery {
            filter: CustomerFilter {
                name: self.name.map(TextPattern::parse),
                is_active: self.active,
                ..CustomerFilter::default()
            },
            page: PageRequest::new(Some(100), None).unwrap_or_default(),
            ..CustomerQuery::default()
        }
    }
}

async fn measure(target: &Target<'_>, store: &Store, iterations: usize) -> anyhow::Result<()> {
    let mut floor = Floor::connect(target.url)?;
    for case in LIST_CASES {
        let query = case.query();
        let sql = FloorSql::of(case, &floor);
        // Warm the caches first: the figures are for a running server.
        let mut floor_total = 0;
        for _ in 0..3 {
            floor_total = floor.run(&sql)?;
        }
        let mut floor_samples = Vec::with_capacity(iterations);
        for _ in 0..iterations.max(1) {
            let started = Instant::now();
            floor_total = floor.run(&sql)?;
            floor_samples.push(started.elapsed());
        }
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
        if u64::try_from(floor_total).ok() != Some(total) {
            bail!(
                "{}: the floor counted {floor_total}, Credence {total}",
                case.label
            );
        }
        samples.sort();
        floor_samples.sort();
        let (floor_p50, p50) = (percentile(&floor_samples, 50), percentile(&samples, 50));
        println!(
            "| {} | `{}` | {total} | {} | {} | {:.2} | {} |",
            target.backend,
            case.label,
            show(floor_p50),
            show(p50),
            floor_p50.as_secs_f64() / p50.as_secs_f64().max(f64::EPSILON),
            show(percentile(&samples, 99))
        );
    }
    Ok(())
}

/// A plain diesel connection for the floor: no pool, no Credence code.
enum Floor {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

/// The floor's statements for one case: the count and the page, with their text binds, in
/// the backend's placeholder syntax.
struct FloorSql {
    count: String,
    count_binds: Vec<String>,
    page: String,
    page_binds: Vec<String>,
}

/// What the floor's page reads: every column the API shows of a customer, and its account.
#[derive(QueryableByName)]
#[expect(dead_code, reason = "decoded to cost what decoding costs, never read")]
struct FloorRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    uuid: String,
    #[diesel(sql_type = Text)]
    reference: String,
    #[diesel(sql_type = Nullable<Text>)]
    reference2: Option<String>,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    category_id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    parent_id: Option<i64>,
    #[diesel(sql_type = Bool)]
    bill_with_parent: bool,
    #[diesel(sql_type = Nullable<BigInt>)]
    segmentation_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    email: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    phone: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    mobile: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    fax: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    comment: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    barcode: Option<String>,
    #[diesel(sql_type = Bool)]
    is_same_address: bool,
    #[diesel(sql_type = Nullable<Text>)]
    billing_country: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    billing_city: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    billing_postal_code: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    billing_address: Option<String>,
    #[diesel(sql_type = Nullable<Double>)]
    billing_latitude: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    billing_longitude: Option<f64>,
    #[diesel(sql_type = Nullable<Text>)]
    country: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    city: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    postal_code: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    address: Option<String>,
    #[diesel(sql_type = Nullable<Double>)]
    latitude: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    longitude: Option<f64>,
    #[diesel(sql_type = Bool)]
    is_active: bool,
    #[diesel(sql_type = Bool)]
    on_hold: bool,
    #[diesel(sql_type = Nullable<Text>)]
    on_hold_reason: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    created_by: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    due_date_number: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    due_date_type: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    website: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    tax_number: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    company_registration_number: Option<String>,
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = Nullable<Text>)]
    customer_risk: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    customer_risk_color: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    region_id: Option<i64>,
    #[diesel(sql_type = Timestamp)]
    date_created: chrono::NaiveDateTime,
    #[diesel(sql_type = Timestamp)]
    last_updated: chrono::NaiveDateTime,
    #[diesel(sql_type = Nullable<Text>)]
    logo: Option<String>,
    #[diesel(sql_type = Text)]
    account_currency: String,
    #[diesel(sql_type = BigInt)]
    balance: i64,
    #[diesel(sql_type = BigInt)]
    credit_limit: i64,
    #[diesel(sql_type = BigInt)]
    reserved: i64,
}

#[derive(QueryableByName)]
struct FloorCount {
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// The page's columns, as [`FloorRow`] names them.
const FLOOR_COLUMNS: &str = "c.id, c.uuid, c.reference, c.reference2, c.name, c.category_id, \
    c.parent_id, c.bill_with_parent, c.segmentation_id, c.email, c.phone, c.mobile, c.fax, \
    c.comment, c.barcode, c.is_same_address, c.billing_country, c.billing_city, \
    c.billing_postal_code, c.billing_address, c.billing_latitude, c.billing_longitude, \
    c.country, c.city, c.postal_code, c.address, c.latitude, c.longitude, c.is_active, \
    c.on_hold, c.on_hold_reason, c.created_by, c.due_date_number, c.due_date_type, c.website, \
    c.tax_number, c.company_registration_number, c.currency, c.customer_risk, \
    c.customer_risk_color, c.region_id, c.date_created, c.last_updated, c.logo, \
    a.currency AS account_currency, a.balance, a.credit_limit, a.reserved";

impl Floor {
    fn connect(url: &str) -> anyhow::Result<Self> {
        Ok(match url.strip_prefix("sqlite://") {
            Some(path) => {
                let mut conn = SqliteConnection::establish(path)?;
                // The store's own connection settings that bear on reads.
                diesel::connection::SimpleConnection::batch_execute(
                    &mut conn,
                    "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL;",
                )?;
                Self::Sqlite(conn)
            }
            None => Self::Postgres(PgConnection::establish(url)?),
        })
    }

    /// The count and the page in one read transaction (as any correct reader must, so the
    /// total describes the page); returns the total.
    fn run(&mut self, sql: &FloorSql) -> anyhow::Result<i64> {
        macro_rules! count_and_page {
            ($conn:expr, $backend:ty) => {
                $conn.transaction(|conn| {
                    let mut count = diesel::sql_query(sql.count.as_str()).into_boxed::<$backend>();
                    for bind in &sql.count_binds {
                        count = count.bind::<Text, _>(bind.clone());
                    }
                    let total = count.get_result::<FloorCount>(conn)?.total;
                    let mut page = diesel::sql_query(sql.page.as_str()).into_boxed::<$backend>();
                    for bind in &sql.page_binds {
                        page = page.bind::<Text, _>(bind.clone());
                    }
                    let rows = page.load::<FloorRow>(conn)?;
                    std::hint::black_box(rows);
                    diesel::QueryResult::Ok(total)
                })
            };
        }
        Ok(match self {
            Self::Sqlite(conn) => count_and_page!(conn, Sqlite)?,
            Self::Postgres(conn) => count_and_page!(conn, Pg)?,
        })
    }
}

impl FloorSql {
    /// Hand-written SQL for a case, as someone tuning it for this data would write it: the
    /// count narrows a prefix by its range (a B-tree seek), the page walks the sort index and
    /// tests the pattern row by row (every case here has thousands of matches, so the first
    /// 100 come early). A mid-string pattern goes through the trigram index of each backend:
    /// PostgreSQL's `pg_trgm` GIN index serves `LIKE` by itself; SQLite's FTS5 trigram table
    /// is asked for the rows holding the substring.
    fn of(case: &ListCase, floor: &Floor) -> Self {
        let sqlite = matches!(floor, Floor::Sqlite(_));
        let mut count_where = vec!["c.archived_at IS NULL".to_owned()];
        let mut page_where = count_where.clone();
        let (mut count_binds, mut page_binds) = (Vec::new(), Vec::new());
        let mut trigram_count = false;
        if let Some(active) = case.active {
            let test = format!("c.is_active = {}", if active { "TRUE" } else { "FALSE" });
            count_where.push(test.clone());
            page_where.push(test);
        }
        if let Some(name) = case.name {
            let literal = name.trim_matches('*').to_lowercase();
            let like = name.to_lowercase().replace('*', "%");
            if name.starts_with('*') {
                if sqlite {
                    // The trigram table holds live customers only, and a case-sensitive phrase
                    // over folded text is the substring test itself.
                    trigram_count = true;
                    count_binds.push(format!("name_folded : \"{literal}\""));
                } else {
                    count_where.push("c.name_folded LIKE ?".to_owned());
                    count_binds.push(like.clone());
                }
            } else {
                let mut upper = literal.clone();
                let last = upper.pop().unwrap_or('a');
                upper.push(char::from_u32(u32::from(last) + 1).unwrap_or(last));
                count_where.push("c.name_folded >= ? AND c.name_folded < ?".to_owned());
                count_binds.extend([literal, upper]);
            }
            page_where.push("c.name_folded LIKE ?".to_owned());
            page_binds.push(like);
        }
        let count = if trigram_count {
            "SELECT COUNT(*) AS total FROM customer_text WHERE customer_text MATCH ?".to_owned()
        } else {
            format!(
                "SELECT COUNT(*) AS total FROM customers c WHERE {}",
                count_where.join(" AND ")
            )
        };
        let page = format!(
            "SELECT {FLOOR_COLUMNS} FROM customers c JOIN accounts a ON a.customer_id = c.id \
             WHERE {} ORDER BY c.date_created, c.id LIMIT 100",
            page_where.join(" AND ")
        );
        let placeholders = |sql: String| {
            if sqlite {
                return sql;
            }
            let mut out = String::with_capacity(sql.len());
            let mut n = 0;
            for c in sql.chars() {
                if c == '?' {
                    n += 1;
                    out.push_str(&format!("${n}"));
                } else {
                    out.push(c);
                }
            }
            out
        };
        Self {
            count: placeholders(count),
            count_binds,
            page: placeholders(page),
            page_binds,
        }
    }
}

/// The search cases: label (for the table) and query text. On the generated data (names
/// `<First> <Second> <0..9999> [<suffix>]`, references `<PREFIX>-<n:07>`, a city):
const SEARCH_CASES: &[(&str, &str)] = &[
    // A name number: ~100 customers.
    ("rare name word", "4711"),
    // One of 30 second words: ~33,000 customers.
    ("common word", "bakery"),
    // Two of 40 first words, ORed: ~50,000 customers.
    ("two words ORed", "acme globex"),
    // A reference as typed, low id: its prefix (`c`, `ref`...: a fifth of all customers) OR
    // its number (one). `@` means "the reference of the customer with this number", looked
    // up first, since the generator picks each prefix at random.
    ("reference, low id", "@0004712"),
    // The same for a customer with a high id.
    ("reference, high id", "@0900001"),
    // A reference's number alone: one customer.
    ("reference number", "0900000"),
];

/// The search as the bench asks it: active customers, no scope, a page of 100. `@` cases
/// are looked up first (see [`SEARCH_CASES`]).
async fn search_query(store: &Store, text: &str) -> anyhow::Result<(String, SearchQuery)> {
    let text = match text.strip_prefix('@') {
        Some(number) => reference_of(store, number).await?,
        None => text.to_owned(),
    };
    let query = SearchQuery {
        terms: SearchTerms::parse(&text)?,
        include_inactive: false,
        within: None,
        page: PageRequest::new(Some(100), None)?,
    };
    Ok((text, query))
}

async fn measure_search(
    target: &Target<'_>,
    store: &Store,
    iterations: usize,
) -> anyhow::Result<()> {
    let backend = target.backend;
    for (label, text) in SEARCH_CASES {
        let (text, query) = search_query(store, text).await?;
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

/// One call of the concurrent phase: a list or a search.
enum Call {
    List(Box<CustomerQuery>),
    Search(Box<SearchQuery>),
}

/// `concurrency` tasks calling every list and search case in turn (each task starting at a
/// different one) for `length`; returns the memory line for the report. The peak is the
/// process's `VmHWM`, reset to the current size first (`/proc/self/clear_refs`), so it is this
/// phase's, not the data generation's.
async fn hammer(
    backend: &str,
    store: &Store,
    concurrency: usize,
    length: Duration,
) -> anyhow::Result<String> {
    let mut calls: Vec<Call> = LIST_CASES
        .iter()
        .map(|c| Call::List(Box::new(c.query())))
        .collect();
    for (_, text) in SEARCH_CASES {
        calls.push(Call::Search(Box::new(search_query(store, text).await?.1)));
    }
    let calls = std::sync::Arc::new(calls);
    std::fs::write("/proc/self/clear_refs", "5").context("cannot reset VmHWM")?;
    let before = memory("VmRSS")?;
    let deadline = Instant::now() + length;
    let mut tasks = Vec::with_capacity(concurrency);
    for task in 0..concurrency {
        let (store, calls) = (store.clone(), std::sync::Arc::clone(&calls));
        tasks.push(tokio::spawn(async move {
            let mut done = 0_usize;
            while Instant::now() < deadline {
                match calls.get((task + done) % calls.len().max(1)) {
                    Some(Call::List(query)) => drop(store.list(query).await?),
                    Some(Call::Search(query)) => drop(store.search(query).await?),
                    None => break,
                }
                done += 1;
            }
            anyhow::Ok(done)
        }));
    }
    let mut done = 0;
    for task in tasks {
        done += task.await??;
    }
    let peak = memory("VmHWM")?;
    let after = memory("VmRSS")?;
    Ok(format!(
        "| {backend} | {concurrency} | {} | {done} | {} | {} | {} |",
        length.as_secs(),
        mib(before),
        mib(peak),
        mib(after)
    ))
}

/// A `/proc/self/status` figure, in KiB.
pub(crate) fn memory(field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status").context("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no {field} in /proc/self/status"))
}

pub(crate) fn mib(kib: u64) -> String {
    format!("{} MB", kib / 1024)
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

pub(crate) fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let index = (sorted.len() * p).div_ceil(100).saturating_sub(1);
    sorted
        .get(index.min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

pub(crate) fn show(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}
