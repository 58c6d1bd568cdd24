//! The dispatcher: queues the feed's new events for the endpoints that select them, claims
//! due attempts with a lease, signs and posts each, and records how it went, scheduling the
//! retry or giving up (and disabling an endpoint that fails every event).
//!
//! Every replica runs one; the store's queue makes them share the work without sending an
//! attempt twice at once. The lease outlasts the sender's time-out, so an attempt is only
//! taken over from a dispatcher that is gone (or stalled past its time-out): delivery is at
//! least once.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use super::{
    AttemptRecorded, AttemptReport, ClaimedDelivery, DeliveryRequest, DeliveryStore, Queued,
    WebhookSender,
};
use crate::events::{EventEncoder, RetryPolicy, signature};
use crate::ports::{Clock, StoreError};

/// The header naming the event.
pub const EVENT_ID_HEADER: &str = "Credence-Event-Id";
/// The header naming the event's type.
pub const EVENT_TYPE_HEADER: &str = "Credence-Event-Type";

/// How long a lease outlasts the sender's time-out: room for the claim's own round trips.
const LEASE_MARGIN: TimeDelta = TimeDelta::seconds(5);

/// The operator's choices for deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DispatchSettings {
    /// When failed attempts are tried again, and how many attempts there are.
    pub retry: RetryPolicy,
    /// How long the sender waits for an answer.
    pub timeout: TimeDelta,
    /// An endpoint whose last this-many events all failed is disabled (0: never).
    pub disable_after: u32,
    /// How many events one round queues, and how many attempts it claims.
    pub batch: u32,
}

/// Delivers events to webhook endpoints.
#[derive(Clone)]
pub struct WebhookDispatcher {
    deliveries: Arc<dyn DeliveryStore>,
    sender: Arc<dyn WebhookSender>,
    encoder: Arc<dyn EventEncoder>,
    clock: Arc<dyn Clock>,
    settings: DispatchSettings,
}

