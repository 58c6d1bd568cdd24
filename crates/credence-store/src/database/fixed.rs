//! Queries found in the statement cache by their type instead of their text.
//!
//! Diesel keeps a statement prepared per connection and finds it again by a key: a query
//! type whose SQL never varies has a static id, any other is keyed by its SQL, which diesel
//! renders on every run to look it up. An `INSERT` of many columns (a customer's some fifty)
//! has no static id even when every column is always written, so each run rendered and
//! escaped every column name: about a tenth of a SQLite import's write thread. A query
//! wrapped here is keyed by a marker type of its own and rendered only when it is prepared.
//! Run it on the connection underneath (`crate::database::inner`): through diesel's
//! connection for either backend, its SQL would be rendered on every run all the same.

use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl};

/// `Q`, found in the statement cache by `Key`.
///
/// Only for a query whose SQL is the same on every run: no `DEFAULT` for absent values
/// (derive `Insertable` with `treat_none_as_default_value = false`), no list whose length
/// varies. Each query gets a `Key` type of its own; a key shared by two queries would run one
/// query's statement with the other's values.
#[derive(Debug, Clone)]
pub(crate) struct Fixed<Q, Key> {
    query: Q,
    key: PhantomData<Key>,
}

impl<Q, Key> Fixed<Q, Key> {
    pub(crate) fn new(query: Q) -> Self {
        Self {
            query,
            key: PhantomData,
        }
    }
}

impl<Q, Key: 'static> QueryId for Fixed<Q, Key> {
    type QueryId = Key;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<Q: Query, Key> Query for Fixed<Q, Key> {
    type SqlType = Q::SqlType;
}

impl<Q, Key, Conn> RunQueryDsl<Conn> for Fixed<Q, Key> {}

impl<Q: QueryFragment<DB>, Key, DB: Backend> QueryFragment<DB> for Fixed<Q, Key> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.query.walk_ast(out)
    }

    /// Always: its SQL never varies. Said without walking the query (diesel asks on every
    /// run, before it looks the statement up).
    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}
