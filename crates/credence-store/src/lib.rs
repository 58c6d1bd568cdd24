//! Credence's storage adapter: the domain's ports implemented with diesel, on SQLite and
//! PostgreSQL through one code path.
//!
//! [`Database`] owns the connection pools and the migrations; [`Store`] implements every
//! port over it. Diesel stays inside this crate: callers see domain types and domain errors
//! only. Statements that must differ per backend match on the connection variant; the rest is
//! shared, and one contract suite (`tests/contract.rs`) runs on both.
#![forbid(unsafe_code)]

mod accounts;
pub mod bench_support;
mod catalog;
mod customers;
mod database;
mod error;
mod idempotency;
mod keys;
mod records;
mod schema;
mod tasks;

#[cfg(feature = "test-support")]
pub mod test_support;

use async_trait::async_trait;
use credence_domain::ports::{Readiness, StoreError};
use diesel::connection::SimpleConnection;

#[cfg(feature = "test-support")]
pub use database::HeldConnections;
pub use database::{Backend, Database, PoolOptions, SetupError};

/// Every storage port, over one [`Database`]. Cheap to clone; share it as `Arc<dyn Port>`.
#[derive(Debug, Clone)]
pub struct Store {
    database: Database,
}

impl Store {
    /// A store over an opened (and migrated) database.
    #[must_use]
    pub fn new(database: Database) -> Self {
        Self { database }
    }

    /// The database behind the store.
    #[must_use]
    pub fn database(&self) -> &Database {
        &self.database
    }
}

#[async_trait]
impl Readiness for Store {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(self
            .database
            .with_connection(|conn| Ok(conn.batch_execute("SELECT 1")?))
            .await?)
    }
}
