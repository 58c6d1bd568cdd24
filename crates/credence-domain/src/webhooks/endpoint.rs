//! The endpoint entity, the event types it selects, and the changes a client may ask for.

use chrono::{DateTime, Utc};

use super::{WebhookSecret, WebhookUrl};
use crate::events::{EventType, TypePattern, UnknownEventType};
use crate::ids::CustomerId;
use crate::values::FreeText;

/// An endpoint's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EndpointId(pub i64);

impl std::fmt::Display for EndpointId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Which events an endpoint receives: every type (also those added later), or those
/// matching one of its patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventSelection {
    /// Every event, written `*`.
    All,
    /// The events of these types and families (never empty).
    Only(Vec<TypePattern>),
}

impl EventSelection {
    /// The text of "every type".
    pub const ALL: &'static str = "*";

    /// Reads a list of names (`customer.created`, `reservation.*`, or `*` for all).
    ///
    /// # Errors
    /// [`UnknownEventType`] naming the first name that is no type or family (an empty list
    /// selects nothing, and is refused as the empty name).
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Self, UnknownEventType> {
        if names.is_empty() {
            return Err(UnknownEventType(String::new()));
        }
        let mut patterns = Vec::with_capacity(names.len());
        let mut all = false;
        for name in names {
            let name = name.as_ref().trim();
            if name == Self::ALL {
                all = true;
            } else {
                patterns.push(TypePattern::parse(name)?);
            }
        }
        Ok(if all { Self::All } else { Self::Only(patterns) })
    }

    /// Whether an event of `kind` is delivered.
    #[must_use]
    pub fn matches(&self, kind: EventType) -> bool {
        match self {
            Self::All => true,
            Self::Only(patterns) => patterns.iter().any(|p| p.matches(kind)),
        }
    }

    /// The names, as the API shows them and the store keeps them.
    #[must_use]
    pub fn names(&self) -> Vec<String> {
        match self {
            Self::All => vec![Self::ALL.to_owned()],
            Self::Only(patterns) => patterns.iter().map(ToString::to_string).collect(),
        }
    }
}

/// A webhook endpoint. Its secrets are kept apart ([`super::SigningSecrets`]): they are
/// never part of what the API shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    /// Its id.
    pub id: EndpointId,
    /// Where events are posted.
    pub url: WebhookUrl,
    /// Which events.
    pub types: EventSelection,
    /// A label chosen by the client.
    pub description: Option<FreeText>,
    /// Whether deliveries are made.
    pub enabled: bool,
    /// Why the dispatcher disabled it (cleared when a client enables it again).
    pub disabled_reason: Option<String>,
    /// The reseller's customer that owns it; `None` for an admin's endpoint, which receives
    /// every customer's events.
    pub customer: Option<CustomerId>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// An endpoint about to be stored, with its first secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEndpoint {
    /// Where events are posted.
    pub url: WebhookUrl,
    /// Which events.
    pub types: EventSelection,
    /// A label.
    pub description: Option<FreeText>,
    /// Whether deliveries are made.
    pub enabled: bool,
    /// The owner (see [`WebhookEndpoint::customer`]).
    pub customer: Option<CustomerId>,
    /// The signing secret.
    pub secret: WebhookSecret,
    /// Creation time.
    pub now: DateTime<Utc>,
}

/// What a `PATCH` changes; `None` keeps a field. Enabling clears `disabled_reason`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointChanges {
    /// A new URL.
    pub url: Option<WebhookUrl>,
    /// A new selection.
    pub types: Option<EventSelection>,
    /// A new label, or `Some(None)` to clear it.
    pub description: Option<Option<FreeText>>,
    /// Enable or disable.
    pub enabled: Option<bool>,
}

impl EndpointChanges {
    /// Whether the change clears `disabled_reason` (it enables the endpoint).
    #[must_use]
    pub fn clears_disabled_reason(&self) -> bool {
        self.enabled == Some(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_selection_reads_types_families_and_all() {
        let only = EventSelection::parse(&["reservation.*", "customer.created"]).unwrap();
        assert!(only.matches(EventType::ReservationExpired));
        assert!(only.matches(EventType::CustomerCreated));
        assert!(!only.matches(EventType::CustomerUpdated));
        assert_eq!(only.names(), ["reservation.*", "customer.created"]);
        let all = EventSelection::parse(&["*", "task.*"]).unwrap();
        assert_eq!(all, EventSelection::All);
        assert_eq!(all.names(), ["*"]);
        assert_eq!(
            EventSelection::parse(&["customer.exploded"])
                .unwrap_err()
                .to_string(),
            "customer.exploded is not an event type"
        );
        assert!(EventSelection::parse::<&str>(&[]).is_err());
    }
}
