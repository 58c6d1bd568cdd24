//! Access: API keys, the principal a key authenticates as, who may reach which customer, and
//! the use cases that issue and revoke keys.

pub mod credentials;
pub(crate) mod ports;
pub mod principal;
mod principal_cache;
pub mod scope;
pub mod service;
