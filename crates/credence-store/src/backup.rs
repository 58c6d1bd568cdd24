//! Online backups of a SQLite database, and the ledger check a backup (or any copy) must pass.
//!
//! `VACUUM INTO` writes the database as one read transaction sees it, so a backup taken while
//! the server writes is consistent: every transaction is in it whole or not at all. The copy
//! is then opened on its own and must pass `PRAGMA integrity_check` and the ledger invariant
//! (every account's balance and reserved amount are its ledger's sums) before it is called a
//! backup. PostgreSQL has its own tools for this (`pg_dump`, continuous archiving), which
//! Credence does not imitate.

use std::path::{Path, PathBuf};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::database::{AnyConnection, Backend, Database};

/// Why a backup was not made.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The database is PostgreSQL: its own tools back it up.
    #[error(
        "backup copies a SQLite database; back up PostgreSQL with pg_dump, or with continuous \
         archiving for point-in-time recovery"
    )]
    Postgres,
    /// The file exists already: a backup never overwrites one.
    #[error("{0} exists already: a backup never overwrites a file")]
    Exists(PathBuf),
    /// The path cannot be written into an SQL string literal (not UTF-8).
    #[error("the path {0} is not valid UTF-8")]
    Path(PathBuf),
    /// The database could not write the copy.
    #[error("cannot write the backup: {0}")]
    Write(String),
    /// The copy was written but does not pass the checks: it is removed.
    #[error("the copy failed its check and was removed: {0}")]
    Check(String),
}

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// The file written.
    pub file: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// The accounts it holds, each checked against its ledger.
    pub accounts: i64,
    /// The ledger entries it holds.
    pub entries: i64,
}

#[derive(QueryableByName)]
struct Integrity {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The accounts whose balance or reserved amount is not their ledger's sums, at most one.
const LEDGER_MISMATCH: &str = "SELECT a.customer_id AS n FROM accounts a \
     LEFT JOIN (SELECT account_id, CAST(SUM(balance_delta) AS BIGINT) AS b, \
                CAST(SUM(reserved_delta) AS BIGINT) AS r \
                FROM ledger_entries GROUP BY account_id) l ON l.account_id = a.customer_id \
     WHERE a.balance <> COALESCE(l.b, 0) OR a.reserved <> COALESCE(l.r, 0) LIMIT 1";

/// Checks the ledger invariant on `conn`: every account's balance and reserved amount equal
/// the sums of its ledger entries. Answers how many accounts and entries it checked.
///
/// # Errors
/// The first account that differs, or a failed statement, as text.
pub(crate) fn check_ledger(conn: &mut AnyConnection) -> Result<(i64, i64), String> {
    let count = |conn: &mut AnyConnection, sql: &str| {
        diesel::sql_query(sql)
            .get_result::<Count>(conn)
            .map(|c| c.n)
            .map_err(|e| e.to_string())
    };
    let broken: Vec<Count> = diesel::sql_query(LEDGER_MISMATCH)
        .load(conn)
        .map_err(|e| e.to_string())?;
    if let Some(account) = broken.first() {
        return Err(format!(
            "the account of customer {} does not equal its ledger's sums",
            account.n
        ));
    }
    Ok((
        count(conn, "SELECT COUNT(*) AS n FROM accounts")?,
        count(conn, "SELECT COUNT(*) AS n FROM ledger_entries")?,
    ))
}

impl Database {
    /// Writes a consistent copy of this SQLite database to `file` while it stays in use,
    /// then checks the copy (integrity and the ledger invariant). Blocking.
    ///
    /// # Errors
    /// [`BackupError`]: PostgreSQL, an existing file, a failed write or a failed check.
    pub fn backup(&self, file: &Path) -> Result<BackupReport, BackupError> {
        if self.backend() == Backend::Postgres {
            return Err(BackupError::Postgres);
        }
        if file.exists() {
            return Err(BackupError::Exists(file.to_owned()));
        }
        let target = file
            .to_str()
            .ok_or_else(|| BackupError::Path(file.to_owned()))?;
        let mut conn = self
            .write_connection()
            .map_err(|failure| BackupError::Write(chain(&crate::StoreError::from(failure))))?;
        diesel::sql_query(format!("VACUUM INTO '{}'", target.replace('\'', "''")))
            .execute(&mut *conn)
            .map_err(|e| BackupError::Write(e.to_string()))?;
        drop(conn);
        match check_copy(target) {
            Ok((accounts, entries)) => Ok(BackupReport {
                file: file.to_owned(),
                bytes: std::fs::metadata(file).map_or(0, |m| m.len()),
                accounts,
                entries,
            }),
            Err(why) => {
                // A copy that fails its check is no backup: leave nothing to be mistaken for one.
                let _ = std::fs::remove_file(file);
                Err(BackupError::Check(why))
            }
        }
    }
}

/// An error and its causes, on one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Opens the copy on its own and checks it.
fn check_copy(file: &str) -> Result<(i64, i64), String> {
    let mut conn = AnyConnection::Sqlite(
        diesel::SqliteConnection::establish(file).map_err(|e| e.to_string())?,
    );
    let integrity: Vec<Integrity> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut conn)
        .map_err(|e| e.to_string())?;
    let verdict: Vec<&str> = integrity
        .iter()
        .map(|row| row.integrity_check.as_str())
        .collect();
    if verdict != ["ok"] {
        return Err(format!("integrity check: {}", verdict.join("; ")));
    }
    check_ledger(&mut conn)
}
