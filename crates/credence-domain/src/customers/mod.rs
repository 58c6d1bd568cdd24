//! Customers: the master data, its hierarchy and reference data, search, and the use cases
//! that create, change, list and remove them.

mod changes;
mod customer;
pub mod hierarchy;
pub mod import;
pub(crate) mod ports;
pub mod records;
pub mod reference_data;
mod revision;
pub mod search;
pub mod service;
pub mod texts;

pub use changes::{
    AddressChanges, CustomerChanges, CustomerRule, Defaults, MAX_PROJECTS, OwnControl, RefKey,
    Resolved, project_name,
};
pub use customer::*;
pub use revision::Revision;
pub use texts::{CustomerTexts, TextChanges};
