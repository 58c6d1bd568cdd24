//! The event ports: the encoder the store writes objects with, and the feed it reads.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Event, EventId, EventObject, EventQuery};
use crate::ports::StoreError;

/// Turns an event's object into the text the feed and the webhooks carry, and a whole event
/// into the body of its webhook delivery.
///
/// Implemented by the adapter that owns the API's representation; the store calls it inside
/// the change's transaction, so it must be quick and cannot fail.
pub trait EventEncoder: Send + Sync + std::fmt::Debug {
    /// The object as JSON text.
    fn encode(&self, object: EventObject<'_>) -> String;

    /// The event as the feed shows it (JSON text): what a webhook delivery posts.
    fn body(&self, event: &Event) -> String;
}

/// The recorded events, oldest first in a order that only ever grows at its end: a reader
/// paging with `after` sees every event exactly once, even while writers commit out of id
/// order (the newest events may show a moment late, never out of turn).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait EventFeed: Send + Sync {
    /// The next events after `query.after` that match the query.
    ///
    /// # Errors
    /// [`StoreError`] only. An `after` that names no event starts at the beginning.
    async fn events(&self, query: &EventQuery) -> Result<Vec<Event>, StoreError>;

    /// One event.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn event(&self, id: EventId) -> Result<Option<Event>, StoreError>;

    /// Removes at most `limit` of the oldest events written before `before`; returns how many.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn purge(&self, before: DateTime<Utc>, limit: u32) -> Result<u64, StoreError>;
}
