//! Credit: exact money, the account rules, reservations, the append-only ledger, and the
//! use cases that move money and admit orders.

mod account;
mod alerts;
mod history;
mod ledger;
mod money;
pub(crate) mod ports;
pub mod service;

pub use account::{AccountError, CreditAccount, CreditRefused};
pub use alerts::{Crossing, MAX_ALERTS, crossing};
pub use history::LimitChange;
pub use ledger::{
    EntryKind, LedgerEntry, LedgerFilter, Reservation, ReservationFilter, ReservationId,
    ReservationStatus,
};
pub use money::{Money, MoneyError};
pub use service::CreditRule;
