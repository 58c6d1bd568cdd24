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
use std::time::{Duration, Instant};

use credence_domain::ports::Marks;
use credence_domain::values::CurrencyCode;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{CustomizeConnection, ManageConnection, Pool};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::database::gated_pool::{Conn, ConnPool, GatedPool};
use crate::error::{BoxError, ConflictsExhausted, Failure};
use crate::schema::currencies;

mod checkpoints;
mod connect;
pub(crate) mod fixed;
pub(crate) mod gated_pool;
pub(crate) mod inner;
pub(crate) mod lanes;
pub(crate) mod replanned;
pub(crate) mod session;
mod statistics;
pub(crate) mod write_behind;

use checkpoints::Checkpoints;
pub(crate) use connect::*;

pub(crate) const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub(crate) const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// How many times [`Database::write`] runs a transaction that keeps conflicting.
pub(crate) const WRITE_ATTEMPTS: u32 = 5;

/// After this long, a conflicting write is not run again (see [`Database::write`]).
pub(crate) const RETRY_BUDGET: Duration = Duration::from_secs(2);

/// The first backoff's upper bound; each further attempt doubles it (5, 10, 20, 40 ms).
const BACKOFF_BASE: Duration = Duration::from_millis(5);

/// The wait before attempt `attempt + 1`: a random time in the upper half of
/// `BACKOFF_BASE * 2^(attempt - 1)`, so transactions that collided once do not collide again
/// in lockstep, and each retry waits a little longer than the one before.
fn backoff(attempt: u32) -> Duration {
    let ceiling = BACKOFF_BASE.saturating_mul(1 << attempt.saturating_sub(1).min(10));
    let half = ceiling / 2;
    // A v4 UUID's random bits (from the OS generator) are jitter enough, without one more
    // dependency.
    let random = uuid::Uuid::new_v4().as_u64_pair().0;
    let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX).max(1);
    half + Duration::from_nanos(random % nanos)
}

/// The names of the embedded PostgreSQL migrations, oldest first (the test template is
/// named after them).
#[cfg(feature = "test-support")]
pub(crate) fn postgres_migration_names() -> Vec<String> {
    use diesel::migration::MigrationSource;
    MigrationSource::<diesel::pg::Pg>::migrations(&POSTGRES_MIGRATIONS)
        .map(|migrations| migrations.iter().map(|m| m.name().to_string()).collect())
        .unwrap_or_default()
}

/// The migration that made `customer_terms`, which the store fills for existing customers.
const SEARCH_TERMS_MIGRATION: &str = "20261204000000";

/// The migration after which the terms are folded without accents (filled again in Rust).
const ACCENT_FOLDED_TERMS_MIGRATION: &str = "20261206000001";

/// Serializes migrations of several processes on one PostgreSQL database.
const MIGRATION_LOCK: i64 = 0x0063_7265_6465_6e63; // "credenc"

