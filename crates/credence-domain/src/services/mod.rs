//! Use cases: plain structs of ports with one method per use case. Every method takes the
//! calling [`crate::Principal`], so scope is decided here and no adapter can forget it.

pub mod accounts;
pub mod auth;
pub mod customers;
pub mod documents;
pub mod orders;
mod principal_cache;
pub mod records;
pub mod scope;

/// The description of every `403`: the caller's role may not use the function.
pub const FORBIDDEN: &str = "You are not allowed to use this function.";

pub use accounts::{AccountService, CreditError, Quote, ReserveRequest};
pub use auth::{AuthService, AuthenticateError, CreatedKey, IssueKeyError, ManageKeysError};
pub use customers::{
    CreateCustomerError, CustomerService, DeleteCustomerError, GetCustomerError,
    ListCustomersError, ProjectError, ReferencePorts, Saved, UpdateCustomerError,
};
pub use documents::{Content, DocumentError, DocumentService, Media, ORPHAN_GRACE};
pub use orders::{OrderError, OrderService, SubmitTask};
pub use records::{
    DeleteRecordError, GetRecordError, ListRecordsError, RecordService, SaveRecordError,
};
