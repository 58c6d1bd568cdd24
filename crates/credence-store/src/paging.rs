//! Pages of rows: the `LIMIT` and `OFFSET` a page request asks for, and the page that a
//! count and its rows make. Every paged read of the store goes through these two, so a
//! request past `i64::MAX` rows and a negative count read the same everywhere.

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
