//! Outbound ports: what the domain needs from storage and the world. Adapters implement them;
//! services hold them as `Arc<dyn Port>`. Each method's `# Errors` is the adapter's contract.

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

/// An admission to perform atomically: check and reserve in one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    /// The account that pays (the customer, or its parent for `billWithParent`).
    pub account: CustomerId,
    /// The customer the order is for.
    pub customer: CustomerId,
    /// The cost, in the account currency's minor units (> 0).
    pub amount: i64,
    /// The paying account's currency, which `amount` is in.
    pub currency: crate::values::CurrencyCode,
    /// What it is for.
    pub description: Option<String>,
    /// When it stops counting.
    pub expires_at: DateTime<Utc>,
    /// Who asks.
    pub user: Option<crate::ids::UserId>,
    /// Now.
    pub now: DateTime<Utc>,
    /// The caller's idempotency key (scoped): a second effect with the same tag is never
    /// applied; the first one is returned instead.
    pub idempotency: Option<String>,
}

/// A balance movement: a payment, a charge or an adjustment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    /// The account.
    pub account: CustomerId,
    /// `Payment`, `Charge` or `Adjustment`.
    pub kind: crate::credit::EntryKind,
    /// Signed change of the balance, minor units (never 0).
    pub balance_delta: i64,
    /// Description or reason.
    pub description: Option<String>,
    /// Who.
    pub user: Option<crate::ids::UserId>,
    /// Now.
    pub now: DateTime<Utc>,
    /// As [`Admission::idempotency`].
    pub idempotency: Option<String>,
}

/// Why an admission was refused by the store.
#[derive(Debug, thiserror::Error)]
pub enum AdmitError {
    /// Not enough credit, decided inside the store's transaction.
    #[error(transparent)]
    Refused(#[from] crate::credit::CreditRefused),
    /// The account does not exist.
    #[error("no such account")]
    NoAccount,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a capture or release was refused by the store.
#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    /// No such reservation on this account.
    #[error("no such reservation")]
    NotFound,
    /// Already captured, released or expired.
    #[error("the reservation is not open")]
    NotOpen,
    /// More than the reservation holds.
    #[error("The captured amount cannot exceed the reserved amount.")]
    Exceeds,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Credit accounts, reservations and the ledger. Every method that changes an account runs in
/// one transaction that writes the account, the ledger entry (and the reservation) together.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait AccountLedger: Send + Sync {
    /// A live customer's account, with its open, unexpired reservations counted in
    /// `reserved`; `None` for an unknown or archived customer. One read, so the marketplace's
    /// own-account answer costs one round trip.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn account(
        &self,
        customer: CustomerId,
        now: DateTime<Utc>,
    ) -> Result<Option<crate::credit::CreditAccount>, StoreError>;

    /// Admits a cost: releases the account's expired reservations, then reserves the amount
    /// only if it fits, as one conditional update that re-checks the available credit inside
    /// the transaction (never read-then-write), so racing admissions cannot both pass.
    ///
    /// # Errors
    /// [`AdmitError::Refused`] with the available and requested amounts.
    async fn admit(&self, admission: &Admission) -> Result<crate::credit::Reservation, AdmitError>;

    /// Captures an open reservation (`amount` defaults to all of it; the rest is released).
    /// `idempotency` (as [`Admission::idempotency`]) tags the ledger entry: a repeat with the
    /// same tag answers the settled reservation and moves nothing.
    ///
    /// # Errors
    /// [`SettleError`].
    async fn capture(
        &self,
        account: CustomerId,
        reservation: crate::credit::ReservationId,
        amount: Option<i64>,
        user: Option<crate::ids::UserId>,
        now: DateTime<Utc>,
        idempotency: Option<String>,
    ) -> Result<crate::credit::Reservation, SettleError>;