impl std::fmt::Debug for WebhookDispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookDispatcher")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl WebhookDispatcher {
    /// The dispatcher over its ports.
    #[must_use]
    pub fn new(
        deliveries: Arc<dyn DeliveryStore>,
        sender: Arc<dyn WebhookSender>,
        encoder: Arc<dyn EventEncoder>,
        clock: Arc<dyn Clock>,
        settings: DispatchSettings,
    ) -> Self {
        Self {
            deliveries,
            sender,
            encoder,
            clock,
            settings,
        }
    }

    /// Its settings.
    #[must_use]
    pub fn settings(&self) -> DispatchSettings {
        self.settings
    }

    /// Queues the next events of the feed for their endpoints.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn queue(&self) -> Result<Queued, StoreError> {
        self.deliveries
            .queue(self.settings.batch, self.clock.precise_now())
            .await
    }

    /// How many attempts are pending.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn backlog(&self) -> Result<u64, StoreError> {
        self.deliveries.backlog().await
    }

    /// Leases the due attempts this replica makes next.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn claim(&self) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let now = self.clock.precise_now();
        let lease_until = now + self.settings.timeout + LEASE_MARGIN;
        self.deliveries
            .claim(self.settings.batch, now, lease_until)
            .await
    }

    /// Makes one claimed attempt: signs the event with every secret valid now, posts it, and
    /// records the outcome with the retry it calls for.
    ///
    /// # Errors
    /// [`StoreError`] when the outcome cannot be recorded (the lease then lapses and the
    /// attempt is made again).
    pub async fn attempt(&self, delivery: ClaimedDelivery) -> Result<AttemptRecorded, StoreError> {
        let started = self.clock.precise_now();
        let request = self.request(&delivery, started);
        let outcome = self.sender.send(&request).await;
        let ended = self.clock.precise_now();
        let retry_at = if outcome.succeeded() {
            None
        } else {
            self.settings
                .retry
                .after_failure(delivery.attempt)
                .map(|wait| ended + wait)
        };
        let report = AttemptReport {
            outcome,
            attempted_at: started,
            duration_ms: u64::try_from((ended - started).num_milliseconds()).unwrap_or(0),
            retry_at,
            disable_after: self.settings.disable_after,
        };
        self.deliveries
            .record(delivery.id, delivery.claim, &report)
            .await
    }

    /// The signed post of a claimed attempt.
    fn request(&self, delivery: &ClaimedDelivery, now: DateTime<Utc>) -> DeliveryRequest {
        let body = self.encoder.body(&delivery.event);
        let secrets = delivery.secrets.valid_at(now);
        let secrets: Vec<&str> = secrets.iter().map(super::WebhookSecret::expose).collect();
        let signed = signature::header(&secrets, now.timestamp(), body.as_bytes());
        DeliveryRequest {
            url: delivery.url.clone(),
            headers: vec![
                (EVENT_ID_HEADER, delivery.event.id.to_string()),
                (EVENT_TYPE_HEADER, delivery.event.kind.as_str().to_owned()),
                (signature::HEADER, signed),
            ],
            body,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::events::{Event, EventId, EventType};
    use crate::ids::CustomerId;
    use crate::ports::{MockClock, MockDeliveryStore, MockWebhookSender};
    use crate::webhooks::{
        DeliveryId, DeliveryStatus, EndpointId, SendOutcome, SigningSecrets, StoredSecret,
        WebhookSecret, WebhookUrl,
    };

    #[derive(Debug)]
    struct Plain;

    impl EventEncoder for Plain {
        fn encode(&self, _object: crate::events::EventObject<'_>) -> String {
            String::new()
        }

        fn body(&self, event: &Event) -> String {
            format!("{{\"id\":\"{}\"}}", event.id)
        }
    }

    fn claimed(attempt: u32) -> ClaimedDelivery {
        ClaimedDelivery {
            id: DeliveryId(7),
            claim: 3,
            attempt,
            endpoint: EndpointId(1),
            url: WebhookUrl::from_trusted("https://203.0.113.10/hooks".into()),
            secrets: SigningSecrets(vec![StoredSecret {
                secret: WebhookSecret::from_stored("whsec_test".into()),
                created_at: Utc.timestamp_opt(0, 0).unwrap(),
                expires_at: None,
            }]),
            event: Event {
                id: EventId(42),
                kind: EventType::CustomerCreated,
                created_at: Utc.timestamp_opt(0, 0).unwrap(),
                customer: CustomerId(5),
                customer_reference: "C-5".into(),
                sequence: 1,
                object: "{}".into(),
            },
        }
    }

    fn dispatcher(
        store: MockDeliveryStore,
        sender: MockWebhookSender,
        max_attempts: u32,
    ) -> WebhookDispatcher {
        let mut clock = MockClock::new();
        clock
            .expect_precise_now()
            .returning(|| Utc.timestamp_opt(1_800_000_000, 0).unwrap());
        WebhookDispatcher::new(
            Arc::new(store),
            Arc::new(sender),
            Arc::new(Plain),
            Arc::new(clock),
            DispatchSettings {
                retry: RetryPolicy::new(TimeDelta::seconds(10), max_attempts),
                timeout: TimeDelta::seconds(10),
                disable_after: 50,
                batch: 10,
            },
        )
    }

    #[tokio::test]
    async fn an_attempt_is_signed_and_a_failure_is_retried_after_the_backoff() {
        let mut sender = MockWebhookSender::new();
        sender
            .expect_send()
            .withf(|request| {
                let signed = &request
                    .headers
                    .iter()
                    .find(|(name, _)| *name == signature::HEADER)
                    .unwrap()
                    .1;
                request.body == r#"{"id":"evt_42"}"#
                    && request
                        .headers
                        .contains(&(EVENT_ID_HEADER, "evt_42".into()))
                    && request
                        .headers
                        .contains(&(EVENT_TYPE_HEADER, "customer.created".into()))
                    && signature::verifies(signed, "whsec_test", request.body.as_bytes())
            })
            .returning(|_| SendOutcome::Answered(500));
        let mut store = MockDeliveryStore::new();
        store
            .expect_record()
            .withf(|id, claim, report| {
                *id == DeliveryId(7)
                    && *claim == 3
                    && report.status() == DeliveryStatus::Failed
                    && report.retry_at == Some(Utc.timestamp_opt(1_800_000_020, 0).unwrap())
            })
            .returning(|_, _, _| {
                Ok(AttemptRecorded {
                    recorded: true,
                    disabled: false,
                    succeeded: false,
                })
            });
        let recorded = dispatcher(store, sender, 12)
            .attempt(claimed(2))
            .await
            .unwrap();
        assert!(recorded.recorded);
    }

    #[tokio::test]
    async fn the_last_attempt_is_not_retried_and_a_2xx_succeeds() {
        let mut sender = MockWebhookSender::new();
        sender
            .expect_send()
            .returning(|_| SendOutcome::NoAnswer("timed out".into()));
        let mut store = MockDeliveryStore::new();
        store
            .expect_record()
            .withf(|_, _, report| report.retry_at.is_none() && report.disable_after == 50)
            .returning(|_, _, _| Ok(AttemptRecorded::default()));
        dispatcher(store, sender, 3)
            .attempt(claimed(3))
            .await
            .unwrap();

        let mut sender = MockWebhookSender::new();
        sender
            .expect_send()
            .returning(|_| SendOutcome::Answered(204));
        let mut store = MockDeliveryStore::new();
        store
            .expect_record()
            .withf(|_, _, report| {
                report.retry_at.is_none() && report.status() == DeliveryStatus::Succeeded
            })
            .returning(|_, _, _| Ok(AttemptRecorded::default()));
        dispatcher(store, sender, 3)
            .attempt(claimed(1))
            .await
            .unwrap();
    }
}
