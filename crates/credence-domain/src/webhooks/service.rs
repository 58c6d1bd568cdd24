//! The endpoints' use cases. Scope: an admin's endpoints receive every customer's events and
//! an admin manages every endpoint; a reseller's endpoint belongs to its own customer (the
//! dispatcher delivers it the events of that customer's tree), and a reseller sees and
//! manages only its own endpoints; a customer principal uses none.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{
    DeliveryAttempt, DeliveryStore, EndpointChanges, EndpointId, EventSelection, Host,
    HostResolver, NewEndpoint, ROTATION_GRACE, UrlError, WebhookEndpoint, WebhookSecret,
    WebhookStore, WebhookUrl, is_private_network,
};
use crate::access::principal::Principal;
use crate::access::scope::back_office_tree;
use crate::events::{EventId, UnknownEventType};
use crate::field::Field;
use crate::ids::CustomerId;
use crate::input::{InputError, flag};
use crate::listing::{Page, PageRequest};
use crate::ports::{Clock, SecretSource, StoreError};
use crate::values::FreeText;
use crate::values::TextError;

/// What was wrong with an endpoint's input; the HTTP adapter words each rule with the API's
/// field names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookRule {
    /// No URL, or a blank one.
    #[error("an endpoint needs a URL")]
    UrlRequired,
    /// A URL that is no http(s) URL, or carries credentials.
    #[error(transparent)]
    Url(UrlError),
    /// A URL whose host is (or resolves to) a loopback, private, link-local or unspecified
    /// address, and the service does not allow those (what it points to).
    #[error("the URL points to a private address: {0}")]
    PrivateAddress(String),
    /// An empty list of types.
    #[error("no event type selected")]
    NoTypes,
    /// An unknown type or family.
    #[error(transparent)]
    Types(UnknownEventType),
    /// A description that is too long.
    #[error("description: {0}")]
    Description(TextError),
    /// An `enabled` that is no boolean.
    #[error("the enabled flag is no boolean")]
    Enabled,
}

impl From<WebhookRule> for InputError {
    fn from(rule: WebhookRule) -> Self {
        Self::Webhook(rule)
    }
}

/// Why a webhook use case failed.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The caller's role may not use this function: `403`.
    #[error("{}", crate::services::FORBIDDEN)]
    Forbidden,
    /// No such endpoint, or not one of the caller's: `404`.
    #[error("The webhook endpoint with the id {0} doesn't exist.")]
    NotFound(EndpointId),
    /// No such event, or not one the endpoint may receive: `404`.
    #[error("The event {0} doesn't exist.")]
    EventNotFound(EventId),
    /// Bad input: `400`.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The operator's choices for webhook URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WebhookPolicy {
    /// Whether URLs may point to loopback, private, link-local or unspecified addresses
    /// (a receiver on the same host or network, in development or behind a firewall).
    pub allow_private_networks: bool,
}

/// A client's endpoint fields as sent: text, absent or `null` (the HTTP adapter reads the
/// body's shape; the rules are here).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookInput {
    /// `url`.
    pub url: Field<String>,
    /// `types`: names of types and families, `*` for all.
    pub types: Field<Vec<String>>,
    /// `description`.
    pub description: Field<String>,
    /// `enabled`, as text (`true`, `false`...).
    pub enabled: Field<String>,
}

/// An endpoint with a secret just made: the only answers that carry one.
#[derive(Debug, Clone)]
pub struct CreatedEndpoint {
    /// The endpoint.
    pub endpoint: WebhookEndpoint,
    /// Its new signing secret.
    pub secret: WebhookSecret,
}

/// Webhook endpoints: create, list, show, change, delete, rotate the secret.
#[derive(Clone)]
pub struct WebhookService {
    store: Arc<dyn WebhookStore>,
    deliveries: Arc<dyn DeliveryStore>,
    resolver: Arc<dyn HostResolver>,
    secrets: Arc<dyn SecretSource>,
    clock: Arc<dyn Clock>,
    policy: WebhookPolicy,
}

impl std::fmt::Debug for WebhookService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookService")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// Who owns what a caller creates and sees: `None` for an admin (every endpoint).
fn owner(principal: &Principal) -> Result<Option<CustomerId>, WebhookError> {
    back_office_tree(principal).map_err(|_| WebhookError::Forbidden)
}

