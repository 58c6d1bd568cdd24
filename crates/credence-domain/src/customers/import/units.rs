//! The port a bulk import writes through: a unit of work, one database transaction that
//! every port call made through the unit's own ports joins, with marks inside it that a
//! failed line is undone to.
//!
//! The import reuses the single-customer use cases unchanged (the same rules, the same
//! errors): it wires a [`crate::services::CustomerService`] and an
//! [`crate::services::AccountService`] over the unit's ports, so a customer's write and its
//! opening balance land in the unit's transaction, and many lines share one commit.

use std::sync::Arc;

use async_trait::async_trait;

use crate::customers::Customer;
use crate::customers::service::ReferencePorts;
use crate::ports::{AccountLedger, CustomerRepository, StoreError};

/// How a unit's marks undo a line ([`ImportUnit::mark`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marks {
    /// A mark that a write follows is a savepoint: any line can be undone alone.
    Savepoints,
    /// Marks cost nothing, and a line can be undone alone only while it has written
    /// nothing. A line undone after it wrote, or a write that failed, spoils the unit
    /// ([`ImportUnit::spoiled`]): what it holds must be rolled back and done again with
    /// savepoints. Worth it where a validated line rarely fails: a savepoint is a statement
    /// (on PostgreSQL a round trip) and makes SQLite flush its text index.
    Optimistic,
}

/// Opens units of work.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ImportUnits: Send + Sync {
    /// Opens a unit: one write transaction, held until [`ImportUnit::commit`] or
    /// [`ImportUnit::rollback`] (dropping the unit rolls it back), whose marks work as
    /// `marks` says.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection (or, on SQLite, the write lock) could
    /// be had in time.
    async fn begin(&self, marks: Marks) -> Result<Box<dyn ImportUnit>, StoreError>;

    /// How many units may usefully be open at once for one import: `1` where writers take
    /// turns anyway (SQLite), more where each has a connection of its own and the time of a
    /// line is mostly waiting for the database's answers (PostgreSQL).
    fn lanes(&self) -> usize {
        1
    }

    /// How many lines of an import that is neither atomic nor a dry run share a unit: enough
    /// that a unit's own cost (its commit, its reads ahead) is spread thin, few enough that
    /// the lines held at once, and the time a unit holds the write lock, stay small.
    fn batch_lines(&self) -> usize {
        super::BATCH_LINES
    }
}

/// One open transaction. Its ports behave as the store's usual ones, except that they read
/// what the unit wrote before it commits and write nothing anyone else sees until then.
#[async_trait]
pub trait ImportUnit: Send + Sync {
    /// Customers, inside the unit.
    fn customers(&self) -> Arc<dyn CustomerRepository>;

    /// The reference data, inside the unit.
    fn refs(&self) -> ReferencePorts;

    /// Credit accounts and the ledger, inside the unit.
    fn ledger(&self) -> Arc<dyn AccountLedger>;

    /// The live customers with these references, each as [`CustomerRepository::get`]
    /// answers it, in one query: an import reads a batch's customers ahead instead of one
    /// line at a time. References no live customer has are left out.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn customers_by_reference(
        &self,
        references: &[String],
    ) -> Result<Vec<Customer>, StoreError>;

    /// Marks the present state (a savepoint): [`Self::undo`] returns to it,
    /// [`Self::keep`] forgets it. Marks nest; each `keep` or `undo` ends the latest one.
    /// An adapter may queue marks instead of waiting for them: a mark that failed then
    /// fails every later call of the unit, and its commit.
    ///
    /// # Errors
    /// [`StoreError`] when the transaction is broken.
    async fn mark(&self) -> Result<(), StoreError>;

    /// Keeps what was written since the latest mark.
    ///
    /// # Errors
    /// [`StoreError`] when the transaction is broken.
    async fn keep(&self) -> Result<(), StoreError>;

    /// Drops what was written since the latest mark.
    ///
    /// # Errors
    /// [`StoreError`] when the transaction is broken.
    async fn undo(&self) -> Result<(), StoreError>;

    /// Whether the unit is spoiled ([`Marks::Optimistic`]), once every call and mark sent
    /// before this one has run. A unit with savepoints never is.
    ///
    /// # Errors
    /// [`StoreError`] when the transaction is broken.
    async fn spoiled(&self) -> Result<bool, StoreError>;

    /// Commits the unit; it cannot be used afterwards.
    ///
    /// # Errors
    /// [`StoreError`] when the commit fails (nothing of the unit is then written).
    async fn commit(&self) -> Result<(), StoreError>;

    /// Rolls the unit back; it cannot be used afterwards.
    ///
    /// # Errors
    /// [`StoreError`] when the connection failed (nothing of the unit is written either way).
    async fn rollback(&self) -> Result<(), StoreError>;
}
