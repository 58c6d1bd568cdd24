//! Reading a statement from one snapshot of the ledger.
//!
//! The figures and the entries are read in one read-only transaction, which on PostgreSQL is
//! `REPEATABLE READ` (every statement of it sees the snapshot of the first) and on SQLite is a
//! WAL read transaction (which keeps the snapshot it started with): an entry committed while
//! the statement is being written is in neither its figures nor its entries, so the two always
//! agree. Entries go to the sink a page at a time, in the order they were written (their
//! time, then their id), so no more than a page is held.
//!
//! The sums run over the account's `(account_id, at)` index and ask the database for
//! `BIGINT`s on both backends (PostgreSQL's own `SUM` of a `BIGINT` is `NUMERIC`).

use chrono::NaiveDateTime;
use credence_domain::credit::{
    EntryKind, KindSum, Money, Period, Standing, StatementSink, StatementSummary,
};
use credence_domain::ids::CustomerId;
use credence_domain::values::CurrencyCode;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable};

use crate::credit::account_exists;
use crate::credit::rows::{EntryRow, currency_of};
use crate::customers::to_db_time;
use crate::database::AnyConnection;
use crate::error::Failure;
use crate::schema::ledger_entries;

/// How many entries go to the sink at a time.
const PAGE: i64 = 1_000;

/// `CAST(SUM(column) AS BIGINT)`: an exact 64-bit sum on both backends.
pub(super) fn total(column: &str) -> diesel::expression::SqlLiteral<Nullable<BigInt>> {
    sql::<Nullable<BigInt>>(&format!("CAST(SUM({column}) AS BIGINT)"))
}

/// Writes the statement of `account` for `period` into `sink`; `false` without an account.
pub(super) fn statement(
    conn: &mut AnyConnection,
    account: i64,
    period: Period,
    sink: &mut dyn StatementSink,
) -> Result<bool, Failure> {
    if let AnyConnection::Postgresql(_) = conn {
        diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(conn)?;
    }
    if !account_exists(conn, account)? {
        return Ok(false);
    }
    let currency = currency_of(conn, account)?;
    let (from, to) = (to_db_time(period.from()), to_db_time(period.to()));
    let opening = standing_before(conn, account, from, currency)?;
    let closing = standing_before(conn, account, to, currency)?;
    let moved = sums_between(conn, account, (from, to), currency)?;
    let summary = StatementSummary::new(CustomerId(account), period, opening, &moved, closing)
        .map_err(|unbalanced| Failure::Broken(unbalanced.to_string()))?;
    if !sink.summary(summary) {
        return Ok(true);
    }
    // Keyset pages in the order of the `(account_id, at)` index (SQLite's holds the id too),
    // so each page starts where the last ended instead of sorting the period again.
    let (mut after_at, mut after_id) = (from, i64::MIN);
    loop {
        let rows: Vec<EntryRow> = ledger_entries::table
            .filter(ledger_entries::account_id.eq(account))
            .filter(ledger_entries::at.ge(after_at))
            .filter(
                ledger_entries::at
                    .gt(after_at)
                    .or(ledger_entries::id.gt(after_id)),
            )
            .filter(ledger_entries::at.lt(to))
            .order((ledger_entries::at.asc(), ledger_entries::id.asc()))
            .limit(PAGE)
            .select(EntryRow::as_select())
            .load(conn)?;
        let Some(last) = rows.last() else {
            break;
        };
        (after_at, after_id) = (last.at, last.id);
        let full = i64::try_from(rows.len()).is_ok_and(|n| n == PAGE);
        let entries = rows
            .into_iter()
            .map(|row| row.into_domain(currency))
            .collect::<Result<Vec<_>, _>>()?;
        if !sink.entries(entries) || !full {
            break;
        }
    }
    Ok(true)
}

/// The account replayed from every entry written before `before`.
fn standing_before(
    conn: &mut AnyConnection,
    account: i64,
    before: NaiveDateTime,
    currency: CurrencyCode,
) -> Result<Standing, Failure> {
    let (balance, reserved): (Option<i64>, Option<i64>) = ledger_entries::table
        .filter(ledger_entries::account_id.eq(account))
        .filter(ledger_entries::at.lt(before))
        .select((total("balance_delta"), total("reserved_delta")))
        .first(conn)?;
    Ok(Standing {
        balance: Money::from_minor(balance.unwrap_or(0), currency),
        reserved: Money::from_minor(reserved.unwrap_or(0), currency),
    })
}

/// The sums of the entries written from `from` up to (not including) `to`, by kind.
fn sums_between(
    conn: &mut AnyConnection,
    account: i64,
    (from, to): (NaiveDateTime, NaiveDateTime),
    currency: CurrencyCode,
) -> Result<Vec<KindSum>, Failure> {
    let rows: Vec<(String, Option<i64>, Option<i64>)> = ledger_entries::table
        .filter(ledger_entries::account_id.eq(account))
        .filter(ledger_entries::at.ge(from))
        .filter(ledger_entries::at.lt(to))
        .group_by(ledger_entries::kind)
        .select((
            ledger_entries::kind,
            total("balance_delta"),
            total("reserved_delta"),
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(kind, balance, reserved)| {
            Ok(KindSum {
                kind: EntryKind::parse(&kind)
                    .ok_or_else(|| Failure::corrupt("ledger entry kind", kind.as_str()))?,
                balance: Money::from_minor(balance.unwrap_or(0), currency),
                reserved: Money::from_minor(reserved.unwrap_or(0), currency),
            })
        })
        .collect()
}
