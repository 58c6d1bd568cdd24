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

use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// A pool and the queue in front of it. Clones share both.
#[derive(Clone)]
pub(crate) struct GatedPool {
    pool: ConnPool,
    permits: Arc<Semaphore>,
}

/// The queue in front of the pool did not reach this call within the pool's wait.
#[derive(Debug, thiserror::Error)]
#[error("no database connection became free within {0:?}")]
struct QueueTimedOut(Duration);

impl GatedPool {
    pub(crate) fn new(pool: ConnPool) -> Self {
        let permits = usize::try_from(pool.max_size()).unwrap_or(1).max(1);
        Self {
            pool,
            permits: Arc::new(Semaphore::new(permits)),
        }
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
        F: FnOnce(&mut AnyConnection) -> R,
    {
        let Ok(_permit) = self.permits.try_acquire() else {
            return Err(f);
        };
        match self.pool.try_get() {
            Some(mut conn) => Ok(f(&mut conn)),
            None => Err(f),
        }
    }

    /// Runs `f` with a connection, on the blocking pool, once this call's turn has come.
    /// The connection goes back to the pool before the next call in the queue is let in.
    pub(crate) async fn run<R, F>(&self, f: F) -> Result<R, Failure>
    where
        R: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> R + Send + 'static,
    {
        let wait = self.pool.connection_timeout();
        let started = Instant::now();
        let permit = tokio::time::timeout(wait, Arc::clone(&self.permits).acquire_owned())
            .await
            .map_err(|_| Failure::Unavailable(Box::new(QueueTimedOut(wait))))?
            .map_err(|closed| Failure::Unavailable(Box::new(closed)))?;
        let pool = self.pool.clone();
        let checkout = wait.saturating_sub(started.elapsed()).max(LEAST_CHECKOUT);
        tokio::task::spawn_blocking(move || {
            let result = match pool.get_timeout(checkout) {
                Ok(mut conn) => Ok(f(&mut conn)),
                Err(error) => Err(Failure::Unavailable(Box::new(error) as BoxError)),
            };
            drop(permit);
            result
        })
        .await
        .map_err(Failure::Task)?
    }
}
