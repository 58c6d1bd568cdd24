//! A webhook endpoint as the API shows it (the secret only in the answer that made it), and
//! its delivery attempts.

use credence_domain::webhooks::{DeliveryAttempt, WebhookEndpoint};
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

/// One attempt to deliver an event to an endpoint.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryAttemptDto {
    /// The event delivered.
    #[schema(example = "evt_42")]
    pub event_id: String,
    /// Its number among the attempts of this event to this endpoint, from 1.
    pub attempt: u32,
    /// `pending` (not made yet), `succeeded` (a 2xx in time) or `failed`.
    #[schema(example = "failed")]
    pub status: &'static str,
    /// The receiver's status code, when it answered.
    pub response_status: Option<u16>,
    /// Why the attempt got no answer (time-out, refused connection...).
    pub error: Option<String>,
    /// How long the attempt took, in milliseconds.
    pub duration_ms: Option<u64>,
    /// When it was made, `YYYY-MM-DDTHH:MM:SSZ`.
    pub attempted_at: Option<String>,
    /// When the next attempt is due: a pending attempt's own time, or a failed one's retry.
    pub next_attempt_at: Option<String>,
}

impl From<&DeliveryAttempt> for DeliveryAttemptDto {
    fn from(attempt: &DeliveryAttempt) -> Self {
        Self {
            event_id: attempt.event.to_string(),
            attempt: attempt.attempt,
            status: attempt.status.as_str(),
            response_status: attempt.response_status,
            error: attempt.error.clone(),
            duration_ms: attempt.duration_ms,
            attempted_at: attempt.attempted_at.map(timestamp),
            next_attempt_at: attempt.next_attempt_at.map(timestamp),
        }
    }
}
