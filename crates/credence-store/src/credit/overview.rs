//! Accounts across customers (`/accounts`): the accounts of live customers, narrowed by how
//! much of their limit they use, in the order asked, a page at a time.
//!
//! Every comparison is in integers: over the limit is `balance + credit_limit - reserved < 0`,
//! and above a utilization of `p` ten-thousandths is `(reserved - balance) * 10000 > p *
//! credit_limit`, which also puts an account that uses anything without a limit above every
//! threshold. Sorting by available credit walks the `(balance + credit_limit - reserved,
//! customer_id)` index, which the migration creates with the expression written here.

use credence_domain::credit::{AccountLine, AccountQuery, AccountSort, CreditAccount};
use credence_domain::ids::CustomerId;
use credence_domain::listing::{Order, Page};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Double, Nullable};

use crate::credit::rows::parse_currency;
use crate::customers::subtree_of;
use crate::database::AnyConnection;
use crate::error::Failure;
use crate::paging;
use crate::schema::{accounts, customers};

type Db = <AnyConnection as Connection>::Backend;

/// The available credit, as the index spells it.
const AVAILABLE: &str = "(accounts.balance + accounts.credit_limit - accounts.reserved)";

/// The share of the limit in use; `NULL` without a limit (sorted after every other).
const UTILIZATION: &str = "(CAST(accounts.reserved - accounts.balance AS DOUBLE PRECISION) \
     / NULLIF(accounts.credit_limit, 0))";

fn filtered(query: &AccountQuery) -> accounts_with_customers::BoxedQuery {
    let mut rows = accounts::table
        .inner_join(customers::table.on(customers::id.eq(accounts::customer_id)))
        .filter(customers::archived_at.is_null())
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
        rows = rows.filter(
            sql::<Bool>("(accounts.reserved - accounts.balance) * 10000 > ")
                .bind::<BigInt, _>(share.ten_thousandths())
                .sql(" * accounts.credit_limit"),
        );
    }
    if let Some(root) = query.within {
        rows = rows.filter(subtree_of("accounts.customer_id", root.get()));
    }
    rows
}

/// The boxed query type of accounts joined to their customers.
mod accounts_with_customers {
    use super::{Db, accounts, customers};

    pub(super) type BoxedQuery = diesel::dsl::IntoBoxed<
        'static,
        diesel::dsl::Filter<
            diesel::dsl::InnerJoinOn<
                accounts::table,
                customers::table,
                diesel::dsl::Eq<customers::id, accounts::customer_id>,
            >,
            diesel::dsl::IsNull<customers::archived_at>,
        >,
        Db,
    >;
}

type Row = (i64, String, i64, i64, i64, String);

/// One page of the accounts that pass `query`, with how many pass.
pub(super) fn overview(
    conn: &mut AnyConnection,
    query: &AccountQuery,
) -> Result<Page<AccountLine>, Failure> {
    let total: i64 = filtered(query).count().get_result(conn)?;
    if total == 0 {
        return Ok(paging::page(Vec::new(), 0));
    }
    let (limit, offset) = paging::bounds(query.page);
    let rows = filtered(query);
    let rows = match (query.sort, query.order) {
        (AccountSort::CustomerId, Order::Asc) => rows.order(accounts::customer_id.asc()),
        (AccountSort::CustomerId, Order::Desc) => rows.order(accounts::customer_id.desc()),
        (AccountSort::Available, Order::Asc) => rows.order(sql::<BigInt>(AVAILABLE).asc()),
        (AccountSort::Available, Order::Desc) => rows.order(sql::<BigInt>(AVAILABLE).desc()),
        (AccountSort::Balance, Order::Asc) => rows.order(accounts::balance.asc()),
        (AccountSort::Balance, Order::Desc) => rows.order(accounts::balance.desc()),
        (AccountSort::CreditLimit, Order::Asc) => rows.order(accounts::credit_limit.asc()),
        (AccountSort::CreditLimit, Order::Desc) => rows.order(accounts::credit_limit.desc()),
        (AccountSort::Reserved, Order::Asc) => rows.order(accounts::reserved.asc()),
        (AccountSort::Reserved, Order::Desc) => rows.order(accounts::reserved.desc()),
        (AccountSort::Utilization, order) => {
            let unlimited = sql::<Bool>("(accounts.credit_limit = 0)");
            let share = sql::<Nullable<Double>>(UTILIZATION);
            let rows = rows.order(unlimited.asc());
            match order {
                Order::Asc => rows.then_order_by(share.asc()),
                Order::Desc => rows.then_order_by(share.desc()),
            }
        }
    };
    // Ties go by customer, in the sort's direction, so pages never overlap.
    let rows = match query.order {
        Order::Asc => rows.then_order_by(accounts::customer_id.asc()),
        Order::Desc => rows.then_order_by(accounts::customer_id.desc()),
    };
    let rows: Vec<Row> = rows
        .select((
            accounts::customer_id,
            accounts::currency,
            accounts::balance,
            accounts::credit_limit,
            accounts::reserved,
            customers::reference,
        ))
        .limit(limit)
        .offset(offset)
        .load(conn)?;
    let lines = rows
        .into_iter()
        .map(|(id, currency, balance, limit, reserved, reference)| {
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
