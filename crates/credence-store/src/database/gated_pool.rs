//! A connection pool with an async queue in front of it.
//!
//! Diesel is blocking, so every database call runs on tokio's blocking pool. Without a queue
//! in front, each waiting call would be a blocking thread parked on the pool's condition
//! variable: under load, hundreds of threads, each woken and switched to in turn, which cost
//! more CPU than the statements themselves and starved the cheap answers (refusals, health)
//! of the cores. Here a call first waits for a permit on a fair (first come, first served)
//! async semaphore with as many permits as the pool has connections; only a call holding a
//! permit takes a thread, and it finds a connection waiting for it. The wait for a permit and
//! the checkout together are bounded by the pool's `connection_timeout`, after which the call
//! fails as unavailable (a `503`), as before.
//!
//! It also decides which connections are dead. A call whose result says the connection itself
//! was lost (the server restarted, failed over, or became a read-only standby) marks it
//! broken, so the pool drops it instead of handing it out again. A PostgreSQL pool that has
//! been quiet for [`QUIET`] tests each connection with `SELECT 1` before lending it, because
//! idle connections are the ones a restart kills unseen; a busy pool skips that round trip,
//! which used to cost every request as much as its own statement.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel::connection::{SimpleConnection as _, TransactionManager as _};
use diesel::r2d2::{Pool, PooledConnection};
use tokio::sync::Semaphore;

use crate::database::{AnyConnection, Manager};
use crate::error::{BoxError, Failure};

pub(crate) type ConnPool = Pool<Manager>;
pub(crate) type Conn = PooledConnection<Manager>;

/// The shortest checkout a permit holder is given, however long its queue wait was: an idle
/// connection is then still taken, and only a pool with none (a connection being re-made)
/// fails.
const LEAST_CHECKOUT: Duration = Duration::from_millis(1);

/// How long a pool must have had no call for its connections to be tested before use.
const QUIET: Duration = Duration::from_secs(1);

/// A pool and the queue in front of it. Clones share both.
#[derive(Clone)]
pub(crate) struct GatedPool {
    pool: ConnPool,
    permits: Arc<Semaphore>,
    /// Whether connections can die unseen while idle (a server at the other end), so that a
    /// quiet pool tests them before use.
    test_after_quiet: bool,
    /// When the pool was made, the origin of `last_call`.
    origin: Instant,
    /// Microseconds from `origin` to the end of the latest call.
    last_call: Arc<AtomicU64>,
}

/// What a call's result says of the connection it ran on.
pub(crate) trait ConnectionReport {
    /// Whether the connection itself was lost, so it must not be used again.
    fn connection_lost(&self) -> bool;
}

impl<T> ConnectionReport for Result<T, Failure> {
    fn connection_lost(&self) -> bool {
        self.as_ref().is_err_and(Failure::connection_lost)
    }
}

impl<F, T> ConnectionReport for (F, Result<T, Failure>) {
    fn connection_lost(&self) -> bool {
        self.1.connection_lost()
    }
}

/// Makes the pool drop `conn` when it comes back (its `has_broken` then says so), as it does
/// a connection whose transaction failed to roll back.
fn mark_broken(conn: &mut AnyConnection) {
    <AnyConnection as diesel::Connection>::TransactionManager::transaction_manager_status_mut(conn)
        .set_in_error();
}

/// The queue in front of the pool did not reach this call within the pool's wait.
#[derive(Debug, thiserror::Error)]
#[error("no database connection became free within {0:?}")]
struct QueueTimedOut(Duration);

impl GatedPool {
    /// `test_after_quiet`: whether the connections talk to a server that can go away while
    /// they are idle.
    pub(crate) fn new(pool: ConnPool, test_after_quiet: bool) -> Self {
        let permits = usize::try_from(pool.max_size()).unwrap_or(1).max(1);
        Self {
            pool,
            permits: Arc::new(Semaphore::new(permits)),
            test_after_quiet,
            origin: Instant::now(),
            last_call: Arc::new(AtomicU64::new(0)),
        }
    }

