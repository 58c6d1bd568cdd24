//! The customer repository: rows, the list query with its filters, and the batched loading
//! of what a page of customers points to.
//!
//! Writes put the customer row, its payment types, its contacts and its projects in one
//! transaction (projects keep the ids they already have, so a rename keeps its id), and
//! attach the write's document links in that same transaction
//! ([`crate::documents::apply_links`]); the live-reference rule lives in a partial unique
//! index, so racing inserts end in `DuplicateReference` whatever the timing.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use credence_domain::customer::{
    AccountHolder, Address, Contact, Customer, CustomerData, CustomerFilter, CustomerKey,
    CustomerQuery, CustomerSort, CustomerSummary, Project,
};
use credence_domain::document::Document;
use credence_domain::ids::{CustomerId, ProjectId, UserId};
use credence_domain::listing::{Order, Page, TextPattern, TimeRange, fold};
use credence_domain::logo::LogoName;
use credence_domain::ports::{
    CustomerRepository, DocumentLinks, NewCustomer, RemoveError, StoreError, WriteError,
};
use credence_domain::reference_data::{Category, PaymentType, Region, Segmentation, User};
use credence_domain::search::{ScoredCustomer, SearchQuery};
use credence_domain::values::{
    CountryCode, CreditLimit, CurrencyCode, CustomerName, DueDateTerms, DueDateType, Email,
    FreeText, Latitude, Longitude, Reference, RiskColor, Website,
};
use diesel::prelude::*;
use uuid::Uuid;

use crate::Store;
use crate::accounts::{AccountRow, expire_account, lock_account, record_limit, set_limit};
use crate::database::AnyConnection;
use crate::documents::{apply_links, documents_of};
use crate::error::Failure;
use crate::records::{CategoryRow, PaymentTypeRow, RegionRow, SegmentationRow, UserRow};
use crate::schema::{
    accounts, customer_categories, customer_contacts, customer_payment_types, customer_projects,
    customer_segmentations, customers, payment_types, regions, reservations, users,
};

mod search;
mod substring;

pub(crate) use search::fill_terms;
use search::{delete_terms, search_customers, write_terms};

type Db = <AnyConnection as Connection>::Backend;

/// From this many matches on, a prefix filter's page is found by walking the sort index.
const MANY_MATCHES: i64 = 10_000;

/// Furthest walk up a customer tree; deeper trees are a bug, not data.
const MAX_DEPTH: usize = 1000;

/// Timestamps are stored in whole seconds, UTC, as the domain promises.
pub(crate) fn to_db_time(at: DateTime<Utc>) -> NaiveDateTime {
    DateTime::from_timestamp(at.timestamp(), 0)
        .unwrap_or(at)
        .naive_utc()
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = customers)]
pub(crate) struct CustomerRow {
    id: i64,
    uuid: String,
    reference: String,
    reference2: Option<String>,
    name: String,
    category_id: i64,
    parent_id: Option<i64>,
    bill_with_parent: bool,
    segmentation_id: Option<i64>,
    email: Option<String>,
    phone: Option<String>,
    mobile: Option<String>,
    fax: Option<String>,
    comment: Option<String>,
    barcode: Option<String>,
    is_same_address: bool,
    billing_country: Option<String>,
    billing_city: Option<String>,
    billing_postal_code: Option<String>,
    billing_address: Option<String>,
    billing_latitude: Option<f64>,
    billing_longitude: Option<f64>,
    country: Option<String>,
    city: Option<String>,
    postal_code: Option<String>,
    address: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    is_active: bool,
    on_hold: bool,
    on_hold_reason: Option<String>,
    created_by: Option<i64>,
    due_date_number: Option<i64>,
    due_date_type: Option<String>,
    website: Option<String>,
    tax_number: Option<String>,
    company_registration_number: Option<String>,
    currency: String,
    customer_risk: Option<String>,
    customer_risk_color: Option<String>,
    region_id: Option<i64>,
    date_created: NaiveDateTime,
    last_updated: NaiveDateTime,
    logo: Option<String>,
}

/// Every column a client can change, plus the folded copies and `last_updated`.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = customers, treat_none_as_null = true)]
pub(crate) struct CustomerFields<'a> {
    reference: &'a str,
    reference_folded: String,
    reference2: Option<&'a str>,
    name: &'a str,
    name_folded: String,
    category_id: i64,
    parent_id: Option<i64>,
    bill_with_parent: bool,
    segmentation_id: Option<i64>,
    email: Option<&'a str>,
    phone: Option<&'a str>,
    mobile: Option<&'a str>,
    fax: Option<&'a str>,
    comment: Option<&'a str>,
    barcode: Option<&'a str>,
    is_same_address: bool,
    billing_country: Option<&'static str>,
    billing_city: Option<&'a str>,
    billing_postal_code: Option<&'a str>,
    billing_address: Option<&'a str>,
    billing_latitude: Option<f64>,
    billing_longitude: Option<f64>,
    country: Option<&'static str>,
    city: Option<&'a str>,
    postal_code: Option<&'a str>,
    address: Option<&'a str>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    is_active: bool,
    on_hold: bool,
    on_hold_reason: Option<&'a str>,
    created_by: Option<i64>,
    due_date_number: Option<i64>,
    due_date_type: Option<&'static str>,
    website: Option<&'a str>,
    tax_number: Option<&'a str>,
    company_registration_number: Option<&'a str>,
    currency: &'static str,
    customer_risk: Option<&'a str>,
    customer_risk_color: Option<&'a str>,
    region_id: Option<i64>,
    last_updated: NaiveDateTime,
    logo: Option<&'a str>,
}

fn text(value: Option<&FreeText>) -> Option<&str> {
    value.map(FreeText::as_str)
}

