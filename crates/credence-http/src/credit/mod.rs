//! Credit accounts on the wire: the account routes under `/customers/{id}/account` (limit,
//! payments, charges, adjustments, reservations, quotes, the ledger) and their DTOs.

pub(crate) mod dto;
pub(crate) mod handlers;
