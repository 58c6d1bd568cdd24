//! A customer's update as a statement diesel prepares once per connection.
//!
//! Diesel prepares every `UPDATE` anew, since a changeset may skip absent values; this one
//! never does (absent values are written as `NULL`), so its SQL is the same for every
//! customer and a connection can keep it prepared: on PostgreSQL a named statement instead
//! of a parse and a plan of some fifty columns for every update, on SQLite no parse.
//!
//! SQLite rewrites every index holding a column the statement sets, whether its value
//! changed or not: setting all fifty columns rewrote a dozen index entries per update, each
//! page touched also copied into the statement's journal, a fifth of an import's update. So
//! on SQLite the indexed columns are read first and set only when they change, in two groups
//! (the folded name, which updates often change, and the other keys, which they seldom do):
//! four statements, each with its SQL fixed and kept prepared. PostgreSQL compares the
//! values itself (an update that changes no indexed column is a heap-only tuple), so it sets
//! them all.

use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{AsChangeset, AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::BigInt;

use super::held_text::Words;
use super::{CustomerFields, CustomerRow, KeyFields, NameKey, PlainFields};
use crate::database::AnyConnection;
use crate::error::Failure;
use crate::schema::customers;

/// `UPDATE customers SET <fields>, revision = revision + 1 WHERE id = .. AND archived_at IS
/// NULL AND revision = .. RETURNING <the row>, <whether it has documents>`: the row written,
/// or none when the customer is archived, unknown or no longer at revision `read`. `NAME`
/// and `KEYS` say whether the folded name and the other indexed columns are set. The flag
/// spares most updates the read of their documents (a round trip on PostgreSQL).
struct UpdateCustomer<'a, DB: Backend, const NAME: bool, const KEYS: bool>
where
    CustomerRow: Selectable<DB>,
{
    keys: <&'a KeyFields<'a> as AsChangeset>::Changeset,
    name: <&'a NameKey as AsChangeset>::Changeset,
    plain: <&'a PlainFields<'a> as AsChangeset>::Changeset,
    returning: <CustomerRow as Selectable<DB>>::SelectExpression,
    id: i64,
    read: i64,
}

impl<'a, DB: Backend, const NAME: bool, const KEYS: bool> UpdateCustomer<'a, DB, NAME, KEYS>
where
    CustomerRow: Selectable<DB>,
{
    fn new(fields: &'a CustomerFields<'a>, id: i64, read: i64) -> Self {
        Self {
            keys: AsChangeset::as_changeset(&fields.keys),
            name: AsChangeset::as_changeset(&fields.name_key),
            plain: AsChangeset::as_changeset(&fields.plain),
            returning: <CustomerRow as Selectable<DB>>::construct_selection(),
            id,
            read,
        }
    }
}

/// The statement-cache key of an [`UpdateCustomer`]: one per set of columns.
struct UpdateCustomerKey<const NAME: bool, const KEYS: bool>;

impl<DB: Backend, const NAME: bool, const KEYS: bool> QueryId for UpdateCustomer<'_, DB, NAME, KEYS>
where
    CustomerRow: Selectable<DB>,
{
    // Its SQL text is fixed for each `NAME` and `KEYS`: prepared once, found again by this
    // type without rendering the text of fifty columns on every run (see
    // `crate::database::fixed`).
    type QueryId = UpdateCustomerKey<NAME, KEYS>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<DB: Backend, const NAME: bool, const KEYS: bool> Query for UpdateCustomer<'_, DB, NAME, KEYS>
where
    CustomerRow: Selectable<DB>,
{
    type SqlType = (
        <<CustomerRow as Selectable<DB>>::SelectExpression as diesel::Expression>::SqlType,
        diesel::sql_types::Bool,
    );
}

impl<DB: Backend, Conn, const NAME: bool, const KEYS: bool> RunQueryDsl<Conn>
    for UpdateCustomer<'_, DB, NAME, KEYS>
where
    CustomerRow: Selectable<DB>,
{
}

impl<'a, DB, const NAME: bool, const KEYS: bool> QueryFragment<DB>
    for UpdateCustomer<'a, DB, NAME, KEYS>
where
    DB: Backend + diesel::sql_types::HasSqlType<BigInt>,
    CustomerRow: Selectable<DB>,
    <&'a KeyFields<'a> as AsChangeset>::Changeset: QueryFragment<DB>,
    <&'a NameKey as AsChangeset>::Changeset: QueryFragment<DB>,
    <&'a PlainFields<'a> as AsChangeset>::Changeset: QueryFragment<DB>,
    <CustomerRow as Selectable<DB>>::SelectExpression: QueryFragment<DB>,
    i64: diesel::serialize::ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE customers SET ");
        self.plain.walk_ast(out.reborrow())?;
        if NAME {
            out.push_sql(", ");
            self.name.walk_ast(out.reborrow())?;
        }
        if KEYS {
            out.push_sql(", ");
            self.keys.walk_ast(out.reborrow())?;
        }
        out.push_sql(", revision = revision + 1 WHERE id = ");
        out.push_bind_param::<BigInt, _>(&self.id)?;
        out.push_sql(" AND archived_at IS NULL AND revision = ");
        out.push_bind_param::<BigInt, _>(&self.read)?;
        out.push_sql(" RETURNING ");
        self.returning.walk_ast(out.reborrow())?;
        out.push_sql(
            ", EXISTS (SELECT 1 FROM customer_documents d WHERE d.customer_id = customers.id)",
        );
        Ok(())
    }

    /// Always: its SQL never varies. Said without walking fifty columns (diesel asks on
    /// every run, before it looks the statement up).
    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}