    /// Releases an open reservation; `idempotency` as for [`AccountLedger::capture`].
    ///
    /// # Errors
    /// [`SettleError`].
    async fn release(
        &self,
        account: CustomerId,
        reservation: crate::credit::ReservationId,
        user: Option<crate::ids::UserId>,
        now: DateTime<Utc>,
        idempotency: Option<String>,
    ) -> Result<crate::credit::Reservation, SettleError>;

    /// Posts a payment, charge or adjustment (charges are never refused for credit).
    ///
    /// # Errors
    /// [`AdmitError::NoAccount`] when the account does not exist.
    async fn post(&self, posting: &Posting) -> Result<crate::credit::LedgerEntry, AdmitError>;

    /// Sets the credit limit (>= 0) and records it in the limit history.
    ///
    /// # Errors
    /// [`AdmitError::NoAccount`] when the account does not exist.
    async fn set_credit_limit(
        &self,
        account: CustomerId,
        limit: i64,
        user: Option<crate::ids::UserId>,
        now: DateTime<Utc>,
    ) -> Result<crate::credit::CreditAccount, AdmitError>;

    /// One page of an account's ledger, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn ledger(
        &self,
        account: CustomerId,
        page: PageRequest,
    ) -> Result<Page<crate::credit::LedgerEntry>, StoreError>;

    /// One page of an account's reservations, newest first.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn reservations(
        &self,
        account: CustomerId,
        page: PageRequest,
    ) -> Result<Page<crate::credit::Reservation>, StoreError>;

    /// Expires up to `limit` open reservations whose time is up, each with a conditional
    /// update so two replicas never expire one twice. Returns how many it expired.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn sweep_expired(&self, now: DateTime<Utc>, limit: u32) -> Result<u64, StoreError>;
}

/// How a request with an `Idempotency-Key` starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyStart {
    /// First time: the key is now recorded as in progress; do the work, then `complete`.
    Started,
    /// Done before with this body: answer the stored answer.
    Replay {
        /// HTTP status of the first answer.
        status: u16,
        /// Its body.
        body: String,
    },
    /// The first request with this key is still running (its lease has not lapsed): `409`.
    InFlight,
    /// The key was used with another request body: `422`.
    Mismatch,
}

/// Idempotency keys (IETF draft semantics), scoped to the caller, kept 24 hours at least.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Records the key as in progress (with a lease) or reports how it was used before.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn start(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<IdempotencyStart, StoreError>;

    /// Stores the answer of a started key.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn complete(
        &self,
        scope: &str,
        key: &str,
        status: u16,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Forgets a started key whose request failed without effect, so it can be retried.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn abandon(&self, scope: &str, key: &str) -> Result<(), StoreError>;

    /// Deletes keys created before `before`; returns how many.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn purge(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// The product catalog.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ProductCatalog: Send + Sync {
    /// Every product (or only the available ones), ordered by code.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn products(
        &self,
        only_available: bool,
    ) -> Result<Vec<crate::catalog::Product>, StoreError>;

    /// One product, available or not.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn product(
        &self,
        code: &crate::catalog::ProductCode,
    ) -> Result<Option<crate::catalog::Product>, StoreError>;

    /// Creates or replaces a product with its attributes, in one transaction; `true` when it
    /// created it.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn save_product(
        &self,
        code: &crate::catalog::ProductCode,
        draft: &crate::catalog::ProductDraft,
    ) -> Result<(crate::catalog::Product, bool), StoreError>;

    /// Withdraws a product (`available = false`); `false` when it does not exist.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn withdraw_product(
        &self,
        code: &crate::catalog::ProductCode,
    ) -> Result<bool, StoreError>;
}

/// Filters of a task list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFilter {
    /// Only this customer's tasks (`None`: every customer, for operators).
    pub customer: Option<CustomerId>,
    /// Only tasks in this state.
    pub state: Option<crate::catalog::TaskState>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created at or before.
    pub created_until: Option<DateTime<Utc>>,
}

