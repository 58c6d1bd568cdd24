//! A webhook endpoint as the API shows it; the secret only in the answer that made it.

use credence_domain::webhooks::WebhookEndpoint;
use serde::Serialize;
use utoipa::ToSchema;

use crate::dto::timestamp;

/// A webhook endpoint.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpointDto {
    /// Its id.
    pub id: i64,
    /// Where events are posted.
    #[schema(example = "https://example.com/hooks/credence")]
    pub url: String,
    /// The event types and families delivered; `["*"]` for every event.
    #[schema(example = json!(["reservation.*", "customer.created"]))]
    pub types: Vec<String>,
    /// A label.
    pub description: Option<String>,
    /// Whether events are delivered.
    pub enabled: bool,
    /// Why deliveries were stopped automatically; cleared when the endpoint is enabled again.
    pub disabled_reason: Option<String>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// The reseller's customer it belongs to (its tree's events); `null` for an admin's
    /// endpoint, which receives every event.
    pub customer_id: Option<i64>,
}

impl From<&WebhookEndpoint> for WebhookEndpointDto {
    fn from(endpoint: &WebhookEndpoint) -> Self {
        Self {
            id: endpoint.id.0,
            url: endpoint.url.as_str().to_owned(),
            types: endpoint.types.names(),
            description: endpoint.description.as_ref().map(|d| d.as_str().to_owned()),
            enabled: endpoint.enabled,
            disabled_reason: endpoint.disabled_reason.clone(),
            created_at: timestamp(endpoint.created_at),
            updated_at: timestamp(endpoint.updated_at),
            customer_id: endpoint.customer.map(|c| c.0),
        }
    }
}

/// An endpoint with its new signing secret: the answer of a creation or a rotation, the
/// only ones that carry it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedWebhookEndpointDto {
    /// The endpoint.
    #[serde(flatten)]
    pub endpoint: WebhookEndpointDto,
    /// The signing secret. Store it now: it is never shown again.
    #[schema(example = "whsec_5f0c...")]
    pub secret: String,
}
