//! Reading an account's credit-limit history: a page of rows, newest first, with the users
//! who set and approved each limit loaded in one query.

use credence_domain::credit::{CreditAccount, LimitChange, Money};
use credence_domain::ids::CustomerId;
use credence_domain::values::CurrencyCode;
use diesel::prelude::*;

use crate::credit::account_exists;
use crate::credit::rows::currency_of;
use crate::credit::statement::total;
use crate::customers::users_by_id;
use crate::database::AnyConnection;
use crate::error::Failure;
use crate::schema::{credit_limit_history, ledger_entries};

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

/// The account as it stood at `at`: the sums of the ledger's deltas written up to then (the
/// ledger replayed, whatever order its rows were committed in) and the last limit set up to
/// then; `None` before its first limit, or without an account.
pub(super) fn account_as_of(
    conn: &mut AnyConnection,
    account: i64,
    at: chrono::NaiveDateTime,
) -> Result<Option<CreditAccount>, Failure> {
    if !account_exists(conn, account)? {
        return Ok(None);
    }
    let limit: Option<i64> = credit_limit_history::table
        .filter(credit_limit_history::account_id.eq(account))
        .filter(credit_limit_history::at.le(at))
        .order(credit_limit_history::id.desc())
        .select(credit_limit_history::new_limit)
        .first(conn)
        .optional()?;
    let Some(limit) = limit else {
        return Ok(None);
    };
    // The ledger's amounts are bounded so that their sum fits.
    let (balance, reserved): (Option<i64>, Option<i64>) = ledger_entries::table
        .filter(ledger_entries::account_id.eq(account))
        .filter(ledger_entries::at.le(at))
        .select((total("balance_delta"), total("reserved_delta")))
        .first(conn)?;
    Ok(Some(CreditAccount::from_minor(
        CustomerId(account),
        currency_of(conn, account)?,
        balance.unwrap_or(0),
        limit,
        reserved.unwrap_or(0),
    )))
}
