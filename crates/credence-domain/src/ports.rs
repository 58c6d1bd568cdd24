//! Outbound ports: what the domain needs from storage and the world. Adapters implement them;
//! services hold them as `Arc<dyn Port>`. Each method's `# Errors` is the adapter's contract.
//!
//! Each capability keeps its own ports beside its types (`customers/ports.rs`,
//! `credit/ports.rs`, ...); this module holds what they share (the store's error kinds, the
//! clock, readiness) and re-exports every port, so an adapter finds them all in one place.

pub use crate::access::ports::*;
pub use crate::catalog::ports::*;
pub use crate::credit::ports::*;
pub use crate::credit::requests::*;
pub use crate::customers::import::units::*;
pub use crate::customers::ports::*;
pub use crate::documents::ports::*;
pub use crate::events::ports::*;
pub use crate::webhooks::ports::*;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A condition on the stored row a write replaces, checked in the write's own transaction
/// while it holds the row, so that no other write gets in between: the write goes ahead only
/// while the condition holds of the row as it is then (`None`: there is none). HTTP builds it
/// from `If-Match`; without one, [`Precondition::none`] always holds and costs nothing.
pub struct Precondition<T>(Option<Arc<Holds<T>>>);

/// The test a [`Precondition`] makes of the stored row (`None`: there is none).
type Holds<T> = dyn Fn(Option<&T>) -> bool + Send + Sync;

impl<T> Precondition<T> {
    /// No condition: the write goes ahead whatever is stored.
    #[must_use]
    pub fn none() -> Self {
        Self(None)
    }

    /// The write goes ahead only while `holds` says so of the stored row.
    #[must_use]
    pub fn new(holds: impl Fn(Option<&T>) -> bool + Send + Sync + 'static) -> Self {
        Self(Some(Arc::new(holds)))
    }

    /// Whether there is a condition to check (and so a row to read and hold first).
    #[must_use]
    pub fn is_set(&self) -> bool {
        self.0.is_some()
    }

    /// Whether the write may go ahead over `current`.
    #[must_use]
    pub fn holds(&self, current: Option<&T>) -> bool {
        self.0.as_ref().is_none_or(|holds| holds(current))
    }
}

impl<T: 'static> Precondition<T> {
    /// Both conditions: the write goes ahead only while each holds.
    #[must_use]
    pub fn and(self, other: Self) -> Self {
        match (self.0, other.0) {
            (Some(first), Some(second)) => Self::new(move |row| first(row) && second(row)),
            (first, second) => Self(first.or(second)),
        }
    }
}

/// A copy tests the same thing: a write that may run again (a batch that failed, run alone)
/// keeps its condition.
impl<T> Clone for Precondition<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> std::fmt::Debug for Precondition<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_set() {
            "Precondition(set)"
        } else {
            "Precondition(none)"
        })
    }
}

/// What a write under a [`Precondition`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conditioned<T> {
    /// The condition held (or there was none) and the write answered this.
    Done(T),
    /// The stored row no longer met the condition: nothing was written.
    Unmet,
}

impl<T> Conditioned<T> {
    /// What the write answered, if it was made.
    #[must_use]
    pub fn done(self) -> Option<T> {
        match self {
            Self::Done(answer) => Some(answer),
            Self::Unmet => None,
        }
    }
}

/// A failure of the storage itself, not of the request.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot serve the call now, and a later try may succeed: no connection
    /// in time (pool exhausted, database down), or a write that kept colliding with others
    /// through every retry. Answer `503`.
    #[error("the database could not serve the call now")]
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
    /// The customer is no longer at the revision the write was made against: another write
    /// changed it since it was read (see [`crate::customers::Revision`]).
    #[error("the customer changed since it was read")]
    Stale,
    /// The write's parent is the customer itself or, since a move that got in first, one of
    /// its descendants: the link would close a cycle.
    #[error("the customer would be its own ancestor")]
    OwnAncestor,
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
    /// The customer is no longer at the revision the archive was made against.
    #[error("the customer changed since it was read")]
    Stale,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The time, so tests can fix it.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait Clock: Send + Sync {
    /// Now, in UTC, truncated to whole seconds (the wire precision).
    fn now(&self) -> DateTime<Utc>;

    /// Now, as precisely as the clock knows: for schedules and durations shorter than a
    /// second (webhook retries). A fixed clock answers [`Self::now`].
    fn precise_now(&self) -> DateTime<Utc> {
        self.now()
    }
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        let now = Utc::now();
        DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now)
    }

    fn precise_now(&self) -> DateTime<Utc> {
        Utc::now()
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
