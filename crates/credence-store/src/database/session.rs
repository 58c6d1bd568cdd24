//! A unit of work: one write transaction held open across many port calls, on one connection
//! owned by one blocking thread. Each call is a job sent to that thread and runs inside the
//! transaction; a call that fails undoes only itself. The caller may also set marks of its
//! own (savepoints) and return to them.
//!
//! Savepoints are statements (on PostgreSQL, round trips), so the thread sets only those that
//! can matter:
//!
//! - A mark becomes a savepoint only when a call that may write comes after it: a line that
//!   fails before it writes (a refused limit, an unknown category) costs none.
//! - A call that may write runs in a savepoint of its own, except the first one after a mark
//!   just set: the mark is a savepoint at the very same point, so when that call fails the
//!   thread rolls back to the mark and sets it again.
//! - A call that only reads needs no savepoint on SQLite (it leaves nothing to undo); on
//!   PostgreSQL it gets one, since a failed statement there spoils the whole transaction
//!   until one is rolled back to.
//!
//! An optimistic session ([`Marks::Optimistic`]) sets no savepoint at all: it notes which
//! marks were written after, and a mark undone after a write, or a write (on PostgreSQL any
//! call) that failed, spoils it. Every later call then fails at once, and the caller asks
//! ([`Session::spoiled`]), rolls back and starts again with savepoints.
//!
//! An optimistic session also holds back the rows nothing in it reads ([`write_behind`]) and
//! inserts them many to a statement: before a read, before it answers whether it is spoiled
//! (a failed insert spoils it), and before it commits.
//!
//! The thread begins the transaction as every write does (`BEGIN IMMEDIATE` on SQLite, so
//! the write lock is taken at once), runs jobs in the order they were sent, and ends with
//! the commit or rollback it is told, or with a rollback when every handle to it is gone
//! (a dropped request). Then the connection goes back to its pool.

use diesel::connection::{AnsiTransactionManager, Connection, TransactionManager};

use credence_domain::ports::Marks;

use crate::database::AnyConnection;
use crate::database::checkpoints::Checkpoints;
use crate::database::gated_pool::{Conn, GatedPool};
use crate::database::write_behind;
use crate::error::Failure;

type Manager = <AnyConnection as Connection>::TransactionManager;

/// One job for the session's thread: the connection, or why the session can no longer use
/// it. Answers whether it succeeded (the thread then keeps or undoes what it wrote).
type Job = Box<dyn FnOnce(Result<&mut AnyConnection, Failure>) -> bool + Send>;

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

/// What a job may do, which decides the savepoints around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Only reads.
    Read,
    /// May write.
    Write,
}

/// What the thread is told to do next.
enum Order {
    /// Run this inside the transaction.
    Run(Job, Access),
    /// A savepoint operation. Nobody waits for it: it is sent and the caller goes on, which
    /// saves a round trip to the thread per mark; when it fails, every later job and the
    /// end are told so instead of running.
    Mark(Mark),
    /// Report whether the session is spoiled, once everything before has run.
    Spoiled(tokio::sync::oneshot::Sender<Result<bool, Failure>>),
    /// End the transaction: commit (`true`) or roll back, then report.
    End(bool, tokio::sync::oneshot::Sender<Result<(), Failure>>),
}

/// The handle of an open unit of work.
#[derive(Debug)]
pub(crate) struct Session {
    orders: std::sync::mpsc::Sender<Order>,
    /// How long the unit's thread lingers for its next order: where it does (SQLite), a
    /// caller looks for its answer before it sleeps too ([`answer`]).
    linger: std::time::Duration,
}

/// The unit of work has ended (or its thread stopped): nothing more runs in it.
#[derive(Debug, thiserror::Error)]
#[error("the unit of work has ended")]
struct Ended;

fn ended() -> Failure {
    Failure::Broken(Ended.to_string())
}

/// Why an optimistic session stopped running calls.
const SPOILED: &str = "a line was undone after it wrote, without a savepoint to return to";

/// Why an optimistic session stopped when the rows it held back failed to go in.
const SPOILED_HELD: &str = "the rows held back for one statement could not be written";

