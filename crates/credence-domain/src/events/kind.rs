//! The event types, and the patterns (`reservation.*`) that select them.

/// What happened. The name (`customer.created`) is the type's identity: the feed, the
/// webhooks and the store all use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    /// A customer was created.
    CustomerCreated,
    /// A customer was changed.
    CustomerUpdated,
    /// A customer was deleted (archived).
    CustomerDeleted,
    /// A payment was posted.
    AccountPayment,
    /// A charge was posted.
    AccountCharge,
    /// An adjustment was posted.
    AccountAdjustment,
    /// The credit limit changed.
    AccountCreditLimitChanged,
    /// `available` fell below an alert threshold.
    AccountThresholdCrossed,
    /// A cost was admitted and reserved.
    ReservationAdmitted,
    /// A cost was refused for credit; nothing moved.
    ReservationRefused,
    /// A reservation was captured.
    ReservationCaptured,
    /// A reservation was released.
    ReservationReleased,
    /// A reservation expired.
    ReservationExpired,
    /// A task was submitted (its cost admitted).
    TaskSubmitted,
    /// A task moved to another state.
    TaskStateChanged,
    /// A document was attached to a customer.
    DocumentAttached,
    /// A document was detached from a customer.
    DocumentDetached,
    /// A raise of a credit limit above the approval threshold is waiting for another admin.
    CreditLimitRequestCreated,
    /// A credit-limit request was approved (and its limit applied).
    CreditLimitRequestApproved,
    /// A credit-limit request was rejected.
    CreditLimitRequestRejected,
}

/// A name that is no event type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not an event type")]
pub struct UnknownEventType(pub String);

impl EventType {
    /// Every type, in the order of the documentation.
    pub const ALL: [Self; 20] = [
        Self::CustomerCreated,
        Self::CustomerUpdated,
        Self::CustomerDeleted,
        Self::AccountPayment,
        Self::AccountCharge,
        Self::AccountAdjustment,
        Self::AccountCreditLimitChanged,
        Self::AccountThresholdCrossed,
        Self::ReservationAdmitted,
        Self::ReservationRefused,
        Self::ReservationCaptured,
        Self::ReservationReleased,
        Self::ReservationExpired,
        Self::TaskSubmitted,
        Self::TaskStateChanged,
        Self::DocumentAttached,
        Self::DocumentDetached,
        Self::CreditLimitRequestCreated,
        Self::CreditLimitRequestApproved,
        Self::CreditLimitRequestRejected,
    ];

    /// The type's name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CustomerCreated => "customer.created",
            Self::CustomerUpdated => "customer.updated",
            Self::CustomerDeleted => "customer.deleted",
            Self::AccountPayment => "account.payment",
            Self::AccountCharge => "account.charge",
            Self::AccountAdjustment => "account.adjustment",
            Self::AccountCreditLimitChanged => "account.credit_limit_changed",
            Self::AccountThresholdCrossed => "account.threshold_crossed",
            Self::ReservationAdmitted => "reservation.admitted",
            Self::ReservationRefused => "reservation.refused",
            Self::ReservationCaptured => "reservation.captured",
            Self::ReservationReleased => "reservation.released",
            Self::ReservationExpired => "reservation.expired",
            Self::TaskSubmitted => "task.submitted",
            Self::TaskStateChanged => "task.state_changed",
            Self::DocumentAttached => "document.attached",
            Self::DocumentDetached => "document.detached",
            Self::CreditLimitRequestCreated => "credit_limit_request.created",
            Self::CreditLimitRequestApproved => "credit_limit_request.approved",
            Self::CreditLimitRequestRejected => "credit_limit_request.rejected",
        }
    }

    /// Whether the event shows a customer's record or its documents (`customer.*`,
    /// `document.*`) rather than its account and orders. A reseller is not shown these of its
    /// own customer: that record, and the internal documents about it, are the operator's.
    #[must_use]
    pub fn shows_the_record(self) -> bool {
        matches!(
            self,
            Self::CustomerCreated
                | Self::CustomerUpdated
                | Self::CustomerDeleted
                | Self::DocumentAttached
                | Self::DocumentDetached
        )
    }

    /// The type with this name.
    ///
    /// # Errors
    /// [`UnknownEventType`] for any other text.
    pub fn parse(name: &str) -> Result<Self, UnknownEventType> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == name)
            .ok_or_else(|| UnknownEventType(name.to_owned()))
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One type, or every type of a family (`reservation.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypePattern {
    /// Exactly this type.
    Exact(EventType),
    /// Every type whose name starts with this family and a dot (`reservation`).
    Family(&'static str),
}

impl TypePattern {
    /// Reads `customer.created` or `reservation.*`; a family must have at least one type.
    ///
    /// # Errors
    /// [`UnknownEventType`] naming the text otherwise.
    pub fn parse(text: &str) -> Result<Self, UnknownEventType> {
        match text.strip_suffix(".*") {
            Some(family) => EventType::ALL
                .into_iter()
                .map(EventType::as_str)
                .find_map(|name| {
                    name.split_once('.')
                        .filter(|(head, _)| *head == family)
                        .map(|(head, _)| head)
                })
                .map(Self::Family)
                .ok_or_else(|| UnknownEventType(text.to_owned())),
            None => EventType::parse(text).map(Self::Exact),
        }
    }

    /// Whether `kind` is selected.
    #[must_use]
    pub fn matches(&self, kind: EventType) -> bool {
        match self {
            Self::Exact(exact) => *exact == kind,
            Self::Family(family) => kind
                .as_str()
                .split_once('.')
                .is_some_and(|(head, _)| head == *family),
        }
    }

    /// The types selected.
    pub fn types(&self) -> impl Iterator<Item = EventType> + '_ {
        EventType::ALL.into_iter().filter(|t| self.matches(*t))
    }
}

impl std::fmt::Display for TypePattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exact(kind) => f.write_str(kind.as_str()),
            Self::Family(family) => write!(f, "{family}.*"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_reads_back_as_its_type() {
        for kind in EventType::ALL {
            assert_eq!(EventType::parse(kind.as_str()), Ok(kind));
        }
        assert!(EventType::parse("customer.exploded").is_err());
    }

    #[test]
    fn a_family_selects_its_types_only() {
        let reservations = TypePattern::parse("reservation.*").unwrap();
        let selected: Vec<_> = reservations.types().collect();
        assert_eq!(selected.len(), 5);
        assert!(
            selected
                .iter()
                .all(|t| t.as_str().starts_with("reservation."))
        );
        assert_eq!(reservations.to_string(), "reservation.*");
        for bad in ["reserv.*", "*", ".*", "reservation.", "reservation"] {
            assert!(TypePattern::parse(bad).is_err(), "{bad}");
        }
    }
}