impl<'a> CustomerFields<'a> {
    pub(crate) fn new(data: &'a CustomerData, now: DateTime<Utc>) -> Self {
        Self {
            reference: data.reference.as_str(),
            reference_folded: fold(data.reference.as_str()),
            reference2: text(data.reference2.as_ref()),
            name: data.name.as_str(),
            name_folded: fold(data.name.as_str()),
            category_id: data.category.id.get(),
            parent_id: data.parent.as_ref().map(|p| p.id.get()),
            bill_with_parent: data.bill_with_parent,
            segmentation_id: data.segmentation.as_ref().map(|s| s.id.get()),
            email: data.email.as_ref().map(Email::as_str),
            phone: text(data.phone.as_ref()),
            mobile: text(data.mobile.as_ref()),
            fax: text(data.fax.as_ref()),
            comment: text(data.comment.as_ref()),
            barcode: text(data.barcode.as_ref()),
            is_same_address: data.is_same_address,
            billing_country: data.billing.country.map(|c| c.as_str()),
            billing_city: text(data.billing.city.as_ref()),
            billing_postal_code: text(data.billing.postal_code.as_ref()),
            billing_address: text(data.billing.address.as_ref()),
            billing_latitude: data.billing.latitude.map(Latitude::degrees),
            billing_longitude: data.billing.longitude.map(Longitude::degrees),
            country: data.shipping.country.map(|c| c.as_str()),
            city: text(data.shipping.city.as_ref()),
            postal_code: text(data.shipping.postal_code.as_ref()),
            address: text(data.shipping.address.as_ref()),
            latitude: data.shipping.latitude.map(Latitude::degrees),
            longitude: data.shipping.longitude.map(Longitude::degrees),
            is_active: data.is_active,
            on_hold: data.on_hold,
            on_hold_reason: text(data.on_hold_reason.as_ref()),
            created_by: data.created_by.as_ref().map(|u| u.id.get()),
            due_date_number: data.due_date_terms.map(|t| i64::from(t.days())),
            due_date_type: data.due_date_terms.map(|t| t.kind().as_str()),
            website: data.website.as_ref().map(Website::as_str),
            tax_number: text(data.tax_number.as_ref()),
            company_registration_number: text(data.company_registration_number.as_ref()),
            currency: data.currency.code(),
            customer_risk: text(data.customer_risk.as_ref()),
            customer_risk_color: data.customer_risk_color.as_ref().map(RiskColor::as_str),
            region_id: data.region.as_ref().map(|r| r.id.get()),
            last_updated: to_db_time(now),
            logo: data.logo.as_ref().map(LogoName::as_str),
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = customer_payment_types, treat_none_as_default_value = false)]
pub(crate) struct PaymentLink {
    customer_id: i64,
    position: i32,
    payment_type_id: i64,
}

#[derive(Insertable)]
#[diesel(table_name = customer_contacts, treat_none_as_default_value = false)]
pub(crate) struct ContactFields<'a> {
    customer_id: i64,
    position: i32,
    name: Option<&'a str>,
    email: Option<&'a str>,
    phone: Option<&'a str>,
}

/// A project that keeps the id it has.
#[derive(Insertable)]
#[diesel(table_name = customer_projects, treat_none_as_default_value = false)]
pub(crate) struct KeptProject<'a> {
    id: i64,
    customer_id: i64,
    position: i32,
    name: &'a str,
}

/// A new project: the database assigns its id. A separate shape from [`KeptProject`] because
/// SQLite cannot batch `DEFAULT` values.
#[derive(Insertable)]
#[diesel(table_name = customer_projects, treat_none_as_default_value = false)]
pub(crate) struct NewProject<'a> {
    customer_id: i64,
    position: i32,
    name: &'a str,
}

/// A multi-row `INSERT`: the derived multi-backend cannot batch, so each arm runs on its own
/// connection type (the statement is the same).
macro_rules! batch_insert {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            AnyConnection::Sqlite(c) => diesel::insert_into($table).values($rows).execute(c)?,
            AnyConnection::Postgresql(c) => diesel::insert_into($table).values($rows).execute(c)?,
        }
    };
}
pub(crate) use batch_insert;

/// Writes the payment types, contacts and projects of a customer (after deleting the old
/// ones; projects that have an id are written back under it).
pub(crate) fn write_children(
    conn: &mut AnyConnection,
    id: i64,
    data: &CustomerData,
) -> Result<(), Failure> {
    diesel::delete(
        customer_payment_types::table.filter(customer_payment_types::customer_id.eq(id)),
    )
    .execute(conn)?;
    diesel::delete(customer_contacts::table.filter(customer_contacts::customer_id.eq(id)))
        .execute(conn)?;
    let links: Vec<PaymentLink> = (0_i32..)
        .zip(&data.payment_types)
        .map(|(position, p)| PaymentLink {
            customer_id: id,
            position,
            payment_type_id: p.id.get(),
        })
        .collect();
    if !links.is_empty() {
        batch_insert!(conn, customer_payment_types::table, &links);
    }
    let contacts: Vec<ContactFields<'_>> = (0_i32..)
        .zip(&data.contacts)
        .map(|(position, c)| ContactFields {
            customer_id: id,
            position,
            name: text(c.name.as_ref()),
            email: c.email.as_ref().map(Email::as_str),
            phone: text(c.phone.as_ref()),
        })
        .collect();
    if !contacts.is_empty() {
        batch_insert!(conn, customer_contacts::table, &contacts);
    }
    diesel::delete(customer_projects::table.filter(customer_projects::customer_id.eq(id)))
        .execute(conn)?;
    let (kept, new): (Vec<_>, Vec<_>) = (0_i32..)
        .zip(&data.projects)
        .partition(|(_, p)| p.id.is_some());
    let kept: Vec<KeptProject<'_>> = kept
        .into_iter()
        .filter_map(|(position, p)| {
            p.id.map(|project| KeptProject {
                id: project.get(),
                customer_id: id,
                position,
                name: p.name.as_str(),
            })
        })
        .collect();
    if !kept.is_empty() {
        batch_insert!(conn, customer_projects::table, &kept);
    }
    let new: Vec<NewProject<'_>> = new
        .into_iter()
        .map(|(position, p)| NewProject {
            customer_id: id,
            position,
            name: p.name.as_str(),
        })
        .collect();
    if !new.is_empty() {
        batch_insert!(conn, customer_projects::table, &new);
    }
    Ok(())
}

