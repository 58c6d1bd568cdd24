//! What can go wrong inside the adapter, and how it becomes the domain's error types.
//!
//! Every closure that touches the database returns [`Failure`]; the port methods convert it
//! at the edge, so a unique violation on a reference becomes `DuplicateReference` and a
//! checkout time-out becomes `Unavailable` in exactly one place.

use credence_domain::ports::{
    AdmitError, AttachError, RemoveError, SettleError, StoreError, WriteError,
};
use diesel::result::{DatabaseErrorKind, Error as DieselError};

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A failure inside a database closure: the infrastructure failed (the first five variants),
/// or the database refused the change for a reason the domain has a name for ([`Outcome`]).
/// Causes are kept as sources, never flattened into text, so a log shows the whole chain.
#[derive(Debug)]
pub(crate) enum Failure {
    /// No connection in time.
    Unavailable(BoxError),
    /// The driver refused or failed a statement.
    Query(DieselError),
    /// A stored row no longer passes the domain's constructors.
    Corrupt(Corruption),
    /// A rule of the adapter itself does not hold: a bug, described.
    Broken(String),
    /// The blocking task died.
    Task(tokio::task::JoinError),
    /// Refused for a reason of the domain's: each port maps it to its own error.
    Refused(Outcome),
}

/// A stored value the domain refuses, with why.
#[derive(Debug, thiserror::Error)]
#[error("stored {what} is invalid")]
pub(crate) struct Corruption {
    what: String,
    #[source]
    cause: BoxError,
}

/// Why the database (or a check inside the transaction) refused a change, in the domain's
/// terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Outcome {
    /// A delete refused by a check in the adapter (live sub-customers).
    #[error("the row is in use")]
    InUse,
    /// A write pointing to a row that is gone (an archived parent customer).
    #[error("a row the write points to is gone")]
    Dangling,
    /// A currency change refused while the customer's account holds money.
    #[error("the account holds money")]
    AccountInUse,
    /// An attach that would take a customer over its document limit.
    #[error("too many documents")]
    TooManyDocuments,
    /// A customer write attaching a document that does not exist.
    #[error("no document {0}")]
    UnknownDocument(uuid::Uuid),
    /// An attach to a customer or of a document that is not there (any more).
    #[error("the row is not there")]
    Missing,
    /// A movement that would take an account's balance or reserved amount beyond 64 bits.
    #[error("the amounts would overflow")]
    TooLarge,
    /// A customer write or archive made against a revision the row has moved on from.
    #[error("the customer changed since it was read")]
    Stale,
    /// A move under the customer itself or one of its descendants.
    #[error("the customer would be its own ancestor")]
    OwnAncestor,
}

impl From<Outcome> for Failure {
    fn from(outcome: Outcome) -> Self {
        Self::Refused(outcome)
    }
}

/// An outcome reached a port whose error has no name for it: a bug.
#[derive(Debug, thiserror::Error)]
#[error("an outcome this operation does not expect")]
struct UnexpectedOutcome(#[source] Outcome);

impl From<DieselError> for Failure {
    fn from(error: DieselError) -> Self {
        Self::Query(error)
    }
}

impl Failure {
    /// Whether the connection this failed on is gone or unusable for writes (the server
    /// closed it, failed over, or is now a read-only standby): it must be dropped, not reused.
    /// A conflict or a busy SQLite file leaves the connection as good as it was.
    pub(crate) fn connection_lost(&self) -> bool {
        matches!(self, Self::Query(error) if is_transient(error) && !is_conflict(error))
    }

    /// A stored `what` the domain refuses, because of `cause`.
    pub(crate) fn corrupt(what: &str, cause: impl Into<BoxError>) -> Self {
        Self::Corrupt(Corruption {
            what: what.to_owned(),
            cause: cause.into(),
        })
    }

    fn kind(&self) -> Option<&DatabaseErrorKind> {
        match self {
            Self::Query(DieselError::DatabaseError(kind, _)) => Some(kind),
            _ => None,
        }
    }
}

/// Which unique rule a write broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UniqueRule {
    /// A live row already has the reference (or a currency the code): the client's mistake,
    /// `DuplicateReference`.
    Reference,
    /// A customer already has the UUID: another write created it at the same moment.
    CustomerUuid,
    /// Anything else: not the client's to fix.
    Other,
}

