//! `credence copy`: every row of one Credence database into another, empty and migrated one,
//! between SQLite and PostgreSQL in either direction (decision 0042).
//!
//! The source is read in one snapshot (a SQLite read transaction, a PostgreSQL `REPEATABLE
//! READ READ ONLY` one) and the whole load is one transaction on the target, checked before
//! it commits: every table holds as many rows as the source's, and every account equals its
//! ledger. Anything else rolls back, leaving the target as it was.
//!
//! Rows travel in batches, each row one JSON array in a canonical form (see [`sql`]) and each
//! batch one statement with the batch as its only parameter, so memory stays bounded by a
//! batch whatever the tables hold, and ids, UUIDs and timestamps arrive unchanged.

mod catalog;
#[cfg(feature = "test-support")]
mod dump;
mod link;
mod sql;
mod target;

use std::path::PathBuf;
use std::time::{Duration, Instant};

#[cfg(feature = "test-support")]
pub use dump::sqlite_dump;
pub use link::End as CopyEnd;
use link::{End, Link, one_line};

/// How to copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyOptions {
    /// Replace the target's rows instead of refusing a target that holds some.
    pub force: bool,
    /// The most rows one statement writes.
    pub batch_rows: usize,
    /// The most bytes (of JSON text) one statement writes, whatever its rows.
    pub batch_bytes: usize,
    /// Progress is reported every this many rows of a table (and at its end).
    pub report_every: u64,
}

impl Default for CopyOptions {
    fn default() -> Self {
        Self {
            force: false,
            batch_rows: 2_000,
            batch_bytes: 4 << 20,
            report_every: 100_000,
        }
    }
}

/// What the copy is doing, for a progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyProgress {
    /// Rows of a table copied so far, of how many; `done` at its end.
    Rows {
        /// The table.
        table: String,
        /// Rows written so far.
        copied: u64,
        /// Rows the source holds.
        total: u64,
        /// Whether the table is complete.
        done: bool,
        /// Time spent on the table so far.
        elapsed: Duration,
    },
    /// A step after the rows (references set, sequences, the checks, the commit).
    Step(&'static str),
}

/// What was copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    /// Each table copied and its rows, in the order copied.
    pub tables: Vec<(String, u64)>,
    /// Accounts checked against their ledger on the target.
    pub accounts: i64,
    /// Ledger entries on the target.
    pub entries: i64,
}

impl CopyReport {
    /// Rows copied, all tables together.
    #[must_use]
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|(_, rows)| rows).sum()
    }
}

/// Why nothing was copied. [`CopyError::is_refusal`] tells the errors of the command's input
/// (nothing was tried) from failures on the way (the target's transaction was rolled back).
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The URL names no backend Credence supports.
    #[error("{end}: {message}")]
    Url {
        /// Which end.
        end: End,
        /// The reason.
        message: String,
    },
    /// A SQLite file that does not exist (opening it would create an empty one).
    #[error(
        "{end}: the SQLite database {} does not exist (create it with credence migrate)",
        file.display()
    )]
    MissingFile {
        /// Which end.
        end: End,
        /// The file.
        file: PathBuf,
    },
    /// The database cannot be reached or opened.
    #[error("{end}: cannot open the {backend} database{target}: {message}")]
    Connect {
        /// Which end.
        end: End,
        /// `SQLite` or `PostgreSQL`.
        backend: &'static str,
        /// A space and the SQLite file; empty for PostgreSQL (its URL may hold a password).
        target: String,
        /// The driver's words, on one line.
        message: String,
    },
    /// No Credence migration was ever applied.
    #[error("{end}: the database is not migrated (run credence migrate on it first)")]
    Unmigrated {
        /// Which end.
        end: End,
    },
    /// The migrations applied are not this binary's.
    #[error("{end}: the database's schema is {detail}")]
    SchemaVersion {
        /// Which end.
        end: End,
        /// Older or newer, and how.
        detail: String,
    },
    /// Both URLs name one database.
    #[error("--from and --to name the same database")]
    SameDatabase,
    /// The target holds data and `--force` was not given.
    #[error(
        "--to: the database is not empty (the table {table} holds rows); copy into a new, \
         migrated database, or pass --force to replace its contents"
    )]
    NotEmpty {
        /// The first table found holding rows.
        table: String,
    },
    /// The two schemas differ in a way the copy cannot bridge.
    #[error("the two databases' schemas differ: {0}")]
    Schema(String),
    /// The loaded copy does not match the source; it was rolled back.
    #[error("the copy does not match its source, nothing was written: {0}")]
    Mismatch(String),
    /// A statement failed; the target's transaction was rolled back.
    #[error("the copy failed, nothing was written: {message} (in: {statement})")]
    Statement {
        /// The database's message, on one line.
        message: String,
        /// The beginning of the statement.
        statement: String,
    },
}