fn live() -> customers::BoxedQuery<'static, Db> {
    customers::table
        .filter(customers::archived_at.is_null())
        .into_boxed()
}

/// The smallest string greater than every string starting with `prefix` (byte order, which
/// both SQLite's BINARY and PostgreSQL's "C" collation use), or `None` if there is none.
fn prefix_successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut next = u32::from(last) + 1;
        if (0xD800..0xE000).contains(&next) {
            next = 0xE000;
        }
        if let Some(c) = char::from_u32(next) {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Conditions a list query may carry besides its filters, only so that an index finds the
/// matches: they never change which rows match (the filters' own conditions decide that).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Narrowing {
    /// A prefix pattern's range (`col >= 'abc' AND col < 'abd'`): a B-tree seek.
    ranges: bool,
    /// A mid-string pattern's trigram lookup in `customer_text` (SQLite).
    trigrams: bool,
}

impl Narrowing {
    /// No narrowing: the query walks whatever index its sort or its other filters choose.
    pub(crate) const NONE: Self = Self {
        ranges: false,
        trigrams: false,
    };

    /// Every narrowing the backend has.
    fn all(conn: &AnyConnection) -> Self {
        Self {
            ranges: true,
            trigrams: matches!(conn, AnyConnection::Sqlite(_)),
        }
    }
}

/// Live customers whose folded name or reference holds the substrings of a trigram query (a
/// condition on `customers.id`, for [`filtered`]).
fn holding(
    query: String,
) -> diesel::expression::SqlLiteral<
    diesel::sql_types::Bool,
    impl diesel::query_builder::QueryFragment<Db> + Send + 'static,
> {
    diesel::dsl::sql::<diesel::sql_types::Bool>(
        "customers.id IN (SELECT rowid FROM customer_text WHERE customer_text MATCH ",
    )
    .bind::<diesel::sql_types::Text, _>(query)
    .sql(")")
}

macro_rules! text_filter {
    ($query:expr, $column:expr, $pattern:expr) => {
        text_filter!($query, $column, $pattern, true)
    };
    ($query:expr, $column:expr, $pattern:expr, $ranges:expr) => {{
        let query = $query;
        match $pattern {
            TextPattern::Exact(value) => query.filter($column.eq(value.clone())),
            TextPattern::Like { pattern, prefix } => {
                let upper = prefix_successor(prefix);
                // `abc*` alone is exactly the range ["abc", "abd"): the `LIKE` would only
                // test again, row by row, what the range already decided.
                let range_decides = $ranges && upper.is_some() && $pattern.is_prefix_only();
                let mut query = if range_decides {
                    query
                } else {
                    query.filter($column.like(pattern.clone()).escape('\\'))
                };
                if $ranges && !prefix.is_empty() {
                    query = query.filter($column.ge(prefix.clone()));
                    if let Some(upper) = upper {
                        query = query.filter($column.lt(upper));
                    }
                }
                query
            }
        }
    }};
    // A customer column: also narrowed by trigrams when asked and the pattern has no prefix.
    ($query:expr, $column:expr, $fts_column:literal, $pattern:expr, $narrowing:expr) => {{
        let narrowing: Narrowing = $narrowing;
        let query = text_filter!($query, $column, $pattern, narrowing.ranges);
        match $pattern {
            TextPattern::Like { pattern, prefix } if narrowing.trigrams && prefix.is_empty() => {
                match substring::trigrams($fts_column, pattern) {
                    Some(trigrams) => query.filter(holding(trigrams.query)),
                    None => query,
                }
            }
            _ => query,
        }
    }};
}

macro_rules! time_filter {
    ($query:expr, $column:expr, $range:expr) => {{
        let range: &TimeRange = $range;
        let mut query = $query;
        if let Some(at) = range.gt {
            query = query.filter($column.gt(at.naive_utc()));
        }
        if let Some(at) = range.gte {
            query = query.filter($column.ge(at.naive_utc()));
        }
        if let Some(at) = range.lt {
            query = query.filter($column.lt(at.naive_utc()));
        }
        if let Some(at) = range.lte {
            query = query.filter($column.le(at.naive_utc()));
        }
        query
    }};
}

/// Live customers matching a filter; `category_ids` is the resolved `categoryReference`.
fn filtered(
    filter: &CustomerFilter,
    category_ids: Option<&[i64]>,
    narrowing: Narrowing,
) -> customers::BoxedQuery<'static, Db> {
    let mut query = live();
    query = time_filter!(query, customers::date_created, &filter.date_created);
    query = time_filter!(query, customers::last_updated, &filter.last_updated);
    if let Some(pattern) = &filter.reference {
        query = text_filter!(
            query,
            customers::reference_folded,
            "reference_folded",
            pattern,
            narrowing
        );
    }
    if let Some(pattern) = &filter.name {
        query = text_filter!(
            query,
            customers::name_folded,
            "name_folded",
            pattern,
            narrowing
        );
    }
    if let Some(ids) = category_ids {
        query = query.filter(customers::category_id.eq_any(ids.to_vec()));
    }
    if let Some(active) = filter.is_active {
        query = query.filter(customers::is_active.eq(active));
    }
    if let Some(root) = filter.within {
        query = query.filter(subtree_of("customers.id", root.get()));
    }
    query
}

