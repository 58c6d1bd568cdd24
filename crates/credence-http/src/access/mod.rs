//! API keys on the wire: the routes that list, create and revoke a user's keys, their DTOs,
//! and the body of a creation.

pub(crate) mod dto;
pub(crate) mod form;
pub(crate) mod handlers;
