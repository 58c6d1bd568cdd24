//! The catalog adapters: products with their attributes ([`products`]), and task templates
//! and tasks ([`tasks`]), whose submission admits its cost in the same transaction.

mod products;
pub(crate) mod tasks;
