//! Connections: the backend chosen from the URL, the pools, the migrations, and the one path
//! every port call takes to the database (a blocking closure on tokio's blocking pool, inside
//! one transaction).
//!
//! SQLite has a single writer, so it gets two pools: writes share one connection and open
//! their transaction with `BEGIN IMMEDIATE` (taking the write lock up front instead of failing
//! to upgrade a read lock halfway), reads use their own pool and never wait for writes (WAL).
//! PostgreSQL uses one pool for both. Checkout waits at most `connection_timeout`, then the
//! call fails with `StoreError::Unavailable` (a `503`), never a hang.
//!
//! Failover: the PostgreSQL URL goes to libpq as given, so several hosts with
//! `target_session_attrs=read-write` connect to whichever is the primary now. While none is,
//! checkouts fail after `connection_timeout` (new connections are made in the pool's own
//! threads, each bounded by `connect_timeout`); connections to the old primary fail their
//! checkout test and are dropped, never handed out again.

use std::sync::Arc;
use std::time::Duration;

use credence_domain::values::CurrencyCode;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{CustomizeConnection, ManageConnection, Pool, PooledConnection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::{BoxError, Failure};
use crate::schema::currencies;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Serializes migrations of several processes on one PostgreSQL database.
const MIGRATION_LOCK: i64 = 0x0063_7265_6465_6e63; // "credenc"

/// One connection to either backend; statements that differ match on the variant.
#[derive(diesel::MultiConnection)]
pub(crate) enum AnyConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        }
    }
}

/// Pool sizing. SQLite's write pool is always one connection; `max_size` sizes the read pool
/// (SQLite) or the only pool (PostgreSQL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolOptions {
    /// Most connections held at once.
    pub max_size: u32,
    /// How long a call waits for a free connection before failing as unavailable.
    pub connection_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_size: 8,
            connection_timeout: Duration::from_secs(2),
        }
    }
}

/// Why the database could not be opened or prepared.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The URL names no backend we support.
    #[error("unsupported database URL ({0}): use sqlite://PATH, a file path, or postgres://...")]
    InvalidUrl(String),
    /// The first connection failed; the message carries the driver's own words.
    #[error("cannot connect to the {backend} database: {message}")]
    Connect {
        /// `SQLite` or `PostgreSQL`.
        backend: &'static str,
        /// The driver's error.
        message: String,
    },
    /// A migration failed.
    #[error("cannot apply the migrations: {0}")]
    Migration(String),
    /// A statement failed during set-up.
    #[error("database set-up failed: {0}")]
    Store(#[from] credence_domain::ports::StoreError),
}

impl From<Failure> for SetupError {
    fn from(failure: Failure) -> Self {
        Self::Store(failure.into())
    }
}

/// Opens connections of one backend, so a bad password reads as one (a derived
/// `MultiConnection::establish` tries every backend and hides the real error).
#[derive(Debug)]
pub(crate) struct Manager {
    backend: Backend,
    target: String,
}

impl ManageConnection for Manager {
    type Connection = AnyConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<AnyConnection, Self::Error> {
        match self.backend {
            Backend::Sqlite => SqliteConnection::establish(&self.target).map(AnyConnection::Sqlite),
            Backend::Postgres => {
                PgConnection::establish(&self.target).map(AnyConnection::Postgresql)
            }
        }
        .map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut AnyConnection) -> bool {
        std::thread::panicking()
            || <AnyConnection as Connection>::TransactionManager::is_broken_transaction_manager(
                conn,
            )
    }
}

/// SQLite's per-connection settings: wait for locks instead of failing at once, WAL so
/// readers never block the writer, and foreign keys (off by default in SQLite).
#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<AnyConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut AnyConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(
            "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
             PRAGMA foreign_keys = ON;",
        )
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

type ConnPool = Pool<Manager>;
pub(crate) type Conn = PooledConnection<Manager>;

struct Inner {
    backend: Backend,
    read: ConnPool,
    write: ConnPool,
}

/// The database behind the store: its backend and connection pools. Cheap to clone.
#[derive(Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.inner.backend)
            .field("read_pool", &self.inner.read.state())
            .field("write_pool", &self.inner.write.state())
            .finish()
    }
}

