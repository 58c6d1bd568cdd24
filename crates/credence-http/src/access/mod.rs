//! API keys on the wire: the routes that list, create and revoke a user's keys, and their
//! DTOs.

pub(crate) mod dto;
pub(crate) mod handlers;
