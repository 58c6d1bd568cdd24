//! Webhook endpoints on the wire: their routes, their representation (never the secret, but
//! in the two answers that make one), and the reader of their bodies.

pub(crate) mod dto;
pub(crate) mod handlers;
mod input;
