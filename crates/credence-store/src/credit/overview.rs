//! Accounts across customers (`/accounts`): the accounts of live customers, narrowed by how
//! much of their limit they use, in the order asked, a page at a time.
//!
//! Every decision is in integers: over the limit is `balance + credit_limit - reserved < 0`,
//! and above a utilization of `p` ten-thousandths is `(reserved - balance) * 10000 > p *
//! credit_limit`, which also puts an account that uses anything without a limit above every
//! threshold.
//!
//! At a million accounts the work is the exact total, so it never joins the customers: the
//! account carries `live` (cleared when its customer is archived), and each filter is a range
//! of an index that leads with it. The utilization index holds the share as a floating-point
//! number, which can only narrow the search: an account whose share lies clearly above the
//! threshold is counted from the index alone, and the few within a rounding error of it are
//! decided by the integer test (decision 0043 says why this is exact).

use std::collections::HashMap;

use credence_domain::credit::{AccountLine, AccountQuery, AccountSort, CreditAccount};
use credence_domain::ids::CustomerId;
use credence_domain::listing::{Order, Page};
use diesel::connection::SimpleConnection as _;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Double};

use crate::credit::rows::parse_currency;
use crate::customers::{MANY_MATCHES, subtree_of};
use crate::database::{AnyConnection, Db};
use crate::error::Failure;
use crate::paging;
use crate::schema::{accounts, customers};

type Filtered = accounts::BoxedQuery<'static, Db>;

/// The available credit, as the index `accounts_live_available` spells it.
const AVAILABLE: &str = "(accounts.balance + accounts.credit_limit - accounts.reserved)";

/// The share of the limit in use as a number that sorts, as the index
/// `accounts_live_utilization` spells it: without a limit, any use is above every share and a
/// balance beyond the reservations below every share.
const SHARE: &str = "(CASE WHEN accounts.credit_limit > 0 \
     THEN CAST(accounts.reserved - accounts.balance AS DOUBLE PRECISION) / accounts.credit_limit \
     WHEN accounts.reserved > accounts.balance THEN CAST(1e308 AS DOUBLE PRECISION) \
     WHEN accounts.reserved < accounts.balance THEN CAST(-1e308 AS DOUBLE PRECISION) \
     ELSE CAST(0 AS DOUBLE PRECISION) END)";

/// How far a share computed in floating point may lie from the exact one, relative: far more
/// than the two roundings (of the share and of the threshold) it has to cover.
const ROUNDING: f64 = 1e-12;

/// Which accounts above a utilization threshold a query keeps.
#[derive(Clone, Copy)]
enum Band {
    /// Every account above it: the index narrows, the integer test decides.
    All,
    /// Every account above it, by the integer test alone, so the database walks the sort's
    /// index rather than the share's (for a page among many matches).
    Tested,
    /// Those whose share is clearly above it: the index alone decides.
    Clear,
    /// Those within a rounding error of it: the integer test decides.
    Edge,
}

/// The accounts of live customers that pass `query`'s filters, with the utilization
/// threshold's accounts limited to `band`.
fn filtered(query: &AccountQuery, band: Band) -> Filtered {
    let mut rows = accounts::table
        .filter(accounts::live.eq(true))
        .into_boxed::<Db>();
    if let Some(over) = query.over_limit {
        let available = sql::<BigInt>(AVAILABLE);
        rows = if over {
            rows.filter(available.lt(0_i64))
        } else {
            rows.filter(available.ge(0_i64))
        };
    }
    if let Some(share) = query.utilization_above {
        let exact = share.ten_thousandths();
        #[allow(
            clippy::cast_precision_loss,
            reason = "narrowed only; decided in integers"
        )]
        let threshold = exact as f64 / 10_000.0;
        let (low, high) = (threshold * (1.0 - ROUNDING), threshold * (1.0 + ROUNDING));
        let integer_test = || {
            sql::<Bool>("(accounts.reserved - accounts.balance) * 10000 > ")
                .bind::<BigInt, _>(exact)
                .sql(" * accounts.credit_limit")
        };
        rows = match band {
            Band::All => rows
                .filter(sql::<Double>(SHARE).gt(low))
                .filter(integer_test()),
            Band::Tested => rows.filter(integer_test()),
            Band::Clear => rows.filter(sql::<Double>(SHARE).gt(high)),
            Band::Edge => rows
                .filter(sql::<Double>(SHARE).gt(low))
                .filter(sql::<Double>(SHARE).le(high))
                .filter(integer_test()),
        };
    }
    if let Some(root) = query.within {
        rows = rows.filter(subtree_of("accounts.customer_id", root.get()));
    }
    rows
}

