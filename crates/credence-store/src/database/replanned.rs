//! Queries planned anew on every run.
//!
//! Diesel keeps a statement prepared per connection, and PostgreSQL then settles on one
//! generic plan for it. For a lookup by a list of keys in a table that an import grows from
//! empty, that plan is made while the table is small (a sequential scan, comparing every row
//! with every key) and kept for the connection's life: on 100,000 new customers the read-ahead
//! of a batch came to dominate the database's time. A query wrapped here is sent unprepared,
//! so each run is planned for the table as it is: as its statistics say it is, which
//! [`super::statistics`] keeps up to date while an import grows it.

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl};

/// `Q`, planned anew on every run (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct Replanned<Q>(pub(crate) Q);

impl<Q> QueryId for Replanned<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Replanned<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, Conn> RunQueryDsl<Conn> for Replanned<Q> {}

impl<Q: QueryFragment<DB>, DB: Backend> QueryFragment<DB> for Replanned<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.unsafe_to_cache_prepared();
        self.0.walk_ast(out)
    }
}