/// libpq parameters added to a PostgreSQL URL that does not set them, so a dead or
/// unreachable host costs bounded time instead of the operating system's TCP time-outs
/// (minutes): with several hosts (`h1:5432,h2:5433`, failover) each one is tried in turn,
/// and a connection that hangs would keep the pool from reaching the new primary.
/// - `connect_timeout`: seconds per host for a new connection (libpq's minimum is 2).
/// - `tcp_user_timeout`: milliseconds sent data may stay unacknowledged before the
///   connection counts as dead (a host that vanished without closing its sockets).
const POSTGRES_DEFAULTS: [(&str, &str); 2] =
    [("connect_timeout", "2"), ("tcp_user_timeout", "10000")];

/// The PostgreSQL URL with [`POSTGRES_DEFAULTS`] added where the URL leaves them out. The
/// rest (several hosts, `target_session_attrs`, `sslmode`...) is libpq's to read.
fn postgres_target(url: &str) -> String {
    let query = url.split_once('?').map_or("", |(_, query)| query);
    let given: Vec<&str> = query
        .split('&')
        .filter_map(|pair| pair.split('=').next())
        .collect();
    let mut target = url.to_owned();
    for (key, value) in POSTGRES_DEFAULTS {
        if !given.contains(&key) {
            let separator = if target.contains('?') { '&' } else { '?' };
            target = format!("{target}{separator}{key}={value}");
        }
    }
    target
}

/// Splits a URL into its backend and what the driver needs.
fn parse_url(url: &str) -> Result<(Backend, String), SetupError> {
    let url = url.trim();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, postgres_target(url)));
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let scheme = url.split_once("://").map(|(scheme, _)| scheme);
    if path.is_empty() || path.contains(":memory:") || scheme.is_some_and(|s| s != "sqlite") {
        let shown = scheme.map_or_else(|| "no usable path".to_owned(), |s| format!("scheme {s}"));
        return Err(SetupError::InvalidUrl(shown));
    }
    Ok((Backend::Sqlite, path.to_owned()))
}

/// The admin URL with its database name replaced.
pub(crate) fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let root = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{root}/{name}?{query}"),
        None => format!("{root}/{name}"),
    }
}

fn build_pool(
    manager: Manager,
    max_size: u32,
    timeout: Duration,
    customizer: Option<SqlitePragmas>,
) -> Result<ConnPool, SetupError> {
    let backend = manager.backend.name();
    // `test_on_check_out`: a pooled connection whose server went away (restart, failover,
    // `pg_terminate_backend`) fails a `SELECT 1` at checkout and is dropped there, so the
    // caller gets a fresh connection instead of the dead one; one broken by a failure inside a
    // transaction is dropped on return (`has_broken`). r2d2 does this by default; it is
    // spelled out because failover depends on it.
    let mut builder = Pool::builder()
        .max_size(max_size.max(1))
        .min_idle(Some(1))
        .test_on_check_out(true)
        .connection_timeout(timeout.max(Duration::from_millis(1)));
    if let Some(customizer) = customizer {
        builder = builder.connection_customizer(Box::new(customizer));
    }
    builder.build(manager).map_err(|error| SetupError::Connect {
        backend,
        message: error.to_string(),
    })
}

