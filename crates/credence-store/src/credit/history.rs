//! Reading an account's credit-limit history: a page of rows, newest first, with the users
//! who set and approved each limit loaded in one query.

use credence_domain::credit::{LimitChange, Money};
use credence_domain::values::CurrencyCode;
use diesel::prelude::*;

use crate::customers::users_by_id;
use crate::database::AnyConnection;
use crate::error::Failure;
use crate::schema::credit_limit_history;

#[derive(Queryable, Selectable)]
#[diesel(table_name = credit_limit_history)]
struct HistoryRow {
    old_limit: Option<i64>,
    new_limit: i64,
    user_id: Option<i64>,
    approved_by: Option<i64>,
    reason: Option<String>,
    at: chrono::NaiveDateTime,
}

/// One page, `(limit, offset)`, of the account's limit changes, newest first.
pub(super) fn changes(
    conn: &mut AnyConnection,
    account: i64,
    (limit, offset): (i64, i64),
    currency: CurrencyCode,
) -> Result<Vec<LimitChange>, Failure> {
    let rows: Vec<HistoryRow> = credit_limit_history::table
        .filter(credit_limit_history::account_id.eq(account))
        .order(credit_limit_history::id.desc())
        .limit(limit)
        .offset(offset)
        .select(HistoryRow::as_select())
        .load(conn)?;
    let mut wanted: Vec<i64> = rows
        .iter()
        .flat_map(|row| [row.user_id, row.approved_by])
        .flatten()
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    let people = users_by_id(conn, wanted)?;
    // A user deleted since shows as no one: the history keeps the change, not the person.
    let person = |id: Option<i64>| id.and_then(|id| people.get(&id).cloned());
    let money = |minor: i64| Money::from_minor(minor, currency);
    Ok(rows
        .into_iter()
        .map(|row| LimitChange {
            previous: row.old_limit.map(money),
            limit: money(row.new_limit),
            changed_by: person(row.user_id),
            approved_by: person(row.approved_by),
            reason: row.reason,
            at: row.at.and_utc(),
        })
        .collect())
}