    fn micros_since_origin(origin: Instant) -> u64 {
        u64::try_from(origin.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Whether no call has ended for [`QUIET`], so idle connections may have died unseen.
    fn quiet(&self) -> bool {
        let since = Self::micros_since_origin(self.origin)
            .saturating_sub(self.last_call.load(Ordering::Relaxed));
        self.test_after_quiet && Duration::from_micros(since) >= QUIET
    }

    /// The pool itself, for blocking callers outside a request (set-up, bulk loading, tests).
    pub(crate) fn pool(&self) -> &ConnPool {
        &self.pool
    }

    /// Runs `f` on the calling thread if a place in the queue and a connection are free this
    /// instant; gives `f` back otherwise (the caller then waits its turn with [`Self::run`]).
    /// Only for statements that take microseconds on a local file: the caller's thread is
    /// blocked meanwhile.
    pub(crate) fn try_inline<R, F>(&self, f: F) -> Result<R, F>
    where
        R: ConnectionReport,
        F: FnOnce(&mut AnyConnection) -> R,
    {
        if self.quiet() {
            return Err(f);
        }
        let Ok(_permit) = self.permits.try_acquire() else {
            return Err(f);
        };
        match self.pool.try_get() {
            Some(mut conn) => Ok(self.call(&mut conn, f)),
            None => Err(f),
        }
    }

    /// Runs `f` on `conn`, then marks `conn` broken if `f` lost it, and notes the call's end.
    fn call<R, F>(&self, conn: &mut AnyConnection, f: F) -> R
    where
        R: ConnectionReport,
        F: FnOnce(&mut AnyConnection) -> R,
    {
        let result = f(conn);
        if result.connection_lost() {
            mark_broken(conn);
        }
        self.last_call
            .store(Self::micros_since_origin(self.origin), Ordering::Relaxed);
        result
    }

    /// A connection within `wait`, tested first when `test` is set: one that fails the test
    /// is dropped and the next one tried, as long as the wait allows.
    fn checkout(&self, wait: Duration, test: bool) -> Result<Conn, Failure> {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline
                .saturating_duration_since(Instant::now())
                .max(LEAST_CHECKOUT);
            let mut conn = self
                .pool
                .get_timeout(left)
                .map_err(|error| Failure::Unavailable(Box::new(error) as BoxError))?;
            if !test || conn.batch_execute("SELECT 1").is_ok() {
                return Ok(conn);
            }
            mark_broken(&mut conn);
            drop(conn);
            if Instant::now() >= deadline {
                return Err(Failure::Unavailable(Box::new(QueueTimedOut(wait))));
            }
        }
    }

    /// A connection for a unit of work ([`crate::database::session`]), which holds it on its
    /// own thread until the unit ends; tested first as [`Self::run`] would.
    pub(crate) fn checkout_for_session(&self, wait: Duration) -> Result<Conn, Failure> {
        self.checkout(wait, self.quiet())
    }

    /// Runs `f` with a connection, on the blocking pool, once this call's turn has come.
    /// The connection goes back to the pool before the next call in the queue is let in.
    pub(crate) async fn run<R, F>(&self, f: F) -> Result<R, Failure>
    where
        R: ConnectionReport + Send + 'static,
        F: FnOnce(&mut AnyConnection) -> R + Send + 'static,
    {
        let test = self.quiet();
        let wait = self.pool.connection_timeout();
        let started = Instant::now();
        let permit = tokio::time::timeout(wait, Arc::clone(&self.permits).acquire_owned())
            .await
            .map_err(|_| Failure::Unavailable(Box::new(QueueTimedOut(wait))))?
            .map_err(|closed| Failure::Unavailable(Box::new(closed)))?;
        let pool = self.clone();
        let checkout = wait.saturating_sub(started.elapsed()).max(LEAST_CHECKOUT);
        tokio::task::spawn_blocking(move || {
            let result = pool
                .checkout(checkout, test)
                .map(|mut conn| pool.call(&mut conn, f));
            drop(permit);
            result
        })
        .await
        .map_err(Failure::Task)?
    }
}
