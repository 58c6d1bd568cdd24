//! Statements written by hand as query types of their own, for the hottest paths.
//!
//! Diesel keeps a statement prepared per connection only when it can tell its SQL is fixed:
//! never for `sql_query`, an `UPDATE` or an `IN (...)` list. These types have one fixed SQL
//! text each (the type is the cache key), with the bind parameters placed by diesel (`$1`,
//! `$2` on PostgreSQL, `?` on SQLite), so each connection prepares them once.

use chrono::NaiveDateTime;
use diesel::QueryResult;
use diesel::sql_types::{BigInt, Text, Timestamp};

/// Implements what diesel needs to run `$name` as a query returning `$sql_type`, with a
/// `walk_ast` body that pushes its SQL and binds (`$ast` is the `AstPass`).
macro_rules! fixed_statement {
    ($name:ident -> $sql_type:ty, |$this:ident, $ast:ident| $body:block) => {
        impl diesel::query_builder::Query for $name {
            type SqlType = $sql_type;
        }

        impl<Conn> diesel::RunQueryDsl<Conn> for $name {}

        impl<DB> diesel::query_builder::QueryFragment<DB> for $name
        where
            DB: diesel::backend::Backend
                + diesel::sql_types::HasSqlType<Timestamp>
                + diesel::sql_types::HasSqlType<BigInt>
                + diesel::sql_types::HasSqlType<Text>,
            NaiveDateTime: diesel::serialize::ToSql<Timestamp, DB>,
            i64: diesel::serialize::ToSql<BigInt, DB>,
            String: diesel::serialize::ToSql<Text, DB>,
        {
            fn walk_ast<'b>(
                &'b self,
                mut $ast: diesel::query_builder::AstPass<'_, 'b, DB>,
            ) -> QueryResult<()> {
                let $this = self;
                $body
            }
        }
    };
}

/// The columns of a live account read, up to the bind of `now` (lapsed reservations are those
/// open ones that expire at or before it).
const LIVE_ACCOUNT_SELECT: &str = "SELECT a.customer_id, a.currency, a.balance, a.credit_limit, a.reserved, \
     CAST(COALESCE((SELECT SUM(r.amount) FROM reservations r \
     WHERE r.account_id = a.customer_id AND r.status = 'open' AND r.expires_at <= ";

/// After the bind of `now`, up to the comparison that picks the customers.
const LIVE_ACCOUNT_FROM: &str = "), 0) AS BIGINT) AS lapsed \
     FROM accounts a JOIN customers c ON c.id = a.customer_id \
     WHERE c.archived_at IS NULL AND a.customer_id";

/// A live customer's account at `now`: the account row, and the sum of its open reservations
/// already lapsed (`lapsed`), if the customer is not archived. (Diesel's query builder has no
/// `SUM` of a `BIGINT` that stays a `BIGINT` on PostgreSQL, hence the SQL by hand.)
#[derive(Debug, Clone, Copy, diesel::query_builder::QueryId)]
pub(crate) struct LiveAccountAt {
    pub(crate) now: NaiveDateTime,
    pub(crate) customer: i64,
}

fixed_statement!(LiveAccountAt -> diesel::sql_types::Untyped, |this, out| {
    out.push_sql(LIVE_ACCOUNT_SELECT);
    out.push_bind_param::<Timestamp, _>(&this.now)?;
    out.push_sql(LIVE_ACCOUNT_FROM);
    out.push_sql(" = ");
    out.push_bind_param::<BigInt, _>(&this.customer)?;
    Ok(())
});

/// [`LiveAccountAt`] for several customers at once, on PostgreSQL (an array bind): one round
/// trip answers a batch of reads ([`crate::credit::group_read`]). Customers archived or unknown
/// are absent from the result.
#[derive(Debug, Clone, diesel::query_builder::QueryId)]
pub(crate) struct LiveAccountsAt {
    pub(crate) now: NaiveDateTime,
    pub(crate) customers: Vec<i64>,
}