/// `root` and its live descendants, as a subquery of ids with one bind parameter (written
/// between [`SUBTREE_BEFORE`] and [`SUBTREE_AFTER`]): a recursive walk down `parent_id`, in
/// the SQL both backends share.
pub(crate) const SUBTREE_BEFORE: &str =
    "(WITH RECURSIVE tree(id) AS (SELECT id FROM customers WHERE id = ";
/// See [`SUBTREE_BEFORE`].
pub(crate) const SUBTREE_AFTER: &str = " AND archived_at IS NULL UNION ALL SELECT c.id \
     FROM customers c JOIN tree t ON c.parent_id = t.id WHERE c.archived_at IS NULL) \
     SELECT id FROM tree)";

/// Whether `column` (a customer id) names `root` or one of its live descendants.
pub(crate) fn subtree_of(
    column: &'static str,
    root: i64,
) -> diesel::expression::SqlLiteral<
    diesel::sql_types::Bool,
    impl diesel::query_builder::QueryFragment<Db> + Send + 'static,
> {
    diesel::dsl::sql::<diesel::sql_types::Bool>(column)
        .sql(" IN ")
        .sql(SUBTREE_BEFORE)
        .bind::<diesel::sql_types::BigInt, _>(root)
        .sql(SUBTREE_AFTER)
}

fn sorted(
    query: customers::BoxedQuery<'static, Db>,
    sort: CustomerSort,
    order: Order,
) -> customers::BoxedQuery<'static, Db> {
    macro_rules! by {
        ($column:expr) => {
            match order {
                Order::Asc => query
                    .order_by($column.asc())
                    .then_order_by(customers::id.asc()),
                Order::Desc => query
                    .order_by($column.desc())
                    .then_order_by(customers::id.desc()),
            }
        };
    }
    match sort {
        CustomerSort::Id => match order {
            Order::Asc => query.order_by(customers::id.asc()),
            Order::Desc => query.order_by(customers::id.desc()),
        },
        CustomerSort::Reference => by!(customers::reference_folded),
        CustomerSort::Name => by!(customers::name_folded),
        CustomerSort::DateCreated => by!(customers::date_created),
        CustomerSort::LastUpdated => by!(customers::last_updated),
    }
}

/// The total of a filter that is one mid-string pattern and nothing else (`name=*abc*`),
/// counted in the trigram table alone when that is exact ([`substring::Trigrams::exact`]):
/// an index lookup, where counting through `customers` would read every match's row.
/// `None` when the filter is anything else, or the backend is not SQLite.
fn exact_substring_count(
    conn: &mut AnyConnection,
    filter: &CustomerFilter,
) -> Result<Option<i64>, Failure> {
    if !matches!(conn, AnyConnection::Sqlite(_)) {
        return Ok(None);
    }
    let rest = CustomerFilter {
        name: None,
        reference: None,
        ..filter.clone()
    };
    if rest != CustomerFilter::default() {
        return Ok(None);
    }
    let (column, pattern) = match (&filter.name, &filter.reference) {
        (Some(pattern), None) => ("name_folded", pattern),
        (None, Some(pattern)) => ("reference_folded", pattern),
        _ => return Ok(None),
    };
    let TextPattern::Like { pattern, prefix } = pattern else {
        return Ok(None);
    };
    match substring::trigrams(column, pattern) {
        Some(trigrams) if trigrams.exact && prefix.is_empty() => {
            let count = diesel::dsl::sql::<diesel::sql_types::BigInt>(
                "(SELECT COUNT(*) FROM customer_text WHERE customer_text MATCH ",
            )
            .bind::<diesel::sql_types::Text, _>(trigrams.query)
            .sql(")");
            Ok(Some(diesel::select(count).get_result(conn)?))
        }
        _ => Ok(None),
    }
}

pub(crate) fn list_customers(
    conn: &mut AnyConnection,
    query: &CustomerQuery,
) -> Result<Page<Customer>, Failure> {
    let category_ids = match &query.filter.category_reference {
        None => None,
        Some(pattern) => {
            let categories = customer_categories::table
                .select(customer_categories::id)
                .into_boxed::<Db>();
            let ids: Vec<i64> =
                text_filter!(categories, customer_categories::reference_folded, pattern)
                    .load(conn)?;
            if ids.is_empty() {
                return Ok(Page {
                    items: Vec::new(),
                    total: 0,
                });
            }
            Some(ids)
        }
    };
    let narrowing = Narrowing::all(conn);
    let total: i64 = match exact_substring_count(conn, &query.filter)? {
        Some(total) => total,
        None => filtered(&query.filter, category_ids.as_deref(), narrowing)
            .count()
            .get_result(conn)?,
    };
    // The prefix range (or the trigram lookup) lets an index find the matches; with many of
    // them, walking the sort index and testing `LIKE` row by row finds the first page sooner
    // than sorting them all, and SQLite's planner cannot tell the two cases apart. The LIKE
    // alone decides the rows.
    let narrowing = if total < MANY_MATCHES {
        narrowing
    } else {
        Narrowing::NONE
    };
    let limit = i64::from(query.page.max());
    let offset = i64::try_from(query.page.offset()).unwrap_or(i64::MAX);
    let rows: Vec<CustomerRow> = sorted(
        filtered(&query.filter, category_ids.as_deref(), narrowing),
        query.sort,
        query.order,
    )
    .select(CustomerRow::as_select())
    .limit(limit)
    .offset(offset)
    .load(conn)?;
    Ok(Page {
        items: assemble(conn, rows)?,
        total: u64::try_from(total).unwrap_or(0),
    })
}