/// The session's thread: its connection, inside the transaction, and the marks in force.
struct Worker {
    conn: Conn,
    /// The first failed savepoint (or, optimistic, what spoiled the session): the
    /// transaction is no longer where its caller thinks.
    broken: Option<String>,
    /// Whether marks are savepoints or only noted.
    optimistic: bool,
    /// The marks in force, oldest first: with savepoints, whether each is a savepoint yet
    /// (those not set yet are always the newest); optimistic, whether anything was written
    /// since it.
    marks: Vec<bool>,
}

impl Worker {
    /// Serves orders until the end, or until every handle is gone (then rolls back).
    /// Answers whether the transaction was committed.
    fn serve(&mut self, inbox: &std::sync::mpsc::Receiver<Order>) -> bool {
        let _holding = self.optimistic.then(write_behind::Holding::start);
        let linger = linger(&self.conn);
        loop {
            match next_order(inbox, linger) {
                Ok(Order::Run(job, access)) if self.optimistic => self.run_optimistic(job, access),
                Ok(Order::Run(job, access)) => self.run(job, access),
                Ok(Order::Mark(mark)) if self.optimistic => self.note(mark),
                Ok(Order::Spoiled(reply)) => {
                    self.write_held();
                    let _ = reply.send(match &self.broken {
                        Some(_) if self.optimistic => Ok(true),
                        Some(why) => Err(Failure::Broken(why.clone())),
                        None => Ok(false),
                    });
                }
                Ok(Order::Mark(mark)) => {
                    if self.broken.is_none()
                        && let Err(e) = self.mark(mark)
                    {
                        self.broken = Some(format!("a savepoint failed ({mark:?}): {e:?}"));
                    }
                }
                Ok(Order::End(commit, reply)) => {
                    if commit {
                        self.write_held();
                    } else {
                        write_behind::discard();
                    }
                    // A broken transaction can still be rolled back; only its commit fails.
                    let result = match &self.broken {
                        None => end(&mut self.conn, commit),
                        Some(_) if !commit => end(&mut self.conn, false),
                        Some(why) => {
                            let _ = end(&mut self.conn, false);
                            Err(Failure::Broken(why.clone()))
                        }
                    };
                    let committed = commit && result.is_ok();
                    let _ = reply.send(result);
                    return committed;
                }
                Err(_) => {
                    let _ = end(&mut self.conn, false);
                    return false;
                }
            }
        }
    }

    fn run(&mut self, job: Job, access: Access) {
        if let Some(why) = &self.broken {
            job(Err(Failure::Broken(why.clone())));
            return;
        }
        let outcome = match access {
            Access::Read if matches!(&*self.conn, AnyConnection::Sqlite(_)) => {
                job(Ok(&mut *self.conn));
                Ok(())
            }
            Access::Read => self.in_savepoint(job),
            Access::Write => match self.set_pending() {
                // The mark just set is a savepoint at this very point: it undoes the job.
                Ok(true) => {
                    if job(Ok(&mut *self.conn)) {
                        Ok(())
                    } else {
                        Manager::rollback_transaction(&mut *self.conn)
                            .and_then(|()| Manager::begin_transaction(&mut *self.conn))
                            .map_err(Failure::from)
                    }
                }
                Ok(false) => self.in_savepoint(job),
                Err(e) => {
                    job(Err(Failure::Broken(format!("a savepoint failed: {e:?}"))));
                    Err(e)
                }
            },
        };
        if let Err(e) = outcome
            && self.broken.is_none()
        {
            self.broken = Some(format!("a savepoint failed: {e:?}"));
        }
    }

    /// Runs `job` with no savepoint: when it fails after it may have written (a write, or
    /// anything on PostgreSQL, where a failed statement spoils the transaction), the session
    /// is spoiled.
    fn run_optimistic(&mut self, job: Job, access: Access) {
        if let Some(why) = &self.broken {
            job(Err(Failure::Broken(why.clone())));
            return;
        }
        if access == Access::Read {
            self.write_held();
            if let Some(why) = &self.broken {
                job(Err(Failure::Broken(why.clone())));
                return;
            }
        }
        let succeeded = job(Ok(&mut *self.conn));
        let sqlite = matches!(&*self.conn, AnyConnection::Sqlite(_));
        if succeeded {
            if access == Access::Write {
                self.marks.iter_mut().for_each(|written| *written = true);
            }
        } else if access == Access::Write || !sqlite {
            self.broken = Some(SPOILED.to_owned());
        }
    }

