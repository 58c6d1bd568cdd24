//! Credit: exact money, the account rules, reservations and the append-only ledger.

mod account;
mod ledger;
mod money;

pub use account::{AccountError, CreditAccount, CreditRefused};
pub use ledger::{EntryKind, LedgerEntry, Reservation, ReservationId, ReservationStatus};
pub use money::{Money, MoneyError};
