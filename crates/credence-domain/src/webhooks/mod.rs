//! Webhook endpoints: where a client wants events delivered, which types, and the secrets the
//! deliveries are signed with. The dispatcher that delivers them reads endpoints and their
//! [`SigningSecrets`] through [`WebhookStore`] and [`WebhookService::signing_secrets`].

mod address;
mod endpoint;
pub(crate) mod ports;
mod secret;
mod service;
mod url;

pub use address::is_private_network;
pub use endpoint::{EndpointChanges, EndpointId, EventSelection, NewEndpoint, WebhookEndpoint};
pub use ports::{HostResolver, WebhookStore};
pub use secret::{ROTATION_GRACE, SigningSecrets, StoredSecret, WebhookSecret};
pub use service::{
    CreatedEndpoint, WebhookError, WebhookInput, WebhookPolicy, WebhookRule, WebhookService,
};
pub use url::{Host, UrlError, WebhookUrl};