/// One connection to either backend; statements that differ match on the variant.
#[derive(diesel::MultiConnection)]
pub(crate) enum AnyConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// The backend of [`AnyConnection`], for queries boxed before they know which database runs
/// them (`into_boxed::<Db>()`).
pub(crate) type Db = <AnyConnection as diesel::Connection>::Backend;

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
    #[error("cannot open the {backend} database{target}: {message}")]
    Connect {
        /// `SQLite` or `PostgreSQL`.
        backend: &'static str,
        /// A space and the SQLite file's path; empty for PostgreSQL.
        target: String,
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

struct Inner {
    backend: Backend,
    read: GatedPool,
    write: GatedPool,
    /// SQLite: where units of work checkpoint the write-ahead log.
    checkpoints: Option<Checkpoints>,
    /// PostgreSQL: whether the statistics of tables an import grows are being refreshed.
    statistics: Option<statistics::Refreshing>,
}

/// The database behind the store: its backend and connection pools. Cheap to clone.
#[derive(Clone)]
pub struct Database {
    inner: Arc<Inner>,
    /// Set on the copy a unit of work hands out: every call then runs in its transaction.
    session: Option<Arc<session::Session>>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.inner.backend)
            .field("read_pool", &self.inner.read.pool().state())
            .field("write_pool", &self.inner.write.pool().state())
            .finish()
    }
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
        connect::init_tls();
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
                    Some(SqlitePragmas { writer: true }),
                )?;
                let read = build_pool(
                    Manager { backend, target },
                    options.max_size,
                    timeout,
                    Some(SqlitePragmas { writer: false }),
                )?;
                let read = GatedPool::new(read, false);
                Inner {
                    backend,
                    checkpoints: Some(Checkpoints::new(read.clone())),
                    statistics: None,
                    read,
                    write: GatedPool::new(write, false),
                }
            }
            Backend::Postgres => {
                let pool = GatedPool::new(
                    build_pool(Manager { backend, target }, options.max_size, timeout, None)?,
                    true,
                );
                Inner {
                    backend,
                    read: pool.clone(),
                    write: pool,
                    checkpoints: None,
                    statistics: Some(statistics::Refreshing::default()),
                }
            }
        };
        Ok(Self {
            inner: Arc::new(inner),
            session: None,
        })
    }

    /// The backend in use.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// Applies the pending embedded migrations, in one transaction (with the search terms of
    /// existing customers, which the migration making their table cannot compute in SQL). Several processes may
    /// call it at once: SQLite serializes them with `BEGIN IMMEDIATE`, PostgreSQL with an
    /// advisory lock. Blocking; call it from a blocking context.
    ///
    /// # Errors
    /// [`SetupError`] when no connection is available or a migration fails.
    pub fn migrate(&self) -> Result<(), SetupError> {
        let mut conn = checkout(self.inner.write.pool())?;
        let mut migration_error = None;
        let result = write_transaction(&mut conn, |conn| {
            let applied = match conn {
                AnyConnection::Sqlite(c) => c
                    .run_pending_migrations(SQLITE_MIGRATIONS)
                    .map(|versions| versions.iter().map(ToString::to_string).collect()),
                AnyConnection::Postgresql(c) => {
                    c.batch_execute(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))?;
                    c.run_pending_migrations(POSTGRES_MIGRATIONS)
                        .map(|versions| versions.iter().map(ToString::to_string).collect())
                }
            };
            let applied: Vec<String> = applied.map_err(|error| {
                migration_error = Some(error.to_string());
                Failure::Query(DieselError::RollbackTransaction)
            })?;
            // Data a migration's SQL cannot compute, computed in Rust in the same transaction.
            if applied.iter().any(|version| {
                version == SEARCH_TERMS_MIGRATION || version == ACCENT_FOLDED_TERMS_MIGRATION
            }) {
                let indexed = crate::customers::fill_terms(conn, i64::MIN)?;
                tracing::info!(
                    customers = indexed,
                    "stored the search terms of existing customers"
                );
            }
            Ok(())
        });
        match (result, migration_error) {
            (_, Some(message)) => Err(SetupError::Migration(message)),
            (result, None) => result.map_err(SetupError::from),
        }
    }

    /// Runs the `down` of the `count` newest applied migrations, newest first (tests check
    /// that each one undoes its `up`). Blocking.
    #[cfg(feature = "test-support")]
    pub(crate) fn revert_last_migrations(&self, count: usize) -> Result<(), SetupError> {
        let mut conn = checkout(self.inner.write.pool())?;
        for _ in 0..count {
            let reverted = match &mut *conn {
                AnyConnection::Sqlite(c) => c.revert_last_migration(SQLITE_MIGRATIONS).map(|_| ()),
                AnyConnection::Postgresql(c) => {
                    c.revert_last_migration(POSTGRES_MIGRATIONS).map(|_| ())
                }
            };
            reverted.map_err(|error| SetupError::Migration(error.to_string()))?;
        }
        Ok(())
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
            let mut conn = checkout(self.inner.write.pool())?;
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

    /// Each pool's connections: `(pool, open, idle)`. On PostgreSQL reads and writes share
    /// one pool, named `main`; on SQLite the writer has its own.
    #[must_use]
    pub fn pool_states(&self) -> Vec<(&'static str, u32, u32)> {
        let state = |pool: &GatedPool| {
            let state = pool.pool().state();
            (state.connections, state.idle_connections)
        };
        match self.inner.backend {
            Backend::Sqlite => {
                let (read, write) = (state(&self.inner.read), state(&self.inner.write));
                vec![("read", read.0, read.1), ("write", write.0, write.1)]
            }
            Backend::Postgres => {
                let (open, idle) = state(&self.inner.read);
                vec![("main", open, idle)]
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
        if let Some(session) = &self.session {
            return session.read(f).await;
        }
        self.inner.read.run(|conn| conn.transaction(f)).await?
    }

    /// Runs a closure that writes, on the write pool, in one write transaction, and runs the
    /// whole transaction again when the database rolled it back for colliding with another
    /// one ([`crate::error::is_conflict`]: a PostgreSQL deadlock or serialization failure, a busy
    /// SQLite file). The closure may therefore run more than once, each time on a fresh
    /// transaction (and a freshly checked-out connection), so it is `FnMut` and must not
    /// consume what it captured.
    ///
    /// At most [`WRITE_ATTEMPTS`] runs, with a jittered backoff between them that holds no
    /// connection, and no new run once [`RETRY_BUDGET`] has passed (a conflict that took that
    /// long to surface means load, where more attempts only lengthen the queue). A conflict
    /// on the last run is [`Failure::Unavailable`] (a `503` the client may retry). Every
    /// other failure, including a broken connection whose `COMMIT` may have applied, is
    /// returned at once.
    pub(crate) async fn write<T, F>(&self, mut f: F) -> Result<T, Failure>
    where
        T: Send + 'static,
        F: FnMut(&mut AnyConnection) -> Result<T, Failure> + Send + 'static,
    {
        if let Some(session) = &self.session {
            // Inside a unit of work a conflict fails the call: running it again is the
            // unit's business, not one call's.
            return session.run(move |conn| f(conn)).await;
        }
        let started = Instant::now();
        let mut attempt = 1;
        loop {
            let (returned, result) = self
                .inner
                .write
                .run(move |conn| {
                    let result = write_transaction(conn, &mut f);
                    (f, result)
                })
                .await?;
            f = returned;
            match result {
                Err(Failure::Query(error)) if crate::error::is_conflict(&error) => {
                    if attempt >= WRITE_ATTEMPTS || started.elapsed() >= RETRY_BUDGET {
                        tracing::warn!(attempts = attempt, error = %error, "a write kept conflicting; giving up");
                        return Err(Failure::Unavailable(Box::new(ConflictsExhausted {
                            attempts: attempt,
                            last: error,
                        })));
                    }
                    tracing::debug!(attempt, error = %error, "a write conflicted; running it again");
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Runs a closure on a read connection without opening a transaction (the readiness
    /// probe, bulk loaders that manage their own).
    pub(crate) async fn with_connection<T, F>(&self, f: F) -> Result<T, Failure>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, Failure> + Send + 'static,
    {
        if let Some(session) = &self.session {
            return session.run(f).await;
        }
        self.inner.read.run(f).await?
    }

    /// Runs one short statement that reads (a lookup by primary key), like
    /// [`Self::with_connection`]. On SQLite, when a reading connection is free this instant,
    /// it runs right here on the calling thread: the statement takes microseconds on a local
    /// file, less than the two thread switches of a hop to the blocking pool and back, which
    /// were most of the cost of such a read. Otherwise (PostgreSQL, whose answers cross a
    /// network, or no free connection) it takes the usual way.
    pub(crate) async fn point_read<T, F>(&self, f: F) -> Result<T, Failure>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, Failure> + Send + 'static,
    {
        if let Some(session) = &self.session {
            return session.read(f).await;
        }
        if self.inner.backend != Backend::Sqlite {
            return self.with_connection(f).await;
        }
        match self.inner.read.try_inline(f) {
            Ok(result) => result,
            Err(f) => self.with_connection(f).await,
        }
    }

    /// A copy of this database whose every call runs in one new write transaction, on one
    /// connection of the write pool, until its session is ended (see [`session`]).
    pub(crate) async fn begin_unit(&self, marks: Marks) -> Result<Self, Failure> {
        let checkpoints = self.inner.checkpoints.clone();
        let session = session::Session::open(&self.inner.write, marks, checkpoints).await?;
        Ok(Self {
            inner: Arc::clone(&self.inner),
            session: Some(Arc::new(session)),
        })
    }

    /// How many units of work one caller may usefully hold open at once: one on SQLite,
    /// whose single writer takes them in turn; on PostgreSQL up to half the pool (at most
    /// four), so that other requests keep connections while a bulk import runs.
    pub(crate) fn unit_lanes(&self) -> usize {
        match self.inner.backend {
            Backend::Sqlite => 1,
            Backend::Postgres => {
                usize::try_from(self.inner.write.pool().max_size() / 2).map_or(1, |n| n.clamp(1, 4))
            }
        }
    }

    /// How many lines of a bulk import share a unit of work on this backend. SQLite's one
    /// writer pays per unit for things a bigger unit spreads thinner (the read-ahead of the
    /// batch's customers, the held rows' inserts, the commit): about a third more lines per
    /// second with 1,500 than with 500, and the peak memory of 100,000 lines still well under
    /// 150 MiB (2,000 came to 149). PostgreSQL's units run side by side
    /// ([`Self::unit_lanes`]), so theirs stay small, which bounds the lines held at once.
    pub(crate) fn unit_lines(&self) -> usize {
        match self.inner.backend {
            Backend::Sqlite => 1_500,
            Backend::Postgres => 500,
        }
    }

    /// The unit of work this copy runs in ([`Self::begin_unit`]).
    pub(crate) fn unit(&self) -> Result<&session::Session, Failure> {
        self.session
            .as_deref()
            .ok_or_else(|| Failure::Broken("not a unit of work".to_owned()))
    }

    /// A connection from the write pool, for blocking helpers (bulk loading, backups).
    pub(crate) fn write_connection(&self) -> Result<Conn, Failure> {
        checkout_failure(self.inner.write.pool())
    }

    /// Takes every connection of every pool and keeps them until the guard drops, so tests
    /// can watch a call run out of connections.
    ///
    /// # Errors
    /// [`SetupError`] when the pools cannot be filled.
    #[cfg(feature = "test-support")]
    pub fn hold_all_connections(&self) -> Result<HeldConnections, SetupError> {
        let mut held = Vec::new();
        for _ in 0..self.inner.read.pool().max_size() {
            held.push(checkout(self.inner.read.pool())?);
        }
        if self.inner.backend == Backend::Sqlite {
            held.push(checkout(self.inner.write.pool())?);
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

/// Set-up (migrations, the organization currency) may wait longer than a request: the pool
/// is still opening its first connections.
const SETUP_CHECKOUT: Duration = Duration::from_secs(10);

fn checkout(pool: &ConnPool) -> Result<Conn, SetupError> {
    pool.get_timeout(SETUP_CHECKOUT.max(pool.connection_timeout()))
        .map_err(|error| SetupError::from(Failure::Unavailable(Box::new(error) as BoxError)))
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
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::error::is_conflict;
    use credence_domain::ports::StoreError;

    fn sqlite() -> (tempfile::TempDir, Database) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("retry.db").display());
        let database = Database::connect(&url, PoolOptions::default()).unwrap();
        (dir, database)
    }

    fn deadlock() -> Failure {
        Failure::Query(DieselError::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("deadlock detected".to_owned()),
        ))
    }

    /// Runs `fail` as a write whose first `failures` runs fail; returns the result and runs.
    async fn write_failing(
        failures: u32,
        fail: fn() -> Failure,
    ) -> (Result<&'static str, Failure>, u32) {
        let (_dir, database) = sqlite();
        let runs = Arc::new(AtomicU32::new(0));
        let counted = Arc::clone(&runs);
        let result = database
            .write(move |conn| {
                conn.batch_execute("SELECT 1")?;
                if counted.fetch_add(1, Ordering::SeqCst) < failures {
                    return Err(fail());
                }
                Ok("done")
            })
            .await;
        (result, runs.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn a_conflicting_write_runs_again_until_it_succeeds() {
        let (result, runs) = write_failing(WRITE_ATTEMPTS - 1, deadlock).await;
        assert_eq!(result.ok(), Some("done"));
        assert_eq!(runs, WRITE_ATTEMPTS);
    }

    #[tokio::test]
    async fn a_write_that_keeps_conflicting_is_unavailable() {
        let (result, runs) = write_failing(u32::MAX, deadlock).await;
        assert_eq!(runs, WRITE_ATTEMPTS, "bounded");
        let error = StoreError::from(result.err().unwrap());
        assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    }

    #[tokio::test]
    async fn other_failures_are_not_retried() {
        fn unique() -> Failure {
            Failure::Query(DieselError::DatabaseError(
                DatabaseErrorKind::UniqueViolation,
                Box::new("duplicate".to_owned()),
            ))
        }
        fn closed() -> Failure {
            Failure::Query(DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection,
                Box::new("server closed the connection unexpectedly".to_owned()),
            ))
        }
        for fail in [unique, closed, || Failure::corrupt("row", "bad")] {
            let (result, runs) = write_failing(u32::MAX, fail).await;
            assert!(result.is_err());
            assert_eq!(runs, 1, "a non-conflict runs once");
        }
    }

    #[test]
    fn backoff_grows_and_jitters() {
        for attempt in 1..WRITE_ATTEMPTS {
            let ceiling = BACKOFF_BASE * (1 << (attempt - 1));
            let wait = backoff(attempt);
            assert!(
                ceiling / 2 <= wait && wait <= ceiling,
                "{attempt}: {wait:?}"
            );
        }
        let waits: std::collections::HashSet<Duration> = (0..20).map(|_| backoff(3)).collect();
        assert!(waits.len() > 1, "jittered");
    }

    /// SQLite's real busy error (another connection holds the write lock) is a conflict.
    #[test]
    fn a_busy_sqlite_file_is_a_conflict() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("busy.db");
        let path = path.to_str().unwrap();
        let mut holder = SqliteConnection::establish(path).unwrap();
        holder
            .batch_execute("PRAGMA journal_mode = WAL; CREATE TABLE t (x INTEGER); BEGIN IMMEDIATE")
            .unwrap();
        let mut other = SqliteConnection::establish(path).unwrap();
        other.batch_execute("PRAGMA busy_timeout = 0").unwrap();
        let error = other.batch_execute("BEGIN IMMEDIATE").unwrap_err();
        assert!(is_conflict(&error), "{error:?}");
    }

    /// PostgreSQL's real deadlock error is a conflict (diesel reports it as `Unknown`).
    #[test]
    fn a_real_postgres_deadlock_is_a_conflict() {
        let Ok(url) = std::env::var("CREDENCE_TEST_POSTGRES_URL") else {
            eprintln!("skipped: CREDENCE_TEST_POSTGRES_URL is not set");
            return;
        };
        let key = uuid::Uuid::new_v4().as_u64_pair().0 >> 2;
        let (first, second) = (key, key + 1);
        let mut a = PgConnection::establish(&url).unwrap();
        let mut b = PgConnection::establish(&url).unwrap();
        a.batch_execute(&format!("BEGIN; SELECT pg_advisory_xact_lock({first})"))
            .unwrap();
        b.batch_execute(&format!("BEGIN; SELECT pg_advisory_xact_lock({second})"))
            .unwrap();
        let waiting = std::thread::spawn(move || {
            let result = a.batch_execute(&format!("SELECT pg_advisory_xact_lock({second})"));
            let _ = a.batch_execute("ROLLBACK");
            result
        });
        // One of the two is chosen as the victim once `deadlock_timeout` passes.
        let mine = b.batch_execute(&format!("SELECT pg_advisory_xact_lock({first})"));
        let _ = b.batch_execute("ROLLBACK");
        let theirs = waiting.join().unwrap();
        let error = mine.err().or(theirs.err()).unwrap();
        assert!(is_conflict(&error), "{error:?}");
    }

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
