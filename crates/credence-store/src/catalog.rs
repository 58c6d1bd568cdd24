//! The catalog adapters: products with their attributes ([`products`]), and task templates
//! and tasks ([`tasks`]), whose submission admits its cost in the same transaction.

mod products;
pub(crate) mod tasks;

use credence_domain::ports::Precondition;
use diesel::PgConnection;

use crate::database::AnyConnection;
use crate::error::Failure;

/// Whether `only_if` holds of the row `load` reads, read under the write's lock: on
/// PostgreSQL `lock` takes the row first (`FOR UPDATE`); SQLite's write transaction already
/// excludes every other writer. So no write gets in between the check and the write that
/// follows it. Without a condition, nothing is read or locked.
fn meets<T>(
    conn: &mut AnyConnection,
    only_if: &Precondition<T>,
    lock: impl FnOnce(&mut PgConnection) -> Result<(), Failure>,
    load: impl FnOnce(&mut AnyConnection) -> Result<Option<T>, Failure>,
) -> Result<bool, Failure> {
    if !only_if.is_set() {
        return Ok(true);
    }
    if let AnyConnection::Postgresql(c) = conn {
        lock(c)?;
    }
    Ok(only_if.holds(load(conn)?.as_ref()))
}