/// A customer's indexed columns as stored, read before its update on SQLite to tell which
/// of them the update changes.
#[derive(Queryable, Selectable)]
#[diesel(table_name = customers)]
pub(super) struct StoredKeys {
    name_folded: String,
    reference: String,
    reference_folded: String,
    category_id: i64,
    parent_id: Option<i64>,
    segmentation_id: Option<i64>,
    is_active: bool,
    created_by: Option<i64>,
    currency: String,
    region_id: Option<i64>,
    archived_at: Option<chrono::NaiveDateTime>,
}

impl StoredKeys {
    /// Customer `id`'s, on SQLite; `None` on PostgreSQL (which needs none) or when no
    /// customer has the id.
    ///
    /// # Errors
    /// [`Failure`] from the database.
    pub(super) fn read(conn: &mut AnyConnection, id: i64) -> Result<Option<Self>, Failure> {
        match conn {
            AnyConnection::Postgresql(_) => Ok(None),
            AnyConnection::Sqlite(c) => Ok(customers::table
                .filter(customers::id.eq(id))
                .select(Self::as_select())
                .first(c)
                .optional()?),
        }
    }

    /// The words the substring index holds for the customer (see `held_text`).
    pub(super) fn words(&self) -> Words {
        self.archived_at
            .is_none()
            .then(|| (self.name_folded.clone(), self.reference_folded.clone()))
    }

    /// Whether `keys` holds these values. Every field of both is named, so an indexed
    /// column added to [`KeyFields`] does not compile until it is compared here.
    fn same_keys(&self, keys: &KeyFields<'_>) -> bool {
        let Self {
            name_folded: _,
            reference,
            reference_folded,
            category_id,
            parent_id,
            segmentation_id,
            is_active,
            created_by,
            currency,
            region_id,
            archived_at: _,
        } = self;
        let KeyFields {
            reference: new_reference,
            reference_folded: new_reference_folded,
            category_id: new_category_id,
            parent_id: new_parent_id,
            segmentation_id: new_segmentation_id,
            is_active: new_is_active,
            created_by: new_created_by,
            currency: new_currency,
            region_id: new_region_id,
        } = keys;
        reference == new_reference
            && reference_folded == new_reference_folded
            && category_id == new_category_id
            && parent_id == new_parent_id
            && segmentation_id == new_segmentation_id
            && is_active == new_is_active
            && created_by == new_created_by
            && currency == new_currency
            && region_id == new_region_id
    }
}

/// Writes `fields` over live customer `id` at revision `read`, moving it to the next
/// revision; the row written and whether the customer has documents, or `None` when no
/// live customer at that revision has the id.
/// `stored`: its indexed columns as [`StoredKeys::read`] gave them, in this transaction.
///
/// # Errors
/// [`Failure`] from the database.
pub(super) fn update_row(
    conn: &mut AnyConnection,
    fields: &CustomerFields<'_>,
    id: i64,
    read: i64,
    stored: Option<&StoredKeys>,
) -> Result<Option<(CustomerRow, bool)>, Failure> {
    let c = match conn {
        AnyConnection::Postgresql(c) => {
            return Ok(
                UpdateCustomer::<diesel::pg::Pg, true, true>::new(fields, id, read)
                    .get_result(c)
                    .optional()?,
            );
        }
        AnyConnection::Sqlite(c) => c,
    };
    // No stored row: no statement finds one.
    let (name, keys) = stored.map_or((false, false), |s| {
        (
            s.name_folded != fields.name_key.name_folded,
            !s.same_keys(&fields.keys),
        )
    });
    type Sqlite = diesel::sqlite::Sqlite;
    let row = match (name, keys) {
        (false, false) => UpdateCustomer::<Sqlite, false, false>::new(fields, id, read)
            .get_result(c)
            .optional()?,
        (true, false) => UpdateCustomer::<Sqlite, true, false>::new(fields, id, read)
            .get_result(c)
            .optional()?,
        (false, true) => UpdateCustomer::<Sqlite, false, true>::new(fields, id, read)
            .get_result(c)
            .optional()?,
        (true, true) => UpdateCustomer::<Sqlite, true, true>::new(fields, id, read)
            .get_result(c)
            .optional()?,
    };
    Ok(row)
}
