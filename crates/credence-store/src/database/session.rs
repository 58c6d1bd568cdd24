//! A unit of work: one write transaction held open across many port calls, on one connection
//! owned by one blocking thread. Each call is a job sent to that thread and runs inside the
//! transaction, in a savepoint of its own (diesel's nested `transaction`), so a call that
//! fails undoes only itself; the caller may also set marks of its own (savepoints) and
//! return to them.
//!
//! The thread begins the transaction as every write does (`BEGIN IMMEDIATE` on SQLite, so
//! the write lock is taken at once), runs jobs in the order they were sent, and ends with
//! the commit or rollback it is told, or with a rollback when every handle to it is gone
//! (a dropped request). Then the connection goes back to its pool.

use diesel::connection::{AnsiTransactionManager, Connection, TransactionManager};

use crate::database::AnyConnection;
use crate::database::gated_pool::GatedPool;
use crate::error::Failure;

/// One job for the session's thread: the connection, or why the session can no longer use it.
type Job = Box<dyn FnOnce(Result<&mut AnyConnection, Failure>) + Send>;

/// A savepoint operation.
#[derive(Debug, Clone, Copy)]
enum Mark {
    /// `SAVEPOINT`.
    Set,
    /// `RELEASE SAVEPOINT`.
    Keep,
    /// `ROLLBACK TO SAVEPOINT`.
    Undo,
}

/// What the thread is told to do next.
enum Order {
    /// Run this inside the transaction.
    Run(Job),
    /// A savepoint operation. Nobody waits for it: it is sent and the caller goes on, which
    /// saves a round trip to the thread per mark; when it fails, every later job and the
    /// end are told so instead of running.
    Mark(Mark),
    /// End the transaction: commit (`true`) or roll back, then report.
    End(bool, tokio::sync::oneshot::Sender<Result<(), Failure>>),
}

/// The handle of an open unit of work.
#[derive(Debug)]
pub(crate) struct Session {
    orders: std::sync::mpsc::Sender<Order>,
}

/// The unit of work has ended (or its thread stopped): nothing more runs in it.
#[derive(Debug, thiserror::Error)]
#[error("the unit of work has ended")]
struct Ended;

fn ended() -> Failure {
    Failure::Broken(Ended.to_string())
}

impl Session {
    /// Takes a connection from `pool` and begins a write transaction on it.
    pub(crate) async fn open(pool: &GatedPool) -> Result<Self, Failure> {
        let (orders, inbox) = std::sync::mpsc::channel::<Order>();
        let (ready, started) = tokio::sync::oneshot::channel::<Result<(), Failure>>();
        let pool = pool.clone();
        let wait = pool.pool().connection_timeout();
        // The thread outlives this call: it serves the session until it is told to end.
        drop(tokio::task::spawn_blocking(move || {
            let mut conn = match pool.checkout_for_session(wait) {
                Ok(conn) => conn,
                Err(e) => {
                    let _ = ready.send(Err(e));
                    return;
                }
            };
            if let Err(e) = begin(&mut conn) {
                let _ = ready.send(Err(e));
                return;
            }
            if ready.send(Ok(())).is_err() {
                let _ = end(&mut conn, false);
                return;
            }
            // The first failed mark: the transaction is no longer where its caller thinks.
            let mut broken: Option<String> = None;
            loop {
                match inbox.recv() {
                    Ok(Order::Run(job)) => match &broken {
                        None => job(Ok(&mut conn)),
                        Some(why) => job(Err(Failure::Broken(why.clone()))),
                    },
                    Ok(Order::Mark(mark)) => {
                        if broken.is_none()
                            && let Err(e) = apply_mark(&mut conn, mark)
                        {
                            broken = Some(format!("a savepoint failed ({mark:?}): {e:?}"));
                        }
                    }
                    Ok(Order::End(commit, reply)) => {
                        let result = match &broken {
                            None => end(&mut conn, commit),
                            Some(why) => {
                                let _ = end(&mut conn, false);
                                Err(Failure::Broken(why.clone()))
                            }
                        };
                        let _ = reply.send(result);
                        return;
                    }
                    // Every handle is gone without an end: nothing is kept.
                    Err(_) => {
                        let _ = end(&mut conn, false);
                        return;
                    }
                }
            }
        }));
        started.await.map_err(|_| ended())??;
        Ok(Self { orders })
    }

    /// Runs `f` on the session's connection, inside the transaction, without a savepoint of
    /// its own.
    async fn raw<T, F>(&self, f: F) -> Result<T, Failure>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, Failure> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.orders
            .send(Order::Run(Box::new(move |conn| {
                let _ = reply.send(conn.and_then(f));
            })))
            .map_err(|_| ended())?;
        answer.await.map_err(|_| ended())?
    }

    fn send_mark(&self, mark: Mark) -> Result<(), Failure> {
        self.orders.send(Order::Mark(mark)).map_err(|_| ended())
    }

    /// Runs `f` inside the transaction, in a savepoint that is released when it succeeds and
    /// rolled back to when it fails.
    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T, Failure>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, Failure> + Send + 'static,
    {
        self.raw(move |conn| conn.transaction(f)).await
    }

    /// Sets a mark (a savepoint). Queued, not awaited: a failure shows in the next call.
    pub(crate) fn mark(&self) -> Result<(), Failure> {
        self.send_mark(Mark::Set)
    }

    /// Forgets the latest mark, keeping what was written since (queued, as [`Self::mark`]).
    pub(crate) fn keep(&self) -> Result<(), Failure> {
        self.send_mark(Mark::Keep)
    }

    /// Returns to the latest mark (queued, as [`Self::mark`]).
    pub(crate) fn undo(&self) -> Result<(), Failure> {
        self.send_mark(Mark::Undo)
    }

    /// Commits (`true`) or rolls back the transaction; the session ends either way.
    pub(crate) async fn end(&self, commit: bool) -> Result<(), Failure> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.orders
            .send(Order::End(commit, reply))
            .map_err(|_| ended())?;
        answer.await.map_err(|_| ended())?
    }
}

fn apply_mark(conn: &mut AnyConnection, mark: Mark) -> Result<(), Failure> {
    type Manager = <AnyConnection as Connection>::TransactionManager;
    match mark {
        Mark::Set => Manager::begin_transaction(conn)?,
        Mark::Keep => Manager::commit_transaction(conn)?,
        Mark::Undo => Manager::rollback_transaction(conn)?,
    }
    Ok(())
}

/// Begins the outer transaction as [`crate::database::write_transaction`] does.
fn begin(conn: &mut AnyConnection) -> Result<(), Failure> {
    match conn {
        AnyConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
        }
        AnyConnection::Postgresql(c) => {
            <diesel::PgConnection as Connection>::TransactionManager::begin_transaction(c)?;
        }
    }
    Ok(())
}

/// Ends the outer transaction, and any marks still open inside it.
fn end(conn: &mut AnyConnection, commit: bool) -> Result<(), Failure> {
    type Manager = <AnyConnection as Connection>::TransactionManager;
    if commit {
        Manager::commit_transaction(conn)?;
        return Ok(());
    }
    // A rollback to the outermost level: each call ends one level.
    loop {
        let depth = match Manager::transaction_manager_status_mut(conn).transaction_depth() {
            Ok(Some(depth)) => depth.get(),
            Ok(None) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        Manager::rollback_transaction(conn)?;
        if depth <= 1 {
            return Ok(());
        }
    }
}
