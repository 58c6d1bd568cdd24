//! Pages of rows: the `LIMIT` and `OFFSET` a page request asks for, and the page that a
//! count and its rows make. Every paged read of the store goes through these two, so a
//! request past `i64::MAX` rows and a negative count read the same everywhere; and the
//! `dateCreated_*` style time filter every list applies the same way.

use credence_domain::listing::{Page, PageRequest};

/// `(limit, offset)` of `page`; an offset too large for SQL reads as the end.
pub(crate) fn bounds(page: PageRequest) -> (i64, i64) {
    (
        i64::from(page.max()),
        i64::try_from(page.offset()).unwrap_or(i64::MAX),
    )
}

/// The page of `items` out of `count` rows in all.
pub(crate) fn page<T>(items: Vec<T>, count: i64) -> Page<T> {
    Page {
        items,
        total: u64::try_from(count).unwrap_or(0),
    }
}

/// Narrows a boxed query to the rows whose `$column` lies in a [`TimeRange`]
/// (`credence_domain::listing::TimeRange`): each bound given is one more `WHERE`.
macro_rules! time_filter {
    ($query:expr, $column:expr, $range:expr) => {{
        let range: &credence_domain::listing::TimeRange = $range;
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

pub(crate) use time_filter;