    /// Inserts the rows held back ([`write_behind`]) unless the transaction is broken; when
    /// that fails, the session is spoiled (nothing later can tell which line's rows failed).
    fn write_held(&mut self) {
        if self.broken.is_none()
            && let Err(e) = write_behind::flush(&mut self.conn)
        {
            self.broken = Some(format!("{SPOILED_HELD}: {e:?}"));
        }
    }

    /// Notes a mark of an optimistic session: undoing one that was written after spoils it.
    fn note(&mut self, mark: Mark) {
        match mark {
            Mark::Set => self.marks.push(false),
            Mark::Keep => {
                self.marks.pop();
            }
            Mark::Undo => {
                if self.marks.pop() != Some(false) && self.broken.is_none() {
                    self.broken = Some(SPOILED.to_owned());
                }
            }
        }
    }

    /// Runs `job` in a savepoint of its own, released when it succeeds, rolled back to when
    /// it fails.
    fn in_savepoint(&mut self, job: Job) -> Result<(), Failure> {
        if let Err(e) = Manager::begin_transaction(&mut *self.conn) {
            job(Err(Failure::Broken(format!("a savepoint failed: {e:?}"))));
            return Err(e.into());
        }
        if job(Ok(&mut *self.conn)) {
            Manager::commit_transaction(&mut *self.conn)?;
        } else {
            Manager::rollback_transaction(&mut *self.conn)?;
        }
        Ok(())
    }

    /// Makes the marks not set yet savepoints, oldest first, before a job that may write.
    /// Answers whether the newest mark was among them (nothing was written since it).
    fn set_pending(&mut self) -> Result<bool, Failure> {
        let mut newest = false;
        for set in self.marks.iter_mut().filter(|set| !**set) {
            Manager::begin_transaction(&mut *self.conn)?;
            *set = true;
            newest = true;
        }
        Ok(newest)
    }

    /// Notes a mark, or ends the newest one: a mark that is a savepoint is released or
    /// rolled back to; one that never became one (nothing wrote since) has nothing to keep
    /// or undo.
    fn mark(&mut self, mark: Mark) -> Result<(), Failure> {
        match mark {
            Mark::Set => self.marks.push(false),
            Mark::Keep | Mark::Undo => match self.marks.pop() {
                Some(true) if matches!(mark, Mark::Keep) => {
                    Manager::commit_transaction(&mut *self.conn)?;
                }
                Some(true) => Manager::rollback_transaction(&mut *self.conn)?,
                Some(false) => {}
                None => return Err(Failure::Broken(format!("{mark:?} without a mark"))),
            },
        }
        Ok(())
    }
}

