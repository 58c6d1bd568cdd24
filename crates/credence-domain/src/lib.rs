//! Credence's domain: the customers, their reference data and the rules that keep them valid.
//!
//! This crate is pure. It knows nothing of HTTP, SQL or an async runtime: adapters reach it
//! through the port traits in [`ports`], and the use cases in [`services`] are plain structs
//! of those ports. Values in [`values`] validate on construction, so a `CustomerName` or a
//! `CountryCode` that exists is valid, and the rest of the code never checks again.
#![forbid(unsafe_code)]

pub mod access;
pub mod catalog;
pub mod credit;
pub mod customers;
pub mod documents;
pub mod events;
pub mod field;
#[cfg(feature = "fixtures")]
pub mod fixtures;
pub mod ids;
pub mod input;
pub mod listing;
pub mod ports;
pub mod services;
pub mod settings;
pub mod values;
pub mod webhooks;

pub use access::principal::{Principal, Role};
pub use ids::{CategoryId, CustomerId, PaymentTypeId, RegionId, SegmentationId, UserId};
pub use settings::Settings;