impl WebhookService {
    /// The service over its ports.
    #[must_use]
    pub fn new(
        store: Arc<dyn WebhookStore>,
        deliveries: Arc<dyn DeliveryStore>,
        resolver: Arc<dyn HostResolver>,
        secrets: Arc<dyn SecretSource>,
        clock: Arc<dyn Clock>,
        policy: WebhookPolicy,
    ) -> Self {
        Self {
            store,
            deliveries,
            resolver,
            secrets,
            clock,
            policy,
        }
    }

    /// Creates an endpoint for the caller (enabled, for every event, unless told otherwise)
    /// with a new secret.
    ///
    /// # Errors
    /// [`WebhookError::Forbidden`] for a customer principal; [`WebhookError::Input`] for a
    /// missing or refused `url`, an unknown type, a long description, a non-boolean
    /// `enabled`; [`WebhookError::Store`].
    pub async fn create(
        &self,
        principal: &Principal,
        input: WebhookInput,
    ) -> Result<CreatedEndpoint, WebhookError> {
        let customer = owner(principal)?;
        let url = match input.url {
            Field::Value(text) if !text.trim().is_empty() => self.url(&text).await?,
            _ => return Err(InputError::from(WebhookRule::UrlRequired).into()),
        };
        let secret = self.new_secret()?;
        let endpoint = NewEndpoint {
            url,
            types: selection(input.types)?.unwrap_or(EventSelection::All),
            description: description(input.description)?.flatten(),
            enabled: enabled(input.enabled)?.unwrap_or(true),
            customer,
            secret: secret.clone(),
            now: self.clock.now(),
        };
        let endpoint = self.store.create_endpoint(&endpoint).await?;
        Ok(CreatedEndpoint { endpoint, secret })
    }

    /// One page of the caller's endpoints (every endpoint for an admin), oldest first.
    ///
    /// # Errors
    /// [`WebhookError::Forbidden`] for a customer principal; [`WebhookError::Store`].
    pub async fn list(
        &self,
        principal: &Principal,
        page: PageRequest,
    ) -> Result<Page<WebhookEndpoint>, WebhookError> {
        let owner = owner(principal)?;
        Ok(self.store.endpoints(owner, page).await?)
    }

    /// One of the caller's endpoints.
    ///
    /// # Errors
    /// [`WebhookError::Forbidden`] for a customer principal; [`WebhookError::NotFound`] for
    /// an endpoint that does not exist or is another's (the same answer, so ids cannot be
    /// probed); [`WebhookError::Store`].
    pub async fn get(
        &self,
        principal: &Principal,
        id: EndpointId,
    ) -> Result<WebhookEndpoint, WebhookError> {
        let owner = owner(principal)?;
        self.store
            .endpoint(id)
            .await?
            .filter(|endpoint| owner.is_none() || endpoint.customer == owner)
            .ok_or(WebhookError::NotFound(id))
    }

    /// Changes the fields sent; enabling clears `disabledReason`.
    ///
    /// # Errors
    /// As [`Self::get`], and [`WebhookError::Input`] as [`Self::create`].
    pub async fn update(
        &self,
        principal: &Principal,
        id: EndpointId,
        input: WebhookInput,
    ) -> Result<WebhookEndpoint, WebhookError> {
        self.get(principal, id).await?;
        let url = match input.url {
            Field::Absent => None,
            Field::Value(text) if !text.trim().is_empty() => Some(self.url(&text).await?),
            _ => return Err(InputError::from(WebhookRule::UrlRequired).into()),
        };
        let changes = EndpointChanges {
            url,
            types: selection(input.types)?,
            description: description(input.description)?,
            enabled: enabled(input.enabled)?,
        };
        self.store
            .update_endpoint(id, &changes, self.clock.now())
            .await?
            .ok_or(WebhookError::NotFound(id))
    }

    /// Deletes one of the caller's endpoints and its secrets.
    ///
    /// # Errors
    /// As [`Self::get`].
    pub async fn delete(&self, principal: &Principal, id: EndpointId) -> Result<(), WebhookError> {
        self.get(principal, id).await?;
        if self.store.delete_endpoint(id).await? {
            Ok(())
        } else {
            Err(WebhookError::NotFound(id))
        }
    }

    /// Gives an endpoint a new secret; the one it replaces keeps signing for
    /// [`ROTATION_GRACE`], so the receiver can switch without losing a delivery.
    ///
    /// # Errors
    /// As [`Self::get`].
    pub async fn rotate_secret(
        &self,
        principal: &Principal,
        id: EndpointId,
    ) -> Result<CreatedEndpoint, WebhookError> {
        self.get(principal, id).await?;
        let secret = self.new_secret()?;
        let now = self.clock.now();
        if !self
            .store
            .rotate_secret(id, &secret, now, now + ROTATION_GRACE)
            .await?
        {
            return Err(WebhookError::NotFound(id));
        }
        let endpoint = self.get(principal, id).await?;
        Ok(CreatedEndpoint { endpoint, secret })
    }

