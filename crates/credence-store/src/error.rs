//! What can go wrong inside the adapter, and how it becomes the domain's error types.
//!
//! Every closure that touches the database returns [`Failure`]; the port methods convert it
//! at the edge, so a unique violation becomes `DuplicateReference` and a checkout time-out
//! becomes `Unavailable` in exactly one place.

use credence_domain::ports::{
    AdmitError, AttachError, RemoveError, SettleError, StoreError, WriteError,
};
use diesel::result::{DatabaseErrorKind, Error as DieselError};

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A failure inside a database closure.
#[derive(Debug)]
pub(crate) enum Failure {
    /// No connection in time.
    Unavailable(BoxError),
    /// The driver refused or failed a statement.
    Query(DieselError),
    /// A stored row no longer passes the domain's constructors.
    Corrupt(String),
    /// The blocking task died.
    Task(tokio::task::JoinError),
    /// A delete refused by a check in the adapter (live sub-customers).
    InUse,
    /// A write pointing to a row that is gone (an archived parent customer).
    Dangling,
    /// A currency change refused while the customer's account holds money.
    AccountInUse,
    /// An attach that would take a customer over its document limit.
    TooManyDocuments,
    /// A customer write attaching a document that does not exist.
    UnknownDocument(uuid::Uuid),
    /// An attach to a customer or of a document that is not there (any more).
    Missing,
}

impl From<DieselError> for Failure {
    fn from(error: DieselError) -> Self {
        Self::Query(error)
    }
}

impl Failure {
    pub(crate) fn corrupt(what: &str, error: impl std::fmt::Display) -> Self {
        Self::Corrupt(format!("stored {what} is invalid: {error}"))
    }

    fn kind(&self) -> Option<&DatabaseErrorKind> {
        match self {
            Self::Query(DieselError::DatabaseError(kind, _)) => Some(kind),
            _ => None,
        }
    }
}

/// SQLite's "database is locked" after `busy_timeout`, or a dropped PostgreSQL connection:
/// the database is there but cannot serve us now.
fn is_transient(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => true,
        DieselError::DatabaseError(_, info) => {
            let message = info.message();
            message.contains("database is locked") || message.contains("database is busy")
        }
        _ => false,
    }
}

impl From<Failure> for StoreError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Unavailable(error) => Self::Unavailable(error),
            Failure::Query(error) if is_transient(&error) => Self::Unavailable(Box::new(error)),
            Failure::Query(error) => Self::Unexpected(Box::new(error)),
            Failure::Corrupt(message) => Self::Unexpected(message.into()),
            Failure::Task(error) => Self::Unexpected(Box::new(error)),
            Failure::InUse => Self::Unexpected("unexpected in-use refusal".into()),
            Failure::Dangling => Self::Unexpected("unexpected dangling reference".into()),
            Failure::AccountInUse => Self::Unexpected("unexpected account-in-use refusal".into()),
            Failure::TooManyDocuments => Self::Unexpected("unexpected document limit".into()),
            Failure::UnknownDocument(uuid) => {
                Self::Unexpected(format!("unexpected unknown document {uuid}").into())
            }
            Failure::Missing => Self::Unexpected("unexpected missing row".into()),
        }
    }
}

impl From<Failure> for WriteError {
    fn from(failure: Failure) -> Self {
        if matches!(failure, Failure::Dangling) {
            return Self::DanglingReference;
        }
        if matches!(failure, Failure::AccountInUse) {
            return Self::AccountInUse;
        }
        if matches!(failure, Failure::TooManyDocuments) {
            return Self::TooManyDocuments;
        }
        if let Failure::UnknownDocument(uuid) = failure {
            return Self::UnknownDocument(uuid);
        }
        match failure.kind() {
            Some(DatabaseErrorKind::UniqueViolation) => Self::DuplicateReference,
            Some(DatabaseErrorKind::ForeignKeyViolation) => Self::DanglingReference,
            _ => Self::Store(failure.into()),
        }
    }
}

impl From<Failure> for RemoveError {
    fn from(failure: Failure) -> Self {
        if matches!(failure, Failure::InUse)
            || matches!(failure.kind(), Some(DatabaseErrorKind::ForeignKeyViolation))
        {
            return Self::InUse;
        }
        Self::Store(failure.into())
    }
}

impl From<Failure> for AttachError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::TooManyDocuments => Self::TooMany,
            Failure::Missing | Failure::UnknownDocument(_) => Self::Missing,
            Failure::Query(DieselError::DatabaseError(
                DatabaseErrorKind::ForeignKeyViolation,
                _,
            )) => Self::Missing,
            other => Self::Store(other.into()),
        }
    }
}

impl From<Failure> for AdmitError {
    fn from(failure: Failure) -> Self {
        Self::Store(failure.into())
    }
}

impl From<Failure> for SettleError {
    fn from(failure: Failure) -> Self {
        Self::Store(failure.into())
    }
}