impl Database {
    /// Opens the database a URL names: `sqlite://PATH`, `sqlite:PATH` or a bare file path for
    /// SQLite, `postgres://...` or `postgresql://...` for PostgreSQL. Connects once before
    /// returning, so a wrong path or password fails here with the driver's message.
    ///
    /// # Errors
    /// [`SetupError::InvalidUrl`] for other URLs (including SQLite `:memory:`, which cannot
    /// be shared by a pool), [`SetupError::Connect`] when the first connection fails.
    pub fn connect(url: &str, options: PoolOptions) -> Result<Self, SetupError> {
        let (backend, target) = parse_url(url)?;
        let timeout = options.connection_timeout;
        let inner = match backend {
            Backend::Sqlite => {
                // The writer first: it switches a fresh file to WAL before readers arrive.
                let write = build_pool(
                    Manager {
                        backend,
                        target: target.clone(),
                    },
                    1,
                    timeout,
                    Some(SqlitePragmas),
                )?;
                let read = build_pool(
                    Manager { backend, target },
                    options.max_size,
                    timeout,
                    Some(SqlitePragmas),
                )?;
                Inner {
                    backend,
                    read,
                    write,
                }
            }
            Backend::Postgres => {
                let pool =
                    build_pool(Manager { backend, target }, options.max_size, timeout, None)?;
                Inner {
                    backend,
                    read: pool.clone(),
                    write: pool,
                }
            }
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The backend in use.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// Applies the pending embedded migrations, in one transaction. Several processes may
    /// call it at once: SQLite serializes them with `BEGIN IMMEDIATE`, PostgreSQL with an
    /// advisory lock. Blocking; call it from a blocking context.
    ///
    /// # Errors
    /// [`SetupError`] when no connection is available or a migration fails.
    pub fn migrate(&self) -> Result<(), SetupError> {
        let mut conn = checkout(&self.inner.write)?;
        let mut migration_error = None;
        let result = write_transaction(&mut conn, |conn| {
            let applied = match conn {
                AnyConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()),
                AnyConnection::Postgresql(c) => {
                    c.batch_execute(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))?;
                    c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ())
                }
            };
            applied.map_err(|error| {
                migration_error = Some(error.to_string());
                Failure::Query(DieselError::RollbackTransaction)
            })
        });
        match (result, migration_error) {
            (_, Some(message)) => Err(SetupError::Migration(message)),
            (result, None) => result.map_err(SetupError::from),
        }
    }

    /// Makes sure `code` is configured with exchange rate 1 and flagged as the organization
    /// currency (and no other currency is). Idempotent, and safe when several servers start
    /// at once: a racing insert that hits the primary key is retried as an update.
    /// Blocking; call it from a blocking context.
    ///
    /// # Errors
    /// [`SetupError`] when the database fails.
    pub fn ensure_organization_currency(&self, code: CurrencyCode) -> Result<(), SetupError> {
        let code = code.code();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let mut conn = checkout(&self.inner.write)?;
            let result = write_transaction(&mut conn, |conn| {
                diesel::update(currencies::table.filter(currencies::code.ne(code)))
                    .set(currencies::is_organization.eq(false))
                    .execute(conn)?;
                let updated = diesel::update(currencies::table.find(code))
                    .set((
                        currencies::exchange_rate.eq("1"),
                        currencies::is_organization.eq(true),
                    ))
                    .execute(conn)?;
                if updated == 0 {
                    diesel::insert_into(currencies::table)
                        .values((
                            currencies::code.eq(code),
                            currencies::exchange_rate.eq("1"),
                            currencies::is_organization.eq(true),
                        ))
                        .execute(conn)?;
                }
                Ok(())
            });
            match result {
                Err(Failure::Query(DieselError::DatabaseError(
                    DatabaseErrorKind::UniqueViolation,
                    _,
                ))) if attempts < 3 => {}
                other => return other.map_err(SetupError::from),
            }
        }
    }

    /// Runs a read-only closure on a pooled connection, on the blocking pool, inside one
    /// (read) transaction so its statements see one state.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, Failure>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, Failure> + Send + 'static,
    {
        let pool = self.inner.read.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = checkout_failure(&pool)?;
            let conn: &mut AnyConnection = &mut conn;
            conn.transaction(f)
        })
        .await
        .map_err(Failure::Task)?
    }

    /// Runs a closure that writes, on the write pool, in one write transaction.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, Failure>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, Failure> + Send + 'static,
    {
        let pool = self.inner.write.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = checkout_failure(&pool)?;
            write_transaction(&mut conn, f)
        })
        .await
        .map_err(Failure::Task)?
    }

    /// Runs a closure on a read connection without opening a transaction (the readiness
    /// probe, bulk loaders that manage their own).
    pub(crate) async fn with_connection<T, F>(&self, f: F) -> Result<T, Failure>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, Failure> + Send + 'static,
    {
        let pool = self.inner.read.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = checkout_failure(&pool)?;
            f(&mut conn)
        })
        .await
        .map_err(Failure::Task)?
    }

    /// A connection from the write pool, for blocking helpers (bulk loading).
    pub(crate) fn write_connection(&self) -> Result<Conn, Failure> {
        checkout_failure(&self.inner.write)
    }

    /// Takes every connection of every pool and keeps them until the guard drops, so tests
    /// can watch a call run out of connections.
    ///
    /// # Errors
    /// [`SetupError`] when the pools cannot be filled.
    #[cfg(feature = "test-support")]
    pub fn hold_all_connections(&self) -> Result<HeldConnections, SetupError> {
        let mut held = Vec::new();
        for _ in 0..self.inner.read.max_size() {
            held.push(checkout(&self.inner.read)?);
        }
        if self.inner.backend == Backend::Sqlite {
            held.push(checkout(&self.inner.write)?);
        }
        Ok(HeldConnections(held))
    }
}

