//! A customer's update as a statement diesel prepares once per connection.
//!
//! Diesel prepares every `UPDATE` anew, since a changeset may skip absent values; this one
//! never does (absent values are written as `NULL`), so its SQL is the same for every
//! customer and a connection can keep it prepared: on PostgreSQL a named statement instead
//! of a parse and a plan of some fifty columns for every update, on SQLite no parse.

use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{AsChangeset, AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::BigInt;

use super::{CustomerFields, CustomerRow};

/// `UPDATE customers SET <fields>, revision = revision + 1 WHERE id = .. AND archived_at IS
/// NULL AND revision = .. RETURNING <the row>`: the row written, or none when the customer
/// is archived, unknown or no longer at revision `read`.
pub(crate) struct UpdateCustomer<'a, DB: Backend>
where
    CustomerRow: Selectable<DB>,
{
    changeset: <&'a CustomerFields<'a> as AsChangeset>::Changeset,
    returning: <CustomerRow as Selectable<DB>>::SelectExpression,
    id: i64,
    read: i64,
}

impl<'a, DB: Backend> UpdateCustomer<'a, DB>
where
    CustomerRow: Selectable<DB>,
{
    pub(crate) fn new(fields: &'a CustomerFields<'a>, id: i64, read: i64) -> Self {
        Self {
            changeset: fields.as_changeset(),
            returning: <CustomerRow as Selectable<DB>>::construct_selection(),
            id,
            read,
        }
    }
}

/// The statement-cache key of [`UpdateCustomer`].
pub(crate) struct UpdateCustomerKey;

impl<DB: Backend> QueryId for UpdateCustomer<'_, DB>
where
    CustomerRow: Selectable<DB>,
{
    // Its SQL text is fixed: prepared once, found again by this type without rendering
    // the text of fifty columns on every run (see `crate::database::fixed`).
    type QueryId = UpdateCustomerKey;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<DB: Backend> Query for UpdateCustomer<'_, DB>
where
    CustomerRow: Selectable<DB>,
{
    type SqlType =
        <<CustomerRow as Selectable<DB>>::SelectExpression as diesel::Expression>::SqlType;
}

impl<DB: Backend, Conn> RunQueryDsl<Conn> for UpdateCustomer<'_, DB> where
    CustomerRow: Selectable<DB>
{
}

impl<'a, DB> QueryFragment<DB> for UpdateCustomer<'a, DB>
where
    DB: Backend + diesel::sql_types::HasSqlType<BigInt>,
    CustomerRow: Selectable<DB>,
    <&'a CustomerFields<'a> as AsChangeset>::Changeset: QueryFragment<DB>,
    <CustomerRow as Selectable<DB>>::SelectExpression: QueryFragment<DB>,
    i64: diesel::serialize::ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE customers SET ");
        self.changeset.walk_ast(out.reborrow())?;
        out.push_sql(", revision = revision + 1 WHERE id = ");
        out.push_bind_param::<BigInt, _>(&self.id)?;
        out.push_sql(" AND archived_at IS NULL AND revision = ");
        out.push_bind_param::<BigInt, _>(&self.read)?;
        out.push_sql(" RETURNING ");
        self.returning.walk_ast(out.reborrow())?;
        Ok(())
    }
}
