//! The credit ports: the account ledger (admissions, settlements, postings) and the
//! idempotency keys of money-moving requests.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::ids::CustomerId;
use crate::listing::{Page, PageRequest};
use crate::ports::*;

/// An admission to perform atomically: check and reserve in one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    /// The account that pays (the customer, or its parent for `billWithParent`).
    pub account: CustomerId,
    /// The customer the order is for.
    pub customer: CustomerId,
    /// The cost, in the paying account's currency (> 0).
    pub amount: crate::credit::Money,
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
    /// Signed change of the balance, in the account currency (never 0).
    pub balance_delta: crate::credit::Money,
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
    /// The ordering customer was put on hold (with this reason) before the admission's
    /// transaction, after the service read it.
    #[error("the customer is on hold")]
    OnHold(Option<String>),
    /// The ordering customer was deactivated before the admission's transaction, after the
    /// service read it.
    #[error("the customer is inactive")]
    Inactive,
    /// The movement would take the account's balance or reserved amount beyond what its
    /// amounts hold (64-bit minor units), decided inside the store's transaction.
    #[error("the account's amounts would overflow")]
    TooLarge,
    /// The account, as a read would show it, no longer met the write's [`Precondition`]:
    /// nothing was written, decided under the account's lock.
    #[error("the account no longer meets the write's condition")]
    Unmet,
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
    /// As [`AdmitError::Unmet`].
    #[error("the account no longer meets the write's condition")]
    Unmet,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Credit accounts, reservations and the ledger. Every method that changes an account runs in
/// one transaction that writes the account, the ledger entry (and the reservation) together.
///
/// The writes a client makes take `only_if`, a [`Precondition`] on the paying account as
/// [`AccountLedger::account`] would show it at the write's `now`: the store tests it after
/// locking the account and before moving anything (after an idempotent repeat is recognised,
/// which answers as before), and answers `Unmet` when it fails. Without a condition it costs
/// nothing.
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
    /// [`AdmitError::Refused`] with the available and requested amounts;
    /// [`AdmitError::OnHold`] or [`AdmitError::Inactive`] when the ordering customer, as its
    /// row is under the admission's lock, may not order.
    async fn admit(
        &self,
        admission: &Admission,
        only_if: Precondition<crate::credit::CreditAccount>,
    ) -> Result<crate::credit::Reservation, AdmitError>;

    /// Captures an open reservation (`amount` defaults to all of it; the rest is released).
    /// `idempotency` (as [`Admission::idempotency`]) tags the ledger entry: a repeat with the
    /// same tag answers the settled reservation and moves nothing.
    ///
    /// # Errors
    /// [`SettleError`].
    #[allow(
        clippy::too_many_arguments,
        reason = "the facts of one capture, each of its own type; a struct would only rename them"
    )]
    async fn capture(
        &self,
        account: CustomerId,
        reservation: crate::credit::ReservationId,
        amount: Option<crate::credit::Money>,
        user: Option<crate::ids::UserId>,
        now: DateTime<Utc>,
        idempotency: Option<String>,
        only_if: Precondition<crate::credit::CreditAccount>,
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
        only_if: Precondition<crate::credit::CreditAccount>,
    ) -> Result<crate::credit::Reservation, SettleError>;

    /// Posts a payment, charge or adjustment (charges are never refused for credit).
    ///
    /// # Errors
    /// [`AdmitError::NoAccount`] when the account does not exist.
    async fn post(
        &self,
        posting: &Posting,
        only_if: Precondition<crate::credit::CreditAccount>,
    ) -> Result<crate::credit::LedgerEntry, AdmitError>;

    /// Sets the credit limit and records it in the limit history, with who and why.
    ///
    /// # Errors
    /// [`AdmitError::NoAccount`] when the account does not exist.
    async fn set_credit_limit(
        &self,
        account: CustomerId,
        limit: crate::values::CreditLimit,
        user: Option<crate::ids::UserId>,
        reason: Option<String>,
        now: DateTime<Utc>,
        only_if: Precondition<crate::credit::CreditAccount>,
    ) -> Result<crate::credit::CreditAccount, AdmitError>;

    /// The account as it stood at `at`: balance and reserved amount replayed from the ledger
    /// entries written up to then, and the last limit set up to then. `None` when the account
    /// did not exist yet (no limit set up to then) or does not exist.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn account_as_of(
        &self,
        account: CustomerId,
        at: DateTime<Utc>,
    ) -> Result<Option<crate::credit::CreditAccount>, StoreError>;

    /// Reads the statement of `account` for `period` into `sink`, from one snapshot of the
    /// ledger: the figures first (the account as the period opened, the period's sums by
    /// kind, the account as it closed), then the period's entries, oldest first, a page at a
    /// time, until the sink says stop. A long statement is therefore never held whole, and
    /// its entries always add up to its figures. `false` when there is no account.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn statement(
        &self,
        account: CustomerId,
        period: crate::credit::Period,
        sink: Box<dyn crate::credit::StatementSink>,
    ) -> Result<bool, StoreError>;

    /// One page of the accounts of live customers that pass `query`, in its order, with
    /// how many pass.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn overview(
        &self,
        query: &crate::credit::AccountQuery,
    ) -> Result<Page<crate::credit::AccountLine>, StoreError>;

    /// One page of an account's credit-limit history, newest first.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn limit_history(
        &self,
        account: CustomerId,
        page: PageRequest,
    ) -> Result<Page<crate::credit::LimitChange>, StoreError>;

    /// The account's alert thresholds, highest first; `None` when there is no account.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn alerts(
        &self,
        account: CustomerId,
    ) -> Result<Option<Vec<crate::credit::Money>>, StoreError>;

    /// Replaces the account's alert thresholds (all armed); `false` when there is no account.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn set_alerts(
        &self,
        account: CustomerId,
        thresholds: &[crate::credit::Money],
    ) -> Result<bool, StoreError>;

    /// One page of an account's ledger entries that pass `filter`, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn ledger(
        &self,
        account: CustomerId,
        filter: crate::credit::LedgerFilter,
        page: PageRequest,
    ) -> Result<Page<crate::credit::LedgerEntry>, StoreError>;

    /// One entry of an account's ledger; `None` when the account has no entry `id`.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn entry(
        &self,
        account: CustomerId,
        id: i64,
    ) -> Result<Option<crate::credit::LedgerEntry>, StoreError>;

    /// One reservation held on an account; `None` when the account holds no reservation `id`.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn reservation(
        &self,
        account: CustomerId,
        id: crate::credit::ReservationId,
    ) -> Result<Option<crate::credit::Reservation>, StoreError>;

    /// One page of an account's reservations that pass `filter`, newest first.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn reservations(
        &self,
        account: CustomerId,
        filter: crate::credit::ReservationFilter,
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
