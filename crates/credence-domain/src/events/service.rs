//! Reading the feed: who may see which events. Scoped like customers: an admin sees every
//! event, a reseller those of the customers below its own and, of its own customer, all but
//! those that show its record ([`super::withheld_from_scope`]), and a customer principal none
//! (it uses the marketplace).

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use super::{Event, EventFeed, EventId, EventQuery, withheld_from_scope};
use crate::access::principal::Principal;
use crate::access::scope::{back_office_tree, reaches, uses_back_office};
use crate::ports::{CustomerRepository, StoreError};

/// Why reading the feed failed.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The caller's role may not use this function: `403`.
    #[error("{}", crate::services::FORBIDDEN)]
    Forbidden,
    /// No such event, or not one the caller may see: `404`.
    #[error("The event {0} doesn't exist.")]
    NotFound(EventId),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The feed's use cases.
#[derive(Clone)]
pub struct EventService {
    feed: Arc<dyn EventFeed>,
    customers: Arc<dyn CustomerRepository>,
    /// How long events are kept; `None` for ever.
    retention: Option<TimeDelta>,
}

impl std::fmt::Debug for EventService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventService").finish_non_exhaustive()
    }
}

impl EventService {
    /// The service over its ports.
    pub fn new(feed: Arc<dyn EventFeed>, customers: Arc<dyn CustomerRepository>) -> Self {
        Self {
            feed,
            customers,
            retention: None,
        }
    }

    /// The same service, keeping events for `retention` (`None`: for ever).
    #[must_use]
    pub fn with_retention(self, retention: Option<TimeDelta>) -> Self {
        Self { retention, ..self }
    }

    /// Removes up to `batch` events older than the retention at `now` (the sweeper's call;
    /// no principal: it is the service's own housekeeping). Returns how many.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn purge_old(&self, now: DateTime<Utc>, batch: u32) -> Result<u64, StoreError> {
        match self.retention {
            Some(retention) => self.feed.purge(now - retention, batch).await,
            None => Ok(0),
        }
    }

    /// The next events of the query that the caller may see, oldest first.
    ///
    /// # Errors
    /// [`EventError::Forbidden`] for a customer principal; [`EventError::Store`].
    pub async fn list(
        &self,
        principal: &Principal,
        query: &EventQuery,
    ) -> Result<Vec<Event>, EventError> {
        let mut query = query.clone();
        query.within = back_office_tree(principal).map_err(|_| EventError::Forbidden)?;
        Ok(self.feed.events(&query).await?)
    }

    /// One event the caller may see.
    ///
    /// # Errors
    /// [`EventError::Forbidden`] for a customer principal; [`EventError::NotFound`] for an
    /// event that does not exist or is out of the caller's scope (the same answer, so ids
    /// cannot be probed); [`EventError::Store`].
    pub async fn get(&self, principal: &Principal, id: EventId) -> Result<Event, EventError> {
        if !uses_back_office(principal) {
            return Err(EventError::Forbidden);
        }
        let event = self.feed.event(id).await?.ok_or(EventError::NotFound(id))?;
        let withheld = back_office_tree(principal)
            .ok()
            .flatten()
            .is_some_and(|root| withheld_from_scope(root, event.customer, event.kind));
        if !withheld && reaches(self.customers.as_ref(), principal, event.customer).await? {
            Ok(event)
        } else {
            Err(EventError::NotFound(id))
        }
    }
}