impl CopyError {
    /// Whether the command was refused for its input, before anything was written (the
    /// command exits with 2).
    #[must_use]
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Self::Url { .. }
                | Self::MissingFile { .. }
                | Self::Connect { .. }
                | Self::Unmigrated { .. }
                | Self::SchemaVersion { .. }
                | Self::SameDatabase
                | Self::NotEmpty { .. }
        )
    }

    pub(crate) fn statement(sql: &str, error: &diesel::result::Error) -> Self {
        let statement: String = sql.chars().take(80).collect();
        Self::Statement {
            message: one_line(&error.to_string()),
            statement: one_line(&statement),
        }
    }
}

/// Copies every row of the database `from` names into the one `to` names (both as `credence
/// serve` accepts them), reporting progress to `progress`. Blocking: run it on a thread of
/// its own.
///
/// # Errors
/// [`CopyError`]: a refusal (see [`CopyError::is_refusal`]) or a failure, after which the
/// target holds what it held before.
pub fn copy_database(
    from: &str,
    to: &str,
    options: &CopyOptions,
    progress: &mut dyn FnMut(&CopyProgress),
) -> Result<CopyReport, CopyError> {
    let mut source = Link::open(End::From, from)?;
    let mut target = Link::open(End::To, to)?;
    if source.same_database(&mut target)? {
        return Err(CopyError::SameDatabase);
    }
    begin_snapshot(&mut source)?;
    let outcome = load(&mut source, &mut target, options, progress);
    // The source was only read: ending its transaction either way changes nothing.
    let _ = source.run("ROLLBACK");
    if outcome.is_err() {
        let _ = target.run("ROLLBACK");
    }
    let report = outcome?;
    progress(&CopyProgress::Step("statistics"));
    // Fresh planner statistics for the new data; the rows are committed already, so a
    // failure here is no reason to fail the copy.
    let _ = target.run("ANALYZE");
    Ok(report)
}

/// Opens the source's snapshot: everything read from here on is one state of it.
fn begin_snapshot(source: &mut Link) -> Result<(), CopyError> {
    match source.backend {
        crate::Backend::Sqlite => {
            // A read transaction's snapshot starts at its first read.
            source.run("BEGIN DEFERRED; SELECT COUNT(*) FROM sqlite_master;")
        }
        crate::Backend::Postgres => source.run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"),
    }
}

/// Everything inside the target's transaction, up to its commit.
fn load(
    source: &mut Link,
    target: &mut Link,
    options: &CopyOptions,
    progress: &mut dyn FnMut(&CopyProgress),
) -> Result<CopyReport, CopyError> {
    target::begin(target)?;
    source.check_schema()?;
    target.check_schema()?;
    let plan = catalog::plan(source, target)?;
    if !options.force
        && let Some(table) = target::first_nonempty(target, &plan)?
    {
        return Err(CopyError::NotEmpty { table });
    }
    let triggers = target::make_room(target, &plan)?;
    let mut tables = Vec::new();
    for table in &plan.tables {
        let rows = copy_table(source, target, table, options, progress)?;
        tables.push((table.name.clone(), rows));
    }
    progress(&CopyProgress::Step("references"));
    for table in plan.tables.iter().filter(|t| !t.deferred.is_empty()) {
        let select = sql::select_deferred(source.backend, table);
        let update = sql::update_deferred(target.backend, table);
        stream_batches(
            source,
            target,
            &select,
            &update,
            fetch_size(table, options),
            options,
            &mut |_| {},
        )?;
    }
    progress(&CopyProgress::Step("sequences"));
    target::sequences(source, target, &plan)?;
    target::settle_feed(target)?;
    target::restore(target, &triggers)?;
    progress(&CopyProgress::Step("checks"));
    let (accounts, entries) = verify(source, target, &plan)?;
    progress(&CopyProgress::Step("commit"));
    target.run("COMMIT")?;
    Ok(CopyReport {
        tables,
        accounts,
        entries,
    })
}

