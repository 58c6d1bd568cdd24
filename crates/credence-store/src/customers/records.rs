//! Reference data repositories: categories, segmentations, payment types, regions,
//! currencies and users. Each kind has a private row type converting into its domain record.
//!
//! Deletes rely on the foreign keys: a row still pointed to by a customer or a child row
//! fails with a foreign-key violation, which becomes `RemoveError::InUse`.

use async_trait::async_trait;
use credence_domain::access::principal::Role;
use credence_domain::customers::reference_data::{
    Category, CategoryDraft, Currency, CurrencyDraft, Label, LabelDraft, PaymentType,
    ROOT_CATEGORY, Region, RegionDraft, Segmentation, User, UserDraft,
};
use credence_domain::ids::{
    CategoryId, CustomerId, PaymentTypeId, RegionId, SegmentationId, UserId,
};
use credence_domain::listing::{Page, PageRequest, fold};
use credence_domain::ports::{Precondition, RecordRepository, RemoveError, StoreError, WriteError};
use credence_domain::values::{CurrencyCode, Email, ExchangeRate, Reference};
use diesel::prelude::*;

use crate::Store;
use crate::database::AnyConnection;
use crate::error::{Failure, Outcome};
use crate::schema::{
    currencies, customer_categories, customer_segmentations, payment_types, regions, users,
};

fn reference(text: String) -> Result<Reference, Failure> {
    Reference::new(text).map_err(|e| Failure::corrupt("reference", e))
}

fn label(text: &str) -> Result<Label, Failure> {
    Label::new(text).map_err(|e| Failure::corrupt("name", e))
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = customer_categories)]
pub(crate) struct CategoryRow {
    id: i64,
    reference: String,
    name: String,
    parent_id: Option<i64>,
}

