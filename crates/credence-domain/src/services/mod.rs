//! Use cases: plain structs of ports with one method per use case. Every method takes the
//! calling [`crate::Principal`], so scope is decided here and no adapter can forget it.

pub mod auth;
pub mod customers;
pub mod records;
pub mod scope;

pub use auth::{AuthService, AuthenticateError, CreatedKey, IssueKeyError, ManageKeysError};
pub use customers::{
    CreateCustomerError, CustomerService, DeleteCustomerError, GetCustomerError,
    ListCustomersError, ReferencePorts, Saved, UpdateCustomerError,
};
pub use records::{
    DeleteRecordError, GetRecordError, ListRecordsError, RecordService, SaveRecordError,
};