pub(crate) fn get_customer(
    conn: &mut AnyConnection,
    key: &CustomerKey,
) -> Result<Option<Customer>, Failure> {
    let query = live().select(CustomerRow::as_select());
    let query = match key {
        CustomerKey::Id(id) => query.filter(customers::id.eq(id.get())),
        CustomerKey::Uuid(uuid) => query.filter(customers::uuid.eq(uuid.to_string())),
        CustomerKey::Reference(reference) => {
            query.filter(customers::reference.eq(reference.clone()))
        }
    };
    let rows: Vec<CustomerRow> = query.limit(1).load(conn)?;
    Ok(assemble(conn, rows)?.pop())
}

/// The columns of [`AccountHolder`], in its order.
type HolderRow = (i64, bool, bool, Option<String>, Option<i64>, bool, String);

/// One live customer as its account sees it: one row by primary or unique key. Each key's
/// statement is written out (not boxed) so the drivers keep it prepared.
pub(crate) fn holder_of(
    conn: &mut AnyConnection,
    key: &CustomerKey,
) -> Result<Option<AccountHolder>, Failure> {
    let columns = (
        customers::id,
        customers::is_active,
        customers::on_hold,
        customers::on_hold_reason,
        customers::parent_id,
        customers::bill_with_parent,
        customers::currency,
    );
    let live = customers::archived_at.is_null();
    let row: Option<HolderRow> = match key {
        CustomerKey::Id(id) => customers::table
            .filter(customers::id.eq(id.get()))
            .filter(live)
            .select(columns)
            .first(conn)
            .optional()?,
        CustomerKey::Uuid(uuid) => customers::table
            .filter(customers::uuid.eq(uuid.to_string()))
            .filter(live)
            .select(columns)
            .first(conn)
            .optional()?,
        CustomerKey::Reference(reference) => customers::table
            .filter(customers::reference.eq(reference))
            .filter(live)
            .select(columns)
            .first(conn)
            .optional()?,
    };
    row.map(
        |(id, is_active, on_hold, reason, parent, bill_with_parent, currency)| {
            Ok(AccountHolder {
                id: CustomerId(id),
                is_active,
                on_hold,
                on_hold_reason: reason.map(FreeText::from_trusted),
                parent: parent.map(CustomerId),
                bill_with_parent,
                currency: CurrencyCode::parse(&currency)
                    .map_err(|e| Failure::corrupt("customer currency", e))?,
            })
        },
    )
    .transpose()
}

fn ids(rows: &[CustomerRow], pick: impl Fn(&CustomerRow) -> Option<i64>) -> Vec<i64> {
    let set: HashSet<i64> = rows.iter().filter_map(pick).collect();
    set.into_iter().collect()
}

/// Turns rows into customers, loading everything they point to with one query per kind.
pub(crate) fn assemble(
    conn: &mut AnyConnection,
    rows: Vec<CustomerRow>,
) -> Result<Vec<Customer>, Failure> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let customer_ids: Vec<i64> = rows.iter().map(|r| r.id).collect();

    let wanted = ids(&rows, |r| Some(r.category_id));
    let categories: HashMap<i64, Category> = customer_categories::table
        .filter(customer_categories::id.eq_any(wanted))
        .select(CategoryRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|row| row.into_domain().map(|c| (c.id.get(), c)))
        .collect::<Result<_, _>>()?;

    let wanted = ids(&rows, |r| r.segmentation_id);
    let segmentations: HashMap<i64, Segmentation> = if wanted.is_empty() {
        HashMap::new()
    } else {
        customer_segmentations::table
            .filter(customer_segmentations::id.eq_any(wanted))
            .select(SegmentationRow::as_select())
            .load(conn)?
            .into_iter()
            .map(|row| row.into_domain().map(|s| (s.id.get(), s)))
            .collect::<Result<_, _>>()?
    };

    let wanted = ids(&rows, |r| r.region_id);
    let regions: HashMap<i64, Region> = if wanted.is_empty() {
        HashMap::new()
    } else {
        regions::table
            .filter(regions::id.eq_any(wanted))
            .select(RegionRow::as_select())
            .load(conn)?
            .into_iter()
            .map(|row| row.into_domain().map(|r| (r.id.get(), r)))
            .collect::<Result<_, _>>()?
    };

    let wanted = ids(&rows, |r| r.created_by);
    let users: HashMap<i64, User> = if wanted.is_empty() {
        HashMap::new()
    } else {
        users::table
            .filter(users::id.eq_any(wanted))
            .select(UserRow::as_select())
            .load(conn)?
            .into_iter()
            .map(|row| row.into_domain().map(|u| (u.id.get(), u)))
            .collect::<Result<_, _>>()?
    };

    let wanted = ids(&rows, |r| r.parent_id);
    let parents: HashMap<i64, CustomerSummary> = if wanted.is_empty() {
        HashMap::new()
    } else {
        customers::table
            .filter(customers::id.eq_any(wanted))
            .select((customers::id, customers::reference, customers::name))
            .load::<(i64, String, String)>(conn)?
            .into_iter()
            .map(|(id, reference, name)| {
                Ok((
                    id,
                    CustomerSummary {
                        id: CustomerId(id),
                        reference: Reference::new(reference)
                            .map_err(|e| Failure::corrupt("customer reference", e))?,
                        name: CustomerName::new(name)
                            .map_err(|e| Failure::corrupt("customer name", e))?,
                    },
                ))
            })
            .collect::<Result<_, Failure>>()?
    };

    let mut payment: HashMap<i64, Vec<PaymentType>> = HashMap::new();
    let links: Vec<(i64, PaymentTypeRow)> = customer_payment_types::table
        .inner_join(payment_types::table)
        .filter(customer_payment_types::customer_id.eq_any(customer_ids.clone()))
        .order((
            customer_payment_types::customer_id,
            customer_payment_types::position,
        ))
        .select((
            customer_payment_types::customer_id,
            PaymentTypeRow::as_select(),
        ))
        .load(conn)?;
    for (customer_id, row) in links {
        payment
            .entry(customer_id)
            .or_default()
            .push(row.into_domain()?);
    }

    let mut contacts: HashMap<i64, Vec<Contact>> = HashMap::new();
    let contact_rows: Vec<ContactRow> = customer_contacts::table
        .filter(customer_contacts::customer_id.eq_any(customer_ids.clone()))
        .order((customer_contacts::customer_id, customer_contacts::position))
        .select((
            customer_contacts::customer_id,
            customer_contacts::name,
            customer_contacts::email,
            customer_contacts::phone,
        ))
        .load(conn)?;
    for (customer_id, name, email, phone) in contact_rows {
        contacts.entry(customer_id).or_default().push(Contact {
            name: name.map(FreeText::from_trusted),
            email: email
                .map(|e| Email::new(&e))
                .transpose()
                .map_err(|e| Failure::corrupt("contact e-mail", e))?,
            phone: phone.map(FreeText::from_trusted),
        });
    }

    let mut projects: HashMap<i64, Vec<Project>> = HashMap::new();
    let project_rows: Vec<(i64, i64, String)> = customer_projects::table
        .filter(customer_projects::customer_id.eq_any(customer_ids.clone()))
        .order((customer_projects::customer_id, customer_projects::position))
        .select((
            customer_projects::customer_id,
            customer_projects::id,
            customer_projects::name,
        ))
        .load(conn)?;
    for (customer_id, id, name) in project_rows {
        projects.entry(customer_id).or_default().push(Project {
            id: Some(ProjectId(id)),
            name: FreeText::from_trusted(name),
        });
    }

    // Every customer has its account (created with it); its limit is the customer's. The
    // amounts are as stored: a reservation past its time still counts here until the next
    // admission or sweep releases it (`AccountLedger::account` leaves it out at once).
    let mut documents = documents_of(conn, &customer_ids)?;

    let mut accounts: HashMap<i64, AccountRow> = accounts::table
        .filter(accounts::customer_id.eq_any(customer_ids))
        .select(AccountRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|row: AccountRow| (row.customer_id, row))
        .collect();

    let related = Related {
        categories,
        segmentations,
        regions,
        users,
        parents,
    };
    rows.into_iter()
        .map(|row| {
            let id = row.id;
            let account = accounts
                .remove(&id)
                .ok_or_else(|| Failure::corrupt("customer", format!("{id} has no account")))?;
            row.into_domain(
                &related,
                account,
                payment.remove(&id).unwrap_or_default(),
                contacts.remove(&id).unwrap_or_default(),
                projects.remove(&id).unwrap_or_default(),
                documents.remove(&id).unwrap_or_default(),
            )
        })
        .collect()
}

