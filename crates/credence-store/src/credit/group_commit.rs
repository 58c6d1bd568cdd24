//! Group commit for admissions: admissions that arrive while another batch is being written
//! are checked and applied together, in one transaction, then each is answered on its own.
//!
//! An admission is a short transaction whose cost is mostly fixed: a hop to the blocking
//! pool, a connection checkout, `BEGIN`, `COMMIT` and its flush to disk. On one hot account,
//! PostgreSQL holds the account's row lock across that flush, so admissions go one flush at a
//! time. Batching pays those costs once per batch instead of once per admission.
//!
//! Each admission in a batch runs exactly the statements it would run alone
//! ([`admit_in`]), one after the other on the same transaction, so each sees the ones before
//! it: it is admitted or refused exactly as if it had run alone in that order, it writes its
//! own reservation and ledger entry, and a second admission with the same idempotency tag
//! finds the first one's reservation and answers it. Nothing waits on purpose: a batch is
//! whatever queued up while the previous one was being written, so a lone admission is
//! written at once.
//!
//! Admissions are spread over lanes by paying account, one batch at a time per lane: one
//! account's admissions always share a lane (they would queue on its row lock anyway), and
//! on PostgreSQL several lanes write at once for different accounts. SQLite has one writer,
//! so one lane. Within a batch, admissions are applied in account order, so two replicas'
//! batches lock accounts in the same order and cannot deadlock on each other (what does
//! collide is run again as a whole by [`Database::write`]).
//!
//! If a batch fails on a statement the database refused (a unique violation from a racing
//! twin on another replica, a corrupt row), its transaction rolled back and nothing of it
//! was applied: each admission is then run alone, so one bad admission fails only itself. A
//! failure whose outcome is unknown (the connection broke around `COMMIT`) is answered to
//! every admission of the batch as it would be to a lone one, never run again.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use credence_domain::credit::{CreditAccount, Reservation};
use credence_domain::events::EventEncoder;
use credence_domain::ids::CustomerId;
use credence_domain::ports::{Admission, AdmitError, Precondition, StoreError};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use tokio::sync::oneshot;

use crate::credit::{admit_in, is_unique_violation, reservation_by_tag};
use crate::database::lanes::Lanes;
use crate::database::{Backend, Database};
use crate::error::Failure;
use crate::events::Outbox;

/// The most admissions written in one transaction: enough to amortize a commit many times
/// over, few enough that a batch holds its row locks for a few milliseconds only.
const MAX_BATCH: usize = 128;

/// Lanes on PostgreSQL (SQLite: one).
const POSTGRES_LANES: usize = 4;

type Answer = Result<Reservation, AdmitError>;

/// An admission with the condition the client put on its account (`If-Match`), tested in
/// the batch's transaction like the credit itself, so it too sees the admissions before it.
type Asked = (Admission, Precondition<CreditAccount>);

struct Waiting {
    asked: Asked,
    reply: oneshot::Sender<Answer>,
}

/// The admission queues of one store.
pub(crate) struct GroupCommit {
    lanes: Lanes<Waiting>,
    /// Admissions written in a batch of more than one (tests show batching happens).
    batched: Arc<AtomicU64>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field("lanes", &self.lanes)
            .finish()
    }
}

impl GroupCommit {
    pub(crate) fn new(backend: Backend) -> Self {
        let lanes = match backend {
            Backend::Sqlite => 1,
            Backend::Postgres => POSTGRES_LANES,
        };
        Self {
            lanes: Lanes::new(lanes, MAX_BATCH),
            batched: Arc::default(),
        }
    }

    /// How many admissions were written in a batch of more than one so far.
    #[cfg(feature = "test-support")]
    pub(crate) fn batched(&self) -> u64 {
        self.batched.load(Ordering::Relaxed)
    }

    /// Queues the admission and waits for its answer. The batch is written by a task of its
    /// own, so a caller that stops waiting (a client that went away) cuts no batch short.
    pub(crate) async fn admit(
        &self,
        database: &Database,
        events: &Arc<dyn EventEncoder>,
        admission: Admission,
        only_if: Precondition<CreditAccount>,
    ) -> Answer {
        let lane = usize::try_from(admission.account.get().unsigned_abs()).unwrap_or_default()
            % self.lanes.count();
        let asked = (admission, only_if);
        let (reply, answer) = oneshot::channel();
        let database = database.clone();
        let events = Arc::clone(events);
        let batched = Arc::clone(&self.batched);
        self.lanes
            .push(lane, Waiting { asked, reply }, move |batch| {
                write_and_answer(
                    database.clone(),
                    Arc::clone(&events),
                    batch,
                    Arc::clone(&batched),
                )
            })
            .map_err(|poisoned| AdmitError::Store(StoreError::Unexpected(Box::new(poisoned))))?;
        answer.await.map_err(|_| {
            AdmitError::Store(StoreError::Unexpected(
                "the admission batch ended without an answer".into(),
            ))
        })?
    }
}