    /// The secrets that sign a delivery to the endpoint made at `at`, newest first: the
    /// current one and, within a rotation's grace, the one it replaced. For the dispatcher,
    /// which calls it as [`Principal::system_admin`].
    ///
    /// # Errors
    /// As [`Self::get`].
    pub async fn signing_secrets(
        &self,
        principal: &Principal,
        id: EndpointId,
        at: DateTime<Utc>,
    ) -> Result<Vec<WebhookSecret>, WebhookError> {
        self.get(principal, id).await?;
        Ok(self.store.secrets(id).await?.valid_at(at))
    }

    /// One page of the attempts to deliver to one of the caller's endpoints, newest first.
    ///
    /// # Errors
    /// As [`Self::get`].
    pub async fn attempts(
        &self,
        principal: &Principal,
        id: EndpointId,
        page: PageRequest,
    ) -> Result<Page<DeliveryAttempt>, WebhookError> {
        self.get(principal, id).await?;
        Ok(self.deliveries.attempts(id, page).await?)
    }

    /// Queues one more attempt to deliver `event` to one of the caller's endpoints, due now
    /// (also to a disabled endpoint: it is sent once the endpoint is enabled again).
    ///
    /// # Errors
    /// As [`Self::get`]; [`WebhookError::EventNotFound`] for an event that does not exist
    /// or is not of the endpoint's scope (a reseller's endpoint receives the events its feed
    /// shows).
    pub async fn redeliver(
        &self,
        principal: &Principal,
        event: EventId,
        id: EndpointId,
    ) -> Result<DeliveryAttempt, WebhookError> {
        let endpoint = self.get(principal, id).await?;
        self.deliveries
            .redeliver(id, event, endpoint.customer, self.clock.precise_now())
            .await?
            .ok_or(WebhookError::EventNotFound(event))
    }

    fn new_secret(&self) -> Result<WebhookSecret, StoreError> {
        Ok(WebhookSecret::from_random(self.secrets.random_bytes()?))
    }

    /// A valid URL whose host is no private address, unless the policy allows them.
    async fn url(&self, text: &str) -> Result<WebhookUrl, InputError> {
        let url = WebhookUrl::new(text).map_err(WebhookRule::Url)?;
        if self.policy.allow_private_networks {
            return Ok(url);
        }
        let refused = |what: String| InputError::from(WebhookRule::PrivateAddress(what));
        match url.host() {
            Host::Ip(ip) if is_private_network(ip) => Err(refused(ip.to_string())),
            Host::Ip(_) => Ok(url),
            Host::Name(name) => {
                // `localhost` is loopback by definition (RFC 6761), whatever DNS says.
                let addresses = if name == "localhost" || name.ends_with(".localhost") {
                    vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]
                } else {
                    self.resolver.resolve(&name, url.port()).await
                };
                match addresses.into_iter().find(|ip| is_private_network(*ip)) {
                    Some(ip) => Err(refused(format!("{name} resolves to {ip}"))),
                    None => Ok(url),
                }
            }
        }
    }
}

/// `types`: `None` to keep (or default); `null` selects every event again.
fn selection(field: Field<Vec<String>>) -> Result<Option<EventSelection>, InputError> {
    match field {
        Field::Absent => Ok(None),
        Field::Null => Ok(Some(EventSelection::All)),
        Field::Value(names) if names.is_empty() => Err(WebhookRule::NoTypes.into()),
        Field::Value(names) => EventSelection::parse(&names)
            .map(Some)
            .map_err(|e| WebhookRule::Types(e).into()),
    }
}

/// `description`: `None` to keep, `Some(None)` to clear.
fn description(field: Field<String>) -> Result<Option<Option<FreeText>>, InputError> {
    match field {
        Field::Absent => Ok(None),
        Field::Null => Ok(Some(None)),
        Field::Value(text) => FreeText::new(&text, FreeText::SHORT)
            .map(Some)
            .map_err(|e| WebhookRule::Description(e).into()),
    }
}

/// `enabled`: `None` to keep (or default); `null` counts as not sent.
fn enabled(field: Field<String>) -> Result<Option<bool>, InputError> {
    match field {
        Field::Value(text) => flag(&text)
            .map(Some)
            .ok_or_else(|| WebhookRule::Enabled.into()),
        Field::Absent | Field::Null => Ok(None),
    }
}
