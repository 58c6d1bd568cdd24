//! The customer ports: customers and their reference data.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::customers::reference_data::Record;
use crate::customers::search::{ScoredCustomer, SearchQuery};
use crate::customers::{
    AccountHolder, Customer, CustomerData, CustomerKey, CustomerQuery, Revision,
};
use crate::ids::CustomerId;
use crate::listing::{Page, PageRequest};
use crate::ports::*;

/// A customer about to be inserted.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCustomer {
    /// Its UUID (given by the client on `PUT`, else random).
    pub uuid: Uuid,
    /// Its fields.
    pub data: CustomerData,
    /// Creation time; also its first `lastUpdated`.
    pub now: DateTime<Utc>,
    /// Documents to attach in the same transaction.
    pub links: DocumentLinks,
}

/// Customers, live and archived.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait CustomerRepository: Send + Sync {
    /// One page of live customers matching the query, with the total.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn list(&self, query: &CustomerQuery) -> Result<Page<Customer>, StoreError>;

    /// One page of the live customers matching any of the query's tokens, ordered by
    /// [`crate::customers::search::score`] (highest first), then id; the total counts every match.
    ///
    /// # Errors
    /// [`StoreError`] only; no query text can make the engine fail.
    async fn search(&self, query: &SearchQuery) -> Result<Page<ScoredCustomer>, StoreError>;

    /// The live customer a key names, or `None`.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn get(&self, key: &CustomerKey) -> Result<Option<Customer>, StoreError>;

    /// The live customer a key names, as its credit account sees it (one row), or `None`.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn holder(&self, key: &CustomerKey) -> Result<Option<AccountHolder>, StoreError>;

    /// The ids of a customer's ancestors, nearest first (empty for a top-level customer).
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn ancestors(&self, id: CustomerId) -> Result<Vec<CustomerId>, StoreError>;

    /// Inserts a customer with its payment types, contacts, projects and `links`, in one
    /// transaction.
    ///
    /// # Errors
    /// [`WriteError::DuplicateReference`] when a live customer has the reference (from the
    /// unique index, so racing inserts end here), [`WriteError::DanglingReference`] when a
    /// referenced row is gone, [`WriteError::UnknownDocument`] and
    /// [`WriteError::TooManyDocuments`] for links that cannot be made.
    async fn insert(&self, customer: &NewCustomer) -> Result<Customer, WriteError>;

    /// Replaces a live customer's data (with payment types, contacts and projects) and
    /// attaches `links`, in one transaction, if its row is still at revision `read` (the one
    /// the data was merged onto), moving the row to the next revision. Returns `None` when no
    /// live customer has the id. `by` is the user making the change: a changed credit limit's
    /// history row names it.
    ///
    /// # Errors
    /// As [`CustomerRepository::insert`], and [`WriteError::Stale`] when the row has moved on
    /// from `read` (checked in the write's own statement, so two racing writes never both
    /// pass); [`WriteError::OwnAncestor`] for a move under the customer itself or one of its
    /// descendants, checked under a lock that racing moves take in turn.
    async fn update(
        &self,
        id: CustomerId,
        read: Revision,
        data: &CustomerData,
        links: &DocumentLinks,
        by: Option<crate::ids::UserId>,
        now: DateTime<Utc>,
    ) -> Result<Option<Customer>, WriteError>;

    /// Archives a live customer: it leaves every query and frees its reference. Returns
    /// `false` when no live customer has the id. The check for live sub-customers, and for
    /// the revision when `read` names one, happens in the same transaction as the archiving.
    ///
    /// # Errors
    /// [`RemoveError::InUse`] while live sub-customers exist, [`RemoveError::Stale`] when
    /// the row is no longer at revision `read`.
    async fn archive(
        &self,
        id: CustomerId,
        read: Option<Revision>,
        now: DateTime<Utc>,
    ) -> Result<bool, RemoveError>;
}

/// One kind of reference data (see [`Record`]).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait RecordRepository<R: Record>: Send + Sync {
    /// One page, ordered by id, with the total.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn list(&self, page: PageRequest) -> Result<Page<R>, StoreError>;

    /// The row with this id, or `None`.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn get(&self, id: R::Id) -> Result<Option<R>, StoreError>;

    /// The row with this reference (exact, case-sensitive), or `None`. Kinds without
    /// references (regions, currencies) look the text up as an id.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn find_by_reference(&self, reference: &str) -> Result<Option<R>, StoreError>;

    /// Inserts a row.
    ///
    /// # Errors
    /// [`WriteError::DuplicateReference`] on the unique index, [`WriteError::DanglingReference`]
    /// when a parent or customer it names is gone.
    async fn create(&self, draft: R::Draft) -> Result<R, WriteError>;

    /// Replaces a row while it meets `only_if` (tested under the row's lock in the write's
    /// own transaction); `None` when it does not exist.
    ///
    /// # Errors
    /// As [`RecordRepository::create`]; [`WriteError::Stale`] when the row no longer meets
    /// `only_if` (nothing is written).
    async fn update(
        &self,
        id: R::Id,
        draft: R::Draft,
        only_if: Precondition<R>,
    ) -> Result<Option<R>, WriteError>;

    /// Deletes a row; `false` when it does not exist.
    ///
    /// # Errors
    /// [`RemoveError::InUse`] while customers or child rows point to it.
    async fn delete(&self, id: R::Id) -> Result<bool, RemoveError>;
}