/// Why a task could not change state.
#[derive(Debug, thiserror::Error)]
pub enum MoveTaskError {
    /// No such task.
    #[error("no such task")]
    NotFound,
    /// The task is not in the state the move starts from any more (a racing move won).
    #[error("the task changed state meanwhile")]
    Conflict,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Task templates and tasks. Submitting a task and admitting its cost are one transaction;
/// finishing a task captures its reservation and cancelling it releases it, in the
/// transaction that changes its state.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait TaskBoard: Send + Sync {
    /// A customer's templates, ordered by code.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn templates(
        &self,
        customer: CustomerId,
    ) -> Result<Vec<crate::catalog::TaskTemplate>, StoreError>;

    /// One template of a customer.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn template(
        &self,
        customer: CustomerId,
        code: &str,
    ) -> Result<Option<crate::catalog::TaskTemplate>, StoreError>;

    /// Creates or replaces a template; `true` when it created it.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn save_template(
        &self,
        customer: CustomerId,
        code: &str,
        draft: &crate::catalog::TemplateDraft,
    ) -> Result<(crate::catalog::TaskTemplate, bool), StoreError>;

    /// Deletes a template; `false` when it does not exist.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn delete_template(&self, customer: CustomerId, code: &str) -> Result<bool, StoreError>;

    /// Admits the task's cost (exactly as [`AccountLedger::admit`], with `admission.amount`
    /// the task's amount) and creates the task in the same transaction: both or neither.
    ///
    /// # Errors
    /// [`AdmitError::Refused`] with both amounts.
    async fn submit(
        &self,
        task: &crate::catalog::TaskDraft,
        admission: &Admission,
    ) -> Result<crate::catalog::Task, AdmitError>;

    /// One page of tasks, newest first.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn tasks(
        &self,
        filter: &TaskFilter,
        page: PageRequest,
    ) -> Result<Page<crate::catalog::Task>, StoreError>;

    /// One task.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn task(
        &self,
        id: crate::catalog::TaskId,
    ) -> Result<Option<crate::catalog::Task>, StoreError>;

    /// Moves a task from `from` to `to` with a conditional update on `from`; `finished`
    /// captures the task's reservation (all of it) and `cancelled` releases it, in the same
    /// transaction.
    ///
    /// # Errors
    /// [`MoveTaskError::Conflict`] when the task is no longer in `from`.
    async fn move_task(
        &self,
        id: crate::catalog::TaskId,
        from: crate::catalog::TaskState,
        to: crate::catalog::TaskState,
        user: Option<crate::ids::UserId>,
        now: DateTime<Utc>,
    ) -> Result<crate::catalog::Task, MoveTaskError>;
}

/// Documents to attach to a customer in the same transaction as the customer's own write
/// (seed 004's `documents` on a customer create or update). Attaching is additive: a write
/// never detaches; `DELETE /customers/{id}/documents/{uuid}` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentLinks {
    /// Uploaded documents to attach; one already attached stays as it is.
    pub existing: Vec<Uuid>,
    /// New external documents to create and attach. One whose URL the customer already
    /// carries is not created again, so a retried update does not duplicate it.
    pub external: Vec<crate::document::Document>,
    /// The most documents the customer may hold after the write, checked in its transaction.
    pub max_per_customer: u32,
}

impl DocumentLinks {
    /// Nothing to attach.
    #[must_use]
    pub fn none() -> Self {
        Self {
            existing: Vec::new(),
            external: Vec::new(),
            max_per_customer: u32::MAX,
        }
    }

    /// Whether there is nothing to attach.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.existing.is_empty() && self.external.is_empty()
    }
}

impl Default for DocumentLinks {
    fn default() -> Self {
        Self::none()
    }
}

