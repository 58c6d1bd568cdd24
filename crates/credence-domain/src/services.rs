//! Use cases: plain structs of ports with one method per use case. Every method takes the
//! calling [`crate::Principal`], so scope is decided here and no adapter can forget it.
//!
//! Each service lives with its capability (`customers/service.rs`, `credit/service.rs`, ...);
//! this module re-exports them for the composition root.

/// The description of every `403`: the caller's role may not use the function.
pub const FORBIDDEN: &str = "You are not allowed to use this function.";

pub use crate::access::service::{
    AuthService, AuthenticateError, CreatedKey, IssueKeyError, ManageKeysError,
};
pub use crate::catalog::orders::{OrderError, OrderService, SubmitTask};
pub use crate::credit::approvals::{ApprovalError, LimitApprovals, LimitOutcome, needs_approval};
pub use crate::credit::service::{AccountService, CreditError, Quote, ReserveRequest};
pub use crate::customers::import::{
    CustomerImports, ImportMode, ImportRow, ImportRowError, ImportRun, Imported,
};
pub use crate::customers::records::{
    DeleteRecordError, GetRecordError, ListRecordsError, RecordService, SaveRecordError,
};
pub use crate::customers::service::{
    CreateCustomerError, CustomerService, DeleteCustomerError, GetCustomerError,
    ListCustomersError, ProjectError, ReferencePorts, Saved, UpdateCustomerError,
};
pub use crate::documents::service::{Content, DocumentError, DocumentService, Media, ORPHAN_GRACE};
pub use crate::events::{EventError, EventService};
pub use crate::webhooks::{
    CreatedEndpoint, WebhookError, WebhookInput, WebhookPolicy, WebhookService,
};