/// `(customer_id, name, email, phone)` of a contact.
type ContactRow = (i64, Option<String>, Option<String>, Option<String>);

struct Related {
    categories: HashMap<i64, Category>,
    segmentations: HashMap<i64, Segmentation>,
    regions: HashMap<i64, Region>,
    users: HashMap<i64, User>,
    parents: HashMap<i64, CustomerSummary>,
}

fn lookup<T: Clone>(
    map: &HashMap<i64, T>,
    id: Option<i64>,
    what: &str,
) -> Result<Option<T>, Failure> {
    id.map(|id| {
        map.get(&id)
            .cloned()
            .ok_or_else(|| Failure::corrupt(what, format!("row {id} is missing")))
    })
    .transpose()
}

fn country(code: Option<String>) -> Result<Option<CountryCode>, Failure> {
    code.map(|c| CountryCode::parse(&c))
        .transpose()
        .map_err(|e| Failure::corrupt("country", e))
}

fn lat(field: &'static str, value: Option<f64>) -> Result<Option<Latitude>, Failure> {
    value
        .map(|v| Latitude::new(field, v))
        .transpose()
        .map_err(|e| Failure::corrupt(field, e))
}

fn lng(field: &'static str, value: Option<f64>) -> Result<Option<Longitude>, Failure> {
    value
        .map(|v| Longitude::new(field, v))
        .transpose()
        .map_err(|e| Failure::corrupt(field, e))
}

fn free(value: Option<String>) -> Option<FreeText> {
    value.map(FreeText::from_trusted)
}

