//! Credence's domain: the customers, their reference data and the rules that keep them valid.
//!
//! This crate is pure. It knows nothing of HTTP, SQL or an async runtime: adapters reach it
//! through the port traits in [`ports`], and the use cases in [`services`] are plain structs
//! of those ports. Values in [`values`] validate on construction, so a `CustomerName` or a
//! `CountryCode` that exists is valid, and the rest of the code never checks again.
#![forbid(unsafe_code)]

pub mod catalog;
pub mod credentials;
pub mod credit;
pub mod customer;
pub mod document;
pub mod field;
#[cfg(feature = "fixtures")]
pub mod fixtures;
pub mod hierarchy;
pub mod ids;
pub mod input;
pub mod listing;
pub mod logo;
pub mod ports;
pub mod principal;
pub mod reference_data;
pub mod search;
pub mod services;
pub mod settings;
pub mod values;

pub use ids::{CategoryId, CustomerId, PaymentTypeId, RegionId, SegmentationId, UserId};
pub use principal::{Principal, Role};
pub use settings::Settings;
