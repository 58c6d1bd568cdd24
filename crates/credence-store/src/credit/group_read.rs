//! Group reads of accounts on PostgreSQL: account reads that arrive while another batch is
//! being read are answered together, by one statement, then each on its own.
//!
//! Reading one account is one short statement, and on PostgreSQL nearly all of its cost is
//! fixed: a hop to the blocking pool and back, a round trip to the server, the protocol's
//! parse-bind-execute, each a thread switch or two. Under load those switches were most of
//! the server's CPU. A batch pays them once: `WHERE customer_id = ANY($2)` with every
//! waiting customer ([`crate::credit::fixed_statements::LiveAccountsAt`]).
//!
//! Nothing waits on purpose ([`Lanes`]): a lone read is sent at once. Reads have no order to
//! keep, so they are spread over a few lanes in turn, and that many batches can be in flight. Each read still sees
//! one consistent snapshot (one statement), taken after it arrived; lapsed reservations are
//! counted at the latest `now` of the batch, which is no later than the statement itself.
//! SQLite reads stay on their own path: they run inline, on the request's thread
//! ([`crate::database::Database::point_read`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use chrono::NaiveDateTime;
use credence_domain::credit::CreditAccount;
use credence_domain::ports::StoreError;
use tokio::sync::oneshot;

use crate::credit::group_commit::copy_of;
use crate::credit::live_accounts_at;
use crate::database::lanes::Lanes;
use crate::database::{AnyConnection, Database};
use crate::error::Failure;

/// The most reads answered by one statement.
const MAX_BATCH: usize = 256;

/// Batches that may be in flight at once: fewer than the pool's connections, so reads in
/// batches leave connections to writes.
const LANES: usize = 4;

type Answer = Result<Option<CreditAccount>, StoreError>;

struct Waiting {
    customer: i64,
    now: NaiveDateTime,
    reply: oneshot::Sender<Answer>,
}

/// The account-read queues of one store.
pub(crate) struct GroupRead {
    lanes: Lanes<Waiting>,
    next: AtomicUsize,
    /// Reads answered in a batch of more than one (tests show batching happens).
    batched: Arc<AtomicU64>,
}

impl std::fmt::Debug for GroupRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupRead")
            .field("lanes", &self.lanes)
            .finish()
    }
}

impl Default for GroupRead {
    fn default() -> Self {
        Self {
            lanes: Lanes::new(LANES, MAX_BATCH),
            next: AtomicUsize::new(0),
            batched: Arc::default(),
        }
    }
}

impl GroupRead {
    /// How many reads were answered in a batch of more than one so far.
    #[cfg(feature = "test-support")]
    pub(crate) fn batched(&self) -> u64 {
        self.batched.load(Ordering::Relaxed)
    }

    /// Queues the read and waits for its answer: the live customer's account at `now`, or
    /// `None` for a customer that is archived or unknown.
    pub(crate) async fn account(
        &self,
        database: &Database,
        customer: i64,
        now: NaiveDateTime,
    ) -> Answer {
        let (reply, answer) = oneshot::channel();
        let waiting = Waiting {
            customer,
            now,
            reply,
        };
        let database = database.clone();
        let batched = Arc::clone(&self.batched);
        self.lanes
            .push(
                self.next.fetch_add(1, Ordering::Relaxed),
                waiting,
                move |batch| read_and_answer(database.clone(), batch, Arc::clone(&batched)),
            )
            .map_err(|poisoned| StoreError::Unexpected(Box::new(poisoned)))?;
        answer.await.map_err(|_| {
            StoreError::Unexpected("the account read ended without an answer".into())
        })?
    }
}

/// Reads one batch in one statement and answers each read.
async fn read_and_answer(database: Database, batch: Vec<Waiting>, batched: Arc<AtomicU64>) {
    let now = batch.iter().map(|w| w.now).max().unwrap_or_default();
    let customers: Vec<i64> = batch.iter().map(|w| w.customer).collect();
    let read = database
        .with_connection(move |conn| match conn {
            AnyConnection::Postgresql(pg) => live_accounts_at(pg, customers, now),
            AnyConnection::Sqlite(_) => Err(Failure::Broken(
                "a batched account read reached SQLite".to_owned(),
            )),
        })
        .await;
    match read {
        Ok(accounts) => {
            if batch.len() > 1 {
                batched.fetch_add(batch.len() as u64, Ordering::Relaxed);
            }
            let by_customer: HashMap<i64, CreditAccount> = accounts
                .into_iter()
                .map(|account| (account.customer_id().get(), account))
                .collect();
            for waiting in batch {
                // The caller may have gone away.
                let _ = waiting
                    .reply
                    .send(Ok(by_customer.get(&waiting.customer).copied()));
            }
        }
        Err(failure) => {
            let error = StoreError::from(failure);
            for waiting in batch {
                let _ = waiting.reply.send(Err(copy_of(&error)));
            }
        }
    }
}