/// Writes one batch and answers each of its admissions.
async fn write_and_answer(
    database: Database,
    events: Arc<dyn EventEncoder>,
    batch: Vec<Waiting>,
    batched: Arc<AtomicU64>,
) {
    let (admissions, replies): (Vec<Asked>, Vec<oneshot::Sender<Answer>>) = batch
        .into_iter()
        .map(|waiting| (waiting.asked, waiting.reply))
        .unzip();
    let answers = write_batch(&database, &events, admissions, &batched).await;
    for (reply, answer) in replies.into_iter().zip(answers) {
        // The caller may have gone away; its admission stands either way.
        let _ = reply.send(answer);
    }
}

/// Writes a batch and answers each admission, in the batch's order.
async fn write_batch(
    database: &Database,
    events: &Arc<dyn EventEncoder>,
    admissions: Vec<Asked>,
    batched: &AtomicU64,
) -> Vec<Answer> {
    if admissions.len() == 1 {
        let mut answers = Vec::with_capacity(1);
        for admission in admissions {
            answers.push(admit_alone(database, events, admission).await);
        }
        return answers;
    }
    // Applied in account order (stable: one account's admissions keep their arrival order).
    let mut order: Vec<usize> = (0..admissions.len()).collect();
    order.sort_by_key(|&i| admissions[i].0.account.get());
    let ordered: Arc<Vec<Asked>> = Arc::new(order.iter().map(|&i| admissions[i].clone()).collect());
    let batch = Arc::clone(&ordered);
    let encoder = Arc::clone(events);
    let written = database
        .write(move |conn| {
            let accounts: Vec<CustomerId> = batch.iter().map(|(a, _)| a.account).collect();
            let outbox = Outbox::open(conn, &*encoder, &accounts)?;
            batch
                .iter()
                .map(|(admission, only_if)| {
                    Ok(admit_in(conn, &outbox, admission, only_if)?
                        .map(|admitted| admitted.reservation)
                        .map_err(AdmitError::from))
                })
                .collect::<Result<Vec<Answer>, Failure>>()
        })
        .await;
    match written {
        Ok(in_order) => {
            batched.fetch_add(in_order.len() as u64, Ordering::Relaxed);
            let mut answers: Vec<Option<Answer>> = admissions.iter().map(|_| None).collect();
            for (&original, answer) in order.iter().zip(in_order) {
                answers[original] = Some(answer);
            }
            answers
                .into_iter()
                .map(|answer| {
                    answer.unwrap_or_else(|| {
                        Err(AdmitError::Store(StoreError::Unexpected(
                            "an admission of the batch was not answered".into(),
                        )))
                    })
                })
                .collect()
        }
        Err(failure) if rolled_back(&failure) => {
            tracing::debug!(
                size = admissions.len(),
                "an admission batch failed; running each alone"
            );
            let mut answers = Vec::with_capacity(admissions.len());
            for admission in admissions {
                answers.push(admit_alone(database, events, admission).await);
            }
            answers
        }
        Err(failure) => {
            let error = StoreError::from(failure);
            admissions
                .iter()
                .map(|_| Err(AdmitError::Store(copy_of(&error))))
                .collect()
        }
    }
}

/// The same failure, for each admission of a batch (a boxed cause cannot be cloned; its
/// message can).
pub(crate) fn copy_of(error: &StoreError) -> StoreError {
    let cause =
        std::error::Error::source(error).map_or_else(|| error.to_string(), ToString::to_string);
    match error {
        StoreError::Unavailable(_) => StoreError::Unavailable(cause.into()),
        StoreError::Unexpected(_) => StoreError::Unexpected(cause.into()),
    }
}

/// Whether the batch certainly applied nothing: a statement the database refused inside the
/// transaction (which then rolled back), or a row the adapter could not read.
fn rolled_back(failure: &Failure) -> bool {
    match failure {
        Failure::Query(DieselError::DatabaseError(kind, _)) => matches!(
            kind,
            DatabaseErrorKind::UniqueViolation
                | DatabaseErrorKind::ForeignKeyViolation
                | DatabaseErrorKind::CheckViolation
                | DatabaseErrorKind::NotNullViolation
        ),
        Failure::Corrupt(_) | Failure::Broken(_) => true,
        _ => false,
    }
}

/// One admission in a transaction of its own; a racing twin with the same tag that
/// committed first (on another replica) is answered with the twin's reservation.
async fn admit_alone(
    database: &Database,
    events: &Arc<dyn EventEncoder>,
    (admission, only_if): Asked,
) -> Answer {
    let tagged = admission.clone();
    let encoder = Arc::clone(events);
    let result = database
        .write(move |conn| {
            let outbox = Outbox::open(conn, &*encoder, &[tagged.account])?;
            admit_in(conn, &outbox, &tagged, &only_if)
        })
        .await;
    match result {
        Ok(Ok(admitted)) => Ok(admitted.reservation),
        Ok(Err(refusal)) => Err(refusal.into()),
        Err(failure) if is_unique_violation(&failure) => {
            let Some(tag) = admission.idempotency.clone() else {
                return Err(AdmitError::Store(failure.into()));
            };
            database
                .read(move |conn| reservation_by_tag(conn, &tag))
                .await
                .map_err(StoreError::from)?
                .ok_or_else(|| AdmitError::Store(failure.into()))
        }
        Err(failure) => Err(failure.into()),
    }
}
