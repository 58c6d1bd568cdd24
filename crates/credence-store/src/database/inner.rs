//! Statements run on the connection underneath [`AnyConnection`].
//!
//! Diesel's connection for either backend (`AnyConnection`, derived with `MultiConnection`)
//! wraps every query it runs in a query of its own whose every pass over the query renders
//! the query's whole SQL: once to look the statement up, again when it checks whether the
//! statement may be cached, and again when it binds the values. On the statements an import
//! runs for every line (a customer's insert of fifty columns, the deletes and reads of its
//! update) that was more of SQLite's write thread than SQLite's own work. The same query run
//! on the backend's own connection is walked only to bind its values, and rendered only when
//! it is prepared.
//!
//! Any query diesel can run on both backends runs this way; the hot ones of a write do, and
//! every multi-row `INSERT` must (the wrapper cannot run one at all).

use diesel::pg::PgConnection;
use diesel::query_dsl::LoadQuery;
use diesel::query_dsl::methods::ExecuteDsl;
use diesel::sqlite::SqliteConnection;
use diesel::{QueryResult, RunQueryDsl};

use crate::database::AnyConnection;

/// Runs a query on the connection underneath [`AnyConnection`].
pub(crate) trait OnInner: Sized {
    /// [`RunQueryDsl::execute`], on the connection underneath.
    fn execute_on(self, conn: &mut AnyConnection) -> QueryResult<usize>
    where
        Self: ExecuteDsl<SqliteConnection> + ExecuteDsl<PgConnection>,
    {
        match conn {
            AnyConnection::Sqlite(c) => ExecuteDsl::<SqliteConnection>::execute(self, c),
            AnyConnection::Postgresql(c) => ExecuteDsl::<PgConnection>::execute(self, c),
        }
    }

    /// [`RunQueryDsl::get_result`], on the connection underneath.
    fn get_result_on<'q, U>(self, conn: &mut AnyConnection) -> QueryResult<U>
    where
        Self: LoadQuery<'q, SqliteConnection, U> + LoadQuery<'q, PgConnection, U>,
    {
        match conn {
            AnyConnection::Sqlite(c) => RunQueryDsl::<SqliteConnection>::get_result(self, c),
            AnyConnection::Postgresql(c) => RunQueryDsl::<PgConnection>::get_result(self, c),
        }
    }

    /// [`RunQueryDsl::load`], on the connection underneath.
    fn load_on<'q, U>(self, conn: &mut AnyConnection) -> QueryResult<Vec<U>>
    where
        Self: LoadQuery<'q, SqliteConnection, U> + LoadQuery<'q, PgConnection, U>,
    {
        match conn {
            AnyConnection::Sqlite(c) => RunQueryDsl::<SqliteConnection>::load(self, c),
            AnyConnection::Postgresql(c) => RunQueryDsl::<PgConnection>::load(self, c),
        }
    }
}

impl<Q> OnInner for Q {}