impl CategoryRow {
    pub(crate) fn into_domain(self) -> Result<Category, Failure> {
        Ok(Category {
            id: CategoryId(self.id),
            reference: reference(self.reference)?,
            name: label(&self.name)?,
            parent_id: self.parent_id.map(CategoryId),
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = customer_segmentations)]
pub(crate) struct SegmentationRow {
    id: i64,
    reference: String,
    name: String,
}

impl SegmentationRow {
    pub(crate) fn into_domain(self) -> Result<Segmentation, Failure> {
        Ok(Segmentation {
            id: SegmentationId(self.id),
            reference: reference(self.reference)?,
            name: label(&self.name)?,
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = payment_types)]
pub(crate) struct PaymentTypeRow {
    id: i64,
    reference: String,
    name: String,
}

impl PaymentTypeRow {
    pub(crate) fn into_domain(self) -> Result<PaymentType, Failure> {
        Ok(PaymentType {
            id: PaymentTypeId(self.id),
            reference: reference(self.reference)?,
            name: label(&self.name)?,
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = regions)]
pub(crate) struct RegionRow {
    id: i64,
    name: String,
    parent_id: Option<i64>,
}

impl RegionRow {
    pub(crate) fn into_domain(self) -> Result<Region, Failure> {
        Ok(Region {
            id: RegionId(self.id),
            name: label(&self.name)?,
            parent_id: self.parent_id.map(RegionId),
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
pub(crate) struct UserRow {
    id: i64,
    reference: String,
    name: String,
    email: Option<String>,
    role: String,
    customer_id: Option<i64>,
}

impl UserRow {
    pub(crate) fn into_domain(self) -> Result<User, Failure> {
        Ok(User {
            id: UserId(self.id),
            reference: reference(self.reference)?,
            name: label(&self.name)?,
            email: self
                .email
                .map(|e| Email::new(&e))
                .transpose()
                .map_err(|e| Failure::corrupt("user e-mail", e))?,
            role: Role::parse(&self.role)
                .ok_or_else(|| Failure::corrupt("user role", self.role.as_str()))?,
            customer_id: self.customer_id.map(CustomerId),
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = currencies)]
struct CurrencyRow {
    code: String,
    exchange_rate: String,
    is_organization: bool,
}

impl CurrencyRow {
    fn into_domain(self) -> Result<Currency, Failure> {
        Ok(Currency {
            code: CurrencyCode::parse(&self.code)
                .map_err(|e| Failure::corrupt("currency code", e))?,
            exchange_rate: ExchangeRate::parse(&self.exchange_rate)
                .map_err(|e| Failure::corrupt("exchange rate", e))?,
            is_organization_currency: self.is_organization,
        })
    }
}

/// The id of the root category, under which parentless categories go.
fn root_category(conn: &mut AnyConnection) -> Result<i64, Failure> {
    Ok(customer_categories::table
        .filter(customer_categories::reference.eq(ROOT_CATEGORY))
        .select(customer_categories::id)
        .first(conn)?)
}

/// A category's parent as stored: the draft's, else the root (except for the root itself).
fn category_parent(
    conn: &mut AnyConnection,
    draft: &CategoryDraft,
) -> Result<Option<i64>, Failure> {
    match draft.parent_id {
        Some(parent) => Ok(Some(parent.get())),
        None if draft.reference.as_str() == ROOT_CATEGORY => Ok(None),
        None => root_category(conn).map(Some),
    }
}

fn load_category(conn: &mut AnyConnection, id: i64) -> Result<Option<Category>, Failure> {
    customer_categories::table
        .find(id)
        .select(CategoryRow::as_select())
        .first(conn)
        .optional()?
        .map(CategoryRow::into_domain)
        .transpose()
}

/// The column values a category draft writes, as `category_columns` builds them.
type CategoryColumns<'a> = (
    diesel::dsl::Eq<customer_categories::reference, &'a str>,
    diesel::dsl::Eq<customer_categories::reference_folded, String>,
    diesel::dsl::Eq<customer_categories::name, &'a str>,
    diesel::dsl::Eq<customer_categories::parent_id, Option<i64>>,
);

/// The columns a category draft writes, shared by insert and update.
fn category_columns(draft: &CategoryDraft, parent: Option<i64>) -> CategoryColumns<'_> {
    (
        customer_categories::reference.eq(draft.reference.as_str()),
        customer_categories::reference_folded.eq(fold(draft.reference.as_str())),
        customer_categories::name.eq(draft.name.as_str()),
        customer_categories::parent_id.eq(parent),
    )
}

/// A new category: under the root when it names no parent, read back because the row
/// does not hold the folded reference the insert writes.
fn insert_category(conn: &mut AnyConnection, draft: &CategoryDraft) -> Result<Category, Failure> {
    let parent = category_parent(conn, draft)?;
    let id: i64 = diesel::insert_into(customer_categories::table)
        .values(category_columns(draft, parent))
        .returning(customer_categories::id)
        .get_result(conn)?;
    load_category(conn, id)?.ok_or_else(|| Failure::corrupt("category", "vanished after insert"))
}

/// A changed category, placed like a new one; `None` when there is no such category.
fn update_category(
    conn: &mut AnyConnection,
    id: i64,
    draft: &CategoryDraft,
) -> Result<Option<Category>, Failure> {
    let parent = category_parent(conn, draft)?;
    let updated = diesel::update(customer_categories::table.find(id))
        .set(category_columns(draft, parent))
        .execute(conn)?;
    if updated == 0 {
        return Ok(None);
    }
    load_category(conn, id)
}

/// The keys of the advisory locks (PostgreSQL) that updates of the category and the region
/// trees take in turn: negative and apart from the customer hierarchy's.
pub(crate) const CATEGORY_TREE_LOCK: i64 = -0x7472_6501; // "tre" 1
const REGION_TREE_LOCK: i64 = -0x7472_6502;

/// Takes the turn `lock` of updates of one tree until the transaction ends (PostgreSQL;
/// SQLite's writers run one at a time). The service checks a new parent against the tree as it
/// read it; two updates that each read it before the other wrote could close a cycle, so each
/// checks again ([`in_a_cycle`]) while it holds the turn.
fn lock_tree(conn: &mut AnyConnection, lock: i64) -> Result<(), Failure> {
    if let AnyConnection::Postgresql(c) = conn {
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({lock})")).execute(c)?;
    }
    Ok(())
}

/// Whether row `id` of `table` is its own ancestor, following `parent` (at most 1,000 steps:
/// trees of reference data are shallow). Run after the write, in its transaction.
fn in_a_cycle(
    conn: &mut AnyConnection,
    table: &str,
    parent: &str,
    id: i64,
) -> Result<bool, Failure> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let walk = format!(
        "WITH RECURSIVE up(id, depth) AS (\
           SELECT {parent}, 1 FROM {table} WHERE id = $1 \
           UNION ALL SELECT t.{parent}, up.depth + 1 FROM {table} t JOIN up ON t.id = up.id \
           WHERE up.depth < 1000) \
         SELECT count(*) AS n FROM up WHERE id = $1"
    );
    let found: Count = diesel::sql_query(walk)
        .bind::<diesel::sql_types::BigInt, _>(id)
        .get_result(conn)?;
    Ok(found.n > 0)
}

/// One `RecordRepository` impl per kind. Listing, fetching by key and deleting are the same
/// query for every kind, so they are written once here; what truly differs is spelled out at
/// each use: how a reference text finds a record (`find`) and how a draft is written (`write`).
///
/// - `find |text| { by_reference }` looks the text up in the table's `reference` column;
///   `find |text| { parse key }` reads the text as a key (`key` is a `Result`) and fetches it.
/// - `write |draft: Draft| { returning insert values, update changes }` inserts or updates
///   with the given column values and reads the row back via `RETURNING` (`returning columns
///   values` when both write the same); `write |draft: Draft| { by insert_fn, update_fn }`
///   hands the connection, key and draft to the kind's own functions.
///
/// Only method bodies come from the inner rules: `#[async_trait]` rewrites the signatures
/// before inner macros expand, so every signature is written in the outer rule.
macro_rules! record_repository {
    (
        $kind:ident in $table:ident ordered by $order:ident, row $row:ident,
        key |$k:ident: $key:ty| $key_value:expr,
        find |$text:ident| $find:tt,
        write |$d:ident: $draft:ty| $write:tt
        $(, tree of $parent:ident taking turns by $lock:expr)? $(,)?
    ) => {
        #[async_trait]
        impl RecordRepository<$kind> for Store {
            async fn list(&self, page: PageRequest) -> Result<Page<$kind>, StoreError> {
                let (limit, offset) = crate::paging::bounds(page);
                Ok(self
                    .database()
                    .read(move |conn| {
                        let count: i64 = $table::table.count().get_result(conn)?;
                        let items = $table::table
                            .order($table::$order)
                            .limit(limit)
                            .offset(offset)
                            .select($row::as_select())
                            .load(conn)?
                            .into_iter()
                            .map($row::into_domain)
                            .collect::<Result<_, _>>()?;
                        Ok(crate::paging::page(items, count))
                    })
                    .await?)
            }

            async fn get(&self, $k: $key) -> Result<Option<$kind>, StoreError> {
                Ok(self
                    .database()
                    .read(move |conn| {
                        $table::table
                            .find($key_value)
                            .select($row::as_select())
                            .first(conn)
                            .optional()?
                            .map($row::into_domain)
                            .transpose()
                    })
                    .await?)
            }

            async fn find_by_reference(&self, $text: &str) -> Result<Option<$kind>, StoreError> {
                record_repository!(@find self, $kind, $row, $table, $text, $find)
            }

            async fn create(&self, $d: $draft) -> Result<$kind, WriteError> {
                record_repository!(@create self, $row, $table, $d, $write)
            }

            async fn update(
                &self,
                $k: $key,
                $d: $draft,
                only_if: Precondition<$kind>,
            ) -> Result<Option<$kind>, WriteError> {
                Ok(self
                    .database()
                    .write(move |conn| {
                        $(
                            // Updates of a tree take turns (PostgreSQL), each checking the
                            // tree as the one before it left it.
                            lock_tree(conn, $lock)?;
                        )?
                        if only_if.is_set() {
                            // The row under the lock its update takes anyway (PostgreSQL;
                            // SQLite's writers run one at a time), so nothing changes it between
                            // the test and the write. Not `FOR UPDATE`: that would also wait for
                            // every customer write that points to the row.
                            let stored: Option<$row> =
                                if let AnyConnection::Postgresql(c) = conn {
                                    $table::table
                                        .find($key_value)
                                        .select($row::as_select())
                                        .for_no_key_update()
                                        .first(c)
                                        .optional()?
                                } else {
                                    $table::table
                                        .find($key_value)
                                        .select($row::as_select())
                                        .first(conn)
                                        .optional()?
                                };
                            let stored = stored.map($row::into_domain).transpose()?;
                            if !only_if.holds(stored.as_ref()) {
                                return Err(Failure::Refused(Outcome::Stale));
                            }
                        }
                        let written =
                            record_repository!(@update conn, $row, $table, $key_value, $d, $write)?;
                        $(
                            if written.is_some()
                                && in_a_cycle(conn, stringify!($table), stringify!($parent), $key_value)?
                            {
                                return Err(Failure::Refused(Outcome::OwnAncestor));
                            }
                        )?
                        Ok(written)
                    })
                    .await?)
            }

            async fn delete(&self, $k: $key) -> Result<bool, RemoveError> {
                Ok(self
                    .database()
                    .write(move |conn| {
                        Ok(diesel::delete($table::table.find($key_value)).execute(conn)? > 0)
                    })
                    .await?)
            }
        }
    };

    (@find $store:ident, $kind:ident, $row:ident, $table:ident, $text:ident, { by_reference }) => {{
        let text = $text.to_owned();
        Ok($store
            .database()
            .read(move |conn| {
                $table::table
                    .filter($table::reference.eq(text))
                    .select($row::as_select())
                    .first(conn)
                    .optional()?
                    .map($row::into_domain)
                    .transpose()
            })
            .await?)
    }};

    (@find $store:ident, $kind:ident, $row:ident, $table:ident, $text:ident, { parse $key:expr }) => {
        match $key {
            Ok(key) => RecordRepository::<$kind>::get($store, key).await,
            Err(_) => Ok(None),
        }
    };

    (@create $store:ident, $row:ident, $table:ident, $d:ident, { returning columns $columns:expr }) => {
        record_repository!(@create $store, $row, $table, $d, { returning insert $columns, update () })
    };

    (
        @create $store:ident, $row:ident, $table:ident, $d:ident,
        { returning insert $insert:expr, update $update:expr }
    ) => {
        Ok($store
            .database()
            .write(move |conn| {
                diesel::insert_into($table::table)
                    .values($insert)
                    .returning($table::all_columns)
                    .get_result::<$row>(conn)?
                    .into_domain()
            })
            .await?)
    };

    (@create $store:ident, $row:ident, $table:ident, $d:ident, { by $insert:ident, $update:ident }) => {
        Ok($store
            .database()
            .write(move |conn| $insert(conn, &$d))
            .await?)
    };

    (
        @update $conn:ident, $row:ident, $table:ident, $key_value:expr, $d:ident,
        { returning columns $columns:expr }
    ) => {
        record_repository!(
            @update $conn, $row, $table, $key_value, $d, { returning insert (), update $columns }
        )
    };

    (
        @update $conn:ident, $row:ident, $table:ident, $key_value:expr, $d:ident,
        { returning insert $insert:expr, update $update:expr }
    ) => {
        diesel::update($table::table.find($key_value))
            .set($update)
            .returning($table::all_columns)
            .get_result::<$row>($conn)
            .optional()?
            .map($row::into_domain)
            .transpose()
    };

    (
        @update $conn:ident, $row:ident, $table:ident, $key_value:expr, $d:ident,
        { by $insert:ident, $update:ident }
    ) => {
        $update($conn, $key_value, &$d)
    };
}

record_repository! {
    Category in customer_categories ordered by id, row CategoryRow,
    key |id: CategoryId| id.get(),
    find |text| { by_reference },
    write |draft: CategoryDraft| { by insert_category, update_category },
    tree of parent_id taking turns by CATEGORY_TREE_LOCK,
}

record_repository! {
    Segmentation in customer_segmentations ordered by id, row SegmentationRow,
    key |id: SegmentationId| id.get(),
    find |text| { by_reference },
    write |draft: LabelDraft| {
        returning columns (
            customer_segmentations::reference.eq(draft.reference.as_str()),
            customer_segmentations::name.eq(draft.name.as_str()),
        )
    },
}

record_repository! {
    PaymentType in payment_types ordered by id, row PaymentTypeRow,
    key |id: PaymentTypeId| id.get(),
    find |text| { by_reference },
    write |draft: LabelDraft| {
        returning columns (
            payment_types::reference.eq(draft.reference.as_str()),
            payment_types::name.eq(draft.name.as_str()),
        )
    },
}

// A region has no reference column: its reference is its id.
record_repository! {
    Region in regions ordered by id, row RegionRow,
    key |id: RegionId| id.get(),
    find |text| { parse text.trim().parse::<i64>().map(RegionId) },
    write |draft: RegionDraft| {
        returning columns (
            regions::name.eq(draft.name.as_str()),
            regions::parent_id.eq(draft.parent_id.map(RegionId::get)),
        )
    },
    tree of parent_id taking turns by REGION_TREE_LOCK,
}

// A currency is keyed and ordered by its code; a new one is never the organisation's.
record_repository! {
    Currency in currencies ordered by code, row CurrencyRow,
    key |code: CurrencyCode| code.code(),
    find |text| { parse CurrencyCode::parse(text) },
    write |draft: CurrencyDraft| {
        returning
        insert (
            currencies::code.eq(draft.code.code()),
            currencies::exchange_rate.eq(draft.exchange_rate.value().to_string()),
            currencies::is_organization.eq(false),
        ),
        update (
            currencies::code.eq(draft.code.code()),
            currencies::exchange_rate.eq(draft.exchange_rate.value().to_string()),
        )
    },
}

record_repository! {
    User in users ordered by id, row UserRow,
    key |id: UserId| id.get(),
    find |text| { by_reference },
    write |draft: UserDraft| { by insert_user, update_user },
}

/// The column values a user draft writes, as `user_columns` builds them.
type UserColumns<'a> = (
    diesel::dsl::Eq<users::reference, &'a str>,
    diesel::dsl::Eq<users::name, &'a str>,
    diesel::dsl::Eq<users::email, Option<&'a str>>,
    diesel::dsl::Eq<users::role, &'static str>,
    diesel::dsl::Eq<users::customer_id, Option<i64>>,
);

/// The columns a user draft writes, shared by insert and update.
fn user_columns(draft: &UserDraft) -> UserColumns<'_> {
    (
        users::reference.eq(draft.reference.as_str()),
        users::name.eq(draft.name.as_str()),
        users::email.eq(draft.email.as_ref().map(Email::as_str)),
        users::role.eq(draft.role.as_str()),
        users::customer_id.eq(draft.customer_id.map(CustomerId::get)),
    )
}

/// A new user, inside the caller's transaction (a key's owner is created with its key).
pub(crate) fn insert_user(conn: &mut AnyConnection, draft: &UserDraft) -> Result<User, Failure> {
    diesel::insert_into(users::table)
        .values(user_columns(draft))
        .returning(users::all_columns)
        .get_result::<UserRow>(conn)?
        .into_domain()
}

/// A changed user; `None` when there is no such user.
fn update_user(
    conn: &mut AnyConnection,
    id: i64,
    draft: &UserDraft,
) -> Result<Option<User>, Failure> {
    diesel::update(users::table.find(id))
        .set(user_columns(draft))
        .returning(users::all_columns)
        .get_result::<UserRow>(conn)
        .optional()?
        .map(UserRow::into_domain)
        .transpose()
}