impl CustomerRow {
    fn into_domain(
        self,
        related: &Related,
        account: AccountRow,
        payment_types: Vec<PaymentType>,
        contacts: Vec<Contact>,
        projects: Vec<Project>,
        documents: Vec<Document>,
    ) -> Result<Customer, Failure> {
        let currency =
            CurrencyCode::parse(&self.currency).map_err(|e| Failure::corrupt("currency", e))?;
        let due_date_terms = match (self.due_date_number, self.due_date_type) {
            (Some(days), Some(kind)) => {
                let kind =
                    DueDateType::parse(&kind).map_err(|e| Failure::corrupt("due date type", e))?;
                Some(
                    DueDateTerms::new(days, kind)
                        .map_err(|e| Failure::corrupt("due date terms", e))?,
                )
            }
            _ => None,
        };
        let data = CustomerData {
            reference: Reference::new(self.reference)
                .map_err(|e| Failure::corrupt("customer reference", e))?,
            reference2: free(self.reference2),
            name: CustomerName::new(self.name).map_err(|e| Failure::corrupt("customer name", e))?,
            category: lookup(&related.categories, Some(self.category_id), "category")?
                .ok_or_else(|| Failure::corrupt("category", "missing"))?,
            parent: lookup(&related.parents, self.parent_id, "parent customer")?,
            bill_with_parent: self.bill_with_parent,
            segmentation: lookup(&related.segmentations, self.segmentation_id, "segmentation")?,
            email: self
                .email
                .map(|e| Email::new(&e))
                .transpose()
                .map_err(|e| Failure::corrupt("e-mail", e))?,
            phone: free(self.phone),
            mobile: free(self.mobile),
            fax: free(self.fax),
            comment: free(self.comment),
            barcode: free(self.barcode),
            is_same_address: self.is_same_address,
            billing: Address {
                country: country(self.billing_country)?,
                city: free(self.billing_city),
                postal_code: free(self.billing_postal_code),
                address: free(self.billing_address),
                latitude: lat("billingLatitude", self.billing_latitude)?,
                longitude: lng("billingLongitude", self.billing_longitude)?,
            },
            shipping: Address {
                country: country(self.country)?,
                city: free(self.city),
                postal_code: free(self.postal_code),
                address: free(self.address),
                latitude: lat("latitude", self.latitude)?,
                longitude: lng("longitude", self.longitude)?,
            },
            credit_limit: CreditLimit::from_minor_units(account.credit_limit, currency)
                .map_err(|e| Failure::corrupt("credit limit", e))?,
            is_active: self.is_active,
            on_hold: self.on_hold,
            on_hold_reason: free(self.on_hold_reason),
            created_by: lookup(&related.users, self.created_by, "user")?,
            due_date_terms,
            payment_types,
            website: self
                .website
                .map(|w| Website::new(&w))
                .transpose()
                .map_err(|e| Failure::corrupt("website", e))?,
            tax_number: free(self.tax_number),
            company_registration_number: free(self.company_registration_number),
            currency,
            customer_risk: free(self.customer_risk),
            customer_risk_color: self
                .customer_risk_color
                .map(|c| RiskColor::new(&c))
                .transpose()
                .map_err(|e| Failure::corrupt("risk colour", e))?,
            region: lookup(&related.regions, self.region_id, "region")?,
            contacts,
            projects,
            logo: self.logo.map(LogoName::from_trusted),
        };
        Ok(Customer {
            id: CustomerId(self.id),
            uuid: Uuid::parse_str(&self.uuid).map_err(|e| Failure::corrupt("uuid", e))?,
            data,
            date_created: self.date_created.and_utc(),
            last_updated: self.last_updated.and_utc(),
            account: Some(account.into_domain()?),
            documents,
        })
    }
}

/// Whether a live customer has this id, locking its row until the transaction ends on
/// PostgreSQL: `exclusive` (archiving) conflicts with the shared lock a writer takes on the
/// parent it links to, so a child can never be attached to a parent being archived. SQLite
/// needs no lock: `BEGIN IMMEDIATE` already serializes writers.
pub(crate) fn lock_live_customer(
    conn: &mut AnyConnection,
    id: i64,
    exclusive: bool,
) -> Result<bool, Failure> {
    let query = customers::table
        .filter(customers::id.eq(id))
        .filter(customers::archived_at.is_null())
        .select(customers::id);
    let found = match conn {
        AnyConnection::Postgresql(c) if exclusive => {
            query.for_update().first::<i64>(c).optional()?
        }
        AnyConnection::Postgresql(c) => query.for_key_share().first::<i64>(c).optional()?,
        AnyConnection::Sqlite(c) => query.first::<i64>(c).optional()?,
    };
    Ok(found.is_some())
}

/// Refuses a write whose parent is not a live customer.
fn check_parent(conn: &mut AnyConnection, data: &CustomerData) -> Result<(), Failure> {
    match &data.parent {
        Some(parent) if !lock_live_customer(conn, parent.id.get(), false)? => {
            Err(Failure::Dangling)
        }
        _ => Ok(()),
    }
}

fn ancestors_of(conn: &mut AnyConnection, id: i64) -> Result<Vec<CustomerId>, Failure> {
    let parent_of = |conn: &mut AnyConnection, id: i64| -> Result<Option<i64>, Failure> {
        Ok(live()
            .filter(customers::id.eq(id))
            .select(customers::parent_id)
            .first::<Option<i64>>(conn)
            .optional()?
            .flatten())
    };
    let mut found = Vec::new();
    let mut seen = HashSet::from([id]);
    let mut current = parent_of(conn, id)?;
    while let Some(parent) = current {
        let is_live = live()
            .filter(customers::id.eq(parent))
            .select(customers::id)
            .first::<i64>(conn)
            .optional()?;
        if is_live.is_none() || !seen.insert(parent) || found.len() >= MAX_DEPTH {
            break;
        }
        found.push(CustomerId(parent));
        current = parent_of(conn, parent)?;
    }
    Ok(found)
}

/// Opens a new customer's account: no money, the customer's limit and currency.
fn create_account(
    conn: &mut AnyConnection,
    id: i64,
    data: &CustomerData,
    now: NaiveDateTime,
) -> Result<(), Failure> {
    let limit = data.credit_limit.minor_units();
    diesel::insert_into(accounts::table)
        .values((
            accounts::customer_id.eq(id),
            accounts::currency.eq(data.currency.code()),
            accounts::balance.eq(0_i64),
            accounts::credit_limit.eq(limit),
            accounts::reserved.eq(0_i64),
            accounts::updated_at.eq(now),
        ))
        .execute(conn)?;
    record_limit(
        conn,
        id,
        None,
        limit,
        data.created_by.as_ref().map(|u| u.id.get()),
        now,
    )
}

