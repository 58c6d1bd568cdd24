//! Webhook endpoints on the wire: their routes, their representation (never the secret, but
//! in the two answers that make one), and the readers of their bodies.

pub(crate) mod dto;
pub(crate) mod form;
pub(crate) mod handlers;