impl diesel::query_builder::Query for LiveAccountsAt {
    type SqlType = diesel::sql_types::Untyped;
}

impl<Conn> diesel::RunQueryDsl<Conn> for LiveAccountsAt {}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for LiveAccountsAt {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        out.push_sql(LIVE_ACCOUNT_SELECT);
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(LIVE_ACCOUNT_FROM);
        out.push_sql(" = ANY(");
        out.push_bind_param::<diesel::sql_types::Array<BigInt>, _>(&self.customers)?;
        out.push_sql(")");
        Ok(())
    }
}

/// The admission's check and reservation in one statement: `cost` is added to `reserved` only
/// if the account's balance + credit limit − reserved still covers it (and `reserved` cannot
/// overflow); returns the row's balance, reserved, credit limit and whether it has alerts
/// after it, or no row.
#[derive(Debug, Clone, Copy, diesel::query_builder::QueryId)]
pub(crate) struct Reserve {
    account: i64,
    cost: i64,
    /// The largest `reserved` that `cost` can be added to without overflow.
    headroom: i64,
    now: NaiveDateTime,
}

impl Reserve {
    pub(crate) fn new(account: i64, cost: i64, now: NaiveDateTime) -> Self {
        Self {
            account,
            cost,
            headroom: i64::MAX.saturating_sub(cost),
            now,
        }
    }
}

fixed_statement!(Reserve -> (BigInt, BigInt, BigInt, diesel::sql_types::Bool), |this, out| {
    out.push_sql("UPDATE accounts SET reserved = reserved + ");
    out.push_bind_param::<BigInt, _>(&this.cost)?;
    out.push_sql(", updated_at = ");
    out.push_bind_param::<Timestamp, _>(&this.now)?;
    out.push_sql(" WHERE customer_id = ");
    out.push_bind_param::<BigInt, _>(&this.account)?;
    out.push_sql(" AND balance + credit_limit - reserved >= ");
    out.push_bind_param::<BigInt, _>(&this.cost)?;
    out.push_sql(" AND reserved <= ");
    out.push_bind_param::<BigInt, _>(&this.headroom)?;
    out.push_sql(" RETURNING balance, reserved, credit_limit, has_alerts");
    Ok(())
});

/// A movement of an account's balance and reserved amount, in the account's currency, if
/// neither sum leaves the range the bounds give (see `headroom`); returns the row's balance,
/// reserved, credit limit and whether it has alerts after it, or no row. Every payment,
/// charge, adjustment, capture, release and expiry runs it.
#[derive(Debug, Clone, diesel::query_builder::QueryId)]
pub(crate) struct MoveAccount {
    pub(crate) account: i64,
    pub(crate) currency: String,
    pub(crate) balance_delta: i64,
    pub(crate) reserved_delta: i64,
    /// The range `balance` must be in for `balance_delta` to be added.
    pub(crate) balance_bounds: (i64, i64),
    /// The range `reserved` must be in for `reserved_delta` to be added.
    pub(crate) reserved_bounds: (i64, i64),
    pub(crate) now: NaiveDateTime,
}

fixed_statement!(MoveAccount -> (BigInt, BigInt, BigInt, diesel::sql_types::Bool), |this, out| {
    out.push_sql("UPDATE accounts SET balance = balance + ");
    out.push_bind_param::<BigInt, _>(&this.balance_delta)?;
    out.push_sql(", reserved = reserved + ");
    out.push_bind_param::<BigInt, _>(&this.reserved_delta)?;
    out.push_sql(", updated_at = ");
    out.push_bind_param::<Timestamp, _>(&this.now)?;
    out.push_sql(" WHERE customer_id = ");
    out.push_bind_param::<BigInt, _>(&this.account)?;
    out.push_sql(" AND currency = ");
    out.push_bind_param::<Text, _>(&this.currency)?;
    out.push_sql(" AND balance BETWEEN ");
    out.push_bind_param::<BigInt, _>(&this.balance_bounds.0)?;
    out.push_sql(" AND ");
    out.push_bind_param::<BigInt, _>(&this.balance_bounds.1)?;
    out.push_sql(" AND reserved BETWEEN ");
    out.push_bind_param::<BigInt, _>(&this.reserved_bounds.0)?;
    out.push_sql(" AND ");
    out.push_bind_param::<BigInt, _>(&this.reserved_bounds.1)?;
    out.push_sql(" RETURNING balance, reserved, credit_limit, has_alerts");
    Ok(())
});