impl Session {
    /// Takes a connection from `pool` and begins a write transaction on it, whose marks work
    /// as `marks` says.
    /// On SQLite, `checkpoints` moves the write-ahead log's checkpoint off the unit's
    /// commit ([`Checkpoints`]).
    pub(crate) async fn open(
        pool: &GatedPool,
        marks: Marks,
        checkpoints: Option<Checkpoints>,
    ) -> Result<Self, Failure> {
        let (orders, inbox) = std::sync::mpsc::channel::<Order>();
        let (ready, started) =
            tokio::sync::oneshot::channel::<Result<std::time::Duration, Failure>>();
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
            let deferred = checkpoints.as_ref().is_some_and(|c| c.before(&mut conn));
            if let Err(e) = begin(&mut conn) {
                let _ = ready.send(Err(e));
                return;
            }
            if ready.send(Ok(linger(&conn))).is_err() {
                let _ = end(&mut conn, false);
                return;
            }
            let mut worker = Worker {
                conn,
                broken: None,
                optimistic: marks == Marks::Optimistic,
                marks: Vec::new(),
            };
            let committed = worker.serve(&inbox);
            if let Some(checkpoints) = checkpoints {
                checkpoints.release(&mut worker.conn, deferred, committed);
                drop(worker);
                checkpoints.after(deferred, committed);
            }
        }));
        let linger = started.await.map_err(|_| ended())??;
        Ok(Self { orders, linger })
    }

    /// Runs `f` on the session's connection, inside the transaction, without a savepoint of
    /// its own.
    async fn raw<T, F>(&self, access: Access, f: F) -> Result<T, Failure>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, Failure> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.orders
            .send(Order::Run(
                Box::new(move |conn| {
                    let result = conn.and_then(f);
                    let succeeded = result.is_ok();
                    let _ = reply.send(result);
                    succeeded
                }),
                access,
            ))
            .map_err(|_| ended())?;
        self::answer(answer, self.linger)
            .await
            .map_err(|_| ended())?
    }

    fn send_mark(&self, mark: Mark) -> Result<(), Failure> {
        self.orders.send(Order::Mark(mark)).map_err(|_| ended())
    }

    /// Runs `f`, which may write, inside the transaction: when it fails, what it wrote is
    /// undone (see the module docs for the savepoint that does it).
    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T, Failure>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, Failure> + Send + 'static,
    {
        self.raw(Access::Write, f).await
    }

    /// Runs `f`, which only reads, inside the transaction.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, Failure>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, Failure> + Send + 'static,
    {
        self.raw(Access::Read, f).await
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

    /// Whether the session is spoiled (optimistic only), once every order sent before this
    /// one has run.
    pub(crate) async fn spoiled(&self) -> Result<bool, Failure> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.orders
            .send(Order::Spoiled(reply))
            .map_err(|_| ended())?;
        answer.await.map_err(|_| ended())?
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

/// How long the thread looks for its next order before it sleeps.
const LINGER: std::time::Duration = std::time::Duration::from_micros(50);

/// How long a caller looks for the answer to its call before it sleeps: longer than most
/// calls of an import take.
const AWAIT_LINGER: std::time::Duration = std::time::Duration::from_micros(500);

/// How long the unit's thread lingers for its next order ([`next_order`]): only on SQLite.
/// PostgreSQL's units run side by side, more of them than cores, and each waits for its
/// server anyway.
fn linger(conn: &AnyConnection) -> std::time::Duration {
    if matches!(conn, AnyConnection::Sqlite(_)) {
        LINGER
    } else {
        std::time::Duration::ZERO
    }
}

/// The answer to a call, looked for on the caller's thread for a while before the caller's
/// task sleeps ([`AWAIT_LINGER`], where the unit lingers at all). An answer found this way
/// wakes nobody: the unit's thread sends it without the system call that would wake a
/// sleeping caller (a twelfth of that thread's time on SQLite), and the caller sends its
/// next call at once instead of after being scheduled again. The price is a core spinning
/// for at most half a millisecond per call, the one the import's handler runs on, on a
/// store whose single writer leaves it mostly idle.
async fn answer<T>(
    mut answer: tokio::sync::oneshot::Receiver<T>,
    linger: std::time::Duration,
) -> Result<T, tokio::sync::oneshot::error::RecvError> {
    if !linger.is_zero() {
        let started = std::time::Instant::now();
        'looking: while started.elapsed() < AWAIT_LINGER {
            for _ in 0..64 {
                match answer.try_recv() {
                    Ok(value) => return Ok(value),
                    Err(tokio::sync::oneshot::error::TryRecvError::Empty) => {
                        std::hint::spin_loop();
                    }
                    Err(tokio::sync::oneshot::error::TryRecvError::Closed) => break 'looking,
                }
            }
        }
    }
    answer.await
}

/// The next order, or `Err` when every handle is gone. An import sends its next call a few
/// microseconds after it gets an answer: the thread looks for it for `linger` before it
/// sleeps, which spares both sides a sleep and a wake-up per call (a tenth of the thread's
/// time on SQLite). The moment is spent on a core the unit does not otherwise use.
fn next_order(
    inbox: &std::sync::mpsc::Receiver<Order>,
    linger: std::time::Duration,
) -> Result<Order, std::sync::mpsc::RecvError> {
    let started = std::time::Instant::now();
    while started.elapsed() < linger {
        for _ in 0..64 {
            match inbox.try_recv() {
                Ok(order) => return Ok(order),
                Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                    return Err(std::sync::mpsc::RecvError);
                }
                Err(std::sync::mpsc::TryRecvError::Empty) => std::hint::spin_loop(),
            }
        }
    }
    inbox.recv()
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
