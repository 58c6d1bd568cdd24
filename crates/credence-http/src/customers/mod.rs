//! Customers on the wire: the customer routes (projects included) and their representation,
//! the customer body as a client writes it, its bulk import, and the reference-data routes (categories,
//! segmentations, payment types, regions, currencies, users) with their DTOs and the forms
//! their bodies are read into.

mod conditions;
pub(crate) mod dto;
pub(crate) mod form;
pub(crate) mod handlers;
pub(crate) mod import;
pub(crate) mod records;
pub(crate) mod records_dto;
pub(crate) mod records_form;
