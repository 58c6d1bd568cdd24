//! The catalog and orders on the wire: the back office's product and task-state routes
//! (`products.rs`), the marketplace's products, task templates and tasks (`orders.rs`) and
//! its own-account route (`marketplace.rs`); the catalog DTOs of both faces (`dto.rs`), the
//! product, template and task bodies as read and as their OpenAPI schemas describe them
//! (`input.rs`), the typed body of a task's state change (`form.rs`), and the marketplace's
//! `<x>_response` envelopes (`marketplace_dto.rs`).

pub(crate) mod dto;
pub(crate) mod form;
pub(crate) mod input;
pub(crate) mod marketplace;
pub(crate) mod marketplace_dto;
pub(crate) mod orders;
pub(crate) mod products;