/// The unique rule `error` broke, by the constraint's name on PostgreSQL and by the columns
/// SQLite names in its message (`UNIQUE constraint failed: customers.reference`), so that only
/// a reference reads as a duplicate reference.
pub(crate) fn unique_rule(error: &DieselError) -> UniqueRule {
    let DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) = error else {
        return UniqueRule::Other;
    };
    let target = info.constraint_name().map_or_else(
        || {
            info.message()
                .rsplit(": ")
                .next()
                .unwrap_or_default()
                .to_owned()
        },
        ToOwned::to_owned,
    );
    match target.as_str() {
        "customers_live_reference" | "currencies_pkey" | "currencies.code" => UniqueRule::Reference,
        "customers_uuid_key" | "customers.uuid" => UniqueRule::CustomerUuid,
        other if other.ends_with("_reference_key") || other.ends_with(".reference") => {
            UniqueRule::Reference
        }
        _ => UniqueRule::Other,
    }
}

/// A customer insert lost a race to another with the same UUID.
#[derive(Debug, thiserror::Error)]
#[error("another write created a customer with this UUID at the same moment; try again")]
struct UuidTaken(#[source] DieselError);

/// PostgreSQL's primary message for SQLSTATE `40P01` (`deadlock_detected`). diesel reports
/// that state as `DatabaseErrorKind::Unknown` and does not expose the code itself, so the
/// message is all there is; it is PostgreSQL's English text (`lc_messages` other than English
/// would translate it, and a deadlock would then answer `500` instead of being retried).
const PG_DEADLOCK: &str = "deadlock detected";

/// SQLite's messages for `SQLITE_BUSY` (another connection holds the write lock past
/// `busy_timeout`) and `SQLITE_LOCKED` (a conflict inside one shared cache).
const SQLITE_BUSY: [&str; 2] = ["database is locked", "database table is locked"];

/// Words of libpq and PostgreSQL saying the connection itself is gone (the server restarted,
/// failed over, or the network dropped): the statement's fate is unknown, the database may be
/// back soon.
const BROKEN_CONNECTION: [&str; 7] = [
    "server closed the connection unexpectedly",
    "terminating connection",
    "no connection to the server",
    "could not connect",
    "connection to server",
    "SSL connection has been closed unexpectedly",
    "SSL SYSCALL error",
];

/// Whether the database refused this transaction only because it collided with another one,
/// and rolled it back: PostgreSQL's serialization failure (`40001`) and deadlock (`40P01`),
/// SQLite's busy or locked database. Running the whole transaction again is safe (nothing of
/// it was kept) and likely to succeed, so [`crate::database::Database::write`] does so a
/// few times. Nothing else is retried: above all not a broken connection, where a `COMMIT` may
/// have been applied without its answer arriving.
pub(crate) fn is_conflict(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        DieselError::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            let message = info.message();
            message.starts_with(PG_DEADLOCK) || SQLITE_BUSY.iter().any(|m| message.contains(m))
        }
        _ => false,
    }
}

/// Whether the database is there but cannot serve this call now, so the caller should try
/// again later (`503`, not `500`): a conflict that outlived its retries, a busy SQLite file, a
/// dropped or refused PostgreSQL connection, a server that became a read-only standby after a
/// failover, or a commit whose rollback failed for one of these reasons.
pub(crate) fn is_transient(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection
            | DatabaseErrorKind::UnableToSendCommand
            | DatabaseErrorKind::ReadOnlyTransaction,
            _,
        ) => true,
        DieselError::DatabaseError(_, info) => {
            let message = info.message();
            is_conflict(error) || BROKEN_CONNECTION.iter().any(|m| message.contains(m))
        }
        DieselError::RollbackErrorOnCommit {
            rollback_error,
            commit_error,
        } => is_transient(commit_error) || is_transient(rollback_error),
        _ => false,
    }
}

