//! Documents: uploaded files and external links attached to customers, the blobs behind them,
//! customer logos, and their use cases.

mod document;
pub mod logo;
pub(crate) mod ports;
pub mod service;

pub use document::*;
