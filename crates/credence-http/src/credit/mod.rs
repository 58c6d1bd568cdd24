//! Credit accounts on the wire: the account routes under `/customers/{id}/account` (limit,
//! payments, charges, adjustments, reservations, quotes, the ledger, statements), the
//! four-eyes credit-limit requests, the bodies they read and their DTOs.

pub(crate) mod dto;
pub(crate) mod form;
pub(crate) mod handlers;
pub(crate) mod overview;
pub(crate) mod requests;
pub(crate) mod statement;