/// A transaction that kept colliding with others through every attempt the store makes.
#[derive(Debug, thiserror::Error)]
#[error("the database reported a conflict on each of {attempts} attempts")]
pub(crate) struct ConflictsExhausted {
    /// How many times the transaction ran.
    pub(crate) attempts: u32,
    /// The last attempt's error.
    #[source]
    pub(crate) last: DieselError,
}

impl From<Failure> for StoreError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Unavailable(error) => Self::Unavailable(error),
            Failure::Query(error) if is_transient(&error) => Self::Unavailable(Box::new(error)),
            Failure::Query(error) => Self::Unexpected(Box::new(error)),
            Failure::Corrupt(corruption) => Self::Unexpected(Box::new(corruption)),
            Failure::Broken(message) => Self::Unexpected(message.into()),
            Failure::Task(error) => Self::Unexpected(Box::new(error)),
            Failure::Refused(outcome) => Self::Unexpected(Box::new(UnexpectedOutcome(outcome))),
        }
    }
}

impl From<Failure> for WriteError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Refused(Outcome::Dangling) => Self::DanglingReference,
            Failure::Refused(Outcome::AccountInUse) => Self::AccountInUse,
            Failure::Refused(Outcome::TooManyDocuments) => Self::TooManyDocuments,
            Failure::Refused(Outcome::UnknownDocument(uuid)) => Self::UnknownDocument(uuid),
            Failure::Refused(Outcome::Stale) => Self::Stale,
            Failure::Refused(Outcome::OwnAncestor) => Self::OwnAncestor,
            Failure::Query(error) => match &error {
                DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                    match unique_rule(&error) {
                        UniqueRule::Reference => Self::DuplicateReference,
                        // A racing write created a customer with this UUID first: a retry
                        // finds it.
                        UniqueRule::CustomerUuid => {
                            Self::Store(StoreError::Unavailable(Box::new(UuidTaken(error))))
                        }
                        UniqueRule::Other => Self::Store(Failure::Query(error).into()),
                    }
                }
                DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
                    Self::DanglingReference
                }
                _ => Self::Store(Failure::Query(error).into()),
            },
            other => Self::Store(other.into()),
        }
    }
}

impl From<Failure> for RemoveError {
    fn from(failure: Failure) -> Self {
        if matches!(failure, Failure::Refused(Outcome::InUse))
            || matches!(failure.kind(), Some(DatabaseErrorKind::ForeignKeyViolation))
        {
            return Self::InUse;
        }
        if matches!(failure, Failure::Refused(Outcome::Stale)) {
            return Self::Stale;
        }
        Self::Store(failure.into())
    }
}

impl From<Failure> for AttachError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Refused(Outcome::TooManyDocuments) => Self::TooMany,
            Failure::Refused(Outcome::Missing | Outcome::UnknownDocument(_)) => Self::Missing,
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
        match failure {
            Failure::Refused(Outcome::TooLarge) => Self::TooLarge,
            other => Self::Store(other.into()),
        }
    }
}

