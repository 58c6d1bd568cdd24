//! `cargo xtask bench copy`: `credence copy` of a million generated customers (their
//! accounts and search terms with them) from SQLite to PostgreSQL when
//! `CREDENCE_TEST_POSTGRES_URL` is set, else to a new SQLite file. Prints the time, rows per
//! second and the copying process's peak resident memory (`VmHWM`, reset before the copy)
//! beside what it held before: the copy streams in batches, so the peak must not grow with
//! the tables. The source is generated once and reused (`--fresh` makes it again). Never run
//! in CI.
//!
//! Options: `--rows N` (default 1000000), `--sqlite PATH` (the source; default in the system
//! temp dir), `--fresh`.

use std::time::Instant;

use anyhow::{Context as _, bail};
use credence_domain::values::CurrencyCode;
use credence_store::bench_support::{count_customers, generate_customers, postgres_database};
use credence_store::{CopyOptions, CopyProgress, Database, PoolOptions, copy_database};

use crate::bench::{memory, mib};
use crate::flags::Flags;

struct Options {
    rows: u64,
    sqlite: String,
    fresh: bool,
}

fn parse(args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options {
        rows: 1_000_000,
        sqlite: std::env::temp_dir()
            .join("credence-bench-copy.db")
            .display()
            .to_string(),
        fresh: false,
    };
    let mut flags = Flags::new(args);
    while let Some(flag) = flags.option() {
        match flag {
            "--rows" => options.rows = flags.parse()?,
            "--sqlite" => options.sqlite = flags.value()?.clone(),
            "--fresh" => options.fresh = true,
            other => bail!("unknown option {other}; use --rows N --sqlite PATH --fresh"),
        }
    }
    Ok(options)
}

/// Opens (migrating) the database `url` names, with EUR as the organization's currency.
fn open(url: &str) -> anyhow::Result<Database> {
    let database = Database::connect(url, PoolOptions::default())?;
    database.migrate()?;
    database.ensure_organization_currency(CurrencyCode::parse("EUR")?)?;
    Ok(database)
}

/// `cargo xtask bench copy`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let options = parse(args)?;
    if options.fresh {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", options.sqlite));
        }
    }
    let source = format!("sqlite://{}", options.sqlite);
    {
        let database = open(&source)?;
        let present = count_customers(&database)?;
        if present < options.rows {
            let started = Instant::now();
            eprintln!("generating {} customers...", options.rows - present);
            generate_customers(&database, options.rows - present)?;
            eprintln!("generated in {:.1} s", started.elapsed().as_secs_f64());
        } else if present > options.rows {
            bail!(
                "{} holds {present} customers, more than --rows; pass --fresh",
                options.sqlite
            );
        }
    }
    let (backend, target) = match std::env::var("CREDENCE_TEST_POSTGRES_URL") {
        Ok(admin) => (
            "PostgreSQL",
            postgres_database(&admin, "credence_bench_copy", true)?,
        ),
        Err(_) => {
            let file = std::env::temp_dir().join("credence-bench-copy-target.db");
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
            ("SQLite", format!("sqlite://{}", file.display()))
        }
    };
    drop(open(&target)?);

    std::fs::write("/proc/self/clear_refs", "5").context("cannot reset VmHWM")?;
    let before = memory("VmRSS")?;
    let started = Instant::now();
    let report =
        copy_database(
            &source,
            &target,
            &CopyOptions::default(),
            &mut |progress| match progress {
                CopyProgress::Rows {
                    table,
                    copied,
                    total,
                    elapsed,
                    done,
                } => eprintln!(
                    "{table}: {copied} of {total} rows{} ({:.1} s)",
                    if *done { ", done" } else { "" },
                    elapsed.as_secs_f64()
                ),
                CopyProgress::Step(step) => eprintln!("{step}..."),
            },
        )?;
    let seconds = started.elapsed().as_secs_f64();
    let peak = memory("VmHWM")?;
    let rows = report.rows();
    let customers = report
        .tables
        .iter()
        .find(|(table, _)| table == "customers")
        .map_or(0, |(_, rows)| *rows);
    println!(
        "| source | target | customers | rows (all tables) | seconds | rows/s | RSS before | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    #[expect(
        clippy::cast_precision_loss,
        reason = "a rate for display; millions of rows are exact in f64"
    )]
    let rate = rows as f64 / seconds.max(f64::EPSILON);
    println!(
        "| SQLite | {backend} | {customers} | {rows} | {seconds:.1} | {rate:.0} | {} | {} |",
        mib(before),
        mib(peak),
    );
    Ok(())
}