/// A new credit limit for an account; returns its row as [`crate::credit::AccountRow`] reads
/// it (customer id, currency, balance, credit limit, reserved), or no row.
#[derive(Debug, Clone, Copy, diesel::query_builder::QueryId)]
pub(crate) struct SetCreditLimit {
    pub(crate) account: i64,
    pub(crate) limit: i64,
    pub(crate) now: NaiveDateTime,
}

fixed_statement!(SetCreditLimit -> (BigInt, Text, BigInt, BigInt, BigInt), |this, out| {
    out.push_sql("UPDATE accounts SET credit_limit = ");
    out.push_bind_param::<BigInt, _>(&this.limit)?;
    out.push_sql(", updated_at = ");
    out.push_bind_param::<Timestamp, _>(&this.now)?;
    out.push_sql(" WHERE customer_id = ");
    out.push_bind_param::<BigInt, _>(&this.account)?;
    out.push_sql(" RETURNING customer_id, currency, balance, credit_limit, reserved");
    Ok(())
});

/// Locks an account and sets a new credit limit when the account is in the limit's currency
/// and has another limit, in one round trip (PostgreSQL): the row as locked, then its
/// balance, limit and reserved amount as written, or `NULL`s when nothing was set. The
/// locking `WITH` clause returns the row's newest version; the `UPDATE` joins it, so it
/// writes only a row the clause locked.
#[derive(Debug, Clone, diesel::query_builder::QueryId)]
pub(crate) struct LockAndSetLimit {
    pub(crate) account: i64,
    pub(crate) currency: &'static str,
    pub(crate) limit: i64,
    pub(crate) now: NaiveDateTime,
}

impl diesel::query_builder::Query for LockAndSetLimit {
    type SqlType = (
        (BigInt, Text, BigInt, BigInt, BigInt),
        (
            diesel::sql_types::Nullable<BigInt>,
            diesel::sql_types::Nullable<BigInt>,
            diesel::sql_types::Nullable<BigInt>,
        ),
    );
}

impl<Conn> diesel::RunQueryDsl<Conn> for LockAndSetLimit {}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for LockAndSetLimit {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        out.push_sql(
            "WITH old AS (SELECT customer_id, currency, balance, credit_limit, reserved \
             FROM accounts WHERE customer_id = ",
        );
        out.push_bind_param::<BigInt, _>(&self.account)?;
        out.push_sql(" FOR NO KEY UPDATE), new AS (UPDATE accounts a SET credit_limit = ");
        out.push_bind_param::<BigInt, _>(&self.limit)?;
        out.push_sql(", updated_at = ");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(" FROM old WHERE a.customer_id = old.customer_id AND old.currency = ");
        out.push_bind_param::<Text, _>(&self.currency)?;
        out.push_sql(" AND old.credit_limit <> ");
        out.push_bind_param::<BigInt, _>(&self.limit)?;
        out.push_sql(
            " RETURNING a.balance, a.credit_limit, a.reserved) \
             SELECT old.customer_id, old.currency, old.balance, old.credit_limit, old.reserved, \
             new.balance, new.credit_limit, new.reserved FROM old LEFT JOIN new ON true",
        );
        Ok(())
    }
}
