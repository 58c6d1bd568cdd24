//! Work every replica does besides answering requests: releasing expired reservations,
//! forgetting old idempotency keys, removing events past their retention and orphaned blobs
//! (the sweeper), and delivering events to webhooks (the dispatcher).
//!
//! Each runs as one task that stops only at a safe point: between ticks, or between two
//! batches, never inside a store call or a delivery. Each batch is one transaction, so even a
//! `kill -9` leaves nothing half-done, but a clean shutdown should not even cut a batch short.

use std::time::Duration;

use credence_domain::webhooks::WebhookDispatcher;
use credence_http::{Metrics, Services};
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

/// How often an idle dispatcher looks for due deliveries. A busy one goes on at once.
const DISPATCH_POLL: Duration = Duration::from_millis(250);

/// How long a dispatcher waits after the database failed it, so an outage is not a storm of
/// warnings (the work is all in the database: nothing is lost meanwhile).
const DISPATCH_BACKOFF: Duration = Duration::from_secs(5);

/// Every how many rounds the dispatcher counts the backlog for the metrics (about every 5 s
/// when idle).
const BACKLOG_EVERY: u64 = 20;

/// The running background work and the switch that stops it.
#[derive(Debug)]
pub(crate) struct Background {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Background {
    /// Starts the sweeper, ticking `every`, and the webhook dispatcher.
    pub(crate) fn start(
        services: Services,
        dispatcher: WebhookDispatcher,
        metrics: Metrics,
        every: Duration,
    ) -> Self {
        let (stop, stopped) = watch::channel(false);
        let tasks = vec![
            tokio::spawn(sweep(services, metrics.clone(), every, stopped.clone())),
            tokio::spawn(dispatch(dispatcher, metrics, stopped)),
        ];
        Self { stop, tasks }
    }

    /// Asks the work to stop at its next safe point and waits until it has.
    pub(crate) async fn stop(self) {
        // A send error means the tasks already ended; there is nothing to stop then.
        let _ = self.stop.send(true);
        for task in self.tasks {
            if let Err(error) = task.await {
                tracing::warn!(error = %error, "a background task ended abnormally");
            }
        }
    }
}

/// Delivers events to webhooks until asked to stop: queues the feed's new events, claims the
/// due attempts and makes them all at once, and goes on at once while there is work. A stop
/// waits for the attempts in flight (each bounded by the sender's time-out), so none is left
/// to its lease.
async fn dispatch(
    dispatcher: WebhookDispatcher,
    metrics: Metrics,
    mut stopped: watch::Receiver<bool>,
) {
    let batch = u64::from(dispatcher.settings().batch);
    let mut rounds: u64 = 0;
    loop {
        let mut failed = false;
        let queued = match dispatcher.queue().await {
            Ok(queued) => queued.events,
            Err(error) => {
                tracing::warn!(error = %error, "queueing webhook deliveries failed");
                failed = true;
                0
            }
        };
        let claimed = match dispatcher.claim().await {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(error = %error, "claiming webhook deliveries failed");
                failed = true;
                Vec::new()
            }
        };
        let busy = queued >= batch || claimed.len() as u64 >= batch;
        rounds += 1;
        if rounds % BACKLOG_EVERY == 1 {
            match dispatcher.backlog().await {
                Ok(pending) => metrics.webhook_backlog(pending),
                Err(error) => {
                    tracing::debug!(error = %error, "counting the webhook backlog failed")
                }
            }
        }
        let mut attempts = tokio::task::JoinSet::new();
        for delivery in claimed {
            let (dispatcher, metrics) = (dispatcher.clone(), metrics.clone());
            attempts.spawn(async move {
                let (endpoint, event) = (delivery.endpoint, delivery.event.id);
                let made = dispatcher.attempt(delivery).await;
                if let Ok(recorded) = &made {
                    metrics.webhook_delivery(match (recorded.recorded, recorded.succeeded) {
                        (false, _) => "lost",
                        (true, true) => "succeeded",
                        (true, false) => "failed",
                    });
                }
                match made {
                    Ok(recorded) if recorded.disabled => tracing::warn!(
                        endpoint = %endpoint,
                        "webhook endpoint disabled: its last events all failed"
                    ),
                    Ok(_) => {}
                    Err(error) => tracing::warn!(
                        error = %error, endpoint = %endpoint, event = %event,
                        "a webhook delivery's outcome could not be recorded; it will be made again"
                    ),
                }
            });
        }
        while attempts.join_next().await.is_some() {}
        if stopping(&stopped) {
            return;
        }
        if !busy || failed {
            let pause = if failed {
                DISPATCH_BACKOFF
            } else {
                DISPATCH_POLL
            };
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                _ = stopped.changed() => {}
            }
            if stopping(&stopped) || stopped.has_changed().is_err() {
                return;
            }
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
async fn sweep(
    services: Services,
    metrics: Metrics,
    every: Duration,
    mut stopped: watch::Receiver<bool>,
) {
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
                    metrics.reservations_expired(released);
                    if stopping(&stopped) {
                        return;
                    }
                }
                Ok(0) => break,
                Ok(released) => {
                    metrics.reservations_expired(released);
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
