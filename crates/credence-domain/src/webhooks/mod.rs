//! Webhooks: the endpoints where clients want events delivered (which types, the secrets the
//! deliveries are signed with), and the deliveries themselves: queued from the feed, claimed
//! by one replica's [`WebhookDispatcher`] at a time, posted through a [`WebhookSender`],
//! retried with backoff, logged.

mod address;
mod delivery;
mod dispatcher;
mod endpoint;
pub(crate) mod ports;
mod secret;
mod service;
mod url;

pub use address::is_private_network;
pub use delivery::{
    AttemptRecorded, AttemptReport, ClaimedDelivery, DeliveryAttempt, DeliveryId, DeliveryRequest,
    DeliveryStatus, Queued, SendOutcome,
};
pub use dispatcher::{DispatchSettings, WebhookDispatcher};
pub use endpoint::{EndpointChanges, EndpointId, EventSelection, NewEndpoint, WebhookEndpoint};
pub use ports::{DeliveryStore, HostResolver, WebhookSender, WebhookStore};
pub use secret::{ROTATION_GRACE, SigningSecrets, StoredSecret, WebhookSecret};
pub use service::{
    CreatedEndpoint, WebhookError, WebhookInput, WebhookPolicy, WebhookRule, WebhookService,
};
pub use url::{Host, UrlError, WebhookUrl};
