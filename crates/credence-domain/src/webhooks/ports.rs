//! The webhook ports: the endpoints and their secrets, and the DNS the URL guard asks.

use std::net::IpAddr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{
    EndpointChanges, EndpointId, NewEndpoint, SigningSecrets, WebhookEndpoint, WebhookSecret,
};
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

/// Name resolution, for the guard of webhook URLs.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait HostResolver: Send + Sync {
    /// The addresses `host` resolves to; empty when it resolves to none (or not in time).
    async fn resolve(&self, host: &str, port: u16) -> Vec<IpAddr>;
}
