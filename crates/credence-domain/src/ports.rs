//! Outbound ports: what the domain needs from storage and the world. Adapters implement them;
//! services hold them as `Arc<dyn Port>`. Each method's `# Errors` is the adapter's contract.

mod catalog;
mod credit;
mod documents;

pub use catalog::*;
pub use credit::*;
pub use documents::*;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::customer::{AccountHolder, Customer, CustomerData, CustomerKey, CustomerQuery};
use crate::document::{BlobKey, Document};
use crate::ids::CustomerId;
use crate::listing::{Page, PageRequest};
use crate::logo::{ImageBounds, ImageError, ImageKind};
use crate::reference_data::Record;
use crate::search::{ScoredCustomer, SearchQuery};

/// A failure of the storage itself, not of the request.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No connection could be had in time (pool exhausted, database down): answer `503`.
    #[error("the database is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Anything else: a bug or a broken database; answer an opaque `500` and log the chain.
    #[error("unexpected storage failure")]
    Unexpected(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Why a write was refused by the store.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// A live row already has this reference (or code). Adapters must detect it from the
    /// unique index, not by reading first, so that a race ends here too.
    #[error("reference already used")]
    DuplicateReference,
    /// A row the write points to (a parent, a category...) vanished meanwhile.
    #[error("a referenced row does not exist")]
    DanglingReference,
    /// The customer's currency cannot change while its account holds a balance or
    /// reservations.
    #[error("the account holds money")]
    AccountInUse,
    /// The write's [`DocumentLinks`] would take the customer over its document limit.
    #[error("too many documents")]
    TooManyDocuments,
    /// A document the write's [`DocumentLinks`] attaches does not exist.
    #[error("no document {0}")]
    UnknownDocument(Uuid),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a delete was refused by the store.
#[derive(Debug, thiserror::Error)]
pub enum RemoveError {
    /// Other rows still point to this one (sub-customers, customers of a category...).
    #[error("the row is still referenced")]
    InUse,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

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
    /// [`crate::search::score`] (highest first), then id; the total counts every match.
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
    /// attaches `links`, in one transaction. Returns `None` when no live customer has the id.
    /// `by` is the user making the change: a changed credit limit's history row names it.
    ///
    /// # Errors
    /// As [`CustomerRepository::insert`].
    async fn update(
        &self,
        id: CustomerId,
        data: &CustomerData,
        links: &DocumentLinks,
        by: Option<crate::ids::UserId>,
        now: DateTime<Utc>,
    ) -> Result<Option<Customer>, WriteError>;

    /// Archives a live customer: it leaves every query and frees its reference. Returns
    /// `false` when no live customer has the id. The check for live sub-customers happens in
    /// the same transaction as the archiving.
    ///
    /// # Errors
    /// [`RemoveError::InUse`] while live sub-customers exist.
    async fn archive(&self, id: CustomerId, now: DateTime<Utc>) -> Result<bool, RemoveError>;
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

    /// Replaces a row; `None` when it does not exist.
    ///
    /// # Errors
    /// As [`RecordRepository::create`].
    async fn update(&self, id: R::Id, draft: R::Draft) -> Result<Option<R>, WriteError>;

    /// Deletes a row; `false` when it does not exist.
    ///
    /// # Errors
    /// [`RemoveError::InUse`] while customers or child rows point to it.
    async fn delete(&self, id: R::Id) -> Result<bool, RemoveError>;
}

/// The time, so tests can fix it.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait Clock: Send + Sync {
    /// Now, in UTC, truncated to whole seconds (the wire precision).
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        let now = Utc::now();
        DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now)
    }
}

/// Whether the service can do its work (`GET /health/ready`).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait Readiness: Send + Sync {
    /// Succeeds when the database answers a trivial query.
    ///
    /// # Errors
    /// [`StoreError`] when it does not.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// API keys (see [`crate::credentials`]).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Stores a new key.
    ///
    /// # Errors
    /// [`StoreError`] only (hashes of 32 random bytes do not collide).
    async fn create_key(
        &self,
        key: &crate::credentials::NewApiKey,
    ) -> Result<crate::credentials::ApiKey, StoreError>;

    /// The key with this hash, revoked or not, with its user. A live key's `last_used_at` is
    /// set to `now` on the way when it is a minute old or more (kept to the minute, so that
    /// authenticating is a read on almost every request).
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn find_by_hash(
        &self,
        hash: &crate::credentials::KeyHash,
        now: DateTime<Utc>,
    ) -> Result<Option<(crate::credentials::ApiKey, crate::reference_data::User)>, StoreError>;

    /// Every key of a user, revoked ones included, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn list_keys(
        &self,
        user: crate::ids::UserId,
    ) -> Result<Vec<crate::credentials::ApiKey>, StoreError>;

    /// Revokes a live key of a user; `false` when the user has no such live key.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn revoke_key(
        &self,
        user: crate::ids::UserId,
        key: crate::credentials::KeyId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}

/// Randomness for new secrets, so tests can fix it.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait SecretSource: Send + Sync {
    /// 32 bytes from a cryptographically secure generator.
    ///
    /// # Errors
    /// [`StoreError::Unexpected`] when the operating system cannot provide them.
    fn random_bytes(&self) -> Result<[u8; 32], StoreError>;
}
