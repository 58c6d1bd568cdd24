//! Credit: exact money, the account rules, reservations, the append-only ledger, and the
//! use cases that move money and admit orders, and the four-eyes limit requests.

mod account;
mod alerts;
pub mod approvals;
mod errors;
mod history;
mod ledger;
mod money;
mod overview;
pub(crate) mod ports;
pub mod requests;
pub mod service;
mod statement;

pub use account::{AccountError, CreditAccount, CreditRefused};
pub use alerts::{Crossing, MAX_ALERTS, crossing};
pub use errors::CreditRule;
pub use history::LimitChange;
pub use ledger::{
    EntryKind, LedgerEntry, LedgerFilter, Reservation, ReservationFilter, ReservationId,
    ReservationStatus,
};
pub use money::{Money, MoneyError};
pub use overview::{
    AccountLine, AccountQuery, AccountSort, UTILIZATION_SCALE, Utilization, UtilizationError,
};
pub use requests::{
    Decision, LimitRequest, LimitRequestError, LimitRequestFilter, LimitRequestId,
    LimitRequestStatus, NewLimitRequest,
};
pub use statement::{
    EmptyPeriod, KindSum, Period, PeriodBounds, Standing, StatementSink, StatementSummary, Totals,
    Unbalanced,
};
