//! Statistics for tables a bulk import grows (PostgreSQL).
//!
//! A table that an import fills from empty has no statistics until autovacuum gets to it, a
//! minute or more later, and the planner guesses meanwhile: on a fresh database it took a
//! batch's read-ahead by reference for a scan of every live customer (its guess for
//! `archived_at IS NULL` is one row in two hundred), and the read-ahead came to take more of
//! the database's time than the lines' writes. So a unit of work, before it begins, has
//! the tables analyzed whose rows changed by more than they held when last analyzed (at
//! least 1,000): a few analyses per import, each sampling some thousands of rows, with the
//! estimates within a factor of two meanwhile. Autovacuum does the rest as usual.
//!
//! Only a help: one caller at a time refreshes and the others go on, it waits for no lock
//! (autovacuum may hold the table), and a failure is logged, never the caller's.

use std::sync::atomic::{AtomicBool, Ordering};

use diesel::prelude::*;
use diesel::sql_types::{Array, Text};

use super::{AnyConnection, Database};
use crate::error::Failure;

/// Whether a caller is refreshing the statistics of one database.
#[derive(Debug, Default)]
pub(crate) struct Refreshing(AtomicBool);

/// A table found stale.
#[derive(QueryableByName)]
struct Stale {
    #[diesel(sql_type = Text)]
    name: String,
}

impl Database {
    /// Analyzes those of `tables` (names in the current schema) whose rows changed by more
    /// than they held at their last analysis; does nothing on SQLite, which keeps no
    /// statistics (decision 0024), or while another caller does it.
    pub(crate) async fn refresh_statistics(&self, tables: &'static [&'static str]) {
        let Some(refreshing) = &self.inner.statistics else {
            return;
        };
        if refreshing.0.swap(true, Ordering::AcqRel) {
            return;
        }
        let refreshed = self.write(|conn| analyze_stale(conn, tables)).await;
        refreshing.0.store(false, Ordering::Release);
        if let Err(error) = refreshed {
            tracing::info!(error = ?error, "tables that grew were not analyzed");
        }
    }
}

fn analyze_stale(conn: &mut AnyConnection, tables: &[&str]) -> Result<(), Failure> {
    let AnyConnection::Postgresql(c) = conn else {
        return Ok(());
    };
    let stale: Vec<Stale> = diesel::sql_query(
        "SELECT s.relname::text AS name FROM pg_stat_user_tables s \
         JOIN pg_class c ON c.oid = s.relid \
         WHERE s.schemaname = current_schema() AND s.relname = ANY($1) \
         AND s.n_mod_since_analyze > GREATEST(1000, c.reltuples)",
    )
    .bind::<Array<Text>, _>(tables)
    .load(c)?;
    if stale.is_empty() {
        return Ok(());
    }
    diesel::sql_query("SET LOCAL lock_timeout = '50ms'").execute(c)?;
    // Only names the caller gave reach the statement.
    for table in tables
        .iter()
        .filter(|t| stale.iter().any(|s| s.name == **t))
    {
        diesel::sql_query(format!("ANALYZE {table}")).execute(c)?;
    }
    Ok(())
}
