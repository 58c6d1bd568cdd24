//! Events: what happened to a customer, recorded by the store in the same transaction as the
//! change (a transactional outbox), read back as a feed, and later delivered to webhooks.
//!
//! An event's object is the resource after the change, as the API shows it. The domain does
//! not know that representation, and the store must write it inside the change's
//! transaction, so the store asks an [`EventEncoder`] (a port the HTTP adapter implements)
//! to turn the domain object into its text there and then.

mod kind;
pub(crate) mod ports;
mod retry;
mod service;
pub mod signature;

use chrono::{DateTime, Utc};

pub use kind::{EventType, TypePattern, UnknownEventType};
pub use ports::{EventEncoder, EventFeed};
pub use retry::RetryPolicy;
pub use service::{EventError, EventService};

use crate::catalog::Task;
use crate::credit::{CreditAccount, LedgerEntry, LimitRequest, Money, Reservation};
use crate::customers::Customer;
use crate::documents::Document;
use crate::ids::CustomerId;

/// An event's id: its row, shown as `evt_<n>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId(pub i64);

impl EventId {
    /// The prefix of the shown form.
    pub const PREFIX: &'static str = "evt_";

    /// Reads the shown form (`evt_42`); `None` for anything else.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let digits = text.strip_prefix(Self::PREFIX)?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().filter(|n| *n > 0).map(Self)
    }
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", Self::PREFIX, self.0)
    }
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Its id; ids grow, but the feed's order is the store's (see [`EventFeed`]).
    pub id: EventId,
    /// What happened.
    pub kind: EventType,
    /// When the change was applied.
    pub created_at: DateTime<Utc>,
    /// The customer it happened to (for money, the account holder).
    pub customer: CustomerId,
    /// That customer's reference at the time.
    pub customer_reference: String,
    /// That customer's events counted from 1, without gaps, in the order of the changes.
    pub sequence: i64,
    /// The resource after the change, as the [`EventEncoder`] wrote it (JSON text).
    pub object: String,
}

/// A refused admission: nothing moved, so the refusal itself is the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The account that would have paid.
    pub account: CustomerId,
    /// The customer the order was for.
    pub customer: CustomerId,
    /// What was asked for.
    pub requested: Money,
    /// What was available.
    pub available: Money,
    /// What the order was for.
    pub description: Option<String>,
    /// When it was refused.
    pub at: DateTime<Utc>,
}

/// A credit alert that fired: a movement took `available` from at least `threshold` to below.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThresholdCrossing {
    /// The threshold crossed.
    pub threshold: Money,
    /// What is available after the movement.
    pub available: Money,
    /// The movement.
    pub movement: LedgerEntry,
}

/// The resource an event carries, borrowed from the change that writes it.
#[derive(Debug, Clone, Copy)]
pub enum EventObject<'a> {
    /// `customer.*`.
    Customer(&'a Customer),
    /// `account.payment`, `account.charge`, `account.adjustment`.
    Entry(&'a LedgerEntry),
    /// `account.credit_limit_changed`.
    Account(&'a CreditAccount),
    /// `reservation.admitted`, `.captured`, `.released`, `.expired`.
    Reservation(&'a Reservation),
    /// `reservation.refused`.
    Refusal(&'a Refusal),
    /// `task.*`.
    Task(&'a Task),
    /// `document.*`.
    Document(&'a Document),
    /// `account.threshold_crossed`.
    Threshold(&'a ThresholdCrossing),
    /// `credit_limit_request.*`.
    LimitRequest(&'a LimitRequest),
}

/// Whether an event of `kind` about `customer` is withheld from the scope of the tree under
/// `root` (a reseller's, whose own customer `root` is): the events that show `root`'s own
/// record and documents are the operator's (decision 0048); every other event of the tree is
/// in scope.
#[must_use]
pub fn withheld_from_scope(root: CustomerId, customer: CustomerId, kind: EventType) -> bool {
    customer == root && kind.shows_the_record()
}

/// What to list from the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventQuery {
    /// Only events after this one in the feed's order.
    pub after: Option<EventId>,
    /// Only these types (any, when empty).
    pub types: Vec<TypePattern>,
    /// Only this customer's events.
    pub customer: Option<CustomerId>,
    /// Only events of this customer and the customers below it (a reseller's scope), less
    /// those [`withheld_from_scope`].
    pub within: Option<CustomerId>,
    /// At most this many.
    pub max: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_back_what_they_show() {
        assert_eq!(EventId::parse("evt_42"), Some(EventId(42)));
        assert_eq!(EventId(42).to_string(), "evt_42");
        for bad in ["42", "evt_", "evt_-1", "evt_0", "evt_4x", "evt_ 4", "EVT_4"] {
            assert_eq!(EventId::parse(bad), None, "{bad}");
        }
    }
}
