//! The list query: live customers, the filters (text patterns with the ranges and trigrams
//! that let an index find them, times, scope), the sort, and the page with its total.

// Split from the parent module, whose imports it shares.
use super::*;
use crate::paging::time_filter;

pub(crate) fn live() -> customers::BoxedQuery<'static, Db> {
    customers::table
        .filter(customers::archived_at.is_null())
        .into_boxed()
}

/// The smallest string greater than every string starting with `prefix` (byte order, which
/// both SQLite's BINARY and PostgreSQL's "C" collation use), or `None` if there is none.
pub(crate) fn prefix_successor(prefix: &str) -> Option<String> {
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
pub(crate) fn holding(
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

/// Live customers matching a filter; `category_ids` is the resolved `categoryReference`.
pub(crate) fn filtered(
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

pub(crate) fn sorted(
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
pub(crate) fn exact_substring_count(
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