/// Carries a customer update to its account: a changed limit (with its history row), and a
/// changed currency, which only an account without money may follow.
fn update_account(
    conn: &mut AnyConnection,
    id: i64,
    data: &CustomerData,
    by: Option<UserId>,
    now: NaiveDateTime,
) -> Result<(), Failure> {
    let account = lock_account(conn, id)?
        .ok_or_else(|| Failure::corrupt("customer", format!("{id} has no account")))?;
    let currency = data.currency.code();
    if account.currency != currency {
        if account.balance != 0 || account.reserved != 0 {
            return Err(Failure::AccountInUse);
        }
        diesel::update(accounts::table.find(id))
            .set((
                accounts::currency.eq(currency),
                accounts::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    set_limit(
        conn,
        id,
        data.credit_limit.minor_units(),
        by.map(UserId::get),
        now,
    )?;
    Ok(())
}

/// Refuses to archive a customer whose account holds money or open reservations (its own, or
/// ones held for it on a parent's account). Reservations already past their time are expired
/// first: they no longer hold anything.
fn check_account_idle(
    conn: &mut AnyConnection,
    id: i64,
    now: NaiveDateTime,
) -> Result<(), Failure> {
    let account = lock_account(conn, id)?;
    expire_account(conn, id, now)?;
    let open: i64 = reservations::table
        .filter(reservations::status.eq("open"))
        .filter(reservations::expires_at.gt(now))
        .filter(
            reservations::account_id
                .eq(id)
                .or(reservations::customer_id.eq(id)),
        )
        .count()
        .get_result(conn)?;
    if open > 0 || account.is_some_and(|a| a.balance != 0) {
        return Err(Failure::InUse);
    }
    Ok(())
}

#[async_trait]
impl CustomerRepository for Store {
    async fn list(&self, query: &CustomerQuery) -> Result<Page<Customer>, StoreError> {
        let query = query.clone();
        Ok(self
            .database()
            .read(move |conn| list_customers(conn, &query))
            .await?)
    }

    async fn search(&self, query: &SearchQuery) -> Result<Page<ScoredCustomer>, StoreError> {
        let query = query.clone();
        Ok(self
            .database()
            .read(move |conn| search_customers(conn, &query))
            .await?)
    }

    async fn get(&self, key: &CustomerKey) -> Result<Option<Customer>, StoreError> {
        let key = key.clone();
        Ok(self
            .database()
            .read(move |conn| get_customer(conn, &key))
            .await?)
    }

    async fn holder(&self, key: &CustomerKey) -> Result<Option<AccountHolder>, StoreError> {
        let key = key.clone();
        // One statement by key (every admission and payment asks it first).
        Ok(self
            .database()
            .point_read(move |conn| holder_of(conn, &key))
            .await?)
    }

    async fn ancestors(&self, id: CustomerId) -> Result<Vec<CustomerId>, StoreError> {
        Ok(self
            .database()
            .read(move |conn| ancestors_of(conn, id.get()))
            .await?)
    }

    async fn insert(&self, customer: &NewCustomer) -> Result<Customer, WriteError> {
        let customer = customer.clone();
        Ok(self
            .database()
            .write(move |conn| {
                check_parent(conn, &customer.data)?;
                let fields = CustomerFields::new(&customer.data, customer.now);
                let id: i64 = diesel::insert_into(customers::table)
                    .values((
                        &fields,
                        customers::uuid.eq(customer.uuid.to_string()),
                        customers::date_created.eq(to_db_time(customer.now)),
                    ))
                    .returning(customers::id)
                    .get_result(conn)?;
                write_children(conn, id, &customer.data)?;
                write_terms(conn, id, &customer.data)?;
                create_account(conn, id, &customer.data, to_db_time(customer.now))?;
                apply_links(conn, id, &customer.links, customer.now)?;
                get_customer(conn, &CustomerKey::Id(CustomerId(id)))?
                    .ok_or_else(|| Failure::corrupt("customer", "vanished right after its insert"))
            })
            .await?)
    }

    async fn update(
        &self,
        id: CustomerId,
        data: &CustomerData,
        links: &DocumentLinks,
        by: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<Option<Customer>, WriteError> {
        let data = data.clone();
        let links = links.clone();
        Ok(self
            .database()
            .write(move |conn| {
                check_parent(conn, &data)?;
                let fields = CustomerFields::new(&data, now);
                let updated = diesel::update(
                    customers::table
                        .filter(customers::id.eq(id.get()))
                        .filter(customers::archived_at.is_null()),
                )
                .set(&fields)
                .execute(conn)?;
                if updated == 0 {
                    return Ok(None);
                }
                write_children(conn, id.get(), &data)?;
                write_terms(conn, id.get(), &data)?;
                update_account(conn, id.get(), &data, by, to_db_time(now))?;
                apply_links(conn, id.get(), &links, now)?;
                get_customer(conn, &CustomerKey::Id(id))
            })
            .await?)
    }

    async fn archive(&self, id: CustomerId, now: DateTime<Utc>) -> Result<bool, RemoveError> {
        Ok(self
            .database()
            .write(move |conn| {
                if !lock_live_customer(conn, id.get(), true)? {
                    return Ok(false);
                }
                let children: i64 = live()
                    .filter(customers::parent_id.eq(id.get()))
                    .count()
                    .get_result(conn)?;
                if children > 0 {
                    return Err(Failure::InUse);
                }
                check_account_idle(conn, id.get(), to_db_time(now))?;
                diesel::update(customers::table.filter(customers::id.eq(id.get())))
                    .set(customers::archived_at.eq(Some(to_db_time(now))))
                    .execute(conn)?;
                // Archived customers leave the search.
                delete_terms(conn, id.get())?;
                Ok(true)
            })
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::prefix_successor;

    #[test]
    fn successor_bounds_every_string_with_the_prefix() {
        assert_eq!(prefix_successor("abc").as_deref(), Some("abd"));
        assert_eq!(prefix_successor("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_successor("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(prefix_successor(""), None);
    }
}
