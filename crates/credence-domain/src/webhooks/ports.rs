//! The webhook ports: the endpoints and their secrets, the deliveries' queue, the sender that
//! posts them, and the DNS the URL guard asks.

use std::net::IpAddr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{
    AttemptRecorded, AttemptReport, ClaimedDelivery, DeliveryAttempt, DeliveryId, DeliveryRequest,
    EndpointChanges, EndpointId, NewEndpoint, Queued, SendOutcome, SigningSecrets, WebhookEndpoint,
    WebhookSecret,
};
use crate::events::EventId;
use crate::ids::CustomerId;
use crate::listing::{Page, PageRequest};
use crate::ports::StoreError;

/// Webhook endpoints and their signing secrets.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Stores a new endpoint and its first secret, in one transaction.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn create_endpoint(&self, endpoint: &NewEndpoint) -> Result<WebhookEndpoint, StoreError>;

    /// One page of endpoints, oldest first: those of `owner`, or every endpoint for `None`.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn endpoints(
        &self,
        owner: Option<CustomerId>,
        page: PageRequest,
    ) -> Result<Page<WebhookEndpoint>, StoreError>;

    /// One endpoint.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn endpoint(&self, id: EndpointId) -> Result<Option<WebhookEndpoint>, StoreError>;

    /// Applies `changes` in one statement (so a concurrent change of another field, such as
    /// the dispatcher disabling the endpoint, is not undone) and returns the endpoint after
    /// it; `None` when there is no such endpoint.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn update_endpoint(
        &self,
        id: EndpointId,
        changes: &EndpointChanges,
        now: DateTime<Utc>,
    ) -> Result<Option<WebhookEndpoint>, StoreError>;

    /// Deletes an endpoint and its secrets; `false` when there is no such endpoint.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn delete_endpoint(&self, id: EndpointId) -> Result<bool, StoreError>;

    /// Makes `secret` the current one, in one transaction: the current secret signs until
    /// `grace_until`, and any older secret stops at once (so at most two sign at a time);
    /// `false` when there is no such endpoint.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn rotate_secret(
        &self,
        id: EndpointId,
        secret: &WebhookSecret,
        now: DateTime<Utc>,
        grace_until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Every secret of an endpoint still stored, expired ones included.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn secrets(&self, id: EndpointId) -> Result<SigningSecrets, StoreError>;
}

/// The deliveries: queued from the feed, claimed with a lease, recorded once made.
///
/// Every replica's dispatcher uses it at once, so each method is one transaction that leaves
/// the queue consistent whatever the others do: an event is queued once per endpoint, an
/// attempt is held by one dispatcher at a time, and of one customer's events an endpoint is
/// offered the next only when every earlier one is no longer pending.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait DeliveryStore: Send + Sync {
    /// Reads up to `limit` events after the last one queued, in the feed's order, and queues
    /// one pending attempt, due at `now`, for each enabled endpoint that selects it (an
    /// admin's endpoint every customer's events, a reseller's those its feed shows, see
    /// [`crate::events::withheld_from_scope`]; events older than the endpoint are not sent to
    /// it). When another dispatcher is queueing, does nothing.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn queue(&self, limit: u32, now: DateTime<Utc>) -> Result<Queued, StoreError>;

    /// Leases up to `limit` due pending attempts until `lease_until`: of enabled endpoints,
    /// not leased by another dispatcher (or leased until before `now`), and each the earliest
    /// pending attempt of its customer's events at its endpoint.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn claim(
        &self,
        limit: u32,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<ClaimedDelivery>, StoreError>;

    /// Records how a claimed attempt went, in one transaction: the attempt's status, the next
    /// attempt when `report.retry_at` asks for one, and, when the failure is final and the
    /// endpoint's last `report.disable_after` events all failed, the endpoint disabled.
    /// Nothing is written when `claim` is no longer the attempt's latest.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn record(
        &self,
        id: DeliveryId,
        claim: i64,
        report: &AttemptReport,
    ) -> Result<AttemptRecorded, StoreError>;

    /// How many attempts are pending (due or not), for the metrics.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn backlog(&self) -> Result<u64, StoreError>;

    /// One page of an endpoint's attempts, newest first.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn attempts(
        &self,
        endpoint: EndpointId,
        page: PageRequest,
    ) -> Result<Page<DeliveryAttempt>, StoreError>;

    /// Queues one more attempt of `event` to `endpoint`, due at `now`; `None` when there is
    /// no such event, or it is not one the feed of `within`'s tree shows (a reseller's
    /// endpoint; see [`crate::events::withheld_from_scope`]).
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn redeliver(
        &self,
        endpoint: EndpointId,
        event: EventId,
        within: Option<CustomerId>,
        now: DateTime<Utc>,
    ) -> Result<Option<DeliveryAttempt>, StoreError>;
}

/// Posts a delivery. Implemented over an HTTP client with a time-out and a cap on what it
/// reads back; tests use a recorder.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait WebhookSender: Send + Sync {
    /// Posts `request` and says how it went; it never fails otherwise.
    async fn send(&self, request: &DeliveryRequest) -> SendOutcome;
}

/// Name resolution, for the guard of webhook URLs.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait HostResolver: Send + Sync {
    /// The addresses `host` resolves to; empty when it resolves to none (or not in time).
    async fn resolve(&self, host: &str, port: u16) -> Vec<IpAddr>;
}
