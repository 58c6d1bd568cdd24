//! What can go wrong in the customer use cases: each operation's own error, and the
//! failures they are built from.

// Split from the parent module, whose imports it shares.
use super::*;

/// Why a list failed.
#[derive(Debug, thiserror::Error)]
pub enum ListCustomersError {
    /// The caller's role may not use this function: `403`.
    #[error("{}", crate::services::FORBIDDEN)]
    Forbidden,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a show failed.
#[derive(Debug, thiserror::Error)]
pub enum GetCustomerError {
    /// The caller's role may not use this function: `403`.
    #[error("{}", crate::services::FORBIDDEN)]
    Forbidden,
    /// `404 not_found`, naming the id or reference as given.
    #[error("The customer with the id {0} doesn't exist.")]
    NotFound(CustomerKey),
    /// `404 not_found`: the customer has no logo file of this name.
    #[error("The logo {0} doesn't exist.")]
    LogoNotFound(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a creation failed.
#[derive(Debug, thiserror::Error)]
pub enum CreateCustomerError {
    /// The caller's role may not use this function: `403`.
    #[error("{}", crate::services::FORBIDDEN)]
    Forbidden,
    /// Bad input (400 or 404, see [`InputError`]).
    #[error(transparent)]
    Input(#[from] InputError),
    /// A live customer has the reference: `400 not_unique`.
    #[error("reference already used")]
    DuplicateReference,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an update, an upsert or a replacement failed.
#[derive(Debug, thiserror::Error)]
pub enum UpdateCustomerError {
    /// The caller's role may not use this function: `403`.
    #[error("{}", crate::services::FORBIDDEN)]
    Forbidden,
    /// The customer to update does not exist.
    #[error("The customer with the id {0} doesn't exist.")]
    NotFound(CustomerKey),
    /// Bad input (400 or 404, see [`InputError`]).
    #[error(transparent)]
    Input(#[from] InputError),
    /// Another live customer has the reference: `400 not_unique`.
    #[error("reference already used")]
    DuplicateReference,
    /// The customer changed since the client read it (its `If-Match` no longer holds), or
    /// kept changing under this write: `412 precondition_failed`.
    #[error("The customer has changed since it was read; read it again and repeat the change.")]
    Changed,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a delete failed.
#[derive(Debug, thiserror::Error)]
pub enum DeleteCustomerError {
    /// The caller's role may not use this function: `403`.
    #[error("{}", crate::services::FORBIDDEN)]
    Forbidden,
    /// The customer does not exist.
    #[error("The customer with the id {0} doesn't exist.")]
    NotFound(CustomerKey),
    /// Live sub-customers still hang below it: `400 delete_failed`.
    #[error("Failed to delete instance.")]
    HasSubCustomers,
    /// The customer changed since the client read it (its `If-Match` no longer holds), or
    /// kept changing under this write: `412 precondition_failed`.
    #[error("The customer has changed since it was read; read it again and repeat the change.")]
    Changed,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a project operation (`/customers/{id}/projects...`) failed.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// The caller's role may not use this function: `403`.
    #[error("{}", crate::services::FORBIDDEN)]
    Forbidden,
    /// The customer does not exist, or is outside the caller's scope: `404`.
    #[error("The customer with the id {0} doesn't exist.")]
    CustomerNotFound(CustomerKey),
    /// The customer has no project with this id: `404`.
    #[error("The project with the id {0} doesn't exist.")]
    ProjectNotFound(ProjectId),
    /// Bad input: a blank or long name, or one project too many.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The customer's reference was taken by a concurrent write: `400 not_unique`.
    #[error("reference already used")]
    DuplicateReference,
    /// The customer kept changing under this write: `412 precondition_failed`.
    #[error("The customer has changed since it was read; read it again and repeat the change.")]
    Changed,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Input errors and store failures, before they become an operation's own error.
pub(super) enum Failure {
    Input(InputError),
    Store(StoreError),
}

impl From<InputError> for Failure {
    fn from(e: InputError) -> Self {
        Self::Input(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

pub(super) fn currency_locked() -> InputError {
    CustomerRule::CurrencyLocked.into()
}

pub(super) fn too_many_documents() -> InputError {
    CustomerRule::TooManyDocuments.into()
}

pub(super) fn unknown_document(uuid: Uuid) -> InputError {
    InputError::NotFound {
        noun: "document",
        key: uuid.to_string(),
    }
}

pub(super) fn dangling() -> InputError {
    CustomerRule::CustomerRowGone.into()
}

/// What a store's refusal of a customer write means to the client, once for every customer
/// operation. For a project change the customer row is written back unchanged (its references
/// were valid a moment ago), so these only happen when a concurrent write changed them.
enum Refused {
    DuplicateReference,
    Stale,
    Input(InputError),
    Store(StoreError),
}

impl From<WriteError> for Refused {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::DuplicateReference => Self::DuplicateReference,
            WriteError::DanglingReference => Self::Input(dangling()),
            WriteError::AccountInUse => Self::Input(currency_locked()),
            WriteError::TooManyDocuments => Self::Input(too_many_documents()),
            WriteError::UnknownDocument(uuid) => Self::Input(unknown_document(uuid)),
            WriteError::Stale => Self::Stale,
            WriteError::OwnAncestor => Self::Input(InputError::OwnAncestor("customer")),
            WriteError::Store(e) => Self::Store(e),
        }
    }
}

/// The conversions every customer operation's error has: from a store's write refusal, and
/// from [`Failure`] (input or store).
macro_rules! customer_operation_error {
    ($($error:ty => $stale:expr),+ $(,)?) => {$(
        impl From<WriteError> for $error {
            fn from(e: WriteError) -> Self {
                match Refused::from(e) {
                    Refused::DuplicateReference => Self::DuplicateReference,
                    Refused::Stale => $stale,
                    Refused::Input(e) => Self::Input(e),
                    Refused::Store(e) => Self::Store(e),
                }
            }
        }

        impl From<Failure> for $error {
            fn from(f: Failure) -> Self {
                match f {
                    Failure::Input(e) => Self::Input(e),
                    Failure::Store(e) => Self::Store(e),
                }
            }
        }
    )+};
}

customer_operation_error!(
    ProjectError => Self::Changed,
    UpdateCustomerError => Self::Changed,
    // An insert names no revision: a store that calls it stale is broken.
    CreateCustomerError => Self::Store(StoreError::Unexpected(
        "an insert was refused as stale".into()
    )),
);

/// Why a customer write failed, before it becomes an operation's own error.
pub(super) enum SaveFailure {
    Input(InputError),
    Write(WriteError),
}

impl From<InputError> for SaveFailure {
    fn from(e: InputError) -> Self {
        Self::Input(e)
    }
}

impl From<StoreError> for SaveFailure {
    fn from(e: StoreError) -> Self {
        Self::Write(WriteError::Store(e))
    }
}

impl From<WriteError> for SaveFailure {
    fn from(e: WriteError) -> Self {
        Self::Write(e)
    }
}

impl From<SaveFailure> for CreateCustomerError {
    fn from(f: SaveFailure) -> Self {
        match f {
            SaveFailure::Input(e) => Self::Input(e),
            SaveFailure::Write(e) => e.into(),
        }
    }
}

impl From<SaveFailure> for UpdateCustomerError {
    fn from(f: SaveFailure) -> Self {
        match f {
            SaveFailure::Input(e) => Self::Input(e),
            SaveFailure::Write(e) => e.into(),
        }
    }
}
