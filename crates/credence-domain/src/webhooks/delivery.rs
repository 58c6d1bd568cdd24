//! Deliveries: one row per attempt to post an event to an endpoint. An attempt is `pending`
//! until it is made, then `succeeded` or `failed`; a failed attempt that will be tried again
//! names when (`next_attempt_at`), and that next attempt is a new pending row.

use chrono::{DateTime, Utc};

use super::{EndpointId, SigningSecrets, WebhookUrl};
use crate::events::{Event, EventId};

/// A delivery attempt's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeliveryId(pub i64);

/// Where an attempt stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Not made yet (queued, waiting for its turn or its time, or being made).
    Pending,
    /// The receiver answered `2xx` in time.
    Succeeded,
    /// Anything else: another status, a time-out, no connection.
    Failed,
}

impl DeliveryStatus {
    /// The name the API shows and the store keeps.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    /// Reads a stored name.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Succeeded, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// One attempt, as the delivery log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    /// Its id.
    pub id: DeliveryId,
    /// The endpoint it posts to.
    pub endpoint: EndpointId,
    /// The event it carries.
    pub event: EventId,
    /// Its number among the attempts of this event to this endpoint, from 1.
    pub attempt: u32,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// The receiver's status code, when it answered.
    pub response_status: Option<u16>,
    /// Why it failed without an answer (time-out, refused connection...).
    pub error: Option<String>,
    /// How long it took, once made.
    pub duration_ms: Option<u64>,
    /// When it was made.
    pub attempted_at: Option<DateTime<Utc>>,
    /// When the next attempt is due: for a pending one, itself; for a failed one that will
    /// be retried, the retry; otherwise none.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// An attempt a dispatcher holds the lease of: everything it needs to make it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    /// The attempt.
    pub id: DeliveryId,
    /// Which claim of the attempt this is: only the holder of the latest claim may record
    /// its outcome (a claim whose lease lapsed was taken over by another dispatcher).
    pub claim: i64,
    /// Its number, from 1.
    pub attempt: u32,
    /// The endpoint.
    pub endpoint: EndpointId,
    /// Where to post.
    pub url: WebhookUrl,
    /// The endpoint's secrets.
    pub secrets: SigningSecrets,
    /// The event.
    pub event: Event,
}

/// How a post went, as the sender saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// The receiver answered with this status (any status: the dispatcher judges it).
    Answered(u16),
    /// No answer in time, or no connection: why.
    NoAnswer(String),
}

impl SendOutcome {
    /// Whether the delivery succeeded: a `2xx`.
    #[must_use]
    pub fn succeeded(&self) -> bool {
        matches!(self, Self::Answered(status) if (200..300).contains(status))
    }
}

impl std::fmt::Display for SendOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Answered(status) => write!(f, "answered {status}"),
            Self::NoAnswer(why) => f.write_str(why),
        }
    }
}

/// What a dispatcher records of an attempt it made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptReport {
    /// How it went.
    pub outcome: SendOutcome,
    /// When it was made.
    pub attempted_at: DateTime<Utc>,
    /// How long it took.
    pub duration_ms: u64,
    /// When to try again, for a failure that will be retried.
    pub retry_at: Option<DateTime<Utc>>,
    /// Disable the endpoint when this failure is final and its last this-many events all
    /// failed for good.
    pub disable_after: u32,
}

impl AttemptReport {
    /// The status the attempt ends in.
    #[must_use]
    pub fn status(&self) -> DeliveryStatus {
        if self.outcome.succeeded() {
            DeliveryStatus::Succeeded
        } else {
            DeliveryStatus::Failed
        }
    }
}

/// What recording an attempt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AttemptRecorded {
    /// `false` when the claim had lapsed and another dispatcher took the attempt over: the
    /// outcome was dropped.
    pub recorded: bool,
    /// Whether the endpoint was disabled by this failure.
    pub disabled: bool,
    /// Whether the recorded attempt succeeded.
    pub succeeded: bool,
}

/// What one round of queueing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Queued {
    /// Events read from the feed.
    pub events: u64,
    /// Deliveries queued for them.
    pub deliveries: u64,
}

/// A post to make: the URL, the headers and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRequest {
    /// Where.
    pub url: WebhookUrl,
    /// Headers besides `Content-Type: application/json`.
    pub headers: Vec<(&'static str, String)>,
    /// The event as JSON.
    pub body: String,
}