impl From<Failure> for SettleError {
    fn from(failure: Failure) -> Self {
        Self::Store(failure.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database(kind: DatabaseErrorKind, message: &str) -> DieselError {
        DieselError::DatabaseError(kind, Box::new(message.to_owned()))
    }

    fn unknown(message: &str) -> DieselError {
        database(DatabaseErrorKind::Unknown, message)
    }

    #[test]
    fn only_a_reference_reads_as_a_duplicate_reference() {
        let unique = |message| database(DatabaseErrorKind::UniqueViolation, message);
        for (message, rule) in [
            (
                "UNIQUE constraint failed: customers.reference",
                UniqueRule::Reference,
            ),
            (
                "UNIQUE constraint failed: customer_categories.reference",
                UniqueRule::Reference,
            ),
            (
                "UNIQUE constraint failed: currencies.code",
                UniqueRule::Reference,
            ),
            (
                "UNIQUE constraint failed: customers.uuid",
                UniqueRule::CustomerUuid,
            ),
            ("UNIQUE constraint failed: api_keys.hash", UniqueRule::Other),
        ] {
            assert_eq!(unique_rule(&unique(message)), rule, "{message}");
        }
        assert!(matches!(
            WriteError::from(Failure::Query(unique(
                "UNIQUE constraint failed: api_keys.hash"
            ))),
            WriteError::Store(StoreError::Unexpected(_))
        ));
        assert!(matches!(
            WriteError::from(Failure::Query(unique(
                "UNIQUE constraint failed: customers.uuid"
            ))),
            WriteError::Store(StoreError::Unavailable(_))
        ));
    }

    #[test]
    fn conflicts_are_retried_and_transient() {
        for error in [
            database(
                DatabaseErrorKind::SerializationFailure,
                "could not serialize access due to concurrent update",
            ),
            unknown("deadlock detected"),
            unknown("database is locked"),
            unknown("database table is locked"),
        ] {
            assert!(is_conflict(&error), "{error} is a conflict");
            assert!(is_transient(&error), "{error} is transient");
        }
    }

    #[test]
    fn broken_connections_are_transient_but_never_retried() {
        for error in [
            database(DatabaseErrorKind::ClosedConnection, "connection closed"),
            database(DatabaseErrorKind::UnableToSendCommand, "no connection"),
            database(
                DatabaseErrorKind::ReadOnlyTransaction,
                "cannot execute UPDATE in a read-only transaction",
            ),
            unknown("server closed the connection unexpectedly"),
            unknown("terminating connection due to administrator command"),
            unknown("no connection to the server"),
            unknown("SSL connection has been closed unexpectedly"),
            // A COMMIT whose answer never came: the outcome is unknown.
            DieselError::RollbackErrorOnCommit {
                rollback_error: Box::new(database(
                    DatabaseErrorKind::ClosedConnection,
                    "no connection to the server",
                )),
                commit_error: Box::new(unknown("server closed the connection unexpectedly")),
            },
        ] {
            assert!(is_transient(&error), "{error} is transient");
            assert!(!is_conflict(&error), "{error} is not retried");
        }
    }

    #[test]
    fn client_and_program_errors_are_neither() {
        for error in [
            database(DatabaseErrorKind::UniqueViolation, "duplicate key value"),
            database(
                DatabaseErrorKind::ForeignKeyViolation,
                "violates foreign key",
            ),
            database(
                DatabaseErrorKind::CheckViolation,
                "violates check constraint",
            ),
            database(DatabaseErrorKind::NotNullViolation, "null value in column"),
            unknown("syntax error at or near \"SELEC\""),
            unknown("ledger entries are append-only"),
            DieselError::NotFound,
            DieselError::RollbackTransaction,
        ] {
            assert!(!is_transient(&error), "{error} is not transient");
            assert!(!is_conflict(&error), "{error} is not retried");
        }
    }

    #[test]
    fn a_corrupt_row_keeps_its_cause_and_an_outcome_keeps_its_name() {
        let cause = uuid::Uuid::parse_str("not-a-uuid").unwrap_err();
        let StoreError::Unexpected(error) = StoreError::from(Failure::corrupt("uuid", cause))
        else {
            panic!("a corrupt row is unexpected");
        };
        assert_eq!(error.to_string(), "stored uuid is invalid");
        let source = error.source().expect("the cause is kept");
        assert!(source.is::<uuid::Error>(), "{source}");
        let StoreError::Unexpected(error) = StoreError::from(Failure::from(Outcome::Missing))
        else {
            panic!("an outcome no port expects is unexpected");
        };
        let source = error.source().expect("the outcome is kept");
        assert_eq!(source.to_string(), "the row is not there");
        assert!(matches!(
            WriteError::from(Failure::from(Outcome::AccountInUse)),
            WriteError::AccountInUse
        ));
    }

    #[test]
    fn conflicts_map_to_unavailable_and_other_failures_do_not() {
        let unavailable =
            |failure: Failure| matches!(StoreError::from(failure), StoreError::Unavailable(_));
        assert!(unavailable(Failure::Query(unknown("deadlock detected"))));
        assert!(unavailable(Failure::Unavailable(Box::new(
            ConflictsExhausted {
                attempts: 5,
                last: unknown("deadlock detected"),
            }
        ))));
        assert!(!unavailable(Failure::Query(unknown("division by zero"))));
        assert!(!unavailable(Failure::corrupt("row", "bad")));
    }
}