/// Rows fetched at a time from PostgreSQL: fewer for tables holding bytes (blobs).
fn fetch_size(table: &catalog::Table, options: &CopyOptions) -> usize {
    if table.columns.iter().any(|c| c.kind == catalog::Kind::Bytes) {
        16
    } else {
        options.batch_rows
    }
}

/// Copies one table's rows, in batches.
fn copy_table(
    source: &mut Link,
    target: &mut Link,
    table: &catalog::Table,
    options: &CopyOptions,
    progress: &mut dyn FnMut(&CopyProgress),
) -> Result<u64, CopyError> {
    let started = Instant::now();
    let total = u64::try_from(source.number(&sql::count(&table.name))?).unwrap_or(0);
    let select = sql::select_rows(source.backend, table);
    let insert = sql::insert(target.backend, table);
    let mut next_report = options.report_every.max(1);
    let copied = stream_batches(
        source,
        target,
        &select,
        &insert,
        fetch_size(table, options),
        options,
        &mut |copied| {
            if copied >= next_report && copied < total {
                next_report = copied + options.report_every.max(1);
                progress(&CopyProgress::Rows {
                    table: table.name.clone(),
                    copied,
                    total,
                    done: false,
                    elapsed: started.elapsed(),
                });
            }
        },
    )?;
    progress(&CopyProgress::Rows {
        table: table.name.clone(),
        copied,
        total,
        done: true,
        elapsed: started.elapsed(),
    });
    Ok(copied)
}

/// Streams the rows of `select` from the source into `write` on the target, one batch (a
/// JSON array of the rows) per statement; `written` hears the rows written so far after each.
fn stream_batches(
    source: &mut Link,
    target: &mut Link,
    select: &str,
    write: &str,
    fetch: usize,
    options: &CopyOptions,
    written: &mut dyn FnMut(u64),
) -> Result<u64, CopyError> {
    let mut batch = String::new();
    let mut in_batch = 0_usize;
    let mut copied = 0_u64;
    let mut flush = |batch: &mut String, in_batch: &mut usize, copied: &mut u64| {
        if *in_batch == 0 {
            return Ok(());
        }
        batch.push(']');
        target.run_with(write, batch)?;
        *copied += u64::try_from(*in_batch).unwrap_or(0);
        written(*copied);
        batch.clear();
        *in_batch = 0;
        Ok::<(), CopyError>(())
    };
    source.stream(select, fetch, &mut |row| {
        batch.push(if in_batch == 0 { '[' } else { ',' });
        batch.push_str(&row);
        in_batch += 1;
        if in_batch >= options.batch_rows.max(1) || batch.len() >= options.batch_bytes {
            flush(&mut batch, &mut in_batch, &mut copied)?;
        }
        Ok(())
    })?;
    flush(&mut batch, &mut in_batch, &mut copied)?;
    Ok(copied)
}

/// The checks before the commit: every copied table holds as many rows as the source's,
/// SQLite's derived tables are complete, and every account equals its ledger.
fn verify(
    source: &mut Link,
    target: &mut Link,
    plan: &catalog::Plan,
) -> Result<(i64, i64), CopyError> {
    for table in &plan.tables {
        let theirs = source.number(&sql::count(&table.name))?;
        let ours = target.number(&sql::count(&table.name))?;
        if theirs != ours {
            return Err(CopyError::Mismatch(format!(
                "the table {} holds {theirs} rows on --from and {ours} on --to",
                table.name
            )));
        }
    }
    if plan.derived.iter().any(|t| t == "customer_text") {
        // The live customers' names and references, indexed by the customers' triggers.
        let live =
            target.number("SELECT COUNT(*) AS n FROM customers WHERE archived_at IS NULL")?;
        let indexed = target.number("SELECT COUNT(*) AS n FROM customer_text")?;
        if live != indexed {
            return Err(CopyError::Mismatch(format!(
                "customer_text indexes {indexed} customers, {live} are live"
            )));
        }
    }
    crate::backup::check_ledger(&mut target.conn).map_err(CopyError::Mismatch)
}
