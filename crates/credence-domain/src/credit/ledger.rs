//! Reservations and the append-only ledger. Every change to a balance or a reserved amount
//! writes one [`LedgerEntry`] with the amounts after it, so the ledger alone tells the story
//! and its sums always equal the account.

use chrono::{DateTime, Utc};

use super::Money;
use crate::ids::{CustomerId, UserId};
use crate::listing::TimeRange;

/// A reservation's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReservationId(pub i64);

impl std::fmt::Display for ReservationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a reservation stands. Only `Open` ones count against the available credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReservationStatus {
    /// Counting against the available credit.
    Open,
    /// Turned into a charge (possibly smaller).
    Captured,
    /// Given back.
    Released,
    /// Timed out, given back.
    Expired,
}

impl ReservationStatus {
    /// The wire and storage name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Captured => "captured",
            Self::Released => "released",
            Self::Expired => "expired",
        }
    }

    /// Parses a stored name.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "open" => Some(Self::Open),
            "captured" => Some(Self::Captured),
            "released" => Some(Self::Released),
            "expired" => Some(Self::Expired),
            _ => None,
        }
    }
}

/// Credit set aside for an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// Row id.
    pub id: ReservationId,
    /// The account it is held on (the payer: a parent for `billWithParent` customers).
    pub account: CustomerId,
    /// The customer the order is for.
    pub customer: CustomerId,
    /// Amount held, in the account currency.
    pub amount: Money,
    /// Amount captured, once captured.
    pub captured: Option<Money>,
    /// Where it stands.
    pub status: ReservationStatus,
    /// What it is for.
    pub description: Option<String>,
    /// When it stops counting unless captured or released first.
    pub expires_at: DateTime<Utc>,
    /// When it was admitted.
    pub created_at: DateTime<Utc>,
    /// When it was captured, released or expired.
    pub closed_at: Option<DateTime<Utc>>,
}

/// What a ledger entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// Money received: balance up.
    Payment,
    /// A real cost posted: balance down.
    Charge,
    /// A correction either way, with a reason.
    Adjustment,
    /// An admission: reserved up.
    Reservation,
    /// A capture: balance down by the captured amount, reserved down by the reservation.
    Capture,
    /// A release: reserved down.
    Release,
    /// An expiry: reserved down.
    Expiry,
}

impl EntryKind {
    /// The wire and storage name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Payment => "payment",
            Self::Charge => "charge",
            Self::Adjustment => "adjustment",
            Self::Reservation => "reservation",
            Self::Capture => "capture",
            Self::Release => "release",
            Self::Expiry => "expiry",
        }
    }

    /// Every kind, in the order the API lists them.
    pub const ALL: [Self; 7] = [
        Self::Payment,
        Self::Charge,
        Self::Adjustment,
        Self::Reservation,
        Self::Capture,
        Self::Release,
        Self::Expiry,
    ];

    /// Parses a stored name.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// Which ledger entries a list keeps: those written in a span of time, of one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LedgerFilter {
    /// When the entry was written (`dateCreated_*`).
    pub date_created: TimeRange,
    /// Only entries of this kind (`type`).
    pub kind: Option<EntryKind>,
}

/// Which reservations a list keeps: those admitted in a span of time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReservationFilter {
    /// When the reservation was admitted (`dateCreated_*`).
    pub date_created: TimeRange,
}

/// One line of an account's append-only history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// Row id (increasing).
    pub id: i64,
    /// The account.
    pub account: CustomerId,
    /// What happened.
    pub kind: EntryKind,
    /// Change of the balance.
    pub balance_delta: Money,
    /// Change of the reserved amount.
    pub reserved_delta: Money,
    /// Balance after the entry.
    pub balance_after: Money,
    /// Reserved amount after the entry.
    pub reserved_after: Money,
    /// Why (the description of a payment, the reason of an adjustment).
    pub description: Option<String>,
    /// The reservation it concerns.
    pub reservation: Option<ReservationId>,
    /// Who did it (`None` for the system: expiry sweeps).
    pub user: Option<UserId>,
    /// When.
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in [
            "payment",
            "charge",
            "adjustment",
            "reservation",
            "capture",
            "release",
            "expiry",
        ] {
            assert_eq!(EntryKind::parse(kind).map(EntryKind::as_str), Some(kind));
        }
        for status in ["open", "captured", "released", "expired"] {
            assert_eq!(
                ReservationStatus::parse(status).map(ReservationStatus::as_str),
                Some(status)
            );
        }
        assert_eq!(EntryKind::parse("gift"), None);
    }
}
