//! How a credit use case fails: the outcomes a handler maps to a status (`CreditError`) and
//! the rules of the input it breaks (`CreditRule`), which the domain names and HTTP words.

use crate::credit::{EmptyPeriod, Money, MoneyError, ReservationId};
use crate::customers::CustomerKey;
use crate::input::InputError;
use crate::ports::StoreError;
use crate::values::CreditLimitError;

/// Why a credit use case failed. One enum for the account's use cases: they share every
/// outcome but the refusal, and a handler maps each variant once.
#[derive(Debug, thiserror::Error)]
pub enum CreditError {
    /// The caller's role may not use this function: `403`.
    #[error("{}", crate::services::FORBIDDEN)]
    Forbidden,
    /// No such customer in the caller's scope: `404`.
    #[error("The customer with the id {0} doesn't exist.")]
    NotFound(CustomerKey),
    /// The account did not exist yet at the instant asked for: `404`.
    #[error("The account did not exist yet at {}.", .0.format("%Y-%m-%dT%H:%M:%SZ"))]
    NotYetOpen(chrono::DateTime<chrono::Utc>),
    /// No such reservation on the account: `404`.
    #[error("The reservation with the id {0} doesn't exist.")]
    ReservationNotFound(ReservationId),
    /// No such entry in the account's ledger: `404`.
    #[error("The ledger entry with the id {0} doesn't exist.")]
    EntryNotFound(i64),
    /// The reservation was already captured, released or expired: `409`.
    #[error("The reservation {0} is not open.")]
    ReservationClosed(ReservationId),
    /// Bad input: `400`.
    #[error(transparent)]
    Input(#[from] InputError),
    /// Not enough credit: `422 credit_limit_exceeded` with both amounts.
    #[error("The requested amount {requested} exceeds the available credit {available}.")]
    Refused {
        /// What was available.
        available: Money,
        /// What was asked for (in the account currency).
        requested: Money,
    },
    /// The customer is on hold: `422 customer_on_hold`.
    #[error("The customer is on hold: {}", .0.as_deref().unwrap_or("no reason given"))]
    OnHold(Option<String>),
    /// The customer is inactive: `422 customer_inactive`.
    #[error("The customer is inactive.")]
    Inactive,
    /// The account changed since the client read it (its `If-Match` no longer holds):
    /// `412 precondition_failed`.
    #[error("The account has changed since it was read; read it again and repeat the change.")]
    Changed,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A rule of the credit use cases that a request breaks. The domain names the rule; the HTTP
/// adapter words it with the API's field names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditRule {
    /// The amount of a movement is no money in the account currency.
    #[error("amount: {0}")]
    Amount(MoneyError),
    /// A new credit limit that does not fit the currency.
    #[error("credit limit: {0}")]
    Limit(CreditLimitError),
    /// A payment, a charge or a reservation of zero or less.
    #[error("the amount must be greater than 0")]
    AmountNotPositive,
    /// An adjustment of zero.
    #[error("an adjustment cannot be 0")]
    AdjustmentZero,
    /// An adjustment without a reason.
    #[error("an adjustment needs a reason")]
    ReasonRequired,
    /// A kind of entry that is not posted by hand (a capture, a release).
    #[error("only payments, charges and adjustments are posted")]
    NotPosted,
    /// A reservation's lifetime out of range.
    #[error("a reservation expires in 1 to {max} seconds")]
    ExpiryOutOfRange {
        /// The longest lifetime, in seconds.
        max: i64,
    },
    /// A capture of less than nothing.
    #[error("a captured amount cannot be negative")]
    AmountNegative,
    /// A capture of more than the reservation holds.
    #[error("the captured amount cannot exceed the reserved amount")]
    CaptureExceeds,
    /// An alert threshold the currency cannot hold.
    #[error("alert threshold: {0}")]
    Threshold(MoneyError),
    /// More alert thresholds than an account may have.
    #[error("at most {max} alert thresholds")]
    TooManyAlerts {
        /// The most.
        max: usize,
    },
    /// A statement's period that ends before it starts.
    #[error("{0}")]
    Period(EmptyPeriod),
}

impl From<CreditRule> for InputError {
    fn from(rule: CreditRule) -> Self {
        Self::Credit(rule)
    }
}

impl From<CreditRule> for CreditError {
    fn from(rule: CreditRule) -> Self {
        Self::Input(rule.into())
    }
}

impl From<MoneyError> for CreditError {
    fn from(e: MoneyError) -> Self {
        CreditRule::Amount(e).into()
    }
}
