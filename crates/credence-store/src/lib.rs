//! Credence's storage adapter: the domain's ports implemented with diesel, on SQLite and
//! PostgreSQL through one code path.
//!
//! [`Database`] owns the connection pools and the migrations; [`Store`] implements every
//! port over it. Diesel stays inside this crate: callers see domain types and domain errors
//! only. Statements that must differ per backend match on the connection variant; the rest is
//! shared, and one contract suite (`tests/contract.rs`) runs on both.
#![forbid(unsafe_code)]

mod access;
mod backup;
#[cfg(feature = "bench-support")]
pub mod bench_support;
mod catalog;
mod copy;
mod credit;
mod customers;
mod database;
mod documents;
mod error;
mod events;
mod paging;
mod schema;
mod webhooks;

#[cfg(feature = "test-support")]
pub mod test_support;

use async_trait::async_trait;
use credence_domain::events::EventEncoder;
use credence_domain::ports::{Clock, Readiness, StoreError, SystemClock};
use diesel::connection::SimpleConnection;

pub use backup::{BackupError, BackupReport};
#[cfg(feature = "test-support")]
pub use copy::sqlite_dump;
pub use copy::{CopyEnd, CopyError, CopyOptions, CopyProgress, CopyReport, copy_database};
#[cfg(feature = "test-support")]
pub use database::HeldConnections;
pub use database::{Backend, Database, PoolOptions, SetupError};
pub use documents::blobs::FsBlobStore;
pub use events::SkeletonEncoder;

/// Every storage port, over one [`Database`]. Cheap to clone; share it as `Arc<dyn Port>`.
/// Documents and blobs, whose methods share names with the customer port's, come as their
/// own trait objects: [`Store::documents`] and [`Store::blobs`] ([`FsBlobStore`] keeps blobs
/// in a directory instead).
#[derive(Clone)]
pub struct Store {
    database: Database,
    /// Shared by the store's clones, so every port's admissions batch together.
    admissions: std::sync::Arc<credit::group_commit::GroupCommit>,
    /// Shared by the store's clones, so every port's account reads batch together.
    account_reads: std::sync::Arc<credit::group_read::GroupRead>,
    /// The time of writes whose port gives none (`updated_at` columns).
    clock: std::sync::Arc<dyn Clock>,
    /// Writes the objects of events, inside the changes' transactions.
    events: std::sync::Arc<dyn EventEncoder>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("database", &self.database)
            .field("admissions", &self.admissions)
            .field("account_reads", &self.account_reads)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// A store over an opened (and migrated) database.
    #[must_use]
    pub fn new(database: Database) -> Self {
        Self {
            admissions: std::sync::Arc::new(credit::group_commit::GroupCommit::new(
                database.backend(),
            )),
            account_reads: std::sync::Arc::default(),
            clock: std::sync::Arc::new(SystemClock),
            events: std::sync::Arc::new(SkeletonEncoder),
            database,
        }
    }

    /// The same store, telling the time of writes whose port gives none by `clock`.
    #[must_use]
    pub fn with_clock(self, clock: std::sync::Arc<dyn Clock>) -> Self {
        Self { clock, ..self }
    }

    /// The same store, writing the objects of events with `encoder` (the API's
    /// representation, in the service).
    #[must_use]
    pub fn with_event_encoder(self, encoder: std::sync::Arc<dyn EventEncoder>) -> Self {
        Self {
            events: encoder,
            ..self
        }
    }

    /// Now, as the database stores it, for writes whose port gives no time.
    pub(crate) fn db_now(&self) -> chrono::NaiveDateTime {
        customers::to_db_time(self.clock.now())
    }

    /// How many admissions were written together with others (group commit) so far.
    #[cfg(feature = "test-support")]
    #[must_use]
    pub fn admissions_batched(&self) -> u64 {
        self.admissions.batched()
    }

    /// How many account reads were answered together with others (PostgreSQL) so far.
    #[cfg(feature = "test-support")]
    #[must_use]
    pub fn account_reads_batched(&self) -> u64 {
        self.account_reads.batched()
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
