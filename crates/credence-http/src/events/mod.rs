//! Events on the wire: the feed's routes, the event representation, and the encoder that
//! writes an event's object (the resource after the change) the way the API shows it.

pub(crate) mod dto;
mod encoder;
pub(crate) mod handlers;

pub use encoder::EventJson;
