//! Queues that turn calls arriving together into batches: the machinery shared by group
//! commit ([`crate::credit::group_commit`]) and group reads ([`crate::credit::group_read`]).
//!
//! Each lane has a queue and at most one task draining it. A call queues its item; the call
//! that finds the lane idle starts the task, which takes everything queued (up to a maximum)
//! as one batch, handles it, and repeats until the queue is empty. Nothing waits on purpose:
//! a batch is whatever queued up while the previous one was handled, so a lone call is
//! handled at once. The task runs on its own, so a caller that stops waiting cuts no batch
//! short.

use std::future::Future;
use std::sync::{Arc, Mutex};

struct LaneState<T> {
    queue: Vec<T>,
    /// A task is draining this lane; it takes what queues up until the queue is empty.
    draining: bool,
}

type Lane<T> = Arc<Mutex<LaneState<T>>>;

/// A lane's lock was poisoned by a panic while it was held.
#[derive(Debug, thiserror::Error)]
#[error("a batching queue is poisoned")]
pub(crate) struct Poisoned;

/// A fixed set of lanes of items `T`.
pub(crate) struct Lanes<T> {
    lanes: Vec<Lane<T>>,
    /// The most items in one batch.
    max_batch: usize,
}

impl<T> std::fmt::Debug for Lanes<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lanes")
            .field("lanes", &self.lanes.len())
            .field("max_batch", &self.max_batch)
            .finish()
    }
}

impl<T: Send + 'static> Lanes<T> {
    /// `count` lanes (at least one), batches of at most `max_batch` items (at least one).
    pub(crate) fn new(count: usize, max_batch: usize) -> Self {
        Self {
            lanes: (0..count.max(1))
                .map(|_| {
                    Arc::new(Mutex::new(LaneState {
                        queue: Vec::new(),
                        draining: false,
                    }))
                })
                .collect(),
            max_batch: max_batch.max(1),
        }
    }

    /// How many lanes there are.
    pub(crate) fn count(&self) -> usize {
        self.lanes.len()
    }

    /// Queues `item` on lane `index` (modulo the number of lanes). If no task is draining
    /// that lane, starts one that hands each batch to `handle` until the queue is empty.
    /// Items hold their own way to answer their callers: `handle` must answer each.
    pub(crate) fn push<H, F>(&self, index: usize, item: T, handle: H) -> Result<(), Poisoned>
    where
        H: Fn(Vec<T>) -> F + Send + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let lane = &self.lanes[index % self.lanes.len()];
        let start = {
            let mut state = lane.lock().map_err(|_| Poisoned)?;
            state.queue.push(item);
            !std::mem::replace(&mut state.draining, true)
        };
        if start {
            tokio::spawn(drain(Arc::clone(lane), self.max_batch, handle));
        }
        Ok(())
    }
}

/// Hands the lane back if its task stops without emptying it (a panic): the items still
/// queued are dropped (their callers learn it from their dropped answer channels), and the
/// next item starts a new task instead of waiting for one that is gone.
struct Release<T> {
    lane: Lane<T>,
    armed: bool,
}

impl<T> Drop for Release<T> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Ok(mut state) = self.lane.lock() {
            state.draining = false;
            state.queue.clear();
        }
    }
}

/// Handles the lane's batches until its queue is empty.
async fn drain<T, H, F>(lane: Lane<T>, max_batch: usize, handle: H)
where
    H: Fn(Vec<T>) -> F,
    F: Future<Output = ()>,
{
    let mut release = Release {
        lane: Arc::clone(&lane),
        armed: true,
    };
    loop {
        let batch: Vec<T> = {
            let Ok(mut state) = lane.lock() else {
                return;
            };
            if state.queue.is_empty() {
                state.draining = false;
                release.armed = false;
                return;
            }
            let take = state.queue.len().min(max_batch);
            state.queue.drain(..take).collect()
        };
        handle(batch).await;
    }
}