/// How many accounts pass `query`, counted from the filter's index.
///
/// For a filter that a third or half of a million accounts pass, PostgreSQL's planner
/// estimates a parallel scan of the whole table cheaper than walking the filter's index,
/// and measured it is about twice as slow: the index holds every value the filter and the
/// count need, so it is read without the table. The counts are therefore made with
/// sequential scans turned off for this transaction only (`SET LOCAL`), then the setting
/// goes back to the server's own before the page is read.
fn total(conn: &mut AnyConnection, query: &AccountQuery) -> Result<i64, Failure> {
    let postgres = matches!(conn, AnyConnection::Postgresql(_));
    if postgres {
        conn.batch_execute("SET LOCAL enable_seqscan = off")?;
    }
    let total = count(conn, query);
    if postgres {
        conn.batch_execute("SET LOCAL enable_seqscan TO DEFAULT")?;
    }
    total
}

fn count(conn: &mut AnyConnection, query: &AccountQuery) -> Result<i64, Failure> {
    let unfiltered =
        query.over_limit.is_none() && query.utilization_above.is_none() && query.within.is_none();
    if unfiltered {
        // A count of the whole table is the size of its narrowest index, which SQLite reads
        // without looking at a row; the archived customers' accounts are a range of the index.
        let all: i64 = accounts::table.count().get_result(conn)?;
        let archived: i64 = accounts::table
            .filter(accounts::live.eq(false))
            .count()
            .get_result(conn)?;
        return Ok(all - archived);
    }
    if query.utilization_above.is_none() {
        return Ok(filtered(query, Band::All).count().get_result(conn)?);
    }
    let clear: i64 = filtered(query, Band::Clear).count().get_result(conn)?;
    let edge: i64 = filtered(query, Band::Edge).count().get_result(conn)?;
    Ok(clear + edge)
}

fn sorted(rows: Filtered, sort: AccountSort, order: Order) -> Filtered {
    let rows = match (sort, order) {
        (AccountSort::CustomerId, _) => rows,
        (AccountSort::Available, Order::Asc) => rows.order(sql::<BigInt>(AVAILABLE).asc()),
        (AccountSort::Available, Order::Desc) => rows.order(sql::<BigInt>(AVAILABLE).desc()),
        (AccountSort::Utilization, Order::Asc) => rows.order(sql::<Double>(SHARE).asc()),
        (AccountSort::Utilization, Order::Desc) => rows.order(sql::<Double>(SHARE).desc()),
        (AccountSort::Balance, Order::Asc) => rows.order(accounts::balance.asc()),
        (AccountSort::Balance, Order::Desc) => rows.order(accounts::balance.desc()),
        (AccountSort::CreditLimit, Order::Asc) => rows.order(accounts::credit_limit.asc()),
        (AccountSort::CreditLimit, Order::Desc) => rows.order(accounts::credit_limit.desc()),
        (AccountSort::Reserved, Order::Asc) => rows.order(accounts::reserved.asc()),
        (AccountSort::Reserved, Order::Desc) => rows.order(accounts::reserved.desc()),
    };
    // Ties go by customer, in the sort's direction, so pages never overlap.
    match order {
        Order::Asc => rows.then_order_by(accounts::customer_id.asc()),
        Order::Desc => rows.then_order_by(accounts::customer_id.desc()),
    }
}

type Row = (i64, String, i64, i64, i64);

/// One page of the accounts that pass `query`, with how many pass.
pub(super) fn overview(
    conn: &mut AnyConnection,
    query: &AccountQuery,
) -> Result<Page<AccountLine>, Failure> {
    let total = total(conn, query)?;
    if total == 0 {
        return Ok(paging::page(Vec::new(), 0));
    }
    let (limit, offset) = paging::bounds(query.page);
    let band = if total >= MANY_MATCHES && query.sort != AccountSort::Utilization {
        Band::Tested
    } else {
        Band::All
    };
    let rows: Vec<Row> = sorted(filtered(query, band), query.sort, query.order)
        .select((
            accounts::customer_id,
            accounts::currency,
            accounts::balance,
            accounts::credit_limit,
            accounts::reserved,
        ))
        .limit(limit)
        .offset(offset)
        .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|row| row.0).collect();
    let mut references: HashMap<i64, String> = customers::table
        .filter(customers::id.eq_any(&ids))
        .select((customers::id, customers::reference))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    let lines = rows
        .into_iter()
        .map(|(id, currency, balance, limit, reserved)| {
            let reference = references
                .remove(&id)
                .ok_or_else(|| Failure::corrupt("account", "its customer is missing"))?;
            Ok(AccountLine {
                account: CreditAccount::from_minor(
                    CustomerId(id),
                    parse_currency(&currency)?,
                    balance,
                    limit,
                    reserved,
                ),
                reference,
            })
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    Ok(paging::page(lines, total))
}
