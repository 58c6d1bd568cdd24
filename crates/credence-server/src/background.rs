//! Work every replica does besides answering requests: releasing expired reservations,
//! forgetting old idempotency keys, removing events past their retention and orphaned blobs.
//!
//! It runs as one task that stops only at a safe point: between ticks, or between two
//! batches of a sweep, never inside a store call. Each batch is one transaction, so even a
//! `kill -9` leaves nothing half-done, but a clean shutdown should not even cut a batch short.

use std::time::Duration;

use credence_http::Services;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How many expired reservations one sweep releases at most.
const SWEEP_BATCH: u32 = 500;

/// Idempotency keys are kept at least this long (24 hours, with an hour to spare).
const IDEMPOTENCY_RETENTION: chrono::TimeDelta = chrono::TimeDelta::hours(25);

/// How many events past their retention one tick removes at most (a large backlog goes over
/// several ticks, each a short transaction).
const EVENT_PURGE_BATCH: u32 = 5_000;

/// How many blob keys one tick of the orphan sweep looks at.
const ORPHAN_BATCH: u32 = 500;

/// The running background work and the switch that stops it.
#[derive(Debug)]
pub(crate) struct Background {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Background {
    /// Starts the sweeper, ticking `every`.
    pub(crate) fn start(services: Services, every: Duration) -> Self {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(sweep(services, every, stopped));
        Self { stop, task }
    }

    /// Asks the work to stop at its next safe point and waits until it has.
    pub(crate) async fn stop(self) {
        // A send error means the task already ended; there is nothing to stop then.
        let _ = self.stop.send(true);
        if let Err(error) = self.task.await {
            tracing::warn!(error = %error, "the background task ended abnormally");
        }
    }
}

/// Whether a stop was asked for.
fn stopping(stopped: &watch::Receiver<bool>) -> bool {
    *stopped.borrow()
}

/// Releases expired reservations, forgets old idempotency keys and removes orphaned blobs (one
/// page of keys per tick, resuming where the last tick stopped) until asked to stop. Every
/// replica runs one: the store's conditional updates make concurrent sweeps release each
/// reservation once, and deleting a blob another replica already deleted is not an error.
async fn sweep(services: Services, every: Duration, mut stopped: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut orphan_cursor = None;
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            // Also taken when the sender is gone: nobody can ask for work any more.
            _ = stopped.changed() => {}
        }
        if stopping(&stopped) || stopped.has_changed().is_err() {
            return;
        }
        loop {
            match services.accounts.sweep(SWEEP_BATCH).await {
                Ok(released) if u64::from(SWEEP_BATCH) <= released => {
                    if stopping(&stopped) {
                        return;
                    }
                }
                Ok(0) => break,
                Ok(released) => {
                    tracing::info!(released, "expired reservations released");
                    break;
                }
                Err(error) => {
                    tracing::warn!(error = %error, "the reservation sweep failed; retrying at the next tick");
                    break;
                }
            }
        }
        if let Err(error) = services
            .idempotency
            .purge(services.clock.now() - IDEMPOTENCY_RETENTION)
            .await
        {
            tracing::warn!(error = %error, "purging old idempotency keys failed");
        }
        match services
            .events
            .purge_old(services.clock.now(), EVENT_PURGE_BATCH)
            .await
        {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "events past their retention removed"),
            Err(error) => tracing::warn!(error = %error, "purging old events failed"),
        }
        match services
            .documents
            .sweep_orphans(orphan_cursor.clone(), ORPHAN_BATCH)
            .await
        {
            Ok((deleted, next)) => {
                if deleted > 0 {
                    tracing::info!(deleted, "orphaned blobs removed");
                }
                orphan_cursor = next;
            }
            // The cursor stays: the same page is tried again at the next tick.
            Err(error) => {
                tracing::warn!(error = %error, "the orphaned blob sweep failed; retrying at the next tick");
            }
        }
    }
}