/// Bytes kept under a [`BlobKey`]: document content and logo renditions. Writers put the
/// bytes before the row that refers to them and delete them after that row is gone, so every
/// row's key has bytes behind it whatever crashes in between.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores `bytes` under `key`, replacing what was there. Durable when it returns.
    ///
    /// # Errors
    /// [`StoreError`] when the bytes could not be stored (nothing is then under `key`, or
    /// what was there before).
    async fn put(&self, key: &BlobKey, bytes: &[u8]) -> Result<(), StoreError>;

    /// The bytes under `key`, or `None`.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    async fn get(&self, key: &BlobKey) -> Result<Option<Vec<u8>>, StoreError>;

    /// Removes `key`; a missing key is not an error.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    async fn delete(&self, key: &BlobKey) -> Result<(), StoreError>;

    /// Up to `limit` keys, in ascending key order, strictly after `after` (from the first
    /// key when `None`), whose bytes were written (created or last replaced) before
    /// `written_before`. Paging with the last key of a page visits every key once; the
    /// orphan sweep uses it to find bytes no row names.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    async fn list<'a>(
        &self,
        after: Option<&'a BlobKey>,
        written_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<BlobKey>, StoreError>;
}

/// Why an attach was refused by the store.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// The customer already holds the most documents allowed.
    #[error("too many documents")]
    TooMany,
    /// The document or the customer does not exist (any more).
    #[error("no such document or customer")]
    Missing,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Document metadata and which customers carry each document.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait DocumentStore: Send + Sync {
    /// Inserts a document's metadata. For an upload, its blob is already stored.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails (a UUID collision included).
    async fn insert(&self, document: &Document) -> Result<(), StoreError>;

    /// One document, or `None`.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    async fn get(&self, uuid: Uuid) -> Result<Option<Document>, StoreError>;

    /// Writes a document's metadata (file name, description, internal, `updated_at`); the
    /// content never changes. Returns `false` when no document has the UUID.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    async fn update(&self, document: &Document) -> Result<bool, StoreError>;

    /// Attaches a document to a live customer, unless already attached (then it succeeds
    /// and changes nothing). The count check and the insert run in one transaction that
    /// serializes with other attaches to the same customer.
    ///
    /// # Errors
    /// [`AttachError::TooMany`] when the customer holds `max` documents already,
    /// [`AttachError::Missing`] when the document or the customer is gone.
    async fn attach(
        &self,
        customer: CustomerId,
        uuid: Uuid,
        max: u32,
        now: DateTime<Utc>,
    ) -> Result<(), AttachError>;

    /// Detaches a document from a customer. Returns `false` when it was not attached.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    async fn detach(&self, customer: CustomerId, uuid: Uuid) -> Result<bool, StoreError>;

    /// The live customers a document is attached to.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    async fn holders(&self, uuid: Uuid) -> Result<Vec<CustomerId>, StoreError>;

    /// The subset of `keys` some row names: a document's `blob_key` or `thumbnail_key`, or a
    /// rendition (`logos/{customer uuid}/{file}`, `file` being the original, `small_` or
    /// `medium_` one) of the logo a customer, live or archived, carries now. Keys of any
    /// other shape are not referenced. The orphan sweep deletes the keys left out.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails (never a partial answer: a key wrongly left out
    /// would have its bytes deleted).
    async fn referenced(&self, keys: &[BlobKey]) -> Result<Vec<BlobKey>, StoreError>;
}

/// Decodes and resizes images, off the async runtime (it is CPU work).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ImageRenderer: Send + Sync {
    /// Decodes `bytes` as `kind` and renders one copy per entry of `boxes`, each fitting a
    /// square of that many pixels (aspect kept, never enlarged), in the same format.
    /// The dimensions in the header are checked against `bounds` before any pixel is decoded.
    ///
    /// # Errors
    /// [`ImageError::TooManyPixels`] over `bounds`; [`ImageError::Undecodable`] for bytes
    /// that do not decode.
    async fn render(
        &self,
        bytes: &[u8],
        kind: ImageKind,
        bounds: ImageBounds,
        boxes: &[u32],
    ) -> Result<Vec<Vec<u8>>, ImageError>;
}
