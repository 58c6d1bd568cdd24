//! The product catalog customers order from, task templates and tasks: products
//! with typed, localized attributes, the one rule that checks attribute values against a
//! product, and the task state machine.

mod attribute;
pub mod orders;
pub(crate) mod ports;
mod product;
mod task;

pub use attribute::{AttributeKind, AttributeOption, AttributeProblem, ProductAttribute};
pub use product::{
    CatalogRule, Locale, Localized, LocalizedError, Product, ProductCode, ProductDraft, localized,
};
pub use task::{
    AttributeValue, Task, TaskDraft, TaskId, TaskState, TaskTemplate, TemplateDraft,
    TransitionError,
};
