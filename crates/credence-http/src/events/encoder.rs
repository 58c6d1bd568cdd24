//! The store writes an event's object inside the change's transaction, in the API's own
//! representation: the same response types the routes answer with.

use credence_domain::events::{Event, EventEncoder, EventObject};
use serde::Serialize;

use crate::catalog::dto::TaskDto;
use crate::credit::dto::{AccountDto, LedgerEntryDto, ReservationDto};
use crate::credit::requests::LimitRequestDto;
use crate::customers::dto::CustomerDto;
use crate::documents::dto::DocumentDto;
use crate::events::dto::{EventDto, RefusalDto, ThresholdDto};

/// Writes event objects as the back office shows the resources (JSON).
#[derive(Debug, Clone)]
pub struct EventJson {
    organization: String,
}

impl EventJson {
    /// The encoder for `organization` (customers' links name it).
    #[must_use]
    pub fn new(organization: impl Into<String>) -> Self {
        Self {
            organization: organization.into(),
        }
    }
}

impl EventEncoder for EventJson {
    fn encode(&self, object: EventObject<'_>) -> String {
        match object {
            EventObject::Customer(c) => json(&CustomerDto::new(c, &self.organization)),
            EventObject::Entry(e) => json(&LedgerEntryDto::from(e)),
            EventObject::Account(a) => json(&AccountDto::from(a)),
            EventObject::Reservation(r) => json(&ReservationDto::from(r)),
            EventObject::Refusal(r) => json(&RefusalDto::from(r)),
            EventObject::Task(t) => json(&TaskDto::new(t, false)),
            EventObject::Document(d) => json(&DocumentDto::from(d)),
            EventObject::Threshold(t) => json(&ThresholdDto::from(t)),
            EventObject::LimitRequest(r) => json(&LimitRequestDto::from(r)),
        }
    }

    fn body(&self, event: &Event) -> String {
        json(&EventDto::from(event))
    }
}

/// The DTO as JSON text. Our response types hold strings, numbers and maps only, so this
/// cannot fail; if it ever did, the event still records what happened, with an empty object.
fn json<T: Serialize>(dto: &T) -> String {
    serde_json::to_string(dto).unwrap_or_else(|e| {
        tracing::error!(error = %e, "an event object could not be written");
        "{}".to_owned()
    })
}