/// Connections kept out of the pools by [`Database::hold_all_connections`].
#[cfg(feature = "test-support")]
pub struct HeldConnections(Vec<Conn>);

#[cfg(feature = "test-support")]
impl std::fmt::Debug for HeldConnections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HeldConnections({})", self.0.len())
    }
}

fn checkout_failure(pool: &ConnPool) -> Result<Conn, Failure> {
    pool.get()
        .map_err(|error| Failure::Unavailable(Box::new(error) as BoxError))
}

fn checkout(pool: &ConnPool) -> Result<Conn, SetupError> {
    checkout_failure(pool).map_err(SetupError::from)
}

/// Runs `f` in a write transaction: `BEGIN IMMEDIATE` on SQLite (take the write lock now, so
/// two writers queue on `busy_timeout` instead of deadlocking), a plain `BEGIN` elsewhere.
pub(crate) fn write_transaction<T>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, Failure>,
) -> Result<T, Failure> {
    match conn {
        AnyConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        AnyConnection::Postgresql(c) => {
            <PgConnection as Connection>::TransactionManager::begin_transaction(c)?
        }
    }
    match f(conn) {
        Ok(value) => {
            <AnyConnection as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => {
            if let Err(rollback) =
                <AnyConnection as Connection>::TransactionManager::rollback_transaction(conn)
            {
                tracing::warn!(error = %rollback, "rollback failed; the connection will be discarded");
            }
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_backend() {
        assert_eq!(
            parse_url("sqlite://credence.db").ok(),
            Some((Backend::Sqlite, "credence.db".into()))
        );
        assert_eq!(
            parse_url("sqlite:///tmp/x.db").ok(),
            Some((Backend::Sqlite, "/tmp/x.db".into()))
        );
        assert_eq!(
            parse_url("sqlite:x.db").ok(),
            Some((Backend::Sqlite, "x.db".into()))
        );
        assert_eq!(
            parse_url("data/x.db").ok(),
            Some((Backend::Sqlite, "data/x.db".into()))
        );
        assert_eq!(
            parse_url("postgres://u@h/db").ok().map(|(b, _)| b),
            Some(Backend::Postgres)
        );
        assert_eq!(
            parse_url("postgresql://u@h/db").ok().map(|(b, _)| b),
            Some(Backend::Postgres)
        );
        assert!(
            parse_url("mysql://u:secret@h/db").is_err_and(|e| !e.to_string().contains("secret"))
        );
        assert!(parse_url("sqlite://:memory:").is_err());
        assert_eq!(
            parse_url("postgres://u@h1:5432,h2:5433/db?target_session_attrs=read-write").ok(),
            Some((
                Backend::Postgres,
                "postgres://u@h1:5432,h2:5433/db?target_session_attrs=read-write\
                 &connect_timeout=2&tcp_user_timeout=10000"
                    .into()
            ))
        );
        assert_eq!(
            parse_url("postgres://u@h/db?connect_timeout=5&tcp_user_timeout=0").ok(),
            Some((
                Backend::Postgres,
                "postgres://u@h/db?connect_timeout=5&tcp_user_timeout=0".into()
            ))
        );
        assert_eq!(
            parse_url("postgres://u@h/db")
                .ok()
                .map(|(_, target)| target),
            Some("postgres://u@h/db?connect_timeout=2&tcp_user_timeout=10000".into())
        );
        assert!(parse_url("").is_err());
    }
}
